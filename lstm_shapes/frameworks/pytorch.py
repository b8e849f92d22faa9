"""PyTorch: nn.LSTM, nn.GRU and nn.RNN, with an nn.Linear head in one module beside them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..params import Block, Weight, hidden_expr, layer_input_expr, part_name, recurrent_expr, weight
from .base import Dim, Framework, Place, SeqTensor

if TYPE_CHECKING:
    from ..config import Config

# `weight_ih_l1` in one nn.LSTM; `1.weight_ih_l0` where each layer is its own module in a ModuleList.
NAME = r"(?:rnn\.)?(?:(\d+)\.)?(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?"
HEAD = {"head_weight": "head.weight", "head_bias": "head.bias"}


class PyTorch(Framework):
    name = "pytorch"
    title = "PyTorch"
    short = "PyTorch"
    gates = {
        "lstm": (("i_t", "i"), ("f_t", "f"), ("g_t", "g"), ("o_t", "o")),
        "gru": (("r_t", "r"), ("z_t", "z"), ("n_t", "n")),
    }
    kinds = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
    has_proj = True
    proj_below_hidden = True
    has_no_bias = True
    reset_after_choices = (True,)
    reset_after_default = True
    batch_first_choices = (False, True)
    layout_argument = "batch_first"
    batch_first_default = False
    head_reads_texts = ("output[-1]", "h_n[-2] and h_n[-1] side by side")
    gru_update_ops = 3  # its kernel computes n + z⊙(h−n)
    library = "PyTorch"
    layer_classes = {"lstm": "nn.LSTM", "gru": "nn.GRU", "rnn": "nn.RNN"}
    arguments = {"input": "input_size", "hidden": "hidden_size", "layers": "num_layers", "bidirectional": "bidirectional",
                 "proj": "proj_size", "bias": "bias", "batch_first": "batch_first"}

    def biases_per_gate(self, config: Config) -> int:
        return 2 if config.bias else 0  # bias_ih and bias_hh, kept apart for cuDNN

    def bias_where(self, config: Config) -> str:
        return " (bias_ih and bias_hh)"

    def tensor_name(self, config: Config, layer: int | None, direction: int | None, kind: str) -> str:
        if layer is None:
            return HEAD[kind]
        # With a head, the names are those of one nn.Module holding both: `rnn.weight_ih_l0`, `head.weight`.
        module = "rnn." if config.out is not None else ""
        reverse = "_reverse" if direction else ""
        if config.per_layer:  # layers of their own sizes: one nn.LSTM each, in an nn.ModuleList
            return f"{module}{layer}.{kind}_l0{reverse}"
        return f"{module}{kind}_l{layer}{reverse}"

    def parse_name(self, name: str) -> Place | None:
        for kind, text in HEAD.items():
            if name == text:
                return (None, None, kind)
        m = re.fullmatch(NAME, name)
        if m is None or (m[1] is not None and m[3] != "0"):  # a module of the list holds one layer
            return None
        return (int(m[1] if m[1] is not None else m[3]), 1 if m[4] else 0, m[2])

    def symbol(self, block: Block) -> str:
        return stacked_symbol(block, "W_hr")

    def weights(self, config: Config) -> tuple[Weight, ...]:
        return stacked_weights(self, config, "weight_hr", transposed=True)

    def returns(self, config: Config, n: Dim, t: Dim) -> list[SeqTensor]:
        x, h, r, D, L = config.input, config.top_hidden, config.recurrent, config.directions, config.layers
        bt = (n, t) if config.batch_first else (t, n)
        out = [
            SeqTensor("input", (*bt, x), "the input sequence"),
            SeqTensor("output", (*bt, D * r), "h_t of the last layer at every step" + (", both directions" if D > 1 else "")),
        ]
        if config.per_layer:  # each module returns its own states
            for k in range(L):
                out.append(SeqTensor(f"h_n of layer {k}", (D, n, config.layer_recurrent(k)), f"final h of module {k}"))
                if config.cell == "lstm":
                    out.append(SeqTensor(f"c_n of layer {k}", (D, n, config.layer_hidden(k)), f"final c of module {k}"))
            return out
        out.append(SeqTensor("h_n", (D * L, n, r), "final h of every layer and direction"))
        if config.cell == "lstm":
            out.append(SeqTensor("c_n", (D * L, n, h), "final c of every layer and direction"))
        return out

    def reads(self, config: Config) -> tuple[str, str]:
        last = "output[:, -1]" if config.batch_first else "output[-1]"
        h_n = f"h_n of layer {config.layers - 1}" if config.per_layer else "h_n"
        return (f"{last}, the output at the last time step",
                f"{h_n}[-1]" if config.directions == 1 else f"{h_n}[-2] and {h_n}[-1] side by side, the last layer's final states")

    def returned(self, config: Config, run: Any, np: Any) -> dict[str, Any]:
        top = run.layer_outputs[-1]
        out = {"output": top.transpose(1, 0, 2) if config.batch_first else top}
        if config.per_layer:
            for k, layer in enumerate(run.finals):
                out[f"h_n of layer {k}"] = np.stack([hc[0] for hc in layer])
                if config.cell == "lstm":
                    out[f"c_n of layer {k}"] = np.stack([hc[1] for hc in layer])
            return out
        out["h_n"] = np.stack([hc[0] for layer in run.finals for hc in layer])
        if config.cell == "lstm":
            out["c_n"] = np.stack([hc[1] for layer in run.finals for hc in layer])
        return out

    def constructor(self, config: Config) -> tuple[str, ...]:
        kind = self.layer_classes[config.cell]
        extra = [("bias=False", not config.bias), ("batch_first=True", config.batch_first),
                 ("bidirectional=True", config.bidirectional), (f"proj_size={config.proj}", config.proj is not None)]
        tail = "".join(f", {text}" for text, on in extra if on)
        if config.per_layer:
            return tuple(f"{kind}({config.layer_input(k)}, {config.layer_hidden(k)}{tail})" for k in range(config.layers))
        layers = f", num_layers={config.layers}" if config.layers > 1 else ""
        return (f"{kind}({config.input}, {config.hidden}{layers}{tail})",)

    def weight_notes(self, config: Config) -> list[str]:
        said = []
        if config.per_layer:
            said.append(module_list_note(config, "nn", "ModuleList"))
        if config.bias:
            said.append("PyTorch keeps two biases per gate, bias_ih and bias_hh (for cuDNN); they only ever appear summed.")
        return said


def module_list_note(config: Config, nn: str, holder: str) -> str:
    """How layers of different sizes are written where one module's layers share a size (PyTorch, Paddle)."""
    kind = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN" if nn == "nn" else "SimpleRNN"}[config.cell]
    modules = ", ".join(f"{nn}.{kind}({config.layer_input(k)}, {config.layer_hidden(k)}, ...)" for k in range(config.layers))
    where = "rnn" if config.out is not None else "the list"
    article = "an" if nn == "nn" else "a"  # an nn.ModuleList, a paddle.nn.LayerList
    return (f"The layers differ in size, which num_layers cannot say: each is its own {nn}.{kind}, kept in {article} "
            f"{nn}.{holder} ({where} = {nn}.{holder}([{modules}])) and fed the previous one's output.")


