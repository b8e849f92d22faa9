"""Record tests/vectors/flax.json from the real flax.linen: seeded params, inputs, outputs and final carries.

Run by hand in a venv with flax (not a test): `python tests/record/flax.py`. The models are those of
tests/test_flax.py, imported from it so that the cross-check and the recording cannot drift apart.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
# This file is named flax.py: its folder must not shadow the package.
sys.path[:] = [str(TESTS)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import jax.numpy as jnp  # noqa: E402
from flax import traverse_util  # noqa: E402
from test_flax import Case, init_random, returned_by_name  # noqa: E402

# Small sizes, hidden >= 2 so that a swapped gate, a dropped transpose or a misplaced bias changes the numbers.
GRID = [
    Case("lstm", 3, 2, 1, False, True, None, True, "last-step", "none", 2, 3),
    Case("lstm", 2, 3, 2, True, False, None, True, "last-step", "none", 2, 4),
    Case("lstm", 4, 2, 1, True, True, 3, True, "final-states", "softmax", 3, 3),
    Case("gru", 3, 2, 1, False, True, None, True, "last-step", "none", 2, 3),
    Case("gru", 2, 4, 2, True, False, None, True, "last-step", "none", 2, 2),
    Case("gru", 3, 3, 1, False, False, 2, False, "last-step", "sigmoid", 1, 4),
    Case("rnn", 3, 2, 1, False, True, None, True, "last-step", "none", 2, 3),
    Case("rnn", 2, 3, 2, True, True, 2, True, "final-states", "none", 3, 2),
    # Layers of their own sizes (one nn.RNN per size in `layers`): shrinking, growing, up and down.
    Case("lstm", 3, (4, 2), 2, True, True, 2, True, "final-states", "softmax", 2, 3),
    Case("gru", 2, (2, 4, 3), 3, False, False, None, True, "last-step", "none", 2, 3),
    Case("rnn", 3, (3, 2), 2, False, True, 3, False, "last-step", "sigmoid", 2, 2),
]


def record(case: Case) -> dict[str, object]:
    model, params, x = init_random(case, seed=7)
    tree = traverse_util.unflatten_dict({tuple(k.split("/")): jnp.asarray(v) for k, v in params.items()})
    outputs = returned_by_name(case, model.apply({"params": tree}, jnp.asarray(x)))
    config = {"input": case.input, "hidden": case.hidden, "cell": case.cell, "framework": "flax", "layers": case.layers,
              "bidirectional": case.bidirectional, "batch_first": case.batch_first, "out": case.out}
    if case.out is not None:
        config.update(head_bias=case.head_bias, head_reads=case.head_reads, head_activation=case.head_activation)
    return {"id": case.id, "config": config,
            "weights": {name: a.tolist() for name, a in params.items()},  # flatten_dict's order, the model's own
            "input": x.tolist(),
            "outputs": {name: a.tolist() for name, a in outputs.items()}}


def main() -> None:
    data = {"framework": "flax", "recorded_with": f"flax {version('flax')} (jax {version('jax')})",
            "cases": [record(case) for case in GRID]}
    path = TESTS / "vectors" / "flax.json"
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"{path}: {len(GRID)} cases, {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
