"""The Python API: trace takes the command line's keywords; render takes a Report, Comparison or Fit; each has a short repr."""

from __future__ import annotations

import json

import pytest

import lstm_shapes
from lstm_shapes import render
from lstm_shapes.compare import compare
from lstm_shapes.fit import fit


def test_trace_takes_explain_and_show_cost() -> None:
    report = lstm_shapes.trace(input=4, hidden=2, out=1, explain=True, show_cost=True)
    # x_t, h_prev, c_prev, hx_t, 4 gates, c_t, h_t, logits (one output: no softmax, so no probs).
    assert len(report.equations) == 11
    assert "Cost" in render(report, "text")


def test_short_reprs_with_hand_counted_params() -> None:
    # Keras LSTM: 4·(2·(4+2)+2) = 56, head 1·(2+1) = 3; PyTorch (layer and cell) and ONNX keep a second bias per gate (+8);
    # Haiku's hk.LSTM one Linear over [x, h]: w (6, 8) and b (8,) = 56, hk.Linear(1) 3.
    assert repr(lstm_shapes.trace(input=4, hidden=2, out=1)) == "<Report LSTM keras x=4 h=2 o=1: 59 params>"
    assert repr(compare(input=4, hidden=2, out=1)) == "<Comparison LSTM: keras 59, pytorch 67, pytorch-cell 67, tf1 59, onnx 67, paddle 67, mlx 59, tf-keras 59, tf-keras-cudnn 67, flax 59, haiku 59 params>"
    # 4·(439·(128+439)+439) = 997,408 fits a million; 440 gives 1,001,440, which does not.
    assert repr(fit(1_000_000, input=128)) == "<Fit LSTM keras x=128 budget 1,000,000: hidden 439 (997,408 params)>"


def test_render_takes_comparisons_and_fits() -> None:
    cmp = compare(input=4, hidden=2, out=1)
    assert [f["total_params"] for f in json.loads(render(cmp, "json"))["frameworks"]] == [59, 67, 67, 59, 67, 67, 59, 59, 67, 59, 59]
    assert render(cmp, "markdown").startswith("LSTM, under each framework's convention")
    sized = fit(1_000_000, input=128)
    assert sized.to_dict() == {"budget": 1_000_000, "best_hidden": 439,
                               "within": {"hidden": 439, "total_params": 997_408, "difference": -2_592},
                               "over": {"hidden": 440, "total_params": 1_001_440, "difference": 1_440}}
    assert json.loads(render(sized, "json")) == sized.to_dict()
    assert "Best fit: --hidden 439" in render(sized, "text")


def test_render_stays_a_function_after_every_renderer_module_is_imported() -> None:
    # Importing a submodule of lstm_shapes.render must not rebind lstm_shapes.render to the package.
    import lstm_shapes.render.comparison
    import lstm_shapes.render.latex
    import lstm_shapes.render.pictures  # noqa: F401

    assert lstm_shapes.render(lstm_shapes.trace(input=4, hidden=2), "latex").startswith("% A LaTeX fragment")


def test_a_comparison_has_no_picture() -> None:
    with pytest.raises(ValueError, match="draws one report's graph"):
        render(compare(input=4, hidden=2), "mermaid")
