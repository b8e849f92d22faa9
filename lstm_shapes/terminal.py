"""Rich tables for an interactive terminal: the only module besides cli that imports rich.

Nothing is ever cut to fit the terminal. Cells break only where their column allows (tables.Column.breaks):
prose columns wrap first, then formulas and operand shapes between their terms, then names at '/' or '.';
shapes, counts and values never break. A table that still does not fit becomes a list of records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.console import Console, JustifyMethod
from rich.table import Table as RichTable
from rich.text import Text

from .render.tables import COMBINING_TILDE, Table, heading, tables, width

if TYPE_CHECKING:
    from .compare import Comparison
    from .inspection import Inspection
    from .render.inspection import Differences
    from .report import Report

# A prose column keeps this many columns before anything else wraps: narrower, it reads badly.
PROSE_FLOOR = 20
# After these a "terms" cell may break: separators of a list or operators between operand shapes.
TERM_ENDS = frozenset(",;+·→⊙")
# A piece wider than the terminal breaks at these next, before it folds: a term between its words, outside brackets.
NARROWER = {"terms": "outside"}
INDENT = "  "


def print_report(report: Report, console: Console | None = None) -> None:
    """Print the report as rich tables; rich itself honours NO_COLOR and plain pipes."""
    print_document(console or new_console(), list(heading(report)), tables(report), report.notes)


def print_comparison(cmp: Comparison, console: Console | None = None) -> None:
    """Print a configuration under every framework as rich tables, like a report."""
    from .render.comparison import comparison_document

    head, found, notes = comparison_document(cmp)
    print_document(console or new_console(), head, found, notes)


def print_inspections(results: list[Inspection], differences: Differences | None = None, explain: bool = False,
                      show_cost: bool = False, console: Console | None = None) -> None:
    """Each file's layers as rich tables: per layer a title, its summary and remarks, constructors and trace."""
    from .render.inspection import document

    console = console or new_console()
    room = max(console.width, 1)
    for number, result in enumerate(results):
        doc = document(result, differences, explain, show_cost)
        if number:
            console.print()
        console.print(Text("\n".join(wrap(doc.head, room, "name")), style="bold"))
        for warning in doc.warnings:
            console.print("- " + "\n  ".join(wrap(f"warning: {warning}", room - 2, "words")))
        if not doc.sections:
            console.print("No recurrent layer found.")
        for section in doc.sections:
            console.print()
            console.print(Text("\n".join(wrap(section.title(), room, "name")), style="bold"))
            for line in (section.summary, *section.remarks()):
                console.print("\n".join(wrap(line, room, "words")))
            for title, code in section.constructors:  # a list, not a table: one long line would make it records
                line = Text(INDENT + title + ":")
                lead = line.cell_len + 1 if room - line.cell_len > PROSE_FLOOR else len(INDENT)
                line.append(" " if lead > len(INDENT) else "\n" + " " * lead)
                line.append(("\n" + " " * lead).join(wrap(code, room - lead, "name")), style="cyan")
                console.print(line)
            console.print()
            print_document(console, list(heading(section.report)), tables(section.report), section.report.notes)
        if doc.other is not None:
            console.print()
            sizes = column_widths(doc.other, room - extra_width(doc.other))
            console.print(rich_table(doc.other, sizes) if sizes else records(doc.other, room))
        console.print(Text("\n".join(wrap(doc.total, room, "terms")), style="bold"))


def new_console() -> Console:
    # Nothing here is markup or emoji ('[' and ']' are slices); not parsing for them saves time too.
    return Console(highlight=False, markup=False, emoji=False)


def print_document(
    console: Console, head: list[str], found: tuple[Table, ...], notes: list[str] | tuple[str, ...]
) -> None:
    """Heading lines, tables and notes, each fitted to the console's width."""
    room = max(console.width, 1)
    # The first line is a title; the next ones list sizes, which break between "x = 5 inputs," items.
    for line in head[:1]:
        console.print(Text("\n".join(wrap(line, room, "words")), style="bold"))
    for line in head[1:]:
        console.print("\n".join(wrap(line, room, "terms")))
    for table in found:
        sizes = column_widths(table, room - extra_width(table))
        console.print(rich_table(table, sizes) if sizes else records(table, room))
    if notes:
        console.print(Text("Notes", style="bold"))
        for note in notes:
            lines = wrap(note, room - 2, "words")
            console.print("- " + "\n  ".join(lines))


def extra_width(table: Table) -> int:
    """Columns the box takes: its two edges, one between columns, and one pad each side of every cell."""
    return 2 + (len(table.columns) - 1) + 2 * len(table.columns)


def rich_table(table: Table, sizes: list[int]) -> RichTable:
    """The table with every cell already broken into lines that fit its column, so rich cuts nothing."""
    grid = RichTable(title=table.title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD)
    for column, size in zip(table.columns, sizes, strict=True):
        justify: JustifyMethod = "right" if column.align == "right" else "left"
        # The widths are given, which also spares rich measuring every cell.
        grid.add_column(
            fitted(column.header, size, "words"),
            justify=justify,
            style="cyan" if column.code else None,
            no_wrap=True,
            width=size,
        )
    for row in table.rows:
        grid.add_row(*(fitted(cell, size, column.breaks) for cell, size, column in zip(row, sizes, table.columns)))
    return grid


