"""Costs against hand-written formulas, equations against their own operand shapes, and sizing."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from click.testing import CliRunner

from lstm_shapes import Config, ConfigError, build
from lstm_shapes.cli import main_command
from lstm_shapes.subcommands import fit_command
from lstm_shapes.cost import DTYPE_BYTES
from lstm_shapes.fit import fit


def cost(**options: object) -> dict[str, object]:
    return build(Config(**options)).to_dict()["cost"]  # type: ignore[arg-type]


# MACs of one sequence, batch 1, written out by hand: G·h·(in + r) per layer and direction and
# step, h·p for a projection, D·r·o once for the head.
MACS = [
    (dict(framework="pytorch", seq_len=5), 5 * 4 * 2 * (4 + 2)),  # torch.nn.LSTM(4, 2), T = 5: 240
    (dict(framework="pytorch", seq_len=5, proj=1), 5 * (4 * 2 * (4 + 1) + 2 * 1)),  # proj_size=1: 210
    (dict(seq_len=5), 240),  # Keras counts the same products
    (dict(seq_len=5, cell="gru"), 5 * 3 * 2 * (4 + 2)),
    (dict(seq_len=5, cell="gru", framework="tf1"), 5 * 3 * 2 * (4 + 2)),
    (dict(seq_len=5, cell="rnn"), 5 * 2 * (4 + 2)),
    (dict(seq_len=5, layers=2), 5 * (4 * 2 * (4 + 2) + 4 * 2 * (2 + 2))),
    (dict(seq_len=5, bidirectional=True), 5 * 2 * 4 * 2 * (4 + 2)),
    (dict(seq_len=5, bidirectional=True, layers=2), 5 * 2 * (4 * 2 * (4 + 2) + 4 * 2 * (4 + 2))),
    (dict(seq_len=5, out=3), 240 + 2 * 3),
    (dict(seq_len=5, out=3, bidirectional=True), 480 + 4 * 3),
    (dict(seq_len=5, framework="tf1", peepholes=True), 240),  # peepholes are element-wise
    (dict(seq_len=7, framework="pytorch", proj=1, layers=2, bidirectional=True, out=2),
     7 * 2 * ((4 * 2 * (4 + 1) + 2) + (4 * 2 * (2 + 1) + 2)) + 2 * 1 * 2),
]


@pytest.mark.parametrize("options,expected", MACS, ids=[str(o) for o, _ in MACS])
def test_macs_per_sequence_by_hand(options: dict[str, object], expected: int) -> None:
    assert cost(input=4, hidden=2, **options)["macs_per_sequence"] == expected


def all_configs() -> list[Config]:
    found = []
    for fw, cell, layers, bi, extra in itertools.product(
        ("keras", "pytorch", "tf1", "onnx", "paddle", "flax"), ("lstm", "gru", "rnn"), (1, 3), (False, True),
        ({}, {"proj": 2}, {"peepholes": True}, {"bias": False}, {"reset_after": True}, {"out": 4}),
    ):
        try:
            found.append(Config(input=5, hidden=3, framework=fw, cell=cell, layers=layers, bidirectional=bi,
                                seq_len=6, batch=2, **extra))  # type: ignore[arg-type]
        except ConfigError:
            pass
    return found


@pytest.mark.parametrize("config", all_configs(), ids=str)
def test_macs_per_step_equal_the_matrix_blocks_the_step_multiplies(config: Config) -> None:
    # Independent of the cost formulas: every weight of a W, U or projection block is one MAC per step.
    report = build(config)
    per_step = 0
    for w in report.weights:
        for block in w.blocks:
            if block.kind in ("W", "U", "proj"):
                size = 1
                for item, dim in zip(block.at, w.shape):
                    size *= dim if item is None else (item[1] - item[0]) if isinstance(item, tuple) else 1
                per_step += size * (w.shape[0] if "d" in block.at else 1)
    data = report.to_dict()["cost"]
    assert data["macs_per_step"] == per_step
    head = 0 if config.out is None else config.out * config.directions * config.recurrent
    assert data["macs_per_sequence"] == 6 * per_step + head


def test_elementwise_and_activations_by_hand() -> None:
    # Keras LSTM, h = 2: products summed 4h, biases 4h, c_t 3h, m_t h; activations 3 σ + 2 tanh per unit.
    assert cost(input=4, hidden=2)["elementwise_per_step"] == (4 + 4 + 3 + 1) * 2
    assert cost(input=4, hidden=2)["activations_per_step"] == 5 * 2
    # PyTorch adds the second bias; TF1 peepholes add 3 products and 3 sums, and the forget bias.
    assert cost(input=4, hidden=2, framework="pytorch")["elementwise_per_step"] == (4 + 8 + 3 + 1) * 2
    assert cost(input=4, hidden=2, framework="tf1", peepholes=True)["elementwise_per_step"] == (4 + 4 + 3 + 1 + 6 + 1) * 2
    # GRU (Keras, reset_after, two biases): 2h sums for r, z; 2h for n; 4h for h_t; 3h·2 biases.
    assert cost(input=4, hidden=2, cell="gru")["elementwise_per_step"] == (2 + 2 + 4 + 6) * 2
    assert cost(input=4, hidden=2, cell="gru")["activations_per_step"] == 3 * 2
    # MLX's GRU: b on all three gates (3h) and bhn on the candidate's recurrent product (h).
    assert cost(input=4, hidden=2, cell="gru", framework="mlx")["elementwise_per_step"] == (2 + 2 + 4 + 3 + 1) * 2
    # Flax's GRUCell: b_ir, b_iz, and b_in outside r ⊙ (...) with b_hn inside it: 4h of biases.
    assert cost(input=4, hidden=2, cell="gru", framework="flax")["elementwise_per_step"] == (2 + 2 + 4 + 4) * 2
    assert cost(input=4, hidden=2, cell="rnn", layers=2, bidirectional=True)["activations_per_step"] == 2 * 2 * 2


@pytest.mark.parametrize("dtype", list(DTYPE_BYTES))
def test_parameter_memory_per_dtype(dtype: str) -> None:
    data = cost(input=4, hidden=2, out=1, dtype=dtype)
    assert data["parameter_bytes"] == 59 * {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}[dtype]
    assert data["dtype"] == dtype


def test_activation_memory_by_hand() -> None:
    # Keras LSTM x=4, h=2, o=1 (no activation), B=3, T=5, as PyTorch's LSTMCell keeps it: per step
    # the gates (4h), tanh(c_t), c_{t-1} and h_{t-1} (h each), the input (4); the head reads h_n[-1] (2).
    data = cost(input=4, hidden=2, out=1, batch=3, seq_len=5)
    assert data["activation_bytes"] == 3 * (5 * (7 * 2 + 4) + 2) * 4
    # With a projection, m_t (h) is kept too and h_{t-1} is p wide.
    data = cost(input=4, hidden=3, proj=2, framework="pytorch", batch=1, seq_len=2)
    assert data["activation_bytes"] == 1 * (2 * (7 * 3 + 2 + 4)) * 4


def test_per_sequence_figures_need_their_sizes() -> None:
    data = cost(input=4, hidden=2)
    assert isinstance(data["macs_per_step"], int) and data["macs_per_sequence"] is None
    assert data["activation_bytes"] is None
    assert data["formulas"]["macs_per_sequence"] == "T·4h·(x+h)"  # type: ignore[index]


def test_cost_table_on_the_command_line() -> None:
    out = CliRunner().invoke(main_command, ["--input", "4", "--hidden", "2", "--framework", "pytorch",
                                            "--seq-len", "5", "--cost"]).stdout
    assert re.search(r"^matrix-product MACs per sequence\s+T·4h·\(x\+h\) = 5·4·2·\(4\+2\)\s+240\s+MACs$", out, re.M)
    out = CliRunner().invoke(main_command, ["--input", "4", "--hidden", "2", "--cost"]).stdout
    assert re.search(r"^matrix-product MACs per sequence\s+T·4h·\(x\+h\)\s+needs --seq-len\s+MACs$", out, re.M)


# --- --explain ------------------------------------------------------------------------------------


def test_explain_gives_the_issue_example_in_keras_notation() -> None:
    eqs = {e.node: e for e in build(Config(input=4, hidden=2), explain=True).equations}
    assert eqs["f_t"].text == "f_t = σ(x_t·W_f + h_{t-1}·U_f + b_f)"
    assert eqs["f_t"].shapes == "(B,4)·(4,2) + (B,2)·(2,2) + (2,) → (B,2)"


def test_explain_uses_each_frameworks_names_and_layout() -> None:
    def eq(node: str, **options: object) -> str:
        report = build(Config(input=4, hidden=2, **options), explain=True)  # type: ignore[arg-type]
        (found,) = [f"{e.text} with {e.shapes}" for e in report.equations if e.node == node]
        return found

    assert eq("f_t", framework="pytorch") == (
        "f_t = σ(x_t·W_ifᵀ + h_{t-1}·W_hfᵀ + b_if + b_hf) with (B,4)·(2,4)ᵀ + (B,2)·(2,2)ᵀ + (2,) + (2,) → (B,2)"
    )
    assert eq("o_t", framework="onnx", peepholes=True) == (
        "o_t = σ(x_t·W_oᵀ + h_{t-1}·R_oᵀ + Wb_o + Rb_o + P_o ⊙ c_t) with "
        "(B,4)·(2,4)ᵀ + (B,2)·(2,2)ᵀ + (2,) + (2,) + (2,) ⊙ (B,2) → (B,2)"
    )
    assert eq("g_t", framework="tf1") == "g_t = tanh([x_t, h_{t-1}]·K_j + b_j) with (B,6)·(6,2) + (2,) → (B,2)"
    assert eq("h_t", framework="pytorch", proj=1) == "h_t = m_t·W_hrᵀ with (B,2)·(1,2)ᵀ → (B,1)"
    assert eq("n_t", framework="pytorch", cell="gru") == (
        "n_t = tanh(x_t·W_inᵀ + b_in + r_t ⊙ (h_{t-1}·W_hnᵀ + b_hn)) with "
        "(B,4)·(2,4)ᵀ + (2,) + (B,2) ⊙ ((B,2)·(2,2)ᵀ + (2,)) → (B,2)"
    )
    assert eq("n_t", cell="gru", reset_after=False) == (
        "n_t = tanh(x_t·W_h + b_h + (r_t ⊙ h_{t-1})·U_h) with (B,4)·(4,2) + (2,) + (B,2)·(2,2) → (B,2)"
    )


PRODUCT = re.compile(r"\((B|\d+),(\d+)\)·\((\d+),(\d+)\)(ᵀ?)")


def width_by_hand(config: Config, node_id: str) -> int:
    """A node's width from the sizes alone: gates, c_t and m_t are h wide, h_t is r (p with a projection)."""
    prefix, _, base = node_id.rpartition(".")
    directions, r = (2 if config.bidirectional else 1), config.proj or config.hidden
    reads = config.input if not prefix or prefix == "l0" else directions * r  # layer k > 0 reads D·r
    widths = {"x_t": reads, "h_prev": r, "hx_t": reads + r, "xh_t": reads + r, "h_t": r, "y_t": directions * r,
              "logits": config.out, "probs": config.out}
    return widths.get(base) or config.hidden


