"""Org-mode tables, laid out exactly as Emacs' org-table-align lays them out, so TAB changes nothing."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .tables import Column, Table, heading, padded, tables

if TYPE_CHECKING:
    from ..report import Report

# org-table-number-regexp's default value (Org 9.6): org-table-align right-aligns a column when at
# least org-table-number-fraction (0.5) of its non-empty cells, header included, match it. Emacs
# matches it with case-fold-search on, as Org buffers have it.
NUMBER = re.compile(
    r"[<>]?[-+^.0-9]*[0-9][-+^.0-9eEdDx()%:]*|[<>]?[-+]?0[xX][0-9a-fA-F.]+|[<>]?[-+]?[0-9]+#[0-9a-zA-Z.]+|nan|[-+u]?inf",
    re.IGNORECASE,
)
NUMBER_FRACTION = 0.5
# A count with thousands separators, which Org does not read as a number (nor calc as one).
GROUPED = re.compile(r"[-+]?[0-9]{1,3}(?:,[0-9]{3})+")
# Lines that Org would read as something other than a paragraph: a headline, a keyword or comment,
# a table, a fixed-width line, a list item.
NOT_A_PARAGRAPH = re.compile(r"\*+ |#|\||:( |$)|[-+] |[0-9]+[.)]( |$)")
ZERO_WIDTH_SPACE = "\u200b"  # Org's own escape for markup at the start of a line
# What Org reads at the start of a list item as a checkbox or a counter rather than as text.
ITEM_MARKUP = re.compile(r"\[[ xX-]\]( |$)|\[@")


def cell(text: str, column: Column) -> str:
    text = text.strip()  # org-table-align trims every field
    if column.align == "right" and GROUPED.fullmatch(text):
        # 268288, not 268,288: Org right-aligns and computes with it only without the commas.
        text = text.replace(",", "")
    if "|" in text:
        # A | ends a cell anywhere, even inside ~code~, so such a cell is left as plain text.
        return text.replace("|", "\\vert{}")
    if column.code and text and "~" not in text:
        return f"~{text}~"  # Org's inline code, as Markdown's backticks
    return text


def alignments(rows: list[list[str]]) -> list[str]:
    """Each column's alignment as org-table-align decides it, from the cells as they are written."""
    aligns = []
    for column in zip(*rows):
        filled = [text for text in column if text]
        numbers = sum(1 for text in filled if NUMBER.fullmatch(text))
        aligns.append("right" if numbers >= NUMBER_FRACTION * len(filled) else "left")
    return aligns


def org_table(table: Table) -> list[str]:
    headers = [column.header.strip().replace("|", "\\vert{}") for column in table.columns]
    rows = [headers, *([cell(text, column) for text, column in zip(row, table.columns)] for row in table.rows)]
    # Org makes every column at least one character wide.
    cells, sizes = padded(rows, alignments(rows), minimum=1)
    lines = ["| " + " | ".join(row) + " |" for row in cells]
    lines.insert(1, "|" + "+".join("-" * (size + 2) for size in sizes) + "|")
    return [f"#+CAPTION: {table.title}", *lines]


def paragraph(text: str) -> str:
    return ZERO_WIDTH_SPACE + text if NOT_A_PARAGRAPH.match(text) else text


def item(note: str) -> str:
    return "- " + (ZERO_WIDTH_SPACE + note if ITEM_MARKUP.match(note) else note)


def org_document(head: list[str], tables: tuple[Table, ...], notes: list[str] | tuple[str, ...]) -> str:
    lines = [paragraph(": ".join(head) + ".")]
    for table in tables:
        lines += ["", *org_table(table)]
    if notes:
        lines += ["", *(item(note) for note in notes)]
    return "\n".join(lines) + "\n"


def render_org(report: Report) -> str:
    return org_document(list(heading(report)), tables(report), report.notes)
