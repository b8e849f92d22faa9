"""The docs markers' quick option parser answers as click does, or leaves the answer to click."""

from __future__ import annotations

import click
import pytest

from lstm_shapes.command import main_command, message_of
from lstm_shapes.subcommands import marker_parser, render_marker
from lstm_shapes.quickparse import QuickParser

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed (pip install -e '.[test]')")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# Every spelling the main command declares, read from click, so a new option is drawn too.
NAMES = sorted(
    {name for p in main_command.params if p.expose_value for name in (*p.opts, *p.secondary_opts)}
)
CHOICES = sorted({c for p in main_command.params if isinstance(p.type, click.Choice) for c in p.type.choices})
VALUES = st.sampled_from(["0", "1", "2", "3", "7", "1_000", "+4", " 5", "-2", "abc", "", "10000000", "9" * 30, *CHOICES])
JUNK = st.sampled_from(["--nope", "--inpu", "-x", "--", "x", "-fjson", "-f=json", "--bidirectional=1", "-"])


@st.composite
def tokens(draw: st.DrawFn) -> list[str]:
    name = draw(st.sampled_from(NAMES))
    kind = draw(st.sampled_from(["alone", "value", "equals", "junk"]))
    if kind == "alone":
        return [name]
    if kind == "junk":
        return [draw(JUNK)]
    value = draw(VALUES)
    return [f"{name}={value}"] if kind == "equals" else [name, value]


def argv_lists() -> st.SearchStrategy[list[str]]:
    required = ["--input", "3", "--hidden", "2"]
    lists = st.lists(tokens(), max_size=8).map(lambda parts: [t for part in parts for t in part])
    # Most lists carry the required options, so that the rest of the parse is what varies.
    return st.one_of(lists.map(lambda rest: required + rest), lists.map(lambda rest: rest + required), lists)


def click_params(argv: list[str]) -> dict[str, object] | str:
    """What click makes of argv: the parsed values, or the one-line message for its error."""
    try:
        return dict(main_command.make_context("lstm-shapes", list(argv)).params)
    except click.UsageError as exc:
        return message_of(exc)


@settings(max_examples=600, deadline=None)
@given(argv_lists())
def test_the_quick_parser_agrees_with_click_whenever_it_answers(argv: list[str]) -> None:
    quick = QuickParser(main_command).parse(argv)
    if quick is not None:
        assert quick == click_params(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["--input", "4", "--hidden", "2"],
        ["--hidden", "2", "--input", "4", "--out", "1", "--framework", "pytorch", "--format", "json"],
        ["--input=4", "--hidden=2", "--cell", "gru", "--no-reset-after", "--time-major", "-f", "csv"],
        ["--input", "4", "--hidden", "2", "--reset-after", "--batch-first", "--no-bias", "--no-head-bias"],
        ["--input", "4", "--hidden", "2", "--layers", "3", "--layers", "2", "--bidirectional", "--peepholes"],
        ["--input", "1024", "--hidden", "2", "--proj", "1", "--batch", "8", "--seq-len", "5", "--dtype", "int8"],
        ["--input", "4", "--hidden", "2", "--out", "3", "--head-activation", "sigmoid", "--head-reads", "final-states"],
        ["--input", "4", "--hidden", "2", "--explain", "--cost", "--format", "text"],
    ],
)
def test_plain_markers_are_parsed_quickly_to_what_click_parses(argv: list[str]) -> None:
    # The values come from click itself; the quick parser must answer, not pass the marker on.
    assert marker_parser().parse(argv) == click_params(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["--hidden", "2"],
        ["--input", "0", "--hidden", "2"],
        ["--input", "four", "--hidden", "2"],
        ["--input", "4", "--hidden", "2", "--cell", "lstmx"],
        ["--input", "4", "--hidden", "2", "--framework"],
        ["--input", "4", "--hidden", "2", "--bidirectional=yes"],
        ["--input", "4", "--hidden", "2", "--inpt", "3"],
        ["--input", "4", "--hidden", "2", "extra"],
        ["--input", "4", "--hidden", "2", "--layers", "1001"],
        ["--input", "4", "--hidden", "2", "--format", "table"],
        ["--input", "4", "--hidden", "2", "--cell", "rnn", "--proj", "1"],
    ],
)
def test_a_bad_marker_gets_the_command_lines_message(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError) as caught:
        render_marker(argv)
    code = main_command.main(argv, prog_name="lstm-shapes", standalone_mode=False)
    stderr = capsys.readouterr().err
    if argv[-2:] == ["--format", "table"]:  # the one a terminal takes but a document does not
        assert str(caught.value) == "--format table is for terminals; a document takes text, markdown, csv, json, latex, org, mermaid, dot, graph"
        return
    assert code == 2
    assert stderr == f"lstm-shapes: error: {caught.value}\n"


def test_a_new_option_reaches_the_quick_parser_from_its_declaration_alone() -> None:
    from lstm_shapes.command import Size

    @click.command()
    @click.option("--size", type=Size(), required=True)
    @click.option("--mode", type=click.Choice(["a", "b"]), default="a")
    @click.option("--fast/--slow", default=None)
    @click.option("--loud", is_flag=True)
    def command(**_: object) -> None:
        pass

    parser = QuickParser(command)
    assert parser.parse(["--size", "1000", "--mode", "b", "--slow"]) == {"size": 1000, "mode": "b", "fast": False, "loud": False}
    assert parser.parse(["--loud", "--size=3"]) == {"size": 3, "mode": "a", "fast": None, "loud": True}
    assert parser.parse(["--mode", "c", "--size", "3"]) is None  # not a choice: click words the error


def test_arguments_and_callbacks_are_left_to_click() -> None:
    @click.command()
    @click.argument("path")
    def with_argument(**_: object) -> None:
        pass

    @click.command()
    @click.option("--n", type=int, default=1, callback=lambda ctx, param, value: value * 10)
    def with_callback(**_: object) -> None:
        pass

    assert QuickParser(with_argument).parse([]) is None  # PATH is required and never given to the quick parser
    assert QuickParser(with_callback).parse(["--n", "2"]) is None  # the callback would change the value