@pytest.mark.parametrize("config", all_configs(), ids=str)
def test_every_node_has_an_equation_whose_operands_fit(config: Config) -> None:
    report = build(config, explain=True)
    assert [e.node for e in report.equations] == [n.id for n in report.nodes]
    for eq in report.equations:
        operands, _, result = eq.shapes.rpartition(" → ")
        width = width_by_hand(config, eq.node)
        assert result == f"({config.batch},{width})", eq
        for _, inner, rows, cols, tee in PRODUCT.findall(operands):
            # (B, n)·(n, m), or (B, n)·(m, n)ᵀ for the frameworks that store (out, in); either gives m
            assert inner == (cols if tee else rows), eq
            assert int(rows if tee else cols) == width, eq
        if ", " in operands:  # a concatenation: the widths add up
            assert sum(int(w) for w in re.findall(r"\(\d+,(\d+)\)", operands)) == width, eq


def test_explain_on_the_command_line_in_every_table_format() -> None:
    for fmt in ("text", "markdown", "csv", "json"):
        result = CliRunner().invoke(main_command, ["--input", "4", "--hidden", "2", "--explain", "-f", fmt])
        assert result.exit_code == 0
        assert "h_{t-1}·U_f" in result.stdout, fmt
    data = json.loads(CliRunner().invoke(main_command, ["--input", "4", "--hidden", "2", "--explain", "-f", "json"]).stdout)
    assert data["equations"][4]["node"] == "i_t"


