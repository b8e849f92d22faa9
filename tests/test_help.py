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


def test_each_variant_option_names_exactly_the_frameworks_that_accept_it() -> None:
    # Which frameworks accept a variant is found by building it, not from the help's own source.
    from lstm_shapes import Config, ConfigError
    from lstm_shapes.frameworks import NAMES

    def accepts(framework: str, **options: object) -> bool:
        try:
            Config(input=4, hidden=3, framework=framework, **options)  # type: ignore[arg-type]
        except ConfigError:
            return False
        return True

    text = " ".join(CliRunner().invoke(main_command, ["--help"], prog_name="lstm-shapes").stdout.split())
    text = re.sub(r"(\w)- (\w)", r"\1-\2", text)  # click may wrap a line after a name's hyphen (pytorch-cell)
    for option, variant in (("--bidirectional", dict(bidirectional=True)), ("--no-bias", dict(bias=False)),
                            ("--proj", dict(proj=2)), ("--peepholes", dict(peepholes=True))):
        said = re.search(re.escape(option) + r"\b[^(]*\(([a-z0-9, -]+)\)", text)
        assert said, option
        assert said.group(1).split(", ") == [f for f in NAMES if accepts(f, **variant)], option
