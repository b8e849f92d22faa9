"""`lstm-shapes docs check` and `docs update` on real files in a temporary directory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from lstm_shapes.cli import main_command
from lstm_shapes.subcommands import docs_group

ARGS = "--input 4 --hidden 2 --out 1"


def tool(*args: str) -> str:
    """What the command line prints for args (the reference the blocks must equal)."""
    result = CliRunner().invoke(main_command, list(args))
    assert result.exit_code == 0
    return result.stdout


def current_block(args: str = ARGS, fmt: str | None = None) -> str:
    argv = args.split()
    out = tool(*argv, "--format", fmt or "markdown")
    body = out if fmt in (None, "markdown") else f"```{fmt}\n{out}```\n"
    return f"<!-- lstm-shapes {args}{f' --format {fmt}' if fmt else ''} -->\n\n{body}\n<!-- /lstm-shapes -->\n"


def docs(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(docs_group, list(args), prog_name="lstm-shapes docs")


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(name: str, text: str) -> Path:
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def snapshot(*paths: Path) -> dict[Path, tuple[bytes, int, int]]:
    return {p: (p.read_bytes(), p.stat().st_mtime_ns, stat.S_IMODE(p.stat().st_mode)) for p in paths}


STALE = f"# Notes\n\nSome text.\n\n<!-- lstm-shapes {ARGS} -->\n| old | table |\n<!-- /lstm-shapes -->\n\nMore text.\n"


def test_current_file_passes_and_is_never_touched() -> None:
    page = write("page.md", "# Title\n\n" + current_block() + "\nAfter.\n")
    before = snapshot(page)
    assert docs("check", "page.md").exit_code == 0
    result = docs("update", "page.md")
    assert result.exit_code == 0 and result.stderr == "0 of 1 block updated, in 0 of 1 file\n"
    assert snapshot(page) == before


def test_stale_check_prints_location_diff_and_hint_and_writes_nothing() -> None:
    page = write("page.md", STALE)
    before = snapshot(page)
    result = docs("check", "page.md")
    assert result.exit_code == 1
    assert f"page.md:5: stale block (lstm-shapes {ARGS})" in result.stdout
    assert "--- page.md:5 (in the file)" in result.stdout
    assert "-| old | table |" in result.stdout and "+| total | 56 + 3                        |     59 |" in result.stdout
    assert "run: lstm-shapes docs update page.md" in result.stderr
    assert snapshot(page) == before


def test_update_refreshes_then_changes_nothing_and_check_passes() -> None:
    page = write("page.md", STALE)
    result = docs("update", "page.md")
    assert result.exit_code == 0
    assert f"page.md:5: updated (lstm-shapes {ARGS})" in result.stdout
    assert page.read_text() == "# Notes\n\nSome text.\n\n" + current_block() + "\nMore text.\n"
    after_first = snapshot(page)
    assert docs("update", "page.md").exit_code == 0
    assert snapshot(page) == after_first
    assert docs("check", "page.md").exit_code == 0


@pytest.mark.parametrize("fmt,fence", [("text", "```text"), ("json", "```json"), ("csv", "```csv")])
def test_other_formats_go_into_a_fenced_block_of_their_language(fmt: str, fence: str) -> None:
    page = write("page.md", f"<!-- lstm-shapes {ARGS} --format {fmt} -->\n<!-- /lstm-shapes -->\n")
    assert docs("update", "page.md").exit_code == 0
    text = page.read_text()
    assert text == current_block(fmt=fmt)
    assert f"\n{fence}\n" in text


def test_crlf_endings_are_kept() -> None:
    page = Path("page.md")
    page.write_bytes(STALE.replace("\n", "\r\n").encode())
    assert docs("update", "page.md").exit_code == 0
    data = page.read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n") > 20
    assert data.replace(b"\r\n", b"\n").decode() == "# Notes\n\nSome text.\n\n" + current_block() + "\nMore text.\n"
    assert docs("check", "page.md").exit_code == 0


def test_bom_is_kept() -> None:
    page = Path("page.md")
    page.write_bytes(b"\xef\xbb\xbf" + STALE.encode())
    assert docs("update", "page.md").exit_code == 0
    assert page.read_bytes().startswith(b"\xef\xbb\xbf# Notes")
    assert page.read_bytes().count(b"\xef\xbb\xbf") == 1
    assert docs("check", "page.md").exit_code == 0


@pytest.mark.parametrize("mode", [0o644, 0o755, 0o600, 0o200])
def test_file_mode_is_kept(mode: int) -> None:
    page = write("page.md", STALE)
    page.chmod(mode)
    try:
        assert docs("update", "page.md").exit_code == 0
        assert stat.S_IMODE(page.stat().st_mode) == mode
        assert "56 + 3" in page.read_text()
        assert sorted(os.listdir(".")) == ["page.md"], "no temporary file is left behind"
    finally:
        page.chmod(0o644)


EXAMPLES = """# How to write a block

```markdown
<!-- lstm-shapes --input 0 -->
<!-- /lstm-shapes -->
```

~~~~
<!-- lstm-shapes --bogus -->
~~~~

    <!-- lstm-shapes --hidden -1 -->

