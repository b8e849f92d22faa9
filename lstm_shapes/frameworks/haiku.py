"""Haiku (dm-haiku): hk.LSTM, hk.GRU and hk.VanillaRNN under hk.dynamic_unroll, stacked with hk.DeepRNN.

The model is a function under `hk.transform`: `core = hk.LSTM(h)` (or `hk.DeepRNN([hk.LSTM(h0),
hk.LSTM(h1)])`), `outputs, state = hk.dynamic_unroll(core, inputs, core.initial_state(B))` and a head
`hk.Linear(o)`. Haiku names each module by its class, numbered from the second one on (`lstm`,
`lstm_1`), and a tensor's name here is its module's name and the parameter's, joined by '/', as the
params dict keeps them: `lstm/linear/w`, `gru_1/w_h`, `linear/b`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..params import Block, Weight, hidden_expr, layer_input_expr, part_name, weight
from .base import Dim, Framework, Place, SeqTensor

if TYPE_CHECKING:
    from ..config import Config

MODULE = {"lstm": "lstm", "gru": "gru", "rnn": "vanilla_rnn"}
# Every tensor kind a core holds: hk.LSTM's one hk.Linear over [x, h]; hk.GRU's own w_i, w_h and b;
# hk.VanillaRNN's two hk.Linear (input, then recurrent), a bias each.
KINDS = ("linear/w", "linear/b", "w_i", "w_h", "b", "linear_1/w", "linear_1/b")
NAME = r"(lstm|gru|vanilla_rnn)(?:_([1-9]\d*))?/(linear/w|linear/b|w_i|w_h|b|linear_1/w|linear_1/b)"
HEAD = {"head_weight": "linear/w", "head_bias": "linear/b"}
CLASSES = {"lstm": "hk.LSTM", "gru": "hk.GRU", "rnn": "hk.VanillaRNN"}


class Haiku(Framework):
    name = "haiku"
    title = "Haiku"
    short = "Haiku"
    gates = {
        # hk.LSTM: jnp.split(gated, 4) into i, g, f, o; hk.GRU: z and r, then the candidate a.
        "lstm": (("i_t", "i"), ("g_t", "g"), ("f_t", "f"), ("o_t", "o")),
        "gru": (("z_t", "z"), ("r_t", "r"), ("n_t", "a")),
    }
    kinds = KINDS
    has_bidirectional = False
    reset_after_choices = (False,)  # a_h = (r * state) @ w_h_a
    batch_first_choices = (False, True)  # dynamic_unroll's time_major=True (the default) or False
    layout_argument = "time_major"  # hk.dynamic_unroll(core, inputs, state, time_major=...)
    gru_z_keeps = False  # hk.GRU: h_t = (1 - z)·h_prev + z·a
    rnn_activation = "relu"  # hk.VanillaRNN: h_t = relu(x·W + b + h·U + b_1)
    batch_first_default = False
    head_reads_texts = ("outputs[-1]", "state.hidden")
    every_step_text = "outputs"
    concat = "xh"  # hk.LSTM reads concatenate([inputs, prev_state.hidden])
    forget_bias = 1.0  # hk.LSTM: f = sigmoid(f + 1)
    nested_names = True  # the params dict: {module name: {parameter name: array}}
    head_prefix = "linear/"
    head_transposed = False  # hk.Linear keeps w (in, out)
    head_words = ("w", "b")
    head_name = "linear"
    library = "Haiku"
    layer_classes = CLASSES
    arguments = {"hidden": "hidden_size"}

    def tree_keys(self, name: str) -> tuple[str, ...]:
        # A module's name keeps its '/' (`lstm/linear`): only the parameter's name is a key below it.
        module, _, param = name.rpartition("/")
        return (module, param) if module else (param,)

    def biases_per_gate(self, config: Config) -> int:
        return 2 if config.cell == "rnn" else 1  # VanillaRNN's double_bias=True: one per hk.Linear

    def bias_where(self, config: Config) -> str:
        return " (linear/b and linear_1/b)" if config.cell == "rnn" else ""

    def tensor_name(self, config: Config, layer: int | None, direction: int | None, kind: str) -> str:
        if layer is None:
            return HEAD[kind]
        return f"{MODULE[config.cell]}{f'_{layer}' if layer else ''}/{kind}"

    def parse_name(self, name: str) -> Place | None:
        for kind, text in HEAD.items():
            if name == text:
                return (None, None, kind)
        m = re.fullmatch(NAME, name)
        return None if m is None else (int(m[2] or 0), 0, m[3])

    def short_name(self, name: str) -> str:
        return name.split("/", 1)[-1]

    def symbol(self, block: Block) -> str:
        ltr, kind = block.letter, block.kind
        if not ltr:  # hk.VanillaRNN's docstring: w_i x_t + b_i + w_h h_{t-1} + b_h
            return {"W": "w_i", "U": "w_h", "bx": "b_i", "bh": "b_h"}.get(kind, kind)
        return {"W": f"W_i{ltr}", "U": f"W_h{ltr}", "b": f"b_{ltr}"}.get(kind, kind)  # W_ii, W_hi, b_i

    def weights(self, config: Config) -> tuple[Weight, ...]:
        g = config.gates
        out: list[Weight] = []
        for k in range(config.layers):
            part, inp, H = part_name(config, k), layer_input_expr(config, k), hidden_expr(config, k)
            width, h = config.layer_input(k), config.layer_hidden(k)

            def named(kind: str) -> str:
                return self.tensor_name(config, k, 0, kind)

            def add(kind: str, dims: tuple[Any, ...], blocks: list[Block]) -> None:
                out.append(weight(config, named(kind), part, dims, blocks, k, 0))

            bias = self.side_by_side(config, "b", rows=(), layer=k)
            if config.cell == "lstm":  # the rows 0:x of w read x_t, the rest h_prev
                kernel = (self.side_by_side(config, "W", rows=((0, width),), layer=k)
                          + self.side_by_side(config, "U", rows=((width, width + h),), layer=k))
                add("linear/w", (inp + H, g * H), kernel)
                add("linear/b", (g * H,), bias)
            elif config.cell == "gru":
                add("w_i", (inp, g * H), self.side_by_side(config, "W", layer=k))
                add("w_h", (H, g * H), self.side_by_side(config, "U", layer=k))
                add("b", (g * H,), bias)
            else:
                add("linear/w", (inp, H), [Block("W", "h_t", "", (None, None), False)])
                add("linear/b", (H,), [Block("bx", "h_t", "", (None,), False)])
                add("linear_1/w", (H, H), [Block("U", "h_t", "", (None, None), False)])
                add("linear_1/b", (H,), [Block("bh", "h_t", "", (None,), False)])
        return tuple(out + self.dense_head(config))

    def returns(self, config: Config, n: Dim, t: Dim) -> list[SeqTensor]:
        x, h = config.input, config.top_hidden
        bt = (n, t) if config.batch_first else (t, n)
        major = " (time_major=False)" if config.batch_first else ""
        top = "of the last layer " if config.layers > 1 else ""
        out = [SeqTensor("inputs", (*bt, x), "the input sequence" + major),
               SeqTensor("outputs", (*bt, h), f"h_t {top}at every step")]
        for k in range(config.layers):
            at, size = self._state(config, k), config.layer_hidden(k)
            if config.cell == "lstm":  # LSTMState(hidden, cell)
                out.append(SeqTensor(f"{at}.hidden", (n, size), "final h"))
                out.append(SeqTensor(f"{at}.cell", (n, size), "final c"))
            else:
                out.append(SeqTensor(at, (n, size), "final h"))
        return out

    @staticmethod
    def _state(config: Config, layer: int) -> str:
        """hk.DeepRNN's state is a tuple with one state per core."""
        return f"state[{layer}]" if config.layers > 1 else "state"

    @staticmethod
    def _last(config: Config) -> tuple[str, str]:
        """The last step's output and the last core's final h, as the user's code reads them."""
        final = ("state[-1]" if config.layers > 1 else "state") + (".hidden" if config.cell == "lstm" else "")
        return ("outputs[:, -1]" if config.batch_first else "outputs[-1]", final)

    def head_text(self, config: Config) -> str:
        if config.head_reads == "every-step":
            return self.every_step(config)
        return self._last(config)[config.head_reads == "final-states"]

    def reads(self, config: Config) -> tuple[str, str]:
        last, final = self._last(config)
        return (f"{last}, the output at the last time step", f"{final}, the final h")

    def returned(self, config: Config, run: Any, np: Any) -> dict[str, Any]:
        top = run.layer_outputs[-1]
        out = {"outputs": top.transpose(1, 0, 2) if config.batch_first else top}
        for k in range(config.layers):
            at = self._state(config, k)
            h, c = run.finals[k][0]
            if c is not None:
                out[f"{at}.hidden"], out[f"{at}.cell"] = h, c
            else:
                out[at] = h
        return out

    def constructor(self, config: Config) -> tuple[str, ...]:
        cores = [f"{CLASSES[config.cell]}({config.layer_hidden(k)})" for k in range(config.layers)]
        return (cores[0],) if len(cores) == 1 else (f"hk.DeepRNN([{', '.join(cores)}])",)

    def weight_notes(self, config: Config) -> list[str]:
        said = []
        if config.cell == "lstm":
            said.append("hk.LSTM's one hk.Linear reads [x_t, h_prev]: linear/w's rows for x_t come first, then those "
                        "for h_prev; its 4h columns split as i, g, f, o.")
            said.append("Haiku adds 1 to the forget gate at run time (f = sigmoid(f + 1)); it is not a parameter.")
        elif config.cell == "gru":
            said.append("hk.GRU packs z, r and the candidate a in w_i, w_h and b, in that order.")
            said.append("hk.GRU updates h_t = (1 - z_t) ⊙ h_prev + z_t ⊙ a_t: its z weights the candidate, where "
                        "the other frameworks' z keeps h_prev.")
        else:
            said.append("hk.VanillaRNN's two hk.Linear each keep a bias (double_bias=True, the default; False drops "
                        "linear_1/b).")
            said.append("hk.VanillaRNN applies ReLU, not tanh, to h_t.")
        if config.layers > 1:
            said.append(f"hk.DeepRNN holds the cores; Haiku names each by its class, numbered from the second on: "
                        f"{MODULE[config.cell]}, {MODULE[config.cell]}_1, ...")
        return said

    def layout_notes(self, config: Config) -> list[str]:
        return ["hk.dynamic_unroll takes time-major input (T, B, x) by default, (B, T, x) with time_major=False; "
                "Haiku has no bidirectional wrapper."]
