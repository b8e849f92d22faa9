"""Layers of their own sizes, `--hidden 128,64`: counts by hand, the command line, fit, costs and documents.

The real frameworks check the names, shapes and numbers (tests/test_keras.py's grid, tests/test_torch_layers.py);
here every expected number is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lstm_shapes import Config, ConfigError, build, trace
from lstm_shapes.frameworks import NAMES, get

PER_LAYER = [name for name in NAMES if get(name).has_layers]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lstm_shapes", *args], capture_output=True, text=True)


def test_keras_count_by_hand() -> None:
    # LSTM(128) on x=4: 4·(128·(4+128)+128) = 68,096; LSTM(64) on 128: 4·(64·(128+64)+64) = 49,408;
    # Dense(1) on 64: 65. Total 117,569.
    report = trace(4, (128, 64), out=1)
    assert [p.params for p in report.parts] == [68_096, 49_408, 65]
    assert report.total_params == 117_569


def test_pytorch_bidirectional_count_by_hand() -> None:
    # Two directions, two biases: 2·4·(128·(4+128)+2·128) = 137,216; the second reads 2·128:
    # 2·4·(64·(256+64)+2·64) = 164,864; Linear(128, 3): 387. Total 302,467.
    report = trace(4, (128, 64), out=3, framework="pytorch", bidirectional=True)
    assert [p.params for p in report.parts] == [137_216, 164_864, 387]
    assert report.total_params == 302_467
    assert report.weights[8].name == "rnn.1.weight_ih_l0" and report.weights[8].shape == (256, 256)


def test_projection_is_each_layers_output() -> None:
    # PyTorch LSTM(4, 7, proj_size=2) then LSTM(2, 5, proj_size=2): 4·(7·(4+2)+2·7)+7·2 = 238 and
    # 4·(5·(2+2)+2·5)+5·2 = 130.
    report = trace(4, (7, 5), proj=2, framework="pytorch")
    assert [p.params for p in report.parts] == [238, 130]


def test_formulas_name_each_layers_size() -> None:
    parts = trace(3, (6, 4)).parts
    assert [p.formula.render() for p in parts] == ["4·(h0·(x+h0)+h0)", "4·(h1·(h0+h1)+h1)"]


def test_equal_sizes_are_one_size_for_every_layer() -> None:
    assert Config(input=3, hidden=(5, 5, 5)) == Config(input=3, hidden=5, layers=3)
    assert Config(input=3, hidden=(5,)) == Config(input=3, hidden=5)


@pytest.mark.parametrize(("kwargs", "words"), [
    (dict(hidden=(4, 2), layers=3), "layers is 3, but --hidden gives 2 sizes"),
    (dict(hidden=(4, 0)), "hidden must be whole numbers from 1 to 10,000,000, one per layer"),
    (dict(hidden=()), "hidden must be a size, or one size per layer"),
    (dict(hidden=(4, 2), framework="pytorch-cell"), "not available in PyTorch cell, which is one layer"),
    (dict(hidden=(8, 3), proj=3, framework="pytorch"), "proj must be smaller than --hidden (8,3) in PyTorch"),
])
def test_bad_sizes_are_refused(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config(input=3, **kwargs)  # type: ignore[arg-type]
    assert words in str(caught.value)


@pytest.mark.parametrize(("value", "words"), [
    ("128,x", "--hidden must be whole numbers from 1 to 10,000,000 apart by commas, one per layer (e.g. 128,64), "
              "got '128,x'"),
    ("128,,64", "got '128,,64'"),
    ("128,0", "got '128,0'"),
    ("128,64,", "got '128,64,'"),
])
def test_bad_lists_are_one_line_exit_2(value: str, words: str) -> None:
    result = run("--input", "4", "--hidden", value)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == f"lstm-shapes: error: {words}" or words in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_layers_that_disagree_are_one_line() -> None:
    result = run("--input", "4", "--hidden", "128,64", "--layers", "3")
    assert result.returncode == 2
    assert result.stderr == ("lstm-shapes: error: --layers is 3, but --hidden gives 2 sizes, one per layer; "
                             "give as many or leave out --layers\n")


def test_the_heading_names_each_size_and_json_lists_them() -> None:
    text = run("--input", "4", "--hidden", "128,64", "--out", "1").stdout
    assert "x = 4 inputs, h0 = 128 hidden units, h1 = 64 hidden units, o = 1 output" in text
    data = json.loads(run("--input", "4", "--hidden", "128,64", "--format", "json").stdout)
    assert data["hidden"] == [128, 64] and data["layers"] == 2
    assert data["symbols"]["h0"] == 128 and data["symbols"]["h1"] == 64


@pytest.mark.parametrize("framework", PER_LAYER)
def test_verify_passes_in_every_framework_that_stacks(framework: str) -> None:
    options = ["--bidirectional"] if get(framework).has_bidirectional else []
    result = run("--input", "3", "--hidden", "6,4,5", "--out", "2", "--framework", framework, "--verify", *options)
    assert result.returncode == 0, result.stderr
    assert "0 mismatches" in result.stderr + result.stdout


def test_costs_by_hand() -> None:
    # MACs per step: 4·6·(3+6) + 4·4·(6+4) = 216 + 160 = 376; element-wise (Keras LSTM, 12 per unit):
    # 12·6 + 12·4 = 120; activations 5·6 + 5·4 = 50.
    lines = {line.key: line.value for line in build(Config(input=3, hidden=(6, 4)), show_cost=True).cost}
    assert (lines["macs_per_step"], lines["elementwise_per_step"], lines["activations_per_step"]) == (376, 120, 50)


def test_fit_searches_the_open_layer() -> None:
    # 128,H on x=40, Dense(10): 4·(128·168+128) = 86,528 fixed; H=115 adds 4·(115·243+115) = 112,240 and 10·116 = 1,160,
    # 199,928 in all; H=116 adds 4·(116·244+116) = 113,680 and 1,170: 201,378, over.
    result = run("fit", "--params", "200000", "--input", "40", "--hidden", "128,H", "--out", "10", "--format", "json")
    data = json.loads(result.stdout)
    assert data["within"] == {"hidden": [128, 115], "total_params": 199_928, "difference": -72}
    assert data["over"] == {"hidden": [128, 116], "total_params": 201_378, "difference": 1_378}
    text = run("fit", "--params", "200000", "--input", "40", "--hidden", "128,H", "--out", "10").stdout
    assert "Best fit: --hidden 128,115" in text


@pytest.mark.parametrize(("value", "words"), [
    ("128,64", "--hidden must be sizes from 1 to 10,000,000 and H where fit searches"),
    ("128,Q", "got '128,Q'"),
])
def test_fit_refuses_patterns_without_a_search(value: str, words: str) -> None:
    result = run("fit", "--params", "1000", "--input", "4", "--hidden", value)
    assert result.returncode == 2 and words in result.stderr and len(result.stderr.splitlines()) == 1


def test_fit_with_one_open_layer_is_the_plain_search() -> None:
    from lstm_shapes.fit import fit

    pattern = fit(50_000, (None,), input=8)
    plain = fit(50_000, input=8)
    assert pattern.below is not None and plain.below is not None
    assert pattern.below.config == plain.below.config


def test_a_docs_marker_with_sizes_per_layer(tmp_path: object) -> None:
    from pathlib import Path

    doc = Path(str(tmp_path)) / "a.md"
    doc.write_text("<!-- lstm-shapes --input 4 --hidden 128,64 --out 1 -->\n<!-- /lstm-shapes -->\n")
    assert run("docs", "update", str(doc)).returncode == 0
    assert "68,096 + 49,408 + 65" in doc.read_text() and "| 117,569 |" in doc.read_text()
    assert run("docs", "check", str(doc)).returncode == 0
