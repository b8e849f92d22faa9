"""The numpy forward pass against numbers recorded from each real framework, with no framework installed.

Every file in tests/vectors/ was written by its recorder in tests/record/ from the real package:
seeded weights in the framework's own layout and order, an input in its own layout, and the tensors
it returned. For each recorded case the report built from the case's config must name and shape the
weights exactly as the framework listed them, and `run_sequence` fed those weights and that input
must return the recorded tensors. A swapped gate order, a dropped transpose or a misplaced bias in a
framework's module fails here, in the default run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lstm_shapes import Config, build
from lstm_shapes.frameworks import NAMES, get
from lstm_shapes.verify import run_sequence

VECTORS = Path(__file__).parent / "vectors"
FILES = sorted(VECTORS.glob("*.json"))
TOL = dict(rtol=1e-4, atol=1e-5)
MAX_BYTES = 300_000
MAX_SIZE, MAX_BATCH, MAX_STEPS = 5, 3, 4


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


CASES = [(path, case) for path in FILES for case in load(path)["cases"]]
IDS = [f"{path.stem}:{case['id']}" for path, case in CASES]


def test_there_are_vectors() -> None:
    # At least the frameworks recorded with this test; more files only add cases.
    assert {path.stem for path in FILES} >= {"keras", "pytorch", "onnx"}


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_file_is_small_and_says_what_recorded_it(path: Path) -> None:
    assert path.stat().st_size < MAX_BYTES
    data = load(path)
    assert data["framework"] == path.stem and data["framework"] in NAMES
    assert data["recorded_with"].strip()
    assert (Path(__file__).parent / "record" / f"{path.stem.replace('-', '_')}.py").is_file(), "the script that wrote it"
    ids = [case["id"] for case in data["cases"]]
    assert ids and len(ids) == len(set(ids))
    for case in data["cases"]:
        assert case["config"]["framework"] == data["framework"], case["id"]
        config = Config(**case["config"])
        assert max(config.input, *config.sizes, config.out or 1, config.layers) <= MAX_SIZE, case["id"]
        batch_first = config.batch_first
        shape = np.asarray(case["input"]).shape
        batch, steps = (shape[0], shape[1]) if batch_first else (shape[1], shape[0])
        assert batch <= MAX_BATCH and steps <= MAX_STEPS, case["id"]


def arrays_of(case: dict[str, Any]) -> dict[str, np.ndarray]:
    return {name: np.asarray(value, dtype=np.float32) for name, value in case["weights"].items()}


def state_of(case: dict[str, Any]) -> dict[str, np.ndarray] | None:
    """The state a case starts from, where the framework takes one (a cell's h_0, c_0); else zeros."""
    if "state" not in case:
        return None
    return {name: np.asarray(value, dtype=np.float32) for name, value in case["state"].items()}


@pytest.mark.parametrize(("path", "case"), CASES, ids=IDS)
def test_weights_are_named_and_shaped_as_recorded(path: Path, case: dict[str, Any]) -> None:
    report = build(Config(**case["config"]))
    recorded = [(name, array.shape) for name, array in arrays_of(case).items()]
    assert [(w.name, w.shape) for w in report.weights] == recorded


@pytest.mark.parametrize(("path", "case"), CASES, ids=IDS)
def test_every_returned_tensor_was_recorded(path: Path, case: dict[str, Any]) -> None:
    report = build(Config(**case["config"]))
    # The first tensor is the input; a cell is also given its state (h_0, and c_0 for an LSTM).
    states = report.config.convention.state_inputs
    given = [tensor.name for tensor in report.sequence[1:] if tensor.name in states]
    returned = [tensor.name for tensor in report.sequence[1:] if tensor.name not in states]
    assert sorted(case["outputs"]) == sorted(returned)
    assert sorted(case.get("state", {})) == sorted(given)


@pytest.mark.parametrize(("path", "case"), CASES, ids=IDS)
def test_forward_pass_returns_the_recorded_tensors(path: Path, case: dict[str, Any]) -> None:
    report = build(Config(**case["config"]))
    xs = np.asarray(case["input"], dtype=np.float32)
    got = run_sequence(report, arrays_of(case), xs, state_of(case))
    assert case["outputs"], "a case with nothing to compare"
    for name, value in case["outputs"].items():
        want = np.asarray(value, dtype=np.float32)
        assert name in got, f"run_sequence returned {sorted(got)}, not {name}"
        assert np.shape(got[name]) == want.shape, name
        np.testing.assert_allclose(got[name], want, err_msg=name, **TOL)


def mismatches(case: dict[str, Any]) -> bool:
    """Whether the forward pass misses any recorded tensor (or cannot run) for this case."""
    try:
        report = build(Config(**case["config"]))
        got = run_sequence(report, arrays_of(case), np.asarray(case["input"], dtype=np.float32), state_of(case))
    except (ValueError, KeyError, IndexError):
        return True
    return not all(np.allclose(got[name], np.asarray(value, dtype=np.float32), **TOL)
                   for name, value in case["outputs"].items())


GATED = sorted({(path, case["config"]["cell"]) for path, case in CASES if case["config"]["cell"] != "rnn"})


@pytest.mark.parametrize(("path", "cell"), GATED, ids=[f"{path.stem}:{cell}" for path, cell in GATED])
def test_a_swapped_gate_order_fails_the_vectors(path: Path, cell: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The grid must be able to tell: with the framework's first two gates swapped, some case goes wrong.
    framework = get(path.stem)
    order = framework.gate_order

    def swapped(config: Config) -> Any:
        # The first two gate nodes trade places; each keeps the other's letter and slot. For a packed tensor
        # that is a swapped packing order; for one tensor per gate (Flax's ii, if, ...) a swapped naming.
        gates = order(config)
        if config.cell != cell:
            return gates
        (first, a), (second, b) = gates[0], gates[1]
        return ((second, a), (first, b), *gates[2:])

    monkeypatch.setattr(framework, "gate_order", swapped)
    cases = [case for p, case in CASES if p == path and case["config"]["cell"] == cell]
    assert any(mismatches(case) for case in cases)