def stacked_symbol(block: Block, proj: str) -> str:
    """PyTorch's own names for a block (W_if, b_hf, ...), which Paddle shares; `proj` names the projection."""
    ltr, kind = block.letter, block.kind
    if not ltr and kind in ("W", "U", "bx", "bh"):
        # An RNN has no gates: PyTorch (and Paddle) write W_ih, W_hh, b_ih, b_hh.
        return {"W": "W_ih", "U": "W_hh", "bx": "b_ih", "bh": "b_hh"}[kind]
    return {"W": f"W_i{ltr}", "U": f"W_h{ltr}", "bx": f"b_i{ltr}", "bh": f"b_h{ltr}", "proj": proj}.get(kind, kind)


def stacked_weights(fw: Framework, config: Config, proj: str, *, transposed: bool) -> tuple[Weight, ...]:
    """Every layer and direction as PyTorch (and Paddle) store them: weight_ih (G·h, in), weight_hh (G·h, r),
    bias_ih and bias_hh (G·h,), and the projection `proj`, stored (r, h) when `transposed` else (h, r)."""
    g = config.gates
    out: list[Weight] = []
    for k in range(config.layers):
        part, inp = part_name(config, k), layer_input_expr(config, k)
        h, r = hidden_expr(config, k), recurrent_expr(config, k)
        for d in range(config.directions):
            def named(kind: str) -> str:
                return fw.tensor_name(config, k, d, kind)
            out.append(weight(config, named("weight_ih"), part, (g * h, inp), fw.stacked(config, "W", layer=k), k, d))
            out.append(weight(config, named("weight_hh"), part, (g * h, r), fw.stacked(config, "U", layer=k), k, d))
            if config.bias:
                for kind, block in (("bias_ih", "bx"), ("bias_hh", "bh")):
                    blocks = fw.stacked(config, block, trailing=False, layer=k)
                    out.append(weight(config, named(kind), part, (g * h,), blocks, k, d))
            if config.proj is not None:
                blocks = [Block("proj", "", "", (None, None), transposed)]
                out.append(weight(config, named(proj), part, (r, h) if transposed else (h, r), blocks, k, d))
    return tuple(out + fw.dense_head(config))
