"""Cross-check --framework tf1 against the real tf.compat.v1.nn.rnn_cell cells in a TF1 graph.

LSTMCell (peepholes, num_proj), GRUCell and BasicRNNCell under dynamic_rnn, MultiRNNCell for stacks,
bidirectional_dynamic_rnn, and the stack of bidirectional layers built from its parts as
stack_bidirectional_dynamic_rnn did (TF 2.21 no longer ships it): each layer in `cell_k/` under
`stack_bidirectional_rnn/`, reading the previous layer's two directions side by side. Every expected
value is read from the graph: variable names (as checkpoints spell them, without `:0`), shapes,
the count, and what the graph returns for seeded weights and inputs.

Runs in .venv-tf (.ci/frameworks/tf.sh); skipped without tensorflow and tf_keras, which backs
tf.compat.v1.nn.rnn_cell since TF 2.16 (TF_USE_LEGACY_KERAS=1).
"""

from __future__ import annotations

import os
import random
import zlib

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tf.compat.v1.nn.rnn_cell lives in tf_keras from TF 2.16 on
np = pytest.importorskip("numpy")
pytest.importorskip("tf_keras", reason="tf_keras is not installed: TF1 cross-check skipped")
tf = pytest.importorskip("tensorflow", reason="tensorflow is not installed: TF1 cross-check skipped")

from lstm_shapes import Config, build  # noqa: E402
from lstm_shapes.verify import run_sequence  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
v1 = tf.compat.v1
BATCH, STEPS = 3, 4


def _cell(config: Config, layer: int = 0):  # type: ignore[no-untyped-def]
    rnn, h = v1.nn.rnn_cell, config.layer_hidden(layer)
    if config.cell == "lstm":
        return rnn.LSTMCell(h, use_peepholes=config.peepholes, num_proj=config.proj)
    return rnn.GRUCell(h) if config.cell == "gru" else rnn.BasicRNNCell(h)


def _graph(config: Config, x):  # type: ignore[no-untyped-def]
    """{returned name: tensor} as the tool's Sequence table names them."""
    tm = not config.batch_first
    out: dict[str, object] = {}

    def states(side: str, layer: int | None, state) -> None:  # type: ignore[no-untyped-def]
        at = f"state{side}" + ("" if layer is None else f"[{layer}]")
        if config.cell == "lstm":
            out[f"{at}.c"], out[f"{at}.h"] = state.c, state.h
        else:
            out[at] = state

    if not config.bidirectional:
        cell = _cell(config) if config.layers == 1 else v1.nn.rnn_cell.MultiRNNCell([_cell(config, k) for k in range(config.layers)])
        out["outputs"], state = v1.nn.dynamic_rnn(cell, x, dtype=tf.float32, time_major=tm)
        for k in range(config.layers):
            states("", None if config.layers == 1 else k, state if config.layers == 1 else state[k])
    elif config.layers == 1:
        (fw, bw), (sfw, sbw) = v1.nn.bidirectional_dynamic_rnn(_cell(config), _cell(config), x, dtype=tf.float32, time_major=tm)
        out["outputs_fw"], out["outputs_bw"] = fw, bw
        states("_fw", None, sfw)
        states("_bw", None, sbw)
    else:  # stack_bidirectional_dynamic_rnn, from its parts
        layer_in, finals = x, []
        with v1.variable_scope("stack_bidirectional_rnn"):
            for k in range(config.layers):
                with v1.variable_scope(f"cell_{k}"):
                    pair, st = v1.nn.bidirectional_dynamic_rnn(_cell(config, k), _cell(config, k), layer_in,
                                                               dtype=tf.float32, time_major=tm)
                    layer_in = tf.concat(pair, 2)
                    finals.append(st)
        out["outputs"] = layer_in
        for d, side in enumerate(("_fw", "_bw")):
            for k in range(config.layers):
                states(side, k, finals[k][d])
    if config.out is not None:
        _head(config, out)
    return out


def _head(config: Config, out: dict[str, object]) -> None:
    """A dense head (`dense/kernel`, `dense/bias`) on the last step's output or the top layer's final h."""
    if config.head_reads == "final-states":
        top = "" if config.layers == 1 else f"[{config.layers - 1}]"
        sides = ("_fw", "_bw") if config.bidirectional else ("",)
        ends = [out[f"state{side}{top}" + (".h" if config.cell == "lstm" else "")] for side in sides]
    else:
        seq = out["outputs"] if "outputs" in out else tf.concat([out["outputs_fw"], out["outputs_bw"]], 2)
        ends = [seq[:, -1] if config.batch_first else seq[-1]]
    logits = v1.layers.dense(tf.concat(ends, 1), config.out, use_bias=config.head_bias)
    out["logits"] = logits
    if config.head_activation == "softmax":
        out["probs"] = tf.nn.softmax(logits)
    elif config.head_activation == "sigmoid":
        out["probs"] = tf.sigmoid(logits)


