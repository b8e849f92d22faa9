"""Every framework, cell and variant: counts by hand, refusals, the side-by-side view, --verify.

The real PyTorch, Keras and ONNX are checked in test_torch.py, test_keras.py and test_onnx.py; the
real TF1 cells and tf.keras 2 in test_tf1.py and test_tf_keras.py, and without TensorFlow against
their recorded values in test_recorded_tf.py.
"""

from __future__ import annotations

import itertools
import json
import re

import pytest
from click.testing import CliRunner

from lstm_shapes import Config, ConfigError, build
from lstm_shapes.cli import main_command
from lstm_shapes.compare import compare


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main_command, list(args), prog_name="lstm-shapes")


def total(**options: object) -> int:
    return build(Config(**options)).total_params  # type: ignore[arg-type]


# One nn.Module holding rnn = nn.LSTM(4, 2) and head = nn.Linear(2, 1), in named_parameters() order:
# weight_ih (4h, x), weight_hh (4h, h), two biases of 4h; the Linear as (o, h) and (o,).
PYTORCH_EXAMPLE = [
    ("rnn.weight_ih_l0", "(8, 4)", 32), ("rnn.weight_hh_l0", "(8, 2)", 16), ("rnn.bias_ih_l0", "(8,)", 8),
    ("rnn.bias_hh_l0", "(8,)", 8), ("head.weight", "(1, 2)", 2), ("head.bias", "(1,)", 1),
]


def test_pytorch_example_is_64_plus_3() -> None:
    result = run("--framework", "pytorch", "--input", "4", "--hidden", "2", "--out", "1")
    assert result.exit_code == 0
    weights = result.stdout.split("\nWeights\n", 1)[1].split("\n\n", 1)[0]
    # Exactly these rows, in this order: no tensor missing, none extra, none out of place.
    rows = re.findall(r"^(\S+)\s+(\([\d, ]+\))\s+(\d+)\s", weights, re.M)
    assert rows == [(name, shape, str(params)) for name, shape, params in PYTORCH_EXAMPLE]
    lstm = sum(params for name, _, params in PYTORCH_EXAMPLE if not name.startswith("head."))
    head = sum(params for name, _, params in PYTORCH_EXAMPLE if name.startswith("head."))
    assert re.search(rf"^total\s+{lstm} \+ {head}\s+{lstm + head}$", result.stdout, re.M)


@pytest.mark.parametrize(
    "options,expected",
    [
        # TF1 LSTMCell: kernel (x + r, 4h) over [x, m_prev], bias (4h,), w_*_diag (h,), projection (h, p).
        (dict(framework="tf1"), (4 + 2) * 8 + 8),
        (dict(framework="tf1", peepholes=True), (4 + 2) * 8 + 8 + 3 * 2),
        (dict(framework="tf1", proj=1), (4 + 1) * 8 + 8 + 2 * 1),
        # GRUCell: gates (x+h, 2h) + (2h,), candidate (x+h, h) + (h,); BasicRNNCell (x+h, h) + (h,).
        (dict(framework="tf1", cell="gru"), 6 * 4 + 4 + 6 * 2 + 2),
        (dict(framework="tf1", cell="rnn"), 6 * 2 + 2),
        # ONNX: W [1, 4h, x], R [1, 4h, h], B [1, 8h], P [1, 3h].
        (dict(framework="onnx"), 8 * 4 + 8 * 2 + 16),
        (dict(framework="onnx", peepholes=True), 8 * 4 + 8 * 2 + 16 + 6),
        (dict(framework="onnx", cell="gru"), 6 * 4 + 6 * 2 + 12),
        (dict(framework="onnx", cell="rnn", bidirectional=True), 2 * (2 * 4 + 2 * 2 + 4)),
        # Keras GRU: bias (2, 3h) with reset_after (the default), (3h,) without.
        (dict(cell="gru"), 4 * 6 + 2 * 6 + 2 * 6),
        (dict(cell="gru", reset_after=False), 4 * 6 + 2 * 6 + 6),
        (dict(cell="rnn"), 4 * 2 + 2 * 2 + 2),
        (dict(bidirectional=True), 2 * 56),
        (dict(bias=False), 4 * 8 + 2 * 8),
        # tf.keras 2, as tf_keras 2.21's count_params() gives them; CuDNNLSTM's bias is 8h, CuDNNGRU's 6h.
        (dict(framework="tf-keras", cell="gru", reset_after=False), 4 * 6 + 2 * 6 + 6),
        (dict(framework="tf-keras-cudnn"), 4 * 8 + 2 * 8 + 16),
        (dict(framework="tf-keras-cudnn", cell="gru"), 4 * 6 + 2 * 6 + 12),
    ],
)
def test_counts_by_hand(options: dict[str, object], expected: int) -> None:
    assert total(input=4, hidden=2, **options) == expected


