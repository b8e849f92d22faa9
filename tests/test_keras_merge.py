"""Keras Bidirectional's merge modes (sum, mul, ave, None) against real Keras 3.

Every expected number (count_params, weight paths and shapes, returned shapes,
values) is read from a Keras model built here; none is copied from lstm_shapes.
"""

from __future__ import annotations

import os
import random
import zlib
from typing import NamedTuple

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed: Keras cross-check skipped")
os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras", reason="keras is not installed: Keras cross-check skipped")
if not hasattr(keras, "ops"):
    pytest.skip("not Keras 3: Keras cross-check skipped", allow_module_level=True)

import lstm_shapes
from lstm_shapes.errors import ConfigError
from lstm_shapes.verify import run_sequence

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "rnn": keras.layers.SimpleRNN}
TOL = dict(rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny tensors: one thread avoids waiting on a busy shared machine's pool."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class Case(NamedTuple):
    mode: str  # the tool's spelling; Keras' merge_mode is None for "none"
    cell: str
    layers: int
    input: int
    hidden: int
    out: int | None
    batch: int
    steps: int

    @property
    def id(self) -> str:
        return f"{self.mode}-{self.cell}-L{self.layers}-x{self.input}-h{self.hidden}-o{self.out}"

    def config(self) -> lstm_shapes.Config:
        return lstm_shapes.Config(input=self.input, hidden=self.hidden, out=self.out, cell=self.cell, framework="keras",
                                  layers=self.layers, bidirectional=True, merge_mode=self.mode, batch=self.batch,
                                  seq_len=self.steps)


def make_grid() -> list[Case]:
    """Each merge mode with every cell, 1-3 layers, with and without a head (None: one layer, no head), seeded sizes."""
    rng = random.Random(4242)
    cases = []
    for mode in ("sum", "mul", "ave"):
        for cell in LAYERS:
            for layers in (1, 2, 3):
                for head in (False, True):
                    cases.append(Case(mode, cell, layers, rng.randint(1, 9), rng.randint(1, 9),
                                      rng.randint(1, 6) if head else None, rng.randint(1, 3), rng.randint(2, 5)))
    cases += [Case("none", cell, 1, rng.randint(1, 9), rng.randint(1, 9), None, 2, 4) for cell in LAYERS]
    return cases


GRID = make_grid()


def bidirectional(case: Case, **kwargs):
    mode = None if case.mode == "none" else case.mode
    return keras.layers.Bidirectional(LAYERS[case.cell](case.hidden, **kwargs), merge_mode=mode)


def keras_model(case: Case):
    """Input, the stack (all but the last returning sequences), Dense(out): names from a fresh session."""
    keras.backend.clear_session(free_memory=False)
    inp = keras.Input(shape=(None, case.input))
    y, stack = inp, []
    for k in range(case.layers):
        stack.append(bidirectional(case, return_sequences=k < case.layers - 1))
        y = stack[-1](y)
    dense = keras.layers.Dense(case.out) if case.out is not None else None
    if dense is not None:
        y = dense(y)
    return keras.Model(inp, y), stack, dense


def to_np(t) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy() if hasattr(t, "detach") else t)


def test_issue_example_sum_has_the_count_keras_gives() -> None:
    # The issue's numbers, x3 h31 2 layers with a Dense(1) head: Keras says 24,336 with sum and 32,055 with concat.
    summed = lstm_shapes.build(lstm_shapes.Config(input=3, hidden=31, layers=2, bidirectional=True, out=1,
                                                  merge_mode="sum"))
    assert summed.total_params == 24_336
    concat = lstm_shapes.build(lstm_shapes.Config(input=3, hidden=31, layers=2, bidirectional=True, out=1))
    assert concat.total_params == 32_055


@pytest.mark.parametrize("case", GRID, ids=[c.id for c in GRID])
def test_merge_modes_match_keras(case: Case) -> None:
    model, stack, dense = keras_model(case)
    report = lstm_shapes.build(case.config())
    assert report.total_params == model.count_params()
    assert [(w.name, tuple(w.shape)) for w in report.weights] == [(v.path, tuple(v.shape)) for v in model.weights]

    # Random weights, then the returned tensors of the last layer with return_sequences and return_state.
    rng = np.random.default_rng(zlib.crc32(case.id.encode()))
    arrays = {}
    for v in model.weights:
        arrays[v.path] = rng.uniform(-0.5, 0.5, size=tuple(v.shape)).astype(np.float32)
        v.assign(arrays[v.path])
    inp = keras.Input(shape=(None, case.input))
    y = inp
    for layer in stack[:-1]:
        y = layer(y)
    full = bidirectional(case, return_sequences=True, return_state=True)
    res = full(y)
    full.set_weights(stack[-1].get_weights())
    outputs = {"output": stack[-1](y)}
    if case.mode == "none":
        outputs = {"forward_output": outputs["output"][0], "backward_output": outputs["output"][1],
                   "forward_sequences": res[0], "backward_sequences": res[1]}
        states = res[2:]
    else:
        outputs["sequences"] = res[0]
        states = res[1:]
    per = ["state_h", "state_c"] if case.cell == "lstm" else ["state_h"]
    outputs.update(zip(["forward_" + n for n in per] + ["backward_" + n for n in per], states))
    if dense is not None:
        outputs["logits"] = dense(outputs["output"])
        if case.out >= 2:
            outputs["probs"] = keras.layers.Softmax()(outputs["logits"])
    xs = rng.standard_normal((case.batch, case.steps, case.input)).astype(np.float32)
    want = {name: to_np(v) for name, v in keras.Model(inp, outputs)(xs).items()}

    shapes = {s.name: s.shape for s in report.sequence if s.name != "input"}
    assert shapes == {name: value.shape for name, value in want.items()}
    got = run_sequence(report, dict(arrays), xs.copy())
    assert set(got) == set(want)
    for name, value in want.items():
        np.testing.assert_allclose(np.asarray(got[name]), value, err_msg=name, **TOL)


def keras_refuses(build) -> bool:
    try:
        build()
    except (ValueError, TypeError, AttributeError):
        return True
    return False


def test_none_is_refused_where_keras_refuses_it() -> None:
    def stacked():
        inp = keras.Input(shape=(None, 3))
        y = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True), merge_mode=None)(inp)
        keras.layers.Bidirectional(keras.layers.LSTM(4), merge_mode=None)(y)

    def headed():
        inp = keras.Input(shape=(None, 3))
        keras.layers.Dense(2)(keras.layers.Bidirectional(keras.layers.LSTM(4), merge_mode=None)(inp))

    assert keras_refuses(stacked) and keras_refuses(headed)
    with pytest.raises(ConfigError, match="stacked"):
        lstm_shapes.Config(input=3, hidden=4, layers=2, bidirectional=True, merge_mode="none")
    with pytest.raises(ConfigError, match="Dense head"):
        lstm_shapes.Config(input=3, hidden=4, out=2, bidirectional=True, merge_mode="none")


@pytest.mark.parametrize("kwargs, words", [
    (dict(merge_mode="sum"), "add one with --bidirectional"),
    (dict(merge_mode="ave", bidirectional=True, framework="pytorch"), "Keras 3 / TF2, tf.keras 2 and tf.keras 2 CuDNN have it"),
    (dict(merge_mode="max", bidirectional=True), "one of concat, sum, mul, ave, none"),
])
def test_merge_mode_is_refused_in_one_line(kwargs, words) -> None:
    with pytest.raises(ConfigError, match=words) as caught:
        lstm_shapes.Config(input=3, hidden=4, **kwargs)
    assert "\n" not in str(caught.value)
