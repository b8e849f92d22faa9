"""A standalone ONNX model of the converted layers: their LSTM, GRU or RNN operators, runnable in onnxruntime.

Each of the Target's layers is a graph of its own inside the model, every name in it led by the layer's prefix:
the input `X` (T, N, x), one operator per layer of the stack, each reading the one below as (T, N, D·h) (its
Y (T, D, N, h) transposed and reshaped), the head where there is one, and as outputs the top layer's `Y`, `Y_h`
and `Y_c` (the names `returns` gives them), each lower layer's final states named as its weights are (`Y_h_l0`,
`Y_c_l0`), and `logits` (and `probs`).
The initializers are the Target's tensors under the Target's names, in its order.
"""

from __future__ import annotations

from typing import Any

from ..config import Config
from ..errors import FileFormatError
from ..frameworks import REGISTRY, having
from ..params import Weight
from . import INSTALL_HINT
from .writers import Target, Tensors, _ordered

OPSET = 22  # the newest schema of LSTM, GRU and RNN
IR_VERSION = 10  # the first with opset 22; onnxruntime reads it
DTYPES = ("float16", "float32", "float64")  # what the recurrent operators take
LIMIT = 2**31 - 1  # bytes of one protobuf message: a model that large keeps its data in files of its own
OPS = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}
ROLES = {"LSTM": ("X", "W", "R", "B", "", "", "", "P"), "GRU": ("X", "W", "R", "B"), "RNN": ("X", "W", "R", "B")}


def write_onnx(path: str, target: Target, tensors: Tensors) -> None:
    """The model, its initializers added as the tensors arrive, saved in one piece as the onnx library saves it."""
    fw = REGISTRY[target.framework]
    if not fw.onnx_model:
        raise FileFormatError(f".onnx holds the {' or '.join(having('onnx_model'))} convention: "
                              f"--to {' or '.join(having('onnx_model'))} (not {target.framework})")
    if target.dtype not in DTYPES:
        raise FileFormatError(f".onnx holds {', '.join(DTYPES)} weights, not {target.dtype}")
    try:  # imported by its statement: the library shares its name with a framework, which only frameworks/ may spell
        import onnx
        from onnx import helper
    except ImportError:
        raise FileFormatError(f"writing ONNX models needs the onnx package: {INSTALL_HINT}") from None
    import numpy as np

    size = sum(w.params for w in target.weights) * np.dtype(target.dtype).itemsize
    if size >= LIMIT:
        raise FileFormatError(f".onnx holds at most 2 GiB in one file and these weights take {size / 2**30:.1f} GiB: "
                              "write .safetensors instead")
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(target.dtype))
    graph = _Graph(helper, elem)
    for layer in target.layers:
        graph.layer(layer.prefix, layer.config, layer.weights)
    seen: set[str] = set()
    for name in [*graph.values, *(w.name for w in target.weights)]:
        if name in seen:
            raise FileFormatError(f"two of the converted layers would hold {name}: each needs a prefix of its own")
        seen.add(name)
    model = helper.make_model(helper.make_graph(graph.nodes, "lstm_shapes", graph.inputs, graph.outputs),
                              opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION,
                              producer_name="lstm-shapes")
    little = np.dtype(target.dtype).newbyteorder("<")
    for w, array in _ordered(target, tensors):  # made in place: make_graph, make_model and append would copy each one
        tensor = model.graph.initializer.add()
        tensor.name, tensor.data_type = w.name, elem
        tensor.dims.extend(array.shape)
        tensor.raw_data = np.ascontiguousarray(array, dtype=little).tobytes()  # what numpy_helper.from_array stores
    onnx.save(model, path)


