"""inspect across a grid of real files: torch.save state dicts and Keras 3 .keras files made here by the frameworks.

Each file holds recurrent layers among other layers, sometimes several recurrent groups; what inspect finds must
be what was built: the prefix, the cell, the sizes (from the real module or layer), the count, and every tensor of
the file accounted for.
"""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed: inspect's grid skipped")

CELLS = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}


def inspect_json(path: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "lstm_shapes", "inspect", str(path), "--format", "json"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def torch_cases() -> list[dict[str, Any]]:
    rng = random.Random(11)
    cases = []
    for cell, layers, bidirectional, proj, bias in itertools.product(CELLS, (1, 2, 3), (False, True), (False, True),
                                                                      (True, False)):
        if proj and cell != "lstm":
            continue
        hidden = rng.randint(3, 24)
        cases.append(dict(cell=cell, input=rng.randint(1, 20), hidden=hidden, layers=layers, bidirectional=bidirectional,
                          proj=rng.randint(1, hidden - 1) if proj else None, bias=bias))
    return cases


TORCH = torch_cases()


class Model(torch.nn.Module):
    """An embedding, the recurrent module under `encoder.rnn`, a second one under `decoder`, and a Linear."""

    def __init__(self, case: dict[str, Any]) -> None:
        super().__init__()
        kwargs: dict[str, Any] = dict(num_layers=case["layers"], bidirectional=case["bidirectional"], bias=case["bias"])
        if case["proj"]:
            kwargs["proj_size"] = case["proj"]
        self.embed = torch.nn.Embedding(50, case["input"])
        self.encoder = torch.nn.Module()
        self.encoder.rnn = CELLS[case["cell"]](case["input"], case["hidden"], **kwargs)
        width = (2 if case["bidirectional"] else 1) * (case["proj"] or case["hidden"])
        self.decoder = torch.nn.GRU(width, 7)
        self.out = torch.nn.Linear(7, 3)


@pytest.mark.parametrize("case", TORCH, ids=[json.dumps(c, separators=(",", ":")) for c in TORCH])
def test_torch_checkpoints_across_the_grid(case: dict[str, Any], tmp_path: Path) -> None:
    model = Model(case)
    path = tmp_path / "model.pt"
    torch.save({"model": model.state_dict(), "epoch": 3}, path)  # a checkpoint dict: names model.encoder.rnn...
    data = inspect_json(path)
    found = {layer["prefix"]: layer for layer in data["recurrent"]}
    assert set(found) == {"model.encoder.rnn.", "model.decoder."}
    rnn, encoder = model.encoder.rnn, found["model.encoder.rnn."]
    assert (encoder["cell"], encoder["input"], encoder["hidden"], encoder["layers"], encoder["bidirectional"],
            encoder["proj"], encoder["bias"]) == (case["cell"], rnn.input_size, rnn.hidden_size, rnn.num_layers,
                                                   rnn.bidirectional, getattr(rnn, "proj_size", 0) or None, rnn.bias)
    assert encoder["params"] == sum(p.numel() for p in rnn.parameters())
    decoder = found["model.decoder."]
    assert (decoder["cell"], decoder["input"], decoder["hidden"]) == ("gru", model.decoder.input_size, 7)
    assert data["total_params"] == sum(p.numel() for p in model.parameters())
    assert data["total_params"] == sum(layer["params"] for layer in data["recurrent"]) + sum(o["params"] for o in data["other"])
    # The trace is in the file's own names.
    assert {w["name"] for w in encoder["trace"]["weights"]} == {k for k in model.state_dict() if ".encoder.rnn." in f".{k}"} \
        or {w["name"] for w in encoder["trace"]["weights"]} == {f"model.{k}" for k in model.state_dict() if k.startswith("encoder.rnn.")}


KERAS_CASES = [
    dict(cell="lstm", sizes=(6,), bidirectional=False, bias=True),
    dict(cell="gru", sizes=(5, 3), bidirectional=True, bias=True),
    dict(cell="rnn", sizes=(4, 4), bidirectional=False, bias=False),
    dict(cell="lstm", sizes=(3, 7, 2), bidirectional=True, bias=False),
    dict(cell="gru", sizes=(8,), bidirectional=False, bias=False),
]


@pytest.mark.parametrize("case", KERAS_CASES, ids=[json.dumps(c, separators=(",", ":")) for c in KERAS_CASES])
def test_keras_files_across_the_grid(case: dict[str, Any], tmp_path: Path) -> None:
    keras = pytest.importorskip("keras", reason="keras is not installed")
    pytest.importorskip("h5py", reason="h5py is not installed")
    keras.backend.clear_session()
    layers = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "rnn": keras.layers.SimpleRNN}[case["cell"]]
    inp = keras.Input((None, 4))
    y = keras.layers.Dense(4)(inp)  # a non-recurrent layer before
    recurrent = []
    for k, size in enumerate(case["sizes"]):
        layer = layers(size, use_bias=case["bias"], return_sequences=k < len(case["sizes"]) - 1)
        if case["bidirectional"]:
            layer = keras.layers.Bidirectional(layer)
        recurrent.append(layer)
        y = layer(y)
    model = keras.Model(inp, keras.layers.Dense(2)(y))
    path = tmp_path / "m.keras"
    model.save(path)
    data = inspect_json(path)
    assert data["total_params"] == model.count_params()
    assert sum(layer["params"] for layer in data["recurrent"]) == sum(layer.count_params() for layer in recurrent)
    assert data["total_params"] == sum(layer["params"] for layer in data["recurrent"]) + sum(o["params"] for o in data["other"])
    hidden = [h for layer in data["recurrent"] for h in (layer["hidden"] if isinstance(layer["hidden"], list)
                                                          else [layer["hidden"]] * layer["layers"])]
    assert hidden == list(case["sizes"])
    assert all(layer["cell"] == case["cell"] and layer["bidirectional"] == case["bidirectional"]
               and layer["bias"] == case["bias"] for layer in data["recurrent"])
