"""safetensors files and sharded `*.safetensors.index.json` checkpoints, read from their JSON headers."""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Callable
from typing import Any

from ..errors import FileFormatError
from . import ModelFile, TensorInfo, need

# safetensors' dtype codes -> numpy's names (the ml_dtypes names for the small floats)
DTYPES = {
    "BOOL": "bool", "U8": "uint8", "I8": "int8", "U16": "uint16", "I16": "int16", "F16": "float16",
    "BF16": "bfloat16", "U32": "uint32", "I32": "int32", "F32": "float32", "F64": "float64", "U64": "uint64",
    "I64": "int64", "C64": "complex64", "F8_E5M2": "float8_e5m2", "F8_E4M3": "float8_e4m3fn",
    "F8_E8M0": "float8_e8m0fnu", "F4": "float4_e2m1fn", "F6_E2M3": "float6_e2m3fn", "F6_E3M2": "float6_e3m2fn",
}
NUMPY_NATIVE = {"bool", "uint8", "int8", "uint16", "int16", "float16", "uint32", "int32", "float32", "float64",
                "uint64", "int64", "complex64"}
# dtypes numpy knows only through ml_dtypes (F4 and F6 pack values below a byte: no loader for them)
ML_DTYPES = {"bfloat16", "float8_e5m2", "float8_e4m3fn", "float8_e8m0fnu"}
MAX_INDEX = 64 << 20  # an index.json larger than this is refused


def _library() -> Any:
    return need("safetensors", "safetensors files")


def _open(path: str) -> Any:
    library = _library()
    try:
        return library.safe_open(path, framework="numpy")
    except Exception as error:  # the library's own errors (SafetensorError, OSError): one line, never a traceback
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise FileFormatError(f"{path}: not a readable safetensors file ({message})") from None


def _header(path: str) -> dict[str, Any]:
    """The JSON header, read again only to find the bytes of a dtype numpy does not know."""
    with open(path, "rb") as raw:
        (size,) = struct.unpack("<Q", raw.read(8))
        header: dict[str, Any] = json.loads(raw.read(size))  # the library has already checked it
    return {"header": header, "start": 8 + size}


def _loader(path: str, name: str, dtype: str, shape: tuple[int, ...]) -> Callable[[], Any]:
    def load() -> Any:
        if dtype in NUMPY_NATIVE:
            with _open(path) as handle:
                return handle.get_tensor(name)
        import numpy as np

        kind = np.dtype(getattr(need("ml_dtypes", f"{dtype} data"), dtype))
        found = _header(path)
        begin, end = found["header"][name]["data_offsets"]
        with open(path, "rb") as raw:
            raw.seek(found["start"] + begin)
            data = raw.read(end - begin)
        return np.frombuffer(data, dtype=kind).reshape(shape).copy()

    return load


def _tensors(path: str, names: list[str] | None, index: str = "") -> tuple[dict[str, TensorInfo], list[str]]:
    """The named tensors of one file (all of them, in the file's order, when `names` is None) and the unnamed rest."""
    with _open(path) as handle:
        # in the order of their data in the file (offset_keys, safetensors >= 0.5), else by name
        present = list(handle.offset_keys() if hasattr(handle, "offset_keys") else handle.keys())
        wanted = present if names is None else names
        known = set(present)
        found = {}
        for name in wanted:
            if name not in known:
                shard = os.path.basename(path)
                raise FileFormatError(f"{index}: places {name} in shard {shard}, which has no tensor {name}")
            piece = handle.get_slice(name)
            code = piece.get_dtype()
            found[name] = TensorInfo(name, tuple(piece.get_shape()), DTYPES.get(code, code.lower()))
    extra = [name for name in present if name not in set(wanted)]
    return found, extra


def _model(path: str, tensors: dict[str, TensorInfo], files: dict[str, str]) -> ModelFile:
    model = ModelFile(path, "safetensors", tensors)
    for name, info in tensors.items():
        if info.dtype in NUMPY_NATIVE or info.dtype in ML_DTYPES:
            model.loaders[name] = _loader(files[name], name, info.dtype, info.shape)
    return model


def read_safetensors(path: str) -> ModelFile:
    """One .safetensors file: every tensor in its header, in the order of their data."""
    tensors, _ = _tensors(path, None)
    if not tensors:
        raise FileFormatError(f"{path}: no tensors in this safetensors file")
    return _model(path, tensors, {name: path for name in tensors})


def read_safetensors_index(path: str) -> ModelFile:
    """A sharded checkpoint: the index's weight_map names every tensor and the shard beside the index holding it."""
    if os.path.getsize(path) > MAX_INDEX:
        raise FileFormatError(f"{path}: larger than {MAX_INDEX} bytes; not a safetensors index")
    try:
        with open(path, "rb") as raw:
            index = json.loads(raw.read())
    except (ValueError, RecursionError) as error:
        raise FileFormatError(f"{path}: not valid JSON ({type(error).__name__})") from None
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict) or not weight_map:
        raise FileFormatError(f"{path}: has no weight_map; not a safetensors index")
    folder = os.path.dirname(path)
    shards: dict[str, list[str]] = {}
    for name, shard in weight_map.items():
        if not isinstance(shard, str) or os.path.basename(shard) != shard or shard in ("", ".", ".."):
            raise FileFormatError(f"{path}: the shard of {name} is not a file name beside the index")
        shards.setdefault(shard, []).append(name)
    found: dict[str, TensorInfo] = {}
    files: dict[str, str] = {}
    warnings = []
    for shard, names in shards.items():
        shard_path = os.path.join(folder, shard)
        if not os.path.isfile(shard_path):
            raise FileFormatError(f"{path}: shard {shard} is missing (it holds {names[0]} and {len(names) - 1} more)")
        tensors, extra = _tensors(shard_path, names, path)
        found.update(tensors)
        files.update({name: shard_path for name in names})
        if extra:
            warnings.append(f"shard {shard} holds {len(extra)} tensor(s) the index does not list, e.g. {extra[0]}")
    model = _model(path, {name: found[name] for name in weight_map}, files)
    model.warnings = warnings
    return model