def test_layer_k_reads_the_previous_layers_output() -> None:
    report = build(Config(input=4, hidden=3, proj=2, layers=3, bidirectional=True, framework="pytorch"))
    widths = {w.name: w.shape for w in report.weights}
    assert widths["weight_ih_l0"] == (12, 4)
    assert widths["weight_ih_l1"] == widths["weight_ih_l2_reverse"] == (12, 2 * 2)  # D·r
    assert report.node("l1.x_t").shape == ("B", 4)
    seq = {t.name: t.shape for t in report.sequence}
    assert seq["h_n"] == (6, "B", 2) and seq["c_n"] == (6, "B", 3) and seq["output"] == ("T", "B", 4)


def test_projection_makes_h_narrower_than_c() -> None:
    report = build(Config(input=4, hidden=3, proj=2, framework="pytorch"))
    assert report.node("c_t").shape == ("B", 3)
    assert report.node("m_t").shape == ("B", 3)
    assert report.node("h_t").shape == report.node("h_prev").shape == ("B", 2)


def test_slices_say_which_block_is_which_gate() -> None:
    keras = {w.name: w for w in build(Config(input=4, hidden=2)).weights}
    assert "W_f [:, 2:4]" in keras["lstm/lstm_cell/kernel"].slices()  # the forget gate, second of i, f, c, o
    onnx = {w.name: w for w in build(Config(input=4, hidden=2, framework="onnx", peepholes=True)).weights}
    assert onnx["W"].slices().split(" · ")[1] == "W_o [d, 2:4, :]"  # ONNX packs i, o, f, c
    assert onnx["P"].slices() == "P_i [d, 0:2] · P_o [d, 2:4] · P_f [d, 4:6]"
    tf1 = {w.name: w for w in build(Config(input=4, hidden=2, framework="tf1")).weights}
    assert tf1["rnn/lstm_cell/kernel"].slices().split(" · ")[1] == "W_j [0:4, 2:4]"  # rows 0:4 read x_t


UNSUPPORTED = [
    (["--proj", "1"], "--proj is not available in Keras 3 / TF2; PyTorch, TF1 and Paddle have a projection"),
    (["--proj", "2", "--framework", "pytorch"], "--proj must be smaller than --hidden (2) in PyTorch, got 2"),
    (["--proj", "1", "--framework", "onnx"], "--proj is not available in ONNX; PyTorch, TF1 and Paddle have a projection"),
    (["--proj", "1", "--cell", "gru", "--framework", "pytorch"], "--proj is for LSTM cells only"),
    (["--peepholes"], "--peepholes are not available in Keras 3 / TF2; TF1 and ONNX have them"),
    (["--peepholes", "--framework", "pytorch"], "--peepholes are not available in PyTorch; TF1 and ONNX have them"),
    (["--peepholes", "--cell", "rnn", "--framework", "onnx"], "--peepholes are for LSTM cells only"),
    (["--no-bias", "--framework", "tf1"], "--no-bias is not available in TF1"),
    (["--no-reset-after", "--cell", "gru", "--framework", "pytorch"], "--no-reset-after is not available in PyTorch"),
    (["--reset-after", "--cell", "gru", "--framework", "tf1"], "--reset-after is not available in TF1"),
    (["--reset-after"], "--reset-after is for GRU cells only"),
    (["--time-major"], "--time-major is not available in Keras 3 / TF2"),
    (["--framework", "pytorch-cell", "--layers", "2"],
     "--layers is not available in PyTorch cell, which is one layer; Keras 3 / TF2, PyTorch, TF1, ONNX"),
    (["--framework", "pytorch-cell", "--bidirectional"], "--bidirectional is not available in PyTorch cell, which runs forward only"),
    (["--framework", "pytorch-cell", "--seq-len", "3"], "--seq-len is not available in PyTorch cell, which takes one time step per call"),
    (["--framework", "pytorch-cell", "--proj", "1"], "--proj is not available in PyTorch cell; PyTorch, TF1 and Paddle have a projection"),
    (["--framework", "pytorch-cell", "--time-major"], "--time-major is not available in PyTorch cell"),
    (["--time-major", "--framework", "mlx"], "--time-major is not available in MLX, which takes batch-first input only"),
    (["--bidirectional", "--framework", "mlx"],
     "--bidirectional is not available in MLX, which runs forward only; Keras 3 / TF2, PyTorch, TF1, ONNX, Paddle"),
    (["--no-reset-after", "--cell", "gru", "--framework", "mlx"], "--no-reset-after is not available in MLX"),
    (["--layers", "0"], "--layers must be a whole number from 1 to 1,000, got 0"),
    (["--batch", "0"], "--batch must be a whole number from 1 to 10,000,000, got 0"),
    (["--seq-len", "x"], "--seq-len must be a whole number from 1 to 10,000,000, got 'x'"),
    (["--cell", "lstmp"], "'lstmp' is not one of 'lstm', 'gru', 'rnn'"),
    (["--framework", "caffe"], "'caffe' is not one of 'keras', 'pytorch', 'pytorch-cell', 'tf1', 'onnx', 'paddle', 'mlx', 'tf-keras', 'tf-keras-cudnn', 'flax', 'haiku', 'all'"),
    (["--framework", "all", "--proj", "1", "--cell", "gru"], "--proj is for LSTM cells only"),
    (["--framework", "all", "--verify"], "--verify checks one framework at a time"),
    # tf_keras has CuDNNLSTM and CuDNNGRU only, and cuDNN's GRU resets after the product, with both biases.
    (["--cell", "rnn", "--framework", "tf-keras-cudnn"], "--cell rnn is not available in tf.keras 2 CuDNN, which has "
     "LSTM and GRU cells only; Keras 3 / TF2, PyTorch"),
    (["--no-reset-after", "--cell", "gru", "--framework", "tf-keras-cudnn"], "--no-reset-after is not available in tf.keras 2 CuDNN"),
    (["--no-bias", "--framework", "tf-keras-cudnn"], "--no-bias is not available in tf.keras 2 CuDNN"),
]


