"""`docs check` over many files: blocks jumped over line by line, files shared among forked processes.

The answer must not depend on either: the same stale blocks, counts and errors, in the same order,
as one process reading every line gives.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_shapes import docs
from lstm_shapes.subcommands import render_marker
from lstm_shapes.docs import DocsError, DocsErrors, check, refresh_text
from lstm_shapes.subcommands import docs_group

forking = pytest.mark.skipif(not docs._can_fork(), reason="no fork here: the check runs in one process")


def echo(argv: list[str]) -> str:
    """A renderer whose output is its options."""
    return " ".join(argv) + "\n"


# --- Jumping over a block's lines -------------------------------------------------------------------

@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_fence_closed_after_a_form_feed_inside_a_block_ends_there(newline: str) -> None:
    # str.strip() takes the form feed off, so the fence is closed and the end marker ends the block.
    page = ["<!-- lstm-shapes --a -->", "```text", "x", "\f```", "<!-- /lstm-shapes -->", "<!-- lstm-shapes --b -->",
            "", "--b", "", "<!-- /lstm-shapes -->", ""]
    _, blocks = refresh_text(newline.join(page), echo)
    assert [(b.line, b.args, b.old) for b in blocks] == [
        (1, "--a", newline.join(["```text", "x", "\f```", ""])), (6, "--b", newline.join(["", "--b", "", ""]))]
    assert [b.stale for b in blocks] == [True, False]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_lines_are_counted_across_long_blocks(newline: str) -> None:
    # A title, two blocks of 43 lines and a fenced one of 35: the bad marker is on line 1 + 43 + 43 + 35 + 1 = 123.
    table = ["<!-- lstm-shapes --t -->", *["| a | b |"] * 40, "<!-- /lstm-shapes -->", ""]
    fenced = ["<!-- lstm-shapes --f -->", "```json", *['  "k": 1,'] * 30, "```", "<!-- /lstm-shapes -->", ""]
    page = ["# Title", *table, *table, *fenced, "<!-- lstm-shapes --bad -->", "<!-- /lstm-shapes -->",
            "<!-- /lstm-shapes -->"]

    def render(argv: list[str]) -> str:
        if argv == ["--bad"]:
            raise ValueError("no such option: --bad")
        return "new\n"

    with pytest.raises(DocsErrors) as caught:
        refresh_text(newline.join(page), render)
    assert [(e.line, e.message) for e in caught.value.errors] == [
        (123, "no such option: --bad"), (125, "an end marker <!-- /lstm-shapes --> without a begin marker before it")]


LINES = st.sampled_from([
    "<!-- lstm-shapes --a -->", "<!-- lstm-shapes --b --format json -->", "<!-- /lstm-shapes -->",
    "  <!-- /lstm-shapes -->",
    "    <!-- /lstm-shapes -->", "\t<!-- lstm-shapes --c -->", "- <!-- lstm-shapes --d -->", "<!-- lstm-shapes-x -->",
    "```", "```json", "~~~~", "\f```", " \u00a0~~~~", "   ```", "    ```", "`` ` ``", "| a | b |", "text", "", "  ",
    "<!-- comment -->", "- item", "  <!-- lstm-shapes --e -->",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(LINES, max_size=30), st.booleans())
def test_jumping_over_a_block_finds_what_reading_every_line_finds(lines: list[str], last_newline: bool) -> None:
    # With a lone CR as line end every line is read one by one; with LF a block's plain lines are jumped over.
    text = "\n".join(lines) + ("\n" if last_newline else "")

    def outcome(page: str) -> object:
        try:
            fresh, blocks = refresh_text(page, echo)
        except DocsError as exc:
            return [(e.line, e.message) for e in getattr(exc, "errors", [exc])]
        return fresh.replace("\r", "\n"), [(b.line, b.args, b.old.replace("\r", "\n"), b.stale) for b in blocks]

    assert outcome(text.replace("\n", "\r")) == outcome(text)


# --- Sharing files among processes ------------------------------------------------------------------

def logged(log: Path, render=render_marker):  # type: ignore[no-untyped-def]
    """`render`, writing which process rendered which marker to `log`."""

    def render_logged(argv: list[str]) -> str:
        with open(log, "a", encoding="utf-8") as stream:
            stream.write(f"{os.getpid()} {' '.join(argv)}\n")
        return render(argv)

    return render_logged


def renders(log: Path) -> list[tuple[int, str]]:
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return [(int(pid), args) for pid, args in (line.split(" ", 1) for line in lines)]


def block(args: str, content: str | None = None) -> str:
    inner = body_of(args) if content is None else content
    return f"<!-- lstm-shapes {args} -->\n{inner}<!-- /lstm-shapes -->\n\nProse.\n\n"


def body_of(args: str) -> str:
    return docs.body(render_marker(args.split()), docs.marker_format(args.split()))


def tree(root: Path) -> Path:
    """Five pages, the last the largest, each with a stale block first and four current ones."""
    pages = root / "pages"
    pages.mkdir(parents=True)
    for number in range(5):
        blocks = [block(f"--input {number + 2} --hidden {h} --format {fmt}")
                  for h in (2, 3) for fmt in ("markdown", "json")]
        blocks.insert(0, block(f"--input {number + 2} --hidden 9", "| stale |\n"))
        if number == 4:
            blocks *= 3
        (pages / f"p{number}.md").write_text("# Page\n\n" + "".join(blocks), encoding="utf-8")
    return pages


def bad_tree(root: Path) -> Path:
    pages = tree(root)
    (pages / "p1.md").write_text("# Page\n\n" + block("--input 2 --hidden 0", "\n") + block("--input 2 --hidden 2"),
                                 encoding="utf-8")
    (pages / "p3.md").write_bytes(b"ok\n\xff\n")
    with open(pages / "p4.md", "a", encoding="utf-8") as stream:
        stream.write("<!-- /lstm-shapes -->\n")
    return pages


def stale_lines(page: Path) -> list[int]:
    """The lines of the stale markers of a page from tree(), by reading it."""
    marker = "<!-- lstm-shapes --input 6 --hidden 9 -->"
    return [n for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1) if line == marker]


@forking
def test_two_processes_find_the_same_stale_blocks_in_the_same_order_as_one(tmp_path: Path) -> None:
    pages, log = tree(tmp_path), tmp_path / "log"
    shared = check([str(pages)], logged(log), workers=2)
    done = renders(log)
    log.unlink()
    alone = check([str(pages)], logged(log), workers=1)
    assert shared == alone
    stale, blocks, files = shared
    # One stale block first on each page (line 3, after the title), three times on the last, which repeats its blocks.
    assert [(Path(b.path).name, b.line, b.args, b.old) for b in stale] == [
        (f"p{n}.md", line, f"--input {n + 2} --hidden 9", "| stale |\n")
        for n in range(5) for line in ([3] if n < 4 else stale_lines(pages / "p4.md"))]
    assert stale_lines(pages / "p4.md")[0] == 3
    assert (blocks, files) == (35, 5)  # four pages of five blocks, and the last of fifteen
    # Each marker rendered once here or in the child (none twice: no share was done again), by two processes.
    assert len({pid for pid, _ in done}) == 2
    assert sorted(args for _, args in done) == sorted(args for _, args in renders(log))
    assert len(done) == len({args for _, args in done}) == 25


@forking
def test_two_processes_report_every_error_in_the_order_one_does(tmp_path: Path) -> None:
    pages, log = bad_tree(tmp_path), tmp_path / "log"
    with pytest.raises(DocsErrors) as shared:
        check([str(pages)], logged(log), workers=2)
    with pytest.raises(DocsErrors) as alone:
        check([str(pages)], render_marker, workers=1)
    found = [(Path(e.path).name, e.line, e.message) for e in shared.value.errors]
    assert found == [(Path(e.path).name, e.line, e.message) for e in alone.value.errors]
    last = (pages / "p4.md").read_bytes().count(b"\n")  # the stray end marker is its last line
    assert [(name, line) for name, line, _ in found] == [("p1.md", 3), ("p3.md", 2), ("p4.md", last)]
    assert found[1][2] == "not UTF-8 (byte 0xff at offset 3)"
    # Rendered by two processes, each marker once: the child's errors came back, its share was not done again here.
    done = renders(log)
    assert len({pid for pid, _ in done}) == 2 and len(done) == len({args for _, args in done}) == 17


def test_the_command_prints_the_same_with_forked_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = []
    for pages in (tree(tmp_path / "good"), bad_tree(tmp_path / "bad")):
        monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))  # idle CPUs, whatever else runs
        for size in (docs.PARALLEL_BYTES, 0):
            monkeypatch.setattr(docs, "PARALLEL_BYTES", size)
            result = CliRunner().invoke(docs_group, ["check", str(pages)], prog_name="lstm-shapes docs")
            answers.append((result.exit_code, result.stdout, result.stderr))
    assert answers[0] == answers[1] and answers[2] == answers[3]
    assert answers[0][0] == 1 and answers[0][1].count("stale block") == 7
    assert answers[2][0] == 2 and len(answers[2][2].splitlines()) == 3


@pytest.mark.parametrize("how", ["no fork", "fork fails", "pipe fails", "child dies", "thread running",
                                 "little to share"])
def test_without_a_working_child_the_check_runs_here_with_the_same_answer(
    how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages, log = tree(tmp_path), tmp_path / "log"
    here = os.getpid()
    render = logged(log)
    workers: int | None = 2
    stop = threading.Event()
    if how == "no fork":
        monkeypatch.delattr(os, "fork")
    elif how == "fork fails":
        def fork() -> int:
            raise BlockingIOError(11, "Resource temporarily unavailable")

        monkeypatch.setattr(os, "fork", fork)
    elif how == "pipe fails":
        def pipe() -> tuple[int, int]:
            raise OSError(24, "Too many open files")

        monkeypatch.setattr(os, "pipe", pipe)
    elif how == "child dies":
        def render(argv: list[str]) -> str:  # type: ignore[no-redef]
            if os.getpid() != here:
                os._exit(3)
            return logged(log)(argv)
    elif how == "thread running":
        threading.Thread(target=stop.wait).start()
    else:
        workers = None  # the pages hold far less than PARALLEL_BYTES
    try:
        stale, blocks, files = check([str(pages)], render, workers=workers)
    finally:
        stop.set()
    assert [(Path(b.path).name, b.line) for b in stale] == [(f"p{n}.md", 3) for n in range(4)] + [
        ("p4.md", number) for number in stale_lines(pages / "p4.md")]
    assert (blocks, files) == (35, 5)
    assert {pid for pid, _ in renders(log)} == {here}


@pytest.mark.parametrize("argv,forks", [([], 0), (["--jobs", "1"], 0), (["-j", "3"], 2), (["--jobs", "9"], 4)])
def test_jobs_says_how_many_processes_share_the_files(
    argv: list[str], forks: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fork is only counted here (and fails, so this process does every share): five small pages,
    # no fork by default, none with 1 job, one per extra job up to one a file.
    calls: list[int] = []

    def fork() -> int:
        calls.append(1)
        raise BlockingIOError(11, "Resource temporarily unavailable")

    pages = tree(tmp_path)
    monkeypatch.setattr(os, "fork", fork)
    result = CliRunner().invoke(docs_group, ["check", *argv, str(pages)], prog_name="lstm-shapes docs")
    assert (result.exit_code, result.stdout.count("stale block"), len(calls)) == (1, 7, forks)


def test_jobs_must_be_at_least_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(docs_group, ["check", "--jobs", "0", str(tmp_path)], prog_name="lstm-shapes docs")
    assert result.exit_code == 2 and "--jobs" in result.stderr and len(result.stderr.splitlines()) == 1


@forking
def test_a_program_that_ignores_its_children_still_gets_their_answer(tmp_path: Path) -> None:
    # With SIGCHLD ignored the kernel reaps children itself, and waiting for one fails.
    import signal

    pages = tree(tmp_path)
    alone = check([str(pages)], render_marker, workers=1)
    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        shared = check([str(pages)], render_marker, workers=2)
    finally:
        signal.signal(signal.SIGCHLD, previous)
    assert shared == alone


@pytest.mark.parametrize("load,forks", [(0.0, 1), (1.9, 1), (2.0, 0), (8.0, 0)])
def test_by_default_no_process_is_forked_while_every_cpu_is_busy(
    load: float, forks: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two CPUs; fork is counted (and fails, so this process checks every file).
    calls: list[int] = []

    def fork() -> int:
        calls.append(1)
        raise BlockingIOError(11, "Resource temporarily unavailable")

    pages = tree(tmp_path)
    monkeypatch.setattr(os, "fork", fork)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(docs, "PARALLEL_BYTES", 0)
    stale, blocks, files = check([str(pages)], render_marker)
    assert (len(stale), blocks, files, len(calls)) == (7, 35, 5, forks)
