"""Renderers: each turns a Report into a string, deterministically, with no terminal codes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..report import Report

# The plain formats; the rich terminal table lives at the edge, in lstm_shapes.terminal.
FORMATS = ("text", "markdown", "csv", "json")


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
    else:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fn(report)
