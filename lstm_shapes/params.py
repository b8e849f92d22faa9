"""Weight tensors, their counts and the formulas behind the counts."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from .config import Config
from .conventions import Convention
from .formula import Expr, sym

X, H, O = sym("x"), sym("h"), sym("o")


@dataclass(frozen=True)
class Weight:
    """One stored tensor, named and shaped as the framework stores it."""

    name: str
    part: str  # which part of the model owns it: "lstm" or "dense"
    role: str  # what the forward pass uses it as: kernel, recurrent_kernel, bias, ...
    shape: tuple[int, ...]
    formula: Expr  # its size over the symbols x, h, o
    holds: str

    @property
    def params(self) -> int:
        return prod(self.shape)


@dataclass(frozen=True)
class Part:
    """A layer's parameter count as one formula, e.g. 4·(h·(x+h)+h) for the LSTM."""

    name: str
    formula: Expr
    params: int


def keras_weights(config: Config, conv: Convention) -> tuple[Weight, ...]:
    x, h = config.input, config.hidden
    letters = [gate.letter for gate in conv.gates]

    def blocks(name: str, shape: str) -> str:
        # Keras packs the gates side by side along the last axis, in its own gate order.
        return ", ".join(f"{name}_{letter}" for letter in letters) + f", each {shape}"

    cell = conv.cell_prefix
    weights = [
        Weight(cell + "kernel", "lstm", "kernel", (x, 4 * h), X * (4 * H), blocks("W", f"({x}, {h})")),
        Weight(cell + "recurrent_kernel", "lstm", "recurrent_kernel", (h, 4 * h), H * (4 * H), blocks("U", f"({h}, {h})")),
        Weight(cell + "bias", "lstm", "bias", (4 * h,), 4 * H, blocks("b", f"({h},)")),
    ]
    if config.out is not None:
        o = config.out
        head = conv.head_prefix
        weights += [
            Weight(head + "kernel", "dense", "head_kernel", (h, o), H * O, "W_y, from h_t to the logits"),
            Weight(head + "bias", "dense", "head_bias", (o,), O, "b_y"),
        ]
    return tuple(weights)


def keras_parts(config: Config) -> tuple[Part, ...]:
    env = config.symbols
    formulas = [("lstm", 4 * (H * (X + H) + H))]
    if config.out is not None:
        formulas.append(("dense", O * (H + 1)))
    return tuple(Part(name, formula, formula.evaluate(env)) for name, formula in formulas)
