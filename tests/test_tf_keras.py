"""Cross-check --framework tf-keras and tf-keras-cudnn against the real tf_keras (Keras 2 in TF 2.x).

Every expected value is read from a tf_keras model built here: the names and shapes of
`model.weights` in order, `count_params()`, the shapes and values the layers return for seeded
weights and inputs. CuDNNLSTM / CuDNNGRU build their weights on a CPU but run only on a GPU, so
their numbers come from the plain layer loaded the way tf_keras converts CuDNN weights
(LSTM: the two bias halves summed; GRU reset_after=True: the bias as (2, 3h)).

Runs in .venv-tf (.ci/frameworks/tf.sh); skipped without tensorflow and tf_keras.
"""

from __future__ import annotations

import os
import random
import zlib

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
np = pytest.importorskip("numpy")
tf_keras = pytest.importorskip("tf_keras", reason="tf_keras is not installed: tf.keras 2 cross-check skipped")

from lstm_shapes import Config, build  # noqa: E402
from lstm_shapes.verify import run_sequence  # noqa: E402

BATCH, STEPS = 3, 4


def _layer(config: Config, k: int, sequences: bool):  # type: ignore[no-untyped-def]
    """Layer `k` of `config` as tf_keras builds it."""
    from tf_keras.src.layers.rnn.cudnn_gru import CuDNNGRU
    from tf_keras.src.layers.rnn.cudnn_lstm import CuDNNLSTM

    L, h, last = tf_keras.layers, config.layer_hidden(k), k == config.layers - 1
    seq = sequences or not last
    state = last and sequences
    if config.convention.short == "CuDNN":
        cls = {"lstm": CuDNNLSTM, "gru": CuDNNGRU}[config.cell]
        layer = cls(h, return_sequences=seq, return_state=state)
    elif config.cell == "lstm":
        layer = L.LSTM(h, use_bias=config.bias, return_sequences=seq, return_state=state)
    elif config.cell == "gru":
        layer = L.GRU(h, use_bias=config.bias, reset_after=config.reset_after, return_sequences=seq, return_state=state)
    else:
        layer = L.SimpleRNN(h, use_bias=config.bias, return_sequences=seq, return_state=state)
    return L.Bidirectional(layer) if config.bidirectional else layer


def model_for(config: Config, sequences: bool, plain: bool = False):  # type: ignore[no-untyped-def]
    """The stack of `config`, fresh names; `sequences` returns every step and the states, else the output (and head)."""
    tf_keras.backend.clear_session()
    if plain and config.convention.short == "CuDNN":
        config = Config(**{**config_kwargs(config), "framework": "tf-keras", "reset_after": True if config.cell == "gru" else None})
    x = tf_keras.Input((STEPS, config.input))
    y = x
    for k in range(config.layers):
        y = _layer(config, k, sequences)(y)
    if config.out is not None and not sequences:
        y = tf_keras.layers.Dense(config.out, use_bias=config.head_bias)(y)
    return tf_keras.Model(x, y)


def config_kwargs(config: Config) -> dict[str, object]:
    keys = ("input", "hidden", "out", "cell", "framework", "layers", "bidirectional", "bias", "reset_after")
    return {k: getattr(config, k) for k in keys}


def to_plain(config: Config, values: list, plain) -> list:  # type: ignore[type-arg,no-untyped-def]
    """CuDNN weights as tf_keras itself converts them when it loads them into LSTM / GRU(reset_after=True): its
    legacy loader's own conversion (each gate's kernel from cuDNN's layout, the biases summed or stacked)."""
    if config.convention.short != "CuDNN":
        return values
    from tf_keras.src.saving.legacy import hdf5_format

    out, i = [], 0
    for layer in plain.layers:
        n = len(layer.weights)
        if n and i < len(values):
            out += hdf5_format.preprocess_weights_for_loading(layer, values[i:i + n])
            i += n
    return out + values[i:]


