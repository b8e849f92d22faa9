"""Rich tables for an interactive terminal: the only module besides cli that imports rich."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.console import Console, JustifyMethod
from rich.table import Table as RichTable
from rich.text import Text

from .render.tables import heading, tables

if TYPE_CHECKING:
    from .report import Report


def print_report(report: Report, console: Console | None = None) -> None:
    """Print the report as rich tables; rich itself honours NO_COLOR and plain pipes."""
    console = console or Console(highlight=False)
    title, sizes = heading(report)
    console.print(Text(title, style="bold"))
    console.print(sizes)
    for table in tables(report):
        grid = RichTable(title=table.title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD)
        last = len(table.columns) - 1
        for index, column in enumerate(table.columns):
            justify: JustifyMethod = "right" if column.align == "right" else "left"
            # Names, shapes, equations and counts are never cut; only the last, prose column wraps.
            widest = max((len(row[index]) for row in table.rows), default=0)
            grid.add_column(
                column.header,
                justify=justify,
                style="cyan" if column.code else None,
                no_wrap=index < last,
                min_width=widest if index < last else None,
            )
        for row in table.rows:
            grid.add_row(*(Text(cell) for cell in row))
        console.print(grid)
