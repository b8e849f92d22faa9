"""Record tests/vectors/keras.json from the real Keras 3: `KERAS_BACKEND=torch python tests/record/keras.py`.

Not a test. Each case builds the model the tool names weights after (Input, the recurrent layers,
Bidirectional where asked, a Dense head), assigns seeded weights, runs a seeded input, and writes
the weights by path, the input and every tensor the tool says Keras returns: `output`
(return_sequences=False), `sequences`, the states (return_state=True), `logits` and `probs`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # this file must not shadow keras

import keras  # noqa: E402
import numpy as np  # noqa: E402

OUT = HERE.parent / "vectors" / "keras.json"
LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "rnn": keras.layers.SimpleRNN}

# Non-square sizes; every cell, GRU with either reset placement, stacked and Bidirectional layers,
# no bias, and a head with Keras' own defaults (softmax over Bidirectional's final states), with no
# bias, reading the last step, and each activation.
BASE = dict(framework="keras", batch=2, seq_len=4)
CASES: list[dict[str, Any]] = [
    dict(cell="lstm", input=3, hidden=4, layers=2, bidirectional=True, out=3),
    dict(cell="lstm", input=2, hidden=3, bias=False),
    dict(cell="gru", reset_after=True, input=3, hidden=4, bidirectional=True, out=2, head_activation="sigmoid",
         head_reads="last-step", head_bias=False),
    dict(cell="gru", reset_after=False, input=4, hidden=3, layers=2),
    dict(cell="gru", reset_after=True, input=3, hidden=2, bias=False),
    dict(cell="rnn", input=3, hidden=4, layers=2, bidirectional=True, out=1, head_activation="none",
         head_reads="final-states"),
    dict(cell="rnn", input=2, hidden=3),
    # Bidirectional's other merge modes; None returns two tensors, so one layer and no head.
    dict(cell="lstm", input=3, hidden=5, layers=2, bidirectional=True, merge_mode="sum", out=1),
    dict(cell="gru", reset_after=True, input=2, hidden=4, layers=2, bidirectional=True, merge_mode="mul", out=3,
         head_reads="last-step"),
    dict(cell="rnn", input=4, hidden=3, layers=3, bidirectional=True, merge_mode="ave", out=2),
    dict(cell="lstm", input=3, hidden=4, bidirectional=True, merge_mode="none"),
    dict(cell="gru", reset_after=False, input=2, hidden=3, bidirectional=True, merge_mode="none"),
    # A head on every step: Dense on the 3-D sequences (return_sequences=True), (B, T, o).
    dict(cell="lstm", input=3, hidden=4, bidirectional=True, out=3, head_reads="every-step"),
    dict(cell="gru", reset_after=True, input=2, hidden=3, layers=2, out=2, head_activation="sigmoid",
         head_reads="every-step", head_bias=False),
    dict(cell="rnn", input=4, hidden=2, bidirectional=True, merge_mode="ave", out=1, head_reads="every-step"),
    # Layers of their own sizes: LSTM(5, return_sequences=True) -> LSTM(3) -> ..., growing and shrinking.
    dict(cell="lstm", input=3, hidden=[5, 3], out=2),
    dict(cell="gru", reset_after=True, input=2, hidden=[2, 4, 3], bidirectional=True, out=1),
    dict(cell="rnn", input=4, hidden=[3, 5], bidirectional=True, merge_mode="sum", out=3, head_reads="every-step"),
]


def listed(array: Any) -> Any:
    """A float32 array as nested lists of the shortest decimals that read back to the same float32."""
    return json.loads(np.array2string(np.asarray(array, dtype=np.float32), separator=",", threshold=10**9,
                                      floatmode="unique", max_line_width=10**9))


def case_id(config: dict[str, Any]) -> str:
    hidden = config["hidden"]
    sizes, layers = (",".join(map(str, hidden)), len(hidden)) if isinstance(hidden, list) else (hidden, config.get("layers", 1))
    parts = [config["cell"], f"x{config['input']}", f"h{sizes}", f"L{layers}"]
    if "reset_after" in config:
        parts.insert(1, f"ra{int(config['reset_after'])}")
    parts += [flag for flag, on in (("bi", config.get("bidirectional")), ("nobias", config.get("bias") is False)) if on]
    if "merge_mode" in config:
        parts.append(f"merge-{config['merge_mode']}")
    if config.get("out"):
        head = f"o{config['out']}-{config.get('head_activation', 'default')}-{config.get('head_reads', 'default')}"
        parts.append(head + ("" if config.get("head_bias", True) else "-nobias"))
    return "-".join(parts)


def recurrent(config: dict[str, Any], k: int = -1, **kwargs: Any) -> Any:
    """Layer k (the last by default): hidden is one size, or a list of one per layer."""
    if config["cell"] == "gru":
        kwargs["reset_after"] = config["reset_after"]
    units = config["hidden"][k] if isinstance(config["hidden"], list) else config["hidden"]
    layer = LAYERS[config["cell"]](units, use_bias=config.get("bias", True), **kwargs)
    if not config.get("bidirectional"):
        return layer
    mode = config.get("merge_mode", "concat")
    return keras.layers.Bidirectional(layer, merge_mode=None if mode == "none" else mode)


def to_np(value: Any) -> Any:
    return keras.ops.convert_to_numpy(value)


def record(index: int, config: dict[str, Any]) -> dict[str, Any]:
    keras.backend.clear_session()  # auto-names start again at lstm, dense, ...
    rng = np.random.default_rng(index)
    layers = len(config["hidden"]) if isinstance(config["hidden"], list) else config.get("layers", 1)
    reads_last = config.get("head_reads") == "last-step"
    reads_every = config.get("head_reads") == "every-step"  # Dense on the 3-D sequences
    inp = keras.Input(shape=(None, config["input"]))
    y, stack = inp, []
    for k in range(layers):
        stack.append(recurrent(config, k, return_sequences=k < layers - 1 or reads_last or reads_every))
        y = stack[-1](y)
    dense = None
    if config.get("out"):
        dense = keras.layers.Dense(config["out"], use_bias=config.get("head_bias", True))
        y = dense(y[:, -1] if reads_last else y)
    model = keras.Model(inp, y)
    weights = {}
    for v in model.weights:
        array = rng.uniform(-0.6, 0.6, size=tuple(int(d) for d in v.shape)).astype(np.float32)
        v.assign(array)
        weights[v.path] = array

    # Every returned tensor from the same layers: a copy of the top layer (same weights) returns them all.
    y = inp
    for layer in stack[:-1]:
        y = layer(y)
    full = recurrent(config, return_sequences=True, return_state=True)
    final = recurrent(config)
    got = full(y)
    if config.get("merge_mode") == "none":  # a list per direction: [forward, backward], then the states
        ends = final(y)
        outputs = {"forward_output": ends[0], "backward_output": ends[1],
                   "forward_sequences": got[0], "backward_sequences": got[1]}
        got = got[1:]
    else:
        outputs = {"output": final(y), "sequences": got[0]}
    full.set_weights(stack[-1].get_weights())
    final.set_weights(stack[-1].get_weights())
    per = ["state_h", "state_c"] if config["cell"] == "lstm" else ["state_h"]
    sides = ["forward_", "backward_"] if config.get("bidirectional") else [""]
    outputs.update(zip([side + name for side in sides for name in per], got[1:]))
    if dense is not None:
        outputs["logits"] = dense(got[0] if reads_every else got[0][:, -1] if reads_last else outputs["output"])
        activation = config.get("head_activation", "softmax" if config["out"] >= 2 else "none")
        if activation != "none":
            outputs["probs"] = keras.layers.Activation(activation)(outputs["logits"])
    xs = rng.standard_normal((config["batch"], config["seq_len"], config["input"])).astype(np.float32)
    values = keras.Model(inp, outputs)(xs)
    return {"id": case_id(config), "config": config, "weights": {k: listed(v) for k, v in weights.items()},
            "input": listed(xs), "outputs": {k: listed(to_np(v)) for k, v in values.items()}}


def main() -> None:
    keras.utils.set_random_seed(0)
    cases = [record(i, {**BASE, **config}) for i, config in enumerate(CASES)]
    data = {"framework": "keras", "recorded_with": f"keras {keras.__version__} ({keras.backend.backend()} backend)",
            "cases": cases}
    OUT.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
