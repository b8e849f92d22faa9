"""Cross-check lstm_shapes against the real Keras 3 framework.

Every expected number here (parameter totals, weight paths, weight shapes,
layer output widths, numeric outputs) is read from a Keras model built in
this process; nothing is copied from lstm_shapes itself.

Needs torch and keras (Keras 3 running on the torch backend).  When either
cannot be imported the whole module is skipped.
"""

import functools
import json
import os
import warnings

import numpy as np
import pytest

pytest.importorskip(
    "torch", reason="torch is not installed: Keras cross-check skipped"
)
os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip(
    "keras", reason="keras is not installed: Keras cross-check skipped"
)
if not hasattr(keras, "Variable") or not hasattr(keras, "ops"):
    pytest.skip(
        "keras %s is not Keras 3: Keras cross-check skipped"
        % getattr(keras, "__version__", "?"),
        allow_module_level=True,
    )

import lstm_shapes

# Keras' torch backend converts tensors with np.array(x) and numpy 2 warns
# about it; that noise is Keras' own, not the project's.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword"
    ":DeprecationWarning"
)


# (input, hidden, out); out None means no dense head.
GRID = [
    (4, 2, 1),
    (5, 256, 10),
    (1, 1, None),
    (3, 7, None),
    (7, 3, 2),
]
GRID_IDS = ["x%d-h%d-o%s" % case for case in GRID]

BATCH, STEPS = 3, 4
LSTM_NODES = ("x_t", "h_prev", "c_prev", "i_t", "f_t", "g_t", "o_t", "c_t", "h_t")
HEAD_NODES = ("logits", "probs")


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


@functools.cache
def keras_reference(inp, hidden, out):
    """Build `Input(shape=(None, inp)) -> LSTM(hidden) [-> Dense(out)]`.

    clear_session() resets Keras' auto-naming, so the layers come out as
    `lstm` and `dense`, as in a model built fresh in a new process.  Paths
    are fixed when the variables are created, so reading them once here is
    safe even though later cases clear the session again.
    """
    keras.backend.clear_session()
    x = keras.Input(shape=(None, inp))
    lstm = keras.layers.LSTM(hidden)
    y = lstm(x)
    dense = None
    if out is not None:
        dense = keras.layers.Dense(out)
        y = dense(y)
    model = keras.Model(x, y)
    return {
        "model": model,
        "lstm": lstm,
        "dense": dense,
        "total": int(model.count_params()),
        "paths": [v.path for v in model.weights],
        "shapes": [tuple(int(d) for d in v.shape) for v in model.weights],
        "h_width": int(lstm.output.shape[-1]),
        "gate_width": int(lstm.cell.kernel.shape[1]) // 4,
        "c_width": int(lstm.cell.state_size[1]),
        "out_width": None if dense is None else int(dense.output.shape[-1]),
    }


@functools.cache
def report_dict(inp, hidden, out):
    rep = lstm_shapes.trace(input=inp, hidden=hidden, out=out)
    d = rep.to_dict()
    return rep, d


