"""Everything a renderer needs about one traced configuration, computed once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config import Config
from .conventions import convention
from .formula import Expr, Sum
from .graph import Node, lstm_step
from .params import Part, Weight, keras_parts, keras_weights


@dataclass(frozen=True)
class Report:
    """Nodes, weights and parameter counts of one configuration; no formatting."""

    config: Config
    title: str
    nodes: tuple[Node, ...]
    weights: tuple[Weight, ...]
    parts: tuple[Part, ...]

    @property
    def total_params(self) -> int:
        """The sum of the weight tensors' sizes (the parts' formulas must agree with it)."""
        return sum(weight.params for weight in self.weights)

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
        env = self.config.symbols
        return {
            "framework": self.config.framework,
            "cell": self.config.cell,
            "input": self.config.input,
            "hidden": self.config.hidden,
            "out": self.config.out,
            "symbols": env,
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
                    "name": weight.name,
                    "part": weight.part,
                    "shape": list(weight.shape),
                    "params": weight.params,
                    "formula": weight.formula.render(),
                    "holds": weight.holds,
                }
                for weight in self.weights
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
        }

    def render(self, fmt: str = "text") -> str:
        """The report as text in one of the plain formats (see lstm_shapes.render.FORMATS)."""
        from .render import render

        return render(self, fmt)


def build(config: Config) -> Report:
    conv = convention(config.framework)
    return Report(
        config=config,
        title=f"LSTM cell, one time step ({conv.title} convention)",
        nodes=lstm_step(config, conv),
        weights=keras_weights(config, conv),
        parts=keras_parts(config),
    )


def trace(input: int, hidden: int, out: int | None = None) -> Report:
    """Trace one LSTM step with `input` features and `hidden` units, plus a dense head of `out`."""
    return build(Config(input=input, hidden=hidden, out=out))
