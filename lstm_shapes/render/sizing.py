"""The result of `lstm-shapes fit` in the plain formats."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from .tables import Column, Table, count

if TYPE_CHECKING:
    from ..fit import Fit
    from ..report import Report


def _row(report: Report | None, budget: int, side: str) -> tuple[str, ...] | None:
    if report is None:
        return None
    diff = report.total_params - budget
    formula = " + ".join(p.formula.render(report.config.symbols) for p in report.parts)
    return (side, report.config.hidden_text, count(report.total_params), f"{diff:+,}", formula)


def fit_document(result: Fit) -> tuple[list[str], tuple[Table, ...], list[str]]:
    """Heading lines, the table of the sizes either side of the budget, and the verdict."""
    example = result.below or result.above
    assert example is not None
    cfg = example.config
    head = [f"Hidden size for a budget of {result.budget:,} parameters ({example.title.split(' (')[1][:-1]})"]
    rows = [r for r in (_row(result.below, result.budget, "within"), _row(result.above, result.budget, "over")) if r]
    columns = (Column("fits"), Column("hidden", "right"), Column("params", "right"), Column("vs budget", "right"),
               Column("count"))
    notes = []
    if result.below is None:
        notes.append(f"Even the smallest hidden size, {cfg.hidden_text}, needs {example.total_params:,} parameters.")
    elif result.above is None:
        notes.append("The largest hidden size allowed still fits the budget.")
    else:
        share = result.below.total_params / result.budget
        notes.append(f"Best fit: --hidden {result.below.config.hidden_text}, {share:.2%} of the budget.")
    return head, (Table("Fit", columns, tuple(rows)),), notes


def fit_csv(result: Fit) -> str:
    """One row each for the size within the budget and the one over it, with raw integers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("fits", "hidden", "params", "difference"))
    for report, name in ((result.below, "within"), (result.above, "over")):
        if report is not None:
            writer.writerow((name, report.config.hidden_text, report.total_params, report.total_params - result.budget))
    return buffer.getvalue()