def record(config: Config, seed: int) -> dict[str, object]:
    """Names, shapes, count and returned values of `config` in a TF1 graph, for seeded weights and input."""
    rng = np.random.default_rng(seed)
    shape = (BATCH, STEPS, config.input) if config.batch_first else (STEPS, BATCH, config.input)
    xs = rng.standard_normal(shape).astype(np.float32)
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, shape)
        tensors = _graph(config, x)
        variables = v1.global_variables()
        values = [rng.uniform(-0.5, 0.5, tuple(v.shape)).astype(np.float32) for v in variables]
        with v1.Session(graph=graph) as sess:
            for v, value in zip(variables, values):
                v.load(value, sess)
            got = sess.run(tensors, {x: xs})
    names = [v.op.name for v in variables]
    return {"names": names, "shapes": [tuple(v.shape) for v in values], "count": sum(v.size for v in values),
            "weights": dict(zip(names, values)), "input": xs, "outputs": got}


def grid() -> list[Config]:
    """A seeded sample of every cell and variant: peepholes, projections, stacks, both bidirectional builds."""
    rng = random.Random(1)
    found = []
    for cell in ("lstm", "gru", "rnn"):
        for layers, bi in ((1, False), (2, False), (1, True), (2, True)):
            for peep, proj in ((False, None), (True, 2)) if cell == "lstm" else ((False, None),):
                found.append(Config(input=rng.randint(1, 5), hidden=rng.randint(3, 5), cell=cell, framework="tf1",
                                    layers=layers, bidirectional=bi, peepholes=peep, proj=proj,
                                    batch_first=rng.random() < 0.5))
    # Layers of their own sizes: a MultiRNNCell of cells of different sizes, or the bidirectional stack of them.
    # With a dense head on some: (o, what it reads, its activation).
    last, final = "last-step", "final-states"
    for cell, hidden, bi, peep, proj, head in (
        ("lstm", (5, 3), False, False, None, (2, last, "softmax")), ("lstm", (2, 4, 3), True, False, None, (3, final, "sigmoid")),
        ("lstm", (4, 3), False, True, 2, None), ("lstm", (3, 5), True, True, 1, (1, last, "none")),
        ("gru", (4, 2, 5), False, False, None, None), ("gru", (2, 4), True, False, None, (2, final, "softmax")),
        ("rnn", (3, 1), False, False, None, (3, last, "sigmoid")), ("rnn", (2, 3, 5), True, False, None, None),
    ):
        more = {} if head is None else dict(out=head[0], head_reads=head[1], head_activation=head[2],
                                            head_bias=rng.random() < 0.7)
        found.append(Config(input=rng.randint(1, 5), hidden=hidden, cell=cell, framework="tf1", bidirectional=bi,
                            peepholes=peep, proj=proj, batch_first=rng.random() < 0.5, **more))
    return found


GRID = grid()


def case_id(c: Config) -> str:
    return (f"{c.cell}-x{c.input}h{c.hidden_text}-l{c.layers}{'-bi' if c.bidirectional else ''}{'-peep' if c.peepholes else ''}"
            f"{'-p%d' % c.proj if c.proj else ''}{'' if c.batch_first else '-tm'}"
            + (f"-o{c.out}-{c.head_activation}-{c.head_reads}{'' if c.head_bias else '-nobias'}" if c.out else ""))


@pytest.mark.parametrize("config", GRID, ids=[case_id(c) for c in GRID])
def test_names_shapes_count_and_numbers(config: Config) -> None:
    real = record(config, seed=zlib.crc32(case_id(config).encode()))
    report = build(config)
    assert [w.name for w in report.weights] == real["names"]
    assert [tuple(w.shape) for w in report.weights] == real["shapes"]
    assert report.total_params == real["count"]
    ours = run_sequence(report, real["weights"], real["input"])
    sequence = {t.name: t.shape for t in report.sequence}
    assert set(real["outputs"]) == set(sequence) - {"inputs"}
    for name, value in real["outputs"].items():
        assert tuple({"B": BATCH, "T": STEPS}.get(d, d) for d in sequence[name]) == value.shape, name
        assert ours[name].shape == value.shape, name
        assert np.allclose(ours[name], value, rtol=1e-4, atol=1e-5), name
