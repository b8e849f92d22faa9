"""The ONNX reader against models built with onnx.helper (checked by onnx and run by onnxruntime) and torch's export.

Expected shapes are the ONNX spec's (W: [D, G·h, x], R: [D, G·h, h], B: [D, 2·G·h]) written out by hand,
or what onnxruntime computes for a tensor made in the graph.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lstm_shapes.errors import FileFormatError
from lstm_shapes.files import INSTALL_HINT, read

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

RNG = np.random.default_rng(5)
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")  # torch.onnx.export


def init(name: str, *shape: int) -> Any:
    return numpy_helper.from_array(RNG.uniform(-1, 1, shape).astype(np.float32), name)


def out(name: str, rank: int, kind: int = TensorProto.FLOAT) -> Any:
    """A graph output of known rank and symbolic sizes (the checker wants a shape)."""
    return helper.make_tensor_value_info(name, kind, [f"{name}_{i}" for i in range(rank)])


def save(graph: Any, path: Path, **kwargs: Any) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)  # onnxruntime 1.31 reads up to 13
    onnx.checker.check_model(model)
    onnx.save_model(model, str(path), **kwargs)
    return path


def run(path: Path, feeds: dict[str, Any]) -> list[Any]:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)


def lstm_graph() -> Any:
    """A bidirectional LSTM, x=4, h=3: W (2, 12, 4), R (2, 12, 3), B (2, 24), P (2, 9); no sequence_lens."""
    node = helper.make_node("LSTM", ["X", "W", "R", "B", "", "", "", "P"], ["Y", "Y_h", "Y_c"], name="enc",
                            hidden_size=3, direction="bidirectional", input_forget=1, clip=5.0,
                            activations=["Sigmoid", "Tanh", "Tanh"] * 2)
    return helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [5, 2, 4])],
        [out("Y", 4)],
        [init("W", 2, 12, 4), init("R", 2, 12, 3), init("B", 2, 24), init("P", 2, 9)])


def test_lstm_node_with_its_attributes_inputs_and_initializers(tmp_path: Path) -> None:
    path = save(lstm_graph(), tmp_path / "m.onnx")
    (y,) = run(path, {"X": np.zeros((5, 2, 4), np.float32)})[:1]
    assert y.shape == (5, 2, 2, 3)  # onnxruntime accepts the weights: [T, D, N, h]
    got = read(path)
    assert {n: t.shape for n, t in got.tensors.items()} == {"W": (2, 12, 4), "R": (2, 12, 3), "B": (2, 24), "P": (2, 9)}
    assert all(t.dtype == "float32" for t in got.tensors.values())
    (layer,) = got.layers
    assert (layer.name, layer.kind) == ("enc", "LSTM")
    assert layer.tensors == ("X", "W", "R", "B", "", "", "", "P")
    assert layer.config == {"hidden_size": 3, "direction": "bidirectional", "input_forget": 1, "clip": 5.0,
                            "activations": ["Sigmoid", "Tanh", "Tanh"] * 2}
    stored = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}
    for name, value in stored.items():
        np.testing.assert_array_equal(got.load(name), value)


def gru(name: str, h: int, x: int, prefix: str, **attrs: Any) -> tuple[Any, list[Any]]:
    node = helper.make_node("GRU", [f"{prefix}X", f"{prefix}W", f"{prefix}R"], [f"{prefix}Y"], name=name,
                            hidden_size=h, **attrs)
    return node, [init(f"{prefix}W", 1, 3 * h, x), init(f"{prefix}R", 1, 3 * h, h)]


def test_nodes_inside_if_and_loop_subgraphs_have_path_qualified_names(tmp_path: Path) -> None:
    then_gru, then_init = gru("g1", 2, 4, "t_", linear_before_reset=1)
    else_rnn = helper.make_node("RNN", ["e_X", "e_W", "e_R"], ["e_Y"], name="r1", hidden_size=3, layout=0)
    x_in = helper.make_tensor_value_info
    then_graph = helper.make_graph([helper.make_node("Identity", ["X"], ["t_X"]), then_gru], "then", [],
                                   [out("t_Y", 4)], then_init)
    else_graph = helper.make_graph([helper.make_node("Identity", ["X"], ["e_X"]), else_rnn], "else", [],
                                   [out("e_Y", 4)], [init("e_W", 1, 3, 4), init("e_R", 1, 3, 3)])
    body_gru = helper.make_node("GRU", ["X", "l_W", "l_R"], ["l_Y"], hidden_size=2)  # unnamed: named by position
    body = helper.make_graph(
        [body_gru, helper.make_node("Identity", ["cond_in"], ["cond_out"])], "body",
        [x_in("i", TensorProto.INT64, []), x_in("cond_in", TensorProto.BOOL, [])],
        [x_in("cond_out", TensorProto.BOOL, []), out("l_Y", 4)],
        [init("l_W", 1, 6, 4), init("l_R", 1, 6, 2)])
    nodes = [helper.make_node("If", ["c"], ["out"], name="branch", then_branch=then_graph, else_branch=else_graph),
             helper.make_node("Loop", ["n", ""], ["scan_out"], name="loop", body=body)]
    graph = helper.make_graph(nodes, "g", [x_in("X", TensorProto.FLOAT, [5, 1, 4]), x_in("c", TensorProto.BOOL, []),
                                           x_in("n", TensorProto.INT64, [])],
                              [out("out", 4), out("scan_out", 5)])
    path = save(graph, tmp_path / "sub.onnx")
    outs = run(path, {"X": np.zeros((5, 1, 4), np.float32), "c": np.array(True), "n": np.array(2, np.int64)})
    assert outs[0].shape == (5, 1, 1, 2) and outs[1].shape == (2, 5, 1, 1, 2)  # onnxruntime runs both
    got = read(path)
    # In the file's order: onnx.helper stores a node's attributes sorted by name, else_branch first.
    assert [(layer.name, layer.kind) for layer in got.layers] == [
        ("branch/else_branch/r1", "RNN"), ("branch/then_branch/g1", "GRU"), ("loop/body/GRU_0", "GRU")]
    assert got.layers[1].config == {"hidden_size": 2, "linear_before_reset": 1}
    assert {n: t.shape for n, t in got.tensors.items()} == {
        "t_W": (1, 6, 4), "t_R": (1, 6, 2), "e_W": (1, 3, 4), "e_R": (1, 3, 3), "l_W": (1, 6, 4), "l_R": (1, 6, 2)}


def gru_stack(linear_before_reset: int, layers: int) -> Any:
    """GRU nodes (x=3, h=2) whose initializers carry the tool's own ONNX names (W, R, B; W_l0, ... for a stack)."""
    nodes, inits, layer_in = [], [], "X"
    for k in range(layers):
        at = "" if layers == 1 else f"_l{k}"
        nodes.append(helper.make_node("GRU", [layer_in, f"W{at}", f"R{at}", f"B{at}"], [f"Y{k}"], name=f"gru{k}",
                                      hidden_size=2, linear_before_reset=linear_before_reset))
        nodes.append(helper.make_node("Squeeze", [f"Y{k}", "axis"], [f"S{k}"]))  # (T, 1, N, h) -> (T, N, h)
        inits += [init(f"W{at}", 1, 6, 3 if k == 0 else 2), init(f"R{at}", 1, 6, 2), init(f"B{at}", 1, 12)]
        layer_in = f"S{k}"
    inits.append(numpy_helper.from_array(np.array([1], np.int64), "axis"))
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [5, 1, 3])
    return helper.make_graph(nodes, "g", [x], [out(layer_in, 3)], inits)


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("linear_before_reset", [0, 1])
def test_a_gru_found_by_its_names_takes_linear_before_reset_from_its_nodes(
        tmp_path: Path, linear_before_reset: int, layers: int) -> None:
    # The names say ONNX and the shapes fit either reset placement; the node attribute decides, as onnxruntime does.
    from lstm_shapes.inspection import inspect_path

    path = save(gru_stack(linear_before_reset, layers), tmp_path / "gru.onnx")
    assert run(path, {"X": np.zeros((5, 1, 3), np.float32)})[0].shape == (5, 1, 2)
    (layer,) = inspect_path(str(path)).layers
    assert (layer.framework, layer.config.layers) == ("onnx", layers)
    assert layer.config.reset_after is bool(linear_before_reset)


