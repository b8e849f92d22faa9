"""--merge-mode beyond the parameter counts: y_t, explain, costs, fit, --framework all and the command line.

Expected values are hand calculations for x3 h31, 2 bidirectional LSTM layers, Dense(1) (the issue's example,
whose 24,336 parameters with sum Keras itself gives).
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from lstm_shapes import Config, build
from lstm_shapes.cli import main_command
from lstm_shapes.cost import elementwise_per_step, head_macs, macs_per_step
from lstm_shapes.explain import equations
from lstm_shapes.fit import fit

EXAMPLE = dict(input=3, hidden=31, layers=2, bidirectional=True, out=1)


def config(mode: str, **kwargs: object) -> Config:
    return Config(**{**EXAMPLE, "merge_mode": mode, **kwargs})  # type: ignore[arg-type]


@pytest.mark.parametrize("mode, op, width", [
    ("sum", "h_t forward + h_t backward", 31),
    ("mul", "h_t forward ⊙ h_t backward", 31),
    ("ave", "(h_t forward + h_t backward) / 2", 31),
    ("concat", "concat(h_t forward, h_t backward)", 62),
])
def test_y_t_has_the_merge_op_and_width_and_the_next_layer_reads_it(mode: str, op: str, width: int) -> None:
    nodes = {node.id: node for node in build(config(mode)).nodes}
    assert nodes["l0.y_t"].op == op and nodes["l0.y_t"].shape[-1] == width
    assert nodes["l1.x_t"].shape[-1] == width
    assert nodes["l1.hx_t"].shape[-1] == width + 31  # [h_prev, x_t]


def test_none_has_no_merged_node_and_returns_one_tensor_per_direction() -> None:
    report = build(Config(input=3, hidden=5, bidirectional=True, merge_mode="none"))
    assert "y_t" not in {node.id for node in report.nodes}
    shapes = {s.name: s.shape for s in report.sequence}
    assert shapes["forward_output"] == shapes["backward_output"] == ("B", 5)
    assert shapes["forward_sequences"] == shapes["backward_sequences"] == ("B", "T", 5)
    assert "output" not in shapes


@pytest.mark.parametrize("mode, text, join", [
    ("sum", "y_t = h_t (forward) + h_t (backward)", " + "),
    ("mul", "y_t = h_t (forward) ⊙ h_t (backward)", " ⊙ "),
    ("ave", "y_t = (h_t (forward) + h_t (backward)) / 2", " + "),
])
def test_explain_writes_y_t_as_the_merge(mode: str, text: str, join: str) -> None:
    (eq,) = [e for e in equations(build(config(mode), explain=True)) if e.node == "l0.y_t"]
    assert eq.text == text
    assert eq.shapes == f"(B,31){join}(B,31) → (B,31)"


@pytest.mark.parametrize("mode, merge_ops", [("concat", 0), ("sum", 2 * 31), ("mul", 2 * 31), ("ave", 2 * 2 * 31)])
def test_costs_read_r_wide_outputs_and_count_the_merge(mode: str, merge_ops: int) -> None:
    cfg = config(mode)
    width = 62 if mode == "concat" else 31
    env = cfg.symbols
    # Layer 0: 2 directions · 4 gates · h·(x+h); layer 1 reads `width`: 2·4·h·(width+h).
    assert macs_per_step(cfg).evaluate(env) == 2 * 4 * 31 * (3 + 31) + 2 * 4 * 31 * (width + 31)
    assert head_macs(cfg).evaluate(env) == width * 1
    # The merge adds one op per element of r per layer (sum, mul) or two (ave: add, then halve).
    plain = elementwise_per_step(config("concat")).evaluate(env)
    assert elementwise_per_step(cfg).evaluate(env) - plain == merge_ops


def test_fit_finds_the_issue_example_from_keras_count() -> None:
    result = fit(24_336, input=3, layers=2, bidirectional=True, out=1, merge_mode="sum")
    assert result.below is not None and result.below.config.hidden == 31


def test_framework_all_counts_keras_family_and_says_why_others_lack_it() -> None:
    result = CliRunner().invoke(main_command, ["--input", "3", "--hidden", "31", "--layers", "2", "--bidirectional",
                                               "--out", "1", "--merge-mode", "sum", "--framework", "all"])
    assert result.exit_code == 0, result.output
    rows = {line.split("  ")[0]: line for line in result.stdout.splitlines()}
    assert "24,336" in rows["Keras 3 / TF2"] and "24,336" in rows["tf.keras 2"]
    assert "not available" in rows["PyTorch"]
    assert "PyTorch: --merge-mode is not available in PyTorch" in result.stdout


@pytest.mark.parametrize("args, words", [
    (["--merge-mode", "sum"], "add one with --bidirectional"),
    (["--bidirectional", "--merge-mode", "sum", "--framework", "onnx"], "is not available in ONNX"),
    (["--bidirectional", "--merge-mode", "none", "--layers", "2"], "stacked Bidirectional layer cannot read"),
    (["--bidirectional", "--merge-mode", "none", "--out", "2"], "a Dense head cannot read"),
])
def test_cli_refuses_in_one_line_with_exit_2(args: list[str], words: str) -> None:
    result = CliRunner().invoke(main_command, ["--input", "3", "--hidden", "4", *args], prog_name="lstm-shapes")
    assert result.exit_code == 2
    assert result.stderr.startswith("lstm-shapes: error: --merge-mode") and words in result.stderr
    assert result.stderr.count("\n") == 1


def test_the_title_says_how_the_directions_merge_and_concat_stays_as_it_was() -> None:
    def title(*args: str) -> str:
        result = CliRunner().invoke(main_command, ["--input", "3", "--hidden", "4", "--bidirectional", *args])
        return result.stdout.splitlines()[1]

    assert title("--merge-mode", "ave").endswith("; bidirectional (directions averaged)")
    assert title().endswith("; bidirectional")
