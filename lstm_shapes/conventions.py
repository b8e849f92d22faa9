"""What each framework calls things: tensor names, layouts, gate order and returned tensors.

Every packed tensor is described block by block (which gate, which kind of weight, where it sits),
so the same description drives the tables, the JSON and the numpy forward pass of --verify.
"""

from __future__ import annotations

from typing import NamedTuple

from .config import TITLES, Config
from .formula import Expr
from .params import H, O, Block, Index, Weight, head_name, layer_input_expr, part_name, recurrent_expr, weight

# The order each framework packs the gates in, as (node id, its own letter).
GATES: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("keras", "lstm"): (("i_t", "i"), ("f_t", "f"), ("g_t", "c"), ("o_t", "o")),
    ("pytorch", "lstm"): (("i_t", "i"), ("f_t", "f"), ("g_t", "g"), ("o_t", "o")),
    ("tf1", "lstm"): (("i_t", "i"), ("g_t", "j"), ("f_t", "f"), ("o_t", "o")),
    ("onnx", "lstm"): (("i_t", "i"), ("o_t", "o"), ("f_t", "f"), ("g_t", "c")),
    ("keras", "gru"): (("z_t", "z"), ("r_t", "r"), ("n_t", "h")),
    ("pytorch", "gru"): (("r_t", "r"), ("z_t", "z"), ("n_t", "n")),
    ("tf1", "gru"): (("r_t", "r"), ("z_t", "u"), ("n_t", "c")),
    ("onnx", "gru"): (("z_t", "z"), ("r_t", "r"), ("n_t", "h")),
}
RNN_GATE = (("h_t", ""),)

# ONNX keeps its peepholes in the order i, o, f.
ONNX_PEEPHOLES = (("i_t", "i"), ("o_t", "o"), ("f_t", "f"))
TF1_PEEPHOLES = (("f_t", "f"), ("i_t", "i"), ("o_t", "o"))  # w_f_diag, w_i_diag, w_o_diag, in creation order

KERAS_LAYER = {"lstm": "lstm", "gru": "gru", "rnn": "simple_rnn"}
TF1_CELL = {"lstm": "lstm_cell", "gru": "gru_cell", "rnn": "basic_rnn_cell"}


def gates(config: Config) -> tuple[tuple[str, str], ...]:
    return RNN_GATE if config.cell == "rnn" else GATES[(config.framework, config.cell)]


LETTERS = {key: dict(order) for key, order in GATES.items()}


def title(config: Config) -> str:
    return TITLES[config.framework]


def letter(config: Config, node: str) -> str:
    if config.cell == "rnn":
        return ""
    return LETTERS[(config.framework, config.cell)].get(node, "")


def _cols(j: int, h: int) -> tuple[int, int]:
    return (j * h, (j + 1) * h)


def side_by_side(config: Config, kind: str, rows: Index = (None,)) -> list[Block]:
    """Blocks of gates packed along the last axis (Keras, TF1): tensor[..., j*h:(j+1)*h]."""
    h = config.hidden
    return [Block(kind, node, ltr, (*rows, _cols(j, h)), False) for j, (node, ltr) in enumerate(gates(config))]


def stacked(config: Config, kind: str, lead: Index = (), offset: int = 0, trailing: bool = True) -> list[Block]:
    """Blocks of gates stacked along the rows (PyTorch, ONNX): tensor[..., j*h:(j+1)*h, :]."""
    h = config.hidden
    tail: Index = (None,) if trailing else ()
    return [
        Block(kind, node, ltr, (*lead, _cols(j + offset, h), *tail), trailing)
        for j, (node, ltr) in enumerate(gates(config))
    ]


# --- Keras 3 -------------------------------------------------------------------------------------


def keras_weights(config: Config) -> list[Weight]:
    g = config.gates
    base, cell = KERAS_LAYER[config.cell], f"{KERAS_LAYER[config.cell]}_cell"
    out: list[Weight] = []
    for k in range(config.layers):
        sfx = "" if k == 0 else f"_{k}"
        inp = layer_input_expr(config, k)
        for d in range(config.directions):
            if config.bidirectional:
                prefix = f"bidirectional{sfx}/{'forward' if d == 0 else 'backward'}_{base}{sfx}/{cell}/"
            else:
                prefix = f"{base}{sfx}/{cell}/"
            part = part_name(config, k)
            out.append(weight(config, prefix + "kernel", part, (inp, g * H), side_by_side(config, "W"), k, d))
            out.append(weight(config, prefix + "recurrent_kernel", part, (H, g * H), side_by_side(config, "U"), k, d))
            if config.bias and config.cell == "gru" and config.reset_after:
                blocks = side_by_side(config, "bx", rows=(0,)) + side_by_side(config, "bh", rows=(1,))
                out.append(weight(config, prefix + "bias", part, (2, g * H), blocks, k, d))
            elif config.bias:
                out.append(weight(config, prefix + "bias", part, (g * H,), side_by_side(config, "b", rows=()), k, d))
    return out + dense_head(config, "dense/", transposed=False)


