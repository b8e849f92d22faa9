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
