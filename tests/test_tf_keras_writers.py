"""The h5 that `lstm-shapes convert --to tf-keras` (and tf-keras-cudnn) writes, loaded by the real tf_keras.

tf_keras picks its loader by the file's name: `x.h5` reads the legacy layout (layer_names, weight_names),
`x.weights.h5` the tree of `layers/.../vars`. Both names must load with every variable equal to what was
written, and the model must compute what the tool's numpy forward pass computes. CuDNN layers build on a CPU
but run only on a GPU: their file is loaded into them, and into the plain LSTM through tf_keras' own conversion.

Runs in .venv-tf (.ci/frameworks/tf.sh); skipped without tensorflow and tf_keras.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
np = pytest.importorskip("numpy")
tf_keras = pytest.importorskip("tf_keras", reason="tf_keras is not installed: tf.keras 2 writer test skipped")

from lstm_shapes import Config, build  # noqa: E402
from lstm_shapes.files.kerasout import write_h5  # noqa: E402
from lstm_shapes.verify import run_sequence  # noqa: E402

from test_convert_writers import assert_reads_back, target_of, write  # noqa: E402
from test_tf_keras import BATCH, STEPS, model_for  # noqa: E402

CASES = [
    ("tf-keras", dict(cell="lstm")),
    ("tf-keras", dict(cell="gru", reset_after=True, bidirectional=True)),
    ("tf-keras", dict(cell="gru", reset_after=False, layers=2, out=3)),
    ("tf-keras", dict(cell="rnn", bias=False, layers=2, hidden=(4, 2))),
    ("tf-keras", dict(cell="lstm", bidirectional=True, layers=2, out=2)),
    ("tf-keras-cudnn", dict(cell="lstm", bidirectional=True, layers=2)),
    ("tf-keras-cudnn", dict(cell="gru", out=2)),
]


def config_of(framework: str, options: dict[str, Any]) -> Config:
    head = {"head_activation": "none"} if "out" in options else {}  # the model's Dense is linear
    return Config(**{"input": 3, "hidden": 4, **options}, framework=framework, **head)  # type: ignore[arg-type]


def load(model: Any, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.load_weights(str(path))


@pytest.mark.parametrize(("framework", "options"), CASES, ids=lambda v: v if isinstance(v, str) else
                         "-".join(f"{k}={x}" for k, x in v.items()))
@pytest.mark.parametrize("name", ["model.h5", "model.weights.h5"])
def test_tf_keras_loads_the_h5_under_either_name(tmp_path: Path, framework: str, options: dict[str, Any],
                                                 name: str) -> None:
    cfg = config_of(framework, options)
    target, arrays = target_of(framework, ("", cfg))
    path = write(write_h5, tmp_path / name, target, arrays)
    model = model_for(cfg, sequences=False)
    load(model, path)
    assert [(v.name, tuple(v.shape)) for v in model.weights] == [(w.name, w.shape) for w in target.weights]
    for w, v in zip(target.weights, model.weights):
        np.testing.assert_array_equal(v.numpy(), arrays[w.name], err_msg=w.name)
    if cfg.convention.short == "CuDNN":  # no CuDNN kernel on a CPU: the variables above are what can be checked
        assert_reads_back(path, target, arrays)
        return
    xs = np.random.default_rng(3).standard_normal((BATCH, STEPS, cfg.input)).astype(np.float32)
    want = run_sequence(build(cfg), arrays, xs)["output" if cfg.out is None else "logits"]
    np.testing.assert_allclose(np.asarray(model(xs)), want, atol=1e-5)
    assert_reads_back(path, target, arrays)


def test_tf_keras_reads_a_cudnn_h5_into_the_plain_layer_by_its_cudnn_bias(tmp_path: Path) -> None:
    # tf_keras' legacy loader converts CuDNN weights for a plain LSTM when the bias is (8h,): it sums the
    # input-side and recurrent-side halves. The sum proves the file holds them as CuDNNLSTM keeps them.
    cfg = config_of("tf-keras-cudnn", dict(cell="lstm"))
    target, arrays = target_of("tf-keras-cudnn", ("", cfg))
    path = write(write_h5, tmp_path / "model.h5", target, arrays)
    plain = model_for(cfg, sequences=False, plain=True)
    load(plain, path)
    bias = arrays["cu_dnnlstm/bias:0"]
    np.testing.assert_allclose(plain.weights[2].numpy(), bias[:16] + bias[16:], rtol=1e-6)


def test_tf_keras_numbers_the_layers_of_several_converted_layers(tmp_path: Path) -> None:
    # Two converted LSTMs, each named lstm/lstm_cell/...:0 under its own prefix, are the model's lstm and lstm_1.
    first, second = config_of("tf-keras", {}), config_of("tf-keras", dict(input=4, out=2))
    target, arrays = target_of("tf-keras", ("a/", first), ("b/", second))
    L = tf_keras.layers
    tf_keras.backend.clear_session()
    model = tf_keras.Sequential([tf_keras.Input((STEPS, 3)), L.LSTM(4, return_sequences=True),
                                 L.LSTM(4), L.Dense(2)])
    for name in ("model.h5", "model.weights.h5"):
        load(model, write(write_h5, tmp_path / name, target, arrays))
        for w, v in zip(target.weights, model.weights):
            np.testing.assert_array_equal(v.numpy(), arrays[w.name], err_msg=w.name)
