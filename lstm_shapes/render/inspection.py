"""What `lstm-shapes inspect` prints, in every format: each recurrent layer found, its constructors and trace, the rest.

Each file's Inspection becomes one Document first (a Section per layer, the other tensors as a table, the total);
each format then lays it out in its own idiom: text, Markdown and the graph view as headed text, CSV as one
table, JSON as one object, LaTeX and Org with a section per layer, Mermaid and DOT as one diagram with a
subgraph per layer. LAYOUTS has an entry for every format in render.TABLE; a test checks it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import ConfigError
from ..frameworks import REGISTRY
from ..report import CELL_NAMES
from .tables import Column, Table, count, heading, tables

if TYPE_CHECKING:
    from ..config import Config
    from ..inspection import Inspection, Layer
    from ..report import Report

# Each layer's differences from what the user said, by (file, prefix); None when nothing was said.
Differences = dict[tuple[str, str], tuple[str, ...]]
OTHER_COLUMNS = (Column("prefix", breaks="name"), Column("tensors", "right"), Column("params", "right"))
CONSTRUCTOR_COLUMNS = (Column("framework", breaks="name"), Column("code", code=True, breaks="terms"))


def constructors(config: Config) -> dict[str, tuple[str, ...]]:
    """The code that builds the same layer in each framework that has it (the layout left to each one's default)."""
    lines = {}
    for name, fw in REGISTRY.items():
        try:
            there = replace(config, framework=name, batch_first=None, head_reads=None, head_activation=None)
        except ConfigError:
            continue
        code = fw.constructor(there)
        if code:
            lines[fw.title] = code
    return lines


def summary(layer: Layer) -> str:
    """`PyTorch LSTM: x = 40, h = 256, 2 layers, bidirectional, 2,187,264 parameters`."""
    cfg = layer.config
    parts = [f"x = {cfg.input}", f"h = {cfg.hidden_text}"]
    if cfg.proj is not None:
        parts.append(f"p = {cfg.proj}")
    if cfg.out is not None:
        parts.append(f"o = {cfg.out}")
    if cfg.layers > 1:
        parts.append(f"{cfg.layers} layers")
    if cfg.bidirectional:
        parts.append("bidirectional")
    if not cfg.bias:
        parts.append("no bias")
    if cfg.peepholes:
        parts.append("peepholes")
    if cfg.cell == "gru":
        parts.append("reset after" if cfg.reset_after else "reset before")
    return f"{REGISTRY[layer.framework].title} {CELL_NAMES[cfg.cell]}: {', '.join(parts)}; {layer.params:,} parameters"


def _alternatives(layer: Layer) -> list[str]:
    def reset(c: Config) -> str:
        return "" if c.cell != "gru" else ", reset after" if c.reset_after else ", reset before"

    return [f"{REGISTRY[fw].title} {CELL_NAMES[c.cell]} x = {c.input}, h = {c.hidden_text}{reset(c)}" for fw, c in layer.alternatives]


class Section(NamedTuple):
    """One recurrent layer: where it is, what it is, what was said of it, how to build it, and its trace."""

    index: int
    of: int
    prefix: str
    summary: str
    by_shapes: bool
    differences: tuple[str, ...] | None  # None: the user said nothing to check it against
    alternatives: str  # "" when no other convention or configuration stores the same tensors
    constructors: tuple[tuple[str, str], ...]  # (framework title, code line)
    report: Report

    def title(self, code: Callable[[str], str] = str) -> str:
        """`Recurrent layer 1 of 2, at encoder.rnn.`, the prefix formatted by `code`."""
        return f"Recurrent layer {self.index} of {self.of}, at {code(self.prefix) if self.prefix else 'the top level'}"

    def remarks(self, bullet: str = "- ") -> list[str]:
        """How it was recognised, how it differs from what the user said, what else fits: one line each."""
        lines = ["Recognised by its shapes alone: its names are the file's own."] if self.by_shapes else []
        if self.differences is not None:
            lines += [f"{bullet}differs: {line}" for line in self.differences] or \
                ["As you said: every option you gave matches."]
        if self.alternatives:
            lines.append(f"The same tensors also fit: {self.alternatives}.")
        return lines


class Document(NamedTuple):
    """One file's inspection, ready to lay out."""

    source: str
    head: str
    warnings: tuple[str, ...]
    sections: tuple[Section, ...]
    other: Table | None
    parts: tuple[int, ...]  # each layer's parameters, then each other prefix's
    total_params: int

    @property
    def total(self) -> str:
        return f"Total: {' + '.join(f'{p:,}' for p in self.parts) or '0'} = {self.total_params:,} parameters"


def document(result: Inspection, differences: Differences | None = None, explain: bool = False,
             show_cost: bool = False) -> Document:
    """The file's layers as Sections (traces with --explain and --cost as asked), the rest as a table."""
    sections = tuple(
        Section(index, len(result.layers), layer.prefix, summary(layer), layer.by_shapes,
                None if differences is None else differences.get((result.source, layer.prefix), ()),
                "; ".join(_alternatives(layer)),
                tuple((title, line) for title, lines in constructors(layer.config).items() for line in lines),
                layer.report(explain=explain, show_cost=show_cost))
        for index, layer in enumerate(result.layers, 1))
    rows = tuple((o.prefix, count(o.tensors), count(o.params)) for o in result.other)
    head = f"{result.source}: {result.format}, {result.tensors:,} tensors, {result.total_params:,} parameters"
    return Document(result.source, head, result.warnings, sections,
                    Table("Other tensors", OTHER_COLUMNS, rows) if rows else None,
                    tuple(layer.params for layer in result.layers) + tuple(o.params for o in result.other),
                    result.total_params)


def constructor_table(section: Section) -> Table:
    return Table("Constructors", CONSTRUCTOR_COLUMNS, section.constructors)


# Text, Markdown and the graph view ----------------------------------------------------------------


def _headed_text(doc: Document, fmt: str) -> str:
    """Text or Markdown (or the graph view): a heading per layer, its constructors, its trace in `fmt`, the rest."""
    from . import render
    from .markdown import markdown_table
    from .text import text_table

    md = fmt == "markdown"
    code = (lambda s: f"`{s}`") if md else (lambda s: s)
    out = [doc.head, ""]
    out += [f"{'- ' if md else ''}warning: {warning}" for warning in doc.warnings]
    if doc.warnings:
        out.append("")
    if not doc.sections:
        out += ["No recurrent layer found.", ""]
    for section in doc.sections:
        title = section.title(code)
        out += [f"## {title}" if md else title, "", section.summary, *section.remarks(), ""]
        out += [f"{'- ' if md else '  '}{title_}: {code(line)}" for title_, line in section.constructors]
        out += ["", render(section.report, fmt).rstrip("\n"), ""]
    if doc.other is not None:
        out += ["## Other tensors" if md else "Other tensors", ""]
        out += markdown_table(doc.other) if md else text_table(doc.other)[1:]
        out.append("")
    out.append(doc.total)
    return "\n".join(out) + "\n"


def inspection_text(docs: Sequence[Document]) -> str:
    return "\n".join(_headed_text(doc, "text") for doc in docs)


def inspection_markdown(docs: Sequence[Document]) -> str:
    return "\n".join(_headed_text(doc, "markdown") for doc in docs)


def inspection_graph(docs: Sequence[Document]) -> str:
    """The text layout with each layer's trace drawn as the plain-text graph."""
    return "\n".join(_headed_text(doc, "graph") for doc in docs)


# CSV and JSON ---------------------------------------------------------------------------------------

CSV_HEADER = ("file", "layer", "prefix", "section", "name", "shape", "params", "formula", "detail")


def inspection_csv(docs: Sequence[Document]) -> str:
    """One table: a row per layer, constructor, remark and trace row (its layer and prefix in front), other prefix
    and file; raw integers; each file's `file` row has the total that its `recurrent` and `other` rows add up to."""
    from .csvout import csv_rows

    rows: list[tuple[object, ...]] = [CSV_HEADER]
    for doc in docs:
        src = doc.source
        rows += [(src, "", "", "warning", "", "", "", "", warning) for warning in doc.warnings]
        for s in doc.sections:
            cfg = s.report.config
            rows.append((src, s.index, s.prefix, "recurrent", f"{cfg.framework} {cfg.cell}", "", s.report.total_params,
                         "", s.summary))
            rows += [(src, s.index, s.prefix, "remark", "", "", "", "", line) for line in s.remarks(bullet="")]
            rows += [(src, s.index, s.prefix, "constructor", title, "", "", "", line) for title, line in s.constructors]
            rows += [(src, s.index, s.prefix, *row) for row in csv_rows(s.report)]
        if doc.other is not None:
            rows += [(src, "", prefix, "other", prefix, "", int(params.replace(",", "")), "", f"{tensors} tensors")
                     for prefix, tensors, params in doc.other.rows]
        rows.append((src, "", "", "file", src, "", doc.total_params, " + ".join(map(str, doc.parts)), doc.head))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def inspection_dict(result: Inspection, differences: Differences | None = None, explain: bool = False,
                    show_cost: bool = False) -> dict[str, Any]:
    """One JSON-ready object: the totals, each recurrent layer with its configuration and trace, the rest."""
    layers = []
    for layer in result.layers:
        cfg = layer.config
        layers.append({
            "prefix": layer.prefix, "framework": layer.framework, "cell": cfg.cell, "input": cfg.input,
            "hidden": cfg.hidden, "layers": cfg.layers, "bidirectional": cfg.bidirectional, "proj": cfg.proj,
            "bias": cfg.bias, "out": cfg.out, "params": layer.params, "by_shapes": layer.by_shapes,
            "names": dict(layer.names),
            "alternatives": [{"framework": fw, "cell": c.cell, "input": c.input, "hidden": c.hidden,
                              "reset_after": c.reset_after} for fw, c in layer.alternatives],
            "constructors": {title: list(lines) for title, lines in constructors(cfg).items()},
            "trace": layer.report(explain=explain, show_cost=show_cost).to_dict(),
        })
        if differences is not None:
            layers[-1]["differences"] = list(differences.get((result.source, layer.prefix), ()))
    return {"source": result.source, "format": result.format, "tensors": result.tensors,
            "total_params": result.total_params, "recurrent": layers,
            "other": [{"prefix": o.prefix, "tensors": o.tensors, "params": o.params} for o in result.other],
            "warnings": list(result.warnings)}


def inspection_json(results: Sequence[Inspection], differences: Differences | None = None, explain: bool = False,
                    show_cost: bool = False) -> str:
    """One object for one file, a list of them for several."""
    from .jsonout import dumps

    data: Any = [inspection_dict(r, differences, explain, show_cost) for r in results]
    return dumps(data[0] if len(data) == 1 else data) + "\n"


# LaTeX and Org ---------------------------------------------------------------------------------------


def inspection_latex(docs: Sequence[Document]) -> str:
    """A fragment (booktabs) with a \\section* per layer: its summary, remarks, constructors and trace."""
    from .latex import PREAMBLE, item, latex, latex_body, latex_table

    def code(text: str) -> str:
        return f"\\texttt{{{latex(text)}}}"

    lines = list(PREAMBLE)
    for doc in docs:
        lines += ["", latex(doc.head) + "."]
        if doc.warnings:
            lines += ["\\begin{itemize}", *(item(f"warning: {w}") for w in doc.warnings), "\\end{itemize}"]
        if not doc.sections:
            lines += ["", "No recurrent layer found."]
        for s in doc.sections:
            title = f"Recurrent layer {s.index} of {s.of}, at " + (code(s.prefix) if s.prefix else "the top level")
            lines += ["", f"\\section*{{{title}}}", latex(s.summary)]
            remarks = s.remarks(bullet="")
            if remarks:
                lines += ["\\begin{itemize}", *(item(remark) for remark in remarks), "\\end{itemize}"]
            if s.constructors:
                lines += ["", "\\medskip", *latex_table(constructor_table(s))]
            lines += ["", *latex_body(list(heading(s.report)), tables(s.report), s.report.notes)]
        if doc.other is not None:
            lines += ["", "\\section*{Other tensors}", *latex_table(doc.other)]
        lines += ["", latex(doc.total) + "."]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _org_code(text: str) -> str:
    """Org's inline code, in the marker the text does not hold."""
    marker = next((m for m in "~=" if m not in text), "")
    return f"{marker}{text}{marker}"


def inspection_org(docs: Sequence[Document]) -> str:
    """An Org document with a headline per layer: its summary, remarks, constructors as a list, and its trace."""
    from .org import item, org_document, org_table, paragraph

    lines: list[str] = []
    for doc in docs:
        if lines:
            lines.append("")
        lines.append(paragraph(doc.head))
        if doc.warnings:
            lines += ["", *(item(f"warning: {w}") for w in doc.warnings)]
        if not doc.sections:
            lines += ["", "No recurrent layer found."]
        for s in doc.sections:
            lines += ["", f"* {s.title(_org_code)}", paragraph(s.summary)]
            lines += [item(remark) for remark in s.remarks(bullet="")]
            lines += ["", *(f"- {title}: {_org_code(line)}" for title, line in s.constructors)]
            lines += ["", org_document(list(heading(s.report)), tables(s.report), s.report.notes).rstrip("\n")]
        if doc.other is not None:
            lines += ["", "* Other tensors", *org_table(doc.other)]
        lines += ["", paragraph(doc.total)]
    return "\n".join(lines) + "\n"


# Mermaid and DOT: one diagram, a subgraph per layer -----------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _comments(doc: Document, lead: str) -> list[str]:
    """What the picture cannot show, as comment lines: the file, each layer's remarks and constructors, the total."""
    lines = [doc.head, *(f"warning: {w}" for w in doc.warnings)]
    for s in doc.sections:
        lines += [f"{s.title()}: {s.summary}", *s.remarks(), *(f"  {title}: {code}" for title, code in s.constructors)]
    if doc.other is not None:
        lines += [f"other tensors: {prefix} ({tensors} tensors, {params} parameters)" for prefix, tensors, params
                  in doc.other.rows]
    lines.append(doc.total)
    return [f"{lead} {_one_line(line)}".rstrip() for line in lines]


def inspection_mermaid(docs: Sequence[Document]) -> str:
    """One flowchart, top to bottom: a subgraph per layer (r1, r2, ...) holding its cell, as the main command draws it."""
    from .pictures import _mermaid_ids, mermaid_direction, mermaid_parts, mermaid_text

    lines = [line for doc in docs for line in _comments(doc, "%%")]
    lines.append("flowchart TB")
    edges: list[str] = []
    number = 0
    for doc in docs:
        for s in doc.sections:
            number += 1
            key = f"r{number}"
            label = mermaid_text(f"{doc.source if len(docs) > 1 else ''}{' ' if len(docs) > 1 else ''}"
                                 f"{s.title()}\n{s.summary}")
            nodes, links = mermaid_parts(s.report, _mermaid_ids(s.report.nodes, f"{key}_n_"), "        ", f"{key}_")
            lines += [f'    subgraph {key}["{label}"]', f"        {mermaid_direction(s.report, 'direction')}", *nodes,
                      "    end"]
            edges += ["    " + link.lstrip() for link in links]
    return "\n".join(lines + edges) + "\n"


def inspection_dot(docs: Sequence[Document]) -> str:
    """One Graphviz digraph: a cluster per layer (nodes `r1/...`), the file and its total in the graph's label."""
    from .pictures import DOT_STYLE, dot_parts, dot_string

    label = "\n".join(line for doc in docs for line in (doc.head, doc.total))
    lines = [*_comments_dot(docs), "digraph lstm_shapes {",
             f'    graph [rankdir=LR, charset="UTF-8", labelloc=t, label={dot_string(label)}];', *DOT_STYLE]
    number = 0
    for doc in docs:
        for s in doc.sections:
            number += 1
            key = f"r{number}/"
            title = f"{doc.source} {s.title()}" if len(docs) > 1 else s.title()
            lines += [f"    subgraph {dot_string(f'cluster_r{number}')} {{",
                      f"        label={dot_string(title + chr(10) + s.summary)};", *dot_parts(s.report, "        ", key),
                      "    }"]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _comments_dot(docs: Sequence[Document]) -> list[str]:
    return [line for doc in docs for line in _comments(doc, "//")]


LAYOUTS: dict[str, Callable[[Sequence[Document]], str]] = {
    "text": inspection_text, "markdown": inspection_markdown, "csv": inspection_csv, "latex": inspection_latex,
    "org": inspection_org, "mermaid": inspection_mermaid, "dot": inspection_dot, "graph": inspection_graph,
}


def render_inspections(results: Sequence[Inspection], fmt: str, differences: Differences | None = None,
                       explain: bool = False, show_cost: bool = False) -> str:
    """Every file's inspection in format `fmt` (any in render.TABLE), whole."""
    if fmt == "json":
        return inspection_json(results, differences, explain, show_cost)
    layout = LAYOUTS.get(fmt)
    if layout is None:
        raise ValueError(f"inspect has no layout for format {fmt!r}")
    return layout([document(result, differences, explain, show_cost) for result in results])
