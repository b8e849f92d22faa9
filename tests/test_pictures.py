"""The pictures (mermaid, dot, graph): checked by parsing their text here, by Graphviz and by Mermaid's parser.

The parsers below are small regexes written against the formats, not against the renderer's code:
each node once with its id and shape, one edge per input, every edge labelled with its source's shape.
"""

from __future__ import annotations

import dataclasses
import html
import itertools
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from lstm_shapes import Config, ConfigError, Report, build, render, trace
from lstm_shapes.config import CELLS, FRAMEWORKS
from lstm_shapes.frameworks import get
from lstm_shapes.graph import Node, format_shape
from lstm_shapes.render import PICTURES
from lstm_shapes.render.tables import width


def _configs() -> dict[str, Config]:
    """Every framework x cell x variant that the framework has, with and without layers and directions."""
    found: dict[str, Config] = {}
    for fw, cell, proj, peep, layers, bi, out in itertools.product(
        FRAMEWORKS, CELLS, (None, 1), (False, True), (1, 2), (False, True), (1, None)
    ):
        for reset_after in (None, False, True) if cell == "gru" else (None,):
            if out is None and (layers > 1 or bi):
                continue  # without a head only the single-layer graph changes shape
            try:
                config = Config(input=4, hidden=2, out=out, framework=fw, cell=cell, proj=proj, peepholes=peep,
                                layers=layers, bidirectional=bi, reset_after=reset_after)
            except ConfigError:
                continue
            name = "-".join(
                [fw, cell]
                + (["proj"] if proj else [])
                + (["peep"] if peep else [])
                + ([f"l{layers}"] if layers > 1 else [])
                + (["bi"] if bi else [])
                + (["nohead"] if out is None else [])
                + ([f"reset_after={reset_after}"] if reset_after is not None else [])
            )
            found.setdefault(name, config)
    return found


CONFIGS = _configs()
# A few sizes that are not tiny, a fixed batch, and the stack the others all have.
EXTRA = {
    "big": Config(input=300, hidden=256, out=10, framework="tf1", peepholes=True, proj=128),
    "huge": Config(input=10_000_000, hidden=10_000_000, out=10_000_000, framework="pytorch", proj=9_999_999,
                   layers=2, bidirectional=True),
    "batch7": Config(input=4, hidden=3, out=2, framework="pytorch", proj=2, layers=3, bidirectional=True, batch=7),
}


def nasty_report() -> Report:
    """Ids and labels with every character that could break Mermaid or DOT, and ids that collide when cleaned."""
    base = trace(4, 2, 1)
    weird = 'q"uote \\back\\slash #35; &amp; <b>x</b> | ; [a] (b) {c} σ ⊙ · c̃ end %% -->'
    nodes = (
        Node("end", "end", "input", (), ("B", 4), weird),
        Node("a.b", "a.b", "state", (), (7, 2), weird),
        Node("a_b", "a_b", weird, ("end", "a.b"), ("B", 6), weird),
        Node("o", "o", weird, ("a_b",), ("B", 2), weird),
        Node("x", "x", weird, ("o", "a_b", "o"), ("B", 2), weird),  # the same input twice: two edges
        Node('my "node"', "n", weird, ("x",), ("B", 1), weird),
        Node("back\\slash", "b", weird, ('my "node"',), ("B", 1), weird),
        Node("graph", "g", weird, ("back\\slash",), ("B", 1), weird),
        Node("<b>&amp;#35;|;</b>", "h", weird, ("graph", "end"), ("B", 1), weird),
    )
    return dataclasses.replace(base, nodes=nodes)


REPORTS: dict[str, Report] = {name: build(config) for name, config in {**CONFIGS, **EXTRA}.items()}
REPORTS["nasty"] = nasty_report()


def expected_edges(report: Report) -> Counter[tuple[str, str]]:
    return Counter((source, node.id) for node in report.nodes for source in node.inputs)