def test_weights_computed_in_the_graph_get_the_shape_onnxruntime_computes(tmp_path: Path) -> None:
    # W = Concat(W_f, W_b) on axis 0; R from a Constant node; B = Transpose of an initializer (24, 2) -> (2, 24).
    nodes = [
        helper.make_node("Concat", ["W_f", "W_b"], ["W"], axis=0),
        helper.make_node("Constant", [], ["R"], value=init("R_value", 2, 12, 3)),
        helper.make_node("Transpose", ["B_t"], ["B"], perm=[1, 0]),
        helper.make_node("LSTM", ["X", "W", "R", "B"], ["Y"], hidden_size=3, direction="bidirectional"),
    ]
    outputs = [out(n, rank) for n, rank in (("Y", 4), ("W", 3), ("R", 3), ("B", 2))]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [5, 2, 4])], outputs,
                              [init("W_f", 1, 12, 4), init("W_b", 1, 12, 4), init("B_t", 24, 2)])
    path = save(graph, tmp_path / "computed.onnx")
    _, w, r, b = run(path, {"X": np.zeros((5, 2, 4), np.float32)})
    got = read(path)
    assert got.tensors["W"].shape == w.shape and got.tensors["R"].shape == r.shape and got.tensors["B"].shape == b.shape
    np.testing.assert_array_equal(got.load("R"), r)  # a Constant's value is in the file
    assert "W" not in got.loaders  # computed: no data to read
    assert got.warnings == []


