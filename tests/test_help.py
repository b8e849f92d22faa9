"""The main help names every output format and every exit code."""

from __future__ import annotations

import re

from click.testing import CliRunner

from lstm_shapes.cli import main_command

# The formats of the README's table, which the golden tests render one by one.
README_FORMATS = ["table", "text", "markdown", "csv", "json", "latex", "org", "mermaid", "dot", "graph"]


def test_the_help_lists_all_ten_formats_and_four_exit_codes() -> None:
    text = " ".join(CliRunner().invoke(main_command, ["--help"], prog_name="lstm-shapes").stdout.split())
    listed = re.search(r"Formats: (.*?)\. Exit codes", text)
    assert listed, text
    assert set(README_FORMATS) <= set(re.findall(r"[a-z]+", listed.group(1)))
    assert "3 the output could not be written" in text
