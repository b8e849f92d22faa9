"""Paddle: paddle.nn.LSTM, GRU and SimpleRNN, with an nn.Linear head in one nn.Layer beside them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..params import Block, Weight
from .base import Dim, Framework, Place, SeqTensor
from .pytorch import module_list_note, stacked_symbol, stacked_weights

if TYPE_CHECKING:
    from ..config import Config

# A layer's cells as its sublayers name them (`0.cell.weight_ih`, `1.cell_bw.bias_hh`), and the
# aliases nn.LSTM also registers on itself for the cuDNN kernel (`weight_ih_l0_reverse`).
# With layers of their own sizes, one module each in a LayerList: `1.0.cell.weight_ih`.
CELL = r"(?:rnn\.)?(?:(\d+)\.)?(\d+)\.cell(_fw|_bw)?\.(weight_ih|weight_hh|bias_ih|bias_hh|weight_ho)"
ALIAS = r"(?:rnn\.)?(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)(_reverse)?"
HEAD = {"head_weight": "head.weight", "head_bias": "head.bias"}


class Paddle(Framework):
    name = "paddle"
    title = "Paddle"
    short = "Paddle"
    gates = {
        "lstm": (("i_t", "i"), ("f_t", "f"), ("g_t", "g"), ("o_t", "o")),
        "gru": (("r_t", "r"), ("z_t", "z"), ("n_t", "c")),
    }
    kinds = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_ho")
    has_proj = True
    proj_below_hidden = True
    reset_after_choices = (True,)
    reset_after_default = True
    batch_first_choices = (True, False)  # time_major=False (the default) or True
    layout_argument = "time_major"
    batch_first_default = True
    head_reads_texts = ("outputs[:, -1]", "the last layer's final h of both directions side by side")
    every_step_text = "outputs"
    gru_update_ops = 3  # its GRUCell computes (h_prev − c)⊙z + c
    head_transposed = False  # nn.Linear keeps its weight (in, out)
    head_words = ("weight", "bias")

    def biases_per_gate(self, config: Config) -> int:
        return 2  # bias_ih and bias_hh; bias_ih_attr=False only freezes them at zero

    def bias_where(self, config: Config) -> str:
        return " (bias_ih and bias_hh)"

    def tensor_name(self, config: Config, layer: int | None, direction: int | None, kind: str) -> str:
        if layer is None:
            return HEAD[kind]
        # With a head, the names are those of one nn.Layer holding both: `rnn.0.cell.weight_ih`, `head.weight`.
        module = "rnn." if config.out is not None else ""
        cell = ("cell_fw", "cell_bw")[direction or 0] if config.bidirectional else "cell"
        if config.per_layer:  # layers of their own sizes: one nn.LSTM each, in an nn.LayerList
            return f"{module}{layer}.0.{cell}.{kind}"
        return f"{module}{layer}.{cell}.{kind}"

    def parse_name(self, name: str) -> Place | None:
        for kind, text in HEAD.items():
            if name == text:
                return (None, None, kind)
        m = re.fullmatch(CELL, name)
        if m is not None:
            if m[1] is not None and m[2] != "0":  # a module of the list holds one layer
                return None
            return (int(m[1] if m[1] is not None else m[2]), 1 if m[3] == "_bw" else 0, m[4])
        m = re.fullmatch(ALIAS, name)
        return None if m is None else (int(m[2]), 1 if m[3] else 0, m[1])

    def is_alias(self, name: str) -> bool:
        return re.fullmatch(ALIAS, name) is not None  # state_dict()'s weight_ih_l0 beside 0.cell.weight_ih

    def short_name(self, name: str) -> str:
        m = re.fullmatch(CELL, name)
        return name if m is None else name[m.end(2) + 1 :]  # `cell_fw.weight_ih`: the layer's index dropped

    def symbol(self, block: Block) -> str:
        return stacked_symbol(block, "W_ho")

    def weights(self, config: Config) -> tuple[Weight, ...]:
        # bias_ih_attr=False only freezes the biases, so config.bias is always true here; h_t = (o ⊙ tanh(c))·weight_ho,
        # kept (h, p), not transposed.
        return stacked_weights(self, config, "weight_ho", transposed=False)

    def returns(self, config: Config, n: Dim, t: Dim) -> list[SeqTensor]:
        x, h, r, D, L = config.input, config.top_hidden, config.recurrent, config.directions, config.layers
        bt = (n, t) if config.batch_first else (t, n)
        major = "" if config.batch_first else " (time_major=True)"
        out = [
            SeqTensor("input", (*bt, x), "the input sequence" + major),
            SeqTensor("outputs", (*bt, D * r), "h_t of the last layer at every step" + (", both directions" if D > 1 else "")),
        ]
        if config.per_layer:  # each module returns its own states
            for k in range(L):
                h_k, r_k, of = config.layer_hidden(k), config.layer_recurrent(k), f" of layer {k}"
                if config.cell == "lstm":
                    out.append(SeqTensor(f"final_states[0]{of}", (D, n, r_k), f"final h of module {k}"))
                    out.append(SeqTensor(f"final_states[1]{of}", (D, n, h_k), f"final c of module {k}"))
                else:
                    out.append(SeqTensor(f"final_states{of}", (D, n, h_k), f"final h of module {k}"))
            return out
        if config.cell == "lstm":
            out.append(SeqTensor("final_states[0]", (L * D, n, r), "final h of every layer and direction"))
            out.append(SeqTensor("final_states[1]", (L * D, n, h), "final c of every layer and direction"))
        else:
            out.append(SeqTensor("final_states", (L * D, n, h), "final h of every layer and direction"))
        return out

    def reads(self, config: Config) -> tuple[str, str]:
        last = "outputs[:, -1]" if config.batch_first else "outputs[-1]"
        h_n = "final_states[0]" if config.cell == "lstm" else "final_states"
        if config.per_layer:
            h_n = f"({h_n} of layer {config.layers - 1})"
        return (f"{last}, the output at the last time step",
                f"{h_n}[-1]" if config.directions == 1 else f"{h_n}[-2] and {h_n}[-1] side by side, the last layer's final states")

    def returned(self, config: Config, run: Any, np: Any) -> dict[str, Any]:
        top = run.layer_outputs[-1]
        out = {"outputs": top.transpose(1, 0, 2) if config.batch_first else top}
        if config.per_layer:
            for k, layer in enumerate(run.finals):
                of = f" of layer {k}"
                if config.cell == "lstm":
                    out[f"final_states[0]{of}"] = np.stack([hc[0] for hc in layer])
                    out[f"final_states[1]{of}"] = np.stack([hc[1] for hc in layer])
                else:
                    out[f"final_states{of}"] = np.stack([hc[0] for hc in layer])
            return out
        h_n = np.stack([hc[0] for layer in run.finals for hc in layer])
        if config.cell == "lstm":
            out["final_states[0]"] = h_n
            out["final_states[1]"] = np.stack([hc[1] for layer in run.finals for hc in layer])
        else:
            out["final_states"] = h_n
        return out

    def constructor(self, config: Config) -> tuple[str, ...]:
        kind = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}[config.cell]
        extra = [('direction="bidirect"', config.bidirectional), ("time_major=True", not config.batch_first),
                 (f"proj_size={config.proj}", config.proj is not None)]
        tail = "".join(f", {text}" for text, on in extra if on)
        if config.per_layer:
            return tuple(f"paddle.nn.{kind}({config.layer_input(k)}, {config.layer_hidden(k)}{tail})"
                         for k in range(config.layers))
        layers = f", num_layers={config.layers}" if config.layers > 1 else ""
        return (f"paddle.nn.{kind}({config.input}, {config.hidden}{layers}{tail})",)

    def weight_notes(self, config: Config) -> list[str]:
        said = [module_list_note(config, "paddle.nn", "LayerList")] if config.per_layer else []
        said += ["Paddle keeps two biases per gate, bias_ih and bias_hh; they only ever appear summed. "
                "bias_ih_attr=False keeps them as frozen zeros, still in the state_dict."]
        at = self._alias_prefix(config, "k") if config.per_layer else ""
        aliases = ", ".join(f"{at}{kind}_l0" for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        whose = "each module's" if config.per_layer else "the layer's"
        said.append(f"state_dict() also lists the cells' tensors under {whose} aliases {aliases} (_reverse for the "
                    "backward cells): the same tensors twice, counted once here.")
        if config.proj is not None:
            said.append("weight_ho has no alias." + self._alias_shift(config))
        return said

    @staticmethod
    def _alias_prefix(config: Config, layer: int | str) -> str:
        """What precedes a layer's aliases: `rnn.` beside a head, and the module's index in a LayerList."""
        return ("rnn." if config.out is not None else "") + (f"{layer}." if config.per_layer else "")

    def _alias_shift(self, config: Config) -> str:
        """Which alias first lands on a weight_ho: the aliases are handed out in order and weight_ho takes no name."""
        if config.bidirectional:  # the forward cell's weight_ho takes the first reverse alias
            alias = f"{self._alias_prefix(config, 0)}weight_ih_l0_reverse"
        elif config.layers > 1 and not config.per_layer:  # one module's layer 1 starts on layer 0's weight_ho
            alias = f"{self._alias_prefix(config, 0)}weight_ih_l1"
        else:
            return ""
        cell = self.tensor_name(config, 0, 0, "weight_ho")
        return f" So Paddle's later aliases shift: {alias} is {cell}, not what its name says. Go by the cells' names."
