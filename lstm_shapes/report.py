"""Everything a renderer needs about one traced configuration, computed once."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .config import Config
from .frameworks import SeqTensor
from .formula import Expr, Sum
from .graph import Node, step_graph
from .params import Part, Weight, parts

if TYPE_CHECKING:
    from .cost import CostLine
    from .explain import Equation

CELL_NAMES = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


@dataclass(frozen=True)
class Report:
    """Nodes, weights, parameter counts and sequence shapes of one configuration; no formatting."""

    config: Config
    title: str
    nodes: tuple[Node, ...]
    weights: tuple[Weight, ...]
    parts: tuple[Part, ...]
    sequence: tuple[SeqTensor, ...] = ()
    notes: tuple[str, ...] = ()
    equations: tuple[Equation, ...] = ()  # filled in when asked for (--explain)
    show_cost: bool = False  # whether the tables include the cost (JSON always has it)

    @property
    def total_params(self) -> int:
        """The sum of the weight tensors' sizes (the parts' formulas must agree with it)."""
        return sum(weight.params for weight in self.weights)

    @cached_property
    def cost(self) -> tuple[CostLine, ...]:
        """MACs, element-wise work and memory, with formulas (computed when first asked for)."""
        from .cost import costs

        return costs(self.config, self.total_params, self.config.dtype)

    @property
    def cost_notes(self) -> tuple[str, ...]:
        """What the cost figures count, where a table cell cannot say it."""
        from .cost import notes as cost_notes

        return cost_notes(self.config)

    @property
    def total_formula(self) -> Expr:
        return Sum(tuple(part.formula for part in self.parts))

    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; symbolic dimensions are strings, sizes are ints."""
        cfg = self.config
        env = cfg.symbols
        return {
            "framework": cfg.framework,
            "cell": cfg.cell,
            "input": cfg.input,
            "hidden": cfg.hidden,
            "out": cfg.out,
            "proj": cfg.proj,
            "peepholes": cfg.peepholes,
            "layers": cfg.layers,
            "bidirectional": cfg.bidirectional,
            "merge_mode": cfg.merge_mode if cfg.bidirectional else None,
            "bias": cfg.bias,
            "reset_after": cfg.reset_after,
            "batch_first": cfg.batch_first,
            "batch": cfg.batch,
            "seq_len": cfg.seq_len,
            "head_activation": cfg.head_activation,
            "head_bias": cfg.head_bias if cfg.out is not None else None,
            "head_reads": cfg.head_reads,
            "symbols": dict(env),
            "total_params": self.total_params,
            "total_formula": " + ".join(part.formula.render() for part in self.parts),
            "parts": [
                {
                    "name": part.name,
                    "formula": part.formula.render(),
                    "substituted": part.formula.render(env),
                    "expression": part.formula.render(ascii=True),
                    "params": part.params,
                }
                for part in self.parts
            ],
            "weights": [
                {
                    "name": w.name,
                    "part": w.part,
                    "layer": w.layer,
                    "direction": w.direction,
                    "shape": list(w.shape),
                    "params": w.params,
                    "formula": w.formula.render(),
                    "slices": [
                        {"block": b.label, "kind": b.kind, "gate": b.gate or None, "index": b.index_text()}
                        for b in w.blocks
                    ],
                }
                for w in self.weights
            ],
            "nodes": [
                {
                    "name": node.id,
                    "label": node.label,
                    "op": node.op,
                    "inputs": list(node.inputs),
                    "shape": list(node.shape),
                    "meaning": node.meaning,
                }
                for node in self.nodes
            ],
            "sequence": [{"name": s.name, "shape": list(s.shape), "meaning": s.meaning} for s in self.sequence],
            "notes": list(self.notes),
            "cost": {
                "dtype": cfg.dtype,
                **{line.key: line.value for line in self.cost},
                "formulas": {line.key: line.formula.render() for line in self.cost},
                "notes": list(self.cost_notes),
            },
            **(
                {"equations": [{"node": e.node, "equation": e.text, "shapes": e.shapes} for e in self.equations]}
                if self.equations
                else {}
            ),
        }

    def __repr__(self) -> str:
        cfg = self.config
        head = f" o={cfg.out}" if cfg.out is not None else ""
        return f"<Report {CELL_NAMES[cfg.cell]} {cfg.framework} x={cfg.input} h={cfg.hidden_text}{head}: {self.total_params:,} params>"


def build(config: Config, *, explain: bool = False, show_cost: bool = False) -> Report:
    """Trace `config`: nodes, weights in the framework's layout, counts, sequence shapes and costs.

    `explain` adds every node's equation; `show_cost` puts the cost in the tables too.
    """
    fw = config.convention
    report = Report(
        config=config,
        title=f"{CELL_NAMES[config.cell]} cell, one time step ({fw.title} convention)",
        nodes=step_graph(config),
        weights=fw.weights(config),
        parts=parts(config),
        sequence=fw.sequence(config),
        notes=fw.notes(config),
        show_cost=show_cost,
    )
    if show_cost:
        report = replace(report, notes=report.notes + report.cost_notes)
    if explain:
        from .explain import equations

        report = replace(report, equations=equations(report))
    return report


def trace(input: int, hidden: int, out: int | None = None, *, explain: bool = False, show_cost: bool = False,
          **options: Any) -> Report:
    """Trace one step with `input` features and `hidden` units, plus a dense head of `out`.

    `explain` and `show_cost` are --explain and --cost; other options are Config's: cell, framework,
    proj, peepholes, layers, bidirectional, bias, batch, seq_len, reset_after, batch_first, dtype,
    head_activation, head_bias, head_reads.
    """
    return build(Config(input=input, hidden=hidden, out=out, **options), explain=explain, show_cost=show_cost)
