"""Record tests/vectors/pytorch-cell.json from the real torch cells (run by hand; not a test).

    python tests/record/pytorch_cell.py

Seeded weights, input, given state (h_0, c_0: random, so that weight_hh matters) and what the cell
and its head return, for every cell with and without bias and head; float32 values written with repr.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import torch

OUT = Path(__file__).resolve().parents[1] / "vectors" / "pytorch-cell.json"
CELLS = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell, "rnn": torch.nn.RNNCell}
X, H, O, BATCH = 3, 4, 3, 2  # x ≠ h and o ≠ h, so a dropped transpose cannot pass unseen


def listed(tensor: torch.Tensor) -> Any:
    """Nested lists of Python floats, each the float32 value exactly."""
    if tensor.dim() == 0:
        return float(tensor)
    return [listed(t) for t in tensor]


def record(cell: str, bias: bool, head: str | None, seed: int) -> dict[str, Any]:
    torch.manual_seed(seed)
    module = CELLS[cell](X, H, bias=bias)
    holder = module
    if head is not None:  # one module holding both: cell.weight_ih, ..., head.weight, head.bias
        holder = torch.nn.Module()
        holder.cell = module
        holder.head = torch.nn.Linear(H, O)
    xs, h0, c0 = torch.randn(BATCH, X), torch.randn(BATCH, H), torch.randn(BATCH, H)
    state = {"h_0": h0}
    with torch.no_grad():
        if cell == "lstm":
            state["c_0"] = c0
            h1, c1 = module(xs, (h0, c0))
            outputs = {"h_1": h1, "c_1": c1}
        else:
            outputs = {"h_1": module(xs, h0)}
        if head is not None:
            logits = holder.head(outputs["h_1"])
            outputs["logits"] = logits
            if head != "none":
                outputs["probs"] = torch.softmax(logits, dim=1) if head == "softmax" else torch.sigmoid(logits)
    config: dict[str, Any] = {"framework": "pytorch-cell", "input": X, "hidden": H, "cell": cell, "bias": bias,
                              "batch": BATCH}
    if head is not None:
        config.update(out=O, head_activation=head)
    return {
        "id": f"{cell}-{'bias' if bias else 'nobias'}-{head or 'nohead'}",
        "config": config,
        "weights": {name: listed(value) for name, value in holder.state_dict().items()},
        "input": listed(xs),
        "state": {name: listed(value) for name, value in state.items()},
        "outputs": {name: listed(value) for name, value in outputs.items()},
    }


def main() -> None:
    heads = {"lstm": "softmax", "gru": "sigmoid", "rnn": "none"}
    cases = [record(cell, bias, heads[cell] if head else None, seed)
             for seed, (cell, bias, head) in enumerate(itertools.product(CELLS, (True, False), (False, True)))]
    data = {"framework": "pytorch-cell", "recorded_with": f"torch {torch.__version__.split('+')[0]}", "cases": cases}
    OUT.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(cases)} cases, {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
