"""NumPy's .npy arrays and .npz archives, read from the array headers; pickled object arrays are never loaded."""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Callable
from typing import IO, Any

from ..errors import FileFormatError
from . import ModelFile, TensorInfo, read_elements
from .archive import ZIP_ERRORS, open_member, open_zip, stored, stored_start

NUMERIC = "biufc"  # numpy's kinds of bool, signed, unsigned, float and complex arrays


def _header(stream: IO[bytes], where: str) -> tuple[tuple[int, ...], Any, bool]:
    """The shape, dtype and Fortran order in an array's header, read without its data (or one line saying why not)."""
    from numpy.lib import format as npformat

    try:
        version = npformat.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = npformat.read_array_header_1_0(stream)
        elif version in ((2, 0), (3, 0)):  # 3.0 encodes the header in UTF-8, which a numeric dtype's ASCII header is
            shape, fortran, dtype = npformat.read_array_header_2_0(stream)
        else:
            raise ValueError(f"format version {version[0]}.{version[1]} is unknown")
    except (ValueError, SyntaxError, TypeError, EOFError, *ZIP_ERRORS) as error:
        raise FileFormatError(f"{where}: not a readable .npy array header ({str(error).splitlines()[0]})") from None
    return tuple(shape), dtype, bool(fortran) and len(shape) > 1


def _skip_reason(dtype: Any) -> str | None:
    if dtype.hasobject:
        return "an array of Python objects (reading it would unpickle code)"
    if dtype.kind not in NUMERIC or dtype.subdtype is not None:
        return f"an array of {dtype}, not numbers"
    return None


def read_npy(path: str) -> ModelFile:
    """One .npy array, named after the file (weights.npy -> weights)."""
    with open(path, "rb") as raw:
        shape, dtype, fortran = _header(raw, path)
        start = raw.tell()
    reason = _skip_reason(dtype)
    if reason:
        raise FileFormatError(f"{path}: holds {reason}; not read")
    name = os.path.basename(path)[: -len(".npy")]
    model = ModelFile(path, "npy", {name: TensorInfo(name, shape, dtype.name)})
    if os.path.getsize(path) >= start + math.prod(shape) * dtype.itemsize:
        model.loaders[name] = lambda: _load_npy(path)
        if not fortran:
            model.ranges[name] = _ranger(path, name, lambda: start, shape, dtype)
    else:
        model.warnings.append(f"{path} is shorter than its header says (truncated): its data cannot be loaded")
    return model


def _load_npy(path: str) -> Any:
    import numpy as np

    return np.load(path, allow_pickle=False)


def read_npz(path: str) -> ModelFile:
    """A .npz archive: one tensor per .npy member, named as numpy.load names them (the member without .npy)."""
    model = ModelFile(path, "npz", {})
    with open_zip(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                model.warnings.append(f"{info.filename} is not a .npy array; skipped")
                continue
            name = info.filename[: -len(".npy")]
            with open_member(archive, path, info.filename) as member:
                shape, dtype, fortran = _header(member, f"{path}: {info.filename}")
                start = member.tell()
            reason = _skip_reason(dtype)
            if reason:
                model.warnings.append(f"{name} is {reason}; skipped")
                continue
            model.tensors[name] = TensorInfo(name, shape, dtype.name)
            if info.file_size == start + math.prod(shape) * dtype.itemsize:
                model.loaders[name] = _npz_loader(path, info.filename)
                if stored(info) and not fortran:
                    model.ranges[name] = _ranger(path, name, _member_start(path, info, start), shape, dtype)
            else:
                model.warnings.append(f"{name}: its member's size disagrees with its header; its data cannot be loaded")
    if not model.tensors:
        raise FileFormatError(f"{path}: no numeric arrays in this .npz archive")
    return model


def _npz_loader(path: str, member: str) -> Callable[[], Any]:
    def load() -> Any:
        from numpy.lib import format as npformat

        with zipfile.ZipFile(path) as archive, archive.open(member) as stream:
            return npformat.read_array(stream, allow_pickle=False)

    return load


def _ranger(path: str, name: str, where: Callable[[], int], shape: tuple[int, ...], dtype: Any) -> Callable[[int, int], Any]:
    """Flat element ranges of a C-order array whose data begins at byte `where()` of the file."""
    numel = math.prod(shape)
    return lambda start, count: read_elements(path, name, where(), dtype, numel, start, count)


def _member_start(path: str, info: zipfile.ZipInfo, header: int) -> Callable[[], int]:
    """Where a stored member's array data begins in the file: its local header is read on first use."""
    found: list[int] = []

    def where() -> int:
        if not found:
            found.append(stored_start(path, info) + header)
        return found[0]

    return where
