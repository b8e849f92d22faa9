"""Helpers for the model-file reader tests: recorded files, hand-written pickles and zip archives."""

from __future__ import annotations

import json
import random
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lstm_shapes.errors import FileFormatError

FILES = Path(__file__).parent / "files"
RECORDED: dict[str, Any] = json.loads((FILES / "recorded.json").read_text(encoding="utf-8"))


def recorded(prefix: str) -> list[str]:
    """The recorded files whose names start with `prefix`."""
    return [name for name in RECORDED if name.startswith(prefix)]


def as_floats(array: Any) -> np.ndarray:
    """An array's values as float64 (bfloat16 through its float32 value), flattened."""
    return np.asarray(array).astype(np.float32 if array.dtype.name == "bfloat16" else array.dtype).astype(np.float64).reshape(-1)


def check_ranges(model: Any, name: str, expected: Any, tries: int = 12) -> None:
    """`model.ranges[name]` reads the expected values (an array as saved) for random flat C-order ranges, in the
    tensor's own dtype and native byte order, and refuses ranges outside the tensor in one line."""
    flat = np.ascontiguousarray(expected).reshape(-1)
    read = model.ranges[name]
    chosen = random.Random(name)
    spans = [(0, flat.size), (flat.size, 0)]
    for _ in range(tries):
        start = chosen.randint(0, flat.size)
        spans.append((start, chosen.randint(0, flat.size - start)))
    for start, count in spans:
        got = read(start, count)
        assert got.dtype.name == model.tensors[name].dtype and got.dtype.isnative and got.shape == (count,), name
        want = flat[start : start + count]
        if "V" in (got.dtype.kind, want.dtype.kind):  # ml_dtypes' floats: compared through their float values
            got, want = as_floats(got), as_floats(want)
        np.testing.assert_array_equal(got, want, err_msg=name)
    for start, count in ((0, flat.size + 1), (flat.size, 1), (-1, 1), (1, -1)):
        with pytest.raises(FileFormatError) as caught:
            read(start, count)
        assert "\n" not in str(caught.value) and f" of {name} were asked for" in str(caught.value)


class Pickle:
    """Pickle opcodes written by hand (protocol 2), for files no pickler would write."""

    def __init__(self) -> None:
        self.data = bytearray(b"\x80\x02")

    def raw(self, data: bytes) -> Pickle:
        self.data += data
        return self

    def glob(self, module: str, name: str) -> Pickle:
        return self.raw(b"c" + f"{module}\n{name}\n".encode())

    def str(self, text: str) -> Pickle:
        encoded = text.encode()
        return self.raw(b"X" + struct.pack("<I", len(encoded)) + encoded)

    def int(self, value: int) -> Pickle:
        return self.raw(b"J" + struct.pack("<i", value))

    def ints(self, values: tuple[int, ...]) -> Pickle:
        self.raw(b"(")
        for value in values:
            self.int(value)
        return self.raw(b"t")

    def tensor(self, key: str, shape: tuple[int, ...], stride: tuple[int, ...] | None = None, numel: int | None = None,
               storage: str = "FloatStorage", offset: int = 0) -> Pickle:
        """torch._utils._rebuild_tensor_v2 over storage `key`, as torch.save writes it."""
        if stride is None:
            stride = tuple(int(np.prod(shape[i + 1 :])) for i in range(len(shape)))
        numel = int(np.prod(shape)) if numel is None else numel
        self.glob("torch._utils", "_rebuild_tensor_v2").raw(b"((").str("storage").glob("torch", storage)
        self.str(key).str("cpu").int(numel).raw(b"tQ").int(offset).ints(shape).ints(stride)
        return self.raw(b"\x89").glob("collections", "OrderedDict").raw(b")Rt" + b"R")

    def call(self, module: str, name: str, *args: Any) -> Pickle:
        """module.name(*args) by REDUCE, with string or list-of-string arguments."""
        self.glob(module, name).raw(b"(")
        for arg in args:
            if isinstance(arg, list):
                self.raw(b"(")
                for item in arg:
                    self.str(item)
                self.raw(b"l")
            else:
                self.str(arg)
        return self.raw(b"tR")

    def done(self) -> bytes:
        return bytes(self.data + b".")


def torch_zip(path: Path, pickle: bytes, storages: dict[str, bytes] | None = None, prefix: str = "archive",
              extra: dict[str, bytes] | None = None, byteorder: str = "little") -> Path:
    """A torch.save-style zip: <prefix>/data.pkl, its storages under <prefix>/data/, version and byteorder."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{prefix}/data.pkl", pickle)
        archive.writestr(f"{prefix}/byteorder", byteorder)
        for key, data in (storages or {}).items():  # stored, as torch.save writes them
            archive.writestr(f"{prefix}/data/{key}", data, compress_type=zipfile.ZIP_STORED)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
        archive.writestr(f"{prefix}/version", "3\n")
    return path
