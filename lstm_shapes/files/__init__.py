"""Readers of model files that learn tensor names and shapes from headers alone, without a framework.

`read(path)` picks a reader by the file's name (then its first bytes) and returns a `ModelFile`.
No reader imports a deep-learning framework or runs anything stored in a file; the optional
libraries (h5py, onnx, msgpack, safetensors) are imported by the reader that needs them, and a
missing one is a one-line `FileFormatError` saying what to install. Nothing here is imported on the
plain trace path.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import FileFormatError

INSTALL_HINT = 'pip install "lstm-shapes[files]"'


@dataclass(frozen=True)
class TensorInfo:
    """One stored tensor as its file describes it; the data stays in the file until `ModelFile.load` asks."""

    name: str
    shape: tuple[int, ...]
    dtype: str  # numpy's name: "float32", "float16", "bfloat16", "int64", ...


@dataclass(frozen=True)
class LayerInfo:
    """What a file says of one layer beyond its tensors: a Keras layer's config, an ONNX node's attributes."""

    name: str  # the layer's name or the node's name/path in the file
    kind: str  # Keras class_name ("LSTM", "Bidirectional", ...) or ONNX op_type ("LSTM", "GRU", "RNN")
    config: dict[str, Any]  # the layer's config or the node's attributes, as plain Python values
    tensors: tuple[str, ...]  # the names (keys of ModelFile.tensors) of the tensors it owns or reads, in order


@dataclass
class ModelFile:
    """A model file's tensors in file order, what it says of its layers, and warnings for the reader."""

    path: str
    format: str  # one of FORMATS' names
    tensors: dict[str, TensorInfo]
    layers: list[LayerInfo] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # name -> a function that reads that tensor's data as a numpy array (for convert); absent where unreadable
    loaders: dict[str, Callable[[], Any]] = field(default_factory=dict, repr=False)
    # name -> a function reading `count` elements from flat C-order element `start`, only those bytes from disk
    ranges: dict[str, Callable[[int, int], Any]] = field(default_factory=dict, repr=False)

    def load(self, name: str) -> Any:
        """The tensor's data as a numpy array, read from the file only now."""
        if name not in self.loaders:
            raise FileFormatError(f"{self.path}: the data of {name} cannot be read from this file")
        return self.loaders[name]()


def read_elements(path: str, name: str, offset: int, dtype: Any, total: int, start: int, count: int) -> Any:
    """Elements `start` to `start + count` of the `total` of tensor `name`, whose data begins at byte `offset` of the
    file, read into a new array with plain reads (no mmap: the page cache is not counted as this process's memory)."""
    import numpy as np

    if start < 0 or count < 0 or start + count > total:
        raise FileFormatError(f"{path}: elements {start} to {start + count} of {name} were asked for; it has {total}")
    out = np.empty(count, dtype)
    buffer = memoryview(out.view(np.uint8))  # a byte view: the buffer protocol refuses ml_dtypes' types
    done = 0
    try:
        with open(path, "rb", buffering=0) as raw:
            raw.seek(offset + start * out.itemsize)
            while done < len(buffer):
                got = raw.readinto(buffer[done:])  # one read may return less (a 2 GiB cap, signals)
                if not got:
                    break
                done += got
    except OSError as error:
        raise FileFormatError(f"{path}: the data of {name} cannot be read ({(error.strerror or str(error)).lower()})") from None
    if done < len(buffer):
        raise FileFormatError(f"{path}: the data of {name} ends early (truncated file)")
    return out if out.dtype.isnative else out.astype(out.dtype.newbyteorder("="))


def numpy_dtype(name: str) -> Any:
    """numpy's dtype for a dtype's name: the name itself, or ml_dtypes' type for bfloat16 and the float8 kinds."""
    if name == "bfloat16" or name.startswith("float8"):
        return getattr(need("ml_dtypes", f"{name} data"), name)
    return name


def need(module: str, what: str) -> Any:
    """Import an optional library, or raise one line saying how to get it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise FileFormatError(f"reading {what} needs the {module} package: {INSTALL_HINT}") from None


# name suffix -> reader module (under lstm_shapes.files) and its function; the longest suffix wins.
READERS: dict[str, tuple[str, str]] = {
    ".pt": ("torch", "read_torch"),
    ".pth": ("torch", "read_torch"),
    ".bin": ("torch", "read_torch"),
    ".ckpt": ("torch", "read_torch"),
    ".jit": ("torch", "read_torch"),
    ".safetensors": ("safetensors", "read_safetensors"),
    ".safetensors.index.json": ("safetensors", "read_safetensors_index"),
    ".npy": ("npfiles", "read_npy"),
    ".npz": ("npfiles", "read_npz"),
    ".keras": ("kerasfiles", "read_keras"),
    ".h5": ("kerasfiles", "read_h5"),
    ".hdf5": ("kerasfiles", "read_h5"),
    ".onnx": ("onnxfiles", "read_onnx"),
    ".msgpack": ("flaxfiles", "read_msgpack"), ".flax": ("flaxfiles", "read_msgpack"),
}


def read(path: str | os.PathLike[str]) -> ModelFile:
    """The file's tensors and layers; a `FileFormatError` (one line, naming the file) if it cannot be read."""
    import importlib

    path = os.fspath(path)
    try:
        status = os.stat(path)
    except OSError as error:  # missing, a symbolic link loop, not permitted: the system's own words
        raise FileFormatError(f"{path}: {(error.strerror or str(error)).lower()}") from None
    if stat.S_ISDIR(status.st_mode):
        raise FileFormatError(f"{path}: is a directory, not a model file")
    if stat.S_ISREG(status.st_mode) and status.st_size == 0:  # said alike for every format
        raise FileFormatError(f"{path}: the file is empty")
    lower = path.lower()
    for suffix in sorted(READERS, key=len, reverse=True):
        if lower.endswith(suffix):
            module, function = READERS[suffix]
            reader = getattr(importlib.import_module(f".{module}", __name__), function)
            result: ModelFile = reader(path)
            return result
    known = ", ".join(sorted(READERS))
    raise FileFormatError(f"{path}: not a model file this tool reads; it reads {known}")