@pytest.mark.parametrize("args,message", UNSUPPORTED, ids=[" ".join(a) for a, _ in UNSUPPORTED])
def test_unsupported_combinations_exit_2_naming_who_has_them(args: list[str], message: str) -> None:
    result = run("--input", "4", "--hidden", "2", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("lstm-shapes: error: ") and message in line


def test_python_api_refuses_the_same_combinations() -> None:
    with pytest.raises(ConfigError, match="proj is not available in Keras 3 / TF2"):
        Config(input=4, hidden=2, proj=1)


def test_side_by_side_gives_each_count_and_the_reason_for_each_difference() -> None:
    out = run("--input", "4", "--hidden", "2", "--out", "1", "--framework", "all").stdout
    assert re.search(r"^Keras 3 / TF2\s+59\s+0\s+i, f, c, o\s", out, re.M)
    assert re.search(r"^PyTorch\s+67\s+\+8\s+i, f, g, o\s", out, re.M)
    assert re.search(r"^TF1\s+59\s+0\s+i, j, f, o\s", out, re.M)
    assert re.search(r"^ONNX\s+67\s+\+8\s+i, o, f, c\s", out, re.M)
    assert "+8: PyTorch keeps two biases per gate (bias_ih and bias_hh)" in out


def test_side_by_side_explains_missing_frameworks_and_uses_the_first_as_baseline() -> None:
    data = json.loads(run("--input", "4", "--hidden", "2", "--proj", "1", "--framework", "all", "-f", "json").stdout)
    assert data["baseline"] == "pytorch"
    by = {f["framework"]: f for f in data["frameworks"]}
    assert not by["keras"]["available"] and "PyTorch, TF1 and Paddle have a projection" in by["keras"]["error"]
    assert by["pytorch"]["total_params"] == 4 * (2 * (4 + 1) + 2 * 2) + 1 * 2 == 58
    assert by["tf1"]["total_params"] == 4 * (2 * (4 + 1) + 2) + 2 * 1 == 50
    assert by["tf1"]["difference"] == -8 and by["tf1"]["reasons"] == [
        "-8: TF1 keeps one bias per gate; PyTorch keeps two biases per gate"
    ]


def test_side_by_side_differences_add_up() -> None:
    for cell, peep in (("lstm", True), ("gru", False), ("rnn", False)):
        cmp = compare(input=5, hidden=3, out=2, cell=cell, peepholes=peep, layers=2)
        for entry in cmp.entries:
            if entry.report is None:
                continue
            said = sum(int(reason.split(":")[0].replace(",", "")) for reason in entry.reasons)
            assert said == entry.difference, (cell, entry.framework)


def all_configs() -> list[Config]:
    found = []
    for fw, cell, layers, bi, extra in itertools.product(
        ("keras", "pytorch", "tf1", "onnx", "paddle"), ("lstm", "gru", "rnn"), (1, 2), (False, True),
        ({}, {"proj": 2}, {"peepholes": True}, {"bias": False}, {"reset_after": True}, {"reset_after": False},
         {"batch_first": True}, {"batch_first": False}, {"peepholes": True, "proj": 1}),
    ):
        try:
            found.append(Config(input=4, hidden=3, out=2, framework=fw, cell=cell, layers=layers, bidirectional=bi, **extra))  # type: ignore[arg-type]
        except ConfigError:
            pass
    return found


@pytest.mark.parametrize("config", all_configs(), ids=str)
def test_verify_passes_for_every_variant(config: Config) -> None:
    from lstm_shapes.verify import verify

    report = build(config)
    result = verify(report, batch=2, steps=3)
    assert result.mismatches == ()
    assert report.total_params == sum(p.params for p in report.parts)


def test_verify_from_the_command_line_for_a_variant() -> None:
    result = run("--input", "4", "--hidden", "3", "--framework", "tf1", "--peepholes", "--proj", "2", "--layers", "2",
                 "--bidirectional", "--out", "3", "--batch", "4", "--seq-len", "6", "--verify")
    assert result.exit_code == 0
    assert "returns state_bw[1].h (4, 2): (4, 2)" in result.stderr
    assert result.stderr.rstrip().endswith(" 0 mismatches")


# --- --verify's own checks fail on a broken report ---------------------------------------------


def failed(stderr: str) -> list[str]:
    return [line.split("FAIL  ", 1)[1] for line in stderr.splitlines() if "FAIL  " in line]


def test_verify_exits_1_when_every_gate_reads_the_same_block(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every gate's slice set to columns 0:h: the shapes still fit and the forward pass runs, but the
    # first h columns of each tensor are read four times and the other 3h never.
    monkeypatch.setattr("lstm_shapes.frameworks.base._cols", lambda j, h: (0, h))
    result = run("--input", "4", "--hidden", "2", "--verify")
    assert result.exit_code == 1
    assert failed(result.stderr) == [
        "blocks of lstm/lstm_cell/kernel cover it: 32 values, each in one block, got 24 in no block, 8 in several",
        "blocks of lstm/lstm_cell/recurrent_kernel cover it: 16 values, each in one block, got 12 in no block, 4 in several",
        "blocks of lstm/lstm_cell/bias cover it: 8 values, each in one block, got 6 in no block, 2 in several",
    ]


def test_verify_names_a_gate_block_of_the_wrong_shape() -> None:
    from dataclasses import replace

    from lstm_shapes.verify import verify

    good = build(Config(input=4, hidden=2, framework="pytorch"))

    def broken(change) -> list[str]:  # type: ignore[no-untyped-def]
        weights = tuple(w._replace(blocks=tuple(change(b) for b in w.blocks)) if w.name == "weight_ih_l0" else w
                        for w in good.weights)
        result = verify(replace(good, weights=weights))
        return [f"{c.what}: {c.expected}, got {c.actual}" for c in result.mismatches]

    # W_f's rows 2:4 widened to 2:5: its block is (3, 4) where the gate needs (h, x) = (2, 4), and row 4 is W_g's too.
    wide = broken(lambda b: b._replace(at=((2, 5), None)) if b.gate == "f_t" else b)
    assert wide[:2] == [
        "weight weight_ih_l0: W_i, W_f, W_g, W_o (2, 4), got W_i (2, 4); W_f (3, 4); W_g, W_o (2, 4)",
        "blocks of weight_ih_l0 cover it: 32 values, each in one block, got 0 in no block, 4 in several",
    ]
    # The transpose dropped: the blocks would be read as (2, 4) where x_t·W needs (x, h) = (4, 2).
    flat = broken(lambda b: b._replace(transposed=False))
    assert flat[0] == "weight weight_ih_l0: W_i, W_f, W_g, W_o (4, 2), got W_i, W_f, W_g, W_o (2, 4)"


def test_verify_finds_a_tensor_no_part_counts() -> None:
    from dataclasses import replace

    from lstm_shapes.verify import verify

    good = build(Config(input=4, hidden=2, out=1))
    stray = good.weights[-1]._replace(name="stray", part="stray")  # a second (1,) head bias
    result = verify(replace(good, weights=(*good.weights, stray)))
    # 56 + 3 by the formulas; the arrays hold one value more.
    assert [(c.what, c.expected, c.actual) for c in result.mismatches] == [
        ("array sizes add up to the parts' formulas", "59", "60")
    ]


def test_mlx_gru_counts_and_shows_its_candidate_only_recurrent_bias() -> None:
    # mlx.nn.GRU(4, 2): Wx (6, 4), Wh (6, 2), b (6,), bhn (2,) = 24 + 12 + 6 + 2.
    report = build(Config(input=4, hidden=2, cell="gru", framework="mlx"))
    assert [p.params for p in report.parts] == [44]
    nodes = {n.id: n.op for n in report.nodes}
    assert nodes["n_t"] == "tanh(x_t·W_n + bx_n + r_t ⊙ (h_prev·U_n + bh_n))"  # input side in b, recurrent side bhn
    assert nodes["r_t"].endswith(" + b_r)")  # r and z have one bias each
    without = build(Config(input=4, hidden=2, cell="gru", framework="mlx", bias=False))
    assert [p.params for p in without.parts] == [36] and "bh_n" not in {n.id: n.op for n in without.nodes}["n_t"]
