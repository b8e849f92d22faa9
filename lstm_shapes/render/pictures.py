"""The node graph as a picture: Mermaid and Graphviz DOT source, and a plain-text view for the shell.

Every picture shows each node once with its shape, and one edge per input of a node, labelled with
the shape of the tensor that flows along it (the source node's shape). Several layers are grouped
per layer; the dense head, which reads the last layer, stays outside the groups.
"""

from __future__ import annotations

import re
from itertools import groupby
from typing import TYPE_CHECKING

from ..graph import Node, format_shape
from .tables import heading, width

if TYPE_CHECKING:
    from ..report import Report

# The plain-text view wraps a node's formula onto its own line past this many columns.
GRAPH_COLUMNS = 100


def _groups(report: Report) -> list[tuple[int | None, list[Node]]]:
    """Runs of nodes of one layer of a stack, in data-flow order; None for a single layer's nodes and the head."""
    stacked = report.config.layers > 1
    return [(layer, list(members))
            for layer, members in groupby(report.nodes, key=lambda node: node.layer if stacked else None)]


def _group_title(layer: int | None) -> str:
    """"layer 0" for the first layer of a stack; the dense head is the group without a layer."""
    return "dense head" if layer is None else f"layer {layer}"


def _shapes(report: Report) -> dict[str, str]:
    return {node.id: format_shape(node.shape) for node in report.nodes}


def _is_leaf(node: Node) -> bool:
    """An input of the step (x_t, a state from step t-1): nothing in the graph computes it."""
    return not node.inputs


# Mermaid ---------------------------------------------------------------------------------------

# Characters that mean something inside a quoted Mermaid label. Mermaid turns `#name;` into the HTML
# entity `&name;`, so a raw '#' could start one; '"' ends the label; '<', '>' and '&' would be HTML.
_MERMAID_ENTITIES = {'"': "#quot;", "#": "#35;", "&": "#amp;", "<": "#lt;", ">": "#gt;"}


def mermaid_text(text: str) -> str:
    """`text` safe inside a double-quoted Mermaid label; line breaks become <br/>."""
    escaped = "".join(_MERMAID_ENTITIES.get(char, char) for char in text)
    return "<br/>".join(escaped.splitlines())


def _mermaid_ids(nodes: tuple[Node, ...], prefix: str = "n_") -> dict[str, str]:
    """Node id -> a Mermaid id: ASCII letters, digits and '_', prefixed so that no id is a keyword
    (`end`, `graph`, ...) or starts with the 'o'/'x' that Mermaid reads as an arrow head."""
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for node in nodes:
        base = prefix + re.sub(r"[^A-Za-z0-9_]", "_", node.id)
        candidate, k = base, 2
        while candidate in taken:  # "l0.h_t" and "l0_h_t" would otherwise collide
            candidate, k = f"{base}_{k}", k + 1
        ids[node.id] = candidate
        taken.add(candidate)
    return ids


def render_mermaid(report: Report) -> str:
    """A Mermaid flowchart: left to right for one layer, top to bottom for a stack of layers."""
    title, line = heading(report)
    # Comments, not a front-matter title: every Mermaid version (and GitHub's) skips them.
    lines = [f"%% {title}", f"%% {line}", mermaid_direction(report, "flowchart")]
    nodes, edges = mermaid_parts(report, _mermaid_ids(report.nodes), "    ")
    return "\n".join(lines + nodes + edges) + "\n"


def mermaid_direction(report: Report, keyword: str) -> str:
    """`flowchart LR` (or a subgraph's `direction LR`) for one layer; top to bottom for a stack."""
    return f"{keyword} TB" if report.config.layers > 1 else f"{keyword} LR"


def mermaid_parts(report: Report, ids: dict[str, str], indent: str, group: str = "s_") -> tuple[list[str], list[str]]:
    """The node definitions (a subgraph per layer of a stack, ids `group`l0, ...) and the edges, apart."""
    shapes = _shapes(report)

    def define(node: Node, indent: str) -> str:
        label = mermaid_text(f"{node.id}\n{shapes[node.id]}")
        # A stadium for what the step is given, a box for what it computes.
        return f'{indent}{ids[node.id]}(["{label}"])' if _is_leaf(node) else f'{indent}{ids[node.id]}["{label}"]'

    lines = []
    for layer, members in _groups(report):
        if layer is not None:
            lines.append(f'{indent}subgraph {group}l{layer}["{mermaid_text(_group_title(layer))}"]')
            lines += [define(node, indent + "    ") for node in members]
            lines.append(f"{indent}end")
        else:
            lines += [define(node, indent) for node in members]
    edges = [f'{indent}{ids[source]} -->|"{mermaid_text(shapes[source])}"| {ids[node.id]}'
             for node in report.nodes for source in node.inputs]
    return lines, edges


# Graphviz DOT ----------------------------------------------------------------------------------


def dot_string(text: str) -> str:
    """`text` as a double-quoted DOT string that Graphviz shows verbatim; line breaks stay breaks."""
    escaped = text.replace("&", "&amp;")  # Graphviz decodes HTML entities such as &amp; in labels
    escaped = escaped.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "\\n".join(escaped.splitlines())
    return f'"{escaped}"'


