"""Plain aligned text, for terminals without colour and for logs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .tables import Table, heading, padded, tables

if TYPE_CHECKING:
    from ..report import Report


def text_table(table: Table) -> list[str]:
    rows = [[column.header for column in table.columns], *map(list, table.rows)]
    cells, sizes = padded(rows, [column.align for column in table.columns])
    cells.insert(1, ["-" * size for size in sizes])
    return [table.title, *("  ".join(row).rstrip() for row in cells)]


def text_document(head: list[str], tables: tuple[Table, ...], notes: list[str] | tuple[str, ...]) -> str:
    lines = list(head)
    for table in tables:
        lines += ["", *text_table(table)]
    if notes:
        lines += ["", "Notes", *(f"- {note}" for note in notes)]
    return "\n".join(lines) + "\n"


def render_text(report: Report) -> str:
    return text_document(list(heading(report)), tables(report), report.notes)
