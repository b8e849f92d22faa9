"""The numpy forward pass in TF1's and tf.keras 2's own layouts against values recorded from the real packages.

tests/record/tf1.py and tests/record/tf_keras.py wrote tests/vectors/*.json with TensorFlow
installed; this runs without it. It checks only the TensorFlow files, as the shared
tests/test_vectors.py does for every framework's file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lstm_shapes import Config, build

np = pytest.importorskip("numpy")
VECTORS = Path(__file__).parent / "vectors"
CASES = [(data["framework"], case) for name in ("tf1", "tf-keras", "tf-keras-cudnn")
         for data in [json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))] for case in data["cases"]]


@pytest.mark.parametrize(("framework", "case"), CASES, ids=[c["id"] for _, c in CASES])
def test_recorded_values(framework: str, case: dict) -> None:  # type: ignore[type-arg]
    from lstm_shapes.verify import run_sequence

    assert case["config"]["framework"] == framework
    report = build(Config(**case["config"]))
    weights = {name: np.asarray(v, np.float32) for name, v in case["weights"].items()}
    assert [(w.name, tuple(w.shape)) for w in report.weights] == [(n, v.shape) for n, v in weights.items()]
    ours = run_sequence(report, weights, np.asarray(case["input"], np.float32))
    for name, value in case["outputs"].items():
        assert np.allclose(ours[name], np.asarray(value, np.float32), rtol=1e-4, atol=1e-5), name


def test_every_tensorflow_framework_has_cases() -> None:
    assert {f for f, _ in CASES} == {"tf1", "tf-keras", "tf-keras-cudnn"}