def shape_of(report: Report) -> dict[str, str]:
    return {node.id: format_shape(node.shape) for node in report.nodes}


def test_the_configurations_cover_every_framework_cell_and_variant() -> None:
    configs = list(CONFIGS.values())
    assert {(c.framework, c.cell) for c in configs} == {(f, c) for f in FRAMEWORKS for c in CELLS if c in get(f).cells}
    assert any(c.proj for c in configs) and any(c.peepholes for c in configs)
    assert any(c.layers == 2 and c.bidirectional for c in configs)
    assert len(configs) > 50


# Format-independent properties ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", PICTURES)
@pytest.mark.parametrize("name", ["keras-lstm", "pytorch-lstm-proj-l2-bi", "tf1-gru-bi", "nasty", "huge"])
def test_pictures_are_deterministic_plain_and_end_in_one_newline(name: str, fmt: str) -> None:
    report = REPORTS[name]
    out = render(report, fmt)
    assert out == render(report, fmt)
    assert "\x1b" not in out and "\t" not in out and "\r" not in out
    assert out.endswith("\n") and not out.endswith("\n\n")
    assert all(line == line.rstrip() for line in out.splitlines())


# Mermaid ----------------------------------------------------------------------------------------

MERMAID_NODE = re.compile(r'(?P<id>[A-Za-z_]\w*)(?P<open>\(\[|\[)"(?P<label>[^"]*)"(?P<close>\]\)|\])')
MERMAID_EDGE = re.compile(r'(?P<src>[A-Za-z_]\w*) -->\|"(?P<label>[^"]*)"\| (?P<dst>[A-Za-z_]\w*)')
MERMAID_SUBGRAPH = re.compile(r'subgraph (?P<id>[A-Za-z_]\w*)\["(?P<label>[^"]*)"\]')
MERMAID_KEYWORDS = {"end", "graph", "flowchart", "subgraph", "style", "class", "classDef", "click", "default",
                    "linkStyle", "direction", "call", "href", "interpolate"}


def mermaid_unescape(text: str) -> str:
    text = text.replace("<br/>", "\n")
    return re.sub(r"#(\w+);", lambda m: chr(int(m[1])) if m[1].isdigit() else html.unescape(f"&{m[1]};"), text)


def parse_mermaid(text: str) -> dict[str, Any]:
    """Nodes (Mermaid id -> label lines, subgraph), edges and subgraphs; every line must be one of the forms."""
    lines = text.splitlines()
    comments = [line for line in lines if line.startswith("%%")]
    body = [line for line in lines if not line.startswith("%%")]
    assert all(not c.startswith("%%{") for c in comments), "a %%{ line would be a directive"
    assert body[0] in ("flowchart LR", "flowchart TB")
    nodes: dict[str, tuple[list[str], str | None, str]] = {}
    edges: list[tuple[str, str, str]] = []
    subgraphs: dict[str, str] = {}
    current: str | None = None
    for line in body[1:]:
        stripped = line.strip()
        if m := MERMAID_SUBGRAPH.fullmatch(stripped):
            assert current is None, "subgraphs are not nested"
            current = m["id"]
            subgraphs[current] = mermaid_unescape(m["label"])
        elif stripped == "end":
            assert current is not None
            current = None
        elif m := MERMAID_NODE.fullmatch(stripped):
            assert (m["open"], m["close"]) in (("[", "]"), ("([", "])"))
            assert m["id"] not in nodes, f"{m['id']} defined twice"
            nodes[m["id"]] = (mermaid_unescape(m["label"]).split("\n"), current, m["open"])
        elif m := MERMAID_EDGE.fullmatch(stripped):
            edges.append((m["src"], m["dst"], mermaid_unescape(m["label"])))
        else:
            raise AssertionError(f"not a Mermaid line this test knows: {line!r}")
    assert current is None, "every subgraph ends"
    return {"direction": body[0].split()[1], "nodes": nodes, "edges": edges, "subgraphs": subgraphs}


