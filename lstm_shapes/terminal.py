"""Rich tables for an interactive terminal: the only module besides cli that imports rich."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.console import Console, JustifyMethod
from rich.table import Table as RichTable

from .render.tables import heading, tables, width

if TYPE_CHECKING:
    from .report import Report


def print_report(report: Report, console: Console | None = None) -> None:
    """Print the report as rich tables; rich itself honours NO_COLOR and plain pipes."""
    # Nothing here is markup or emoji; not parsing for them saves a third of the drawing time.
    console = console or Console(highlight=False, markup=False, emoji=False)
    title, sizes = heading(report)
    console.print(title, style="bold")
    console.print(sizes)
    for table in tables(report):
        grid = RichTable(title=table.title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD)
        last = len(table.columns) - 1
        for index, column in enumerate(table.columns):
            justify: JustifyMethod = "right" if column.align == "right" else "left"
            # Names, shapes, equations and counts are never cut, and their widths are known, which
            # spares rich measuring every cell; only the last, prose column wraps.
            fixed = max([width(column.header), *(width(row[index]) for row in table.rows)]) if index < last else None
            grid.add_column(
                column.header,
                justify=justify,
                style="cyan" if column.code else None,
                no_wrap=index < last,
                width=fixed,
            )
        for row in table.rows:
            grid.add_row(*row)
        console.print(grid)
