"""The report as titled tables of strings, shared by the text, Markdown and terminal renderers."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple, TYPE_CHECKING

from ..graph import format_shape

if TYPE_CHECKING:
    from ..report import Report


class Column(NamedTuple):
    header: str
    align: str = "left"  # or "right" for numbers
    code: bool = False  # Markdown shows it as inline code
    # Where a narrow terminal may break a cell: "" nowhere (shapes, counts), "name" after '/' or '.' or
    # at a space, "words" at any space, "terms" only between terms (after ", " "; " " + " " · " " → ").
    breaks: str = ""
    prose: bool = False  # description, not data: the first to wrap when the terminal is narrow


class Table(NamedTuple):
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]


NODE_COLUMNS = (
    Column("node", code=True, breaks="name"),
    Column("shape"),
    Column("computed as", code=True, breaks="words"),
    Column("meaning", breaks="words", prose=True),
)
WEIGHT_COLUMNS = (
    Column("weight", code=True, breaks="name"),
    Column("shape"),
    Column("params", "right"),
    Column("formula", breaks="words"),
    Column("gate blocks", breaks="terms", prose=True),
)
PART_COLUMNS = (Column("part", breaks="name"), Column("formula", breaks="words"), Column("params", "right"))
SEQUENCE_COLUMNS = (
    Column("tensor", code=True, breaks="name"),
    Column("shape"),
    Column("meaning", breaks="words", prose=True),
)
EQUATION_COLUMNS = (
    Column("node", code=True, breaks="name"),
    Column("equation", code=True, breaks="words"),
    Column("operand shapes", code=True, breaks="terms"),
)
# A value is a count or "needs --seq-len and --batch": only the words of the latter may wrap.
COST_COLUMNS = (
    Column("cost", breaks="words", prose=True),
    Column("formula", breaks="words"),
    Column("value", "right", breaks="words"),
    Column("unit"),
)


# How the title says a merge mode other than Keras' default side-by-side concat.
MERGED = {"sum": " (directions added)", "mul": " (directions multiplied)", "ave": " (directions averaged)",
          "none": " (directions returned apart)"}
# The title line's words for what the head reads.
HEAD_READS_WORDS = {"last-step": "reads the last step", "final-states": "reads the final states",
                    "every-step": "on every step"}


def count(n: int) -> str:
    return f"{n:,}"


def plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def heading(report: Report) -> tuple[str, str]:
    """A title line and a line naming the symbols and the variant."""
    cfg = report.config
    sizes = [f"x = {plural(cfg.input, 'input')}"]
    if cfg.per_layer:  # h0, h1, ...: each layer's own
        sizes += [f"h{k} = {plural(size, 'hidden unit')}" for k, size in enumerate(cfg.sizes)]
    else:
        sizes.append(f"h = {plural(cfg.hidden, 'hidden unit')}")
    if cfg.proj is not None:
        sizes.append(f"p = {plural(cfg.proj, 'projected unit')}")
    if cfg.out is not None:
        sizes.append(f"o = {plural(cfg.out, 'output')}")
    sizes.append(f"B = {cfg.batch:,}" if cfg.batch is not None else "B = batch size")
    sizes.append(f"T = {cfg.seq_len:,}" if cfg.seq_len is not None else "T = sequence length")
    variant = []
    if cfg.layers > 1:
        variant.append(f"{cfg.layers} layers")
    if cfg.bidirectional:
        variant.append("bidirectional" + MERGED.get(cfg.merge_mode, ""))
    if cfg.peepholes:
        variant.append("peepholes")
    if not cfg.bias:
        variant.append("no bias")
    if cfg.cell == "gru":
        variant.append("reset after the recurrent product" if cfg.reset_after else "reset before the recurrent product")
    if cfg.out is not None and not cfg.head_bias:
        variant.append("head without bias")
    if cfg.out is not None and (cfg.bidirectional or cfg.head_reads == "every-step"):
        variant.append("head " + HEAD_READS_WORDS[cfg.head_reads])
    line = ", ".join(sizes)
    return report.title, line + ("; " + ", ".join(variant) if variant else "")


def total_formula(report: Report) -> str:
    """`56 + 3` for a model with a head; just the count without one."""
    return " + ".join(count(part.params) for part in report.parts)


def tables(report: Report) -> tuple[Table, ...]:
    env = report.config.symbols
    nodes = tuple((n.id, format_shape(n.shape), n.op, n.meaning) for n in report.nodes)
    weights = tuple(
        (w.name, format_shape(w.shape), count(w.params), w.formula.render(), w.slices()) for w in report.weights
    )
    parts = tuple(
        (p.name, f"{p.formula.render()} = {p.formula.render(env)}", count(p.params)) for p in report.parts
    )
    parts += (("total", total_formula(report), count(report.total_params)),)
    sequence = tuple((t.name, format_shape(t.shape), t.meaning) for t in report.sequence)
    found = [
        Table("Nodes", NODE_COLUMNS, nodes),
        Table("Weights", WEIGHT_COLUMNS, weights),
        Table("Parameters", PART_COLUMNS, parts),
        Table("Sequence", SEQUENCE_COLUMNS, sequence),
    ]
    if report.equations:
        rows = tuple((e.node, e.text, e.shapes) for e in report.equations)
        found.insert(1, Table("Equations", EQUATION_COLUMNS, rows))
    if report.show_cost:
        found.append(Table("Cost", COST_COLUMNS, cost_rows(report)))
    return tuple(found)


def cost_rows(report: Report) -> tuple[tuple[str, ...], ...]:
    env = dict(report.config.symbols)
    cfg = report.config
    if cfg.seq_len is not None:
        env["T"] = cfg.seq_len
    if cfg.batch is not None:
        env["B"] = cfg.batch
    rows = []
    for line in report.cost:
        formula = line.formula.render()
        if line.value is None:
            used = line.formula.names()
            missing = [flag for key, flag in (("T", "--seq-len"), ("B", "--batch")) if key in used and key not in env]
            rows.append((line.what, formula, "needs " + " and ".join(missing), line.unit))
            continue
        substituted = line.formula.render(env)
        shown = formula if substituted == formula else f"{formula} = {substituted}"
        rows.append((line.what, shown, count(line.value), line.unit))
    return tuple(rows)


def width(text: str) -> int:
    """Columns that `text` takes in a monospace font (combining marks 0, wide characters 2)."""
    if text.isascii():
        return len(text)
    return _wide_width(text)


# Characters the tool itself prints, all one column wide, so the common case needs no Unicode tables.
NARROW = frozenset("σ⊙·→←ᵀ─┐┤┴►")
COMBINING_TILDE = "\u0303"


# Text made only of ASCII and the characters above: the tool's own, measured without Unicode tables.
_OWN = re.compile("[\x00-\x7f" + re.escape("".join(sorted(NARROW)) + COMBINING_TILDE) + "]*")


def _wide_width(text: str) -> int:
    if _OWN.fullmatch(text):
        return len(text) - text.count(COMBINING_TILDE)
    return _unicode_width(text)


@lru_cache(maxsize=1024)
def _unicode_width(text: str) -> int:
    import unicodedata

    total = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def padded(rows: list[list[str]], aligns: list[str], minimum: int = 0) -> tuple[list[list[str]], list[int]]:
    """Every cell padded to its column's display width (on the left where right-aligned), and the widths."""
    widths = [[len(text) if text.isascii() else _wide_width(text) for text in row] for row in rows]
    sizes = [max(minimum, *column) for column in zip(*widths, strict=True)]
    right = [align == "right" for align in aligns]
    # str.ljust counts characters; the difference between characters and columns is added back.
    out = [
        [
            text.rjust(size + len(text) - w) if r else text.ljust(size + len(text) - w)
            for text, w, size, r in zip(row, row_widths, sizes, right, strict=True)
        ]
        for row, row_widths in zip(rows, widths, strict=True)
    ]
    return out, sizes
