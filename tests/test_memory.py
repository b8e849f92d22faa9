"""The training-memory figures of --cost against PyTorch: recorded from torch, measured live where it is installed.

tests/golden/memory_torch.json holds figures measured from torch by tests/record_memory.py (see
its docstring for what is measured); `python tests/record_memory.py` records them again.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from click.testing import CliRunner

from lstm_shapes import Config, build
from lstm_shapes.cli import main_command
from record_memory import GOLDEN, grid, measure

pytestmark = pytest.mark.filterwarnings("ignore:TF32 acceleration on top of oneDNN:UserWarning")

RECORDED = json.loads(GOLDEN.read_text())["cases"]
TOLERANCE = 0.05  # the issue's bar for the live comparison; the recorded figures match exactly


def cost(**options: Any) -> dict[str, Any]:
    return build(Config(**options)).to_dict()["cost"]  # type: ignore[no-any-return]


def case_id(case: dict[str, Any]) -> str:
    return "-".join(f"{k}={v}" for k, v in case.items() if k != "framework")


def test_the_recording_covers_the_grid() -> None:
    assert [row["config"] for row in RECORDED] == grid()
    cells = {(r["config"]["cell"], r["config"].get("layers", 1), r["config"].get("bidirectional", False)) for r in RECORDED}
    assert len(cells) == 3 * 3 * 2
    assert {r["config"].get("head_activation") for r in RECORDED} == {None, "softmax", "sigmoid", "none"}
    every = [r["config"] for r in RECORDED if r["config"].get("head_reads") == "every-step"]
    assert {(c["cell"], c.get("bidirectional"), c.get("batch_first", False)) for c in every} == {
        (cell, bi, bf) for cell in ("lstm", "gru", "rnn") for bi in (False, True) for bf in (False, True)}
    assert {c["head_activation"] for c in every} == {"softmax", "sigmoid", "none"}


@pytest.mark.parametrize("row", RECORDED, ids=[case_id(r["config"]) for r in RECORDED])
def test_recorded_torch_figures(row: dict[str, Any]) -> None:
    figures = cost(**row["config"])
    assert figures["activation_bytes"] == row["decomposed_bytes"]
    if "onednn_workspace_bytes" in row:
        assert figures["onednn_workspace_bytes"] == row["onednn_workspace_bytes"]
    else:
        assert "onednn_workspace_bytes" not in figures


@pytest.fixture(scope="module")
def torch_module() -> Any:
    torch = pytest.importorskip("torch", reason="torch is not installed: live memory measurement skipped")
    warnings.filterwarnings("ignore", "LSTM with projections is not supported with oneDNN")
    return torch


def test_live_torch_decomposed_path(torch_module: Any) -> None:
    worst = 0.0
    for case in grid():
        said, kept = cost(**case)["activation_bytes"], measure(case)["bytes"]
        worst = max(worst, abs(said - kept) / kept)
        assert abs(said - kept) <= TOLERANCE * kept, (case, said, kept)
    assert worst <= TOLERANCE


def test_live_torch_onednn_workspace(torch_module: Any) -> None:
    for case in grid():
        if case["cell"] == "lstm" and "proj" not in case:
            assert cost(**case)["onednn_workspace_bytes"] == measure(case, onednn=True)["workspace"], case


def test_the_issue_example_by_hand() -> None:
    # torch.nn.LSTM(4, 2), B = 32, T = 5. PyTorch's LSTMCell keeps per step the gates (4h, one
    # storage), tanh(c_t) (h), c_{t-1} and h_{t-1} (h each): 7h = 14; the input adds x = 4.
    figures = cost(input=4, hidden=2, framework="pytorch", batch=32, seq_len=5)
    assert figures["activation_bytes"] == 32 * 5 * (14 + 4) * 4 == 11_520
    # The issue measured 111,360 bytes with oneDNN: its workspace plus the input (T·B·x), the
    # output (T·B·h) and h_0, c_0, h_n, c_n (B·h each), all float32.
    rest = (5 * 32 * 4 + 5 * 32 * 2 + 4 * 32 * 2) * 4
    assert figures["onednn_workspace_bytes"] == 111_360 - rest


def test_heads_and_layers_by_hand() -> None:
    # GRU x=3, h=4, two layers, B=2, T=5, head of 6 on output[-1] with softmax. Per step and layer
    # 7h = 28 kept; layer 0 keeps x = 3, layer 1 the whole layer-0 output (h = 4), the head the
    # whole top output (h = 4); softmax keeps its 6 outputs once.
    figures = cost(input=3, hidden=4, cell="gru", framework="pytorch", layers=2, out=6, batch=2, seq_len=5)
    assert figures["activation_bytes"] == 2 * (5 * (2 * 28 + 3 + 4 + 4) + 6) * 4
    # RNN x=3, h=4, bidirectional, head of 1 on cat(h_n[-2], h_n[-1]), sigmoid: per direction h_0
    # and every h_t; the head keeps its 2h input copy and its output.
    figures = cost(input=3, hidden=4, cell="rnn", framework="pytorch", bidirectional=True, out=1,
                   head_reads="final-states", head_activation="sigmoid", batch=2, seq_len=5)
    assert figures["activation_bytes"] == 2 * (5 * 3 + 2 * 6 * 4 + 2 * 4 + 1) * 4


def test_onednn_line_only_where_torch_uses_onednn() -> None:
    assert "onednn_workspace_bytes" in cost(input=4, hidden=2, framework="pytorch")
    for options in (dict(cell="gru"), dict(cell="rnn"), dict(proj=1), dict(dtype="bfloat16")):
        assert "onednn_workspace_bytes" not in cost(input=4, hidden=2, framework="pytorch", **options)


def test_gru_elementwise_counts_what_each_framework_computes() -> None:
    # PyTorch's GRUCell: r and z sum their products (2h), n adds its input product to r ⊙ (recurrent
    # product) (2h), h_t = n + z ⊙ (h − n) (3h), and 2 biases per gate (6h): 13h.
    assert cost(input=4, hidden=2, cell="gru", framework="pytorch")["elementwise_per_step"] == 13 * 2
    # ONNX (two biases) writes h_t = (1 − z) ⊙ n + z ⊙ h: 4h, 14h in all.
    assert cost(input=4, hidden=2, cell="gru", framework="onnx")["elementwise_per_step"] == 14 * 2


def test_cost_says_what_it_counts() -> None:
    args = ["--input", "4", "--hidden", "2", "--cell", "gru", "--framework", "pytorch", "--seq-len", "5",
            "--batch", "3", "--cost", "--format", "text"]
    out = CliRunner().invoke(main_command, args).stdout
    assert "training memory autograd keeps" in out
    assert "decomposed CPU path, as unique storages" in out
    assert "PyTorch n + z⊙(h−n) (3h)" in out
    out = CliRunner().invoke(main_command, args[:4] + args[6:]).stdout  # an LSTM: oneDNN applies
    assert "oneDNN workspace" in out and "turned off in torch.backends.mkldnn" in out