@pytest.mark.parametrize("name", REPORTS)
def test_mermaid_has_every_node_once_and_one_edge_per_input_labelled_with_the_source_shape(name: str) -> None:
    report = REPORTS[name]
    parsed = parse_mermaid(render(report, "mermaid"))
    shapes = shape_of(report)
    by_label = {lines[0]: mid for mid, (lines, _, _) in parsed["nodes"].items()}
    assert sorted(by_label) == sorted(shapes), "each node id shows once, as the first line of its label"
    assert len(by_label) == len(parsed["nodes"])
    for node_id, mid in by_label.items():
        lines, _, opening = parsed["nodes"][mid]
        assert lines == [node_id, shapes[node_id]]
        assert mid not in MERMAID_KEYWORDS and mid not in parsed["subgraphs"]
        assert opening == ("([" if not report.node(node_id).inputs else "[")
    back = {mid: node_id for node_id, mid in by_label.items()}
    got = Counter((back[src], back[dst]) for src, dst, _ in parsed["edges"])
    assert got == expected_edges(report)
    for src, _, label in parsed["edges"]:
        assert label == shapes[back[src]]


@pytest.mark.parametrize("name", REPORTS)
def test_mermaid_groups_each_layer_and_runs_top_to_bottom_for_a_stack(name: str) -> None:
    report = REPORTS[name]
    parsed = parse_mermaid(render(report, "mermaid"))
    layers = report.config.layers if name != "nasty" else 1
    assert parsed["direction"] == ("TB" if layers > 1 else "LR")
    if layers == 1:
        assert parsed["subgraphs"] == {}
        return
    assert sorted(parsed["subgraphs"].values()) == sorted(f"layer {k}" for k in range(layers))
    for lines, subgraph, _ in parsed["nodes"].values():
        layer = re.match(r"l(\d+)\.", lines[0])
        assert (parsed["subgraphs"][subgraph] if subgraph else None) == (f"layer {layer[1]}" if layer else None)


@pytest.mark.parametrize("name", REPORTS)
def test_mermaid_lines_cannot_break_the_syntax(name: str) -> None:
    """Outside the quoted strings only ids, arrows and balanced brackets; inside, nothing Mermaid reads."""
    for line in render(REPORTS[name], "mermaid").splitlines():
        if line.startswith("%%"):
            assert "\n" not in line
            continue
        assert line.count('"') % 2 == 0, line
        quoted = re.findall(r'"([^"]*)"', line)
        outside = re.sub(r'"[^"]*"', '""', line)
        for opening, closing in ("[]", "()", "{}"):
            assert outside.count(opening) == outside.count(closing), line
        assert re.fullmatch(r'[\w\s\[\]()"|>-]*', outside), f"only ids, brackets and arrows outside quotes: {line!r}"
        for text in quoted:
            bare = re.sub(r"#\w+;", "", text.replace("<br/>", ""))
            assert not set(bare) & set('"#&<>'), f"raw {set(bare) & set(chr(34) + '#&<>')} in {text!r}"
            assert not re.search(r"[\x00-\x1f]", text)


def test_mermaid_escapes_the_nasty_labels_back_to_what_they_were() -> None:
    out = render(REPORTS["nasty"], "mermaid")
    assert '#quot;' in out and "#35;" in out and "#amp;" in out and "#lt;" in out
    labels = [lines[0] for lines, _, _ in parse_mermaid(out)["nodes"].values()]
    assert 'my "node"' in labels and "back\\slash" in labels and "end" in labels and "<b>&amp;#35;|;</b>" in labels


# DOT ---------------------------------------------------------------------------------------------

