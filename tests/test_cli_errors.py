"""The command line's edges: sizes in ASCII digits, and output that cannot be written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lstm_shapes.cli import main_command

ROOT = Path(__file__).resolve().parent.parent


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main_command, list(args), prog_name="lstm-shapes")


# Each of these is a number to Python's int(); none is a size written as the help says.
@pytest.mark.parametrize("value", ["４", "٤", "1_000", " 4", "4 ", "+4", "4.0", "0x10", "²"])
def test_a_size_is_ascii_digits_only(value: str) -> None:
    result = invoke("--input", value, "--hidden", "2")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"lstm-shapes: error: --input must be a whole number from 1 to 10,000,000, got {value!r}")


def test_ascii_digits_with_leading_zeros_are_still_a_size() -> None:
    result = invoke("--input", "04", "--hidden", "2", "--format", "json")
    assert result.exit_code == 0
    assert '"input": 4,' in result.stdout


# --- Output that cannot be written: one line on stderr, exit 3, never a traceback ----------------

MAIN = ["--input", "4", "--hidden", "2", "--out", "1"]
# Over 64 KiB, a pipe's buffer, so the writer is still writing when the reader goes away.
LONG = ["--input", "4", "--hidden", "256", "--out", "10", "--layers", "30", "--bidirectional", "--explain", "--cost"]


def tool(*args: str) -> list[str]:
    return [sys.executable, "-m", "lstm_shapes", *args]


def environment(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    env.pop("PYTHONIOENCODING", None)
    return {**env, **extra}


def assert_output_failed(code: int, stderr: str, reason: str) -> None:
    assert code == 3, stderr
    assert stderr.splitlines() == [f"lstm-shapes: error: cannot write the output: {reason}"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [MAIN, [*MAIN, "--format", "table"], ["fit", "--params", "1000", "--input", "4"],
                                  ["--help"], ["--version"]], ids=["text", "table", "fit", "help", "version"])
def test_a_full_disk(args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run(tool(*args), stdout=full, stderr=subprocess.PIPE, text=True, env=environment())
    assert_output_failed(done.returncode, done.stderr, "No space left on device")


def test_a_stale_docs_check_into_a_full_disk(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- lstm-shapes --input 4 --hidden 2 -->\nold\n<!-- /lstm-shapes -->\n")
    with open("/dev/full", "w") as full:
        done = subprocess.run(tool("docs", "check", str(page)), stdout=full, stderr=subprocess.PIPE, text=True,
                              env=environment())
    assert_output_failed(done.returncode, done.stderr, "No space left on device")


def test_a_closed_stdout() -> None:
    command = " ".join(tool(*MAIN)) + " >&-"
    done = subprocess.run(["sh", "-c", command], stderr=subprocess.PIPE, text=True, env=environment())
    assert_output_failed(done.returncode, done.stderr, "standard output is closed")


@pytest.mark.parametrize("args", [LONG, [*LONG, "--format", "json"], [*LONG, "--format", "table"]],
                         ids=["text", "json", "table"])
def test_a_reader_that_stops_after_one_line(args: list[str]) -> None:
    process = subprocess.Popen(tool(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment())
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    code = process.wait(timeout=60)
    assert first.strip()
    assert_output_failed(code, process.stderr.read().decode(), "the reader closed the pipe")


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
@pytest.mark.parametrize("fmt", ["text", "table", "graph"])
def test_an_encoding_without_the_symbols_gets_their_ascii_spellings(encoding: str, fmt: str) -> None:
    args = [*MAIN, "--framework", "pytorch", "--bidirectional", "--explain", "--format", fmt]
    if fmt == "graph":
        args.remove("--explain")
    done = subprocess.run(tool(*args), capture_output=True, env=environment(PYTHONIOENCODING=encoding))
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    text = done.stdout.decode(encoding)  # strict: every byte is the stream's own encoding
    assert "sigmoid(" in text and "σ" not in text
    assert "?" not in text  # every symbol printed has a spelling
    if fmt != "table":  # rich wraps the equations column
        assert "f_t * c_prev + i_t * g_t" in text
    if fmt == "text":
        assert "W_ii^T + h_{t-1}" in text and "+ (2,) -> (B,2)" in text
    if encoding == "ascii":
        assert text.isascii()
