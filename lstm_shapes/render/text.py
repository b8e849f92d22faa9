"""Plain aligned text, for terminals without colour and for logs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .tables import Table, heading, tables, width

if TYPE_CHECKING:
    from ..report import Report


def text_table(table: Table) -> list[str]:
    rows = [[column.header for column in table.columns], *table.rows]
    widths = [[width(text) for text in row] for row in rows]
    sizes = [max(column) for column in zip(*widths)]
    aligns = [column.align for column in table.columns]
    rows.insert(1, ["-" * size for size in sizes])
    widths.insert(1, sizes)
    lines = [table.title]
    for row, row_widths in zip(rows, widths):
        cells = [
            " " * (size - w) + text if align == "right" else text + " " * (size - w)
            for text, w, size, align in zip(row, row_widths, sizes, aligns)
        ]
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
