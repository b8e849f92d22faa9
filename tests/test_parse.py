"""Backward parsing: tensor names and shapes to the configurations that store exactly those."""

from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed (pip install -e '.[test]')")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import lstm_shapes  # noqa: E402
from lstm_shapes import Config, ConfigError, build  # noqa: E402
from lstm_shapes.frameworks import NAMES, get  # noqa: E402
from lstm_shapes.parsing import SHOWN  # noqa: E402

from test_properties import SETTINGS, configs  # noqa: E402

PYTORCH, TF1, ONNX, KERAS = "pytorch", "tf1", "onnx", "keras"


def shown(config: Config) -> tuple[object, ...]:
    """The fields a set of weights can show; batch, dtype, the head's activation and the like cannot."""
    return tuple(getattr(config, field) for field in SHOWN)


def tensors(config: Config) -> dict[str, tuple[int, ...]]:
    return {w.name: w.shape for w in build(config).weights}


@st.composite
def configs_with_head_bias(draw: st.DrawFn) -> Config:
    config = draw(configs(max_size=12))
    if config.out is not None and draw(st.booleans()):
        return Config(**{**{f: getattr(config, f) for f in SHOWN}, "head_bias": False})  # type: ignore[arg-type]
    return config


@SETTINGS
@given(configs_with_head_bias())
def test_parse_of_a_configs_weights_contains_that_config(config: Config) -> None:
    result = lstm_shapes.parse(config.framework, tensors(config))
    assert shown(config) in [shown(m.config) for m in result.matches]
    assert result.nearest == () and result.unknown == ()


@pytest.mark.parametrize("framework", NAMES)
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_every_framework_and_cell_round_trips_two_layers_with_a_head(framework: str, cell: str) -> None:
    # Whatever hypothesis happens to draw, every registered framework and cell is parsed back at least once:
    # two layers with a head where the framework stacks layers, else one.
    if cell not in get(framework).cells:
        pytest.skip(f"{framework} has no {cell} cell")
    config = Config(3, 2, out=4, framework=framework, cell=cell, layers=2 if get(framework).has_layers else 1)
    assert shown(config) in [shown(m.config) for m in lstm_shapes.parse(framework, tensors(config)).matches]


# nn.LSTM(input_size=10, hidden_size=20, num_layers=2, bidirectional=True, proj_size=5).state_dict(), as PyTorch's
# documentation gives the shapes: weight_ih_l0 (4·hidden, input), later layers (4·hidden, 2·proj), weight_hh
# (4·hidden, proj), biases (4·hidden,), weight_hr (proj, hidden).
PYTORCH_STATE = {
    "weight_ih_l0": (80, 10), "weight_hh_l0": (80, 5), "bias_ih_l0": (80,), "bias_hh_l0": (80,), "weight_hr_l0": (5, 20),
    "weight_ih_l0_reverse": (80, 10), "weight_hh_l0_reverse": (80, 5), "bias_ih_l0_reverse": (80,),
    "bias_hh_l0_reverse": (80,), "weight_hr_l0_reverse": (5, 20),
    "weight_ih_l1": (80, 10), "weight_hh_l1": (80, 5), "bias_ih_l1": (80,), "bias_hh_l1": (80,), "weight_hr_l1": (5, 20),
    "weight_ih_l1_reverse": (80, 10), "weight_hh_l1_reverse": (80, 5), "bias_ih_l1_reverse": (80,),
    "bias_hh_l1_reverse": (80,), "weight_hr_l1_reverse": (5, 20),
}
PYTORCH_CONFIG = Config(10, 20, framework=PYTORCH, proj=5, layers=2, bidirectional=True)


def test_a_pytorch_state_dict_parses_to_its_lstm() -> None:
    result = lstm_shapes.parse(PYTORCH, PYTORCH_STATE)
    assert [shown(m.config) for m in result.matches] == [shown(PYTORCH_CONFIG)]
    assert result.matches[0].apart == ""
    assert "batch_first" in result.unknowable and "head" not in result.unknowable


def test_a_real_pytorch_state_dict_parses_to_its_module() -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    module = torch.nn.GRU(6, 3, num_layers=3, bias=False, bidirectional=True)
    result = lstm_shapes.parse(PYTORCH, {name: tuple(t.shape) for name, t in module.state_dict().items()})
    want = Config(6, 3, framework=PYTORCH, cell="gru", layers=3, bias=False, bidirectional=True)
    assert [shown(m.config) for m in result.matches] == [shown(want)]


def test_tf1_gru_solves_the_input_from_a_sum() -> None:
    # GRUCell: gates/kernel (input_depth + num_units, 2·num_units), candidate/kernel (input_depth + num_units, num_units).
    state = {"rnn/gru_cell/gates/kernel": (9, 6), "rnn/gru_cell/gates/bias": (6,),
             "rnn/gru_cell/candidate/kernel": (9, 3), "rnn/gru_cell/candidate/bias": (3,)}
    result = lstm_shapes.parse(TF1, state)
    assert [(m.config.cell, m.config.input, m.config.hidden) for m in result.matches] == [("gru", 6, 3)]


