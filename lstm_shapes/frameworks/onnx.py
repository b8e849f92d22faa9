"""ONNX: the LSTM, GRU and RNN operators, one per layer, each holding both directions."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..params import Block, Weight, hidden_expr, layer_input_expr, part_name, weight
from .base import Dim, Framework, Place, SeqTensor, _cols

if TYPE_CHECKING:
    from ..config import Config

PEEPHOLES = (("i_t", "i"), ("o_t", "o"), ("f_t", "f"))  # P keeps them in the order i, o, f
NAME = r"([WRBP])(?:_l(\d+))?"
HEAD = {"head_weight": "head.weight", "head_bias": "head.bias"}


class ONNX(Framework):
    name = "onnx"
    title = "ONNX"
    short = "ONNX"
    gates = {
        "lstm": (("i_t", "i"), ("o_t", "o"), ("f_t", "f"), ("g_t", "c")),
        "gru": (("z_t", "z"), ("r_t", "r"), ("n_t", "h")),
    }
    peephole_order = PEEPHOLES
    kinds = ("W", "R", "B", "P")
    has_peepholes = True
    has_no_bias = True
    reset_after_choices = (False, True)  # linear_before_reset=0 or 1
    batch_first_choices = (False, True)  # layout=0 or 1
    layout_argument = "layout"
    batch_first_default = False
    head_reads_texts = ("Y[-1]", "Y_h")
    directions_in_one_tensor = True
    onnx_model = True

    def biases_per_gate(self, config: Config) -> int:
        return 2 if config.bias else 0  # Wb and Rb

    def bias_where(self, config: Config) -> str:
        return " (Wb and Rb, both in B)"

    def tensor_name(self, config: Config, layer: int | None, direction: int | None, kind: str) -> str:
        if layer is None:
            return HEAD[kind]
        return kind if config.layers == 1 else f"{kind}_l{layer}"

    def parse_name(self, name: str) -> Place | None:
        for kind, text in HEAD.items():
            if name == text:
                return (None, None, kind)
        m = re.fullmatch(NAME, name)
        return None if m is None else (int(m[2] or 0), None, m[1])

    def tell_apart(self, config: Config, field: str) -> str:
        if field == "reset_after":
            return (f"ONNX GRU: the node's linear_before_reset attribute (0 or 1) is not in the weights; "
                    f"this is linear_before_reset={int(bool(config.reset_after))}.")
        return super().tell_apart(config, field)

    def symbol(self, block: Block) -> str:
        sub = f"_{block.letter}" if block.letter else ""
        return {"W": f"W{sub}", "U": f"R{sub}", "bx": f"Wb{sub}", "bh": f"Rb{sub}", "P": f"P{sub}"}.get(block.kind, block.kind)

    def weights(self, config: Config) -> tuple[Weight, ...]:
        g, D = config.gates, config.directions
        out: list[Weight] = []
        for k in range(config.layers):
            part, inp = part_name(config, k), layer_input_expr(config, k)
            h, H = config.layer_hidden(k), hidden_expr(config, k)

            def named(kind: str) -> str:
                return self.tensor_name(config, k, None, kind)
            # One tensor holds both directions: index 0 forward, 1 reverse.
            out.append(weight(config, named("W"), part, (D, g * H, inp), self.stacked(config, "W", lead=("d",), layer=k), k))
            out.append(weight(config, named("R"), part, (D, g * H, H), self.stacked(config, "U", lead=("d",), layer=k), k))
            if config.bias:
                blocks = self.stacked(config, "bx", lead=("d",), trailing=False, layer=k)
                blocks += self.stacked(config, "bh", lead=("d",), offset=g, trailing=False, layer=k)
                out.append(weight(config, named("B"), part, (D, 2 * g * H), blocks, k))
            if config.peepholes:
                blocks = [Block("P", n, ltr, ("d", _cols(j, h)), False) for j, (n, ltr) in enumerate(PEEPHOLES)]
                out.append(weight(config, named("P"), part, (D, 3 * H), blocks, k))
        return tuple(out + self.dense_head(config))

    def returns(self, config: Config, n: Dim, t: Dim) -> list[SeqTensor]:
        x, h, D = config.input, config.top_hidden, config.directions
        bt = (n, t) if config.batch_first else (t, n)
        yd = (n, t, D, h) if config.batch_first else (t, D, n, h)
        sd = (n, D, h) if config.batch_first else (D, n, h)
        layout = " (layout=1)" if config.batch_first else ""
        out = [
            SeqTensor("X", (*bt, x), "the input sequence" + layout),
            SeqTensor("Y", yd, "h_t of the last layer at every step, per direction"),
            SeqTensor("Y_h", sd, "final h of the last layer"),
        ]
        if config.cell == "lstm":
            out.append(SeqTensor("Y_c", sd, "final c of the last layer"))
        return out

    def every_step(self, config: Config) -> str:
        # The head's MatMul needs one row per step and batch: Y's direction axis goes into the features.
        if config.batch_first:
            return "Y as (N, T, D·h) (a Reshape)"
        return "Y as (T, N, D·h) (Transpose perm [0, 2, 1, 3], then Reshape)"

    def reads(self, config: Config) -> tuple[str, str]:
        return ("Y at the last time step", "Y_h" + (", both directions side by side" if config.directions > 1 else ""))

    def returned(self, config: Config, run: Any, np: Any) -> dict[str, Any]:
        top, last = run.layer_outputs[-1], run.finals[-1]
        steps, batch = top.shape[0], top.shape[1]
        y = top.reshape(steps, batch, config.directions, config.top_hidden).transpose(0, 2, 1, 3)  # [T, D, N, h]
        y_h = np.stack([hc[0] for hc in last])  # [D, N, h]
        if config.batch_first:
            out = {"Y": y.transpose(2, 0, 1, 3), "Y_h": y_h.transpose(1, 0, 2)}
        else:
            out = {"Y": y, "Y_h": y_h}
        if config.cell == "lstm":
            y_c = np.stack([hc[1] for hc in last])
            out["Y_c"] = y_c.transpose(1, 0, 2) if config.batch_first else y_c
        return out

    def constructor(self, config: Config) -> tuple[str, ...]:
        kind = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}[config.cell]
        extra = "".join(f", {text}" for text, on in (('direction="bidirectional"', config.bidirectional),
                                                        ("linear_before_reset=1", config.cell == "gru" and bool(config.reset_after)),
                                                        ("layout=1", bool(config.batch_first))) if on)
        return tuple(f'onnx.helper.make_node("{kind}", ..., hidden_size={config.layer_hidden(k)}{extra})'
                     for k in range(config.layers))

    def weight_notes(self, config: Config) -> list[str]:
        said = []
        if config.bias:
            said.append("ONNX's B holds the input-side biases (Wb) then the recurrent-side ones (Rb) of every gate.")
        if config.layers > 1:
            said.append("ONNX's recurrent operators have one layer each: a stack is one operator per layer.")
        return said

    def layout_notes(self, config: Config) -> list[str]:
        if not config.batch_first:
            return []
        return ["onnxruntime refuses layout=1 (batch-first) for LSTM, GRU and RNN, though the ONNX standard "
                "allows it; its reference evaluator runs it. Transpose to layout=0 for onnxruntime."]
