"""Plain aligned text, for terminals without colour and for logs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .tables import Table, heading, pad, tables, width

if TYPE_CHECKING:
    from ..report import Report


def text_table(table: Table) -> list[str]:
    headers = [column.header for column in table.columns]
    sizes = [max(width(cell) for cell in column) for column in zip(headers, *table.rows)]
    lines = [table.title]
    for row in (headers, ["-" * size for size in sizes], *table.rows):
        cells = [pad(cell, size, col.align) for cell, size, col in zip(row, sizes, table.columns)]
        lines.append("  ".join(cells).rstrip())
    return lines


def render_text(report: Report) -> str:
    lines = list(heading(report))
    for table in tables(report):
        lines += ["", *text_table(table)]
    return "\n".join(lines) + "\n"