def random_arrays(ref, seed):
    """Random float32 weights, assigned to the Keras model, keyed by path."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for v in ref["model"].weights:
        shape = tuple(int(d) for d in v.shape)
        scale = 1.0 / np.sqrt(shape[0])
        arr = rng.uniform(-scale, scale, size=shape).astype(np.float32)
        v.assign(arr)
        arrays[v.path] = arr
    return arrays


def to_np(t):
    return np.asarray(keras.ops.convert_to_numpy(t))


def run_case(case, seed):
    """Return (ref, arrays, xs, steps) with steps = forward(...) output."""
    from lstm_shapes.verify import forward

    inp, hidden, out = case
    ref = keras_reference(*case)
    rep, _ = report_dict(*case)
    arrays = random_arrays(ref, seed)
    xs = np.random.default_rng(seed + 1).standard_normal(
        (BATCH, STEPS, inp)
    ).astype(np.float32)
    steps = forward(rep, dict(arrays), xs.copy())
    assert isinstance(steps, list) and len(steps) == STEPS
    return ref, arrays, xs, steps


def nodes_by_name(d):
    return {n["name"]: n["shape"] for n in d["nodes"]}


# --------------------------------------------------------------------------
# structure: totals, weight names, shapes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_report_is_json_ready(case):
    _, d = report_dict(*case)
    json.loads(json.dumps(d))
    assert isinstance(d["total_params"], int)
    for w in d["weights"]:
        assert isinstance(w["name"], str)
        assert all(isinstance(s, int) for s in w["shape"])
        assert isinstance(w["params"], int)


@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_total_params_match_keras(case):
    ref = keras_reference(*case)
    _, d = report_dict(*case)
    assert d["total_params"] == ref["total"]


@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_weight_names_match_keras_paths(case):
    ref = keras_reference(*case)
    _, d = report_dict(*case)
    assert [w["name"] for w in d["weights"]] == ref["paths"]


@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_weight_shapes_and_counts_match_keras(case):
    ref = keras_reference(*case)
    _, d = report_dict(*case)
    got = [(w["name"], tuple(w["shape"]), w["params"]) for w in d["weights"]]
    want = [
        (p, s, int(np.prod(s, dtype=np.int64)))
        for p, s in zip(ref["paths"], ref["shapes"])
    ]
    assert got == want


def test_out_defaults_to_no_head():
    ref = keras_reference(4, 2, None)
    d = lstm_shapes.trace(input=4, hidden=2).to_dict()
    assert d["total_params"] == ref["total"]
    assert [w["name"] for w in d["weights"]] == ref["paths"]


# --------------------------------------------------------------------------
# node shapes, against the widths Keras reports for its layers
# --------------------------------------------------------------------------


@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_node_shapes_match_keras(case):
    inp, hidden, out = case
    ref = keras_reference(*case)
    _, d = report_dict(*case)
    nodes = nodes_by_name(d)
    missing = [n for n in LSTM_NODES if n not in nodes]
    assert not missing, "node ids missing from report: %s" % missing

    x_width = int(ref["model"].inputs[0].shape[-1])
    assert nodes["x_t"] == ["B", x_width]
    assert nodes["h_prev"] == ["B", ref["h_width"]]
    assert nodes["c_prev"] == ["B", ref["c_width"]]
    for gate in ("i_t", "f_t", "g_t", "o_t"):
        assert nodes[gate] == ["B", ref["gate_width"]], gate
    assert nodes["c_t"] == ["B", ref["c_width"]]
    assert nodes["h_t"] == ["B", ref["h_width"]]

    if out is None:
        present = [n for n in HEAD_NODES if n in nodes]
        assert not present, "no head requested, yet report has %s" % present
    else:
        assert nodes["logits"] == ["B", ref["out_width"]]
        assert nodes["probs"] == ["B", ref["out_width"]]


# --------------------------------------------------------------------------
# numerics: forward() against model(xs) with the same random weights
# --------------------------------------------------------------------------


@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_forward_matches_keras_model(case):
    inp, hidden, out = case
    ref, arrays, xs, steps = run_case(case, seed=1000 + GRID.index(case))
    want = to_np(ref["model"](xs))
    last = steps[-1]
    key = "h_t" if out is None else "logits"
    got = np.asarray(last[key])
    assert got.shape == want.shape
    assert np.allclose(got, want, atol=1e-5), np.max(np.abs(got - want))

    if out is not None:
        with warnings.catch_warnings():
            # Keras warns that a softmax over a size-1 axis is always 1.
            warnings.simplefilter("ignore", UserWarning)
            want_probs = to_np(
                keras.ops.softmax(keras.ops.convert_to_tensor(want), axis=-1)
            )
        got_probs = np.asarray(last["probs"])
        assert np.allclose(got_probs, want_probs, atol=1e-5)


@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_forward_every_step_matches_keras_states(case):
    """h_t at every step and the final c_t, against Keras' own LSTM
    (return_sequences/return_state) carrying the same weights; also the
    shapes of all values against the report's node shapes."""
    inp, hidden, out = case
    ref, arrays, xs, steps = run_case(case, seed=2000 + GRID.index(case))

    probe = keras.layers.LSTM(hidden, return_sequences=True, return_state=True)
    probe.build((None, None, inp))
    probe.set_weights(ref["lstm"].get_weights())
    seq, h_last, c_last = (to_np(t) for t in probe(xs))

    for t, step in enumerate(steps):
        assert np.allclose(np.asarray(step["h_t"]), seq[:, t, :], atol=1e-5), t
        if t > 0:
            assert np.allclose(
                np.asarray(step["h_prev"]), seq[:, t - 1, :], atol=1e-5
            ), t
    assert np.allclose(np.asarray(steps[0]["h_prev"]), 0.0)
    assert np.allclose(np.asarray(steps[0]["c_prev"]), 0.0)
    assert np.allclose(np.asarray(steps[-1]["h_t"]), h_last, atol=1e-5)
    assert np.allclose(np.asarray(steps[-1]["c_t"]), c_last, atol=1e-5)

    _, d = report_dict(*case)
    for name, shape in nodes_by_name(d).items():
        if name in steps[-1]:
            concrete = [BATCH if s == "B" else s for s in shape]
            assert list(np.shape(steps[-1][name])) == concrete, name
