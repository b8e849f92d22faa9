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


def test_option_help_names_the_frameworks_from_their_modules() -> None:
    # Each framework's own argument for the input layout (PyTorch batch_first, TF1 and Paddle and Flax time_major,
    # ONNX layout), and Keras 3 and 2 reading the final states by default, as their documentation has them.
    import re
    import subprocess
    import sys

    text = " ".join(subprocess.run([sys.executable, "-m", "lstm_shapes", "--help"], capture_output=True,
                                   text=True).stdout.split())
    layouts = re.search(r"choose \((.*?)\)\.", text)
    assert layouts is not None
    assert set(layouts[1].split(", ")) == {"pytorch batch_first", "tf1 time_major", "onnx layout", "paddle time_major",
                                           "flax time_major", "haiku time_major"}
    assert "Default: final- states for keras, tf-keras, tf-keras-cudnn, last-step elsewhere." in text or \
        "Default: final-states for keras, tf-keras, tf-keras-cudnn, last-step elsewhere." in text
