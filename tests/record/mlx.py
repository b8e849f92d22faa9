"""Record tests/vectors/mlx.json from the real mlx.nn: seeded weights, inputs and what the layers return.

Run by hand with mlx installed (pip install 'mlx[cpu]'): python tests/record/mlx.py
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path, and its name would hide the real mlx.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import mlx.core as mx  # noqa: E402
import mlx.nn as nn  # noqa: E402
import numpy as np  # noqa: E402
from mlx.utils import tree_flatten  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "vectors" / "mlx.json"
LAYER = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def cases() -> list[dict[str, Any]]:
    """Every cell with and without bias, one and two layers; each cell with a head; layers of their own sizes."""
    cells = ("lstm", "gru", "rnn")
    grid = [dict(cell=c, bias=b, layers=n) for c, b, n in itertools.product(cells, (True, False), (1, 2))]
    grid += [dict(cell=c, bias=True, layers=1, out=2, head_activation="none") for c in cells]
    same = [dict(framework="mlx", input=3, hidden=4, **g) for g in grid]
    # A list (JSON's own form, so that a fresh recording compares equal to a stored one): one size per layer.
    return same + [
        dict(framework="mlx", input=3, hidden=[4, 2], cell="lstm", bias=True, layers=2, out=2, head_activation="none"),
        dict(framework="mlx", input=2, hidden=[2, 5, 3], cell="gru", bias=True, layers=3),
        dict(framework="mlx", input=3, hidden=[5, 3], cell="rnn", bias=False, layers=2),
    ]


class Stack(nn.Module):
    """A model's list `layers` (or its `rnn` beside a `head`), each layer reading the hidden sequence below."""

    def __init__(self, c: dict[str, Any]) -> None:
        super().__init__()
        make = LAYER[c["cell"]]
        sizes = c["hidden"] if isinstance(c["hidden"], list) else [c["hidden"]] * c["layers"]
        made = [make(([c["input"]] + sizes)[k], sizes[k], bias=c["bias"]) for k in range(c["layers"])]
        if c["layers"] > 1:
            self.layers = made
        else:
            self.rnn = made[0]
        if c.get("out"):
            self.head = nn.Linear(sizes[-1], c["out"])

    def __call__(self, x: mx.array) -> dict[str, mx.array]:
        out: dict[str, mx.array] = {}
        for layer in self.layers if "layers" in self else [self.rnn]:
            got = layer(x)
            if isinstance(got, tuple):
                x, out["cell"] = got
            else:
                x = got
            out["hidden"] = x
        if "head" in self:
            out["logits"] = self.head(x[:, -1])
        return out


def record(c: dict[str, Any], seed: int) -> dict[str, Any]:
    mx.random.seed(seed)
    stack = Stack(c)
    bare = c["layers"] == 1 and not c.get("out")
    model = stack.rnn if bare else stack  # a bare layer names its tensors Wx, Wh, bias
    x = np.random.default_rng(seed).standard_normal((3, 4, c["input"])).astype(np.float32)
    outputs = stack(mx.array(x))
    sizes = f"-h{','.join(map(str, c['hidden']))}" if isinstance(c["hidden"], list) else ""
    name = f"{c['cell']}-{'bias' if c['bias'] else 'nobias'}-L{c['layers']}{sizes}" + ("-head" if c.get("out") else "")
    return {
        "id": name,
        "config": c,
        "weights": {k: np.array(v).tolist() for k, v in tree_flatten(model.parameters())},
        "input": x.tolist(),
        "outputs": {k: np.array(v).tolist() for k, v in outputs.items()},
    }


def main() -> None:
    data = {"framework": "mlx", "recorded_with": f"mlx {mx.__version__}",
            "cases": [record(c, seed) for seed, c in enumerate(cases())]}
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(data) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(data['cases'])} cases, {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
