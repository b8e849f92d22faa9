"""Record tests/vectors/paddle.json from the real paddle: `python tests/record/paddle.py` (not a test).

Each case seeds paddle, builds nn.LSTM / nn.GRU / nn.SimpleRNN (with an nn.Linear head in one
nn.Layer beside it, as `rnn` and `head`; layers of their own sizes as one module per size in an
nn.LayerList, each fed the outputs of the one below), runs it in float32 on a seeded input and writes the
state_dict (the cells' own tensors; the layer's `weight_ih_l0` aliases of the same tensors left
out), the input and every returned tensor (outputs, final_states (per module in a LayerList), logits, probs).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

# Run as a script, this file's folder comes first on sys.path and this file would import itself as paddle.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
import paddle  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "vectors" / "paddle.json"
LAYERS = {"lstm": paddle.nn.LSTM, "gru": paddle.nn.GRU, "rnn": paddle.nn.SimpleRNN}
ALIAS = re.compile(r"(rnn\.)?(\d+\.)?(weight|bias)_(ih|hh)_l\d+(_reverse)?")

# Small and non-square, so that a transposed block cannot pass for an untransposed one; between
# them: every cell, stacked and bidirectional layers, a projection (stacked and bidirectional too),
# both layouts, and a head with and without a bias, reading the last step or the final states.
BASE = dict(framework="paddle", batch=2, seq_len=3)
CASES: list[dict[str, Any]] = [
    dict(cell="lstm", input=3, hidden=4),
    dict(cell="lstm", input=3, hidden=4, proj=2, layers=2, bidirectional=True, batch_first=False,
         out=3, head_activation="softmax", head_reads="final-states"),
    dict(cell="lstm", input=2, hidden=3, bidirectional=True, out=2, head_activation="sigmoid",
         head_reads="last-step", head_bias=False),
    dict(cell="lstm", input=2, hidden=3, proj=1),
    dict(cell="gru", input=3, hidden=4, layers=2, bidirectional=True),
    dict(cell="gru", input=4, hidden=3, batch_first=False, out=1, head_activation="none", head_reads="last-step"),
    dict(cell="rnn", input=3, hidden=4, layers=2, bidirectional=True, out=3, head_activation="none",
         head_reads="final-states"),
    dict(cell="rnn", input=2, hidden=3, batch_first=False),
    # Layers of their own sizes: one module per size in an nn.LayerList, shrinking, growing, up and down.
    dict(cell="lstm", input=3, hidden=(4, 2), out=2, head_activation="softmax", head_reads="last-step"),
    dict(cell="lstm", input=2, hidden=(2, 4, 3), proj=1, bidirectional=True, batch_first=False),
    dict(cell="gru", input=3, hidden=(2, 4), bidirectional=True, out=3, head_activation="sigmoid",
         head_reads="final-states"),
    dict(cell="rnn", input=2, hidden=(4, 3, 2), batch_first=False, out=1, head_activation="none",
         head_reads="final-states"),
]


def listed(array: Any) -> Any:
    """A float32 array as nested lists of the shortest decimals that read back to the same float32."""
    values = np.asarray(array, dtype=np.float32)
    if values.ndim == 0:
        return float(str(values))  # str of a float32 is its shortest round-tripping decimal
    return [listed(row) for row in values]


def case_id(config: dict[str, Any]) -> str:
    hidden = config["hidden"]
    sizes = ",".join(map(str, hidden)) if isinstance(hidden, tuple) else hidden
    layers = len(hidden) if isinstance(hidden, tuple) else config.get("layers", 1)
    parts = [config["cell"], f"x{config['input']}", f"h{sizes}", f"L{layers}"]
    parts += [flag for flag, on in (("bi", config.get("bidirectional")), ("tm", config.get("batch_first") is False)) if on]
    if config.get("proj"):
        parts.append(f"p{config['proj']}")
    if config.get("out"):
        parts.append(f"o{config['out']}-{config['head_activation']}-{config['head_reads']}"
                     + ("" if config.get("head_bias", True) else "-nobias"))
    return "-".join(parts)


class Model(paddle.nn.Layer):
    """The recurrent layer and its dense head, as a user writes them."""

    def __init__(self, rnn: paddle.nn.Layer, width: int, config: dict[str, Any]) -> None:
        super().__init__()
        self.rnn = rnn
        self.head = paddle.nn.Linear(width, config["out"], bias_attr=None if config.get("head_bias", True) else False)


def record(index: int, given: dict[str, Any]) -> dict[str, Any]:
    config = {**BASE, **given}
    paddle.seed(index)
    directions = 2 if config.get("bidirectional") else 1
    time_major = config.get("batch_first") is False
    kwargs: dict[str, Any] = dict(time_major=time_major, direction="bidirect" if directions == 2 else "forward")
    if config.get("proj"):
        kwargs["proj_size"] = config["proj"]
    per_layer = isinstance(config["hidden"], tuple)  # one module per size, in an nn.LayerList
    sizes = config["hidden"] if per_layer else (config["hidden"],)
    if per_layer:
        modules, width = [], config["input"]
        for size in sizes:
            modules.append(LAYERS[config["cell"]](width, size, **kwargs))
            width = directions * (config.get("proj") or size)
        rnn = paddle.nn.LayerList(modules)
    else:
        rnn = LAYERS[config["cell"]](config["input"], config["hidden"], num_layers=config.get("layers", 1), **kwargs)
    whole: paddle.nn.Layer = rnn
    if config.get("out"):
        whole = Model(rnn, directions * (config.get("proj") or sizes[-1]), config)
    n, t = config["batch"], config["seq_len"]
    xs = paddle.randn((t, n, config["input"]) if time_major else (n, t, config["input"]), dtype="float32")
    with paddle.no_grad():
        found = {}
        outputs = xs
        for k, module in enumerate(rnn if per_layer else [rnn]):
            outputs, states = module(outputs)
            of = f" of layer {k}" if per_layer else ""
            if config["cell"] == "lstm":
                found[f"final_states[0]{of}"], found[f"final_states[1]{of}"] = states
            else:
                found[f"final_states{of}"] = states
        found = {"outputs": outputs, **found}
        if config.get("out"):
            h_n = states[0] if config["cell"] == "lstm" else states
            if config["head_reads"] == "final-states":
                last = paddle.concat(list(h_n[-directions:]), axis=1)
            else:
                last = outputs[-1] if time_major else outputs[:, -1]
            found["logits"] = whole.head(last)
            if config["head_activation"] == "softmax":
                found["probs"] = paddle.nn.functional.softmax(found["logits"], axis=1)
            elif config["head_activation"] == "sigmoid":
                found["probs"] = paddle.nn.functional.sigmoid(found["logits"])
    weights = {name: listed(t.numpy()) for name, t in whole.state_dict().items() if not ALIAS.fullmatch(name)}
    return {"id": case_id(config), "config": config, "weights": weights, "input": listed(xs.numpy()),
            "outputs": {name: listed(value.numpy()) for name, value in found.items()}}


def main() -> None:
    data = {"framework": "paddle", "recorded_with": f"paddlepaddle {paddle.__version__}",
            "cases": [record(index, config) for index, config in enumerate(CASES)]}
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(data, indent=None, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes, {len(data['cases'])} cases)")


if __name__ == "__main__":
    main()
