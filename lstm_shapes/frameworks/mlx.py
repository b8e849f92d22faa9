"""MLX: mlx.nn.LSTM, GRU and RNN, stacked as a list of layers, with an nn.Linear head."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..params import Block, Weight, hidden_expr, layer_input_expr, part_name, weight
from .base import Dim, Framework, Place, SeqTensor

if TYPE_CHECKING:
    from ..config import Config

# The attribute names of each layer, as tree_flatten(layer.parameters()) lists them.
TENSORS = {"lstm": ("Wx", "Wh", "bias"), "gru": ("Wx", "Wh", "b", "bhn"), "rnn": ("Wxh", "Whh", "bias")}
NAME = r"(?:layers\.(\d+)\.|rnn\.)?(Wxh|Whh|Wx|Wh|bias|bhn|b)"
HEAD = {"head_weight": "head.weight", "head_bias": "head.bias"}


class MLX(Framework):
    name = "mlx"
    title = "MLX"
    short = "MLX"
    gates = {
        "lstm": (("i_t", "i"), ("f_t", "f"), ("g_t", "g"), ("o_t", "o")),
        "gru": (("r_t", "r"), ("z_t", "z"), ("n_t", "n")),
    }
    kinds = ("Wx", "Wh", "bias", "b", "bhn", "Wxh", "Whh")
    has_no_bias = True
    has_bidirectional = False
    reset_after_choices = (True,)
    reset_after_default = True
    head_reads_texts = ("hidden[:, -1]", "hidden[:, -1]")
    every_step_text = "hidden"

    def gate_biases(self, config: Config, gate: str) -> int:
        # b holds every gate's input-side bias; the GRU candidate also has bhn, on its recurrent side only.
        if not config.bias:
            return 0
        return 2 if config.cell == "gru" and gate == "n_t" else 1

    def bias_where(self, config: Config) -> str:
        return " (b), plus bhn on the GRU candidate's recurrent side" if config.bias and config.cell == "gru" else ""

    def tensor_name(self, config: Config, layer: int | None, direction: int | None, kind: str) -> str:
        if layer is None:
            return HEAD[kind]
        # No num_layers: a stack is a model's list `layers`; one layer beside a head is its `rnn`.
        if config.layers > 1:
            return f"layers.{layer}.{kind}"
        return f"rnn.{kind}" if config.out is not None else kind

    def parse_name(self, name: str) -> Place | None:
        for kind, text in HEAD.items():
            if name == text:
                return (None, None, kind)
        m = re.fullmatch(NAME, name)
        return None if m is None else (int(m[1] or 0), 0, m[2])

    def symbol(self, block: Block) -> str:
        ltr, kind = block.letter, block.kind
        if not ltr:  # nn.RNN: W_ih, W_hh and b in its docstring
            return {"W": "W_ih", "U": "W_hh", "b": "b"}.get(kind, kind)
        return {"W": f"W_x{ltr}", "U": f"W_h{ltr}", "b": f"b_{ltr}", "bh": f"b_h{ltr}"}.get(kind, kind)

    def weights(self, config: Config) -> tuple[Weight, ...]:
        g = config.gates
        w_name, u_name, b_name, *rest = TENSORS[config.cell]
        out: list[Weight] = []
        for k in range(config.layers):
            part, inp, H = part_name(config, k), layer_input_expr(config, k), hidden_expr(config, k)

            def named(kind: str) -> str:
                return self.tensor_name(config, k, 0, kind)

            out.append(weight(config, named(w_name), part, (g * H, inp), self.stacked(config, "W", layer=k), k, 0))
            out.append(weight(config, named(u_name), part, (g * H, H), self.stacked(config, "U", layer=k), k, 0))
            if config.bias:
                bias = self.stacked(config, "b", trailing=False, layer=k)
                out.append(weight(config, named(b_name), part, (g * H,), bias, k, 0))
                if rest:
                    bhn = [Block("bh", "n_t", "n", (None,), False)]
                    out.append(weight(config, named(rest[0]), part, (H,), bhn, k, 0))
        return tuple(out + self.dense_head(config))

    def returns(self, config: Config, n: Dim, t: Dim) -> list[SeqTensor]:
        x, h = config.input, config.top_hidden
        top = "the last layer's " if config.layers > 1 else ""
        out = [
            SeqTensor("input", (n, t, x), f"the input sequence (or ({t}, {x}) without a batch)"),
            SeqTensor("hidden", (n, t, h), f"{top}h_t at every step"),
        ]
        if config.cell == "lstm":
            out.append(SeqTensor("cell", (n, t, h), f"{top}c_t at every step (LSTM returns (hidden, cell))"))
        return out

    def reads(self, config: Config) -> tuple[str, str]:
        return ("hidden[:, -1], the output at the last step", "hidden[:, -1], the final state")

    def returned(self, config: Config, run: Any, np: Any) -> dict[str, Any]:
        out = {"hidden": run.layer_outputs[-1].transpose(1, 0, 2)}
        if config.cell == "lstm":
            c_id = f"l{config.layers - 1}.c_t" if config.layers > 1 else "c_t"
            out["cell"] = np.stack([step[c_id] for step in run.steps], axis=1)
        return out

    def constructor(self, config: Config) -> tuple[str, ...]:
        kind = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}[config.cell]
        bias = ", bias=False" if not config.bias else ""
        return tuple(f"mlx.nn.{kind}({config.layer_input(k)}, {config.layer_hidden(k)}{bias})" for k in range(config.layers))

    def weight_notes(self, config: Config) -> list[str]:
        said = []
        if config.layers > 1:
            said.append("MLX's layers have no num_layers: a stack is a list of layers, here a model's `layers`, "
                        "each reading the hidden sequence of the one below.")
        if config.bias and config.cell == "gru":
            said.append("MLX's GRU keeps b for every gate's input side and bhn for the candidate's recurrent side "
                        "only: n_t = tanh(x·W_xn + b_n + r ⊙ (h·W_hn + b_hn)).")
        return said

    def layout_notes(self, config: Config) -> list[str]:
        return ["MLX takes batch-first input (N, L, D), or (L, D) without a batch, and returns h_t at every step."]
