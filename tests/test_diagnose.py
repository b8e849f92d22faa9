"""`diagnose`: real error messages (recorded by tests/record/errors.py) explained, with sizes worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from lstm_shapes.diagnose import Finding, Unrecognised, diagnose
from lstm_shapes.diagnose_command import diagnose_command

ERRORS = Path(__file__).parent / "files" / "errors"


def recorded(name: str) -> str:
    return (ERRORS / f"{name}.txt").read_text(encoding="utf-8")


def one(text: str) -> Finding:
    results = diagnose(text)
    assert len(results) == 1 and isinstance(results[0], Finding), results
    return results[0]


def differs(finding: Finding) -> dict[str, tuple[object, ...]]:
    return {d.setting: tuple(value for _, value in d.values) for d in finding.differences}


# --- load_state_dict: each side's sizes from the shapes, G·h over the gates (LSTM 4, GRU 3, RNN 1) --------

def test_the_issues_hidden_size_mismatch() -> None:
    # weight_ih_l0 (4h, x): 1024 = 4·256 in the checkpoint, 512 = 4·128 in the model; weight_hh (4h, h) pins the LSTM.
    finding = one(recorded("torch_lstm_hidden"))
    assert differs(finding) == {"hidden": (256, 128)}
    assert "nn.LSTM(40, 256)" in finding.fix[0]
    assert "lstm-shapes --framework pytorch --input 40 --hidden 256" in finding.fix[0]


def test_an_lstm_checkpoint_in_a_gru_model() -> None:
    # 1024 = 4·256 with weight_hh (1024, 256): an LSTM; 768 = 3·256 with (768, 256): a GRU of the same width.
    finding = one(recorded("torch_lstm_into_gru"))
    assert differs(finding) == {"cell": ("nn.LSTM", "nn.GRU")}


def test_a_block_of_missing_layers_and_directions_and_sizes() -> None:
    # 768 = 3·256 and (768, 256): a GRU of 256 saved; 384 = 3·128: a GRU of 128 with l1 and _reverse tensors built.
    finding = one(recorded("torch_many"))
    assert differs(finding) == {"hidden": (256, 128), "layers": (1, 2), "bidirectional": (False, True)}
    assert "nn.GRU(40, 256)" in finding.fix[0]


def test_an_rnn_with_another_width_and_a_layer_more() -> None:
    # (48, 48) is (h, h): an RNN of 48; (32, 32) one of 32, and the model's l1 is missing from the checkpoint.
    finding = one(recorded("torch_rnn_hidden_layers"))
    assert differs(finding) == {"hidden": (48, 32), "layers": (1, 2)}


def test_a_missing_projection() -> None:
    # weight_hh (4h, r): (256, 64) is h = r = 64 without a projection; (256, 32) with weight_hr is p = 32.
    finding = one(recorded("torch_missing_proj"))
    assert differs(finding) == {"proj": (None, 32)}


def test_another_projection_size() -> None:
    # weight_hr (p, h): (16, 64) and (32, 64).
    assert differs(one(recorded("torch_proj_size"))) == {"proj": (16, 32)}


def test_reverse_keys_missing_and_unexpected() -> None:
    assert differs(one(recorded("torch_missing_reverse"))) == {"bidirectional": (False, True)}
    assert differs(one(recorded("torch_unexpected_reverse"))) == {"bidirectional": (True, False)}


def test_missing_biases() -> None:
    assert differs(one(recorded("torch_no_bias"))) == {"bias": (False, True)}


def test_a_checkpoint_saved_from_data_parallel() -> None:
    finding = one(recorded("torch_module_prefix"))
    assert finding.differences == ()
    assert "removeprefix('module.')" in finding.fix[0]


def test_another_input_size_whatever_the_cell() -> None:
    # (192, 13) vs (192, 40): x differs; 192 is 4·48, 3·64 or 192, so the cell stays open and only x is said.
    finding = one(recorded("torch_gru_input"))
    assert differs(finding) == {"input": (13, 40)}
    assert any("nn.GRU(40, 64)" in said for said in finding.meaning)


def test_a_bare_size_mismatch_line_as_the_issue_quotes_it() -> None:
    text = ("size mismatch for encoder.rnn.weight_ih_l0: copying a param with shape torch.Size([1024, 40]) from "
            "checkpoint, the shape in current model is torch.Size([512, 40])")
    assert differs(one(text)) == {"hidden": (256, 128)}


# --- forward calls ---------------------------------------------------------------------------------------

def test_input_size() -> None:
    finding = one(recorded("torch_input_size"))  # nn.LSTM(768, 64) fed 1024 features
    assert differs(finding) == {"input": (768, 1024)}
    assert "input_size=1024" in finding.fix[0]


def test_hidden_batch_in_both_wordings() -> None:
    for text in (recorded("torch_hidden_batch"), "Expected hidden[0] size (1, 128, 302), got (1, 40, 302)"):
        finding = one(text)
        assert differs(finding) == {"batch": (128, 40)}
        assert "batch_first" in finding.fix[0]


def test_hidden_layers_directions_and_width() -> None:
    assert differs(one(recorded("torch_hidden_layers"))) == {"layers": (2, 1)}
    finding = one(recorded("torch_hidden_bidirectional"))  # RNN(num_layers=3, bidirectional=True): 6 = 3·2
    assert differs(finding) == {"layers": (6, 3)}
    assert "num_layers=3 and bidirectional=True" in finding.meaning[1]
    assert differs(one(recorded("torch_hidden_proj"))) == {"hidden": (100, 302)}
    assert "c_0" in one(recorded("torch_cell_batch")).meaning[0]


def test_unbatched_input_and_four_axes() -> None:
    assert "h_0 and c_0" in one(recorded("torch_unbatched_hidden")).meaning[0]
    assert "unsqueeze" in one(recorded("torch_gru_unbatched_hidden")).fix[0]
    assert differs(one(recorded("torch_input_4d"))) == {"input": ("2 or 3", 4)}


# --- Keras ---------------------------------------------------------------------------------------------

def test_keras_ndim_in_keras_3_and_tf_keras_2() -> None:
    for name in ("keras3_lstm_ndim2", "tf_keras_lstm_ndim2", "keras3_gru_ndim2", "tf_keras_bidirectional_ndim2"):
        finding = one(recorded(name))
        assert differs(finding) == {"ndim": (3, 2)}
        assert "keras.Input((20, 1))" in finding.fix[0]
    assert "keras.layers.GRU" in one(recorded("keras3_gru_ndim2")).meaning[0]
    assert "return_sequences=True" in one(recorded("keras3_stacked_ndim2")).fix[0]


def test_keras_four_axes_fold_into_features() -> None:
    finding = one(recorded("keras3_lstm_ndim4"))  # (None, 5, 20, 3): 20·3 = 60 features per step
    assert "Reshape((5, 60))" in finding.fix[0]


def test_keras_features_differ() -> None:
    finding = one(recorded("tf_keras_call_features"))  # built for (None, 5, 20), given (2, 5, 30)
    assert differs(finding) == {"input": (20, 30)}
    finding = one(recorded("keras3_call_features"))  # kernel (20, 256) = (x, 4·64); the data has 30
    assert differs(finding) == {"input": (20, 30)}
    assert "4 × 64" in finding.meaning[1]


def test_keras_weights_of_another_size() -> None:
    # kernel (x, 4h): the file's (20, 256) is h = 64, the model's (20, 512) h = 128.
    assert differs(one(recorded("keras3_load_weights"))) == {"hidden": (64, 128)}
    assert differs(one(recorded("keras3_set_weights"))) == {"input": (20, 30)}


# --- several at once, and what is not recognised ---------------------------------------------------------

def test_several_errors_in_order_with_a_traceback_and_a_stray_line() -> None:
    text = ("Traceback (most recent call last):\n  File \"train.py\", line 3, in <module>\n    model(x)\n"
            "RuntimeError: " + recorded("torch_input_size") + "\n\nepoch 3 done\n\n"
            + recorded("keras3_gru_ndim2") + "\n" + recorded("torch_no_bias"))
    results = diagnose(text)
    assert [type(r).__name__ for r in results] == ["Finding", "Unrecognised", "Finding", "Finding"]
    assert isinstance(results[1], Unrecognised) and results[1].message == "epoch 3 done"
    assert [r.source for r in results if isinstance(r, Finding)] == ["PyTorch", "Keras 3", "PyTorch"]


def test_the_command_text_json_and_exit_codes() -> None:
    runner = CliRunner()
    result = runner.invoke(diagnose_command, [recorded("torch_input_size")])
    assert result.exit_code == 0 and "differs: input_size: layer 768, input 1024" in result.output
    result = runner.invoke(diagnose_command, ["-f", "json"], input=recorded("torch_many") + "\n\nnoise\n")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert [d["recognised"] for d in data] == [True, False]
    assert {"setting": "layers", "name": "num_layers", "values": {"checkpoint": 1, "model": 2}} in data[0]["differences"]
    result = runner.invoke(diagnose_command, ["nothing to see"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == ["lstm-shapes: error: not recognised: 'nothing to see'"]


def test_keras_ndim_quoted_alone_as_the_issue_quotes_it() -> None:
    # "expected ndim=3, found ndim=2", without the layer or the shape: a recurrent layer reads three axes
    # (batch, timesteps, features) and was given two.
    (finding,) = diagnose("expected ndim=3, found ndim=2")
    assert isinstance(finding, Finding)
    assert [d.values for d in finding.differences] == [(("expected", 3), ("found", 2))]
    assert any("return_sequences=True" in fix for fix in finding.fix)
