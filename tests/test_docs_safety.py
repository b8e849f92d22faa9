"""`lstm-shapes docs update|check` never loses or mangles a user's bytes: permissions, owners, links,
special files, concurrent edits, layouts and messages.

Tests run as root here and in CI, and root ignores permission bits: where a test needs a user
without those powers, a forked child switches to uid/gid 65534 (nobody) and runs the command there.
"""

from __future__ import annotations

import os
import pickle
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import lstm_shapes.subcommands
from lstm_shapes.cli import main_command
from lstm_shapes.subcommands import docs_group, render_marker

ARGS = "--input 4 --hidden 2 --out 1"
NOBODY = 65534
ROOT = Path(__file__).parent.parent


def tool(*args: str) -> str:
    """What the command line prints for args (the reference the blocks must equal)."""
    result = CliRunner().invoke(main_command, list(args))
    assert result.exit_code == 0
    return result.stdout


MARKDOWN = tool(*ARGS.split(), "--format", "markdown")
TEXT = tool(*ARGS.split(), "--format", "text")


def current_block(indent: str = "", fmt: str = "markdown") -> str:
    """A current block written out by hand: markers, blank lines, the output (fenced unless Markdown)."""
    body = MARKDOWN if fmt == "markdown" else f"```{fmt}\n{TEXT}```\n"
    suffix = "" if fmt == "markdown" else f" --format {fmt}"
    lines = [f"<!-- lstm-shapes {ARGS}{suffix} -->", "", *body.splitlines(), "", "<!-- /lstm-shapes -->"]
    return "".join((indent + line if line else "") + "\n" for line in lines)


STALE = f"# Notes\n\n<!-- lstm-shapes {ARGS} -->\n| old | table |\n<!-- /lstm-shapes -->\n\nMore text.\n"
FRESH = "# Notes\n\n" + current_block() + "\nMore text.\n"


def docs(*args: str) -> Any:
    return CliRunner().invoke(docs_group, list(args), prog_name="lstm-shapes docs")


