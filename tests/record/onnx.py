"""Record tests/vectors/onnx.json from onnx's reference evaluator: `python tests/record/onnx.py` (not a test).

Each case is a graph of real ONNX LSTM / GRU / RNN nodes, one per layer (each with its own hidden_size where
the layers have sizes of their own; layer k > 0 reads the layer below's Y with its direction axis folded
into the features), and, with a head, a Gemm on the
top layer's last step Y[-1] or its final states Y_h, then Softmax or Sigmoid. The graph passes the
checker with full shape inference; the seeded initializers, the input and the graph's outputs are
written as tests/test_vectors.py reads them. onnxruntime, which refuses layout=1, must give the
same numbers for every time-major case.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # this file must not shadow onnx

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime  # noqa: E402
from onnx import TensorProto, checker, helper, numpy_helper, shape_inference  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

OUT = HERE.parent / "vectors" / "onnx.json"
OPSET = 22
OPS = {"lstm": ("LSTM", 4), "gru": ("GRU", 3), "rnn": ("RNN", 1)}

# Non-square sizes; every cell, peepholes, both GRU reset placements (linear_before_reset), stacked
# and bidirectional nodes, no bias, both layouts, and a head reading Y[-1] or Y_h with each activation.
BASE = dict(framework="onnx", batch=2, seq_len=3)
CASES: list[dict[str, Any]] = [
    dict(cell="lstm", input=3, hidden=4, bidirectional=True, peepholes=True),
    dict(cell="lstm", input=3, hidden=2, layers=2, bias=False, batch_first=True, out=3,
         head_activation="softmax", head_reads="final-states"),
    dict(cell="gru", input=3, hidden=4, bidirectional=True, reset_after=False),
    dict(cell="gru", input=4, hidden=3, layers=2, reset_after=True, batch_first=True, out=2,
         head_activation="sigmoid", head_reads="last-step", head_bias=False),
    dict(cell="rnn", input=3, hidden=4, layers=2, bidirectional=True, out=1, head_activation="none",
         head_reads="last-step"),
    dict(cell="rnn", input=2, hidden=3, bias=False),
    # Layers of their own sizes: node k has its own hidden_size; shrinking, growing, up and down.
    dict(cell="lstm", input=3, hidden=(4, 2), bidirectional=True, peepholes=True, out=2, head_activation="softmax",
         head_reads="last-step"),
    dict(cell="gru", input=2, hidden=(2, 4, 3), reset_after=True, batch_first=True),
    dict(cell="gru", input=3, hidden=(3, 2), bidirectional=True, reset_after=False, out=3, head_activation="sigmoid",
         head_reads="final-states"),
    dict(cell="rnn", input=3, hidden=(4, 3, 2), bias=False, out=1, head_activation="none", head_reads="final-states"),
]


def listed(array: Any) -> Any:
    """A float32 array as nested lists of the shortest decimals that read back to the same float32."""
    return json.loads(np.array2string(np.asarray(array, dtype=np.float32), separator=",", threshold=10**9,
                                      floatmode="unique", max_line_width=10**9))


def case_id(config: dict[str, Any]) -> str:
    hidden = config["hidden"]
    sizes = ",".join(map(str, hidden)) if isinstance(hidden, tuple) else hidden
    layers = len(hidden) if isinstance(hidden, tuple) else config.get("layers", 1)
    parts = [config["cell"], f"x{config['input']}", f"h{sizes}", f"L{layers}"]
    if "reset_after" in config:
        parts.insert(1, f"lbr{int(config['reset_after'])}")
    parts += [flag for flag, on in (("bi", config.get("bidirectional")), ("peep", config.get("peepholes")),
                                    ("nobias", config.get("bias") is False), ("bf", config.get("batch_first"))) if on]
    if config.get("out"):
        parts.append(f"o{config['out']}-{config['head_activation']}-{config['head_reads']}"
                     + ("" if config.get("head_bias", True) else "-nobias"))
    return "-".join(parts)


def record(index: int, config: dict[str, Any]) -> dict[str, Any]:
    rng = np.random.default_rng(index)
    op, gates = OPS[config["cell"]]
    hidden, bf = config["hidden"], config.get("batch_first", False)
    sizes = hidden if isinstance(hidden, tuple) else (hidden,) * config.get("layers", 1)  # one hidden_size per node
    layers = len(sizes)
    directions = 2 if config.get("bidirectional") else 1
    outputs = ["Y", "Y_h", "Y_c"] if op == "LSTM" else ["Y", "Y_h"]
    weights: dict[str, np.ndarray] = {}
    nodes, below = [], "X"

    def tensor(name: str, shape: tuple[int, ...], fan_in: int) -> str:
        weights[name] = (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)
        return name

    for k, h in enumerate(sizes):
        sfx = "" if layers == 1 else f"_l{k}"
        width = config["input"] if k == 0 else directions * sizes[k - 1]
        inputs = [below, tensor("W" + sfx, (directions, gates * h, width), width),
                  tensor("R" + sfx, (directions, gates * h, h), h)]
        inputs.append(tensor("B" + sfx, (directions, 2 * gates * h), 4) if config.get("bias", True) else "")
        if config.get("peepholes"):
            inputs += ["", "", "", tensor("P" + sfx, (directions, 3 * h), 4)]
        while inputs[-1] == "":
            inputs.pop()
        attrs: dict[str, Any] = dict(hidden_size=h, layout=int(bf),
                                     direction="bidirectional" if directions == 2 else "forward")
        if op == "GRU":
            attrs["linear_before_reset"] = int(config["reset_after"])
        top = k == layers - 1
        nodes.append(helper.make_node(op, inputs, outputs if top else [f"Y{sfx}"], **attrs))
        if not top:  # Y [T, D, N, h] (layout 1: [N, T, D, h]) -> [T, N, D*h] (or [N, T, D*h])
            y = f"Y{sfx}"
            if not bf:
                nodes.append(helper.make_node("Transpose", [y], [y + "_t"], perm=[0, 2, 1, 3]))
                y += "_t"
            below = f"X_l{k + 1}"
            nodes.append(helper.make_node("Reshape", [y, "fold"], [below]))
    consts = {"fold": np.array([0, 0, -1], dtype=np.int64), "flat": np.array([0, -1], dtype=np.int64),
              "last": np.array(-1, dtype=np.int64)}
    if config.get("out"):
        # The head reads [N, D, h] folded to [N, D*h]: Y at the last step, or Y_h.
        if config["head_reads"] == "last-step":
            nodes.append(helper.make_node("Gather", ["Y", "last"], ["Y_last"], axis=1 if bf else 0))
            read = "Y_last"
        else:
            read = "Y_h"
        if not bf:
            nodes.append(helper.make_node("Transpose", [read], [read + "_n"], perm=[1, 0, 2]))
            read += "_n"
        nodes.append(helper.make_node("Reshape", [read, "flat"], ["features"]))
        head = [tensor("head.weight", (config["out"], directions * sizes[-1]), directions * sizes[-1])]
        if config.get("head_bias", True):
            head.append(tensor("head.bias", (config["out"],), 4))
        nodes.append(helper.make_node("Gemm", ["features", *head], ["logits"], transB=1))
        outputs = [*outputs, "logits"]
        if config["head_activation"] != "none":
            nodes.append(helper.make_node(config["head_activation"].capitalize(), ["logits"], ["probs"]))
            outputs.append("probs")
    n, t = config["batch"], config["seq_len"]
    x_shape = [n, t, config["input"]] if bf else [t, n, config["input"]]
    used = {name for node in nodes for name in node.input}
    graph = helper.make_graph(
        nodes, "recorded", [helper.make_tensor_value_info("X", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs],
        initializer=[numpy_helper.from_array(a, name) for name, a in {**weights, **consts}.items() if name in used],
    )
    # IR version 10 is the first with opset 22, and one that onnxruntime reads too.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=10)
    checker.check_model(shape_inference.infer_shapes(model, check_type=True, strict_mode=True), full_check=True)
    xs = rng.standard_normal(x_shape).astype(np.float32)
    values = dict(zip(outputs, ReferenceEvaluator(model).run(None, {"X": xs})))
    if not bf:  # onnxruntime refuses layout=1; where it runs, it must agree with the reference evaluator
        session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        for name, value in zip(outputs, session.run(outputs, {"X": xs})):
            np.testing.assert_allclose(value, values[name], rtol=1e-5, atol=1e-6, err_msg=name)
    return {"id": case_id(config), "config": config, "weights": {k: listed(v) for k, v in weights.items()},
            "input": listed(xs), "outputs": {k: listed(v) for k, v in values.items()}}


def main() -> None:
    cases = [record(i, {**BASE, **config}) for i, config in enumerate(CASES)]
    data = {"framework": "onnx", "recorded_with": f"onnx {onnx.__version__} (reference evaluator, opset {OPSET}; "
                                                  f"onnxruntime {onnxruntime.__version__} agrees where it runs)",
            "cases": cases}
    OUT.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
