"""Cross-check lstm_shapes' ONNX convention against the `onnx` package itself.

For each configuration the tool's weight tensors become the initializers of a real ONNX
`LSTM` / `GRU` / `RNN` node, and every expected value is read from onnx in this process:

* weight shapes: parsed from the operator schema's own input descriptions
  (`onnx.defs.get_schema(op).inputs`, e.g. "`[num_directions, 4*hidden_size, input_size]`");
* the model must pass `onnx.checker.check_model(..., full_check=True)`;
* the shapes of X, Y, Y_h and Y_c: parsed from the schema's `layout` attribute text, inferred
  by `onnx.shape_inference.infer_shapes`, and read off the arrays the reference evaluator
  returns (all three must agree with the tool);
* numbers: `onnx.reference.ReferenceEvaluator` runs the model on random weights and inputs,
  and `lstm_shapes.verify.run_sequence` must return the same Y, Y_h (and Y_c) to 1e-5.

Nothing expected is copied from lstm_shapes. Needs onnx >= 1.23: older reference evaluators
raise NotImplementedError for bidirectional nodes, return no Y_c for LSTM and read the batch
size before applying `layout`. When onnx is missing or older, the whole module is skipped.
"""

from __future__ import annotations

import math
import re
from typing import Any, NamedTuple

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx is not installed: ONNX cross-check skipped")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2])


if _version(onnx.__version__) < (1, 23):
    pytest.skip(
        f"onnx {onnx.__version__} is older than 1.23: its ReferenceEvaluator cannot run bidirectional "
        "RNN nodes or return LSTM's Y_c; ONNX cross-check skipped",
        allow_module_level=True,
    )

from onnx import TensorProto, checker, helper, numpy_helper, shape_inference  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

from lstm_shapes import Config, build  # noqa: E402
from lstm_shapes.verify import run_sequence  # noqa: E402

OPSET = 22  # the newest schema of LSTM / GRU / RNN; `layout` exists since opset 14
OPS = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}
ATOL = 1e-5


# --------------------------------------------------------------------------
# the grid
# --------------------------------------------------------------------------


class Case(NamedTuple):
    cell: str
    input: int
    hidden: int
    batch: int
    seq_len: int
    bidirectional: bool
    bias: bool
    peepholes: bool  # LSTM only
    reset_after: bool  # GRU only: linear_before_reset=1
    batch_first: bool  # layout=1

    @property
    def id(self) -> str:
        parts = [self.cell, f"x{self.input}h{self.hidden}", f"N{self.batch}T{self.seq_len}"]
        parts.append("bi" if self.bidirectional else "fw")
        parts.append("bias" if self.bias else "nobias")
        if self.peepholes:
            parts.append("peep")
        if self.reset_after:
            parts.append("lbr1")
        parts.append("layout1" if self.batch_first else "layout0")
        return "-".join(parts)

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    def config(self, **overrides: Any) -> Config:
        fields: dict[str, Any] = {
            "input": self.input,
            "hidden": self.hidden,
            "out": None,
            "cell": self.cell,
            "framework": "onnx",
            "peepholes": self.peepholes,
            "layers": 1,
            "bidirectional": self.bidirectional,
            "bias": self.bias,
            "batch": self.batch,
            "seq_len": self.seq_len,
            "batch_first": self.batch_first,
        }
        if self.cell == "gru":  # the field is GRU-only: given for another cell it is an error
            fields["reset_after"] = self.reset_after
        fields.update(overrides)
        return Config(**fields)


# (input, hidden, batch, seq_len): batch != seq_len and input != hidden in most, so a swapped
# axis cannot pass by accident; (1, 1, 1, 1) is the degenerate corner.
SIZES = [(5, 3, 2, 4), (1, 1, 1, 1), (4, 7, 3, 2), (6, 2, 4, 3), (3, 8, 1, 5)]


def _grid() -> list[Case]:
    cases: list[Case] = []
    variants = {
        "lstm": [(False, False), (True, False)],
        "gru": [(False, False), (False, True)],
        "rnn": [(False, False)],
    }
    # Every switch combination once, sizes rotating through SIZES.
    for cell, options in variants.items():
        for peepholes, reset_after in options:
            for bidirectional in (False, True):
                for bias in (True, False):
                    for batch_first in (False, True):
                        x, h, n, t = SIZES[len(cases) % len(SIZES)]
                        cases.append(Case(cell, x, h, n, t, bidirectional, bias, peepholes, reset_after, batch_first))
    # Every size with every switch on, for each cell.
    for cell, options in variants.items():
        peepholes, reset_after = options[-1]
        for k, (x, h, n, t) in enumerate(SIZES):
            case = Case(cell, x, h, n, t, True, True, peepholes, reset_after, k % 2 == 1)
            if case not in cases:
                cases.append(case)
    return cases