def test_a_weight_whose_shape_cannot_be_inferred_is_a_warning(tmp_path: Path) -> None:
    nodes = [helper.make_node("Reshape", ["W_flat", "shape"], ["W"]),
             helper.make_node("LSTM", ["X", "W", "R"], ["Y"], name="l", hidden_size=3)]
    ins = [helper.make_tensor_value_info("X", TensorProto.FLOAT, [5, 2, 4]),
           helper.make_tensor_value_info("shape", TensorProto.INT64, [3])]  # known only at run time
    graph = helper.make_graph(nodes, "g", ins, [out("Y", 4)],
                              [init("W_flat", 48), init("R", 1, 12, 3)])
    got = read(save(graph, tmp_path / "dyn.onnx"))
    assert "W" not in got.tensors and got.tensors["R"].shape == (1, 12, 3)
    assert got.warnings == ["l: the shape of W (W) cannot be inferred; it is computed in the graph"]


def test_external_data_shapes_without_the_data_and_a_missing_file_warns(tmp_path: Path) -> None:
    path = save(lstm_graph(), tmp_path / "ext.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                location="ext.data", size_threshold=0)
    assert (tmp_path / "ext.data").exists()
    got = read(path)
    assert {n: t.shape for n, t in got.tensors.items()} == {"W": (2, 12, 4), "R": (2, 12, 3), "B": (2, 24), "P": (2, 9)}
    whole = onnx.load(str(path))  # onnx itself, with the data
    for t in whole.graph.initializer:
        np.testing.assert_array_equal(got.load(t.name), numpy_helper.to_array(t))
    (tmp_path / "ext.data").unlink()
    got = read(path)
    assert got.tensors["W"].shape == (2, 12, 4)
    assert any("ext.data is missing" in w for w in got.warnings)
    with pytest.raises(FileFormatError, match="cannot be read"):
        got.load("W")


def test_external_data_outside_the_models_folder_is_not_read(tmp_path: Path) -> None:
    model = helper.make_model(lstm_graph())
    w = model.graph.initializer[0]
    w.ClearField("raw_data")
    w.ClearField("float_data")
    w.data_location = TensorProto.EXTERNAL
    w.external_data.add(key="location", value="../../etc/passwd")
    (tmp_path / "m").mkdir()
    onnx.save_model(model, str(tmp_path / "m" / "evil.onnx"))
    got = read(tmp_path / "m" / "evil.onnx")
    assert got.tensors["W"].shape == (2, 12, 4) and "W" not in got.loaders
    assert any("outside the model's folder" in w for w in got.warnings)


def test_torch_exported_lstm_and_gru(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    for cls, gates in ((torch.nn.LSTM, 4), (torch.nn.GRU, 3)):
        module = cls(4, 3, num_layers=2, bidirectional=True)
        path = tmp_path / f"{cls.__name__}.onnx"
        try:
            torch.onnx.export(module, (torch.zeros(5, 2, 4),), str(path), dynamo=False)
        except Exception as e:  # the exporter's own dependencies vary by torch version
            pytest.skip(f"torch.onnx.export failed: {e}")
        got = read(path)
        assert [layer.kind for layer in got.layers] == [cls.__name__] * 2
        for layer, x in zip(got.layers, (4, 6)):  # layer 1 reads both directions of layer 0
            _, w, r, b = layer.tensors[:4]
            # torch's weight_ih_l{k} is (G·h, x) per direction; ONNX stacks directions in front.
            assert got.tensors[w].shape == (2, *module.weight_ih_l0.shape[:1], x)
            assert got.tensors[r].shape == (2, gates * 3, 3) and got.tensors[b].shape == (2, 2 * gates * 3)
            assert layer.config["hidden_size"] == 3 and layer.config["direction"] == "bidirectional"


def one_line_error(path: Path) -> str:
    with pytest.raises(FileFormatError) as caught:
        read(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)
    return str(caught.value)


def test_protobuf_garbage(tmp_path: Path) -> None:
    (tmp_path / "g.onnx").write_bytes(bytes(RNG.integers(0, 256, 4096, dtype=np.uint8)))
    assert "not a readable ONNX model" in one_line_error(tmp_path / "g.onnx")
    (tmp_path / "t.onnx").write_bytes(save(lstm_graph(), tmp_path / "whole.onnx").read_bytes()[:100])
    one_line_error(tmp_path / "t.onnx")


def varint(n: int) -> bytes:
    out = b""
    while True:
        out += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
        n >>= 7
        if not n:
            return out


def field(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def nested_ifs(levels: int) -> bytes:
    """A ModelProto of If nodes nested `levels` deep, written in protobuf's wire format (onnx.helper refuses the depth)."""
    graph = b""
    for _ in range(levels):
        attribute = field(1, b"then_branch") + varint(20 << 3) + varint(5) + field(6, graph)  # type GRAPH, g
        graph = field(1, field(4, b"If") + field(5, attribute))  # GraphProto.node: NodeProto op_type, attribute
    return varint(1 << 3) + varint(9) + field(7, graph)  # ir_version, graph


@pytest.mark.parametrize("levels", [20, 300])
def test_subgraphs_nested_too_deep(tmp_path: Path, levels: int) -> None:
    # 20 levels parse, and the reader stops them; 300 are past protobuf's own depth limit.
    (tmp_path / "deep.onnx").write_bytes(nested_ifs(levels))
    message = one_line_error(tmp_path / "deep.onnx")
    assert "nested more than 16 deep" in message if levels == 20 else "not a readable ONNX model" in message


def test_missing_onnx_is_one_line_naming_the_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = save(lstm_graph(), tmp_path / "m.onnx")
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(FileFormatError) as caught:
        read(path)
    assert str(caught.value) == f"reading ONNX files needs the onnx package: {INSTALL_HINT}"
