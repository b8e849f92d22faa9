"""Keras 3 (and tf.keras 2): LSTM, GRU and SimpleRNN layers, Bidirectional, a Dense head."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..params import Weight, hidden_expr, layer_input_expr, part_name, weight
from .base import Dim, Framework, Place, SeqTensor, merge

if TYPE_CHECKING:
    from ..config import Config

# The head's variables, by kind; the layers' are made by Keras.tensor_name.
HEAD = {"head_weight": "dense/kernel", "head_bias": "dense/bias"}


class Keras(Framework):
    name = "keras"
    title = "Keras 3 / TF2"
    short = "Keras"
    gates = {
        "lstm": (("i_t", "i"), ("f_t", "f"), ("g_t", "c"), ("o_t", "o")),
        "gru": (("z_t", "z"), ("r_t", "r"), ("n_t", "h")),
    }
    kinds = ("kernel", "recurrent_kernel", "bias")
    has_no_bias = True
    reset_after_choices = (True, False)
    reset_after_default = True
    head_reads_default = "final-states"
    merge_modes = ("concat", "sum", "mul", "ave", "none")
    head_reads_texts = ("sequences[:, -1] (return_sequences=True)", "the layer's output (Bidirectional's final states)")
    every_step_text = "sequences (return_sequences=True)"
    time_distributed = "time_distributed/dense/"  # the head's scope when wrapped in TimeDistributed
    head_prefix = "dense/"
    head_transposed = False
    head_name = "dense"
    library = "Keras 3"
    layer_classes = {"lstm": "keras.layers.LSTM", "gru": "keras.layers.GRU", "rnn": "keras.layers.SimpleRNN"}
    arguments = {"hidden": "units", "bias": "use_bias", "reset_after": "reset_after"}

    def biases_per_gate(self, config: Config) -> int:
        if config.bias and config.cell == "gru" and config.reset_after:
            return 2  # one row for the input side, one for the recurrent side
        return super().biases_per_gate(config)

    def bias_where(self, config: Config) -> str:
        return " (the two rows of bias, reset_after=True)" if self.biases_per_gate(config) == 2 else ""

    # How the variables are named: each cell's layer, whether the cell has a scope of its own
    # (`lstm/lstm_cell/kernel`), and what follows the name (tf.keras 2's `:0`).
    layer_names = {"lstm": "lstm", "gru": "gru", "rnn": "simple_rnn"}  # also the layers' h5 groups
    cell_scope = True
    keras_h5 = True
    suffix = ""

    def tensor_name(self, config: Config, layer: int | None, direction: int | None, kind: str) -> str:
        if layer is None:
            return HEAD[kind] + self.suffix
        base, sfx = self.layer_names[config.cell], "" if layer == 0 else f"_{layer}"
        path = f"{base}{sfx}/" + (f"{base}_cell/" if self.cell_scope else "") + kind + self.suffix
        if config.bidirectional:
            return f"bidirectional{sfx}/{'forward' if direction == 0 else 'backward'}_{path}"
        return path

    def parse_name(self, name: str) -> Place | None:
        for kind, text in HEAD.items():
            if name == text + self.suffix:
                return (None, None, kind)
        # A pattern, not a compiled one: re compiles and caches it on first use, not at every start-up.
        layers = "|".join(dict.fromkeys(self.layer_names.values()))
        cell = r"\3_cell/" if self.cell_scope else ""
        m = re.fullmatch(rf"(?:bidirectional(?:_(\d+))?/(forward|backward)_)?({layers})(?:_(\d+))?/{cell}"
                         rf"(kernel|recurrent_kernel|bias){re.escape(self.suffix)}", name)
        if m is None or (m[2] and m[1] != m[4]):  # Bidirectional and its layer carry the same suffix
            return None
        return (int(m[4] or 0), ("forward", "backward").index(m[2]) if m[2] else 0, m[5])

    def weights(self, config: Config) -> tuple[Weight, ...]:
        g = config.gates
        out: list[Weight] = []
        for k in range(config.layers):
            inp, part, h = layer_input_expr(config, k), part_name(config, k), hidden_expr(config, k)
            for d in range(config.directions):
                def named(kind: str) -> str:
                    return self.tensor_name(config, k, d, kind)
                out.append(weight(config, named("kernel"), part, (inp, g * h), self.side_by_side(config, "W", layer=k), k, d))
                out.append(weight(config, named("recurrent_kernel"), part, (h, g * h), self.side_by_side(config, "U", layer=k),
                                  k, d))
                if self.biases_per_gate(config) == 2:
                    blocks = (self.side_by_side(config, "bx", rows=(0,), layer=k)
                              + self.side_by_side(config, "bh", rows=(1,), layer=k))
                    out.append(weight(config, named("bias"), part, (2, g * h), blocks, k, d))
                elif config.bias:
                    out.append(weight(config, named("bias"), part, (g * h,), self.side_by_side(config, "b", rows=(), layer=k),
                                      k, d))
        return tuple(out + self.dense_head(config))

    def constructor(self, config: Config) -> tuple[str, ...]:
        lines = []
        for k in range(config.layers):
            options = [(f"use_bias=False", not config.bias),
                       (f"reset_after={config.reset_after}", config.cell == "gru" and config.reset_after != self.reset_after_default),
                       ("return_sequences=True", k < config.layers - 1 or config.head_reads == "every-step")]
            args = "".join(f", {text}" for text, on in options if on and text in self.constructor_options)
            layer = f"{self.layer_classes[config.cell]}({config.layer_hidden(k)}{args})"
            if config.bidirectional:
                mode = "" if config.merge_mode == "concat" else (
                    ", merge_mode=None" if config.merge_mode == "none" else f', merge_mode="{config.merge_mode}"')
                layer = f"{self.layer_classes[config.cell].rsplit('.', 1)[0]}.Bidirectional({layer}{mode})"
            lines.append(layer)
        return tuple(lines)

    constructor_options = ("use_bias=False", "reset_after=False", "reset_after=True", "return_sequences=True")

    def returns(self, config: Config, n: Dim, t: Dim) -> list[SeqTensor]:
        x, h, D = config.input, config.top_hidden, config.directions
        w = config.merged * h
        out = [SeqTensor("input", (n, t, x), "the input sequence")]
        if config.merge_mode == "none":  # Bidirectional(merge_mode=None) returns [forward, backward]
            for side in ("forward", "backward"):
                out.append(SeqTensor(f"{side}_output", (n, h), f"the {side} direction's final output (return_sequences=False)"))
                out.append(SeqTensor(f"{side}_sequences", (n, t, h), f"the {side} direction's output at every step (return_sequences=True)"))
        else:
            out.append(SeqTensor("output", (n, w), "the last layer's final output (return_sequences=False)"))
            out.append(SeqTensor("sequences", (n, t, w), "the last layer's output at every step (return_sequences=True)"))
        for side in ("forward_", "backward_") if D > 1 else ("",):
            out.append(SeqTensor(f"{side}state_h", (n, h), "final h (return_state=True)"))
            if config.cell == "lstm":
                out.append(SeqTensor(f"{side}state_c", (n, h), "final c (return_state=True)"))
        return out

    def reads(self, config: Config) -> tuple[str, str]:
        return ("sequences[:, -1], the output at the last step (return_sequences=True)",
                "output" + (", Bidirectional's final states" if config.directions > 1 else ""))

    def head_notes(self, config: Config) -> list[str]:
        said = super().head_notes(config)
        if config.head_reads == "every-step":
            kinds = ("kernel", "bias") if config.head_bias else ("kernel",)
            names = " and ".join(f"{self.time_distributed}{kind}{self.suffix}" for kind in kinds)
            said.append(f"Dense on a 3-D input applies to its last axis; TimeDistributed(Dense(o)) holds the same "
                        f"{' and '.join(kinds)} and gives the same (B, T, o), named {names}.")
        return said

    def returned(self, config: Config, run: Any, np: Any) -> dict[str, Any]:
        last = run.finals[-1]
        if config.merge_mode == "none":
            h, seq = config.top_hidden, run.layer_outputs[-1].transpose(1, 0, 2)
            out = {"forward_output": last[0][0], "backward_output": last[1][0],
                   "forward_sequences": seq[..., :h], "backward_sequences": seq[..., h:]}
        else:
            out = {"output": merge(config, [hc[0] for hc in last], np),
                   "sequences": run.layer_outputs[-1].transpose(1, 0, 2)}
        for side, (h, c) in zip(("forward_", "backward_") if config.directions > 1 else ("",), last):
            out[f"{side}state_h"] = h
            if c is not None:
                out[f"{side}state_c"] = c
        return out
