"""One CSV table of every node, weight and count, with raw integers, for spreadsheets and scripts."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from ..graph import format_shape

if TYPE_CHECKING:
    from ..report import Report

HEADER = ("section", "name", "shape", "params", "formula", "detail")


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([HEADER, *csv_rows(report)])
    return buffer.getvalue()


def csv_rows(report: Report) -> list[tuple[object, ...]]:
    """The table's rows after its header, one per node, weight, part, total, sequence tensor, equation and cost."""
    env = report.config.symbols
    rows: list[tuple[object, ...]] = [("node", n.id, format_shape(n.shape), "", n.op, n.meaning) for n in report.nodes]
    rows += [("weight", w.name, format_shape(w.shape), w.params, w.formula.render(), w.slices()) for w in report.weights]
    rows += [
        ("part", p.name, "", p.params, f"{p.formula.render()} = {p.formula.render(env)}", "") for p in report.parts
    ]
    total = " + ".join(str(p.params) for p in report.parts)
    rows.append(("total", "total", "", report.total_params, total, ""))
    rows += [("sequence", t.name, format_shape(t.shape), "", "", t.meaning) for t in report.sequence]
    rows += [("equation", e.node, "", "", e.text, e.shapes) for e in report.equations]
    if report.show_cost:
        rows += [("cost", c.key, "", "" if c.value is None else c.value, c.formula.render(), c.unit) for c in report.cost]
    return rows
