"""Measure what PyTorch's autograd keeps for training an nn.LSTM/GRU/RNN (+ head), and record it.

`python tests/record_memory.py` rewrites tests/golden/memory_torch.json from the installed torch;
tests/test_memory.py checks the recorded figures in every run and measures torch itself where it
is installed.

What is measured: the model in train mode, the input a plain tensor (data, no grad), the
parameters requiring grad, initial states left to torch (zeros). Every tensor autograd saves for
the backward pass is caught with torch.autograd.graph.saved_tensors_hooks and counted by its
storage, once per storage (a view keeps its whole base alive), leaving out the parameters'
storages. The head is nn.Linear reading output[-1] ("last-step") or h_n[-1], for two directions
torch.cat((h_n[-2], h_n[-1]), 1) ("final-states"), or the whole output ("every-step"), then
softmax, sigmoid or nothing. Layers of their own sizes are one module each, chained, the head on the last.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden" / "memory_torch.json"


def grid(seed: int = 2024) -> list[dict[str, Any]]:
    """Config options for PyTorch: every cell, 1-3 layers, both directions, projection, each head."""
    rng = random.Random(seed)
    heads: list[dict[str, Any]] = [
        {},
        dict(out=3, head_activation="softmax", head_reads="last-step"),
        dict(out=1, head_activation="sigmoid", head_reads="final-states"),
        dict(out=2, head_activation="none", head_reads="final-states", head_bias=False),
        dict(out=4, head_activation="softmax", head_reads="final-states"),
        dict(out=2, head_activation="none", head_reads="last-step"),
    ]
    cases = []
    for cell in ("lstm", "gru", "rnn"):
        for layers in (1, 2, 3):
            for bidirectional in (False, True):
                for proj in ((None, True) if cell == "lstm" else (None,)):
                    for head in heads:
                        hidden = rng.randint(2, 40)
                        case: dict[str, Any] = dict(
                            cell=cell, framework="pytorch", input=rng.randint(1, 24), hidden=hidden,
                            layers=layers, bidirectional=bidirectional,
                            batch=rng.randint(1, 9), seq_len=rng.randint(1, 9), **head,
                        )
                        if proj:
                            case["proj"] = rng.randint(1, hidden - 1)
                        if rng.random() < 0.2:
                            case["bias"] = False
                        if rng.random() < 0.3:
                            case["batch_first"] = True
                        cases.append(case)
    # Sizes where oneDNN's padding and page rounding show: rows of 128 and 256 floats, long sequences.
    for hidden, seq_len, batch in ((64, 20, 16), (128, 2, 3), (33, 50, 7)):
        cases.append(dict(cell="lstm", framework="pytorch", input=10, hidden=hidden, seq_len=seq_len, batch=batch))
    # A head on every step, from a generator of its own so that the cases above stay as they were:
    # every cell, one to three layers, each direction count and layout, each activation.
    rng = random.Random(2025)
    for cell in ("lstm", "gru", "rnn"):
        for layers in (1, 2, 3):
            for bidirectional in (False, True):
                for batch_first in (False, True):
                    hidden = rng.randint(2, 30)
                    case = dict(cell=cell, framework="pytorch", input=rng.randint(1, 20), hidden=hidden, layers=layers,
                                bidirectional=bidirectional, batch=rng.randint(1, 7), seq_len=rng.randint(1, 8),
                                out=rng.randint(1, 5), head_activation=rng.choice(("softmax", "sigmoid", "none")),
                                head_reads="every-step")
                    if batch_first:
                        case["batch_first"] = True
                    if cell == "lstm" and rng.random() < 0.4:
                        case["proj"] = rng.randint(1, hidden - 1)
                    if rng.random() < 0.2:
                        case["bias"] = False
                    if rng.random() < 0.3:
                        case["head_bias"] = False
                    cases.append(case)
    # Layers of their own sizes (hidden a list): one module per layer, chained; from a generator of their own.
    rng = random.Random(2026)
    for cell in ("lstm", "gru", "rnn"):
        for layers in (2, 3):
            for bidirectional in (False, True):
                for head in heads[:4] + [dict(out=3, head_activation="softmax", head_reads="every-step")]:
                    sizes = [rng.randint(2, 30) for _ in range(layers)]
                    if len(set(sizes)) == 1:
                        sizes[-1] += 1
                    case = dict(cell=cell, framework="pytorch", input=rng.randint(1, 20), hidden=sizes,
                                bidirectional=bidirectional, batch=rng.randint(2, 7), seq_len=rng.randint(2, 8), **head)
                    if rng.random() < 0.3:
                        case["batch_first"] = True
                    if cell == "lstm" and rng.random() < 0.3:
                        case["proj"] = rng.randint(1, min(sizes) - 1)
                    cases.append(case)
    return cases


def measure(case: dict[str, Any], onednn: bool = False) -> dict[str, int]:
    """Bytes autograd keeps for one forward pass of `case`: all, and oneDNN's workspace (uint8) alone."""
    import torch

    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[case["cell"]]
    options: dict[str, Any] = dict(num_layers=case.get("layers", 1), bidirectional=case.get("bidirectional", False),
                                   bias=case.get("bias", True), batch_first=case.get("batch_first", False))
    if case.get("proj"):
        options["proj_size"] = case["proj"]
    torch.manual_seed(0)
    d = 2 if case.get("bidirectional") else 1
    if isinstance(case["hidden"], list):  # layers of their own sizes: one module each, in a ModuleList
        options["num_layers"] = 1
        modules, width = [], case["input"]
        for size in case["hidden"]:
            modules.append(cls(width, size, **options))
            width = d * (case.get("proj") or size)
        model: Any = torch.nn.ModuleList(modules)
    else:
        model = cls(case["input"], case["hidden"], **options)
        width = d * (case.get("proj") or case["hidden"])
    out = case.get("out")
    head = torch.nn.Linear(width, out, bias=case.get("head_bias", True)) if out else None
    params = list(model.parameters()) + (list(head.parameters()) if head else [])
    skip = {p.untyped_storage().data_ptr() for p in params}
    shape = (case["batch"], case["seq_len"]) if options["batch_first"] else (case["seq_len"], case["batch"])
    xs = torch.randn(*shape, case["input"])
    kept: dict[int, int] = {}
    workspace: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in skip:
            kept[storage.data_ptr()] = storage.nbytes()
            if tensor.dtype == torch.uint8:
                workspace[storage.data_ptr()] = storage.nbytes()
        return tensor

    model.train()
    with torch.backends.mkldnn.flags(enabled=onednn), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        if isinstance(model, torch.nn.ModuleList):
            output = xs
            for module in model:
                output, hidden = module(output)
        else:
            output, hidden = model(xs)
        if head is not None:
            if case["head_reads"] == "every-step":
                features = output  # nn.Linear applies to the last axis at every step
            elif case["head_reads"] == "last-step":
                features = output[:, -1] if options["batch_first"] else output[-1]
            else:
                h_n = hidden[0] if case["cell"] == "lstm" else hidden
                features = torch.cat((h_n[-2], h_n[-1]), 1) if d == 2 else h_n[-1]
            logits = head(features)
            if case["head_activation"] == "softmax":
                torch.softmax(logits, -1)
            elif case["head_activation"] == "sigmoid":
                torch.sigmoid(logits)
    return {"bytes": sum(kept.values()), "workspace": sum(workspace.values())}


def record(cases: list[dict[str, Any]]) -> dict[str, Any]:
    import torch

    rows = []
    for case in cases:
        row: dict[str, Any] = {"config": dict(case), "decomposed_bytes": measure(case)["bytes"]}
        if case["cell"] == "lstm" and not case.get("proj"):
            row["onednn_workspace_bytes"] = measure(case, onednn=True)["workspace"]
        rows.append(row)
    return {"torch": torch.__version__, "how": __doc__.split("\n\n")[2].replace("\n", " "), "cases": rows}


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore")  # torch's notes on oneDNN and projections
    data = record(grid())
    GOLDEN.write_text(json.dumps(data, indent=1) + "\n")
    print(f"{len(data['cases'])} cases from torch {data['torch']} written to {GOLDEN}", file=sys.stderr)
