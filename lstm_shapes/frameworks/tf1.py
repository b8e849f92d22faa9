"""TF1: tf.nn.rnn_cell's LSTMCell, GRUCell and BasicRNNCell in dynamic_rnn, MultiRNNCell and the bidirectional helpers."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..params import Block, Index, Weight, hidden_expr, layer_input_expr, part_name, recurrent_expr, weight
from .base import Dim, Framework, Place, SeqTensor, _cols

if TYPE_CHECKING:
    from ..config import Config

CELL = {"lstm": "lstm_cell", "gru": "gru_cell", "rnn": "basic_rnn_cell"}
PEEPHOLES = (("f_t", "f"), ("i_t", "i"), ("o_t", "o"))  # w_f_diag, w_i_diag, w_o_diag, in creation order
KINDS = ("kernel", "bias", "w_f_diag", "w_i_diag", "w_o_diag", "projection/kernel",
         "gates/kernel", "gates/bias", "candidate/kernel", "candidate/bias")
NAME = (
    r"(?:rnn/|rnn/multi_rnn_cell/cell_(?P<multi>\d+)/|bidirectional_rnn/(?P<side>fw|bw)/"
    r"|stack_bidirectional_rnn/cell_(?P<stack>\d+)/bidirectional_rnn/(?P<sside>fw|bw)/)"
    rf"(?:lstm_cell|gru_cell|basic_rnn_cell)/(?P<kind>{'|'.join(KINDS)})"
)
HEAD = {"head_weight": "dense/kernel", "head_bias": "dense/bias"}


class TF1(Framework):
    name = "tf1"
    title = "TF1"
    short = "TF1"
    gates = {
        "lstm": (("i_t", "i"), ("g_t", "j"), ("f_t", "f"), ("o_t", "o")),
        "gru": (("r_t", "r"), ("z_t", "u"), ("n_t", "c")),
    }
    peephole_order = PEEPHOLES
    kinds = KINDS
    has_proj = True
    has_peepholes = True
    batch_first_choices = (True, False)
    layout_argument = "time_major"
    head_reads_texts = ("outputs[:, -1]", "the final states")
    concat = "xh"
    fused_kernel = True
    forget_bias = 1.0  # LSTMCell's default
    forget_bias_argument = "forget_bias"
    head_prefix = "dense/"
    head_transposed = False
    head_name = "dense"

    def tensor_name(self, config: Config, layer: int | None, direction: int | None, kind: str) -> str:
        if layer is None:
            return HEAD[kind]
        cell = CELL[config.cell]
        if config.bidirectional:
            side = "fw" if direction == 0 else "bw"
            if config.layers == 1:
                return f"bidirectional_rnn/{side}/{cell}/{kind}"
            return f"stack_bidirectional_rnn/cell_{layer}/bidirectional_rnn/{side}/{cell}/{kind}"
        if config.layers == 1:
            return f"rnn/{cell}/{kind}"
        return f"rnn/multi_rnn_cell/cell_{layer}/{cell}/{kind}"

    def parse_name(self, name: str) -> Place | None:
        for kind, text in HEAD.items():
            if name == text:
                return (None, None, kind)
        m = re.fullmatch(NAME, name)
        if m is None:
            return None
        side = m["side"] or m["sside"]
        return (int(m["multi"] or m["stack"] or 0), 1 if side == "bw" else 0, m["kind"])

    def short_name(self, name: str) -> str:
        parts = name.split("/")
        return "/".join(parts[-2:]) if parts[-2] in ("gates", "candidate", "projection") else parts[-1]

    def symbol(self, block: Block) -> str:
        sub = f"_{block.letter}" if block.letter else ""
        return {"W": f"W{sub}", "U": f"U{sub}", "b": f"b{sub}", "P": f"w_{block.letter}_diag", "proj": "W_proj"}.get(
            block.kind, block.kind)

    def weights(self, config: Config) -> tuple[Weight, ...]:
        out: list[Weight] = []
        for k in range(config.layers):
            part, inp = part_name(config, k), layer_input_expr(config, k)
            h, H, r = config.layer_hidden(k), hidden_expr(config, k), recurrent_expr(config, k)
            width = config.layer_input(k)
            # TF1 multiplies concat([x_t, h_prev]) by one kernel: its first rows read x_t, the rest h_prev.
            x_rows: Index = ((0, width),)
            h_rows: Index = ((width, width + config.layer_recurrent(k)),)
            for d in range(config.directions):
                def named(kind: str) -> str:
                    return self.tensor_name(config, k, d, kind)
                if config.cell == "gru":
                    rz, cand = self.gate_order(config)[:2], self.gate_order(config)[2:]
                    gate_blocks = [Block(kind, n, ltr, (*rows, _cols(j, h)), False)
                                   for kind, rows in (("W", x_rows), ("U", h_rows)) for j, (n, ltr) in enumerate(rz)]
                    cand_blocks = [Block(kind, n, ltr, (*rows, (0, h)), False)
                                   for kind, rows in (("W", x_rows), ("U", h_rows)) for n, ltr in cand]
                    out.append(weight(config, named("gates/kernel"), part, (inp + H, 2 * H), gate_blocks, k, d))
                    out.append(weight(config, named("gates/bias"), part, (2 * H,),
                                      [Block("b", n, ltr, (_cols(j, h),), False) for j, (n, ltr) in enumerate(rz)], k, d))
                    out.append(weight(config, named("candidate/kernel"), part, (inp + H, H), cand_blocks, k, d))
                    out.append(weight(config, named("candidate/bias"), part, (H,),
                                      [Block("b", n, ltr, ((0, h),), False) for n, ltr in cand], k, d))
                    continue
                g = config.gates
                kernel = (self.side_by_side(config, "W", rows=x_rows, layer=k)
                          + self.side_by_side(config, "U", rows=h_rows, layer=k))
                out.append(weight(config, named("kernel"), part, (inp + r, g * H), kernel, k, d))
                out.append(weight(config, named("bias"), part, (g * H,), self.side_by_side(config, "b", rows=(), layer=k), k, d))
                if config.peepholes:
                    for node, ltr in PEEPHOLES:
                        out.append(weight(config, named(f"w_{ltr}_diag"), part, (H,), [Block("P", node, ltr, (None,), False)], k, d))
                if config.proj is not None:
                    out.append(weight(config, named("projection/kernel"), part, (H, r),
                                      [Block("proj", "", "", (None, None), False)], k, d))
        return tuple(out + self.dense_head(config))

    def returns(self, config: Config, n: Dim, t: Dim) -> list[SeqTensor]:
        x, r, D, L = config.input, config.recurrent, config.directions, config.layers
        bt = (n, t) if config.batch_first else (t, n)
        out = [SeqTensor("inputs", (*bt, x), "the input sequence" + ("" if config.batch_first else " (time_major=True)"))]
        if D > 1 and L == 1:  # bidirectional_dynamic_rnn returns the two directions apart
            out += [
                SeqTensor("outputs_fw", (*bt, r), "forward h_t at every step"),
                SeqTensor("outputs_bw", (*bt, r), "backward h_t at every step, in input order"),
            ]
        else:
            what = "h_t of the last layer at every step" + (", both directions side by side" if D > 1 else "")
            out.append(SeqTensor("outputs", (*bt, D * r), what))
        for d in range(D):
            for k in range(L):
                at, h, r = self._state(config, k, d), config.layer_hidden(k), config.layer_recurrent(k)
                if config.cell == "lstm":
                    out.append(SeqTensor(f"{at}.c", (n, h), "final c"))
                    out.append(SeqTensor(f"{at}.h", (n, r), "final h"))
                else:
                    out.append(SeqTensor(at, (n, h), "final h"))
        return out

    @staticmethod
    def _state(config: Config, layer: int, direction: int) -> str:
        side = ("_fw", "_bw")[direction] if config.directions > 1 else ""
        return f"state{side}" + (f"[{layer}]" if config.layers > 1 else "")

    def every_step(self, config: Config) -> str:
        if config.directions > 1 and config.layers == 1:
            return "tf.concat([outputs_fw, outputs_bw], -1)"
        return "outputs"

    def reads(self, config: Config) -> tuple[str, str]:
        return ("outputs at the last time step",
                "the final state's h" + (" of each direction, side by side" if config.directions > 1 else ""))

    def returned(self, config: Config, run: Any, np: Any) -> dict[str, Any]:
        top = run.layer_outputs[-1]

        def layout(a: Any) -> Any:
            return a.transpose(1, 0, 2) if config.batch_first else a

        out: dict[str, Any] = {}
        if config.directions > 1 and config.layers == 1:
            r = config.recurrent
            out["outputs_fw"], out["outputs_bw"] = layout(top[:, :, :r]), layout(top[:, :, r:])
        else:
            out["outputs"] = layout(top)
        for d in range(config.directions):
            for k in range(config.layers):
                at = self._state(config, k, d)
                h, c = run.finals[k][d]
                if c is not None:
                    out[f"{at}.c"], out[f"{at}.h"] = c, h
                else:
                    out[at] = h
        return out

    def constructor(self, config: Config) -> tuple[str, ...]:
        kind = {"lstm": "LSTMCell", "gru": "GRUCell", "rnn": "BasicRNNCell"}[config.cell]
        extra = "".join(f", {text}" for text, on in (("use_peepholes=True", config.peepholes),
                                                        (f"num_proj={config.proj}", config.proj is not None)) if on)
        cells = [f"tf.compat.v1.nn.rnn_cell.{kind}({config.layer_hidden(k)}{extra})" for k in range(config.layers)]
        cell = cells[0] if len(cells) == 1 else f"tf.compat.v1.nn.rnn_cell.MultiRNNCell([{', '.join(cells)}])"
        major = ", time_major=True" if not config.batch_first else ""
        if config.bidirectional:
            return (f"tf.compat.v1.nn.bidirectional_dynamic_rnn({cell}, {cell}, inputs{major})",)
        return (f"tf.compat.v1.nn.dynamic_rnn({cell}, inputs{major})",)

    def weight_notes(self, config: Config) -> list[str]:
        if config.cell != "lstm":
            return []
        return ["TF1 adds forget_bias (1.0 by default) to the forget gate at run time; it is not a variable."]
