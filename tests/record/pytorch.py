"""Record tests/vectors/pytorch.json from the real torch: `python tests/record/pytorch.py` (not a test).

Each case seeds torch, builds nn.LSTM / nn.GRU / nn.RNN (with an nn.Linear head in one module beside
it, as `rnn` and `head`), runs it on a seeded input and writes the state_dict, the input and every
returned tensor (output, h_n, c_n, logits, probs) as tests/test_vectors.py reads them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

OUT = Path(__file__).resolve().parents[1] / "vectors" / "pytorch.json"
CELLS = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}

# Small and non-square, so that a transposed block cannot pass for an untransposed one; between
# them: every cell, stacked and bidirectional layers, no bias, a projection, both layouts, and a
# head with and without a bias, reading the last step, the final states or every step, each activation.
BASE = dict(framework="pytorch", batch=2, seq_len=3)
CASES: list[dict[str, Any]] = [
    dict(cell="lstm", input=3, hidden=4),
    dict(cell="lstm", input=3, hidden=4, proj=2, layers=2, bidirectional=True, batch_first=True,
         out=3, head_activation="softmax", head_reads="final-states"),
    dict(cell="lstm", input=2, hidden=3, bias=False, bidirectional=True, out=2, head_activation="sigmoid",
         head_reads="last-step", head_bias=False),
    dict(cell="gru", input=3, hidden=4, layers=2, bidirectional=True),
    dict(cell="gru", input=4, hidden=3, bias=False, batch_first=True, out=1, head_activation="none",
         head_reads="last-step"),
    dict(cell="rnn", input=3, hidden=4, layers=2, bidirectional=True, batch_first=True, out=3,
         head_activation="none", head_reads="final-states"),
    dict(cell="rnn", input=2, hidden=3, bias=False),
    dict(cell="lstm", input=2, hidden=3, proj=1),
    # A head on every step: nn.Linear on the whole output, in each layout, one and two directions.
    dict(cell="lstm", input=3, hidden=4, bidirectional=True, out=3, head_activation="softmax", head_reads="every-step"),
    dict(cell="gru", input=2, hidden=3, layers=2, batch_first=True, out=2, head_activation="sigmoid",
         head_reads="every-step", head_bias=False),
    dict(cell="rnn", input=4, hidden=2, bidirectional=True, batch_first=True, out=1, head_activation="none",
         head_reads="every-step"),
    dict(cell="lstm", input=3, hidden=4, proj=2, out=2, head_activation="softmax", head_reads="every-step"),
    # Layers of their own sizes: one module each in an nn.ModuleList, growing and shrinking.
    dict(cell="lstm", input=3, hidden=[5, 2], bidirectional=True, out=2, head_activation="softmax", head_reads="last-step"),
    dict(cell="gru", input=2, hidden=[2, 4, 3], batch_first=True, out=1, head_activation="none",
         head_reads="final-states"),
    dict(cell="lstm", input=4, hidden=[5, 3], proj=2, batch_first=True, bidirectional=True),
]


def listed(array: Any) -> Any:
    """A float32 array as nested lists of the shortest decimals that read back to the same float32."""
    return json.loads(np.array2string(np.asarray(array, dtype=np.float32), separator=",", threshold=10**9,
                                      floatmode="unique", max_line_width=10**9))


def case_id(config: dict[str, Any]) -> str:
    hidden = config["hidden"]
    sizes, layers = (",".join(map(str, hidden)), len(hidden)) if isinstance(hidden, list) else (hidden, config.get("layers", 1))
    parts = [config["cell"], f"x{config['input']}", f"h{sizes}", f"L{layers}"]
    parts += [flag for flag, on in (("bi", config.get("bidirectional")), ("nobias", config.get("bias") is False),
                                    ("bf", config.get("batch_first"))) if on]
    if config.get("proj"):
        parts.append(f"p{config['proj']}")
    if config.get("out"):
        parts.append(f"o{config['out']}-{config['head_activation']}-{config['head_reads']}"
                     + ("" if config.get("head_bias", True) else "-nobias"))
    return "-".join(parts)


class Model(torch.nn.Module):
    """The recurrent layer and its dense head, as a user writes them."""

    def __init__(self, rnn: torch.nn.Module, width: int, config: dict[str, Any]) -> None:
        super().__init__()
        self.rnn = rnn
        self.head = torch.nn.Linear(width, config["out"], bias=config.get("head_bias", True))


def record(index: int, config: dict[str, Any]) -> dict[str, Any]:
    torch.manual_seed(index)
    directions = 2 if config.get("bidirectional") else 1
    kwargs: dict[str, Any] = dict(num_layers=config.get("layers", 1), bias=config.get("bias", True),
                                  bidirectional=directions == 2, batch_first=config.get("batch_first", False))
    if config.get("proj"):
        kwargs["proj_size"] = config["proj"]
    sizes = config["hidden"] if isinstance(config["hidden"], list) else None
    if sizes is None:
        rnn: torch.nn.Module = CELLS[config["cell"]](config["input"], config["hidden"], **kwargs)
        width = directions * (config.get("proj") or config["hidden"])
    else:  # layers of their own sizes: one module each in an nn.ModuleList, fed the one below's output
        modules, width = [], config["input"]
        for size in sizes:
            modules.append(CELLS[config["cell"]](width, size, **kwargs))
            width = directions * (config.get("proj") or size)
        rnn = torch.nn.ModuleList(modules)
    whole: torch.nn.Module = rnn
    if config.get("out"):
        whole = Model(rnn, width, config)
    n, t = config["batch"], config["seq_len"]
    xs = torch.randn((n, t, config["input"]) if kwargs["batch_first"] else (t, n, config["input"]))
    with torch.no_grad():
        states = []
        output = xs
        for module in rnn if sizes is not None else [rnn]:
            output, state = module(output)
            states.append(state if config["cell"] == "lstm" else (state,))
        outputs = {"output": output}
        names = ("h_n", "c_n") if config["cell"] == "lstm" else ("h_n",)
        for k, state in enumerate(states):
            of = f" of layer {k}" if sizes is not None else ""
            outputs.update((name + of, value) for name, value in zip(names, state))
        if config.get("out"):
            if config["head_reads"] == "final-states":
                last = torch.cat(list(states[-1][0][-directions:]), dim=1)
            elif config["head_reads"] == "every-step":
                last = output  # nn.Linear applies to the last axis: (T, N, o), or (N, T, o) batch-first
            else:
                last = output[:, -1] if kwargs["batch_first"] else output[-1]
            outputs["logits"] = whole.head(last)
            if config["head_activation"] == "softmax":
                outputs["probs"] = torch.softmax(outputs["logits"], dim=-1)
            elif config["head_activation"] == "sigmoid":
                outputs["probs"] = torch.sigmoid(outputs["logits"])
    return {"id": case_id(config), "config": config,
            "weights": {name: listed(value) for name, value in whole.state_dict().items()},
            "input": listed(xs), "outputs": {name: listed(value) for name, value in outputs.items()}}


def main() -> None:
    cases = [record(i, {**BASE, **config}) for i, config in enumerate(CASES)]
    data = {"framework": "pytorch", "recorded_with": f"torch {torch.__version__}", "cases": cases}
    OUT.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