def dense_head(config: Config, prefix: str, *, transposed: bool) -> list[Weight]:
    if config.out is None:
        return []
    r = recurrent_expr(config)
    width: Expr = r if config.directions == 1 else config.directions * r
    name = head_name(config)
    bias = [weight(config, prefix + "bias", name, (O,), [Block("head_b", "", "", (None,), False)])]
    if not config.head_bias:
        bias = []
    if transposed:  # nn.Linear stores (out, in)
        return [weight(config, prefix + "weight", name, (O, width), [Block("head_W", "", "", (None, None), True)]), *bias]
    return [weight(config, prefix + "kernel", name, (width, O), [Block("head_W", "", "", (None, None), False)]), *bias]


# --- PyTorch -------------------------------------------------------------------------------------


def pytorch_weights(config: Config) -> list[Weight]:
    g = config.gates
    r = recurrent_expr(config)
    out: list[Weight] = []
    # With a head, the names are those of one nn.Module holding both: `rnn.weight_ih_l0`, `head.weight`.
    module = "rnn." if config.out is not None else ""
    for k in range(config.layers):
        part = part_name(config, k)
        inp = layer_input_expr(config, k)
        for d in range(config.directions):
            sfx = f"_l{k}" + ("_reverse" if d else "")
            out.append(weight(config, module + "weight_ih" + sfx, part, (g * H, inp), stacked(config, "W"), k, d))
            out.append(weight(config, module + "weight_hh" + sfx, part, (g * H, r), stacked(config, "U"), k, d))
            if config.bias:
                out.append(weight(config, module + "bias_ih" + sfx, part, (g * H,), stacked(config, "bx", trailing=False), k, d))
                out.append(weight(config, module + "bias_hh" + sfx, part, (g * H,), stacked(config, "bh", trailing=False), k, d))
            if config.proj is not None:
                proj = [Block("proj", "", "", (None, None), True)]
                out.append(weight(config, module + "weight_hr" + sfx, part, (r, H), proj, k, d))
    return out + dense_head(config, "head.", transposed=True)


# --- TF1 -----------------------------------------------------------------------------------------


def tf1_prefix(config: Config, layer: int, direction: int) -> str:
    cell = TF1_CELL[config.cell]
    if config.bidirectional:
        side = "fw" if direction == 0 else "bw"
        if config.layers == 1:
            return f"bidirectional_rnn/{side}/{cell}/"
        return f"stack_bidirectional_rnn/cell_{layer}/bidirectional_rnn/{side}/{cell}/"
    if config.layers == 1:
        return f"rnn/{cell}/"
    return f"rnn/multi_rnn_cell/cell_{layer}/{cell}/"


def tf1_weights(config: Config) -> list[Weight]:
    h = config.hidden
    r = recurrent_expr(config)
    out: list[Weight] = []
    for k in range(config.layers):
        part = part_name(config, k)
        inp = layer_input_expr(config, k)
        width = config.layer_input(k)
        # TF1 multiplies concat([x_t, h_prev]) by one kernel: its first rows read x_t, the rest h_prev.
        x_rows: Index = ((0, width),)
        h_rows: Index = ((width, width + config.recurrent),)
        for d in range(config.directions):
            prefix = tf1_prefix(config, k, d)
            if config.cell == "gru":
                rz, cand = gates(config)[:2], gates(config)[2:]
                gate_blocks = [Block(kind, n, ltr, (*rows, _cols(j, h)), False)
                               for kind, rows in (("W", x_rows), ("U", h_rows)) for j, (n, ltr) in enumerate(rz)]
                cand_blocks = [Block(kind, n, ltr, (*rows, (0, h)), False)
                               for kind, rows in (("W", x_rows), ("U", h_rows)) for n, ltr in cand]
                out.append(weight(config, prefix + "gates/kernel", part, (inp + H, 2 * H), gate_blocks, k, d))
                out.append(weight(config, prefix + "gates/bias", part, (2 * H,),
                                  [Block("b", n, ltr, (_cols(j, h),), False) for j, (n, ltr) in enumerate(rz)], k, d))
                out.append(weight(config, prefix + "candidate/kernel", part, (inp + H, H), cand_blocks, k, d))
                out.append(weight(config, prefix + "candidate/bias", part, (H,),
                                  [Block("b", n, ltr, ((0, h),), False) for n, ltr in cand], k, d))
                continue
            g = config.gates
            kernel = side_by_side(config, "W", rows=x_rows) + side_by_side(config, "U", rows=h_rows)
            out.append(weight(config, prefix + "kernel", part, (inp + r, g * H), kernel, k, d))
            out.append(weight(config, prefix + "bias", part, (g * H,), side_by_side(config, "b", rows=()), k, d))
            if config.peepholes:
                for node, ltr in TF1_PEEPHOLES:
                    out.append(weight(config, prefix + f"w_{ltr}_diag", part, (H,), [Block("P", node, ltr, (None,), False)], k, d))
            if config.proj is not None:
                out.append(weight(config, prefix + "projection/kernel", part, (H, r),
                                  [Block("proj", "", "", (None, None), False)], k, d))
    return out + dense_head(config, "dense/", transposed=False)