DOT_STRING = r'"(?:[^"\\]|\\.)*"'
DOT_NODE = re.compile(rf"(?P<id>{DOT_STRING}) \[(?P<attrs>.*)\];")
DOT_EDGE = re.compile(rf"(?P<src>{DOT_STRING}) -> (?P<dst>{DOT_STRING}) \[(?P<attrs>.*)\];")
DOT_ATTR = re.compile(rf"(\w+)=({DOT_STRING}|[\w.]+)")
DOT_CLUSTER = re.compile(rf"subgraph (?P<id>{DOT_STRING}) \{{")


def dot_unescape(text: str) -> str:
    if text.startswith('"'):
        text = text[1:-1]
    text = re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], text)
    return html.unescape(text)


def dot_attrs(text: str) -> dict[str, str]:
    attrs = {key: dot_unescape(value) for key, value in DOT_ATTR.findall(text)}
    assert ", ".join(f"{k}={v}" for k, v in DOT_ATTR.findall(text)) == text, f"attributes only: {text!r}"
    return attrs


def parse_dot(text: str) -> dict[str, Any]:
    lines = text.splitlines()
    assert lines[0] == "digraph lstm_shapes {" and lines[-1] == "}"
    nodes: dict[str, tuple[dict[str, str], str | None]] = {}
    edges: list[tuple[str, str, dict[str, str]]] = []
    graph: dict[str, str] = {}
    current: str | None = None
    cluster_labels: dict[str, str] = {}
    for line in lines[1:-1]:
        stripped = line.strip()
        if stripped.startswith(("graph [", "node [", "edge [")):
            kind, attrs = stripped[:-2].split(" [", 1)
            if kind == "graph":
                graph = dot_attrs(attrs)
        elif m := DOT_CLUSTER.fullmatch(stripped):
            assert current is None
            current = dot_unescape(m["id"])
        elif current is not None and stripped.startswith("label="):
            cluster_labels[current] = dot_unescape(stripped[len("label="):-1])
        elif stripped == "}":
            assert current is not None
            current = None
        elif m := DOT_EDGE.fullmatch(stripped):
            edges.append((dot_unescape(m["src"]), dot_unescape(m["dst"]), dot_attrs(m["attrs"])))
        elif m := DOT_NODE.fullmatch(stripped):
            node_id = dot_unescape(m["id"])
            assert node_id not in nodes, f"{node_id} defined twice"
            nodes[node_id] = (dot_attrs(m["attrs"]), current)
        else:
            raise AssertionError(f"not a DOT line this test knows: {line!r}")
    return {"graph": graph, "nodes": nodes, "edges": edges, "clusters": cluster_labels}


@pytest.mark.parametrize("name", REPORTS)
def test_dot_has_every_node_once_and_one_edge_per_input_labelled_with_the_source_shape(name: str) -> None:
    report = REPORTS[name]
    parsed = parse_dot(render(report, "dot"))
    shapes = shape_of(report)
    assert parsed["graph"]["rankdir"] == "LR" and parsed["graph"]["charset"] == "UTF-8"
    assert sorted(parsed["nodes"]) == sorted(shapes)
    for node_id, (attrs, _) in parsed["nodes"].items():
        assert attrs["label"].split("\n")[:2] == [node_id, shapes[node_id]]
        assert attrs["tooltip"] == report.node(node_id).meaning
    assert Counter((src, dst) for src, dst, _ in parsed["edges"]) == expected_edges(report)
    for src, _, attrs in parsed["edges"]:
        assert attrs == {"label": shapes[src]}


@pytest.mark.parametrize("name", REPORTS)
def test_dot_has_a_cluster_per_layer_when_there_are_several(name: str) -> None:
    report = REPORTS[name]
    parsed = parse_dot(render(report, "dot"))
    layers = report.config.layers if name != "nasty" else 1
    if layers == 1:
        assert parsed["clusters"] == {}
        return
    assert parsed["clusters"] == {f"cluster_l{k}": f"layer {k}" for k in range(layers)}
    for node_id, (_, cluster) in parsed["nodes"].items():
        layer = re.match(r"l(\d+)\.", node_id)
        assert cluster == (f"cluster_l{layer[1]}" if layer else None)