def record(config: Config, seed: int) -> dict[str, object]:
    """Names, shapes, count and returned values of `config` in tf_keras, for seeded weights and input."""
    model = model_for(config, sequences=True)
    rng = np.random.default_rng(seed)
    names = [w.name for w in model.weights]
    values = [rng.uniform(-0.5, 0.5, tuple(w.shape)).astype(np.float32) for w in model.weights]
    model.set_weights(values)
    xs = rng.standard_normal((BATCH, STEPS, config.input)).astype(np.float32)
    got = model_for(config, sequences=True, plain=True)
    got.set_weights(to_plain(config, values, got))
    seq, *states = [np.asarray(t) for t in got(xs)]
    sides = ("forward_", "backward_") if config.bidirectional else ("",)
    kinds = ("state_h", "state_c") if config.cell == "lstm" else ("state_h",)
    outputs = {"sequences": seq, **{s + k: v for (s, k), v in zip([(s, k) for s in sides for k in kinds], states)}}
    head = model_for(config, sequences=False, plain=True)
    head_names = [w.name for w in head.weights][len(values):]
    head_values = [rng.uniform(-0.5, 0.5, tuple(w.shape)).astype(np.float32) for w in head.weights[len(values):]]
    head.set_weights(to_plain(config, values, head) + head_values)
    result = np.asarray(head(xs))
    outputs["logits" if config.out is not None else "output"] = result
    if config.out is not None:  # the output itself, without the head
        outputs["output"] = np.asarray(tf_keras.Model(head.input, head.layers[-2].output)(xs))
    return {
        "names": names + head_names,
        "shapes": [tuple(v.shape) for v in values + head_values],
        "count": model.count_params() + sum(v.size for v in head_values),
        "weights": dict(zip(names + head_names, values + head_values)),
        "input": xs,
        "outputs": outputs,
    }


def grid() -> list[Config]:
    """A seeded sample of every cell and variant, with CuDNN's layers among them."""
    rng = random.Random(2026)
    found = []
    for fw in ("tf-keras", "tf-keras-cudnn"):
        for cell in ("lstm", "gru", "rnn"):
            for reset_after in ((True, False) if cell == "gru" else (None,)):
                for _ in range(3):
                    options = dict(input=rng.randint(1, 5), hidden=rng.randint(1, 5), cell=cell, framework=fw,
                                   layers=rng.choice((1, 2)), bidirectional=rng.random() < 0.5,
                                   out=rng.choice((None, 3)), reset_after=reset_after,
                                   bias=fw == "tf-keras-cudnn" or rng.random() < 0.8)
                    if options["out"] is not None:
                        options["head_activation"] = "none"  # the model's Dense(3) is linear
                    try:
                        found.append(Config(**options))  # type: ignore[arg-type]
                    except Exception:
                        pass  # a variant CuDNN lacks (SimpleRNN, reset_after=False)
    # Layers of their own sizes: shrinking, growing, up and down; every cell, Bidirectional, heads, no bias.
    for fw, cell, hidden, bi, out, bias, reset_after in (
        ("tf-keras", "lstm", (5, 2), True, 3, True, None), ("tf-keras", "lstm", (2, 4, 3), False, None, False, None),
        ("tf-keras", "gru", (3, 5), False, 2, True, False), ("tf-keras", "gru", (4, 1, 3), True, None, True, True),
        ("tf-keras", "rnn", (4, 2), True, None, True, None), ("tf-keras", "rnn", (1, 3, 5), False, 3, False, None),
        ("tf-keras-cudnn", "lstm", (4, 2), True, None, True, None), ("tf-keras-cudnn", "lstm", (2, 5, 3), False, 2, True, None),
        ("tf-keras-cudnn", "gru", (3, 5), True, 3, True, True), ("tf-keras-cudnn", "gru", (5, 2, 4), False, None, True, True),
    ):
        head = {"head_activation": "none"} if out else {}
        found.append(Config(input=rng.randint(1, 5), hidden=hidden, cell=cell, framework=fw, bidirectional=bi, out=out,
                            bias=bias, reset_after=reset_after, **head))
    return found


GRID = grid()


def case_id(c: Config) -> str:
    return (f"{c.framework}-{c.cell}-x{c.input}h{c.hidden_text}-l{c.layers}{'-bi' if c.bidirectional else ''}"
            f"{'' if c.bias else '-nobias'}{'' if c.reset_after in (None, True) else '-ra0'}{'-o%d' % c.out if c.out else ''}")


