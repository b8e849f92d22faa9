"""The Python API: trace takes the command line's keywords; Report, Comparison and Fit share render, to_dict and a short repr."""

from __future__ import annotations

import json

import lstm_shapes
from lstm_shapes.compare import compare
from lstm_shapes.fit import fit


def test_trace_takes_explain_and_show_cost() -> None:
    report = lstm_shapes.trace(input=4, hidden=2, out=1, explain=True, show_cost=True)
    # x_t, h_prev, c_prev, hx_t, 4 gates, c_t, h_t, logits (one output: no softmax, so no probs).
    assert len(report.equations) == 11
    assert "Cost" in report.render("text")


def test_short_reprs_with_hand_counted_params() -> None:
    # Keras LSTM: 4·(2·(4+2)+2) = 56, head 1·(2+1) = 3; PyTorch (layer and cell) and ONNX keep a second bias per gate (+8).
    assert repr(lstm_shapes.trace(input=4, hidden=2, out=1)) == "<Report LSTM keras x=4 h=2 o=1: 59 params>"
    assert repr(compare(input=4, hidden=2, out=1)) == "<Comparison LSTM: keras 59, pytorch 67, pytorch-cell 67, tf1 59, onnx 67, paddle 67, mlx 59, tf-keras 59, tf-keras-cudnn 67, flax 59 params>"
    # 4·(439·(128+439)+439) = 997,408 fits a million; 440 gives 1,001,440, which does not.
    assert repr(fit(1_000_000, input=128)) == "<Fit LSTM keras x=128 budget 1,000,000: hidden 439 (997,408 params)>"


def test_comparison_and_fit_render_and_to_dict() -> None:
    cmp = compare(input=4, hidden=2, out=1)
    assert json.loads(cmp.render("json")) == cmp.to_dict()
    assert [f["total_params"] for f in cmp.to_dict()["frameworks"]] == [59, 67, 67, 59, 67, 67, 59, 59, 67, 59]
    assert cmp.render("markdown").startswith("LSTM, under each framework's convention")
    sized = fit(1_000_000, input=128)
    assert sized.to_dict() == {"budget": 1_000_000, "best_hidden": 439,
                               "within": {"hidden": 439, "total_params": 997_408, "difference": -2_592},
                               "over": {"hidden": 440, "total_params": 1_001_440, "difference": 1_440}}
    assert json.loads(sized.render("json")) == sized.to_dict()
    assert "Best fit: --hidden 439" in sized.render("text")
