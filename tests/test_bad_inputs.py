"""Every kind of bad input, through the real entry point: its message, its exit code, no traceback.

Each row runs `python -m lstm_shapes ...` as a new process, as a user would.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SIZE = "a whole number from 1 to 10,000,000"

# (arguments, the message on stderr, the exit code)
COMMAND_LINE = [
    ([], f"--input is required: {SIZE}", 2),
    (["--input", "4"], f"--hidden is required: {SIZE}", 2),
    (["--input", "0", "--hidden", "2"], f"--input must be {SIZE}, got 0", 2),
    (["--input", "-1", "--hidden", "2"], f"--input must be {SIZE}, got -1", 2),
    (["--input", "4.0", "--hidden", "2"], f"--input must be {SIZE}, got '4.0'", 2),
    (["--input", "four", "--hidden", "2"], f"--input must be {SIZE}, got 'four'", 2),
    (["--input", "4", "--hidden", "10000001"], f"--hidden must be {SIZE}, got 10000001", 2),
    (["--input", "4", "--hidden", "2", "--out", "0"], f"--out must be {SIZE} (or none, for no head), got 0", 2),
    (["--input", "4", "--hidden", "2", "--layers", "1001"], "--layers must be a whole number from 1 to 1,000, got 1001", 2),
    (["--input", "4", "--hidden", "2", "--format", "pdf"], "'pdf' is not one of", 2),
    (["--input", "4", "--hidden", "2", "--dtype", "float64"], "'float64' is not one of 'float32', 'float16', 'bfloat16', 'int8'", 2),
    (["--input", "4", "--hidden", "2", "--proj", "1"], "--proj is not available in Keras 3 / TF2; PyTorch, TF1 and Paddle have a projection", 2),
    (["--input", "4", "--hidden", "2", "--framework", "pytorch", "--peepholes"], "--peepholes are not available in PyTorch", 2),
    (["--input", "4", "--hidden", "2", "--framework", "tf1", "--no-bias"], "--no-bias is not available in TF1", 2),
    (["--input", "4", "--hidden", "2", "--cell", "rnn", "--reset-after"], "--reset-after is for GRU cells only", 2),
    (["--input", "4", "--hidden", "2", "--framework", "all", "--format", "dot"], "--framework all compares tables", 2),
    (["--input", "4", "--hidden", "2", "--format", "dot", "--explain"], "--format dot draws the graph", 2),
    (["--input", "4", "--hidden", "1000000", "--verify"], "--verify would need about", 2),
    (["--input", "4", "--hidden", "2", "--nope"], "No such option '--nope'", 2),
    (["fit", "--input", "4"], "--params is required", 2),
    (["fit", "--params", "-5", "--input", "4"], "--params must be a whole number from 1 to", 2),
    (["fit", "--params", "100", "--input", "4", "--hidden", "2"], "--hidden must be sizes from 1 to 10,000,000 and H where fit searches", 2),
    (["docs", "check", "no-such-file.md"], "error: no-such-file.md: no such file or directory", 2),
    (["docs", "lint"], "No such command 'lint'", 2),
]

# (a page's text, the message, the exit code of `docs check`)
MARKERS = [
    ("<!-- lstm-shapes --input 4 --hidden 2 -->\n", "page.md:1: a begin marker without its end marker", 2),
    ("<!-- /lstm-shapes -->\n", "page.md:1: an end marker <!-- /lstm-shapes --> without a begin marker", 2),
    ("<!-- lstm-shapes --input 4 --hidden 2 -->\n<!-- lstm-shapes --input 4 --hidden 2 -->\n<!-- /lstm-shapes -->\n",
     "page.md:2: a begin marker inside the block opened at line 1", 2),
    ("<!-- lstm-shapes --input 4 --hidden 2\n", "page.md:1: a malformed marker", 2),
    ("<!-- lstm-shapes --input 4 --hidden 0 -->\n<!-- /lstm-shapes -->\n", f"page.md:1: --hidden must be {SIZE}, got 0", 2),
    ("<!-- lstm-shapes --input 4 --hidden 2 --format table -->\n<!-- /lstm-shapes -->\n",
     "page.md:1: --format table is for terminals", 2),
    ("<!-- lstm-shapes --input 4 --hidden 2 --verify -->\n<!-- /lstm-shapes -->\n", "page.md:1: --verify is not allowed", 2),
    ("<!-- lstm-shapes fit --input 4 -->\n<!-- /lstm-shapes -->\n", "page.md:1: --params is required", 2),
]

# (a page with stale blocks, the message of `docs check`, each block's begin line and the total it must
# show once updated: Keras' model.summary() for LSTM(2) on 4 inputs, 4·(2·(4+2)+2) = 56; PyTorch's
# LSTM(4, 2) and Linear(2, 1), 64 + 3 = 67)
STALE = [
    ("<!-- lstm-shapes --input 4 --hidden 2 -->\nold\n<!-- /lstm-shapes -->\n", "1 of 1 block is stale", [(1, "56")]),
    ("# Notes\n\n<!-- lstm-shapes --input 4 --hidden 2 -->\n<!-- /lstm-shapes -->\n\nBetween.\n\n"
     "<!-- lstm-shapes --framework pytorch --input 4 --hidden 2 --out 1 -->\nold\n<!-- /lstm-shapes -->\nEnd.\n",
     "2 of 2 blocks are stale", [(3, "56"), (8, "67")]),
]
BLOCK = re.compile(r"(<!-- lstm-shapes [^\n]*-->\n).*?(<!-- /lstm-shapes -->)", re.S)


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lstm_shapes", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("args,message,code", COMMAND_LINE, ids=[" ".join(a) or "(none)" for a, _, _ in COMMAND_LINE])
def test_command_line(args: list[str], message: str, code: int) -> None:
    done = run(*args)
    assert done.returncode == code
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("lstm-shapes: error: "), done.stderr
    assert message in lines[0]
    assert done.stdout == ""


@pytest.mark.parametrize("text,message,code", MARKERS, ids=[m for _, m, _ in MARKERS])
def test_markers(text: str, message: str, code: int, tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    for command in ("check", "update"):
        done = run("docs", command, "page.md", cwd=tmp_path)
        assert "Traceback" not in done.stderr + done.stdout
        assert done.returncode == code
        assert page.read_bytes() == text.encode("utf-8")
        assert message in done.stderr


@pytest.mark.parametrize("text,message,blocks", STALE, ids=[m for _, m, _ in STALE])
def test_stale_pages_fail_the_check_and_update_makes_them_pass(
    text: str, message: str, blocks: list[tuple[int, str]], tmp_path: Path
) -> None:
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    done = run("docs", "check", "page.md", cwd=tmp_path)
    assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr
    assert re.findall(r"^page\.md:(\d+): stale block", done.stdout, re.M) == [str(line) for line, _ in blocks]
    assert page.read_bytes() == text.encode("utf-8")  # check never writes
    done = run("docs", "update", "page.md", cwd=tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.stderr
    fresh = page.read_text(encoding="utf-8")
    # Only the blocks' contents changed: markers and the text around them are as they were.
    assert BLOCK.sub(r"\1\2", fresh) == BLOCK.sub(r"\1\2", text)
    assert "old" not in fresh
    assert re.findall(r"^\| total +\|[^|]*\| +([\d,]+) \|$", fresh, re.M) == [total for _, total in blocks]
    done = run("docs", "check", "page.md", cwd=tmp_path)
    count = "1 block in 1 file is" if len(blocks) == 1 else f"{len(blocks)} blocks in 1 file are"
    assert done.returncode == 0 and f"{count} current" in done.stderr


def test_plain_formats_import_neither_rich_nor_numpy() -> None:
    for fmt in ("text", "markdown", "csv", "json", "latex", "org", "mermaid", "dot", "graph"):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "lstm_shapes", "--input", "4", "--hidden", "2", "--format", fmt],
            capture_output=True, text=True,
        )
        modules = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
        assert done.returncode == 0
        assert "lstm_shapes" in modules
        assert not modules & {"rich", "numpy"}, fmt
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "lstm_shapes", "--input", "4", "--hidden", "2", "--format", "table"],
        capture_output=True, text=True,
    )
    modules = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    assert "rich" in modules and "numpy" not in modules
