"""Renderers: each turns a Report into a string, deterministically, with no terminal codes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..compare import Comparison
    from ..report import Report

# The plain formats; the rich terminal table lives at the edge, in lstm_shapes.terminal.
FORMATS = ("text", "markdown", "csv", "json", "latex", "org", "mermaid", "dot", "graph")
# Formats that draw the graph rather than tabulate the report.
PICTURES = ("mermaid", "dot", "graph")


def render(report: Report, fmt: str) -> str:
    """`report` in format `fmt`, ending with a newline."""
    # Import only the renderer asked for: start-up time matters for a one-shot CLI.
    if fmt == "text":
        from .text import render_text as fn
    elif fmt == "markdown":
        from .markdown import render_markdown as fn
    elif fmt == "csv":
        from .csvout import render_csv as fn
    elif fmt == "json":
        from .jsonout import render_json as fn
    elif fmt == "latex":
        from .latex import render_latex as fn
    elif fmt == "org":
        from .org import render_org as fn
    elif fmt == "mermaid":
        from .pictures import render_mermaid as fn
    elif fmt == "dot":
        from .pictures import render_dot as fn
    elif fmt == "graph":
        from .pictures import render_graph as fn
    else:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fn(report)


def render_comparison(cmp: Comparison, fmt: str) -> str:
    """A configuration under every framework, in format `fmt`."""
    from .tables import comparison_document

    if fmt == "json":

        from .jsonout import dumps

        return dumps(comparison_dict(cmp)) + "\n"
    head, tables, notes = comparison_document(cmp)
    if fmt == "text":
        from .text import text_document

        return text_document(head, tables, notes)
    if fmt == "markdown":
        from .markdown import markdown_document

        return markdown_document(head, tables, notes)
    if fmt == "latex":
        from .latex import latex_document

        return latex_document(head, tables, notes)
    if fmt == "org":
        from .org import org_document

        return org_document(head, tables, notes)
    if fmt == "csv":
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(("framework", "total_params", "difference", "reasons", "not_available"))
        for e in cmp.entries:
            total = e.report.total_params if e.report else ""
            writer.writerow((e.framework, total, "" if e.difference is None else e.difference, "; ".join(e.reasons), e.error or ""))
        return buffer.getvalue()
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")


def comparison_dict(cmp: Comparison) -> dict[str, object]:
    return cmp.to_dict()