GRID = _grid()
GRID_IDS = [case.id for case in GRID]


# --------------------------------------------------------------------------
# what onnx says (never what the tool says)
# --------------------------------------------------------------------------

_TERM = re.compile(r"^\s*(?:(\d+)\s*\*\s*)?([a-z_]+)\s*$")
# The LSTM schema spelled P's size "hidde_size" before onnx#7935; read it as hidden_size.
_ALIASES = {"hidde_size": "hidden_size"}


def _evaluate(dims: str, env: dict[str, int]) -> list[int]:
    """`num_directions, 4*hidden_size, input_size` with env's values -> a list of ints."""
    shape = []
    for term in dims.split(","):
        match = _TERM.match(term)
        assert match, f"cannot read the dimension {term!r} in onnx's text [{dims}]"
        factor, name = match.groups()
        name = _ALIASES.get(name, name)
        assert name in env, f"onnx's text uses {name!r}, which this test has no value for"
        shape.append(int(factor or 1) * env[name])
    return shape


def schema_weight_shapes(op: str, *, input_size: int, hidden: int, directions: int) -> dict[str, list[int]]:
    """W, R, B (and LSTM's P) shapes as the operator schema's input descriptions state them."""
    env = {"num_directions": directions, "hidden_size": hidden, "input_size": input_size}
    shapes = {}
    for formal in onnx.defs.get_schema(op, OPSET).inputs:
        if formal.name in ("W", "R", "B", "P"):
            found = re.search(r"shape\s+`\[([^\]]*)\]`", formal.description)
            assert found, f"{op} schema input {formal.name}: no `[...]` shape in {formal.description!r}"
            shapes[formal.name] = _evaluate(found.group(1), env)
    return shapes


def schema_sequence_shapes(op: str, case: Case) -> dict[str, list[int]]:
    """X, Y, Y_h (and Y_c) for the case's layout, from the schema's `layout` attribute text."""
    text = onnx.defs.get_schema(op, OPSET).attributes["layout"].description
    layout = 1 if case.batch_first else 0
    found = re.search(rf"If {layout},(.*?)(?=If \d,|$)", text, re.DOTALL)
    assert found, f"{op} schema: no 'If {layout},' paragraph in the layout text {text!r}"
    paragraph = found.group(1)
    env = {
        "seq_length": case.seq_len,
        "batch_size": case.batch,
        "input_size": case.input,
        "num_directions": case.directions,
        "hidden_size": case.hidden,
    }
    shapes = {}
    for name in ("X", "Y", "Y_h", "Y_c"):
        # "initial_h.shape = Y_h.shape = initial_c.shape = Y_c.shape = [...]" names several at once.
        hit = re.search(rf"(?<![\w.]){name}\.shape = (?:[\w.]+\.shape = )*\[([^\]]*)\]", paragraph)
        if hit:
            shapes[name] = _evaluate(hit.group(1), env)
    expected = {"X", "Y", "Y_h"} | ({"Y_c"} if op == "LSTM" else set())
    assert set(shapes) == expected, f"{op} layout text gave {sorted(shapes)}, expected {sorted(expected)}"
    return shapes


def outputs_of(op: str) -> list[str]:
    return ["Y", "Y_h", "Y_c"] if op == "LSTM" else ["Y", "Y_h"]


