"""PyTorch cells: nn.LSTMCell, nn.GRUCell and nn.RNNCell, one time step per call, with an nn.Linear head beside them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..params import X, H, Weight, part_name, weight
from .base import Dim, SeqTensor
from .pytorch import PyTorch

if TYPE_CHECKING:
    from ..config import Config

NAME = r"(?:cell\.)?(weight_ih|weight_hh|bias_ih|bias_hh)"
HEAD = {"head_weight": "head.weight", "head_bias": "head.bias"}


class PyTorchCell(PyTorch):
    """The cells share nn.LSTM's gate order, layout and two biases; they have no layers, directions or projection."""

    name = "pytorch-cell"
    title = "PyTorch cell"
    short = "PyTorch"
    kinds = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    has_proj = False
    proj_below_hidden = False
    has_layers = False
    has_bidirectional = False
    takes_sequence = False
    # A cell's input is (B, x): one step, batch first, with no layout to choose.
    batch_first_choices = (True,)
    batch_first_default = True
    head_reads_texts = ("h_1", "h_1")
    layer_classes = {"lstm": "nn.LSTMCell", "gru": "nn.GRUCell", "rnn": "nn.RNNCell"}
    arguments = {"input": "input_size", "hidden": "hidden_size", "bias": "bias"}

    state_inputs = ("h_0", "c_0")  # c_0 for the LSTM cell only

    def tensor_name(self, config: Config, layer: int | None, direction: int | None, kind: str) -> str:
        if layer is None:
            return HEAD[kind]
        # With a head, the names are those of one nn.Module holding both: `cell.weight_ih`, `head.weight`.
        return ("cell." if config.out is not None else "") + kind

    def parse_name(self, name: str) -> tuple[int | None, int | None, str] | None:
        for kind, text in HEAD.items():
            if name == text:
                return (None, None, kind)
        m = re.fullmatch(NAME, name)
        return None if m is None else (0, 0, m[1])

    def weights(self, config: Config) -> tuple[Weight, ...]:
        g, part = config.gates, part_name(config, 0)

        def named(kind: str) -> str:
            return self.tensor_name(config, 0, 0, kind)

        out = [
            weight(config, named("weight_ih"), part, (g * H, X), self.stacked(config, "W", layer=0), 0, 0),
            weight(config, named("weight_hh"), part, (g * H, H), self.stacked(config, "U", layer=0), 0, 0),
        ]
        if config.bias:
            for kind, block in (("bias_ih", "bx"), ("bias_hh", "bh")):
                out.append(weight(config, named(kind), part, (g * H,), self.stacked(config, block, trailing=False, layer=0), 0, 0))
        return tuple(out + self.dense_head(config))

    def returns(self, config: Config, n: Dim, t: Dim) -> list[SeqTensor]:
        x, h = config.input, config.hidden
        lstm = config.cell == "lstm"
        out = [SeqTensor("input", (n, x), "x_t, one time step"),
               SeqTensor("h_0", (n, h), "the state the cell is given" + (", (hx, cx) = (h_0, c_0)" if lstm else " (hx)"))]
        if lstm:
            out.append(SeqTensor("c_0", (n, h), "the cell state the cell is given"))
        out.append(SeqTensor("h_1", (n, h), "h_t, the new state" + (": the first of the returned (h_1, c_1)" if lstm else "")))
        if lstm:
            out.append(SeqTensor("c_1", (n, h), "c_t, the new cell state"))
        return out

    def reads(self, config: Config) -> tuple[str, str]:
        return ("h_1, the cell's output", "h_1, the cell's output")

    def time_major(self, config: Config, xs: Any) -> Any:
        return xs[None]  # (N, x) is one step of (T, N, x)

    def initial_state(self, config: Config, given: dict[str, Any]) -> list[list[tuple[Any, Any]]]:
        return [[(given["h_0"], given.get("c_0"))]]

    def returned(self, config: Config, run: Any, np: Any) -> dict[str, Any]:
        h, c = run.finals[0][0]
        return {"h_1": h, "c_1": c} if config.cell == "lstm" else {"h_1": h}

    def constructor(self, config: Config) -> tuple[str, ...]:
        kind = self.layer_classes[config.cell]
        return (f"{kind}({config.input}, {config.hidden}" + (", bias=False" if not config.bias else "") + ")",)

    def weight_notes(self, config: Config) -> list[str]:
        said = ["A cell takes one time step per call: input (B, x) and its state; a loop over a sequence calls it T times."]
        return said + super().weight_notes(config)
