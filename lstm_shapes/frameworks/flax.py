"""Flax (linen): LSTMCell, OptimizedLSTMCell, GRUCell and SimpleCell under nn.RNN and nn.Bidirectional.

One layer without a head is a bare `nn.RNN(cell)` (or `nn.Bidirectional`), whose param tree starts at
`cell/`. Anything more is a Module whose `setup` holds `self.layers = [nn.RNN(cell), ...]` and
`self.head = nn.Dense(o)`: `layers_0/cell/ii/kernel`, `head/kernel`. Names join the tree's keys with
'/', as `flax.traverse_util.flatten_dict(params, sep="/")` does.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..params import Block, Weight, hidden_expr, layer_input_expr, part_name, weight
from .base import Dim, Framework, Place, SeqTensor

if TYPE_CHECKING:
    from ..config import Config

LSTM_LETTERS = "ifgo"
# Every tensor a cell holds, by cell: one Dense per gate and side ("i" input, "h" recurrent).
CELL_KINDS = {
    # LSTMCell and OptimizedLSTMCell: the input Denses have no bias, the recurrent ones have one.
    "lstm": ("ii/kernel", "if/kernel", "ig/kernel", "io/kernel",
             "hi/kernel", "hi/bias", "hf/kernel", "hf/bias", "hg/kernel", "hg/bias", "ho/kernel", "ho/bias"),
    # GRUCell: the input Denses have a bias, the recurrent ones none, except hn (inside r ⊙ (...)).
    "gru": ("ir/kernel", "ir/bias", "iz/kernel", "iz/bias", "in/kernel", "in/bias",
            "hr/kernel", "hz/kernel", "hn/kernel", "hn/bias"),
    # SimpleCell: the input Dense has the bias.
    "rnn": ("i/kernel", "i/bias", "h/kernel"),
}
KINDS = CELL_KINDS["lstm"] + CELL_KINDS["gru"] + CELL_KINDS["rnn"]
NAME = (r"(?:layers_(\d+)/)?(?:(forward|backward)_rnn/)?cell/"
        r"((?:[ih][ifgorzn]?)/(?:kernel|bias))")
HEAD = {"head_weight": "head/kernel", "head_bias": "head/bias"}


class Flax(Framework):
    name = "flax"
    title = "Flax"
    short = "Flax"
    gates = {
        "lstm": (("i_t", "i"), ("f_t", "f"), ("g_t", "g"), ("o_t", "o")),
        "gru": (("r_t", "r"), ("z_t", "z"), ("n_t", "n")),
    }
    kinds = KINDS
    reset_after_choices = (True,)
    reset_after_default = True
    batch_first_choices = (True, False)  # nn.RNN(time_major=True) takes (T, N, x)
    layout_argument = "time_major"
    head_reads_texts = ("outputs[:, -1]", "the h of each direction's final carry, side by side")
    every_step_text = "outputs"
    head_prefix = "head/"
    head_transposed = False
    head_name = "head"
    concat = "xh"  # the cell sums dense_i(inputs) + dense_h(h), input first
    nested_names = True  # the param tree's keys, joined by '/'
    collection = "params/"  # model.init(...) returns {"params": {...}}: apply and from_bytes expect it

    def gate_biases(self, config: Config, gate: str) -> int:
        # GRUCell's candidate has in/bias outside r ⊙ (...) and hn/bias inside it.
        return 2 if config.cell == "gru" and gate == "n_t" else 1

    def bias_where(self, config: Config) -> str:
        return " (and a second, hn/bias, for the GRU candidate)" if config.cell == "gru" else ""

    def tensor_name(self, config: Config, layer: int | None, direction: int | None, kind: str) -> str:
        if layer is None:
            return HEAD[kind]
        side = ("forward_rnn/", "backward_rnn/")[direction or 0] if config.bidirectional else ""
        bare = config.layers == 1 and config.out is None  # a bare nn.RNN or nn.Bidirectional
        return ("" if bare else f"layers_{layer}/") + f"{side}cell/{kind}"

    def parse_name(self, name: str) -> Place | None:
        for kind, text in HEAD.items():
            if name == text:
                return (None, None, kind)
        m = re.fullmatch(NAME, name)
        if m is None or m[3] not in KINDS:
            return None
        return (int(m[1] or 0), 1 if m[2] == "backward" else 0, m[3])

    def short_name(self, name: str) -> str:
        return name.split("cell/", 1)[-1] if "cell/" in name else name.rsplit("/", 1)[-1]

    def symbol(self, block: Block) -> str:
        ltr, kind = block.letter, block.kind
        # The Dense a block lives in: LSTM biases sit on the recurrent side, GRU's and SimpleCell's on the input.
        side = "h" if kind in ("U", "bh") or (kind == "b" and ltr in LSTM_LETTERS and ltr) else "i"
        word = {"W": "W", "U": "W", "b": "b", "bx": "b", "bh": "b"}.get(kind)
        return f"{word}_{side}{ltr}" if word else kind

    def weights(self, config: Config) -> tuple[Weight, ...]:
        out: list[Weight] = []
        letters = dict((ltr, node) for node, ltr in self.gate_order(config))
        for k in range(config.layers):
            part, inp, H = part_name(config, k), layer_input_expr(config, k), hidden_expr(config, k)
            for d in range(config.directions):
                # The cell's params come out of nn.scan sorted by name, and flatten_dict lists them so.
                for kind in sorted(CELL_KINDS[config.cell]):
                    dense, what = kind.split("/")
                    node = letters[dense[1:]]
                    if what == "kernel":
                        blocks = [Block("W" if dense[0] == "i" else "U", node, dense[1:], (None, None), False)]
                        dims = (inp if dense[0] == "i" else H, H)
                    else:
                        bkind = "b" if self.gate_biases(config, node) == 1 else "bx" if dense[0] == "i" else "bh"
                        blocks = [Block(bkind, node, dense[1:], (None,), False)]
                        dims = (H,)
                    out.append(weight(config, self.tensor_name(config, k, d, kind), part, dims, blocks, k, d))
        return tuple(out + self.dense_head(config))

    def returns(self, config: Config, n: Dim, t: Dim) -> list[SeqTensor]:
        x, h, D = config.input, config.top_hidden, config.directions
        bt = (n, t) if config.batch_first else (t, n)
        major = "" if config.batch_first else " (time_major=True)"
        out = [
            SeqTensor("inputs", (*bt, x), "the input sequence" + major),
            SeqTensor("outputs", (*bt, D * h), "h_t of the last layer at every step" + (", both directions" if D > 1 else "")),
        ]
        for d, at in enumerate(self._carries(config)):
            side = ("forward ", "backward ")[d] if D > 1 else ""
            if config.cell == "lstm":
                out.append(SeqTensor(f"{at}[0]", (n, h), f"final {side}c (return_carry=True)"))
                out.append(SeqTensor(f"{at}[1]", (n, h), f"final {side}h (return_carry=True)"))
            else:
                out.append(SeqTensor(at, (n, h), f"final {side}h (return_carry=True)"))
        return out

    @staticmethod
    def _carries(config: Config) -> tuple[str, ...]:
        """The last layer's carry per direction: nn.Bidirectional returns (forward, backward)."""
        return ("carry[0]", "carry[1]") if config.directions > 1 else ("carry",)

    def reads(self, config: Config) -> tuple[str, str]:
        last = "outputs[:, -1]" if config.batch_first else "outputs[-1]"
        return (f"{last}, the output at the last time step",
                "the final carry's h" + (" of each direction, side by side" if config.directions > 1 else ""))

    def returned(self, config: Config, run: Any, np: Any) -> dict[str, Any]:
        top = run.layer_outputs[-1]
        out = {"outputs": top.transpose(1, 0, 2) if config.batch_first else top}
        for at, (h, c) in zip(self._carries(config), run.finals[-1]):
            if c is not None:
                out[f"{at}[0]"], out[f"{at}[1]"] = c, h  # LSTMCell's carry is (c, h)
            else:
                out[at] = h
        return out

    def constructor(self, config: Config) -> tuple[str, ...]:
        kind = {"lstm": "LSTMCell", "gru": "GRUCell", "rnn": "SimpleCell"}[config.cell]
        major = ", time_major=True" if not config.batch_first else ""
        lines = []
        for k in range(config.layers):
            cell = f"nn.{kind}(features={config.layer_hidden(k)})"
            rnn = f"nn.RNN({cell}{major})"
            backward = f"nn.RNN({cell}{major}, reverse=True, keep_order=True)"
            lines.append(f"nn.Bidirectional({rnn}, {backward})" if config.bidirectional else rnn)
        return tuple(lines)

    def weight_notes(self, config: Config) -> list[str]:
        first = self.gate_order(config)[0][1]
        said = [f"Flax gives each gate its own Dense per side, so nothing is packed: i{first}/kernel reads x_t, "
                f"h{first}/kernel h_prev."]
        if config.cell == "lstm":
            said.append("OptimizedLSTMCell has the same params as LSTMCell (and the same numbers); it concatenates "
                        "the kernels at run time. The input Denses have no bias; hi/bias, hf/bias, ... do.")
            said.append("LSTMCell's carry is (c, h), c first.")
        elif config.cell == "gru":
            said.append("GRUCell's biases are on the input Denses (ir, iz, in); of the recurrent ones only hn has one.")
        else:
            said.append("SimpleCell's bias is on the input Dense, i/bias.")
        return said