def test_dot_escapes_quotes_backslashes_and_entities() -> None:
    out = render(REPORTS["nasty"], "dot")
    assert r'"my \"node\""' in out and r'"back\\slash"' in out and "&amp;amp;" in out
    assert parse_dot(out)["nodes"]["a_b"][0]["label"].split("\n")[2] == REPORTS["nasty"].node("a_b").op


DOT = shutil.which("dot")
needs_dot = pytest.mark.skipif(DOT is None, reason="Graphviz's `dot` is not on PATH (apt-get install graphviz)")


@needs_dot
@pytest.mark.parametrize("name", REPORTS)
def test_graphviz_draws_the_dot_without_a_warning(name: str) -> None:
    """`dot -Tsvg` exits 0 with nothing on stderr, and its SVG has every node, edge and edge label."""
    report = REPORTS[name]
    assert DOT is not None
    dot = render(report, "dot").encode("utf-8")
    run = subprocess.run([DOT, "-Tsvg"], input=dot, capture_output=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr.decode()
    assert run.stderr.decode() == ""
    svg = ET.fromstring(run.stdout)
    ns = {"svg": "http://www.w3.org/2000/svg"}

    def texts(group: ET.Element) -> list[str]:
        return [t.text or "" for t in group.findall(".//svg:text", ns)]

    groups = svg.findall(".//svg:g", ns)
    drawn_nodes = {
        g.findtext("svg:title", default="", namespaces=ns): texts(g) for g in groups if g.get("class") == "node"
    }
    shapes = shape_of(report)
    # DOT keeps a doubled backslash in a node's name (only labels unescape it); no real id has one.
    drawn_nodes = {title.replace("\\\\", "\\"): lines for title, lines in drawn_nodes.items()}
    assert sorted(drawn_nodes) == sorted(shapes)
    for node_id, lines in drawn_nodes.items():
        # Graphviz draws the label's lines as they were written: id, shape, formula.
        assert lines[:2] == [node_id, shapes[node_id]], lines
    drawn_edges = [g for g in groups if g.get("class") == "edge"]
    assert len(drawn_edges) == sum(expected_edges(report).values())
    for g in drawn_edges:
        title = (g.findtext("svg:title", namespaces=ns) or "").replace("\\\\", "\\")
        sources = [s for s in shapes if title.startswith(s + "->")]
        assert len(sources) == 1, title
        assert texts(g) == [shapes[sources[0]]], title


# The plain-text graph ---------------------------------------------------------------------------

SHAPE = r"\([^()]*\)"
GRAPH_SOURCE = re.compile(rf"  (?P<id>\S+) +(?P<shape>{SHAPE}) +─(?P<joint>[┐┤])")
GRAPH_TARGET = re.compile(
    rf" *(?:(?P<id>\S+) +(?P<shape>{SHAPE})|(?P<given>input|state)) +(?P<arrow>─┴─►|───►) "
    rf"(?P<target>\S+) +(?P<tshape>{SHAPE})(?: +(?P<explain>.+))?"
)


def parse_graph(text: str) -> list[dict[str, Any]]:
    """One entry per target: its id, shape, where it comes from and the text after it."""
    entries: list[dict[str, Any]] = []
    pending: list[tuple[str, str]] = []
    lines = text.splitlines()
    for k, line in enumerate(lines):
        if m := GRAPH_SOURCE.fullmatch(line):
            assert (m["joint"] == "┐") == (not pending), line
            pending.append((m["id"], m["shape"]))
        elif m := GRAPH_TARGET.fullmatch(line):
            if m["arrow"] == "─┴─►":
                assert pending and m["id"], line
                sources = [*pending, (m["id"], m["shape"])]
            else:
                assert not pending, line
                sources = [] if m["given"] else [(m["id"], m["shape"])]
            explain = m["explain"]
            if explain is None:  # wrapped onto the next line, under the target
                explain = lines[k + 1].strip()
            arrow_column = width(line[: line.index("►")])
            entries.append({"id": m["target"], "shape": m["tshape"], "given": m["given"], "sources": sources,
                            "explain": explain, "arrow": arrow_column})
            pending = []
        else:
            assert not pending, f"a source row without its target: {line!r}"
    return entries


@pytest.mark.parametrize("name", [n for n in REPORTS if n != "nasty"])
def test_graph_view_shows_every_node_once_with_its_shape_and_its_inputs(name: str) -> None:
    report = REPORTS[name]
    out = render(report, "graph")
    entries = parse_graph(out)
    shapes = shape_of(report)
    assert [e["id"] for e in entries] == [n.id for n in report.nodes], "every node once, in data-flow order"
    for entry in entries:
        node = report.node(entry["id"])
        assert entry["shape"] == shapes[node.id]
        assert entry["sources"] == [(s, shapes[s]) for s in node.inputs]
        assert entry["given"] == (node.op if not node.inputs else None)
        assert entry["explain"] in (node.op, node.meaning)
    assert len({e["arrow"] for e in entries}) == 1, "every arrow head in one column"


@pytest.mark.parametrize("name", REPORTS)
def test_graph_view_fits_in_a_hundred_columns(name: str) -> None:
    out = render(REPORTS[name], "graph")
    assert max(width(line) for line in out.splitlines()) <= 100


def test_graph_view_sample() -> None:
    out = render(trace(4, 2, 1), "graph")
    assert "  h_prev (B, 2) ─┐\n  x_t    (B, 4) ─┴─► hx_t   (B, 6)  concat(h_prev, x_t)\n" in out
    assert "          input ───► x_t    (B, 4)  input at step t\n" in out


def test_graph_view_names_each_layer_of_a_stack() -> None:
    out = render(REPORTS["pytorch-lstm-proj-l2-bi"], "graph")
    assert [line for line in out.splitlines() if line and not line.startswith(" ")][-3:] == [
        "Layer 0", "Layer 1", "Dense head"
    ]


# Mermaid's own parser, in Node ------------------------------------------------------------------

MERMAID_VERSION = os.environ.get("LSTM_SHAPES_MERMAID_VERSION", "11")
MERMAID_CHECK = r"""
import { JSDOM } from 'jsdom';
import { readFileSync } from 'node:fs';
const dom = new JSDOM('');
globalThis.window = dom.window;  // DOMPurify, which Mermaid runs on every label, needs a window
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
const results = {};
for (const [name, text] of Object.entries(JSON.parse(readFileSync(0, 'utf8')))) {
  try {
    await mermaid.parse(text);
    const { db } = await mermaid.mermaidAPI.getDiagramFromText(text);
    results[name] = {
      version: mermaid.version ?? null,
      vertices: [...db.getVertices().values()].map((v) => [v.id, v.text]),
      edges: db.getEdges().map((e) => [e.start, e.end, e.text]),
      subgraphs: db.getSubGraphs().map((s) => [s.id, s.title, s.nodes]),
    };
  } catch (error) {
    results[name] = { error: String(error?.message ?? error) };
  }
}
process.stdout.write(JSON.stringify(results));
"""


@pytest.fixture(scope="module")
def mermaid_parsed() -> dict[str, Any]:
    """What Mermaid's parser makes of every report's diagram."""
    return run_mermaid({name: render(report, "mermaid") for name, report in REPORTS.items()})


def run_mermaid(texts: dict[str, str]) -> dict[str, Any]:
    """What Mermaid's parser makes of each diagram: its vertices, edges and subgraphs, or its error.

    Opt-in, because it downloads: with LSTM_SHAPES_MERMAID=1 (as .ci/run sets it), node and npm, the first
    run installs mermaid@11 and jsdom (about 170 MB, 15 s; no browser) into $LSTM_SHAPES_MERMAID_DIR or
    ~/.cache/lstm-shapes/mermaid-11.
    """
    if not os.environ.get("LSTM_SHAPES_MERMAID"):
        pytest.skip("Mermaid's own parser runs only with LSTM_SHAPES_MERMAID=1 (it installs mermaid from npm)")
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run Mermaid's parser")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    where = Path(os.environ.get("LSTM_SHAPES_MERMAID_DIR") or cache / "lstm-shapes" / f"mermaid-{MERMAID_VERSION}")
    if not (where / "node_modules" / "mermaid" / "package.json").exists() or not (
        where / "node_modules" / "jsdom" / "package.json"
    ).exists():
        where.mkdir(parents=True, exist_ok=True)
        try:
            install = subprocess.run(
                [npm, "install", "--prefix", str(where), "--no-save", "--no-audit", "--no-fund", "--loglevel=error",
                 "--fetch-retries=1", f"mermaid@{MERMAID_VERSION}", "jsdom@26"],
                capture_output=True, text=True, timeout=600, check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.skip("npm install mermaid jsdom took over 10 minutes")
        if install.returncode != 0:
            pytest.skip(f"could not npm install mermaid and jsdom: {install.stderr.strip()[-300:]}")
    script = where / "check_flowcharts.mjs"
    script.write_text(MERMAID_CHECK, encoding="utf-8")
    run = subprocess.run([node, str(script)], input=json.dumps(texts), capture_output=True, text=True,
                         timeout=300, cwd=where, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    results: dict[str, Any] = json.loads(run.stdout)
    return results


def mermaid_db_text(text: str) -> str:
    """Mermaid keeps `#name;` as placeholders until it draws; undo them and its <br>."""
    text = re.sub(r"ﬂ°°(\d+)¶ß", lambda m: chr(int(m[1])), text)
    text = re.sub(r"ﬂ°(\w+)¶ß", lambda m: html.unescape(f"&{m[1]};"), text)
    return re.sub(r"<br\s*/?>", "\n", text)


@pytest.mark.parametrize("name", REPORTS)
def test_mermaid_parses_the_flowchart_as_drawn(name: str, mermaid_parsed: dict[str, Any]) -> None:
    report = REPORTS[name]
    result = mermaid_parsed[name]
    assert "error" not in result, result.get("error")
    shapes = shape_of(report)
    labels = {vid: mermaid_db_text(text).split("\n") for vid, text in result["vertices"]}
    assert sorted(lines[0] for lines in labels.values()) == sorted(shapes)
    assert all(lines == [lines[0], shapes[lines[0]]] for lines in labels.values())
    back = {vid: lines[0] for vid, lines in labels.items()}
    assert Counter((back[s], back[d]) for s, d, _ in result["edges"]) == expected_edges(report)
    assert all(mermaid_db_text(text) == shapes[back[s]] for s, _, text in result["edges"])
    layers = report.config.layers if name != "nasty" else 1
    assert sorted(title for _, title, _ in result["subgraphs"]) == sorted(
        f"layer {k}" for k in range(layers) if layers > 1
    )
    for _, title, members in result["subgraphs"]:
        assert {back[m] for m in members} == {n.id for n in report.nodes if n.id.startswith(f"l{title.split()[1]}.")}


@pytest.mark.parametrize("fmt", PICTURES)
def test_layers_are_grouped_by_the_nodes_layer_not_by_their_ids(fmt: str) -> None:
    # Ids without a "l0." prefix: the groups must still follow each node's own layer.
    report = trace(4, 2, 1, layers=2)
    renamed = tuple(n._replace(id=n.id.replace(".", "_"), op=n.op.replace(".", "_"),
                               inputs=tuple(i.replace(".", "_") for i in n.inputs)) for n in report.nodes)
    out = render(dataclasses.replace(report, nodes=renamed), fmt)
    expected = render(report, fmt)
    for node in report.nodes:
        expected = expected.replace(node.id, node.id.replace(".", "_"))
    assert out == expected
    assert "layer 1" in out.lower()