# --- ONNX ----------------------------------------------------------------------------------------


def onnx_weights(config: Config) -> list[Weight]:
    g, h = config.gates, config.hidden
    D = config.directions
    out: list[Weight] = []
    for k in range(config.layers):
        part = part_name(config, k)
        inp = layer_input_expr(config, k)
        sfx = "" if config.layers == 1 else f"_l{k}"
        # One tensor holds both directions: index 0 forward, 1 reverse.
        out.append(weight(config, "W" + sfx, part, (D, g * H, inp), stacked(config, "W", lead=("d",)), k))
        out.append(weight(config, "R" + sfx, part, (D, g * H, H), stacked(config, "U", lead=("d",)), k))
        if config.bias:
            blocks = stacked(config, "bx", lead=("d",), trailing=False)
            blocks += stacked(config, "bh", lead=("d",), offset=g, trailing=False)
            out.append(weight(config, "B" + sfx, part, (D, 2 * g * H), blocks, k))
        if config.peepholes:
            blocks = [Block("P", n, ltr, ("d", _cols(j, h)), False) for j, (n, ltr) in enumerate(ONNX_PEEPHOLES)]
            out.append(weight(config, "P" + sfx, part, (D, 3 * H), blocks, k))
    return out + dense_head(config, "head.", transposed=True)


WEIGHTS = {"keras": keras_weights, "pytorch": pytorch_weights, "tf1": tf1_weights, "onnx": onnx_weights}


def weights(config: Config) -> tuple[Weight, ...]:
    return tuple(WEIGHTS[config.framework](config))


# --- What a whole sequence returns ---------------------------------------------------------------

Dim = int | str


class SeqTensor(NamedTuple):
    """A tensor the framework takes or returns for a whole sequence."""

    name: str
    shape: tuple[Dim, ...]
    meaning: str


def sequence(config: Config) -> tuple[SeqTensor, ...]:
    n: Dim = config.batch if config.batch is not None else "B"
    t: Dim = config.seq_len if config.seq_len is not None else "T"
    x, h, r, D, L = config.input, config.hidden, config.recurrent, config.directions, config.layers
    bt = (n, t) if config.batch_first else (t, n)
    fw, lstm = config.framework, config.cell == "lstm"
    out: list[SeqTensor] = []
    if fw == "pytorch":
        out += [
            SeqTensor("input", (*bt, x), "the input sequence"),
            SeqTensor("output", (*bt, D * r), "h_t of the last layer at every step" + (", both directions" if D > 1 else "")),
            SeqTensor("h_n", (D * L, n, r), "final h of every layer and direction"),
        ]
        if lstm:
            out.append(SeqTensor("c_n", (D * L, n, h), "final c of every layer and direction"))
        last = "output[:, -1]" if config.batch_first else "output[-1]"
        reads = (f"{last}, the output at the last time step",
                 "h_n[-1]" if D == 1 else "h_n[-2] and h_n[-1] side by side, the last layer's final states")
    elif fw == "keras":
        out += [
            SeqTensor("input", (n, t, x), "the input sequence"),
            SeqTensor("output", (n, D * h), "the last layer's final output (return_sequences=False)"),
            SeqTensor("sequences", (n, t, D * h), "the last layer's output at every step (return_sequences=True)"),
        ]
        sides = ("forward_", "backward_") if D > 1 else ("",)
        for side in sides:
            out.append(SeqTensor(f"{side}state_h", (n, h), "final h (return_state=True)"))
            if lstm:
                out.append(SeqTensor(f"{side}state_c", (n, h), "final c (return_state=True)"))
        reads = ("sequences[:, -1], the output at the last step (return_sequences=True)",
                 "output" + (", Bidirectional's final states" if D > 1 else ""))
    elif fw == "tf1":
        out.append(SeqTensor("inputs", (*bt, x), "the input sequence" + ("" if config.batch_first else " (time_major=True)")))
        if D > 1 and L == 1:  # bidirectional_dynamic_rnn returns the two directions apart
            out += [
                SeqTensor("outputs_fw", (*bt, r), "forward h_t at every step"),
                SeqTensor("outputs_bw", (*bt, r), "backward h_t at every step, in input order"),
            ]
        else:
            what = "h_t of the last layer at every step" + (", both directions side by side" if D > 1 else "")
            out.append(SeqTensor("outputs", (*bt, D * r), what))
        for d in range(D):
            side = ("_fw", "_bw")[d] if D > 1 else ""
            for k in range(L):
                at = f"state{side}" + (f"[{k}]" if L > 1 else "")
                if lstm:
                    out.append(SeqTensor(f"{at}.c", (n, h), "final c"))
                    out.append(SeqTensor(f"{at}.h", (n, r), "final h"))
                else:
                    out.append(SeqTensor(at, (n, h), "final h"))
        reads = ("outputs at the last time step",
                 "the final state's h" + (" of each direction, side by side" if D > 1 else ""))
    else:
        yd = (n, t, D, h) if config.batch_first else (t, D, n, h)
        sd = (n, D, h) if config.batch_first else (D, n, h)
        layout = " (layout=1)" if config.batch_first else ""
        out += [
            SeqTensor("X", (*bt, x), "the input sequence" + layout),
            SeqTensor("Y", yd, "h_t of the last layer at every step, per direction"),
            SeqTensor("Y_h", sd, "final h of the last layer"),
        ]
        if lstm:
            out.append(SeqTensor("Y_c", sd, "final c of the last layer"))
        reads = ("Y at the last time step", "Y_h" + (", both directions side by side" if D > 1 else ""))
    if config.out is not None:
        what = reads[config.head_reads == "final-states"]
        out.append(SeqTensor("logits", (n, config.out), f"the head applied to {what}"))
        if config.head_activation in HEAD_OUTPUTS:
            out.append(SeqTensor("probs", (n, config.out), HEAD_OUTPUTS[config.head_activation]))
    return tuple(out)


