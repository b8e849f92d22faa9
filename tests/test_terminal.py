"""The rich terminal table: at any width, shapes, counts, values and names are printed whole."""

from __future__ import annotations

import io
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from lstm_shapes.cli import main_command
from lstm_shapes.compare import compare
from lstm_shapes.config import Config
from lstm_shapes.report import Report, build
from lstm_shapes import render
from lstm_shapes.terminal import new_console, print_comparison, print_report

WIDTHS = (60, 80, 120)
CONFIGS = {
    "keras head, B and T": dict(input=5, hidden=256, out=10, batch=8, seq_len=5),
    "pytorch 2 layers, bidirectional, projection": dict(
        input=4, hidden=3, framework="pytorch", layers=2, bidirectional=True, proj=2
    ),
    "gru": dict(input=4, hidden=2, out=1, cell="gru", batch=8, seq_len=5),
    "tf1 peepholes, wide": dict(input=300, hidden=1024, out=1000, framework="tf1", peepholes=True, proj=512),
    "onnx bidirectional rnn": dict(input=12, hidden=64, framework="onnx", cell="rnn", bidirectional=True),
}


def console_of(width: int) -> Console:
    console = new_console()  # the command's own settings: no markup, no emoji, no highlighting
    console.file = io.StringIO()
    console.width = width
    return console