# --- fit -----------------------------------------------------------------------------------------


def keras_lstm(x: int, h: int) -> int:
    return 4 * (h * (x + h) + h)


def test_fit_finds_the_largest_hidden_size_within_the_budget() -> None:
    result = fit(1_000_000, input=128)
    assert result.below is not None and result.above is not None
    h = result.below.config.hidden
    assert result.above.config.hidden == h + 1
    assert keras_lstm(128, h) <= 1_000_000 < keras_lstm(128, h + 1)
    assert (h, result.below.total_params) == (439, keras_lstm(128, 439))


@pytest.mark.parametrize("options", [
    dict(framework="pytorch", layers=2, bidirectional=True), dict(cell="gru", out=10), dict(framework="tf1", proj=16),
    dict(framework="onnx", peepholes=True, cell="lstm"), dict(cell="rnn", bias=False), dict(framework="pytorch", proj=30),
])
def test_fit_brackets_the_budget_for_any_variant(options: dict[str, object]) -> None:
    result = fit(250_000, input=40, **options)
    assert result.below is not None and result.above is not None
    assert result.below.total_params <= 250_000 < result.above.total_params
    assert result.above.config.hidden == result.below.config.hidden + 1


def test_fit_when_nothing_fits_or_everything_fits() -> None:
    tiny = fit(10, input=128)
    assert tiny.below is None and tiny.above is not None and tiny.above.config.hidden == 1
    huge = fit(10**15, input=1)
    assert huge.above is None and huge.below is not None


def test_fit_on_the_command_line() -> None:
    result = CliRunner().invoke(fit_command, ["--params", "1000000", "--input", "128"])
    assert result.exit_code == 0
    assert re.search(r"^within\s+439\s+997,408\s+-2,592\s", result.stdout, re.M)
    assert re.search(r"^over\s+440\s+1,001,440\s+\+1,440\s", result.stdout, re.M)
    data = json.loads(CliRunner().invoke(fit_command, ["--params", "1000000", "--input", "128", "-f", "json"]).stdout)
    assert data["best_hidden"] == 439
    bad = CliRunner().invoke(fit_command, ["--params", "1000", "--input", "4", "--proj", "2"])
    assert bad.exit_code == 2 and "--proj is not available in Keras 3 / TF2" in bad.stderr
    bad = CliRunner().invoke(fit_command, ["--params", "1000", "--input", "4", "--framework", "all"])
    assert bad.exit_code == 2 and "one framework at a time" in bad.stderr
