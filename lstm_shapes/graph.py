"""The symbolic graph of one time step of every layer, and the optional dense head."""

from __future__ import annotations

from typing import NamedTuple

from .config import Config
from .params import Dim

Shape = tuple[Dim, ...]

BATCH = "B"


class Node(NamedTuple):
    """One tensor of the step: what it is called, what makes it and its shape."""

    id: str
    label: str  # how papers write it, e.g. "h_{t-1}"
    op: str  # how it is computed, in terms of other node ids and weight blocks
    inputs: tuple[str, ...]
    shape: Shape
    meaning: str
    layer: int | None = None  # which layer of the stack; None for the dense head
    direction: int | None = None  # 0 forward (the backward cell has the same shapes); None when it spans both


def layer_prefix(config: Config, layer: int) -> str:
    """"l1." before the ids of layer 1 of a stack; nothing for a single layer."""
    return f"l{layer}." if config.layers > 1 else ""


def format_shape(shape: tuple[object, ...], sep: str = ", ") -> str:
    """(B, 2) for a matrix, (8,) for a vector, as Python prints tuples; `sep` "," for the tight form."""
    inner = sep.join(str(dim) for dim in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


MEANINGS = {
    "i_t": "input gate",
    "f_t": "forget gate",
    "g_t": "candidate cell values",
    "o_t": "output gate",
    "r_t": "reset gate",
    "z_t": "update gate",
    "n_t": "candidate hidden state",
}


class _Builder:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.batch: Dim = config.batch if config.batch is not None else BATCH
        self.nodes: list[Node] = []
        self.prefix = ""
        self.layer: int | None = None
        self.direction: int | None = None

    @property
    def hidden(self) -> int:
        """h of the layer being built."""
        return self.config.layer_hidden(self.layer or 0)

    def add(self, node_id: str, label: str, op: str, inputs: tuple[str, ...], width: int, meaning: str) -> str:
        pid = self.prefix + node_id
        ins = tuple(i if "." in i else self.prefix + i for i in inputs)  # "l0.h_t" is already absolute
        self.nodes.append(Node(pid, label, op, ins, (self.batch, width), meaning, self.layer, self.direction))
        return pid

    def bias(self, node: str) -> str:
        ltr = self.config.convention.letter(self.config, node)
        sub = f"_{ltr}" if ltr else ""
        nb = self.config.convention.gate_biases(self.config, node)
        return {0: "", 1: f" + b{sub}", 2: f" + bx{sub} + bh{sub}"}[nb]

    def linear(self, node: str) -> str:
        ltr = self.config.convention.letter(self.config, node)
        sub = f"_{ltr}" if ltr else ""
        if self.config.convention.concat == "xh":
            return f"xh_t·[W{sub}; U{sub}]{self.bias(node)}"
        return f"hx_t·[U{sub}; W{sub}]{self.bias(node)}"


def step_graph(config: Config) -> tuple[Node, ...]:
    """Nodes of one time step, layer by layer in data-flow order, then the head if `config.out` is set."""
    b = _Builder(config)
    D = config.directions
    previous = ""
    for k in range(config.layers):
        b.prefix, b.layer, b.direction = layer_prefix(config, k), k, 0
        h, r = config.layer_hidden(k), config.layer_recurrent(k)
        width = config.layer_input(k)
        if k == 0:
            b.add("x_t", "x_t", "input", (), width, "input at step t")
        else:
            b.add("x_t", f"x_t^({k})", previous, (previous,), width, f"what layer {k} reads: layer {k - 1}'s output")
        b.add("h_prev", "h_{t-1}", "state", (), r, "hidden state from step t-1")
        if config.cell == "lstm":
            b.add("c_prev", "c_{t-1}", "state", (), h, "cell state from step t-1")
        if config.convention.concat == "xh":
            b.add("xh_t", "[x_t, h_{t-1}]", "concat(x_t, h_prev)", ("x_t", "h_prev"), width + r,
                  "[x_t, h_prev] side by side: what the gates read")
        else:
            b.add("hx_t", "[h_{t-1}, x_t]", "concat(h_prev, x_t)", ("h_prev", "x_t"), width + r,
                  "[h_prev, x_t] side by side: what the gates read")
        cat = config.convention.concat + "_t"
        {"lstm": _lstm, "gru": _gru, "rnn": _rnn}[config.cell](b, cat)
        previous = b.prefix + "h_t"
        if D > 1 and config.merge_mode != "none":  # "none" returns each direction's h_t as it is
            b.direction = None
            label, op, width, meaning = MERGES[config.merge_mode]
            previous = b.add("y_t", label, op, ("h_t",), width * r, meaning)
    if config.out is not None:
        b.prefix, b.layer, b.direction = "", None, None
        bias = " + b_y" if config.head_bias else ""
        meaning = "dense head"
        if config.head_reads == "every-step":
            meaning += " at every step: the same weights on each step's output"
        elif D > 1:  # only with a backward direction do the last step and the final states differ
            meaning += (", on each direction's final state" if config.head_reads == "final-states"
                        else ", on the last step's output (its backward half has seen one step)")
        b.add("logits", "y_t", f"{previous}·W_y{bias}", (previous,), config.out, meaning)
        if config.head_activation in HEAD_NODES:
            op, what = HEAD_NODES[config.head_activation]
            b.add("probs", "p_t", op, ("logits",), config.out, what)
    return tuple(b.nodes)


# Bidirectional's y_t per merge mode: its label, op, width in r and meaning.
MERGES = {
    "concat": ("[h_t→, h_t←]", "concat(h_t forward, h_t backward)", 2,
               "both directions side by side (the backward cell has the same shapes)"),
    "sum": ("h_t→ + h_t←", "h_t forward + h_t backward", 1, "the two directions added (merge_mode='sum')"),
    "mul": ("h_t→ ⊙ h_t←", "h_t forward ⊙ h_t backward", 1, "the two directions multiplied (merge_mode='mul')"),
    "ave": ("(h_t→ + h_t←)/2", "(h_t forward + h_t backward) / 2", 1, "the two directions averaged (merge_mode='ave')"),
}

# The node an activated head adds: how it is computed, and what it means.
HEAD_NODES = {
    "softmax": ("softmax(logits)", "class probabilities (they sum to 1)"),
    "sigmoid": ("σ(logits)", "one probability per output, each on its own"),
}


def _gate(b: _Builder, node: str, act: str, cat: str, extra: str = "", reads: tuple[str, ...] = ()) -> None:
    ltr = b.config.convention.letter(b.config, node)
    meaning = MEANINGS[node]
    if ltr and ltr != node[0]:
        meaning += f" ({b.config.convention.short} gate {ltr})"
    label = "c̃_t" if node == "g_t" else node
    b.add(node, label, f"{act}({b.linear(node)}{extra})", (cat, *reads), b.hidden, meaning)


def _lstm(b: _Builder, cat: str) -> None:
    cfg = b.config
    peep = cfg.peepholes
    forget = " + forget_bias" if cfg.convention.forget_bias else ""
    _gate(b, "i_t", "σ", cat, " + P_i ⊙ c_prev" if peep else "", ("c_prev",) if peep else ())
    _gate(b, "f_t", "σ", cat, (" + P_f ⊙ c_prev" if peep else "") + forget, ("c_prev",) if peep else ())
    _gate(b, "g_t", "tanh", cat)
    cell = ("c_t", "c_t", "f_t ⊙ c_prev + i_t ⊙ g_t", ("f_t", "c_prev", "i_t", "g_t"), b.hidden, "new cell state")
    if peep:  # the output gate's peephole reads the new cell state
        b.add(*cell)
        _gate(b, "o_t", "σ", cat, " + P_o ⊙ c_t", ("c_t",))
    else:
        _gate(b, "o_t", "σ", cat)
        b.add(*cell)
    if cfg.proj is not None:
        b.add("m_t", "m_t", "o_t ⊙ tanh(c_t)", ("o_t", "c_t"), b.hidden, "cell output before the projection")
        b.add("h_t", "h_t", "m_t·W_proj", ("m_t",), cfg.proj, "new hidden state: m_t projected to p units")
    else:
        b.add("h_t", "h_t", "o_t ⊙ tanh(c_t)", ("o_t", "c_t"), b.hidden, "new hidden state (output)")


def _gru(b: _Builder, cat: str) -> None:
    cfg = b.config
    _gate(b, "r_t", "σ", cat)
    _gate(b, "z_t", "σ", cat)
    n = cfg.convention.letter(cfg, "n_t")
    nb = cfg.convention.gate_biases(cfg, "n_t")
    bx = {0: "", 1: f" + b_{n}", 2: f" + bx_{n}"}[nb]
    bh = f" + bh_{n}" if nb == 2 else ""
    if cfg.reset_after:
        op = f"tanh(x_t·W_{n}{bx} + r_t ⊙ (h_prev·U_{n}{bh}))"
    else:
        op = f"tanh(x_t·W_{n}{bx} + (r_t ⊙ h_prev)·U_{n}{bh})"
    meaning = MEANINGS["n_t"] + (f" (gate {n})" if n != "n" else "")
    b.add("n_t", "n_t", op, ("x_t", "r_t", "h_prev"), b.hidden, meaning)
    update = "z_t ⊙ h_prev + (1 - z_t) ⊙ n_t" if cfg.convention.gru_z_keeps else "(1 - z_t) ⊙ h_prev + z_t ⊙ n_t"
    b.add("h_t", "h_t", update, ("z_t", "h_prev", "n_t"), b.hidden, "new hidden state (output)")


def _rnn(b: _Builder, cat: str) -> None:
    act = b.config.convention.rnn_activation
    b.add("h_t", "h_t", f"{act}({b.linear('h_t')})", (cat,), b.hidden, "new hidden state (output)")
