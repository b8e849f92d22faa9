"""Cross-check lstm_shapes against the real Keras 3 framework.

Every expected number here (parameter totals, weight paths, weight shapes,
layer output widths, sequence tensor shapes, numeric outputs) is read from a
Keras model built in this process; nothing is copied from lstm_shapes itself.

Two parts: the original single-layer LSTM checks through `trace()` and
`verify.forward`, and a generated grid of LSTM / GRU / SimpleRNN stacks
(layers, Bidirectional, use_bias, GRU reset_after, Dense head) through
`build(Config(..., framework="keras"))` and `verify.run_sequence`.

Needs torch and keras (Keras 3 running on the torch backend).  When either
cannot be imported the whole module is skipped.
"""

import functools
import inspect
import itertools
import json
import os
import random
import warnings
import zlib
from typing import NamedTuple

import numpy as np
import pytest

torch = pytest.importorskip(
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


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Every tensor here is tiny.  With torch's default thread pool, another
    busy process on a 2-core machine makes the pool's threads wait on each
    other and the module runs ~6x slower; one thread avoids that.  The
    previous setting is restored for the rest of the session."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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
        # Dense(1) is linear: a softmax over one output would always be 1.0.
        if out >= 2:
            assert nodes["probs"] == ["B", ref["out_width"]]
        else:
            assert "probs" not in nodes


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

    if out is not None and out < 2:
        assert "probs" not in last
    elif out is not None:
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


# ==========================================================================
# the grid: LSTM / GRU / SimpleRNN stacks, build(Config(framework="keras"))
# ==========================================================================

RNN_LAYERS = {
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
    "rnn": keras.layers.SimpleRNN,
}
# (cell, reset_after); reset_after is None except for GRU.
CELL_VARIANTS = (("lstm", None), ("gru", True), ("gru", False), ("rnn", None))
SIZES = (1, 3, 17, 32)  # 1, a small odd size, 17, 32
OUT_SIZES = (1, 5, 17)
BATCHES = (1, 2, 3)
SEQ_LENS = (1, 2, 5)
TOL = dict(rtol=1e-5, atol=1e-5)


class Case(NamedTuple):
    cell: str
    reset_after: object  # None, True or False
    input: int
    hidden: object  # int, or one int per layer (a tuple)
    out: object  # None or int
    layers: int
    bidirectional: bool
    bias: bool
    batch: int
    seq_len: int

    @property
    def id(self):
        ra = "" if self.reset_after is None else "-ra%d" % self.reset_after
        hidden = ",".join(map(str, self.hidden)) if isinstance(self.hidden, tuple) else self.hidden
        return "%s%s-x%d-h%s-o%s-L%d%s%s-N%dT%d" % (
            self.cell, ra, self.input, hidden, self.out, self.layers,
            "-bi" if self.bidirectional else "",
            "" if self.bias else "-nobias", self.batch, self.seq_len,
        )

    def config(self, concrete=True):
        """The lstm_shapes Config for this case (batch/seq_len only if concrete)."""
        return lstm_shapes.Config(
            input=self.input, hidden=self.hidden, out=self.out,
            cell=self.cell, framework="keras", layers=self.layers,
            bidirectional=self.bidirectional, bias=self.bias,
            reset_after=self.reset_after,
            batch=self.batch if concrete else None,
            seq_len=self.seq_len if concrete else None,
        )


def make_grid():
    """A fixed grid: per cell variant, every (layers, bidirectional, use_bias,
    head) combination once (24), with sizes drawn so that each variant sees
    all 16 (input, hidden) pairs of SIZES; plus a few hand-picked extremes."""
    rng = random.Random(20240611)
    pairs = [(x, h) for x in SIZES for h in SIZES]
    cases = []
    for cell, reset_after in CELL_VARIANTS:
        structs = list(itertools.product(
            (1, 2, 3), (False, True), (True, False), (False, True)))
        sizes = pairs + rng.sample(pairs, len(structs) - len(pairs))
        rng.shuffle(sizes)
        for (layers, bi, bias, head), (x, h) in zip(structs, sizes):
            cases.append(Case(
                cell, reset_after, x, h,
                rng.choice(OUT_SIZES) if head else None,
                layers, bi, bias, rng.choice(BATCHES), rng.choice(SEQ_LENS),
            ))
    extremes = [
        Case("lstm", None, 32, 32, 17, 3, True, True, 3, 5),
        Case("lstm", None, 1, 1, 1, 3, True, False, 1, 1),
        Case("gru", True, 1, 1, 1, 3, True, False, 2, 1),
        Case("gru", False, 32, 17, None, 2, True, True, 2, 5),
        Case("gru", True, 17, 32, 5, 1, False, True, 3, 2),
        Case("rnn", None, 1, 32, 32, 3, True, False, 1, 5),
        Case("rnn", None, 32, 1, None, 1, True, True, 3, 1),
        Case("lstm", None, 3, 17, None, 1, False, True, 2, 2),
    ]
    # Layers of their own sizes (--hidden 17,3,...): LSTM(17, return_sequences=True) -> LSTM(3) -> ...
    per_layer = [
        Case("lstm", None, 3, (17, 5), 2, 2, False, True, 2, 4),
        Case("lstm", None, 4, (3, 32, 1), None, 3, True, True, 3, 5),
        Case("gru", True, 5, (32, 17), 3, 2, True, False, 2, 4),
        Case("gru", False, 1, (5, 3, 17), 1, 3, False, True, 1, 4),
        Case("rnn", None, 17, (1, 32), None, 2, True, True, 2, 5),
    ]
    return cases, extremes + per_layer


GENERATED, EXTREMES = make_grid()
KGRID = GENERATED + EXTREMES
KGRID_IDS = [case.id for case in KGRID]
# Numerics on about a third of the grid: every third case of the generated
# part, run over at least 4 time steps (so that the time order and the
# backward direction show), plus two hand-picked extremes (one with T=1).
KNUM = [
    case if case.seq_len >= 4 else case._replace(seq_len=4)
    for case in GENERATED[::3]
] + EXTREMES[:2] + [case for case in EXTREMES if isinstance(case.hidden, tuple)]
KNUM_IDS = [case.id for case in KNUM]


def fresh_session():
    """Reset Keras' auto-naming, as in a new process; skip the gc.collect()
    of a full clear_session(), which takes ~0.2 s per call here."""
    try:
        keras.backend.clear_session(free_memory=False)
    except TypeError:  # Keras before 3.6 has no free_memory
        keras.backend.clear_session()


def recurrent_layer(case, k=-1, **kwargs):
    """Layer k of `case` (the last by default), Bidirectional (concat) if asked."""
    if case.cell == "gru":
        kwargs["reset_after"] = case.reset_after
    units = case.hidden[k] if isinstance(case.hidden, tuple) else case.hidden
    layer = RNN_LAYERS[case.cell](units, use_bias=case.bias, **kwargs)
    if case.bidirectional:
        layer = keras.layers.Bidirectional(layer)
    return layer


def contract_model(case):
    """The model the contract names weights after: a fresh session, then
    Input((None, x)), L recurrent layers (all but the last with
    return_sequences=True), then Dense(out); layers made in data-flow order."""
    fresh_session()
    inp = keras.Input(shape=(None, case.input))
    y = inp
    stack = []
    for k in range(case.layers):
        layer = recurrent_layer(case, k, return_sequences=k < case.layers - 1)
        y = layer(y)
        stack.append(layer)
    dense = None
    if case.out is not None:
        dense = keras.layers.Dense(case.out)
        y = dense(y)
    return keras.Model(inp, y), stack, dense


def state_names(case):
    """Names of the last layer's return_state tensors, in Keras' order."""
    per = ["state_h", "state_c"] if case.cell == "lstm" else ["state_h"]
    if case.bidirectional:
        return ["forward_" + n for n in per] + ["backward_" + n for n in per]
    return per


@functools.cache
def keras_structure(case):
    model, _, _ = contract_model(case)
    return {
        "total": int(model.count_params()),
        "weights": [
            (v.path, [int(d) for d in v.shape]) for v in model.weights
        ],
    }


@functools.cache
def grid_report(case, concrete=True):
    rep = lstm_shapes.build(case.config(concrete))
    return rep, rep.to_dict()


def symbolic_shape(shape):
    """Keras' None batch -> "B", None time axis (of a 3-D tensor) -> "T"."""
    out = []
    for axis, dim in enumerate(shape):
        if dim is None:
            dim = "B" if axis == 0 else ("T" if axis == 1 and len(shape) == 3 else None)
            assert dim is not None, shape
        out.append(dim if isinstance(dim, str) else int(dim))
    return out


@functools.cache
def keras_sequence_shapes(case, concrete):
    """The shapes Keras gives the whole-sequence tensors of `case`: the input,
    the last layer as in the model ("output"), the same layer with
    return_sequences=True ("sequences") and with return_state=True (states),
    and Dense(out) on the output ("logits"); batch/time None unless concrete."""
    fresh_session()
    n, t = (case.batch, case.seq_len) if concrete else (None, None)
    inp = keras.Input(shape=(t, case.input), batch_size=n)
    y = inp
    for k in range(case.layers - 1):
        y = recurrent_layer(case, k, return_sequences=True)(y)
    output = recurrent_layer(case)(y)
    sequences = recurrent_layer(case, return_sequences=True)(y)
    with_state = recurrent_layer(case, return_state=True)(y)
    names = state_names(case)
    assert len(with_state) == 1 + len(names)
    assert tuple(with_state[0].shape) == tuple(output.shape)
    shapes = {
        "input": inp.shape,
        "output": output.shape,
        "sequences": sequences.shape,
    }
    shapes.update(zip(names, (s.shape for s in with_state[1:])))
    if case.out is not None:
        shapes["logits"] = keras.layers.Dense(case.out)(output).shape
        if case.out >= 2:  # the tool's default head activation: softmax for two or more outputs
            shapes["probs"] = keras.layers.Softmax()(keras.layers.Dense(case.out)(output)).shape
    return {name: symbolic_shape(shape) for name, shape in shapes.items()}


def sequence_by_name(d):
    return {s["name"]: list(s["shape"]) for s in d["sequence"]}


# --------------------------------------------------------------------------
# grid: structure
# --------------------------------------------------------------------------


def test_grid_is_large_and_covers_every_axis():
    assert len(KGRID) >= 100
    assert len(set(KGRID)) == len(KGRID)
    for cell, reset_after in CELL_VARIANTS:
        block = [c for c in KGRID if (c.cell, c.reset_after) == (cell, reset_after) and isinstance(c.hidden, int)]
        assert {(c.input, c.hidden) for c in block} == {
            (x, h) for x in SIZES for h in SIZES}
        assert {(c.layers, c.bidirectional, c.bias, c.out is None) for c in block} == set(
            itertools.product((1, 2, 3), (False, True), (True, False), (False, True)))
    for field, values in [
        ("cell", {"lstm", "gru", "rnn"}), ("reset_after", {None, True, False}),
        ("layers", {1, 2, 3}), ("bidirectional", {False, True}),
        ("bias", {False, True}),
    ]:
        assert {getattr(c, field) for c in KNUM} == values, field
    assert {c.out is None for c in KNUM} == {False, True}
    assert {(c.cell, c.reset_after, c.bidirectional) for c in KNUM} == {
        (cell, ra, bi) for cell, ra in CELL_VARIANTS for bi in (False, True)}
    assert 25 <= len(KNUM) <= 40


@pytest.mark.parametrize("case", KGRID, ids=KGRID_IDS)
def test_grid_total_params_match_keras(case):
    _, d = grid_report(case, False)
    assert d["framework"] == "keras"
    assert d["cell"] == case.cell
    assert isinstance(d["total_params"], int)
    assert d["total_params"] == keras_structure(case)["total"]


@pytest.mark.parametrize("case", KGRID, ids=KGRID_IDS)
def test_grid_weights_match_keras_paths_and_shapes(case):
    _, d = grid_report(case, False)
    got = [(w["name"], list(w["shape"])) for w in d["weights"]]
    assert got == keras_structure(case)["weights"]
    for w in d["weights"]:
        assert w["params"] == int(np.prod(w["shape"], dtype=np.int64)), w["name"]


@pytest.mark.parametrize("case", KGRID[::7], ids=KGRID_IDS[::7])
def test_grid_weights_do_not_depend_on_batch_or_seq_len(case):
    _, sym = grid_report(case, False)
    _, conc = grid_report(case, True)
    assert conc["total_params"] == sym["total_params"]
    assert [(w["name"], w["shape"]) for w in conc["weights"]] == [
        (w["name"], w["shape"]) for w in sym["weights"]]
    json.loads(json.dumps(conc))


def test_gru_reset_after_defaults_to_keras_default():
    keras_default = keras.layers.GRU(2).reset_after
    case = Case("gru", keras_default, 3, 5, 2, 2, True, True, 2, 3)
    d_default = lstm_shapes.build(lstm_shapes.Config(
        input=3, hidden=5, out=2, cell="gru", framework="keras", layers=2,
        bidirectional=True)).to_dict()
    _, d_explicit = grid_report(case, False)
    assert d_default["total_params"] == d_explicit["total_params"]
    assert [(w["name"], w["shape"]) for w in d_default["weights"]] == [
        (w["name"], w["shape"]) for w in d_explicit["weights"]]


# --------------------------------------------------------------------------
# grid: whole-sequence tensor shapes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("case", KGRID, ids=KGRID_IDS)
def test_grid_sequence_shapes_match_keras(case):
    """Concrete batch and seq_len in the Config: int shapes, as Keras gives
    them for keras.Input(shape=(T, x), batch_size=N)."""
    _, d = grid_report(case, True)
    assert sequence_by_name(d) == keras_sequence_shapes(case, True)


@pytest.mark.parametrize("case", KGRID, ids=KGRID_IDS)
def test_grid_sequence_shapes_symbolic_match_keras(case):
    """No batch/seq_len: "B" and "T" where Keras has None."""
    _, d = grid_report(case, False)
    assert sequence_by_name(d) == keras_sequence_shapes(case, False)


# --------------------------------------------------------------------------
# grid: numerics, run_sequence against the Keras model and a weight-sharing probe
# --------------------------------------------------------------------------


@functools.cache
def keras_numeric(case):
    """Random weights in the contract model, its output on random xs, and a
    probe model that shares every layer of it and adds a copy of the last
    recurrent layer (same weights) with return_sequences and return_state."""
    seed = 7000 + zlib.crc32(case.id.encode()) % 1000
    model, stack, dense = contract_model(case)
    rng = np.random.default_rng(seed)
    arrays = {}
    for v in model.weights:
        shape = tuple(int(d) for d in v.shape)
        scale = 1.0 / np.sqrt(shape[0])
        arr = rng.uniform(-scale, scale, size=shape).astype(np.float32)
        v.assign(arr)
        arrays[v.path] = arr
    assert len(arrays) == len(model.weights)

    inp = keras.Input(shape=(None, case.input))
    y = inp
    for layer in stack[:-1]:
        y = layer(y)
    outputs = {"output": stack[-1](y)}
    if dense is not None:
        outputs["logits"] = dense(outputs["output"])
        if case.out >= 2:
            outputs["probs"] = keras.layers.Softmax()(outputs["logits"])
    full = recurrent_layer(case, return_sequences=True, return_state=True)
    res = full(y)
    full.set_weights(stack[-1].get_weights())
    outputs["sequences"] = res[0]
    outputs.update(zip(state_names(case), res[1:]))
    probe = keras.Model(inp, outputs)

    xs = rng.standard_normal((case.batch, case.seq_len, case.input)).astype(np.float32)
    want = {k: to_np(v) for k, v in probe(xs).items()}
    model_out = to_np(model(xs))

    # Keras against itself: the probe shares the model's weights, and the
    # states come in the order state_names() says.
    np.testing.assert_allclose(
        model_out, want["logits" if dense is not None else "output"], **TOL)
    seq, h = want["sequences"], case.hidden[-1] if isinstance(case.hidden, tuple) else case.hidden
    if case.bidirectional:
        np.testing.assert_allclose(want["forward_state_h"], seq[:, -1, :h], **TOL)
        np.testing.assert_allclose(want["backward_state_h"], seq[:, 0, h:], **TOL)
        np.testing.assert_allclose(
            want["output"], np.concatenate([seq[:, -1, :h], seq[:, 0, h:]], axis=1), **TOL)
    else:
        np.testing.assert_allclose(want["state_h"], seq[:, -1], **TOL)
        np.testing.assert_allclose(want["output"], seq[:, -1], **TOL)
    return arrays, xs, want, model_out


@pytest.mark.parametrize("case", KNUM, ids=KNUM_IDS)
def test_grid_run_sequence_matches_keras(case):
    from lstm_shapes.verify import run_sequence

    arrays, xs, want, model_out = keras_numeric(case)
    rep, d = grid_report(case, True)
    got = run_sequence(rep, {k: v.copy() for k, v in arrays.items()}, xs.copy())
    expected_names = {s["name"] for s in d["sequence"]} - {"input"}
    assert set(got) == expected_names
    assert set(want) == expected_names

    head = "logits" if case.out is not None else "output"
    got_head = np.asarray(got[head])
    assert got_head.shape == model_out.shape, head
    np.testing.assert_allclose(got_head, model_out, err_msg=head, **TOL)
    for name in sorted(want):
        value = np.asarray(got[name])
        assert value.shape == want[name].shape, name
        np.testing.assert_allclose(value, want[name], err_msg=name, **TOL)


# --------------------------------------------------------------------------
# combinations Keras does not have
# --------------------------------------------------------------------------


def keras_init_rejects(cls, **kwargs):
    try:
        cls(3, **kwargs)
    except (TypeError, ValueError):
        return True
    return False


def test_keras_itself_lacks_proj_peepholes_time_major_and_lstm_reset_after():
    """The ground for the ConfigError tests below."""
    for cls in (keras.layers.LSTM, keras.layers.GRU, keras.layers.SimpleRNN):
        assert keras_init_rejects(cls, proj_size=2), cls
        assert keras_init_rejects(cls, peepholes=True), cls
        assert keras_init_rejects(cls, time_major=True), cls  # batch-first only
    assert keras_init_rejects(keras.layers.LSTM, reset_after=True)
    assert keras_init_rejects(keras.layers.SimpleRNN, reset_after=True)
    assert "reset_after" in inspect.signature(keras.layers.GRU).parameters


BAD_KERAS = [
    ("proj-lstm", dict(cell="lstm", proj=2)),
    ("proj-gru", dict(cell="gru", proj=2)),
    ("proj-rnn", dict(cell="rnn", proj=2)),
    ("peepholes-lstm", dict(cell="lstm", peepholes=True)),
    ("peepholes-gru", dict(cell="gru", peepholes=True)),
    ("peepholes-rnn", dict(cell="rnn", peepholes=True)),
    ("reset_after-true-lstm", dict(cell="lstm", reset_after=True)),
    ("reset_after-false-lstm", dict(cell="lstm", reset_after=False)),
    ("reset_after-true-rnn", dict(cell="rnn", reset_after=True)),
    ("reset_after-false-rnn", dict(cell="rnn", reset_after=False)),
    ("batch_first-false-lstm", dict(cell="lstm", batch_first=False)),
    ("batch_first-false-gru", dict(cell="gru", batch_first=False)),
]


@pytest.mark.parametrize("kwargs", [k for _, k in BAD_KERAS], ids=[i for i, _ in BAD_KERAS])
def test_invalid_keras_combinations_raise_config_error(kwargs):
    with pytest.raises(lstm_shapes.ConfigError):
        lstm_shapes.Config(input=4, hidden=6, framework="keras", **kwargs)
    assert issubclass(lstm_shapes.ConfigError, ValueError)


def test_valid_keras_neighbours_are_accepted():
    """The same fields in the combinations Keras does have."""
    lstm_shapes.Config(input=4, hidden=6, cell="gru", framework="keras", reset_after=False)
    lstm_shapes.Config(input=4, hidden=6, cell="gru", framework="keras", reset_after=True)
    lstm_shapes.Config(input=4, hidden=6, cell="lstm", framework="keras",
                       proj=None, peepholes=False)
    lstm_shapes.Config(input=4, hidden=6, framework="keras", batch_first=True)


# --------------------------------------------------------------------------
# the head's options: bias, activation, and what it reads
# --------------------------------------------------------------------------

HEAD_CASES = [
    # (cell, input, hidden, out, bidirectional, head_bias, head_activation, head_reads)
    ("lstm", 4, 3, 3, True, False, "sigmoid", "last-step"),
    ("lstm", 4, 3, 3, True, True, "softmax", "final-states"),
    ("gru", 5, 2, 1, True, True, "none", "last-step"),
    ("rnn", 3, 4, 2, False, False, "softmax", "last-step"),
    ("lstm", 2, 3, 1, False, True, "sigmoid", "final-states"),
    # Dense on the 3-D sequences (return_sequences=True): (B, T, o).
    ("lstm", 4, 3, 3, True, True, "softmax", "every-step"),
    ("gru", 3, 2, 2, False, False, "sigmoid", "every-step"),
    ("rnn", 2, 4, 1, True, True, "none", "every-step"),
]


@pytest.mark.parametrize("case", HEAD_CASES, ids=["-".join(map(str, c)) for c in HEAD_CASES])
def test_head_options_match_keras(case):
    """Dense(o, use_bias, activation) on the layer's output (its final states), on
    sequences[:, -1] or on the whole sequences (return_sequences=True): names, count and numbers from Keras."""
    from lstm_shapes.verify import run_sequence

    cell, x, h, o, bi, bias, act, reads = case
    fresh_session()
    inp = keras.Input(shape=(None, x))
    layer = RNN_LAYERS[cell](h, return_sequences=reads != "final-states")
    if bi:
        layer = keras.layers.Bidirectional(layer)
    y = layer(inp)
    if reads == "last-step":
        y = y[:, -1]
    dense = keras.layers.Dense(o, use_bias=bias)
    logits = dense(y)
    outputs = {"logits": logits}
    if act != "none":
        outputs["probs"] = keras.layers.Activation(act)(logits)
    model = keras.Model(inp, outputs)
    rep = lstm_shapes.build(lstm_shapes.Config(
        input=x, hidden=h, out=o, cell=cell, bidirectional=bi, head_bias=bias, head_activation=act,
        head_reads=reads, batch=2, seq_len=5))
    assert [(w.name, list(w.shape)) for w in rep.weights] == [
        (v.path, [int(d) for d in v.shape]) for v in model.weights]
    assert rep.total_params == model.count_params()
    rng = np.random.default_rng(sum(map(ord, str(case))))
    arrays = {}
    for v in model.weights:
        arrays[v.path] = rng.uniform(-0.7, 0.7, size=tuple(int(d) for d in v.shape)).astype(np.float32)
        v.assign(arrays[v.path])
    xs = rng.standard_normal((2, 5, x)).astype(np.float32)
    want = {k: to_np(v) for k, v in model(xs).items()}
    got = run_sequence(rep, arrays, xs)
    assert ("probs" in got) == (act != "none")
    for name, value in want.items():
        np.testing.assert_allclose(np.asarray(got[name]), value, err_msg=name, **TOL)


@pytest.mark.parametrize("bi", [False, True], ids=["one-way", "bidirectional"])
def test_time_distributed_dense_is_a_head_on_every_step(bi):
    """TimeDistributed(Dense(o)) after return_sequences=True: the same shapes, count and numbers as the
    tool's head on every step, and the variable names its note gives."""
    from lstm_shapes.verify import run_sequence

    x, h, o, batch, steps = 3, 4, 2, 2, 5
    fresh_session()
    inp = keras.Input(shape=(None, x))
    layer = keras.layers.LSTM(h, return_sequences=True)
    if bi:
        layer = keras.layers.Bidirectional(layer)
    logits = keras.layers.TimeDistributed(keras.layers.Dense(o))(layer(inp))
    probs = keras.layers.Activation("softmax")(logits)
    model = keras.Model(inp, {"logits": logits, "probs": probs})
    rep = lstm_shapes.build(lstm_shapes.Config(input=x, hidden=h, out=o, bidirectional=bi,
                                               head_reads="every-step", batch=batch, seq_len=steps))
    paths = [v.path for v in model.weights]
    # The recurrent tensors are named alike; the head's, TimeDistributed's, as the note says.
    assert paths[:-2] == [w.name for w in rep.weights[:-2]]
    assert any(f"named {paths[-2]} and {paths[-1]}." in note for note in rep.notes)
    assert [list(v.shape) for v in model.weights] == [list(w.shape) for w in rep.weights]
    assert rep.total_params == model.count_params()
    rng = np.random.default_rng(7 + bi)
    arrays = {}
    for v, w in zip(model.weights, rep.weights):
        arrays[w.name] = rng.uniform(-0.7, 0.7, size=tuple(int(d) for d in v.shape)).astype(np.float32)
        v.assign(arrays[w.name])
    xs = rng.standard_normal((batch, steps, x)).astype(np.float32)
    want = {k: to_np(v) for k, v in model(xs).items()}
    got = run_sequence(rep, arrays, xs)
    shapes = {t.name: t.shape for t in rep.sequence}
    for name, value in want.items():
        assert value.shape == shapes[name] == (batch, steps, o), name
        np.testing.assert_allclose(np.asarray(got[name]), value, err_msg=name, **TOL)


def test_the_issues_stack_of_128_then_64_matches_keras() -> None:
    """--hidden 128,64 is LSTM(128, return_sequences=True) -> LSTM(64): names, shapes, count and output shape."""
    fresh_session()
    inp = keras.Input(shape=(None, 5))
    first = keras.layers.LSTM(128, return_sequences=True)  # made first, so named lstm, as in data flow
    model = keras.Model(inp, keras.layers.LSTM(64)(first(inp)))
    report = lstm_shapes.trace(5, (128, 64))
    assert [(w.name, w.shape) for w in report.weights] == [(v.path, tuple(v.shape)) for v in model.weights]
    assert report.total_params == model.count_params()
    assert {t.name: t.shape for t in report.sequence}["output"] == ("B", 64)
    assert tuple(model.output.shape) == (None, 64)