def test_a_keras_lstm_with_a_dense_head_without_bias() -> None:
    # LSTM(3) on 4 features then Dense(2, use_bias=False): kernel (4, 12), recurrent_kernel (3, 12), bias (12,).
    state = {"lstm/lstm_cell/kernel": (4, 12), "lstm/lstm_cell/recurrent_kernel": (3, 12), "lstm/lstm_cell/bias": (12,),
             "dense/kernel": (3, 2)}
    result = lstm_shapes.parse(KERAS, state)
    assert [(m.config.input, m.config.hidden, m.config.out, m.config.head_bias) for m in result.matches] == [(4, 3, 2, False)]
    assert "the head's activation" in result.unknowable and result.unknowable.count("dtype") == 1


def test_onnx_gru_gives_both_reset_placements_and_says_why() -> None:
    # GRU, hidden_size=2, input 4: W (1, 3·2, 4), R (1, 3·2, 2), B (1, 2·3·2); linear_before_reset is an attribute.
    result = lstm_shapes.parse(ONNX, {"W": (1, 6, 4), "R": (1, 6, 2), "B": (1, 12)})
    assert sorted(m.config.reset_after for m in result.matches) == [False, True]
    assert {(m.config.cell, m.config.input, m.config.hidden) for m in result.matches} == {("gru", 4, 2)}
    for m in result.matches:
        assert "linear_before_reset" in m.apart and f"linear_before_reset={int(m.config.reset_after)}" in m.apart


def test_configs_that_differ_in_a_field_are_told_apart_by_that_field() -> None:
    # Without a framework's own sentence, the field and its value are named.
    result = lstm_shapes.parse(ONNX, {"W": (1, 6, 4), "R": (1, 6, 2), "B": (1, 12)})
    sentences = [get(KERAS).tell_apart(m.config, "reset_after") for m in result.matches]
    assert sorted(sentences) == ["reset_after=False here; the weights do not show reset_after.",
                                 "reset_after=True here; the weights do not show reset_after."]


def test_a_tensor_of_the_wrong_rank_is_named_as_a_wrong_shape() -> None:
    best = lstm_shapes.parse(PYTORCH, dict(PYTORCH_STATE, bias_ih_l0=(80, 1))).nearest[0]
    assert shown(best.config) == shown(PYTORCH_CONFIG)
    assert best.wrong_shape == (("bias_ih_l0", (80,), (80, 1)),)


def test_one_tensor_of_the_wrong_shape_gives_no_match_and_names_it() -> None:
    state = dict(PYTORCH_STATE, weight_hh_l1=(80, 6))
    result = lstm_shapes.parse(PYTORCH, state)
    assert result.matches == ()
    best = result.nearest[0]
    assert shown(best.config) == shown(PYTORCH_CONFIG)
    assert (best.missing, best.unexpected, best.wrong_shape) == ((), (), (("weight_hh_l1", (80, 5), (80, 6)),))


def test_a_missing_tensor_is_named_with_its_shape() -> None:
    state = {k: v for k, v in PYTORCH_STATE.items() if k != "bias_hh_l1_reverse"}
    best = lstm_shapes.parse(PYTORCH, state).nearest[0]
    assert shown(best.config) == shown(PYTORCH_CONFIG)
    assert (best.missing, best.unexpected, best.wrong_shape) == ((("bias_hh_l1_reverse", (80,)),), (), ())


def test_unknown_names_are_listed_and_the_rest_still_parses() -> None:
    state = dict(PYTORCH_STATE, **{"embedding.weight": (100, 10), "weight_ih_l": (1,)})
    result = lstm_shapes.parse(PYTORCH, state)
    assert result.unknown == ("embedding.weight", "weight_ih_l")
    assert [shown(m.config) for m in result.matches] == [shown(PYTORCH_CONFIG)]


def test_nothing_recognised_gives_nothing() -> None:
    result = lstm_shapes.parse(ONNX, {"Y": (1, 2)})
    assert (result.matches, result.nearest, result.unknown) == ((), (), ("Y",))


def test_an_unknown_framework_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        lstm_shapes.parse("caffe", {})


class OneCell(type(get(PYTORCH))):  # type: ignore[misc]
    """A framework whose single cell names its tensors with no layer: `weight_ih`, as nn.LSTMCell does."""

    def tensor_name(self, config: Config, layer: int | None, direction: int | None, kind: str) -> str:
        return super().tensor_name(config, layer, direction, kind) if layer is None else kind

    def parse_name(self, name: str) -> tuple[int | None, int | None, str] | None:
        return (None, 0, name) if name in self.kinds else super().parse_name(name)


def test_tensors_named_without_a_layer_are_a_cell_not_a_head() -> None:
    # nn.LSTMCell(4, 3): weight_ih (12, 4), weight_hh (12, 3), bias_ih (12,), bias_hh (12,).
    result = lstm_shapes.parse(OneCell(), {"weight_ih": (12, 4), "weight_hh": (12, 3), "bias_ih": (12,), "bias_hh": (12,)})
    assert [(m.config.cell, m.config.input, m.config.hidden, m.config.out) for m in result.matches] == [("lstm", 4, 3, None)]
