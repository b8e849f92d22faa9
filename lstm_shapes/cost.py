"""What a configuration costs: multiply-accumulates, element-wise work, and memory, each with its formula.

Counting rules, the same for every framework (the arithmetic does not depend on how the weights are
stored):

- A matrix product of (1, n) by (n, m) is n·m multiply-accumulates (MACs). Per time step, each
  layer and direction multiplies its input by every gate's input weights and its recurrent state by
  every gate's recurrent weights: G·h·(in + r) MACs, plus h·p for a projection. The head multiplies
  the last output once per sequence: D·r·o. Counts are for one sequence (batch 1); a batch of B
  costs B times as much.
- Element-wise operations (additions and multiplications outside the matrix products: adding the two
  products, the biases, the peepholes, the gating products, the state update) and activations
  (sigmoid, tanh, softmax, one per element) are counted apart, per step.
- Parameter memory is the parameter count times the size of the dtype.
- Activation memory is what training by backpropagation through time keeps: the input sequence and,
  for every step, layer and direction, every value the step computes (gates, candidate, states and
  the projection's input), but not the copies the graph also shows (x_t, h_prev, c_prev and the
  concatenations), plus the logits and probabilities of the head.
"""

from __future__ import annotations

from typing import NamedTuple

from .config import Config
from .formula import Expr, Num, Sum, sym
from .params import H, O, P, biases_per_gate, layer_input_expr, recurrent_expr

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}
T, B = sym("T"), sym("B")


class CostLine(NamedTuple):
    key: str  # the JSON key
    what: str
    formula: Expr
    value: int | None  # None where it needs T or B and they were not given
    unit: str


def _sum(terms: list[Expr]) -> Expr:
    return terms[0] if len(terms) == 1 else Sum(tuple(terms))


def _times_d(config: Config, expr: Expr) -> Expr:
    return expr if config.directions == 1 else config.directions * expr


def macs_per_step(config: Config) -> Expr:
    """Matrix-product MACs of all recurrent layers for one time step of one sequence."""
    g = config.gates
    r = recurrent_expr(config)
    terms: list[Expr] = []
    for layer in range(config.layers):
        per = H * (layer_input_expr(config, layer) + r)
        cell: Expr = per if g == 1 else g * per
        if config.proj is not None:
            cell = cell + H * P
        terms.append(_times_d(config, cell))
    return _sum(terms)


def head_macs(config: Config) -> Expr | None:
    if config.out is None:
        return None
    r = recurrent_expr(config)
    width = r if config.directions == 1 else config.directions * r
    return width * O


def elementwise_per_step(config: Config) -> Expr:
    """Additions and multiplications outside the matrix products, all layers, one step."""
    nb = biases_per_gate(config)
    if config.cell == "lstm":
        # the two products summed (4h), biases (nb·4h), c_t = f⊙c + i⊙g (3h), m_t = o⊙tanh(c) (h)
        per: Expr = (4 + 4 * nb + 3 + 1) * H
        if config.peepholes:
            per = per + 6 * H  # three products with the cell state, three additions
        if config.framework == "tf1":
            per = per + H  # forget_bias
    elif config.cell == "gru":
        # r, z: products summed (2h); n: r ⊙ (…) and its sum (2h); h_t = z⊙h + (1-z)⊙n (4h); biases
        per = (2 + 2 + 4 + 3 * nb) * H
    else:
        per = (1 + nb) * H
    return _times_d(config, config.layers * per if config.layers > 1 else per)


def activations_per_step(config: Config) -> Expr:
    """Sigmoids and tanhs, one per element, all layers, one step."""
    per = {"lstm": 5, "gru": 3, "rnn": 1}[config.cell] * H  # LSTM: 3 σ + tanh(g) + tanh(c)
    return _times_d(config, config.layers * per if config.layers > 1 else per)


def stored_per_step(config: Config) -> Expr:
    """Values one step keeps for the backward pass, all layers and directions."""
    r = recurrent_expr(config)
    if config.cell == "lstm":
        per: Expr = 5 * H + r  # i, f, g, o, c_t, then h_t
        if config.proj is not None:
            per = per + H  # m_t, the projection's input
    elif config.cell == "gru":
        per = 4 * H  # r, z, n, h_t
    else:
        per = H
    return _times_d(config, config.layers * per if config.layers > 1 else per)


def costs(config: Config, total_params: int, dtype: str = "float32") -> tuple[CostLine, ...]:
    env = dict(config.symbols)
    if config.seq_len is not None:
        env["T"] = config.seq_len
    if config.batch is not None:
        env["B"] = config.batch
    size = DTYPE_BYTES[dtype]
    x = sym("x")

    def value(expr: Expr) -> int | None:
        try:
            return expr.evaluate(env)
        except KeyError:  # T or B not given
            return None

    step = macs_per_step(config)
    head = head_macs(config)
    sequence: Expr = T * step if head is None else T * step + head
    lines = [
        CostLine("macs_per_step", "matrix-product MACs per time step", step, value(step), "MACs"),
    ]
    if head is not None:
        lines.append(CostLine("head_macs", "head MACs, once per sequence", head, value(head), "MACs"))
    lines += [
        CostLine("macs_per_sequence", "matrix-product MACs per sequence", sequence, value(sequence), "MACs"),
        CostLine("elementwise_per_step", "element-wise additions and multiplications per step",
                 elementwise_per_step(config), value(elementwise_per_step(config)), "ops"),
        CostLine("activations_per_step", "sigmoid and tanh evaluations per step",
                 activations_per_step(config), value(activations_per_step(config)), "ops"),
        CostLine("parameter_bytes", f"parameter memory ({dtype})", Num(total_params) * size,
                 total_params * size, "bytes"),
    ]
    kept: Expr = T * (stored_per_step(config) + x)
    if config.out is not None:
        kept = kept + 2 * O
    activation_bytes = B * kept * size
    lines.append(CostLine("activation_bytes", f"activation memory for training, batch B, length T ({dtype})",
                          activation_bytes, value(activation_bytes), "bytes"))
    return tuple(lines)
