"""GitHub-flavoured Markdown tables, laid out as prettier and mdformat lay them out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .tables import Column, Table, heading, padded, tables

if TYPE_CHECKING:
    from ..report import Report


def cell(text: str, column: Column) -> str:
    # A pipe ends a cell even inside inline code, so it is escaped everywhere.
    if "|" in text:
        text = text.replace("|", "\\|")
    return f"`{text}`" if column.code and text else text


def delimiter(size: int, align: str) -> str:
    return "-" * (size - 1) + ":" if align == "right" else "-" * size


def markdown_table(table: Table) -> list[str]:
    headers = [column.header for column in table.columns]
    columns = table.columns
    rows = [headers, *([cell(text, column) for text, column in zip(row, columns, strict=True)] for row in table.rows)]
    aligns = [column.align for column in table.columns]
    # Three dashes is the narrowest delimiter the formatters write.
    cells, sizes = padded(rows, aligns, minimum=3)
    lines = ["| " + " | ".join(row) + " |" for row in cells]
    rule = [delimiter(size, align) for size, align in zip(sizes, aligns, strict=True)]
    lines.insert(1, "| " + " | ".join(rule) + " |")
    return lines


def markdown_document(head: list[str], tables: tuple[Table, ...], notes: list[str] | tuple[str, ...]) -> str:
    lines = [": ".join(head) + "."]
    for table in tables:
        lines += ["", *markdown_table(table)]
    if notes:
        lines += ["", *(f"- {note}" for note in notes)]
    return "\n".join(lines) + "\n"


def render_markdown(report: Report) -> str:
    return markdown_document(list(heading(report)), tables(report), report.notes)
