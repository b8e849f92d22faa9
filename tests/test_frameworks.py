"""The frameworks package: one module per convention, names both ways, no name branches elsewhere."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed (pip install -e '.[test]')")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import lstm_shapes  # noqa: E402
from lstm_shapes import Config, build, render  # noqa: E402
from lstm_shapes.frameworks import NAMES, REGISTRY, get  # noqa: E402

from test_properties import configs  # noqa: E402

PACKAGE = Path(lstm_shapes.__file__).parent


def framework_literals(path: Path) -> list[tuple[int, str]]:
    """Every string literal in `path` that is exactly a framework's name, with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(node.lineno, node.value) for node in ast.walk(tree) if isinstance(node, ast.Constant) and node.value in REGISTRY]


def test_no_module_outside_frameworks_names_a_framework() -> None:
    # Outside frameworks/ a framework is reached through Config.convention or the registry, never by name.
    found = [(str(path.relative_to(PACKAGE)), *hit) for path in sorted(PACKAGE.rglob("*.py"))
             if "frameworks" not in path.relative_to(PACKAGE).parts for hit in framework_literals(path)]
    assert found == []


def test_the_scan_sees_a_framework_name_but_not_a_longer_string(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text('x = "LSTM projection (pytorch, tf1)"\nif config.framework == "tf1":\n    pass\n', encoding="utf-8")
    assert framework_literals(probe) == [(2, "tf1")]


def test_the_registry_is_in_the_documented_order() -> None:
    assert NAMES == ("keras", "pytorch", "pytorch-cell", "tf1", "onnx", "paddle", "mlx", "tf-keras", "tf-keras-cudnn", "flax", "haiku")
    assert [fw.title for fw in REGISTRY.values()] == ["Keras 3 / TF2", "PyTorch", "PyTorch cell", "TF1", "ONNX", "Paddle", "MLX", "tf.keras 2", "tf.keras 2 CuDNN", "Flax", "Haiku"]


# Names as each framework's own documentation and state dicts spell them, with what they say.
KNOWN = [
    ("keras", "lstm/lstm_cell/kernel", (0, 0, "kernel")),
    ("keras", "gru_2/gru_cell/recurrent_kernel", (2, 0, "recurrent_kernel")),
    ("keras", "bidirectional_1/backward_simple_rnn_1/simple_rnn_cell/bias", (1, 1, "bias")),
    ("keras", "dense/kernel", (None, None, "head_weight")),
    ("pytorch", "weight_hh_l1_reverse", (1, 1, "weight_hh")),
    ("pytorch", "rnn.weight_hr_l0", (0, 0, "weight_hr")),
    ("pytorch", "head.bias", (None, None, "head_bias")),
    ("pytorch-cell", "weight_hh", (0, 0, "weight_hh")),
    ("pytorch-cell", "cell.bias_ih", (0, 0, "bias_ih")),
    ("pytorch-cell", "head.weight", (None, None, "head_weight")),
    ("tf1", "rnn/lstm_cell/w_f_diag", (0, 0, "w_f_diag")),
    ("tf1", "rnn/multi_rnn_cell/cell_1/gru_cell/candidate/kernel", (1, 0, "candidate/kernel")),
    ("tf1", "stack_bidirectional_rnn/cell_2/bidirectional_rnn/bw/lstm_cell/projection/kernel", (2, 1, "projection/kernel")),
    ("tf1", "bidirectional_rnn/fw/basic_rnn_cell/bias", (0, 0, "bias")),
    ("onnx", "R", (0, None, "R")),
    ("onnx", "B_l3", (3, None, "B")),
    ("onnx", "head.weight", (None, None, "head_weight")),
    ("paddle", "0.cell.weight_ih", (0, 0, "weight_ih")),
    ("paddle", "rnn.2.cell_bw.weight_ho", (2, 1, "weight_ho")),
    ("paddle", "bias_hh_l1_reverse", (1, 1, "bias_hh")),
    ("paddle", "head.weight", (None, None, "head_weight")),
    ("mlx", "Wx", (0, 0, "Wx")),
    ("mlx", "rnn.bhn", (0, 0, "bhn")),
    ("mlx", "layers.2.Whh", (2, 0, "Whh")),
    ("mlx", "head.bias", (None, None, "head_bias")),
    # As tf_keras 2.21's model.weights names them (the cell keeps its unsuffixed name in every layer).
    ("tf-keras", "lstm_2/lstm_cell/kernel:0", (2, 0, "kernel")),
    ("tf-keras", "bidirectional_1/backward_lstm_1/lstm_cell/bias:0", (1, 1, "bias")),
    ("tf-keras", "dense/bias:0", (None, None, "head_bias")),
    ("tf-keras-cudnn", "cu_dnnlstm_1/recurrent_kernel:0", (1, 0, "recurrent_kernel")),
    ("tf-keras-cudnn", "bidirectional/backward_cu_dnngru/bias:0", (0, 1, "bias")),
    # Paths from flax.traverse_util.flatten_dict(model.init(...)["params"], sep="/"), flax 0.12.
    ("flax", "cell/ii/kernel", (0, 0, "ii/kernel")),
    ("flax", "backward_rnn/cell/i/bias", (0, 1, "i/bias")),
    ("flax", "layers_2/backward_rnn/cell/hn/bias", (2, 1, "hn/bias")),
    ("flax", "layers_1/cell/hf/bias", (1, 0, "hf/bias")),
    ("flax", "head/kernel", (None, None, "head_weight")),
    # Keys of hk.transform(f).init(...) joined with their params' names, dm-haiku 0.0.17.
    ("haiku", "lstm/linear/w", (0, 0, "linear/w")),
    ("haiku", "lstm_1/linear/b", (1, 0, "linear/b")),
    ("haiku", "gru_2/w_h", (2, 0, "w_h")),
    ("haiku", "vanilla_rnn/linear_1/b", (0, 0, "linear_1/b")),
    ("haiku", "linear/w", (None, None, "head_weight")),
]
FOREIGN = [
    ("keras", "weight_ih_l0"), ("keras", "bidirectional/forward_lstm_1/lstm_cell/kernel"),
    ("pytorch", "lstm/lstm_cell/kernel"), ("pytorch", "weight_ih_l"), ("tf1", "lstm/lstm_cell/kernel"),
    ("tf1", "rnn/lstm_cell/w_g_diag"), ("onnx", "W_0"), ("onnx", "Y"),
    ("paddle", "weight_ih_l0_fw"), ("paddle", "0.cell_rev.weight_ih"), ("paddle", "cell.weight_ih"),
    ("pytorch-cell", "weight_ih_l0"), ("pytorch-cell", "rnn.weight_hh_l0"), ("pytorch-cell", "cell.weight_hr"),
    ("mlx", "weight_ih_l0"), ("mlx", "layers.Wx"), ("mlx", "rnn.layers.0.Wx"),
    ("tf-keras", "lstm/lstm_cell/kernel"), ("tf-keras", "cu_dnnlstm/kernel:0"),
    ("tf-keras-cudnn", "lstm/lstm_cell/kernel:0"), ("tf-keras-cudnn", "bidirectional/forward_cu_dnngru_1/bias:0"),
    ("flax", "cell/ii/bias"), ("flax", "layers_0/cell/hx/kernel"), ("flax", "lstm/lstm_cell/kernel"),
    ("haiku", "lstm_0/linear/w"), ("haiku", "lstm/lstm_cell/kernel"), ("haiku", "linear_1/w"), ("haiku", "gru/w"),
]


def test_cudnngru_names_its_tf_keras_twin_and_what_tells_them_apart() -> None:
    cudnn = Config(input=4, hidden=2, cell="gru", framework="tf-keras-cudnn", layers=2, bidirectional=True)
    twin, why = get("tf-keras-cudnn").lookalike(cudnn)
    assert (twin.framework, twin.reset_after, twin.layers, twin.bidirectional) == ("tf-keras", True, 2, True)
    # By hand, per layer and direction: kernel 4·6 (layer 1 reads 2·2 = 4 too), recurrent 2·6, bias 12.
    assert build(cudnn).total_params == build(twin).total_params == 2 * (24 + 12 + 12) + 2 * (24 + 12 + 12)
    assert "(6h,)" in why and "(2, 3h)" in why
    assert get("tf-keras-cudnn").lookalike(Config(input=4, hidden=2, framework="tf-keras-cudnn")) is None
    assert get("tf-keras").lookalike(twin) is None


@pytest.mark.parametrize(("framework", "name", "place"), KNOWN)
def test_parse_name_reads_a_framework_name(framework: str, name: str, place: tuple[object, ...]) -> None:
    assert get(framework).parse_name(name) == place


@pytest.mark.parametrize(("framework", "name"), FOREIGN)
def test_parse_name_refuses_a_name_not_of_its_framework(framework: str, name: str) -> None:
    assert get(framework).parse_name(name) is None


@settings(max_examples=300, deadline=None)
@given(configs(), st.data())
def test_names_round_trip_both_ways(config: Config, data: st.DataObject) -> None:
    fw = config.convention
    report = build(config)
    for w in report.weights:  # every tensor a report lists names its own layer and direction
        place = fw.parse_name(w.name)
        assert place is not None, w.name
        assert place[:2] == (w.layer, w.direction)
        assert fw.tensor_name(config, *place) == w.name
    layer = data.draw(st.integers(0, config.layers - 1))
    direction = None if fw.directions_in_one_tensor else data.draw(st.integers(0, config.directions - 1))
    kind = data.draw(st.sampled_from(fw.kinds))
    assert fw.parse_name(fw.tensor_name(config, layer, direction, kind)) == (layer, direction, kind)
    head = data.draw(st.sampled_from(fw.head_kinds))
    assert fw.parse_name(fw.tensor_name(config, None, None, head)) == (None, None, head)


@pytest.mark.parametrize("cell", ["LSTM", "GRU", "RNN"])
def test_parse_name_places_every_torch_parameter(cell: str) -> None:
    # torch lists its parameters per layer and direction in _all_weights, index layer·D + direction.
    torch = pytest.importorskip("torch", reason="torch is not installed")
    extra = {"proj_size": 2} if cell == "LSTM" else {}
    module = getattr(torch.nn, cell)(3, 4, num_layers=3, bidirectional=True, **extra)
    fw = get("pytorch")
    for index, names in enumerate(module._all_weights):
        layer, direction = divmod(index, 2)
        for name in names:
            assert fw.parse_name(name) == (layer, direction, name.rsplit("_l", 1)[0])


def test_paddle_explain_names_the_heads_tensors_as_nn_linear_does() -> None:
    # paddle.nn.Linear's attributes are `weight` (in, out) and `bias`: untransposed, yet not Keras' `kernel`.
    lines = render(build(Config(input=4, hidden=2, out=3, framework="paddle"), explain=True), "text").splitlines()
    assert any("logits = h_t·weight + bias" in line for line in lines)
def test_flax_gru_candidate_has_a_bias_on_each_side() -> None:
    # GRUCell's source: n = tanh(in(x) + r * hn(h)), both Denses with a bias; r and z have their input one only.
    nodes = {n.id: n.op for n in build(Config(input=4, hidden=2, cell="gru", framework="flax")).nodes}
    assert nodes["n_t"] == "tanh(x_t·W_n + bx_n + r_t ⊙ (h_prev·U_n + bh_n))"
    assert nodes["r_t"].endswith(" + b_r)") and nodes["z_t"].endswith(" + b_z)")