def command(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m lstm_shapes ARGS` in a new process, as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "lstm_shapes", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # A folder every user may enter (pytest's own is root's alone), for the tests run as nobody.
    folder = Path(tempfile.mkdtemp(prefix="docs-safety-"))
    folder.chmod(0o755)
    monkeypatch.chdir(folder)
    yield folder
    for root, dirs, _ in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
    shutil.rmtree(folder)


def write(name: str, text: str) -> Path:
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root, to make files owned by another user and to switch to an unprivileged one")


def as_nobody(function: Callable[[], Any]) -> Any:
    """What function() returns when run in a forked child as uid and gid 65534."""
    needs_root()
    render_marker(ARGS.split())  # import everything the command needs while root can still read it
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(reader)
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            data = pickle.dumps(function())
        except BaseException as exc:  # noqa: BLE001 - handed to the parent to fail there
            data = pickle.dumps(RuntimeError(repr(exc)))
        with os.fdopen(writer, "wb") as stream:
            stream.write(data)
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as stream:
        data = stream.read()
    os.waitpid(pid, 0)
    result = pickle.loads(data)
    if isinstance(result, RuntimeError):
        raise result
    return result


def docs_as_nobody(*args: str) -> tuple[int, str, str]:
    def run() -> tuple[int, str, str]:
        result = docs(*args)
        return result.exit_code, result.stdout, result.stderr

    return as_nobody(run)


# --- 6. All or nothing across files ------------------------------------------------------------------


def test_a_folder_that_cannot_be_written_stops_the_run_before_any_file_is_written() -> None:
    first = write("a/first.md", STALE)
    second = write("b/second.md", STALE)
    needs_root()
    for path in ("a", first, second):
        os.chown(path, NOBODY, NOBODY)
    Path("b").chmod(0o555)  # nobody may write second.md but not create a file beside it
    code, stdout, stderr = docs_as_nobody("update", "a/first.md", "b/second.md")
    assert code == 2
    assert stderr.splitlines() == [
        f"lstm-shapes: error: b/second.md: its folder {Path('b').resolve()} is not writable "
        "(an update writes a temporary file there, then renames it); nothing was written"]
    assert stdout == ""
    assert first.read_text() == STALE and second.read_text() == STALE
    assert sorted(os.listdir("a")) == ["first.md"] and sorted(os.listdir("b")) == ["second.md"]


def test_every_read_only_file_is_reported_and_no_file_is_written() -> None:
    writable = write("a.md", STALE)
    locked = [write("b.md", STALE), write("c.md", STALE)]
    for path in locked:
        path.chmod(0o444)
    result = docs("update", "a.md", "b.md", "c.md")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"lstm-shapes: error: {name}: read-only (mode 0444); nothing was written; make it writable to update it"
        for name in ("b.md", "c.md")]
    assert writable.read_text() == STALE
    assert all(path.read_text() == STALE and stat.S_IMODE(path.stat().st_mode) == 0o444 for path in locked)


# --- 7. Concurrent edits ------------------------------------------------------------------------------


def test_a_file_edited_while_its_blocks_render_is_left_alone_and_so_is_every_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = write("a.md", STALE)
    page = write("page.md", STALE)

    def render_while_someone_edits(args: list[str]) -> str:
        with page.open("a") as stream:
            stream.write("A line added while the update ran.\n")
        return render_marker(args)

    monkeypatch.setattr(lstm_shapes.subcommands, "render_marker", render_while_someone_edits)
    result = docs("update", "page.md", "a.md")
    assert result.exit_code == 2
    assert result.stderr == ("lstm-shapes: error: page.md: changed while it was being updated; nothing was written; "
                             "run the command again to update it\n")
    assert page.read_text().endswith("More text.\nA line added while the update ran.\n")
    assert STALE in page.read_text()
    assert other.read_text() == STALE
    assert sorted(os.listdir(".")) == ["a.md", "page.md"], "no temporary file is left behind"


def test_an_edit_that_keeps_the_size_and_the_time_is_still_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    page = write("page.md", STALE)
    before = page.stat()

    def render_while_someone_edits(args: list[str]) -> str:
        page.write_text(STALE.replace("Notes", "NOTES"))
        os.utime(page, ns=(before.st_atime_ns, before.st_mtime_ns))
        return render_marker(args)

    monkeypatch.setattr(lstm_shapes.subcommands, "render_marker", render_while_someone_edits)
    assert docs("update", "page.md").exit_code == 2
    assert page.read_text() == STALE.replace("Notes", "NOTES")


# --- 8. Permissions, owners, links --------------------------------------------------------------------


def test_a_read_only_file_is_refused_even_for_root() -> None:
    page = write("page.md", STALE)
    page.chmod(0o444)
    result = docs("update", "page.md")
    assert result.exit_code == 2 and "page.md: read-only (mode 0444)" in result.stderr
    assert page.read_text() == STALE


def test_owner_and_group_are_kept() -> None:
    needs_root()
    page = write("page.md", STALE)
    os.chown(page, 12345, 23456)
    page.chmod(0o664)
    assert docs("update", "page.md").exit_code == 0
    after = os.stat(page)
    assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == (12345, 23456, 0o664)
    assert page.read_text() == FRESH


def test_a_file_of_another_user_in_a_world_writable_folder_is_refused() -> None:
    os.mkdir("shared")
    os.chmod("shared", 0o777)  # anyone may rename over any file here: the owner would change to them
    page = write("shared/page.md", STALE)
    page.chmod(0o666)
    code, _, stderr = docs_as_nobody("update", "shared/page.md")
    assert code == 2
    assert stderr == ("lstm-shapes: error: shared/page.md: owned by another user (uid 0); replacing it would make it "
                      "yours; nothing was written\n")
    assert page.read_text() == STALE and os.stat(page).st_uid == 0
    assert os.listdir("shared") == ["page.md"]


def test_a_linked_document_is_updated_at_its_target_and_stays_a_link() -> None:
    target = write("real/page.md", STALE)
    os.symlink("real/page.md", "page.md")
    result = docs("update", "page.md")
    assert result.exit_code == 0, result.output
    assert os.path.islink("page.md") and os.readlink("page.md") == "real/page.md"
    assert target.read_text() == FRESH
    assert docs("check", "page.md", "real/page.md").stderr == "1 block in 1 file is current\n"


# --- 9. Special files ---------------------------------------------------------------------------------


def test_fifos_and_sockets_in_a_folder_are_skipped_with_a_message() -> None:
    write("docs/page.md", FRESH)
    os.mkfifo("docs/pipe.md")
    server = socket.socket(socket.AF_UNIX)
    server.bind("docs/socket.md")
    os.symlink("/dev/null", "docs/device.md")
    try:
        done = command("docs", "check", ".", timeout=60)
    finally:
        server.close()
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "lstm-shapes: docs/device.md: skipped: a character device, not a regular file",
        "lstm-shapes: docs/pipe.md: skipped: a FIFO, not a regular file",
        "lstm-shapes: docs/socket.md: skipped: a socket, not a regular file",
        "1 block in 1 file is current",
    ]


def test_a_fifo_named_on_the_command_line_is_an_error_and_nothing_is_written() -> None:
    write("page.md", STALE)
    os.mkfifo("pipe.md")
    done = command("docs", "update", "page.md", "pipe.md", timeout=60)
    assert done.returncode == 2
    assert done.stderr == "lstm-shapes: error: pipe.md: a FIFO, not a regular file\n"
    assert Path("page.md").read_text() == STALE


# --- 10. Layout ---------------------------------------------------------------------------------------


def test_cr_only_line_endings_reach_their_fixed_point_in_one_update() -> None:
    page = Path("page.md")
    page.write_bytes(STALE.replace("\n", "\r").encode())
    assert docs("update", "page.md").exit_code == 0
    assert page.read_bytes() == FRESH.replace("\n", "\r").encode()
    assert docs("check", "page.md").exit_code == 0
    before = page.read_bytes()
    assert docs("update", "page.md").stderr == "0 of 1 block updated, in 0 of 1 file\n"
    assert page.read_bytes() == before


@pytest.mark.parametrize("bullet", ["- ", "1.  ", "-   "])
def test_a_block_in_a_list_item_gets_the_item_s_indentation(bullet: str) -> None:
    indent = " " * len(bullet)
    marker = f"{indent}<!-- lstm-shapes {ARGS} -->\n{indent}| old |\n{indent}<!-- /lstm-shapes -->\n"
    page = write("page.md", f"{bullet}An item:\n\n{marker}\n{bullet}Next item.\n")
    assert docs("update", "page.md").exit_code == 0
    assert page.read_text() == f"{bullet}An item:\n\n{current_block(indent)}\n{bullet}Next item.\n"
    assert docs("check", "page.md").exit_code == 0


def test_a_marker_in_indented_code_outside_a_list_is_still_an_example() -> None:
    text = f"Text.\n\n    <!-- lstm-shapes {ARGS} -->\n    <!-- /lstm-shapes -->\n"
    page = write("page.md", text)
    assert docs("update", "page.md").exit_code == 0
    assert page.read_text() == text
    assert docs("check", "page.md").stderr == "0 blocks in 1 file are current\n"


def test_a_look_alike_end_marker_in_fenced_code_inside_a_stale_block_is_content() -> None:
    old = (f"<!-- lstm-shapes {ARGS} --format text -->\n"
           "```text\n<!-- /lstm-shapes -->\nold\n```\n"
           "<!-- /lstm-shapes -->\n")
    page = write("page.md", "Before.\n\n" + old + "\nAfter.\n")
    assert docs("update", "page.md").exit_code == 0
    assert page.read_text() == "Before.\n\n" + current_block(fmt="text") + "\nAfter.\n"
    assert docs("check", "page.md").exit_code == 0


# --- 11. Messages -------------------------------------------------------------------------------------


def test_every_bad_marker_in_a_file_is_reported() -> None:
    write("page.md", f"<!-- /lstm-shapes -->\n\n<!-- lstm-shapes --input 4 --hiden 2 -->\n<!-- /lstm-shapes -->\n"
                     f"\n<!-- lstm-shapes {ARGS}\n\n<!-- lstm-shapes {ARGS} -->\n")
    result = docs("check", "page.md")
    assert result.exit_code == 2
    assert [line.split(": ")[2] for line in result.stderr.splitlines()] == ["page.md:1", "page.md:3", "page.md:6",
                                                                          "page.md:8"]


def test_a_missing_file_is_named_without_a_line_number() -> None:
    result = docs("check", "nope.md")
    assert result.exit_code == 2
    assert result.stderr == "lstm-shapes: error: nope.md: no such file or directory\n"


def test_summaries_say_block_and_file_in_the_singular_for_one() -> None:
    write("one.md", current_block())
    write("two.md", current_block() + "\n" + current_block())
    assert docs("check", "one.md").stderr == "1 block in 1 file is current\n"
    assert docs("check", "one.md", "two.md").stderr == "3 blocks in 2 files are current\n"
    write("two.md", current_block() + "\n" + STALE)
    assert docs("check", "one.md", "two.md").stderr.startswith("1 of 3 blocks is stale; to refresh it run:")
    write("one.md", STALE)
    assert docs("check", "one.md", "two.md").stderr.startswith("2 of 3 blocks are stale;")
    assert docs("update", "one.md", "two.md").stderr == "2 of 3 blocks updated, in 2 of 2 files\n"


def test_an_empty_path_is_an_error_not_the_current_folder() -> None:
    write("page.md", STALE)  # would be found if "" meant "."
    result = docs("check", "")
    assert result.exit_code == 2
    assert result.stderr == 'lstm-shapes: error: an empty path ("") names no file or folder\n'


def test_docs_without_a_subcommand_prints_its_usage_readably() -> None:
    done = command("docs")
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines[0] == "Usage: lstm-shapes docs [OPTIONS] [COMMAND] [ARGS]..."
    commands = [line.split()[0] for line in lines if line.startswith("  ") and line.split()]
    assert "check" in commands and "update" in commands
    assert "error" not in done.stderr