HEAD_OUTPUTS = {"softmax": "softmax(logits)", "sigmoid": "σ(logits)"}
# What the head reads in each framework: (the last step's output, each direction's final state).
HEAD_READS = {
    "pytorch": ("output[-1]", "h_n[-2] and h_n[-1] side by side"),
    "keras": ("sequences[:, -1] (return_sequences=True)", "the layer's output (Bidirectional's final states)"),
    "tf1": ("outputs[:, -1]", "the final states"),
    "onnx": ("Y[-1]", "Y_h"),
}


def notes(config: Config) -> tuple[str, ...]:
    """What a reader of this framework's tables should know."""
    fw = config.framework
    said: list[str] = []
    if fw == "pytorch" and config.bias:
        said.append("PyTorch keeps two biases per gate, bias_ih and bias_hh (for cuDNN); they only ever appear summed.")
    if fw == "tf1" and config.cell == "lstm":
        said.append("TF1 adds forget_bias (1.0 by default) to the forget gate at run time; it is not a variable.")
    if fw == "onnx" and config.bias:
        said.append("ONNX's B holds the input-side biases (Wb) then the recurrent-side ones (Rb) of every gate.")
    if fw == "onnx" and config.layers > 1:
        said.append("ONNX's recurrent operators have one layer each: a stack is one operator per layer.")
    if config.cell == "gru":
        where = "r ⊙ (U·h_prev + b)" if config.reset_after else "(r ⊙ h_prev)·U"
        said.append(f"The GRU candidate applies the reset gate as {where}.")
    if fw == "onnx" and config.batch_first:
        said.append("onnxruntime refuses layout=1 (batch-first) for LSTM, GRU and RNN, though the ONNX standard "
                    "allows it; its reference evaluator runs it. Transpose to layout=0 for onnxruntime.")
    if config.out is not None:
        said += head_notes(config)
    return tuple(said)


def head_notes(config: Config) -> list[str]:
    """What the dense head reads, where that matters, and a softmax that cannot mean anything."""
    said = []
    last, final = HEAD_READS[config.framework]
    if config.bidirectional and config.head_reads == "last-step":
        said.append(f"The head reads {last}, the last time step's output: its backward half has seen only that one "
                    f"step, so it is not the backward direction's final state. --head-reads final-states reads "
                    f"{final} instead.")
    elif config.bidirectional:
        said.append(f"The head reads {final}: the forward direction's state after the last step and the backward "
                    f"direction's after the first. --head-reads last-step reads {last} instead.")
    if config.head_activation == "softmax" and config.out == 1:
        said.append("A softmax over one output is always 1.0; for one output use --head-activation sigmoid or none.")
    return said