def onnx_node_model(op: str, case: Case, weights: dict[str, np.ndarray], x_dims: list[Any]) -> Any:
    """One `op` node reading X and the given initializers; outputs declared without shapes."""
    inputs = ["X", "W", "R", "B" if "B" in weights else ""]
    if "P" in weights:
        inputs += ["", "", "", "P"]  # sequence_lens, initial_h, initial_c, then P
    while inputs[-1] == "":
        inputs.pop()
    attrs: dict[str, Any] = {
        "hidden_size": case.hidden,
        "direction": "bidirectional" if case.bidirectional else "forward",
        "layout": 1 if case.batch_first else 0,
    }
    if op == "GRU":
        attrs["linear_before_reset"] = 1 if case.reset_after else 0
    node = helper.make_node(op, inputs, outputs_of(op), **attrs)
    graph = helper.make_graph(
        [node],
        f"{op.lower()}_cross_check",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, x_dims)],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs_of(op)],
        initializer=[numpy_helper.from_array(array, name) for name, array in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def inferred_shapes(model: Any) -> tuple[Any, dict[str, list[Any]]]:
    """Strict shape inference; each output's dims as ints (dim_value) or strings (dim_param)."""
    inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    shapes = {}
    for value in inferred.graph.output:
        tensor = value.type.tensor_type
        assert tensor.HasField("shape"), f"onnx shape inference left {value.name} without a shape"
        shapes[value.name] = [
            dim.dim_value if dim.HasField("dim_value") else (dim.dim_param or None) for dim in tensor.shape.dim
        ]
    return inferred, shapes


def random_weights(shapes: dict[str, list[int]], fan_in: dict[str, int], seed: int) -> dict[str, np.ndarray]:
    """float32 arrays; W and R scaled by 1/sqrt(fan-in) so the gates stay out of saturation."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, shape in shapes.items():
        scale = 1 / math.sqrt(fan_in[name]) if name in fan_in else 0.5
        arrays[name] = (rng.standard_normal(shape) * scale).astype(np.float32)
    return arrays


# --------------------------------------------------------------------------
# what the tool says
# --------------------------------------------------------------------------


def tool_dict(case: Case, **overrides: Any) -> dict[str, Any]:
    return build(case.config(**overrides)).to_dict()


def by_name(entries: list[dict[str, Any]], what: str) -> dict[str, dict[str, Any]]:
    names = [entry["name"] for entry in entries]
    assert len(names) == len(set(names)), f"duplicate {what} names: {names}"
    return {entry["name"]: entry for entry in entries}


# --------------------------------------------------------------------------
# the tests
# --------------------------------------------------------------------------


@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_weights_match_the_onnx_schema(case: Case) -> None:
    op = OPS[case.cell]
    d = tool_dict(case)
    assert d["framework"] == "onnx"
    expected = schema_weight_shapes(op, input_size=case.input, hidden=case.hidden, directions=case.directions)
    if not case.bias:
        del expected["B"]
    if "P" in expected and not case.peepholes:
        del expected["P"]
    weights = by_name(d["weights"], "weight")
    assert {name: w["shape"] for name, w in weights.items()} == expected
    for name, weight in weights.items():
        assert weight["params"] == math.prod(expected[name]), name
    if "total_params" in d:
        assert d["total_params"] == sum(math.prod(shape) for shape in expected.values())


@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_onnx_model_checks_and_infers_the_tools_sequence_shapes(case: Case) -> None:
    op = OPS[case.cell]
    d = tool_dict(case)
    shapes = {w["name"]: w["shape"] for w in d["weights"]}
    weights = {name: np.zeros(shape, dtype=np.float32) for name, shape in shapes.items()}
    from_text = schema_sequence_shapes(op, case)
    model = onnx_node_model(op, case, weights, from_text["X"])
    inferred, from_inference = inferred_shapes(model)
    checker.check_model(inferred, full_check=True)

    sequence = {name: entry["shape"] for name, entry in by_name(d["sequence"], "sequence").items()}
    assert set(sequence) >= {"X", *outputs_of(op)}, f"sequence names {sorted(sequence)}"
    if op != "LSTM":
        assert "Y_c" not in sequence
    assert sequence["X"] == from_text["X"]
    for name in outputs_of(op):
        assert sequence[name] == from_text[name], f"{name}: tool {sequence[name]}, onnx layout text {from_text[name]}"
        assert sequence[name] == from_inference[name], (
            f"{name}: tool {sequence[name]}, onnx shape inference {from_inference[name]}"
        )


@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_run_sequence_matches_the_onnx_reference_evaluator(case: Case) -> None:
    op = OPS[case.cell]
    rep = build(case.config())
    d = rep.to_dict()
    shapes = {w["name"]: w["shape"] for w in d["weights"]}
    seed = GRID.index(case)
    arrays = random_weights(shapes, {"W": case.input, "R": case.hidden}, seed)
    x_shape = schema_sequence_shapes(op, case)["X"]
    xs = np.random.default_rng(1000 + seed).standard_normal(x_shape).astype(np.float32)

    model = onnx_node_model(op, case, arrays, x_shape)
    checker.check_model(inferred_shapes(model)[0], full_check=True)
    expected = dict(zip(outputs_of(op), ReferenceEvaluator(model).run(None, {"X": xs})))

    actual = run_sequence(rep, {name: array.copy() for name, array in arrays.items()}, xs.copy())
    assert set(actual) >= set(expected), f"run_sequence returned {sorted(actual)}"
    sequence = {name: entry["shape"] for name, entry in by_name(d["sequence"], "sequence").items()}
    for name, want in expected.items():
        got = np.asarray(actual[name])
        assert list(want.shape) == sequence[name], f"{name}: onnx ran to {list(want.shape)}, tool says {sequence[name]}"
        assert got.shape == want.shape, f"{name}: run_sequence gave {got.shape}, onnx {want.shape}"
        np.testing.assert_allclose(got, want, rtol=0, atol=ATOL, err_msg=f"{case.id}: {name}")


# One case per cell and layout, without batch / seq_len: the tool's symbols must sit where
# onnx's shape inference keeps the symbolic batch and sequence dims, and nowhere else.
SYMBOLIC = [
    case
    for case in GRID
    if case.bidirectional
    and case.bias
    and case.peepholes == (case.cell == "lstm")
    and case.reset_after == (case.cell == "gru")
][:6]


@pytest.mark.parametrize("case", SYMBOLIC, ids=[case.id for case in SYMBOLIC])
def test_symbolic_batch_and_time_sit_where_onnx_puts_them(case: Case) -> None:
    op = OPS[case.cell]
    d = tool_dict(case, batch=None, seq_len=None)
    shapes = {w["name"]: w["shape"] for w in d["weights"]}
    weights = {name: np.zeros(shape, dtype=np.float32) for name, shape in shapes.items()}
    x_dims = ["N", "T", case.input] if case.batch_first else ["T", "N", case.input]
    _, from_inference = inferred_shapes(onnx_node_model(op, case, weights, x_dims))
    from_inference["X"] = x_dims

    sequence = {name: entry["shape"] for name, entry in by_name(d["sequence"], "sequence").items()}
    symbol_for: dict[str, Any] = {}
    for name in ["X", *outputs_of(op)]:
        tool, onnx_dims = sequence[name], from_inference[name]
        assert len(tool) == len(onnx_dims), f"{name}: tool {tool}, onnx {onnx_dims}"
        for got, want in zip(tool, onnx_dims):
            if isinstance(want, int):
                assert got == want, f"{name}: tool {tool}, onnx {onnx_dims}"
            else:
                assert not isinstance(got, int), f"{name}: tool {tool} has a number where onnx has {want!r}"
                assert symbol_for.setdefault(want, got) == got, f"{name}: {want!r} written two ways by the tool"
    assert len(set(map(str, symbol_for.values()))) == len(symbol_for), f"batch and time share a symbol: {symbol_for}"


# Stacked layers: ONNX has no multi-layer node, so layer k > 0 reads layer k-1's Y with the
# direction axis folded into the features ([fw h, bw h], D*h of them). The tool's W_l{k} /
# R_l{k} / B_l{k} / P_l{k} must feed such a chain, and its sequence outputs are the top node's.
STACKED = [
    Case("lstm", 5, 3, 2, 4, True, True, True, False, False),
    Case("lstm", 4, 2, 3, 2, False, False, False, False, True),
    Case("gru", 4, 6, 3, 2, True, True, False, True, True),
    Case("gru", 3, 4, 2, 3, True, False, False, False, False),
    Case("rnn", 3, 2, 2, 3, False, False, False, False, False),
    Case("rnn", 2, 5, 1, 4, True, True, False, False, True),
]


def stacked_model(op: str, case: Case, layers: int, arrays: dict[str, np.ndarray], x_shape: list[int],
                  sizes: tuple[int, ...] | None = None) -> Any:
    """`layers` nodes of `op` in a chain, node k of hidden_size `sizes[k]` (else the case's); the graph's outputs are
    the top node's Y, Y_h (, Y_c)."""
    nodes = []
    layer_input = "X"
    for k in range(layers):
        suffix = f"_l{k}"
        present = {base for base in ("W", "R", "B", "P") if base + suffix in arrays}
        inputs = [layer_input, "W" + suffix, "R" + suffix, "B" + suffix if "B" in present else ""]
        if "P" in present:
            inputs += ["", "", "", "P" + suffix]
        while inputs[-1] == "":
            inputs.pop()
        attrs: dict[str, Any] = {
            "hidden_size": sizes[k] if sizes else case.hidden,
            "direction": "bidirectional" if case.bidirectional else "forward",
            "layout": 1 if case.batch_first else 0,
        }
        if op == "GRU":
            attrs["linear_before_reset"] = 1 if case.reset_after else 0
        top = k == layers - 1
        outputs = outputs_of(op) if top else [f"Y{suffix}"]
        nodes.append(helper.make_node(op, inputs, outputs, **attrs))
        if not top:
            y = f"Y{suffix}"
            # layout 0: [T, D, N, h] -> [T, N, D, h] -> [T, N, D*h]; layout 1: [N, T, D, h] -> [N, T, D*h]
            if not case.batch_first:
                nodes.append(helper.make_node("Transpose", [y], [f"{y}_t"], perm=[0, 2, 1, 3]))
                y = f"{y}_t"
            layer_input = f"X_l{k + 1}"
            nodes.append(helper.make_node("Reshape", [y, "fold_directions"], [layer_input]))
    initializers = [numpy_helper.from_array(array, name) for name, array in arrays.items()]
    initializers.append(numpy_helper.from_array(np.array([0, 0, -1], dtype=np.int64), "fold_directions"))
    graph = helper.make_graph(
        nodes,
        "stacked",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs_of(op)],
        initializer=initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


@pytest.mark.parametrize("layers", [2, 3])
@pytest.mark.parametrize("case", STACKED, ids=[case.id for case in STACKED])
def test_stacked_layers_match_a_chain_of_onnx_nodes(case: Case, layers: int) -> None:
    op = OPS[case.cell]
    rep = build(case.config(layers=layers))
    d = rep.to_dict()
    weights = by_name(d["weights"], "weight")
    expected_shapes: dict[str, list[int]] = {}
    for k in range(layers):
        input_size = case.input if k == 0 else case.directions * case.hidden
        per_layer = schema_weight_shapes(op, input_size=input_size, hidden=case.hidden, directions=case.directions)
        if not case.bias:
            del per_layer["B"]
        if "P" in per_layer and not case.peepholes:
            del per_layer["P"]
        expected_shapes.update({f"{name}_l{k}": shape for name, shape in per_layer.items()})
    assert {name: w["shape"] for name, w in weights.items()} == expected_shapes

    fan_in = {f"W_l{k}": case.input if k == 0 else case.directions * case.hidden for k in range(layers)}
    fan_in.update({f"R_l{k}": case.hidden for k in range(layers)})
    seed = 500 + STACKED.index(case) * 10 + layers
    arrays = random_weights({name: w["shape"] for name, w in weights.items()}, fan_in, seed)
    x_shape = schema_sequence_shapes(op, case)["X"]
    xs = np.random.default_rng(seed + 1).standard_normal(x_shape).astype(np.float32)

    model = stacked_model(op, case, layers, arrays, x_shape)
    inferred, from_inference = inferred_shapes(model)
    checker.check_model(inferred, full_check=True)
    expected = dict(zip(outputs_of(op), ReferenceEvaluator(model).run(None, {"X": xs})))

    sequence = {name: entry["shape"] for name, entry in by_name(d["sequence"], "sequence").items()}
    actual = run_sequence(rep, {name: array.copy() for name, array in arrays.items()}, xs.copy())
    for name, want in expected.items():
        assert sequence[name] == from_inference[name] == list(want.shape), (
            f"{name}: tool {sequence[name]}, onnx inference {from_inference[name]}, onnx ran to {list(want.shape)}"
        )
        got = np.asarray(actual[name])
        assert got.shape == want.shape, f"{name}: run_sequence gave {got.shape}, onnx {want.shape}"
        np.testing.assert_allclose(got, want, rtol=0, atol=ATOL, err_msg=f"{case.id} x{layers} layers: {name}")


# Layers of their own sizes: node k has its own hidden_size and reads D·h of the node below. Shrinking,
# growing and up-then-down chains of 2 and 3 nodes; Case.hidden is unused here.
SIZED = [
    (STACKED[0], (5, 2)),
    (STACKED[1], (2, 4, 3)),
    (STACKED[2], (3, 1, 4)),
    (STACKED[3], (6, 3)),
    (STACKED[4], (2, 5)),
    (STACKED[5], (4, 3, 2)),
]


@pytest.mark.parametrize(("case", "sizes"), SIZED, ids=[f"{case.id}-h{','.join(map(str, sizes))}" for case, sizes in SIZED])
def test_layers_of_their_own_sizes_match_a_chain_of_onnx_nodes(case: Case, sizes: tuple[int, ...]) -> None:
    op, layers = OPS[case.cell], len(sizes)
    rep = build(case.config(hidden=sizes))
    d = rep.to_dict()
    weights = by_name(d["weights"], "weight")
    widths = [case.input] + [case.directions * size for size in sizes[:-1]]
    expected_shapes: dict[str, list[int]] = {}
    for k, size in enumerate(sizes):
        per_layer = schema_weight_shapes(op, input_size=widths[k], hidden=size, directions=case.directions)
        if not case.bias:
            del per_layer["B"]
        if "P" in per_layer and not case.peepholes:
            del per_layer["P"]
        expected_shapes.update({f"{name}_l{k}": shape for name, shape in per_layer.items()})
    assert {name: w["shape"] for name, w in weights.items()} == expected_shapes
    assert [w["name"] for w in d["weights"]] == list(expected_shapes)  # layer by layer, W R B P as the node reads them
    assert rep.total_params == sum(math.prod(shape) for shape in expected_shapes.values())

    fan_in = {f"W_l{k}": widths[k] for k in range(layers)} | {f"R_l{k}": sizes[k] for k in range(layers)}
    seed = 900 + SIZED.index((case, sizes))
    arrays = random_weights(expected_shapes, fan_in, seed)
    x_shape = schema_sequence_shapes(op, case)["X"]
    xs = np.random.default_rng(seed + 1).standard_normal(x_shape).astype(np.float32)
    model = stacked_model(op, case, layers, arrays, x_shape, sizes)
    inferred, from_inference = inferred_shapes(model)
    checker.check_model(inferred, full_check=True)
    expected = dict(zip(outputs_of(op), ReferenceEvaluator(model).run(None, {"X": xs})))

    sequence = {name: entry["shape"] for name, entry in by_name(d["sequence"], "sequence").items()}
    actual = run_sequence(rep, {name: array.copy() for name, array in arrays.items()}, xs.copy())
    for name, want in expected.items():
        assert sequence[name] == from_inference[name] == list(want.shape), (
            f"{name}: tool {sequence[name]}, onnx inference {from_inference[name]}, onnx ran to {list(want.shape)}"
        )
        np.testing.assert_allclose(np.asarray(actual[name]), want, rtol=0, atol=ATOL, err_msg=f"{case.id} {sizes}: {name}")


@pytest.mark.parametrize("op,cell", [("LSTM", "lstm"), ("GRU", "gru"), ("RNN", "rnn")])
def test_the_layout_note_says_what_onnxruntime_does(op: str, cell: str) -> None:
    """The note that onnxruntime refuses layout=1 holds for the installed onnxruntime, and layout=0 runs."""
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed: its layout check skipped")
    results = {}
    for batch_first in (False, True):
        case = Case(cell, 3, 2, 2, 4, False, True, False, False, batch_first)
        report = build(case.config())
        shapes = {w.name: list(w.shape) for w in report.weights}
        weights = random_weights(shapes, {name: 3 for name in shapes}, seed=5)
        x_dims = [case.batch, case.seq_len, 3] if batch_first else [case.seq_len, case.batch, 3]
        model = onnx_node_model(op, case, weights, x_dims)
        model.ir_version = min(model.ir_version, 8)  # what onnxruntime reads, whatever onnx writes
        try:
            session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
            session.run(None, {"X": np.zeros(x_dims, dtype=np.float32)})
            results[batch_first] = "runs"
        except Exception as exc:  # onnxruntime raises its own exception types
            results[batch_first] = f"refused: {exc}"
        noted = any("onnxruntime refuses layout=1" in note for note in report.notes)
        assert noted == batch_first
    assert results[False] == "runs"
    assert results[True].startswith("refused") and "layout" in results[True]
