"""safetensors files and sharded `*.safetensors.index.json` checkpoints, read from their JSON headers."""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Callable
from typing import Any

from ..errors import FileFormatError
from . import ModelFile, TensorInfo, need, read_elements

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
MAX_HEADER = 100_000_000  # the safetensors library's own limit on a header


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
    try:
        with open(path, "rb") as raw:
            (size,) = struct.unpack("<Q", raw.read(8))
            if size > MAX_HEADER:  # the library has checked it, but the file may have changed since
                raise ValueError(f"a header of {size} bytes")
            header: dict[str, Any] = json.loads(raw.read(size))
    except (OSError, ValueError, struct.error, RecursionError) as error:
        raise FileFormatError(f"{path}: the header cannot be read again ({error})") from None
    if not isinstance(header, dict):
        raise FileFormatError(f"{path}: the header is not a JSON object")
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


def _ranger(path: str, info: TensorInfo, headers: dict[str, dict[str, Any]]) -> Callable[[int, int], Any]:
    """Flat element ranges of one tensor, at the offsets its file's header gives (read once, on first use)."""
    numel = math.prod(info.shape)

    def read(start: int, count: int) -> Any:
        import numpy as np

        if path not in headers:
            headers[path] = _header(path)
        found = headers[path]
        kind = np.dtype(getattr(need("ml_dtypes", f"{info.dtype} data"), info.dtype) if info.dtype in ML_DTYPES
                        else info.dtype).newbyteorder("<")
        entry = found["header"].get(info.name)
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
                and 0 <= offsets[0] and offsets[1] - offsets[0] == numel * kind.itemsize):
            raise FileFormatError(f"{path}: the header's data_offsets of {info.name} do not fit its shape and dtype")
        return read_elements(path, info.name, found["start"] + offsets[0], kind, numel, start, count)

    return read


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
    headers: dict[str, dict[str, Any]] = {}  # each file's header, shared by its tensors' ranged reads
    for name, info in tensors.items():
        if info.dtype in NUMPY_NATIVE or info.dtype in ML_DTYPES:
            model.loaders[name] = _loader(files[name], name, info.dtype, info.shape)
            model.ranges[name] = _ranger(files[name], info, headers)
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