def fitted(text: str, size: int, breaks: str) -> str:
    return text if width(text) <= size else "\n".join(wrap(text, size, breaks))


def column_widths(table: Table, room: int) -> list[int] | None:
    """Each column's width, so that the cells fit `room` columns in all, or None if they cannot."""
    columns = table.columns
    cells = [[row[i] for row in table.rows] for i in range(len(columns))]
    content = [max(map(width, column), default=0) for column in cells]
    natural = [max(width(c.header), w) for c, w in zip(columns, content)]
    if sum(natural) <= room:
        return natural
    least = [
        max(longest(c.header, "words"), *(longest(cell, c.breaks) for cell in column))
        for c, column in zip(columns, cells)
    ]
    sizes = list(natural)
    # Who gives way, in turn: prose wraps to a readable width, headers wrap, formulas and operand
    # shapes break between terms, prose wraps down to its longest word, names fold at '/' or '.'.
    stages = (
        [max(least[i], min(natural[i], PROSE_FLOOR)) if c.prose else None for i, c in enumerate(columns)],
        [max(content[i], least[i]) for i in range(len(columns))],
        [least[i] if c.breaks in ("words", "terms") and not c.prose else None for i, c in enumerate(columns)],
        [least[i] if c.prose else None for i, c in enumerate(columns)],
        [least[i] if c.breaks == "name" else None for i, c in enumerate(columns)],
    )
    for floors in stages:
        if sum(sizes) <= room:
            break
        shrink(sizes, floors, sum(sizes) - room)
    return sizes if sum(sizes) <= room else None


def shrink(sizes: list[int], floors: list[int | None], excess: int) -> None:
    """Narrow the widest columns first, none below its floor (None: this column keeps its width)."""
    for _ in range(excess):
        candidates = [i for i, floor in enumerate(floors) if floor is not None and sizes[i] > floor]
        if not candidates:
            return
        sizes[max(candidates, key=lambda i: sizes[i])] -= 1


def records(table: Table, room: int) -> Text:
    """The table as one block of `header: value` lines per row, for a terminal too narrow for its columns."""
    keys = [column.header + ":" for column in table.columns]
    key_width = max(map(width, keys))
    beside = room - len(INDENT) - key_width - 1
    # The value goes beside its key when its longest unbreakable piece fits there, else below it.
    widest = max((longest(cell, c.breaks) for row in table.rows for cell, c in zip(row, table.columns)), default=0)
    stacked = beside < widest
    out = Text(table.title, style="bold")
    for row in table.rows:
        out.append("\n")
        for key, cell, column in zip(keys, row, table.columns):
            style = "cyan" if column.code else None
            if stacked:
                out.append("\n" + "\n".join(INDENT + line for line in wrap(key, room - len(INDENT), "words")))
                lines = wrap(cell, room - 2 * len(INDENT), column.breaks)
                out.append("".join("\n" + 2 * INDENT + line for line in lines), style=style)
            else:
                lines = wrap(cell, beside, column.breaks)
                pad = " " * (key_width - width(key) + 1)
                out.append(f"\n{INDENT}{key}{pad}")
                out.append(("\n" + " " * (len(INDENT) + key_width + 1)).join(lines), style=style)
    out.append("\n")
    return out


def pieces(text: str, breaks: str) -> list[str]:
    """`text` cut where a line may end, each piece keeping its trailing spaces: they join back into `text`."""
    if not breaks or not text:
        return [text]
    out: list[str] = []
    start = depth = 0
    for i, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        elif char == " " and text[i + 1 : i + 2] not in (" ", ""):
            if breaks in ("words", "name") or (depth == 0 and (breaks == "outside" or text[i - 1 : i] in TERM_ENDS)):
                out.append(text[start : i + 1])
                start = i + 1
        elif char in "/." and breaks == "name" and i + 1 < len(text) and text[i + 1] != " ":
            out.append(text[start : i + 1])
            start = i + 1
    out.append(text[start:])
    return out


def longest(text: str, breaks: str) -> int:
    """The width of the widest piece: the narrowest a column can be without cutting `text`."""
    return max(width(piece.rstrip()) for piece in pieces(text, breaks))


def wrap(text: str, room: int, breaks: str) -> list[str]:
    """`text` in lines of at most `room` columns, broken where `breaks` allows; a wider piece folds, never cut."""
    room = max(room, 1)
    lines: list[str] = []
    line = ""
    for piece in pieces(text, breaks):
        if line and width((line + piece).rstrip()) > room:
            lines.append(line.rstrip())
            line = ""
        if not line and breaks in NARROWER and width(piece.rstrip()) > room:
            *done, line = wrap(piece, room, NARROWER[breaks])
            lines += done
            line += piece[len(piece.rstrip()) :]
            continue
        line += piece
        while width(line.rstrip()) > room:
            cut = fold_at(line, room)
            lines.append(line[:cut])
            line = line[cut:]
    lines.append(line.rstrip())
    return lines


def fold_at(line: str, room: int) -> int:
    """Where to fold a line wider than `room`: as late as fits, never between a letter and its tilde."""
    cut = 1
    while cut < len(line) and width(line[: cut + 1]) <= room:
        cut += 1
    while cut < len(line) and line[cut] == COMBINING_TILDE:
        cut += 1
    return cut
