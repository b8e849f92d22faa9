"""tf.keras 2 (the tf-keras package in TF 2.x): LSTM, GRU, SimpleRNN and the CuDNNLSTM / CuDNNGRU layers.

The layers and their arithmetic are Keras 3's; what differs is how `model.weights` names them: by
the variable's graph name, `lstm/lstm_cell/kernel:0`. The CuDNN layers have no cell: their
variables hang off the layer (`cu_dnnlstm/kernel:0`), and their bias is one vector holding the
input-side biases, then the recurrent-side ones, in the gate order cuDNN is fed. Inside each gate's
columns the kernels hold cuDNN's own (h, in) matrices in C order (`Block.cudnn`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ..params import Weight, hidden_expr, layer_input_expr, part_name, weight
from .keras import Keras

if TYPE_CHECKING:
    from ..config import Config


class TfKeras(Keras):
    name = "tf-keras"
    title = "tf.keras 2"
    short = "Keras"
    head_prefix = "dense/"
    suffix = ":0"  # model.weights names a variable by its graph name
    time_distributed = "time_distributed/"  # TimeDistributed's own scope, without the Dense's
    library = "tf.keras 2"
    layer_classes = {"lstm": "tf.keras.layers.LSTM", "gru": "tf.keras.layers.GRU", "rnn": "tf.keras.layers.SimpleRNN"}


class TfKerasCuDNN(TfKeras):
    name = "tf-keras-cudnn"
    title = "tf.keras 2 CuDNN"
    short = "CuDNN"
    cells = ("lstm", "gru")
    has_no_bias = False
    reset_after_choices = (True,)  # cuDNN's GRU: r ⊙ (U·h + b_h)
    reset_after_default = True
    layer_names = {"lstm": "cu_dnnlstm", "gru": "cu_dnngru"}
    constructor_options = ("return_sequences=True",)
    layer_classes = {"lstm": "tf.compat.v1.keras.layers.CuDNNLSTM", "gru": "tf.compat.v1.keras.layers.CuDNNGRU"}
    cell_scope = False  # the variables hang off the layer: cu_dnnlstm/kernel:0

    def lookalike(self, config: Config) -> tuple[Config, str] | None:
        if config.cell != "gru":
            return None  # CuDNNLSTM's 8h bias has no twin: tf.keras' LSTM keeps 4h
        twin = replace(config, framework=TfKeras.name, reset_after=True)
        return twin, ("CuDNNGRU and tf.keras' GRU(reset_after=True) compute the same thing with the same kernels and count; "
                      "the bias tells them apart: (6h,) in cu_dnngru/, (2, 3h) in gru/gru_cell/")

    def biases_per_gate(self, config: Config) -> int:
        return 2  # cuDNN keeps an input-side and a recurrent-side bias per gate

    def bias_where(self, config: Config) -> str:
        return " (the input-side biases, then the recurrent-side ones, in one vector)"

    def weights(self, config: Config) -> tuple[Weight, ...]:
        g = config.gates
        out: list[Weight] = []
        for k in range(config.layers):
            inp, part, hk = layer_input_expr(config, k), part_name(config, k), hidden_expr(config, k)
            for d in range(config.directions):
                def named(kind: str) -> str:
                    return self.tensor_name(config, k, d, kind)
                # Each gate's block holds the matrix cuDNN is fed, (h, in) in C order, in a block of Keras' shape:
                # tf_keras' loader reshapes the kernel's and transposes the recurrent kernel's when it converts them.
                kernel = [b._replace(cudnn=True) for b in self.side_by_side(config, "W", layer=k)]
                recurrent = [b._replace(cudnn=True) for b in self.side_by_side(config, "U", layer=k)]
                out.append(weight(config, named("kernel"), part, (inp, g * hk), kernel, k, d))
                out.append(weight(config, named("recurrent_kernel"), part, (hk, g * hk), recurrent, k, d))
                h = config.layer_hidden(k)
                halves = [b._replace(at=((b.at[0][0] + s * g * h, b.at[0][1] + s * g * h),))
                          for s, kind in enumerate(("bx", "bh")) for b in self.side_by_side(config, kind, rows=(), layer=k)]
                out.append(weight(config, named("bias"), part, (2 * g * hk,), halves, k, d))
        return tuple(out + self.dense_head(config))

    def weight_notes(self, config: Config) -> list[str]:
        return ["CuDNNLSTM and CuDNNGRU run on a GPU only; their weights can be built and loaded on a CPU.",
                "Each gate's columns of kernel and recurrent_kernel hold the matrix cuDNN is fed, (h, in) in C order: "
                "the recurrent block is that matrix, the kernel's block it reshaped to (in, h). tf_keras' loader "
                "converts both when it loads CuDNN weights into LSTM or GRU."]