@pytest.mark.parametrize("config", GRID, ids=[case_id(c) for c in GRID])
def test_names_shapes_count_and_numbers(config: Config) -> None:
    real = record(config, seed=zlib.crc32(case_id(config).encode()))
    report = build(config)
    assert [w.name for w in report.weights] == real["names"]
    assert [tuple(w.shape) for w in report.weights] == real["shapes"]
    assert report.total_params == real["count"]
    ours = run_sequence(report, real["weights"], real["input"])
    for name, value in real["outputs"].items():
        assert ours[name].shape == value.shape, name
        assert np.allclose(ours[name], value, rtol=1e-4, atol=1e-5), name
    sequence = {t.name: t.shape for t in report.sequence}
    for name, value in real["outputs"].items():  # the Sequence table's shapes, with batch and steps filled in
        shape = tuple({"B": BATCH, "T": STEPS}.get(d, d) for d in sequence[name])
        assert shape == value.shape, name


def test_the_grid_reaches_every_cell_and_variant() -> None:
    seen = {(c.framework, c.cell, c.layers, c.bidirectional) for c in GRID}
    assert {(f, c) for f, c, _, _ in seen} == {(f, c) for f in ("tf-keras", "tf-keras-cudnn") for c in ("lstm", "gru", "rnn")
                                              if (f, c) != ("tf-keras-cudnn", "rnn")}
    assert any(c.bidirectional and c.layers == 2 for c in GRID) and any(not c.bias for c in GRID)
    assert any(c.reset_after is False for c in GRID) and any(c.out for c in GRID)
    sized = [c for c in GRID if c.per_layer]
    assert {(c.framework, c.cell) for c in sized} == {(f, c) for f, c, _, _ in seen} and {c.layers for c in sized} == {2, 3}


@pytest.mark.parametrize("wrapped", [False, True], ids=["dense-3d", "time-distributed"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["one-way", "bidirectional"])
def test_a_head_on_every_step(bidirectional: bool, wrapped: bool) -> None:
    """Dense on the 3-D sequences, or TimeDistributed(Dense): (B, T, o), names as tf_keras gives them, numbers."""
    config = Config(input=3, hidden=4, out=2, framework="tf-keras", bidirectional=bidirectional, head_reads="every-step",
                    head_activation="none", batch=BATCH, seq_len=STEPS)
    tf_keras.backend.clear_session()
    x = tf_keras.Input((STEPS, config.input))
    layer = tf_keras.layers.LSTM(config.hidden, return_sequences=True)
    dense = tf_keras.layers.Dense(config.out)
    head = tf_keras.layers.TimeDistributed(dense) if wrapped else dense
    model = tf_keras.Model(x, head(tf_keras.layers.Bidirectional(layer)(x) if bidirectional else layer(x)))
    report = build(config)
    names = [w.name for w in model.weights]
    if wrapped:  # TimeDistributed names the head's variables as the note says
        assert names[:-2] == [w.name for w in report.weights[:-2]]
        assert any(f"named {names[-2]} and {names[-1]}." in note for note in report.notes)
    else:
        assert names == [w.name for w in report.weights]
    assert [tuple(w.shape) for w in model.weights] == [tuple(w.shape) for w in report.weights]
    assert model.count_params() == report.total_params
    rng = np.random.default_rng(5 + 2 * bidirectional + wrapped)
    values = [rng.uniform(-0.5, 0.5, tuple(w.shape)).astype(np.float32) for w in model.weights]
    model.set_weights(values)
    xs = rng.standard_normal((BATCH, STEPS, config.input)).astype(np.float32)
    want = np.asarray(model(xs))
    got = run_sequence(report, {w.name: v for w, v in zip(report.weights, values)}, xs)["logits"]
    assert got.shape == want.shape == (BATCH, STEPS, config.out) == {t.name: t.shape for t in report.sequence}["logits"]
    assert np.allclose(got, want, rtol=1e-4, atol=1e-5)
