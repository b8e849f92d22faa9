"""A dense head on every time step (`--head-reads every-step`): shapes, refusals, cost, --verify, the API.

Expected values are worked out by hand here; the real frameworks check the same in test_torch.py and
test_keras.py, and their recorded numbers in tests/vectors/.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from lstm_shapes import ConfigError, build, trace
from lstm_shapes.compare import compare
from lstm_shapes.config import Config
from lstm_shapes.render import FORMATS, render
from lstm_shapes.verify import random_arrays, run_sequence, verify


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lstm_shapes", *args], capture_output=True, text=True)


def shapes(report: object) -> dict[str, tuple[object, ...]]:
    return {t.name: t.shape for t in report.sequence}  # type: ignore[attr-defined]


# The logits keep the layout of the output sequence the head reads: (B, T, o) batch-first, (T, B, o) time-major.
@pytest.mark.parametrize("framework,batch_first,want", [
    ("keras", None, ("B", "T", 3)),
    ("tf-keras", None, ("B", "T", 3)),
    ("pytorch", None, ("T", "B", 3)),  # nn.LSTM's default is time-major
    ("pytorch", True, ("B", "T", 3)),
    ("tf1", None, ("B", "T", 3)),
    ("tf1", False, ("T", "B", 3)),
    ("onnx", None, ("T", "B", 3)),
    ("onnx", True, ("B", "T", 3)),
    ("paddle", False, ("T", "B", 3)),
    ("mlx", None, ("B", "T", 3)),
    ("flax", False, ("T", "B", 3)),
    ("haiku", None, ("T", "B", 3)),  # hk.dynamic_unroll is time-major by default
    ("haiku", True, ("B", "T", 3)),
])
def test_logits_and_probs_keep_the_time_axis(framework: str, batch_first: bool | None, want: tuple[object, ...]) -> None:
    report = trace(4, 2, 3, framework=framework, batch_first=batch_first, head_reads="every-step")
    got = shapes(report)
    assert got["logits"] == got["probs"] == want
    last = shapes(trace(4, 2, 3, framework=framework, batch_first=batch_first, head_reads="last-step"))
    assert last["logits"] == ("B", 3)


def test_concrete_sizes_and_counts_by_hand() -> None:
    # Keras Bidirectional(LSTM(4)) on x=3 with Dense(2): 2·4·(4·(3+4)+4) = 256, and 2·(2·4+1) = 18 in the
    # head, 274 in all (Keras' own summary says 274); on every step the weights are the same.
    report = trace(3, 4, 2, bidirectional=True, head_reads="every-step", batch=7, seq_len=5)
    assert report.total_params == 274
    assert [(w.name, w.shape) for w in report.weights][-2:] == [("dense/kernel", (8, 2)), ("dense/bias", (2,))]
    assert shapes(report)["logits"] == (7, 5, 2)
    # The step graph is one step: the head's node is that step's (B, o).
    assert report.node("logits").shape == (7, 2)


def test_a_cell_cannot_have_a_head_on_every_step() -> None:
    with pytest.raises(ConfigError):
        Config(input=4, hidden=2, out=3, framework="pytorch-cell", head_reads="every-step")
    done = run("--input", "4", "--hidden", "2", "--out", "3", "--framework", "pytorch-cell", "--head-reads", "every-step")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "lstm-shapes: error: --head-reads every-step is not available in PyTorch cell, which takes one time step per "
        "call: its head reads that step's h_1 (leave out --head-reads); Keras 3 / TF2, PyTorch, TF1, ONNX, Paddle, "
        "MLX, tf.keras 2, tf.keras 2 CuDNN, Flax and Haiku take a whole sequence"]


def test_keras_merge_mode_none_still_refuses_a_head() -> None:
    done = run("--input", "4", "--hidden", "2", "--out", "3", "--bidirectional", "--merge-mode", "none",
               "--head-reads", "every-step")
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and "a Dense head cannot read" in done.stderr


def test_every_step_needs_a_head() -> None:
    done = run("--input", "4", "--hidden", "2", "--head-reads", "every-step")
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["lstm-shapes: error: --head-reads describes the dense head; add one with --out N"]


def test_title_json_and_notes_say_it() -> None:
    report = trace(4, 2, 3, framework="pytorch", head_reads="every-step")
    text = render(report, "text")
    assert "; head on every step" in text.splitlines()[1]  # said even with one direction: the shape changes
    data = json.loads(render(report, "json"))
    assert data["head_reads"] == "every-step"
    assert [s["shape"] for s in data["sequence"] if s["name"] == "logits"] == [["T", "B", 3]]
    assert any("at every step" in note and "output[-1]" in note for note in report.notes)
    assert "head on every step" not in render(trace(4, 2, 3, framework="pytorch"), "text")


def test_keras_notes_name_time_distributed_as_keras_does() -> None:
    # Keras 3 scopes the wrapped Dense (time_distributed/dense/kernel); tf.keras 2 names TimeDistributed's own
    # variables (time_distributed/kernel:0), as both print for TimeDistributed(Dense(2)) after an LSTM.
    keras3 = trace(4, 2, 3, head_reads="every-step").notes
    assert any("time_distributed/dense/kernel and time_distributed/dense/bias" in n for n in keras3)
    tf_keras = trace(4, 2, 3, framework="tf-keras", head_reads="every-step", head_bias=False).notes
    assert any("holds the same kernel and gives the same (B, T, o), named time_distributed/kernel:0." in n
               for n in tf_keras)


def test_explain_says_the_equation_holds_at_every_step() -> None:
    report = build(Config(input=4, hidden=2, out=3, framework="pytorch", bidirectional=True, head_reads="every-step"),
                   explain=True)
    (logits,) = [e for e in report.equations if e.node == "logits"]
    assert logits.text == "logits_t = y_t·weightᵀ + bias (for every t, on output)"
    assert logits.shapes == "(B,4)·(3,4)ᵀ + (3,) → (B,3)"


def cost(**options: object) -> dict[str, object]:
    return build(Config(**options)).to_dict()["cost"]  # type: ignore[arg-type,no-any-return]


def test_head_macs_scale_with_the_sequence() -> None:
    # PyTorch LSTM x=3, h=4, o=2, T=5: 4·4·(3+4) = 112 MACs per step; the head 4·2 = 8, at each of the 5
    # steps on every step (5·(112+8) = 600), once otherwise (5·112 + 8 = 568).
    every = cost(input=3, hidden=4, out=2, framework="pytorch", seq_len=5, head_reads="every-step")
    once = cost(input=3, hidden=4, out=2, framework="pytorch", seq_len=5)
    assert every["head_macs"] == once["head_macs"] == 8
    assert every["macs_per_sequence"] == 600 and once["macs_per_sequence"] == 568
    assert every["formulas"]["macs_per_sequence"] == "T·(4h·(x+h)+h·o)"  # type: ignore[index]


def test_training_memory_by_hand() -> None:
    # PyTorch LSTM x=3, h=4, B=2, T=5, a softmax head of 2 on every step: per step 7h = 28 kept by the cell,
    # x = 3 for the input, the whole output (h = 4) for the head's product, and the softmax's 2 outputs.
    figures = cost(input=3, hidden=4, out=2, framework="pytorch", seq_len=5, batch=2, head_reads="every-step")
    assert figures["activation_bytes"] == 2 * 5 * (28 + 3 + 4 + 2) * 4
    # Without an activation nothing of the head's own is kept.
    figures = cost(input=3, hidden=4, out=2, framework="pytorch", seq_len=5, batch=2, head_reads="every-step",
                   head_activation="none")
    assert figures["activation_bytes"] == 2 * 5 * (28 + 3 + 4) * 4


@pytest.mark.parametrize("options", [
    dict(framework="keras", bidirectional=True, layers=2, cell="gru"),
    dict(framework="pytorch", batch_first=True, bidirectional=True, proj=1),
    dict(framework="pytorch"),
    dict(framework="onnx", bidirectional=True),
    dict(framework="tf1", bidirectional=True),
    dict(framework="mlx", cell="rnn"),
    dict(framework="haiku", layers=2),
])
def test_verify_checks_the_logits_at_every_step(options: dict[str, object]) -> None:
    report = build(Config(input=4, hidden=2, out=3, head_reads="every-step", batch=2, seq_len=5, **options))
    result = verify(report)
    assert result.mismatches == ()
    (check,) = [c for c in result.checks if c.what.startswith("returns logits")]
    assert check.actual == ("(2, 5, 3)" if report.config.batch_first else "(5, 2, 3)")


def test_the_head_applies_to_each_steps_output() -> None:
    # By hand from the returned output: logits[t] = output[t]·Wᵀ + b for every t, and softmax sums to 1 over o.
    report = build(Config(input=4, hidden=3, out=5, framework="pytorch", bidirectional=True, head_reads="every-step"))
    arrays = random_arrays(report, seed=3)
    xs = np.random.default_rng(4).standard_normal((6, 2, 4)).astype(np.float32)  # (T, B, x)
    got = run_sequence(report, arrays, xs)
    want = got["output"] @ arrays["head.weight"].T + arrays["head.bias"]
    np.testing.assert_allclose(got["logits"], want, rtol=1e-6, atol=1e-6)
    assert got["probs"].shape == (6, 2, 5)
    np.testing.assert_allclose(got["probs"].sum(axis=-1), np.ones((6, 2)), rtol=1e-6)
    # The last step's logits are what a head on the last step gives, from the same weights.
    last = run_sequence(build(Config(input=4, hidden=3, out=5, framework="pytorch", bidirectional=True,
                                     head_reads="last-step")), arrays, xs)
    np.testing.assert_allclose(got["logits"][-1], last["logits"], rtol=1e-6)


def test_verify_on_the_command_line() -> None:
    done = run("--input", "4", "--hidden", "2", "--out", "3", "--head-reads", "every-step", "--bidirectional",
               "--batch", "2", "--seq-len", "3", "--verify")
    assert done.returncode == 0, done.stderr
    assert "ok    returns logits (2, 3, 3): (2, 3, 3)" in done.stderr
    assert "ok    returns probs (2, 3, 3): (2, 3, 3)" in done.stderr
    assert "0 mismatches" in done.stderr


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_it(fmt: str) -> None:
    done = run("--input", "4", "--hidden", "2", "--out", "3", "--head-reads", "every-step", "--format", fmt)
    assert done.returncode == 0 and done.stderr == ""
    assert "every step" in done.stdout


def test_the_comparison_shows_the_cell_as_unavailable() -> None:
    cmp = compare(input=4, hidden=2, out=3, head_reads="every-step")
    by_name = {e.framework: e for e in cmp.entries}
    assert by_name["pytorch-cell"].report is None
    assert "takes one time step per call" in (by_name["pytorch-cell"].error or "")
    available = [e for e in cmp.entries if e.report is not None]
    assert len(available) == len(cmp.entries) - 1
    assert all(e.report.config.head_reads == "every-step" for e in available)  # type: ignore[union-attr]