def _dot_node(node: Node, shapes: dict[str, str], indent: str, key: str = "") -> str:
    lines = [node.id, shapes[node.id]]
    if node.inputs and node.op != node.inputs[0]:  # a layer's x_t is just the layer below's output
        lines.append(node.op)
    attrs = [f"label={dot_string(chr(10).join(lines))}", f"tooltip={dot_string(node.meaning)}"]
    if _is_leaf(node):
        attrs.append("shape=ellipse")
    return f"{indent}{dot_string(key + node.id)} [{', '.join(attrs)}];"


def render_dot(report: Report) -> str:
    """A Graphviz digraph, left to right, one cluster per layer when there are several."""
    title, line = heading(report)
    lines = [
        "digraph lstm_shapes {",
        f"    graph [rankdir=LR, charset=\"UTF-8\", labelloc=t, label={dot_string(title + chr(10) + line)}];",
        *DOT_STYLE,
        *dot_parts(report, "    "),
        "}",
    ]
    return "\n".join(lines) + "\n"


DOT_STYLE = ('    node [shape=box, style=rounded, fontsize=11];', "    edge [fontsize=9];")


def dot_parts(report: Report, indent: str, key: str = "") -> list[str]:
    """The nodes (a cluster per layer of a stack) and the edges; node ids and cluster names start with `key`."""
    shapes = _shapes(report)
    lines = []
    for group, members in _groups(report):
        if group is not None:
            lines.append(f"{indent}subgraph {dot_string(f'cluster_{key}l{group}')} {{")
            lines.append(f"{indent}    label={dot_string(_group_title(group))};")
            lines += [_dot_node(node, shapes, indent + "    ", key) for node in members]
            lines.append(f"{indent}}}")
        else:
            lines += [_dot_node(node, shapes, indent, key) for node in members]
    for node in report.nodes:
        for source in node.inputs:
            lines.append(f"{indent}{dot_string(key + source)} -> {dot_string(key + node.id)} "
                         f"[label={dot_string(shapes[source])}];")
    return lines


# Plain text ------------------------------------------------------------------------------------


def _pad(text: str, size: int) -> str:
    return text + " " * (size - width(text))


def _wrap(text: str) -> list[str]:
    """A heading line in lines of at most GRAPH_COLUMNS, broken after "; " and then after ", "."""
    if width(text) <= GRAPH_COLUMNS:
        return [text]
    lines: list[str] = []
    for clause in text.split("; "):
        line = ""
        for word in clause.split(", "):
            joined = f"{line}, {word}" if line else word
            if line and width(joined) > GRAPH_COLUMNS:
                lines.append(line + ",")
                joined = word
            line = joined
        lines.append(line)
    return lines


def _explain(node: Node) -> str:
    """The formula of a computed node; what a given node (or a mere hand-over) means."""
    if not node.inputs or (len(node.inputs) == 1 and node.op == node.inputs[0]):
        return node.meaning
    return node.op


def render_graph(report: Report) -> str:
    """Every node once, in data-flow order, with the inputs that flow into it and their shapes:

        h_prev (B, 2) ─┐
        x_t    (B, 4) ─┴─► hx_t (B, 6)  concat(h_prev, x_t)

    Inputs of the step come in from `input` or `state`. Arrows, names and shapes line up down the
    whole page; a formula that would pass GRAPH_COLUMNS goes on a line of its own.
    """
    shapes = _shapes(report)
    layered = report.config.layers > 1
    sources = [source for node in report.nodes for source in node.inputs]
    # Column widths over the whole graph, so that every arrow sits in the same column.
    source_id = max([width(s) for s in sources] + [width(n.op) for n in report.nodes if _is_leaf(n)], default=0)
    source_shape = max((width(shapes[s]) for s in sources), default=0)
    left = source_id + 1 + source_shape
    target_id = max(width(n.id) for n in report.nodes)
    target_shape = max(width(s) for s in shapes.values())
    target_column = 2 + left + 6  # where the target's name starts, after " ─┴─► "

    lines = [wrapped for text in heading(report) for wrapped in _wrap(text)]
    for group, members in _groups(report):
        lines.append("")
        if layered:
            lines.append(_group_title(group).capitalize())
        previous_rows = 0
        for node in members:
            target = f"{_pad(node.id, target_id)} {_pad(shapes[node.id], target_shape)}"
            if _is_leaf(node):
                rows = [" " * (left - width(node.op)) + node.op + " ───► "]
            else:
                rows = []
                last = len(node.inputs) - 1
                for k, source in enumerate(node.inputs):
                    cell = f"{_pad(source, source_id)} {_pad(shapes[source], source_shape)}"
                    if last == 0:
                        rows.append(cell + " ───► ")
                    elif k < last:
                        rows.append(cell + (" ─┐" if k == 0 else " ─┤"))
                    else:
                        rows.append(cell + " ─┴─► ")
            explain = _explain(node)
            final = f"  {rows[-1]}{target}  {explain}"
            if width(final) > GRAPH_COLUMNS:
                final = f"  {rows[-1]}{target}".rstrip() + "\n" + " " * target_column + explain
            if previous_rows and (previous_rows > 1 or len(rows) > 1):
                lines.append("")  # a blank line around a node with several inputs
            lines += [f"  {row}".rstrip() for row in rows[:-1]]
            lines += [text.rstrip() for text in final.split("\n")]
            previous_rows = len(rows)
    return "\n".join(lines) + "\n"
