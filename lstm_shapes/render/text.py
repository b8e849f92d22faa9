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


def text_document(head: list[str], tables: tuple[Table, ...], notes: list[str] | tuple[str, ...]) -> str:
    lines = list(head)
    for table in tables:
        lines += ["", *text_table(table)]
    if notes:
        lines += ["", "Notes", *(f"- {note}" for note in notes)]
    return "\n".join(lines) + "\n"


def render_text(report: Report) -> str:
    return text_document(list(heading(report)), tables(report), report.notes)
