"""ONNX's LSTM / GRU / RNN operators run by onnxruntime, for the conversion matrix (main venv).

A model is one operator per layer (layout=0, time-major, as onnxruntime requires), each layer's output
Y (T, D, B, h) turned into (T, B, D·h) for the next; its initializers are named as the tool names them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

from matrix import outputs, random_like

from lstm_shapes.config import Config
from lstm_shapes.report import build

FRAMEWORKS = ("onnx",)
OPS = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


def graph(config: Config, arrays: dict[str, np.ndarray]) -> onnx.ModelProto:
    """The operators reading their weights from `arrays`, every one of the tool's names for this config, no other."""
    wanted = {w.name: tuple(w.shape) for w in build(config).weights}
    if set(arrays) != set(wanted):
        raise ValueError(f"names differ: file only {sorted(set(arrays) - set(wanted))}, "
                         f"model only {sorted(set(wanted) - set(arrays))}")
    for name, shape in wanted.items():
        if arrays[name].shape != shape:
            raise ValueError(f"{name}: file {arrays[name].shape}, operator wants {shape}")
    nodes, layer_in = [], "X"
    direction = "bidirectional" if config.bidirectional else "forward"
    for k in range(config.layers):
        name = lambda kind: kind if config.layers == 1 else f"{kind}_l{k}"  # noqa: E731
        ins = [layer_in, name("W"), name("R"), name("B")]
        if config.peepholes:
            ins += ["", "", "", name("P")]  # sequence_lens, initial_h, initial_c, then P
        attrs = {"hidden_size": config.layer_hidden(k), "direction": direction}
        if config.cell == "gru":
            attrs["linear_before_reset"] = int(bool(config.reset_after))
        outs = [f"Y{k}", f"Y_h{k}"] + ([f"Y_c{k}"] if config.cell == "lstm" else [])
        nodes.append(helper.make_node(OPS[config.cell], ins, outs, **attrs))
        nodes.append(helper.make_node("Transpose", [f"Y{k}"], [f"Yt{k}"], perm=[0, 2, 1, 3]))
        nodes.append(helper.make_node("Reshape", [f"Yt{k}", "flat"], [f"L{k}"]))
        layer_in = f"L{k}"
    top = config.layers - 1
    d, h = config.directions, config.top_hidden
    shapes = {f"L{top}": ["T", "B", d * h], f"Y_h{top}": [d, "B", h], f"Y_c{top}": [d, "B", h]}
    out_names = list(shapes)[:3 if config.cell == "lstm" else 2]
    g = helper.make_graph(
        nodes, "matrix", [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["T", "B", config.input])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, shapes[n]) for n in out_names],
        [numpy_helper.from_array(np.asarray(a, np.float32), name) for name, a in arrays.items()]
        + [numpy_helper.from_array(np.array([0, 0, -1], np.int64), "flat")])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)], ir_version=8)  # what onnxruntime reads


def forward(config: Config, model: onnx.ModelProto, x: np.ndarray) -> dict[str, np.ndarray]:
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"X": x.transpose(1, 0, 2)})
    return outputs(got[0].transpose(1, 0, 2), *got[1:])


def make(framework: str, config: Config, path: Path, rng: np.random.Generator, x: np.ndarray) -> dict[str, np.ndarray]:
    arrays = {w.name: random_like(rng, tuple(w.shape)) for w in build(config).weights}
    model = graph(config, arrays)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return forward(config, model, x)


def run(framework: str, config: Config, path: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    if path.suffix == ".onnx":  # the written model as it is: its own operators and initializers
        return run_written(config, onnx.load(str(path)), x)
    from safetensors.numpy import load_file

    return forward(config, graph(config, load_file(str(path))), x)


def run_written(config: Config, model: onnx.ModelProto, x: np.ndarray) -> dict[str, np.ndarray]:
    """A model lstm-shapes wrote: its input ...X (T, B, x), its top Y (T, D, B, h) and the top layer's Y_h, Y_c."""
    onnx.checker.check_model(model)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(None, {inp.name: x.transpose(1, 0, 2)})))
    y = next(got[n] for n in names if n.endswith("Y"))
    top = config.layers - 1
    finals = [next((got[n] for n in names if n.endswith(f"{kind}_l{top}") or n.endswith(kind)), None)
              for kind in ("Y_h", "Y_c")]
    seq = y.transpose(2, 0, 1, 3).reshape(y.shape[2], y.shape[0], -1)
    return outputs(seq, *finals)