class _Graph:
    """The nodes, inputs and outputs of the model, grown one converted layer at a time."""

    def __init__(self, helper: Any, elem: int) -> None:
        self.helper, self.elem = helper, elem
        self.nodes: list[Any] = []
        self.inputs: list[Any] = []
        self.outputs: list[Any] = []
        self.values: list[str] = []  # every name the graph defines besides the initializers

    def node(self, op: str, inputs: list[str], outputs: list[str], **attributes: Any) -> None:
        self.nodes.append(self.helper.make_node(op, inputs, outputs, name=outputs[0], **attributes))
        self.values += [o for o in outputs if o]

    def const(self, name: str, values: list[int]) -> str:
        from onnx import TensorProto

        tensor = self.helper.make_tensor(name, TensorProto.INT64, [len(values)], values)
        self.node("Constant", [], [name], value=tensor)
        return name

    def output(self, name: str, shape: list[Any]) -> None:
        self.outputs.append(self.helper.make_tensor_value_info(name, self.elem, shape))

    def layer(self, p: str, cfg: Config, weights: tuple[Weight, ...]) -> None:
        """One converted layer: its input, its stack of operators, its head, and its outputs."""
        fw, op, D = cfg.convention, OPS[cfg.cell], cfg.directions
        by_place: dict[tuple[int | None, str], str] = {}
        for w in weights:
            place = fw.parse_name(w.name[len(p):])
            assert place is not None, w.name
            by_place[(place[0], place[2])] = w.name
        T, N = f"{p}T", f"{p}N"
        outer = [N, T] if cfg.batch_first else [T, N]  # layout=1 is (N, T, ...), as the operators' `layout` says
        self.inputs.append(self.helper.make_tensor_value_info(f"{p}X", self.elem, [*outer, cfg.input]))
        self.values.append(f"{p}X")
        flat_shape = self.const(f"{p}flat_shape", [0, 0, -1])  # (.., .., D, h) -> (.., .., D·h)
        below = f"{p}X"
        for k in range(cfg.layers):
            h, top = cfg.layer_hidden(k), k == cfg.layers - 1

            def named(kind: str, k: int = k) -> str:
                return p + fw.tensor_name(cfg, k, None, kind)
            ends = (f"{p}Y", f"{p}Y_h", f"{p}Y_c") if top else (named("Y"), named("Y_h"), named("Y_c"))
            y, outputs = ends[0], list(ends[:3 if op == "LSTM" else 2])
            inputs = [below if role == "X" else by_place.get((k, role), "") for role in ROLES[op]]
            while not inputs[-1]:
                inputs.pop()
            attributes: dict[str, Any] = {"hidden_size": h, "direction": "bidirectional" if D > 1 else "forward"}
            if op == "GRU":
                attributes["linear_before_reset"] = int(bool(cfg.reset_after))
            if cfg.batch_first:
                attributes["layout"] = 1
            self.node(op, inputs, outputs, **attributes)
            states = [D, N, h] if not cfg.batch_first else [N, D, h]
            if top:
                self.output(y, [*outer[:1], D, *outer[1:], h] if not cfg.batch_first else [*outer, D, h])
            for state in outputs[1:]:
                self.output(state, states)
            below = named("Y_flat")
            if cfg.batch_first:  # (N, T, D, h): the directions are already next to the features
                self.node("Reshape", [y, flat_shape], [below])
            else:  # (T, D, N, h) -> (T, N, D, h) -> (T, N, D·h)
                self.node("Transpose", [y], [named("Y_tnd")], perm=[0, 2, 1, 3])
                self.node("Reshape", [named("Y_tnd"), flat_shape], [below])
        if cfg.out is not None:
            self.head(p, cfg, by_place, below, outputs[1])

    def head(self, p: str, cfg: Config, by_place: dict[tuple[int | None, str], str], seq: str, y_h: str) -> None:
        """The dense head on what it reads: the last step of the top layer's output, its final states, or every step."""
        if cfg.head_reads == "final-states":  # Y_h (D, N, h) -> (N, D, h) -> (N, D·h)
            states = y_h
            if not cfg.batch_first:
                self.node("Transpose", [y_h], [f"{p}Y_h_ndh"], perm=[1, 0, 2])
                states = f"{p}Y_h_ndh"
            self.node("Reshape", [states, self.const(f"{p}batch_rows", [0, -1])], [f"{p}features"])
        elif cfg.head_reads == "every-step":
            self.node("Identity", [seq], [f"{p}features"])
        else:  # the output at the last step
            last = self.const(f"{p}last_step", [-1])
            self.node("Gather", [seq, last], [f"{p}last_steps"], axis=1 if cfg.batch_first else 0)
            self.node("Squeeze", [f"{p}last_steps", self.const(f"{p}step_axis", [1 if cfg.batch_first else 0])],
                      [f"{p}features"])
        self.node("Transpose", [by_place[(None, "head_weight")]], [f"{p}head_kernel"], perm=[1, 0])  # stored (o, in)
        logits = f"{p}logits"
        bias = by_place.get((None, "head_bias"))
        self.node("MatMul", [f"{p}features", f"{p}head_kernel"], [f"{p}head_product" if bias else logits])
        if bias:
            self.node("Add", [f"{p}head_product", bias], [logits])
        rows = ([f"{p}N", f"{p}T"] if cfg.batch_first else [f"{p}T", f"{p}N"]) if cfg.head_reads == "every-step" else [f"{p}N"]
        self.output(logits, [*rows, cfg.out])
        activation = {"softmax": ("Softmax", {"axis": -1}), "sigmoid": ("Sigmoid", {})}.get(cfg.head_activation or "")
        if activation:
            self.node(activation[0], [logits], [f"{p}probs"], **activation[1])
            self.output(f"{p}probs", [*rows, cfg.out])
