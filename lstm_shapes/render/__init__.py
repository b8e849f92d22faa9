"""Renderers: each turns a Report, Comparison or Fit into a string, deterministically, with no terminal codes.

The table of formats below is the only list of them; the command line, its help and the fences
`lstm-shapes docs` writes all read it. Renderer modules never import this one, so there is no cycle.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, NamedTuple

from ..report import Report

if TYPE_CHECKING:
    from ..compare import Comparison
    from ..fit import Fit


class Format(NamedTuple):
    name: str
    module: str  # the module here that renders it, imported on use: start-up time matters for a one-shot CLI
    fence: str  # the language of its fence in a Markdown document ("" for Markdown itself: not fenced)
    picture: bool = False  # draws the graph rather than tabulating the report
    fit: bool = False  # offered by `lstm-shapes fit`


# The plain formats; the rich terminal table lives at the edge, in lstm_shapes.terminal. A report in
# format NAME is MODULE.render_NAME(report); tables with a heading and notes are MODULE.NAME_document.
TABLE = (
    Format("text", "text", "text", fit=True),
    Format("markdown", "markdown", "", fit=True),
    Format("csv", "csvout", "csv", fit=True),
    Format("json", "jsonout", "json", fit=True),
    Format("latex", "latex", "latex"),
    Format("org", "org", "org"),
    Format("mermaid", "pictures", "mermaid", picture=True),
    Format("dot", "pictures", "dot", picture=True),
    Format("graph", "pictures", "text", picture=True),
)
BY_NAME = {f.name: f for f in TABLE}
FORMATS = tuple(BY_NAME)
PICTURES = tuple(f.name for f in TABLE if f.picture)
FIT_FORMATS = tuple(f.name for f in TABLE if f.fit)


def render(subject: Report | Comparison | Fit, fmt: str) -> str:
    """`subject` (a Report, a Comparison or a Fit) in format `fmt`, ending with a newline."""
    spec = BY_NAME.get(fmt)
    if spec is None:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    module = import_module(f"{__name__}.{spec.module}")
    if isinstance(subject, Report):
        return getattr(module, f"render_{fmt}")(subject)  # type: ignore[no-any-return]
    if spec.picture:
        raise ValueError(f"format {fmt} draws one report's graph; a {type(subject).__name__} is tables")
    from ..compare import Comparison

    if isinstance(subject, Comparison):
        from .comparison import comparison_csv, comparison_dict, comparison_document

        data, csv_text, document = comparison_dict, comparison_csv, comparison_document
    else:
        from .sizing import fit_csv, fit_document

        data, csv_text, document = type(subject).to_dict, fit_csv, fit_document
    if fmt == "json":
        from .jsonout import dumps

        return dumps(data(subject)) + "\n"  # type: ignore[arg-type]
    if fmt == "csv":
        return csv_text(subject)  # type: ignore[arg-type]
    return getattr(module, f"{fmt}_document")(*document(subject))  # type: ignore[arg-type, no-any-return]
