"""Writers of converted weights: one function per output format, picked by the output file's name.

A writer gets the `Target` (the target framework, each layer's configuration and its tensors' names and
shapes, in the order the tensors arrive) and an iterator of (name, numpy array). It writes to the path it is
given, which is a temporary file beside the real one: `atomic` renames it into place only once everything is
written (and proved), and removes it on any error, so a failure never leaves a partial file behind.
The streaming formats (safetensors, npz, h5) hold one tensor at a time; ONNX and msgpack build the whole
message in memory, as their libraries do.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import FileFormatError
from . import numpy_dtype

if TYPE_CHECKING:
    from ..config import Config
    from ..params import Weight

Tensors = Iterable[tuple[str, Any]]


@dataclass(frozen=True)
class TargetLayer:
    """One converted recurrent layer as the target framework holds it."""

    prefix: str  # put before each of the framework's own names (the user's --prefix, or the source layer's place)
    config: Config  # the target configuration: its framework is the target's
    weights: tuple[Weight, ...]  # the target tensors, named with the prefix, in the order they are written


@dataclass(frozen=True)
class Target:
    """What a writer writes: the target framework's layers, every tensor of one dtype."""

    framework: str
    layers: tuple[TargetLayer, ...]
    dtype: str  # numpy's name, e.g. "float32"

    @property
    def weights(self) -> tuple[Weight, ...]:
        return tuple(w for layer in self.layers for w in layer.weights)


@contextlib.contextmanager
def atomic(path: str, force: bool, suffix: str = "") -> Iterator[str]:
    """A temporary path beside `path` (ending in `suffix`, so that readers know it), renamed onto `path` when the
    block ends well and removed otherwise."""
    if os.path.isdir(path):
        raise FileFormatError(f"{path}: is a directory; give a file name")
    if os.path.lexists(path) and not force:
        raise FileFormatError(f"{path}: exists; --force replaces it")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileFormatError(f"{path}: the folder {folder} does not exist")
    try:
        handle, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".part" + suffix, dir=folder)
    except OSError as error:
        raise FileFormatError(f"{path}: cannot write there ({(error.strerror or str(error)).lower()})") from None
    os.close(handle)
    try:
        yield temporary
        mode = 0o666 & ~_umask()  # mkstemp makes 0600; a written file gets the usual permissions
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- safetensors and npz: streamed, one tensor in memory at a time ---------------------------------------

SAFETENSORS_DTYPES = {"float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16"}


def _ordered(target: Target, tensors: Tensors) -> Iterator[tuple[Weight, Any]]:
    """The tensors with their target weights, checked to arrive in the target's order and shapes."""
    weights = iter(target.weights)
    for name, array in tensors:
        w = next(weights, None)
        if w is None or w.name != name or tuple(array.shape) != tuple(w.shape):
            raise AssertionError(f"tensor {name} {array.shape} arrived out of order")
        yield w, array
        del array  # not held while the next tensor is made


def write_safetensors(path: str, target: Target, tensors: Tensors) -> None:
    """A safetensors file, its header first and then each tensor's bytes as they arrive.

    The safetensors library's writer takes every tensor at once; its format is a length, a JSON header of
    names, dtypes, shapes and byte offsets, and the raw little-endian data, so the header can be written from
    the shapes before the data exists. The file reads back with `safetensors.safe_open` (tested).
    """
    import numpy as np

    code = SAFETENSORS_DTYPES[target.dtype]
    itemsize = np.dtype(numpy_dtype(target.dtype)).itemsize
    header: dict[str, Any] = {}
    offset = 0
    for w in target.weights:
        size = itemsize * math.prod(w.shape)
        header[w.name] = {"dtype": code, "shape": list(w.shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as the library writes it
    with open(path, "wb") as out:
        out.write(len(text).to_bytes(8, "little"))
        out.write(text)
        for _, array in _ordered(target, tensors):
            data = np.ascontiguousarray(array.astype(array.dtype.newbyteorder("<"), copy=False)).reshape(-1)
            out.write(data.view(np.uint8).data)  # the array's own bytes, not a copy (as bytes: ml_dtypes have no buffer format)
            del array, data  # not held while the next tensor is made


def write_npz(path: str, target: Target, tensors: Tensors) -> None:
    """An uncompressed .npz archive (what numpy.savez writes), one member written per tensor as it arrives."""
    from numpy.lib import format as npformat

    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for w, array in _ordered(target, tensors):
            with archive.open(w.name + ".npy", "w", force_zip64=True) as member:
                npformat.write_array(member, array, allow_pickle=False)


# output name suffix -> (module under lstm_shapes.files, function, what the format is called); the longest wins
WRITERS: dict[str, tuple[str, str, str]] = {
    ".safetensors": ("writers", "write_safetensors", "safetensors"),
    ".npz": ("writers", "write_npz", "NumPy .npz"),
    ".h5": ("kerasout", "write_h5", "Keras h5"),  # Keras 3's .weights.h5 or tf-keras' h5, as the target says
    ".onnx": ("onnxout", "write_onnx", "ONNX model"),
    ".msgpack": ("flaxout", "write_msgpack", "Flax msgpack"),
}


def writer(path: str) -> tuple[Callable[[str, Target, Tensors], None], str, str]:
    """The writer for an output file's name, the format's name and the suffix that picked it; one line listing the
    choices otherwise."""
    import importlib

    lower = path.lower()
    for suffix in sorted(WRITERS, key=len, reverse=True):
        if lower.endswith(suffix):
            module, function, title = WRITERS[suffix]
            found: Callable[[str, Target, Tensors], None] = getattr(
                importlib.import_module(f".{module}", __package__), function)
            return found, title, suffix
    known = ", ".join(sorted(WRITERS, key=len))
    raise FileFormatError(f"{path}: the output's name must end in one of {known}")
