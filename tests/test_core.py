"""The symbolic core: node shapes, weights and counts, checked against hand calculation."""

from __future__ import annotations

import subprocess
import sys
from math import prod

import pytest

import lstm_shapes
from lstm_shapes import Config, ConfigError, trace
from lstm_shapes.config import MAX_SIZE

GATES = ("i_t", "f_t", "g_t", "o_t")


def shapes(report: lstm_shapes.Report) -> dict[str, tuple[object, ...]]:
    return {node.id: node.shape for node in report.nodes}


def test_keras_example_from_model_summary() -> None:
    # Keras' model.summary() for Input(4) -> LSTM(2) -> Dense(1): 56 + 3 = 59, and
    # get_weights() shapes (4, 8), (2, 8), (8,) then (2, 1), (1,).
    report = trace(input=4, hidden=2, out=1)
    assert [w.shape for w in report.weights] == [(4, 8), (2, 8), (8,), (2, 1), (1,)]
    assert [w.name.rsplit("/", 1)[1] for w in report.weights] == [
        "kernel", "recurrent_kernel", "bias", "kernel", "bias"
    ]
    assert [(p.name, p.params) for p in report.parts] == [("lstm", 56), ("dense", 3)]
    assert report.total_params == 59


def test_formulas_show_the_substituted_numbers() -> None:
    report = trace(input=4, hidden=2, out=1)
    lstm, dense = report.parts
    env = report.config.symbols
    assert (lstm.formula.render(), lstm.formula.render(env)) == ("4·(h·(x+h)+h)", "4·(2·(4+2)+2)")
    assert (dense.formula.render(), dense.formula.render(env)) == ("o·(h+1)", "1·(2+1)")


def test_seed_question_5_inputs_256_units_10_classes() -> None:
    x, h, o = 5, 256, 10
    report = trace(input=x, hidden=h, out=o)
    got = shapes(report)
    assert got["hx_t"] == ("B", 261)
    for node in (*GATES, "c_prev", "h_prev", "c_t", "h_t"):
        assert got[node] == ("B", 256), node
    assert got["logits"] == got["probs"] == ("B", 10)
    lstm = 4 * (h * x + h * h + h)  # four gates, each W (x, h), U (h, h), b (h,)
    head = h * o + o
    assert (lstm, head) == (268_288, 2_570)
    assert [p.params for p in report.parts] == [lstm, head]
    assert report.total_params == 270_858


def test_no_out_means_no_head() -> None:
    report = trace(input=3, hidden=7)
    assert [p.name for p in report.parts] == ["lstm"]
    assert {"logits", "probs"}.isdisjoint(shapes(report))
    assert all(w.part == "lstm" for w in report.weights)
    assert report.total_params == 4 * 7 * (3 + 7 + 1)


def test_nodes_in_data_flow_order() -> None:
    report = trace(input=4, hidden=2, out=3)
    ids = [node.id for node in report.nodes]
    assert ids == ["x_t", "h_prev", "c_prev", "hx_t", *GATES, "c_t", "h_t", "logits", "probs"]
    seen: set[str] = set()
    for node in report.nodes:
        assert set(node.inputs) <= seen, f"{node.id} reads a node defined after it"
        assert node.id.isascii() and node.id.isidentifier()
        seen.add(node.id)


def test_nodes_carry_their_layer_and_direction() -> None:
    # Two bidirectional GRU layers and a head, by hand: each layer's forward step, then its two directions joined.
    report = trace(input=4, hidden=2, out=3, cell="gru", layers=2, bidirectional=True, framework="pytorch")
    layer_step = [("x_t", 0), ("h_prev", 0), ("hx_t", 0), ("r_t", 0), ("z_t", 0), ("n_t", 0), ("h_t", 0),
                  ("y_t", None)]
    expected = [(f"l{k}.{name}", k, d) for k in (0, 1) for name, d in layer_step]
    expected += [("logits", None, None), ("probs", None, None)]
    assert [(n.id, n.layer, n.direction) for n in report.nodes] == expected


SIZES = [(1, 1, None), (1, 1, 1), (4, 2, 1), (7, 3, None), (128, 64, 32), (5, 256, 10), (300, 1000, 50000)]


@pytest.mark.parametrize("x,h,o", SIZES)
def test_per_tensor_counts_add_up_to_the_total(x: int, h: int, o: int | None) -> None:
    report = trace(input=x, hidden=h, out=o)
    # Keras' get_weights(): kernel (x, 4h), recurrent_kernel (h, 4h), bias (4h,); Dense (h, o), (o,).
    shapes = [(x, 4 * h), (h, 4 * h), (4 * h,)] + ([] if o is None else [(h, o), (o,)])
    assert [w.shape for w in report.weights] == shapes
    env = report.config.symbols
    assert [w.formula.evaluate(env) for w in report.weights] == [prod(shape) for shape in shapes]
    data = report.to_dict()
    hand = 4 * (h * (x + h) + h) + (0 if o is None else o * (h + 1))
    assert sum(p["params"] for p in data["parts"]) == hand
    # The ASCII expression is evaluated by Python itself, not by the formula module.
    assert sum(eval(p["expression"], {}, dict(data["symbols"])) for p in data["parts"]) == hand
    assert data["total_params"] == sum(w["params"] for w in data["weights"]) == hand


def test_huge_sizes_are_exact_and_allocate_nothing() -> None:
    x, h, o = 4, 1_000_000, 10
    report = trace(input=x, hidden=h, out=o)
    assert report.total_params == 4 * (h * (x + h) + h) + o * (h + 1) == 4_000_030_000_010
    assert report.node("hx_t").shape == ("B", 1_000_004)


def test_json_symbolic_dims_are_strings_and_sizes_ints() -> None:
    data = trace(input=4, hidden=2, out=1).to_dict()
    assert {"total_params", "weights", "nodes"} <= data.keys()
    assert data["nodes"][0] == {**data["nodes"][0], "name": "x_t", "shape": ["B", 4]}
    assert all(isinstance(d, int) for w in data["weights"] for d in w["shape"])
    assert {n["name"]: n["shape"] for n in data["nodes"]}["hx_t"] == ["B", 6]


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"input": 0, "hidden": 2}, "input"),
        ({"input": -1, "hidden": 2}, "input"),
        ({"input": 4, "hidden": 2.5}, "hidden"),
        ({"input": 4, "hidden": "2"}, "hidden"),
        ({"input": 4, "hidden": True}, "hidden"),
        ({"input": 4, "hidden": MAX_SIZE + 1}, "hidden"),
        ({"input": 4, "hidden": 2, "out": 0}, "out"),
        ({"input": 4, "hidden": 2, "framework": "caffe"}, "framework"),
    ],
)
def test_invalid_config_is_refused_with_the_field_named(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        Config(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
    assert str(info.value).startswith(f"{field} must be ")


def test_largest_allowed_size_is_accepted() -> None:
    assert trace(input=MAX_SIZE, hidden=1).config.input == MAX_SIZE


def test_core_and_plain_formats_import_no_click_rich_or_numpy() -> None:
    code = (
        "import sys, lstm_shapes\n"
        "r = lstm_shapes.trace(input=4, hidden=2, out=1)\n"
        "for f in ('text', 'markdown', 'csv', 'json'): lstm_shapes.render(r, f)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'click', 'rich', 'numpy'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
