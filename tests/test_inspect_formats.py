"""`lstm-shapes inspect --format F` for every format of the one table: golden files, and each format checked by its
own reader (csv, json, pdflatex, Graphviz, Mermaid's parser) or against the main command's output for the same layer.

The file is tests/files/session/seq2seq.ckpt (tests/record/session.py): a torch checkpoint of an embedding, a
2-layer nn.LSTM(3, 4) encoder, an nn.GRU(3, 4) decoder and a Linear(4, 10) head. By hand: the LSTM has
4·4·(3+4) + 2·16 = 144 and 4·4·(4+4) + 2·16 = 160 parameters, 304 in all; the GRU 3·4·(3+4) + 2·12 = 108; the
embedding 10·3 = 30 and the head 4·10 + 10 = 50, 80 outside the recurrent layers; 492 in the file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from lstm_shapes.inspection import inspect_path
from lstm_shapes.render import FORMATS, PICTURES
from lstm_shapes.terminal import new_console, print_inspections

SESSION = Path(__file__).parent / "files" / "session"
GOLDEN = Path(__file__).parent / "golden"
SUFFIX = {"table": "table.txt", "text": "txt", "markdown": "md", "csv": "csv", "json": "json", "latex": "tex",
          "org": "org", "mermaid": "mmd", "dot": "dot", "graph": "graph.txt"}
TABLES = tuple(f for f in FORMATS if f not in PICTURES)
# The layers of seq2seq.ckpt as the main command is asked for them, and their parameters by hand (above).
ENCODER = ("--framework", "pytorch", "--input", "3", "--hidden", "4", "--layers", "2")
DECODER = ("--framework", "pytorch", "--cell", "gru", "--input", "3", "--hidden", "4")
PARAMS = {"state_dict.encoder.": 304, "state_dict.decoder.": 108}


def lstm_shapes(*args: str, cwd: Path = SESSION) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "lstm_shapes", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, check=False)


def inspect(*args: str) -> str:
    done = lstm_shapes("inspect", "seq2seq.ckpt", *args)
    assert done.returncode == 0 and not done.stderr, done.stderr
    return done.stdout


def table_output(*paths: str, width: int = 100, **flags: Any) -> str:
    console = new_console()
    console.file = io.StringIO()
    console.width = width
    here = Path.cwd()
    os.chdir(SESSION)  # the source is named as given, relative
    try:
        print_inspections([inspect_path(p) for p in paths], console=console, **flags)
    finally:
        os.chdir(here)
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize("fmt", ("table", *FORMATS))
def test_golden(fmt: str, update_goldens: bool) -> None:
    """Regenerate with `python -m pytest tests/test_inspect_formats.py --update-goldens`, then review the diff."""
    path = GOLDEN / f"inspect_seq2seq.{SUFFIX[fmt]}"
    got = table_output("seq2seq.ckpt") if fmt == "table" else inspect("--format", fmt)
    if update_goldens:
        path.write_text(got, encoding="utf-8", newline="\n")
    assert got == path.read_text(encoding="utf-8")


def test_the_choices_and_help_come_from_the_table_of_formats() -> None:
    done = lstm_shapes("inspect", "--help")
    choices = re.search(r"\[([^\]]*)\]", done.stdout[done.stdout.index("--format"):])
    assert choices is not None and choices[1].split("|") == ["table", *FORMATS]
    assert f"{', '.join(PICTURES[:-1])} and {PICTURES[-1]} draw" in " ".join(done.stdout.split())


def test_csv_is_one_table_whose_parts_add_up_and_whose_weights_are_the_files(tmp_path: Path) -> None:
    rows = list(csv.reader(io.StringIO(inspect("--format", "csv"))))
    header, body = rows[0], rows[1:]
    assert all(len(row) == len(header) for row in body)
    records = [dict(zip(header, row)) for row in body]
    recurrent = {r["prefix"]: int(r["params"]) for r in records if r["section"] == "recurrent"}
    assert recurrent == PARAMS
    assert [int(r["params"]) for r in records if r["section"] == "other"] == [30, 50]  # Embedding(10, 3); Linear(4, 10)
    (file_row,) = [r for r in records if r["section"] == "file"]
    assert int(file_row["params"]) == 492 == sum(recurrent.values()) + 80
    torch = pytest.importorskip("torch")
    state = torch.load(SESSION / "seq2seq.ckpt", weights_only=True)["state_dict"]
    weights = {r["name"]: r["shape"] for r in records if r["section"] == "weight"}
    expected = {f"state_dict.{name}": "(" + ", ".join(map(str, t.shape)) + ("," if t.dim() == 1 else "") + ")"
                for name, t in state.items() if name.startswith(("encoder.", "decoder."))}
    assert weights == expected
    for prefix, total in PARAMS.items():
        assert sum(int(r["params"]) for r in records if r["section"] == "weight" and r["prefix"] == prefix) == total


def test_json_is_one_object_with_each_layer_its_trace_and_the_rest() -> None:
    data = json.loads(inspect("--format", "json"))
    assert data["total_params"] == 492
    layers = {layer["prefix"]: layer for layer in data["recurrent"]}
    assert {p: layer["params"] for p, layer in layers.items()} == PARAMS
    encoder, decoder = layers["state_dict.encoder."], layers["state_dict.decoder."]
    assert (encoder["cell"], encoder["input"], encoder["hidden"], encoder["layers"]) == ("lstm", 3, 4, 2)
    assert (decoder["cell"], decoder["input"], decoder["hidden"], decoder["bidirectional"]) == ("gru", 3, 4, False)
    for layer in layers.values():
        assert {"framework", "proj", "bias", "trace"} <= set(layer)
        assert layer["trace"]["total_params"] == layer["params"]
    # embed.weight (10·3), head.weight and head.bias (4·10 + 10), under the checkpoint's state_dict wrapper.
    assert data["other"] == [{"prefix": "state_dict.embed", "tensors": 1, "params": 30},
                             {"prefix": "state_dict.head", "tensors": 2, "params": 50}]


def latex_engine() -> str | None:
    return next((e for e in ("pdflatex", "lualatex", "xelatex") if shutil.which(e)), None)


@pytest.mark.skipif(latex_engine() is None, reason="no pdflatex, lualatex or xelatex on the PATH")
def test_latex_compiles_with_a_section_per_layer(tmp_path: Path) -> None:
    out = inspect("--format", "latex", "--explain", "--cost")
    assert re.findall(r"\\section\*\{(.*)\}", out) == [
        r"Recurrent layer 1 of 2, at \texttt{state\_dict.encoder.}",
        r"Recurrent layer 2 of 2, at \texttt{state\_dict.decoder.}",
        "Other tensors",
    ]
    (tmp_path / "part.tex").write_text(out, encoding="ascii")
    (tmp_path / "doc.tex").write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\tracinglostchars=3\n"
                                      "\\begin{document}\n\\input{part}\n\\end{document}\n", encoding="ascii")
    engine = latex_engine()
    assert engine is not None
    done = subprocess.run([engine, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "doc.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    log = (tmp_path / "doc.log").read_text(encoding="latin-1")
    errors = [line for line in log.splitlines() if line.startswith("!") or "Missing character" in line]
    assert done.returncode == 0 and not errors, "\n".join(errors) or done.stdout[-3000:]


def test_org_has_a_headline_per_layer_and_tables_org_would_leave_alone() -> None:
    from test_latex_org import org_align

    out = inspect("--format", "org")
    assert re.findall(r"^\* (.*)$", out, re.MULTILINE) == [
        "Recurrent layer 1 of 2, at ~state_dict.encoder.~", "Recurrent layer 2 of 2, at ~state_dict.decoder.~",
        "Other tensors"]
    lines = out.splitlines()
    tables = [[]]  # type: list[list[str]]
    for line in lines:
        if line.startswith("|"):
            tables[-1].append(line)
        elif tables[-1]:
            tables.append([])
    assert len([t for t in tables if t]) == 2 * 4 + 1  # nodes, weights, parameters, sequence per layer; the rest
    for table in filter(None, tables):
        assert org_align(table) == table


def main_picture(fmt: str, options: tuple[str, ...]) -> str:
    done = lstm_shapes(*options, "--format", fmt)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_graph_view_draws_each_layer_as_the_main_command_does() -> None:
    out = inspect("--format", "graph")
    for options in (ENCODER, DECODER):
        assert main_picture("graph", options) in out


DOT = shutil.which("dot")


@pytest.mark.skipif(DOT is None, reason="Graphviz's `dot` is not on PATH (apt-get install graphviz)")
def test_graphviz_draws_a_cluster_per_layer_with_the_main_commands_nodes_and_edges() -> None:
    assert DOT is not None
    svg = subprocess.run([DOT, "-Tsvg"], input=inspect("--format", "dot"), capture_output=True, text=True,
                         timeout=60, check=False)
    assert svg.returncode == 0 and not svg.stderr, svg.stderr
    titles = re.findall(r'<g id="clust\d+" class="cluster">\s*<title>([^<]*)</title>', svg.stdout)
    # A cluster per recurrent layer, and inside the stacked encoder one per layer of its stack.
    assert sorted(titles) == ["cluster_r1", "cluster_r1/l0", "cluster_r1/l1", "cluster_r2"]
    nodes = re.findall(r'<g id="node\d+" class="node">\s*<title>([^<]*)</title>', svg.stdout)
    edges = re.findall(r'<g id="edge\d+" class="edge">\s*<title>([^<]*)</title>', svg.stdout)
    for key, options in (("r1/", ENCODER), ("r2/", DECODER)):
        alone = subprocess.run([DOT, "-Tsvg"], input=main_picture("dot", options), capture_output=True, text=True,
                               timeout=60, check=False).stdout
        want_nodes = re.findall(r'<g id="node\d+" class="node">\s*<title>([^<]*)</title>', alone)
        want_edges = re.findall(r'<g id="edge\d+" class="edge">\s*<title>([^<]*)</title>', alone)
        assert sorted(n[len(key):] for n in nodes if n.startswith(key)) == sorted(want_nodes)
        assert sorted(e.replace(key, "") for e in edges if e.startswith(key)) == sorted(want_edges)


def mermaid_structure(text: str) -> tuple[dict[str, str], list[tuple[str, str]], dict[str, list[str]]]:
    """Node id → first label line, edges, and subgraph id → the node ids and subgraphs directly inside it."""
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str]] = []
    inside: dict[str, list[str]] = {"": []}
    stack = [""]
    for line in text.splitlines():
        line = line.strip()
        if m := re.fullmatch(r'subgraph (\w+)\["[^"]*"\]', line):
            inside[stack[-1]].append(m[1])
            inside[m[1]] = []
            stack.append(m[1])
        elif line == "end":
            stack.pop()
        elif m := re.fullmatch(r'(\w+)\s*-->\|"[^"]*"\|\s*(\w+)', line):
            edges.append((m[1], m[2]))
        elif m := re.fullmatch(r'(\w+)(?:\(\["|\[")([^"<]*)(?:<br/>)[^"]*(?:"\]\)|"\])', line):
            nodes[m[1]] = m[2]
            inside[stack[-1]].append(m[1])
    assert stack == [""]
    return nodes, edges, inside


def test_mermaid_draws_a_subgraph_per_layer_with_the_main_commands_nodes_and_edges() -> None:
    nodes, edges, inside = mermaid_structure(inspect("--format", "mermaid"))
    assert inside[""] == ["r1", "r2"] and inside["r1"] == ["r1_l0", "r1_l1"]
    for key, options in (("r1_", ENCODER), ("r2_", DECODER)):
        alone_nodes, alone_edges, _ = mermaid_structure(main_picture("mermaid", options))
        labels = {k: v for k, v in nodes.items() if k.startswith(key)}
        assert sorted(labels.values()) == sorted(alone_nodes.values())
        got = sorted((labels[a], labels[b]) for a, b in edges if a.startswith(key))
        assert got == sorted((alone_nodes[a], alone_nodes[b]) for a, b in alone_edges)


def test_mermaid_parses_the_diagram_of_one_file_and_of_two() -> None:
    from test_pictures import mermaid_db_text, run_mermaid

    one = inspect("--format", "mermaid")
    two = lstm_shapes("inspect", "seq2seq.ckpt", "tagger.keras", "--format", "mermaid").stdout
    results = run_mermaid({"one": one, "two": two})
    for name, text in (("one", one), ("two", two)):
        assert "error" not in results[name], results[name]
        nodes, edges, inside = mermaid_structure(text)
        vertices = {vid: mermaid_db_text(label).split("\n")[0] for vid, label in results[name]["vertices"]}
        assert vertices == nodes
        assert sorted((s, d) for s, d, _ in results[name]["edges"]) == sorted(edges)
        # Each subgraph holds what it was given: Mermaid moves a node to one subgraph only.
        for sid, title, members in results[name]["subgraphs"]:
            assert sorted(members) == sorted(inside[sid])
    assert len(mermaid_structure(two)[2][""]) == 2 + 2  # the checkpoint's two layers, then the Keras file's two


@pytest.mark.parametrize("fmt", ("text", "markdown", "latex", "org"))
def test_explain_and_cost_add_to_each_layers_trace_what_they_add_to_the_main_commands(fmt: str) -> None:
    plain, explained = inspect("--format", fmt), inspect("--format", fmt, "--explain", "--cost")
    for options in (ENCODER, DECODER):
        before = set(main_picture(fmt, options).splitlines())
        added = [line for line in main_picture(fmt, (*options, "--explain", "--cost")).splitlines() if line not in before]
        assert added
        assert all(line in explained.splitlines() for line in added)
        assert not any(line in plain.splitlines() for line in added)


def test_explain_and_cost_reach_csv_json_and_the_terminal_table() -> None:
    rows = list(csv.DictReader(io.StringIO(inspect("--format", "csv", "--explain", "--cost"))))
    for layer in ("1", "2"):
        assert {"equation", "cost"} <= {r["section"] for r in rows if r["layer"] == layer}
    assert not {"equation", "cost"} & {r["section"] for r in csv.DictReader(io.StringIO(inspect("--format", "csv")))}
    data = json.loads(inspect("--format", "json", "--explain", "--cost"))
    for layer, options in zip(data["recurrent"], (ENCODER, DECODER)):
        alone = json.loads(main_picture("json", (*options, "--explain", "--cost")))
        assert layer["trace"]["equations"] == alone["equations"] and layer["trace"]["cost"] == alone["cost"]
    assert all("equations" not in layer["trace"] for layer in json.loads(inspect("--format", "json"))["recurrent"])
    table = table_output("seq2seq.ckpt", explain=True, show_cost=True)
    assert len(re.findall(r"^Equations\s*$", table, re.MULTILINE)) == 2
    assert len(re.findall(r"^Cost\s*$", table, re.MULTILINE)) == 2
    assert not re.search(r"^(Equations|Cost)\s*$", table_output("seq2seq.ckpt"), re.MULTILINE)


@pytest.mark.parametrize("fmt", PICTURES)
def test_pictures_refuse_explain_and_cost_in_one_line(fmt: str) -> None:
    done = lstm_shapes("inspect", "seq2seq.ckpt", "--format", fmt, "--cost")
    assert done.returncode == 2 and not done.stdout
    assert done.stderr.startswith("lstm-shapes: error: ") and done.stderr.count("\n") == 1


@pytest.mark.parametrize("fmt", ("table", *FORMATS))
def test_every_format_says_each_difference_and_exits_1(fmt: str) -> None:
    # By hand: weight_ih_l0 is (4h, x) = (16, 3), so h = 4; asked for 8.
    said = "state_dict.encoder.weight_ih_l0 is (16, 3): 4h = 16, so the file has h = 4; you said 8"
    env = {**os.environ, "COLUMNS": "400"}  # rich reads the width from COLUMNS when stdout is a pipe
    done = subprocess.run([sys.executable, "-m", "lstm_shapes", "inspect", "seq2seq.ckpt", "--hidden", "8",
                           "--format", fmt], capture_output=True, text=True, cwd=SESSION, env=env, check=False)
    assert done.returncode == 1 and not done.stderr, done.stderr
    assert done.stdout.count(said.replace("_", "\\_") if fmt == "latex" else said) == 1


def test_the_terminal_table_fits_any_width_and_cuts_nothing() -> None:
    for width in (40, 80, 120):
        out = table_output("seq2seq.ckpt", "custom.npz", width=width)
        assert max(len(line.rstrip()) for line in out.splitlines()) <= width
        assert "…" not in out
        assert "Total:304+108+30+50=492parameters" in "".join(out.split())
    assert "state_dict.encoder.weight_ih_l0" in out


def test_several_files_make_one_csv_table_and_one_json_list() -> None:
    done = lstm_shapes("inspect", "seq2seq.ckpt", "custom.npz", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    files = {r["file"]: int(r["params"]) for r in rows if r["section"] == "file"}
    # custom.npz by hand: an LSTM(6, 5), 4·5·(6+5) + 2·20 = 260, and a 2×5 weight with 2 biases, 12.
    assert files == {"seq2seq.ckpt": 492, "custom.npz": 272}
    data = json.loads(lstm_shapes("inspect", "seq2seq.ckpt", "custom.npz", "--format", "json").stdout)
    assert [d["total_params"] for d in data] == [492, 272]


def test_every_format_in_the_table_has_an_inspect_layout() -> None:
    from lstm_shapes.render.inspection import render_inspections

    here = Path.cwd()
    os.chdir(SESSION)
    try:
        result = inspect_path("seq2seq.ckpt")
    finally:
        os.chdir(here)
    for fmt in FORMATS:
        assert render_inspections([result], fmt).startswith(("seq2seq.ckpt", "file,", "{", "%", "//"))


def test_one_layer_chosen_the_others_count_with_the_rest_and_the_parts_add_up() -> None:
    data = json.loads(inspect("--layer", "state_dict.decoder.", "--format", "json"))
    assert [layer["prefix"] for layer in data["recurrent"]] == ["state_dict.decoder."]
    # The encoder's 8 tensors (4 per layer of its stack) and 304 parameters, by hand above.
    assert data["other"][0] == {"prefix": "state_dict.encoder.", "tensors": 8, "params": 304}
    parts = [layer["params"] for layer in data["recurrent"]] + [o["params"] for o in data["other"]]
    assert sum(parts) == data["total_params"] == 492
    assert inspect("--layer", "state_dict.decoder.").endswith("Total: 108 + 304 + 30 + 50 = 492 parameters\n")
