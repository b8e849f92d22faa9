"""A configuration under every framework (`--framework all`) as tables, a JSON object or CSV rows."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from ..frameworks import get
from ..graph import format_shape
from .tables import COST_COLUMNS, EQUATION_COLUMNS, Column, Table, cost_rows, count, heading

if TYPE_CHECKING:
    from ..compare import Comparison
    from ..report import Report


def gate_order(report: Report) -> str:
    """The gates in the order the framework stacks them, by letter (h for a plain RNN's one block)."""
    return ", ".join(ltr or "h" for _, ltr in report.config.convention.gate_order(report.config))


def first_tensors(report: Report) -> str:
    """The first layer's tensors in one direction, by their own short names, with shapes."""
    shown = [w for w in report.weights if w.layer == 0 and w.direction in (0, None)]
    short = report.config.convention.short_name
    return ", ".join(f"{short(w.name)} {format_shape(w.shape)}" for w in shown)


def comparison_dict(cmp: Comparison) -> dict[str, Any]:
    """A JSON-ready dict: each framework's count, difference, reasons and whole report."""
    return {
        "baseline": cmp.baseline,
        "frameworks": [
            {
                "framework": e.framework,
                "available": e.report is not None,
                "total_params": e.report.total_params if e.report else None,
                "difference": e.difference,
                "reasons": list(e.reasons),
                "gate_order": gate_order(e.report) if e.report else None,
                "error": e.error,
                "report": e.report.to_dict() if e.report else None,
            }
            for e in cmp.entries
        ],
    }


def comparison_csv(cmp: Comparison) -> str:
    """One row per framework: its count, the difference, the reasons, or why it has no such configuration."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("framework", "total_params", "difference", "reasons", "not_available"))
    for e in cmp.entries:
        total = e.report.total_params if e.report else ""
        writer.writerow((e.framework, total, "" if e.difference is None else e.difference, "; ".join(e.reasons), e.error or ""))
    return buffer.getvalue()


def comparison_document(cmp: Comparison) -> tuple[list[str], tuple[Table, ...], list[str]]:
    """Heading lines, one table and the reasons, for a configuration under every framework."""
    base = get(cmp.baseline).title if cmp.baseline else "the first"
    example = next((e.report for e in cmp.entries if e.report is not None), None)
    head = [f"{cmp.description}, under each framework's convention"]
    if example is not None:
        head.append(heading(example)[1])
    columns = (
        Column("framework", breaks="name"),
        Column("params", "right"),
        Column(f"vs {base}", "right"),
        Column("gate order", breaks="terms"),
        Column("first layer's tensors", breaks="terms", prose=True),
    )
    rows = []
    for e in cmp.entries:
        if e.report is None:
            rows.append((get(e.framework).title, "-", "-", "-", "not available"))
        else:
            diff = "" if e.difference is None else f"{e.difference:+,}" if e.difference else "0"
            rows.append((get(e.framework).title, count(e.report.total_params), diff, gate_order(e.report), first_tensors(e.report)))
    notes = [reason for e in cmp.entries for reason in e.reasons]
    notes += [f"{get(e.framework).title}: {e.error}" for e in cmp.entries if e.error]
    if not any(e.reasons for e in cmp.entries) and example is not None:
        notes.insert(0, "Every framework that has this configuration counts the same parameters.")
    found = [Table("Frameworks", columns, tuple(rows))]
    # --explain and --cost: every framework's equations and costs in its own names, one table each
    # with the framework in front, so that formats without table titles (Markdown) still say whose.
    built = [e for e in cmp.entries if e.report is not None]
    equations = tuple((get(e.framework).title, q.node, q.text, q.shapes) for e in built for q in e.report.equations)
    if equations:
        found.append(Table("Equations", (Column("framework"), *EQUATION_COLUMNS), equations))
    if any(e.report.show_cost for e in built):
        costs = tuple((get(e.framework).title, *row) for e in built for row in cost_rows(e.report))
        found.append(Table("Cost", (Column("framework"), *COST_COLUMNS), costs))
    return head, tuple(found), notes
