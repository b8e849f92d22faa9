"""Every plain format: golden files, plus properties that hold whatever the sizes."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from lstm_shapes import Config, build, render, trace
from lstm_shapes.compare import compare
from lstm_shapes.render import FORMATS

GOLDEN = Path(__file__).parent / "golden"
CASES: dict[str, tuple[int, int, int | None]] = {"x4_h2_o1": (4, 2, 1), "x5_h256_o10": (5, 256, 10), "x3_h7": (3, 7, None)}
# One per framework and cell, with the variants each has.
VARIANTS: dict[str, dict[str, object]] = {
    "pytorch_lstm_proj_bi_l2": dict(input=4, hidden=3, out=2, framework="pytorch", proj=2, layers=2, bidirectional=True, batch=7, seq_len=5),
    "tf1_lstm_peep_proj": dict(input=4, hidden=2, out=1, framework="tf1", peepholes=True, proj=1),
    "onnx_lstm_peep_bi": dict(input=4, hidden=2, framework="onnx", peepholes=True, bidirectional=True),
    "keras_gru": dict(input=4, hidden=2, out=1, cell="gru"),
    "keras_gru_reset_before_nobias": dict(input=4, hidden=2, cell="gru", reset_after=False, bias=False),
    "pytorch_gru_l2": dict(input=4, hidden=2, cell="gru", framework="pytorch", layers=2, batch_first=True),
    "tf1_gru_bi": dict(input=4, hidden=2, cell="gru", framework="tf1", bidirectional=True),
    "onnx_rnn": dict(input=4, hidden=2, cell="rnn", framework="onnx", batch_first=True),
    "keras_rnn_bi_l2": dict(input=4, hidden=2, out=3, cell="rnn", layers=2, bidirectional=True),
    "keras_lstm_bi_every_step": dict(input=4, hidden=2, out=3, bidirectional=True, head_reads="every-step", seq_len=5),
    "pytorch_gru_sizes_6_3_bi": dict(input=4, hidden=(6, 3), out=2, cell="gru", framework="pytorch", bidirectional=True),
}
SUFFIX = {"text": "txt", "markdown": "md", "csv": "csv", "json": "json", "latex": "tex", "org": "org",
          "mermaid": "mmd", "dot": "dot", "graph": "graph.txt"}
TABLES = ("text", "markdown", "csv", "json", "latex", "org")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, fmt: str, update_goldens: bool) -> None:
    """Regenerate with `python -m pytest tests/test_render.py --update-goldens`, then review the diff."""
    path = GOLDEN / f"{case}.{SUFFIX[fmt]}"
    got = render(trace(*CASES[case]), fmt)
    if update_goldens:
        path.write_text(got, encoding="utf-8", newline="\n")
    assert got == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", VARIANTS)
def test_golden_variants(case: str, fmt: str, update_goldens: bool) -> None:
    path = GOLDEN / "variants" / f"{case}.{SUFFIX[fmt]}"
    got = render(build(Config(**VARIANTS[case])), fmt)  # type: ignore[arg-type]
    if update_goldens:
        path.parent.mkdir(exist_ok=True)
        path.write_text(got, encoding="utf-8", newline="\n")
    assert got == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", TABLES)
@pytest.mark.parametrize("options", [{"input": 4, "hidden": 2, "out": 1}, {"input": 4, "hidden": 2, "proj": 1}])
def test_golden_comparison(options: dict[str, int], fmt: str, update_goldens: bool) -> None:
    name = "compare_" + "_".join(f"{k}{v}" for k, v in options.items())
    path = GOLDEN / "variants" / f"{name}.{SUFFIX[fmt]}"
    got = render(compare(**options), fmt)
    if update_goldens:
        path.write_text(got, encoding="utf-8", newline="\n")
    assert got == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "fmt,flags", [(fmt, {}) for fmt in FORMATS] + [(fmt, {"explain": True, "show_cost": True}) for fmt in TABLES]
)
def test_golden_explain_and_cost(fmt: str, flags: dict[str, bool], update_goldens: bool) -> None:
    name = "x4_h2_o1_T5_B8" + ("_explain_cost" if flags else "")
    path = GOLDEN / "variants" / f"{name}.{SUFFIX[fmt]}"
    got = render(build(Config(input=4, hidden=2, out=1, seq_len=5, batch=8, framework="pytorch"), **flags), fmt)
    if update_goldens:
        path.write_text(got, encoding="utf-8", newline="\n")
    assert got == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", FORMATS)
def test_plain_formats_have_no_terminal_codes_and_end_in_one_newline(fmt: str) -> None:
    out = render(trace(5, 256, 10), fmt)
    assert "\x1b" not in out
    assert out.endswith("\n") and not out.endswith("\n\n")
    assert all(line == line.rstrip() for line in out.splitlines())


def test_json_matches_the_report_and_counts_add_up() -> None:
    data = json.loads(render(trace(4, 2, 1), "json"))
    assert data["total_params"] == sum(w["params"] for w in data["weights"]) == 59
    assert [w["shape"] for w in data["weights"]] == [[4, 8], [2, 8], [8], [2, 1], [1]]
    assert data["nodes"][0]["shape"] == ["B", 4]


def test_csv_rows_add_up() -> None:
    rows = list(csv.DictReader(io.StringIO(render(trace(5, 256, 10), "csv"))))
    weights = [int(r["params"]) for r in rows if r["section"] == "weight"]
    parts = [int(r["params"]) for r in rows if r["section"] == "part"]
    (total,) = [int(r["params"]) for r in rows if r["section"] == "total"]
    assert sum(weights) == sum(parts) == total == 270_858
    assert {r["name"]: r["shape"] for r in rows if r["section"] == "node"}["hx_t"] == "(B, 261)"


def markdown_tables(text: str) -> list[list[str]]:
    tables, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables + ([current] if current else [])


@pytest.mark.parametrize("case", CASES)
def test_markdown_tables_are_padded_and_numbers_right_aligned(case: str) -> None:
    for table in markdown_tables(render(trace(*CASES[case]), "markdown")):
        assert len({len(line) for line in table}) == 1, "every row of a table has the same width"
        rule = [cell.strip() for cell in table[1].strip("|").split("|")]
        assert all(re.fullmatch(r"-{3,}:?", cell) for cell in rule)
        header = [cell.strip() for cell in table[0].strip("|").split("|")]
        if "params" in header:
            assert rule[header.index("params")].endswith(":")


def test_markdown_escapes_pipes() -> None:
    from lstm_shapes.render.markdown import markdown_table
    from lstm_shapes.render.tables import Column, Table

    lines = markdown_table(Table("t", (Column("a"), Column("b", code=True)), (("x|y", "p|q"),)))
    assert lines[2] == "| x\\|y | `p\\|q` |"


@pytest.mark.parametrize("case", [*CASES, *VARIANTS, "compare"])
def test_mdformat_leaves_markdown_unchanged(case: str, tmp_path: Path) -> None:
    mdformat = pytest.importorskip("mdformat", reason="mdformat is not installed (pip install -e '.[test]')")
    pytest.importorskip("mdformat_tables", reason="mdformat-tables is not installed (pip install -e '.[test]')")
    if case == "compare":
        text = render(compare(input=4, hidden=2, out=1), "markdown")
    elif case in VARIANTS:
        text = render(build(Config(**VARIANTS[case])), "markdown")  # type: ignore[arg-type]
    else:
        text = render(trace(*CASES[case]), "markdown")
    assert mdformat.text(text, extensions={"tables"}) == text


@pytest.mark.skipif(shutil.which("prettier") is None, reason="prettier is not on PATH")
def test_prettier_leaves_markdown_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "table.md"
    path.write_text(render(trace(5, 256, 10), "markdown"), encoding="utf-8")
    subprocess.run(["prettier", "--check", str(path)], check=True, capture_output=True)


def reference_dumps(value: object) -> str:
    """The layout dumps promises, from the standard library: indented JSON, then flat lists joined."""
    scalar = r'(?:-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|"(?:[^"\\]|\\.)*"|true|false|null)'
    flat = re.compile(r"\[\n\s+(" + scalar + r"(?:,\n\s+" + scalar + r")*)\n\s*\]")
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return flat.sub(lambda m: "[" + re.sub(r",\n\s+", ", ", m.group(1)) + "]", text)


def test_dumps_writes_what_indented_json_with_flat_lists_is() -> None:
    pytest.importorskip("hypothesis")
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from lstm_shapes.render.jsonout import dumps

    keys = st.one_of(st.text(max_size=6), st.integers(-5, 5), st.booleans(), st.none(), st.floats(allow_nan=False))
    leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8))
    values = st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=20,
    )

    @settings(max_examples=400, deadline=None)
    @given(values)
    def check(value: object) -> None:
        assert dumps(value) == reference_dumps(value)

    check()


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        ("h_t", 3),
        ("σ(x·Wᵀ) → h", 11),  # the tool's own symbols, one column each
        ("c\u0303_t", 3),  # the combining tilde takes no column
        ("日本", 4),  # wide characters take two
        ("σ日e\u0301", 4),  # mixed: one, two, and an accent over e
    ],
)
def test_display_width_counts_columns_by_hand(text: str, columns: int) -> None:
    from lstm_shapes.render.tables import width

    assert width(text) == columns