def draw(printer: Callable[..., None], subject: Any, width: int) -> str:
    console = console_of(width)
    printer(subject, console)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[" not in output
    return output


def columns(line: str) -> int:
    """A line's width in a monospace font, computed apart from the package's own `width`."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def shape(dims: list[Any]) -> str:
    """A shape as the tables print it: `(8, 256)`, and `(10,)` for one dimension."""
    return "(" + ", ".join(map(str, dims)) + ("," if len(dims) == 1 else "") + ")"


def folded(name: str, lines: list[str]) -> int:
    """How often `name` is printed whole: on one line, or folded after '/' or '.' onto the next lines, same column."""
    found = 0
    for i, line in enumerate(lines):
        for start in (m.start() for m in re.finditer(re.escape(name[0]), line)):
            found += _continues(name, lines, i, start)
    return found


def _continues(rest: str, lines: list[str], i: int, col: int) -> bool:
    if i >= len(lines):
        return False
    here = lines[i][col:]
    if here.startswith(rest):
        return True
    for cut in (k + 1 for k, char in enumerate(rest[:-1]) if char in "/. "):
        chunk = rest[:cut].rstrip()
        # A folded piece ends its line within the cell: spaces (or the end of the line) follow it.
        if here.startswith(chunk) and here[len(chunk) : len(chunk) + 1] in (" ", ""):
            if _continues(rest[cut:], lines, i + 1, col):
                return True
    return False


def must_be_whole(report: Report) -> tuple[Counter[str], Counter[str]]:
    """What the report says, from its dict: atoms that may never break, and names that may fold at '/' or '.'."""
    data = report.to_dict()
    atoms: Counter[str] = Counter()
    names: Counter[str] = Counter()
    for node in data["nodes"]:
        atoms[shape(node["shape"])] += 1
        names[node["name"]] += 1
    for weight in data["weights"]:
        atoms[shape(weight["shape"])] += 1
        atoms[f"{weight['params']:,}"] += 1
        names[weight["name"]] += 1
    for part in data["parts"]:
        atoms[f"{part['params']:,}"] += 1
        names[part["name"]] += 1
    atoms[f"{data['total_params']:,}"] += 1
    for tensor in data["sequence"]:
        atoms[shape(tensor["shape"])] += 1
        names[tensor["name"]] += 1
    for line in data.get("equations", []):
        names[line["node"]] += 1
        # Operand shapes are written without spaces, `(8,5)·(5,256) + (256,) → (8,256)`: each one stays whole.
        for operand in re.findall(r"\([^()]*\)", line["shapes"]):
            atoms[operand] += 1
    for key, value in data["cost"].items():
        if isinstance(value, int):
            atoms[f"{value:,}"] += 1
    return atoms, names


def check_nothing_cut(output: str, width: int, atoms: Counter[str], names: Counter[str], words: list[str]) -> None:
    lines = output.splitlines()
    assert "…" not in output
    too_wide = [line for line in lines if columns(line) > width]
    assert not too_wide, too_wide[:3]
    for atom, times in atoms.items():
        assert sum(line.count(atom) for line in lines) >= times, f"{atom!r} is cut or missing"
    for name, times in names.items():
        assert folded(name, lines) >= times, f"{name!r} is cut or missing"
    # Every word of the plain text (prose included) is there whole: prose only wraps at spaces.
    missing = [word for word in words if word not in output and not folded(word, lines)]
    assert not missing, missing[:5]


def text_words(text: str) -> list[str]:
    return sorted({word for word in text.split() if set(word) != {"-"}})


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", CONFIGS)
def test_report_never_cuts_shapes_counts_values_or_names(name: str, width: int) -> None:
    report = build(Config(**CONFIGS[name]), explain=True, show_cost=True)
    output = draw(print_report, report, width)
    atoms, names = must_be_whole(report)
    check_nothing_cut(output, width, atoms, names, text_words(render(report, "text")))


@pytest.mark.parametrize("width", (30, 40, 50))
def test_narrow_terminals_get_records_and_still_cut_nothing(width: int) -> None:
    report = build(Config(**CONFIGS["keras head, B and T"]), explain=True, show_cost=True)
    output = draw(print_report, report, width)
    atoms, names = must_be_whole(report)
    check_nothing_cut(output, width, atoms, names, text_words(render(report, "text")))
    # One record per weight: a header: value line for its name, and one for its shape.
    assert len(re.findall(r"^ *weight:\s+\S", output, re.MULTILINE)) == len(report.weights)
    assert re.search(r"^ *shape:\s+\(5, 1024\)$", output, re.MULTILINE)


def test_wide_terminals_keep_every_table_a_table() -> None:
    report = build(Config(**CONFIGS["keras head, B and T"]), explain=True, show_cost=True)
    output = draw(print_report, report, 120)
    assert not re.search(r"^ *(shape|params|value):", output, re.MULTILINE)
    for header in (r"node\s+shape\s+computed as\s+meaning", r"cost\s+formula\s+value\s+unit"):
        assert re.search(header, output)
    # The Cost table's value and unit columns sit on the same line as the cost they belong to.
    assert re.search(r"^ *matrix-product MACs per time step .* 267,264 +MACs *$", output, re.MULTILINE)


def test_shapes_and_values_keep_their_place_at_80_columns() -> None:
    """Issue 15's examples: the Cost table's value and unit, and --explain's operand shapes, at 80 columns."""
    report = build(Config(**CONFIGS["keras head, B and T"]), explain=True, show_cost=True)
    output = draw(print_report, report, 80)
    # 4·256·(5+256) = 267,264 MACs and, as PyTorch's autograd keeps them (docs/costs.md),
    # B·(T·(x+7h)+h+o)·4 = 8·(5·(5+1792)+256+10)·4 = 296,032 bytes.
    assert re.search(r" 267,264 +MACs *$", output, re.MULTILINE)
    assert re.search(r" 296,032 +bytes *$", output, re.MULTILINE)
    for operand in ("(8,5)·(5,256)", "(8,256)·(256,256)", "(256,)", "(8,261)"):
        assert operand in output
    # The long weight name folds after a '/' rather than push the Weights table into a list.
    assert re.search(r"^ +lstm/lstm_cell/ +\(256, 1024\) +262,144 ", output, re.MULTILINE)
    assert re.search(r"^ +recurrent_kernel ", output, re.MULTILINE)


def test_text_with_brackets_is_printed_as_is() -> None:
    report = build(Config(**CONFIGS["keras head, B and T"]))
    output = draw(print_report, report, 80)
    assert "[h_prev, x_t]" in output and "[U_i; W_i]" in output


def test_notes_are_printed() -> None:
    report = build(Config(**CONFIGS["pytorch 2 layers, bidirectional, projection"]))
    assert report.notes
    output = draw(print_report, report, 60)
    for note in report.notes:
        assert " ".join(note.split()) in " ".join(output.split())


def comparison_must_be_whole(cmp: Any) -> tuple[Counter[str], Counter[str]]:
    atoms: Counter[str] = Counter()
    names: Counter[str] = Counter()
    for entry in cmp.entries:
        if entry.report is None:
            continue
        data = entry.report.to_dict()
        atoms[f"{data['total_params']:,}"] += 1
        for weight in data["weights"]:
            if weight["layer"] == 0 and weight["direction"] in (0, None):
                atoms[shape(weight["shape"])] += 1
                names[entry.report.config.convention.short_name(weight["name"])] += 1  # as the table names it
        if entry.difference:
            atoms[f"{entry.difference:+,}"] += 1
    return atoms, names


# At 26 columns `recurrent_kernel (2, 8),` is wider than a record's value: it breaks before its shape.
@pytest.mark.parametrize("width", (26, *WIDTHS))
@pytest.mark.parametrize(
    "options",
    [dict(input=4, hidden=2, out=1), dict(input=300, hidden=1024, out=1000, layers=2, bidirectional=True, cell="gru")],
)
def test_comparison_never_cuts(options: dict[str, Any], width: int) -> None:
    cmp = compare(**options)
    output = draw(print_comparison, cmp, width)
    atoms, names = comparison_must_be_whole(cmp)
    assert atoms and names

    check_nothing_cut(output, width, atoms, names, text_words(render(cmp, "text")))


def test_framework_all_table_is_drawn_by_rich() -> None:
    args = ["--input", "4", "--hidden", "2", "--out", "1", "--framework", "all", "--format", "table"]
    result = CliRunner().invoke(main_command, args, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    # rich rules the header with '─' (U+2500); the plain text format underlines it with '-'.
    assert "─" in result.output and not re.search(r"^-+  ", result.output, re.MULTILINE)
    assert "Keras 3 / TF2" in result.output and "weight_ih_l0 (8, 4)" in result.output


def test_framework_all_table_colours_only_when_allowed() -> None:
    args = ["--input", "4", "--hidden", "2", "--framework", "all", "--format", "table"]
    coloured = CliRunner().invoke(main_command, args, env={"FORCE_COLOR": "1", "NO_COLOR": ""})
    assert "\x1b[1m" in coloured.output  # bold titles when a terminal is forced
    plain = CliRunner().invoke(main_command, args, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert not re.search(r"\x1b\[(3\d|9\d)m", plain.output), "NO_COLOR must remove colours"


def test_framework_all_table_refuses_what_no_framework_has() -> None:
    args = ["--input", "4", "--hidden", "2", "--framework", "all", "--format", "table", "--peepholes", "--cell", "gru"]
    result = CliRunner().invoke(main_command, args)
    assert result.exit_code == 2
