"""The dense head: its activation, its bias and what it reads, in every format, --verify and the API.

Expected counts are worked out by hand here: a head of o outputs on h units has o·h weights and,
with a bias, o more.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from lstm_shapes import ConfigError, build, trace
from lstm_shapes.config import Config
from lstm_shapes.render import FORMATS


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lstm_shapes", *args], capture_output=True, text=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_output_has_no_softmax_in_any_format(fmt: str) -> None:
    # A softmax over one output is always 1.0: Keras' Dense(1) is linear, and so is the default here.
    one = run("--input", "4", "--hidden", "2", "--out", "1", "--format", fmt)
    two = run("--input", "4", "--hidden", "2", "--out", "2", "--format", fmt)
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    assert "softmax" not in one.stdout and "probs" not in one.stdout
    assert "probs" in two.stdout
    if fmt not in ("mermaid", "graph"):  # these two draw nodes by name only
        assert "softmax" in two.stdout
    assert "logits" in one.stdout


@pytest.mark.parametrize("activation,op", [("softmax", "softmax(logits)"), ("sigmoid", "σ(logits)")])
def test_the_activation_is_chosen(activation: str, op: str) -> None:
    data = json.loads(run("--input", "4", "--hidden", "2", "--out", "1", "--head-activation", activation,
                          "--format", "json").stdout)
    probs = [node for node in data["nodes"] if node["name"] == "probs"]
    assert [node["op"] for node in probs] == [op]
    assert data["head_activation"] == activation
    none = json.loads(run("--input", "4", "--hidden", "2", "--out", "5", "--head-activation", "none",
                          "--format", "json").stdout)
    assert "probs" not in [node["name"] for node in none["nodes"]]


@pytest.mark.parametrize("framework,names", [
    ("keras", ["dense/kernel"]),
    ("pytorch", ["head.weight"]),
    ("tf1", ["dense/kernel"]),
    ("onnx", ["head.weight"]),
])
def test_no_head_bias_drops_the_bias_everywhere(framework: str, names: list[str]) -> None:
    x, h, o = 4, 2, 3
    done = run("--input", str(x), "--hidden", str(h), "--out", str(o), "--framework", framework,
               "--no-head-bias", "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    head_rows = [row for row in rows if row[1] in names + [n.replace("kernel", "bias").replace("weight", "bias")
                                                          for n in names]]
    assert [row[1] for row in head_rows] == names
    with_bias = trace(x, h, o, framework=framework)
    without = trace(x, h, o, framework=framework, head_bias=False)
    assert with_bias.total_params - without.total_params == o  # o biases, by hand
    assert without.parts[-1].params == o * h  # 3·2 weights, by hand
    assert "b_y" not in without.node("logits").op


def test_the_first_seeds_model_counts_by_hand() -> None:
    # x = 5, h = 256, o = 10, a softmax layer without biases: 4·(256·261 + 256) + 10·256.
    report = trace(5, 256, 10, head_bias=False, head_activation="softmax")
    assert report.total_params == 4 * (256 * 261 + 256) + 10 * 256 == 270_848


@pytest.mark.parametrize("options,probs", [
    (("--out", "1"), False),
    (("--out", "3", "--no-head-bias", "--head-activation", "sigmoid"), True),
    (("--out", "3", "--bidirectional", "--framework", "pytorch", "--head-reads", "final-states",
      "--head-activation", "none"), False),
    (("--out", "2", "--bidirectional", "--head-reads", "last-step", "--cell", "gru"), True),
])
def test_verify_runs_with_every_head(options: tuple[str, ...], probs: bool) -> None:
    done = run("--input", "4", "--hidden", "2", *options, "--verify", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert "0 mismatches" in done.stderr
    assert ("node probs" in done.stderr) == probs
    assert any(node["name"] == "probs" for node in json.loads(done.stdout)["nodes"]) == probs


@pytest.mark.parametrize("option", [("--no-head-bias",), ("--head-activation", "sigmoid"),
                                    ("--head-reads", "last-step")])
def test_head_options_need_a_head(option: tuple[str, ...]) -> None:
    done = run("--input", "4", "--hidden", "2", *option)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"lstm-shapes: error: {option[0]} describes the dense head; add one with --out N"]
    with pytest.raises(ConfigError):
        Config(input=4, hidden=2, head_bias=False)


def test_bidirectional_notes_say_what_the_head_reads() -> None:
    last = build(Config(input=4, hidden=2, out=3, framework="pytorch", bidirectional=True))
    assert any("output[-1]" in n and "seen only that one step" in n for n in last.notes)
    final = build(Config(input=4, hidden=2, out=3, bidirectional=True))
    assert final.config.head_reads == "final-states"  # Keras' Bidirectional returns the final states
    assert any("--head-reads last-step" in n for n in final.notes)
    one_way = build(Config(input=4, hidden=2, out=3, framework="pytorch"))
    assert not any("--head-reads" in n for n in one_way.notes)


def test_pytorch_module_names_with_a_head() -> None:
    names = [w.name for w in trace(4, 2, 1, framework="pytorch").weights]
    assert names == ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                     "head.weight", "head.bias"]
    assert [w.name for w in trace(4, 2, framework="pytorch").weights][0] == "weight_ih_l0"


def test_pytorch_rnn_explain_uses_pytorchs_symbols() -> None:
    report = build(Config(input=4, hidden=2, cell="rnn", framework="pytorch"), explain=True)
    (h_t,) = [e for e in report.equations if e.node == "h_t"]
    assert h_t.text == "h_t = tanh(x_t·W_ihᵀ + h_{t-1}·W_hhᵀ + b_ih + b_hh)"
