"""The symbolic graph of one recurrent time step and its optional dense head."""

from __future__ import annotations

from dataclasses import dataclass

from .config import Config
from .conventions import Convention

# A dimension is a concrete size or a symbol such as "B" (the batch).
Dim = int | str
Shape = tuple[Dim, ...]

BATCH = "B"


@dataclass(frozen=True)
class Node:
    """One tensor of the step: what it is called, what makes it and its shape."""

    id: str
    label: str  # how papers write it, e.g. "h_{t-1}"
    op: str  # how it is computed, in terms of other node ids and weight blocks
    inputs: tuple[str, ...]
    shape: Shape
    meaning: str


def format_shape(shape: Shape) -> str:
    """(B, 2) for a matrix, (8,) for a vector, as Python prints tuples."""
    inner = ", ".join(str(dim) for dim in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def lstm_step(config: Config, conv: Convention) -> tuple[Node, ...]:
    """Nodes of one LSTM step in data-flow order, then the head if `config.out` is set."""
    x, h = config.input, config.hidden
    nodes = [
        Node("x_t", "x_t", "input", (), (BATCH, x), "input at step t"),
        Node("h_prev", "h_{t-1}", "state", (), (BATCH, h), "hidden state from step t-1"),
        Node("c_prev", "c_{t-1}", "state", (), (BATCH, h), "cell state from step t-1"),
        Node(
            "hx_t",
            "[h_{t-1}, x_t]",
            "concat(h_prev, x_t)",
            ("h_prev", "x_t"),
            (BATCH, h + x),
            "[h_prev, x_t] side by side: what every gate reads",
        ),
    ]
    by_node = {gate.node: gate for gate in conv.gates}
    # Data-flow order is i, f, g, o whatever order the framework packs the gates in.
    for node_id, act in (("i_t", "σ"), ("f_t", "σ"), ("g_t", "tanh"), ("o_t", "σ")):
        gate = by_node[node_id]
        letter = gate.letter
        nodes.append(
            Node(
                node_id,
                "c̃_t" if node_id == "g_t" else node_id,
                f"{act}(hx_t·[U_{letter}; W_{letter}] + b_{letter})",
                ("hx_t",),
                (BATCH, h),
                gate.meaning,
            )
        )
    nodes += [
        Node(
            "c_t",
            "c_t",
            "f_t ⊙ c_prev + i_t ⊙ g_t",
            ("f_t", "c_prev", "i_t", "g_t"),
            (BATCH, h),
            "new cell state",
        ),
        Node("h_t", "h_t", "o_t ⊙ tanh(c_t)", ("o_t", "c_t"), (BATCH, h), "new hidden state (output)"),
    ]
    if config.out is not None:
        nodes += [
            Node("logits", "y_t", "h_t·W_y + b_y", ("h_t",), (BATCH, config.out), "dense head"),
            Node("probs", "p_t", "softmax(logits)", ("logits",), (BATCH, config.out), "class probabilities"),
        ]
    return tuple(nodes)
