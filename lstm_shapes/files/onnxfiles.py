"""ONNX files: every LSTM, GRU and RNN node (in subgraphs too) and the shapes of the tensors they read.

The model is parsed without its external data: an initializer's shape is in its dims. A W, R or B
that the graph computes (a Constant, a Concat of initializers, ...) gets the shape that
`onnx.shape_inference` finds for it, or a warning when none can be found.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import FileFormatError
from . import INSTALL_HINT, LayerInfo, ModelFile, TensorInfo

RECURRENT = ("LSTM", "GRU", "RNN")
ROLES = ("X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P")
MAX_DEPTH = 16  # subgraphs nested deeper than this are a hostile file, not a model


def _fail(path: str, what: str) -> FileFormatError:
    return FileFormatError(f"{path}: {what}")


def _dtype(onnx: Any, code: int) -> str:
    try:
        return str(onnx.helper.tensor_dtype_to_np_dtype(code).name)
    except Exception:  # a type numpy lacks (bfloat16, float8...): ONNX's own name, lower case
        return str(onnx.TensorProto.DataType.Name(code)).lower()


def _graphs(onnx: Any, graph: Any, prefix: str, depth: int, path: str) -> Iterator[tuple[str, Any]]:
    """The graph and every subgraph in it (If branches, Loop and Scan bodies), each with its path prefix."""
    if depth > MAX_DEPTH:
        raise _fail(path, f"subgraphs nested more than {MAX_DEPTH} deep")
    yield prefix, graph
    for i, node in enumerate(graph.node):
        for attr in node.attribute:
            subs = [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)
            for sub in subs:
                yield from _graphs(onnx, sub, f"{prefix}{node.name or f'{node.op_type}_{i}'}/{attr.name}/", depth + 1, path)


def _attributes(onnx: Any, node: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr in node.attribute:
        value = onnx.helper.get_attribute_value(attr)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif isinstance(value, list):
            value = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
        out[attr.name] = value
    return out


def read_onnx(path: str) -> ModelFile:
    """An `.onnx` file's recurrent nodes and the tensors they read; initializers listed from their dims."""
    try:  # imported by its statement: the library shares its name with a framework, which only frameworks/ may spell
        import onnx
    except ImportError:
        raise FileFormatError(f"reading ONNX files needs the onnx package: {INSTALL_HINT}") from None
    try:
        model = onnx.load(path, load_external_data=False)
    except Exception as e:  # protobuf's DecodeError, and others on damaged files
        raise _fail(path, f"not a readable ONNX model ({type(e).__name__}: {' '.join(str(e).split())[:120]})") from None
    if not model.HasField("graph"):  # protobuf reads an empty or foreign file as an empty model
        raise _fail(path, "not an ONNX model: it holds no graph")
    base = os.path.dirname(os.path.abspath(path))
    tensors: dict[str, TensorInfo] = {}
    layers: list[LayerInfo] = []
    warnings: list[str] = []
    loaders: dict[str, Callable[[], Any]] = {}
    constants: dict[str, Any] = {}  # Constant node output -> its value's TensorProto
    try:
        graphs = list(_graphs(onnx, model.graph, "", 0, path))
    except RecursionError:
        raise _fail(path, "subgraphs nested too deep") from None
    for _, graph in graphs:
        for t in graph.initializer:
            name = t.name if t.name not in tensors else f"{graph.name}/{t.name}"
            tensors[name] = TensorInfo(name, tuple(int(d) for d in t.dims), _dtype(onnx, t.data_type))
            loader = _loader(onnx, t, base, path, warnings)
            if loader is not None:
                loaders[name] = loader
        for node in graph.node:
            if node.op_type == "Constant" and node.output:
                for attr in node.attribute:
                    if attr.name == "value" and attr.type == onnx.AttributeProto.TENSOR:
                        constants[node.output[0]] = attr.t
    inferred: dict[str, TensorInfo] | None = None
    for prefix, graph in graphs:
        for i, node in enumerate(graph.node):
            if node.op_type not in RECURRENT or node.domain not in ("", "ai.onnx"):
                continue
            name = prefix + (node.name or f"{node.op_type}_{i}")
            inputs = tuple(node.input)
            layers.append(LayerInfo(name, node.op_type, _attributes(onnx, node), inputs))
            for role, tensor in zip(ROLES, inputs):
                if not tensor or tensor in tensors or role in ("X", "sequence_lens", "initial_h", "initial_c"):
                    continue
                if tensor in constants:
                    t = constants[tensor]
                    tensors[tensor] = TensorInfo(tensor, tuple(int(d) for d in t.dims), _dtype(onnx, t.data_type))
                    loaders[tensor] = (lambda t=t: onnx.numpy_helper.to_array(t))
                    continue
                if inferred is None:
                    inferred = _infer(onnx, model, warnings)
                if tensor in inferred:
                    tensors[tensor] = inferred[tensor]
                else:
                    warnings.append(f"{name}: the shape of {role} ({tensor}) cannot be inferred; it is computed in the graph")
    return ModelFile(path, "onnx-model", tensors, layers, warnings, loaders)


def _infer(onnx: Any, model: Any, warnings: list[str]) -> dict[str, TensorInfo]:
    """Every value whose shape shape inference knows in full, in the graph and its subgraphs."""
    try:
        done = onnx.shape_inference.infer_shapes(model)
    except Exception as e:  # inference refuses some models: their computed tensors stay unknown
        warnings.append(f"shape inference failed ({type(e).__name__}); computed W, R, B have no shape")
        return {}
    out: dict[str, TensorInfo] = {}
    for _, graph in _graphs(onnx, done.graph, "", 0, ""):
        for info in [*graph.value_info, *graph.input, *graph.output]:
            kind = info.type.tensor_type
            if not kind.HasField("shape"):
                continue
            dims = [d.dim_value if d.HasField("dim_value") else None for d in kind.shape.dim]
            if all(d is not None for d in dims):
                out[info.name] = TensorInfo(info.name, tuple(int(d) for d in dims if d is not None),
                                            _dtype(onnx, kind.elem_type))
    return out


def _loader(onnx: Any, t: Any, base: str, path: str, warnings: list[str]) -> Callable[[], Any] | None:
    """A function reading an initializer's data; for external data, only when its file is there and inside the model's folder."""
    if t.data_location != onnx.TensorProto.EXTERNAL:
        return lambda: onnx.numpy_helper.to_array(t)
    location = {e.key: e.value for e in t.external_data}.get("location", "")
    where = os.path.realpath(os.path.join(base, location))
    if not location or os.path.commonpath([where, os.path.realpath(base)]) != os.path.realpath(base):
        warnings.append(f"{t.name}: external data at {location!r} is outside the model's folder; not read")
        return None
    if not os.path.isfile(where):
        warnings.append(f"{t.name}: its external data file {location} is missing; the shape is known, the data cannot be read")
        return None

    def load() -> Any:
        copy = onnx.TensorProto()
        copy.CopyFrom(t)
        try:
            onnx.external_data_helper.load_external_data_for_tensor(copy, base)
            return onnx.numpy_helper.to_array(copy)
        except Exception as e:
            raise _fail(path, f"the external data of {t.name} cannot be read ({type(e).__name__})") from None
    return load