Inline: `<!-- lstm-shapes --input 4 --hidden 2 -->` and `<!-- /lstm-shapes -->`.
"""


def test_markers_in_code_are_examples_and_left_alone() -> None:
    page = write("page.md", EXAMPLES + "\n" + current_block())
    before = snapshot(page)
    result = docs("check", "page.md")
    assert result.exit_code == 0, result.output
    assert result.stderr == "1 block in 1 file is current\n"
    assert docs("update", "page.md").exit_code == 0
    assert snapshot(page) == before


MALFORMED = [
    ("unclosed", f"<!-- lstm-shapes {ARGS} -->\ntext\n", "page.md:1: a begin marker without its end marker"),
    ("nested", f"<!-- lstm-shapes {ARGS} -->\n<!-- lstm-shapes {ARGS} -->\n<!-- /lstm-shapes -->\n",
     "page.md:2: a begin marker inside the block opened at line 1"),
    ("stray end", "text\n\n<!-- /lstm-shapes -->\n", "page.md:3: an end marker <!-- /lstm-shapes --> without a begin"),
    ("malformed", "<!-- lstm-shapes --input 4 --hidden 2\n", "page.md:1: a malformed marker"),
    ("empty", "<!-- lstm-shapes -->\n<!-- /lstm-shapes -->\n", "page.md:1: a marker without options"),
    ("unknown option", "<!-- lstm-shapes --input 4 --hiden 2 -->\n<!-- /lstm-shapes -->\n", "page.md:1: No such option '--hiden'"),
    ("invalid value", "x\n<!-- lstm-shapes --input 4 --hidden 0 -->\n<!-- /lstm-shapes -->\n",
     "page.md:2: --hidden must be a whole number from 1 to 10,000,000, got 0"),
    ("missing option", "<!-- lstm-shapes --input 4 -->\n<!-- /lstm-shapes -->\n", "page.md:1: --hidden is required"),
    ("combination", "<!-- lstm-shapes --input 4 --hidden 2 --proj 1 -->\n<!-- /lstm-shapes -->\n",
     "page.md:1: --proj is not available in Keras 3 / TF2"),
    ("verify", f"<!-- lstm-shapes {ARGS} --verify -->\n<!-- /lstm-shapes -->\n", "page.md:1: --verify is not allowed"),
    ("table", f"<!-- lstm-shapes {ARGS} --format table -->\n<!-- /lstm-shapes -->\n", "page.md:1: --format table is for terminals"),
    ("quote", f"<!-- lstm-shapes {ARGS} 'x -->\n<!-- /lstm-shapes -->\n", "page.md:1: cannot split the marker's options"),
]


@pytest.mark.parametrize("command", ["check", "update"])
@pytest.mark.parametrize("name,text,message", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_exits_2_with_file_and_line_and_writes_no_file(command: str, name: str, text: str, message: str) -> None:
    stale = write("a_stale.md", STALE)  # would be updated if the run went ahead
    page = write("page.md", text)
    before = snapshot(stale, page)
    result = docs(command, "a_stale.md", "page.md")
    assert result.exit_code == 2
    assert message in result.stderr
    assert all(line.startswith("lstm-shapes: error: ") for line in result.stderr.splitlines())
    assert "Traceback" not in result.output
    assert snapshot(stale, page) == before


def test_not_utf8_is_an_error_naming_the_line() -> None:
    page = Path("page.md")
    page.write_bytes(b"# Title\n\ncaf\xe9\n")
    before = snapshot(page)
    result = docs("update", "page.md")
    assert result.exit_code == 2
    assert "page.md:3: not UTF-8 (byte 0xe9" in result.stderr
    assert snapshot(page) == before


def test_every_error_of_a_run_is_listed_one_line_each() -> None:
    write("a.md", "<!-- /lstm-shapes -->\n")
    write("b.md", "<!-- lstm-shapes --input 4 -->\n<!-- /lstm-shapes -->\n")
    result = docs("check", "a.md", "b.md")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("lstm-shapes: error: a.md:1:") and "b.md:1:" in lines[1]


def test_directories_are_searched_for_markdown_and_hidden_folders_skipped() -> None:
    write("docs/a.md", STALE)
    write("docs/sub/b.md", STALE)
    write("docs/notes.txt", STALE)
    write("docs/.cache/c.md", STALE)
    assert docs("update", "docs").exit_code == 0
    assert "56 + 3" in Path("docs/a.md").read_text() and "56 + 3" in Path("docs/sub/b.md").read_text()
    assert Path("docs/notes.txt").read_text() == STALE
    assert Path("docs/.cache/c.md").read_text() == STALE


def test_no_files_is_fine_and_a_missing_path_is_not() -> None:
    assert docs("check").exit_code == 0
    assert docs("update").exit_code == 0
    result = docs("check", "nope.md")
    assert result.exit_code == 2 and "nope.md" in result.stderr


def test_the_console_script_dispatches_docs(tmp_path: Path) -> None:
    import subprocess
    import sys

    write("page.md", STALE)
    done = subprocess.run([sys.executable, "-c", "import sys; sys.argv = ['lstm-shapes', 'docs', 'check', 'page.md'];"
                           " from lstm_shapes.cli import main; main()"], capture_output=True, text=True)
    assert done.returncode == 1
    assert "page.md:5: stale block" in done.stdout


def test_pre_commit_hooks_are_declared() -> None:
    text = (Path(__file__).parent.parent / ".pre-commit-hooks.yaml").read_text()
    for hook in ("id: lstm-shapes-docs-check", "entry: lstm-shapes docs check",
                 "id: lstm-shapes-docs-update", "entry: lstm-shapes docs update", "language: python"):
        assert hook in text
