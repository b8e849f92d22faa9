"""The report as titled tables of strings, shared by the text, Markdown and terminal renderers."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..graph import format_shape

if TYPE_CHECKING:
    from ..report import Report


@dataclass(frozen=True)
class Column:
    header: str
    align: str = "left"  # or "right" for numbers
    code: bool = False  # Markdown shows it as inline code


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]


NODE_COLUMNS = (Column("node", code=True), Column("shape"), Column("computed as", code=True), Column("meaning"))
WEIGHT_COLUMNS = (
    Column("weight", code=True),
    Column("shape"),
    Column("params", "right"),
    Column("formula"),
    Column("holds"),
)
PART_COLUMNS = (Column("part"), Column("formula"), Column("params", "right"))


def count(n: int) -> str:
    return f"{n:,}"


def plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def heading(report: Report) -> tuple[str, str]:
    """A title line and a line naming the symbols."""
    cfg = report.config
    sizes = f"x = {plural(cfg.input, 'input')}, h = {plural(cfg.hidden, 'hidden unit')}"
    if cfg.out is not None:
        sizes += f", o = {plural(cfg.out, 'output')}"
    return report.title, sizes + "; B = batch size"


def total_formula(report: Report) -> str:
    """`56 + 3` for a model with a head; just the count without one."""
    return " + ".join(count(part.params) for part in report.parts)


def tables(report: Report) -> tuple[Table, ...]:
    env = report.config.symbols
    nodes = tuple((n.id, format_shape(n.shape), n.op, n.meaning) for n in report.nodes)
    weights = tuple(
        (w.name, format_shape(w.shape), count(w.params), w.formula.render(), w.holds) for w in report.weights
    )
    parts = tuple(
        (p.name, f"{p.formula.render()} = {p.formula.render(env)}", count(p.params)) for p in report.parts
    )
    parts += (("total", total_formula(report), count(report.total_params)),)
    return (
        Table("Nodes", NODE_COLUMNS, nodes),
        Table("Weights", WEIGHT_COLUMNS, weights),
        Table("Parameters", PART_COLUMNS, parts),
    )


def width(text: str) -> int:
    """Columns that `text` takes in a monospace font (combining marks 0, wide characters 2)."""
    total = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def pad(text: str, size: int, align: str) -> str:
    gap = " " * (size - width(text))
    return gap + text if align == "right" else text + gap
