"""`docs.check`, behind `lstm-shapes docs check`: reads one file at a time and keeps only what it reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from lstm_shapes.docs import DocsErrors, check


def fake_render(calls: list[tuple[str, ...]]):  # type: ignore[no-untyped-def]
    """A renderer whose output is its options, counting its calls."""

    def render(argv: list[str]) -> str:
        calls.append(tuple(argv))
        return " ".join(argv) + "\n"

    return render


def block(args: str, content: str | None = None) -> str:
    inner = f"\n{args}\n\n" if content is None else content
    return f"<!-- lstm-shapes {args} -->\n{inner}<!-- /lstm-shapes -->\n"


def test_only_the_stale_blocks_come_back_with_the_counts(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(block("--one") + block("--two", "old\n"), encoding="utf-8")
    (tmp_path / "b.md").write_text(block("--three"), encoding="utf-8")
    stale, blocks, files = check([str(tmp_path)], fake_render([]))
    # Lines 1-5 of a.md hold the first block; the stale one begins on line 6.
    assert [(Path(b.path).name, b.line, b.args, b.old) for b in stale] == [("a.md", 6, "--two", "old\n")]
    assert (blocks, files) == (3, 2)


def test_a_repeated_marker_is_rendered_once_while_it_is_recent(tmp_path: Path) -> None:
    calls: list[tuple[str, ...]] = []
    (tmp_path / "a.md").write_text(block("--same") + block("--other") + block("--same"), encoding="utf-8")
    check([str(tmp_path / "a.md")], fake_render(calls))
    assert calls == [("--same",), ("--other",)]


def test_the_cache_of_renderings_is_bounded(tmp_path: Path) -> None:
    # Three distinct markers then the first again, with room for two: the first was dropped.
    calls: list[tuple[str, ...]] = []
    (tmp_path / "a.md").write_text("".join(block(f"--n{i}") for i in (1, 2, 3, 1)), encoding="utf-8")
    check([str(tmp_path / "a.md")], fake_render(calls), cached=2)
    assert calls == [("--n1",), ("--n2",), ("--n3",), ("--n1",)]


def test_every_bad_file_is_reported_after_the_last_one(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("<!-- /lstm-shapes -->\n", encoding="utf-8")
    (tmp_path / "b.md").write_text(block("--fine", "stale\n"), encoding="utf-8")
    (tmp_path / "c.md").write_text("<!-- lstm-shapes --x -->\n", encoding="utf-8")
    with pytest.raises(DocsErrors) as caught:
        check([str(tmp_path)], fake_render([]))
    assert [(Path(e.path).name, e.line) for e in caught.value.errors] == [("a.md", 1), ("c.md", 1)]


def imported(argv: list[str], cwd: Path) -> tuple[int, set[str]]:
    """The exit code of `lstm-shapes ARGV` as a new process, and the top-level modules it imported."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "lstm_shapes", *argv],
                          capture_output=True, text=True, cwd=cwd)
    return done.returncode, {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}


def test_a_clean_check_leaves_out_what_only_stale_blocks_and_writes_need(tmp_path: Path) -> None:
    (tmp_path / "page.md").write_text("<!-- lstm-shapes --input 4 --hidden 2 -->\n<!-- /lstm-shapes -->\n", encoding="utf-8")
    assert imported(["docs", "update", "page.md"], tmp_path)[0] == 0  # the block is now current
    code, modules = imported(["docs", "check", "page.md"], tmp_path)
    assert code == 0 and "lstm_shapes" in modules
    assert not modules & {"difflib", "tempfile", "rich", "numpy"}
