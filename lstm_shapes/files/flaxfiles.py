"""Flax msgpack files: a tree of arrays saved by `flax.serialization.to_bytes` or `msgpack_serialize`.

A tensor's name is its keys joined by '/', as `flax.traverse_util.flatten_dict(tree, sep="/")` joins them;
a list's items are keyed 0, 1, ... as flax's state dicts key them. A file saved from `model.init(...)`
starts with `params/`; the rest of the path is the name the tool gives the tensor. An array is a msgpack
ext (code 1; a numpy scalar is code 3) whose payload is msgpack of (shape, dtype name, data bytes); a map
marked `__msgpack_chunked_array__` is one array that flax split in 1-D chunks. The msgpack library hands
each ext's payload over as bytes, so the file is streamed through once; only the head of each payload is
parsed, and no array is built until a loader asks. The file holds no layer classes: `layers` stays empty.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import FileFormatError
from . import ModelFile, TensorInfo, need

ARRAY, COMPLEX, SCALAR = 1, 2, 3  # flax.serialization._MsgpackExtType
CHUNKED = "__msgpack_chunked_array__"
MAX_DEPTH = 64  # maps nested deeper than this are a hostile file, not a model
MAX_ITEMS = 1 << 20  # entries of one map or list: bounds what a declared length can make msgpack allocate
MAX_RANK = 64
HEAD = 4096  # bytes of a payload that hold its shape and dtype name (64 dims of 9 bytes and a short name fit)
READ = 1 << 20  # bytes read from the file at a time
DTYPE = re.compile(r"[a-z][a-z0-9_]{0,39}")
ITEMSIZE = {
    "bool": 1, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "float16": 2, "bfloat16": 2,
    "int32": 4, "uint32": 4, "float32": 4, "int64": 8, "uint64": 8, "float64": 8,
    "complex64": 8, "complex128": 16, "float128": 16, "complex256": 32,
}
NARROW = re.compile(r"(?:float[468]_\w+|u?int[24])")  # ml_dtypes' narrow types: numpy keeps one byte per element


@dataclass(frozen=True)
class _Array:
    """An array ext as its payload's head describes it; `index` counts the file's exts in order."""

    index: int
    shape: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class _Leaf:
    """An ext that is not an array: a Python complex, an unknown code, or a damaged payload (`bad` says how)."""

    what: str
    bad: bool = False


class _Done(Exception):
    """Raised from an ext hook once a loader has the payloads it wants: the rest of the file is not read."""


def _fail(path: str, what: str) -> FileFormatError:
    return FileFormatError(f"{path}: {what}")


def _head(msgpack: Any, data: bytes) -> tuple[tuple[int, ...], str, int, int]:
    """An array payload's shape, dtype name, and where its data starts and how long it is; ValueError if damaged."""
    u = msgpack.Unpacker(raw=True, max_array_len=MAX_RANK, max_str_len=64, max_bin_len=64, max_map_len=0)
    u.feed(memoryview(data)[:HEAD])
    try:
        if u.read_array_header() != 3:
            raise ValueError("not (shape, dtype, data)")
        shape, name = u.unpack(), u.unpack()
    except msgpack.OutOfData:
        raise ValueError("its payload ends inside its shape or dtype") from None
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise ValueError(f"its shape is not a list of sizes ({str(shape)[:40]})")
    text = name.decode("ascii", "replace") if isinstance(name, bytes) else str(name)
    if not DTYPE.fullmatch(text):
        raise ValueError(f"its dtype name is not one ({text[:40]!r})")
    at = u.tell()
    marker = data[at] if at < len(data) else None
    # bin 8/16/32, or str (fixstr, str 8/16/32) as files written without use_bin_type hold their data
    if marker is not None and 0xA0 <= marker <= 0xBF:
        start, n = at + 1, marker & 0x1F
    elif marker in (0xC4, 0xC5, 0xC6, 0xD9, 0xDA, 0xDB):
        width = {0xC4: 1, 0xD9: 1, 0xC5: 2, 0xDA: 2, 0xC6: 4, 0xDB: 4}[marker]
        if at + 1 + width > len(data):
            raise ValueError("its payload ends inside its data's length")
        start, n = at + 1 + width, int.from_bytes(data[at + 1:at + 1 + width], "big")
    else:
        raise ValueError("its data is not a byte string")
    if start + n != len(data):
        raise ValueError(f"its data is declared as {n} bytes but the payload holds {len(data) - start}")
    return tuple(shape), text, start, n


def _unpack(msgpack: Any, path: str, size: int, hook: Callable[[int, bytes], Any]) -> tuple[Any, int]:
    """The file's first object, streamed, each declared length bounded by the file's size, and the bytes it took."""
    limit = max(1, min(size, 2**31 - 1))
    with open(path, "rb") as f:
        u = msgpack.Unpacker(f, ext_hook=hook, raw=False, strict_map_key=False, read_size=min(READ, limit),
                             max_buffer_size=limit, max_str_len=size, max_bin_len=size, max_ext_len=size,
                             max_array_len=min(size, MAX_ITEMS), max_map_len=min(size, MAX_ITEMS))
        return u.unpack(), u.tell()


def _damaged(msgpack: Any, path: str, e: BaseException) -> FileFormatError:
    if isinstance(e, msgpack.OutOfData):
        return _fail(path, "the file ends inside the saved tree (truncated?)")
    what = " ".join(str(e).split())[:120]
    return _fail(path, f"not a readable Flax msgpack file ({type(e).__name__}{': ' + what if what else ''})")


class _Reader:
    """Walks the unpacked tree into tensors, loaders and warnings."""

    def __init__(self, path: str, msgpack: Any) -> None:
        self.path, self.msgpack = path, msgpack
        self.tensors: dict[str, TensorInfo] = {}
        self.loaders: dict[str, Callable[[], Any]] = {}
        self.warnings: list[str] = []
        self.others: list[str] = []  # paths of numbers, strings and other leaves that are not arrays
        self.count = itertools.count()

    def hook(self, code: int, data: bytes) -> Any:
        index = next(self.count)
        if code not in (ARRAY, SCALAR):
            return _Leaf("a complex number" if code == COMPLEX else f"an ext of type {code}")
        try:
            shape, dtype, _, n = _head(self.msgpack, data)
        except (ValueError, TypeError, self.msgpack.UnpackException) as e:
            return _Leaf(f"an array ext whose payload is damaged: {' '.join(str(e).split())[:80]}", bad=True)
        count = 1
        for d in shape:
            count *= d
        if code == SCALAR and shape:
            return _Leaf(f"a numpy scalar ext of shape {shape}", bad=True)
        item = ITEMSIZE.get(dtype, 1 if NARROW.fullmatch(dtype) else None)
        if item is not None and count * item != n:
            return _Leaf(f"an array of shape {shape} and {dtype} needs {count * item} bytes, it holds {n}", bad=True)
        return _Array(index, shape, dtype)

    def walk(self, node: Any, name: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise _fail(self.path, f"maps nested more than {MAX_DEPTH} deep")
        if isinstance(node, dict) and CHUNKED in node:
            self.chunked(node, name)
        elif isinstance(node, (dict, list)):
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, value in items:
                self.walk(value, f"{name}/{_key(key)}" if name else _key(key), depth + 1)
        elif isinstance(node, _Array):
            self.add(name, node.shape, node.dtype, (node.index,))
        elif isinstance(node, _Leaf) and node.bad:
            raise _fail(self.path, f"{name or 'the top level'} is {node.what}")
        elif node is not None:
            self.others.append(name or "the top level")

    def chunked(self, node: dict[Any, Any], name: str) -> None:
        """One array flax saved in 1-D chunks: {shape: {"0": d0, ...}, chunks: {"0": ext, ...}}."""
        shape, parts = _items(node.get("shape")), _items(node.get("chunks"))
        label = name or "the top level"
        if shape is None or not all(type(d) is int and d >= 0 for d in shape) or len(shape) > MAX_RANK:
            raise _fail(self.path, f"{label} is a chunked array without a shape")
        if not parts or not all(isinstance(p, _Array) and len(p.shape) == 1 for p in parts):
            raise _fail(self.path, f"{label} is a chunked array whose chunks are not 1-D arrays")
        dtypes = {p.dtype for p in parts}
        count = 1
        for d in shape:
            count *= d
        if len(dtypes) != 1 or sum(p.shape[0] for p in parts) != count:
            raise _fail(self.path, f"{label} is a chunked array whose chunks do not make its shape {tuple(shape)}")
        self.add(name, tuple(shape), dtypes.pop(), tuple(p.index for p in parts))

    def add(self, name: str, shape: tuple[int, ...], dtype: str, indices: tuple[int, ...]) -> None:
        if name in self.tensors:  # a key holding '/' can spell another path
            self.warnings.append(f"two tensors are named {name}; the second is listed as {name}#{len(self.tensors)}")
            name = f"{name}#{len(self.tensors)}"
        self.tensors[name] = TensorInfo(name, shape, dtype)
        self.loaders[name] = self.loader(name, shape, dtype, indices)
        if dtype not in ITEMSIZE and not NARROW.fullmatch(dtype):
            self.warnings.append(f"{name}: dtype {dtype} is not one this reader knows; its size was not checked")

    def loader(self, name: str, shape: tuple[int, ...], dtype: str, indices: tuple[int, ...]) -> Callable[[], Any]:
        def load() -> Any:
            wanted, found, count = set(indices), {}, itertools.count()

            def hook(code: int, data: bytes) -> None:
                index = next(count)
                if index in wanted:
                    found[index] = data
                    if len(found) == len(wanted):
                        raise _Done
            try:
                _unpack(self.msgpack, self.path, os.path.getsize(self.path), hook)
            except _Done:
                pass
            except OSError as e:
                raise _fail(self.path, f"the data of {name} cannot be read ({e})") from None
            except Exception as e:  # msgpack's errors on a file changed since it was read
                raise _damaged(self.msgpack, self.path, e) from None
            return _array(self.path, self.msgpack, name, shape, dtype, [found.get(i) for i in indices])
        return load

    def result(self) -> ModelFile:
        if self.others:
            shown = ", ".join(self.others[:5]) + (", ..." if len(self.others) > 5 else "")
            self.warnings.append(f"{len(self.others)} saved value(s) that are not arrays are not listed: {shown}")
        return ModelFile(self.path, "flax-msgpack", self.tensors, [], self.warnings, self.loaders)


def _key(key: Any) -> str:
    """A map key as a name's part; characters that do not print (a newline) escaped, so a name is one line."""
    text = str(key)
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _items(node: Any) -> list[Any] | None:
    """A map keyed "0", "1", ... as a list, as flax stores a tuple in a chunked array; None if it is not one."""
    if not isinstance(node, dict) or len(node) > MAX_ITEMS or set(node) != {str(i) for i in range(len(node))}:
        return None
    return [node[str(i)] for i in range(len(node))]


def _array(path: str, msgpack: Any, name: str, shape: tuple[int, ...], dtype: str, payloads: list[Any]) -> Any:
    """The numpy array of a tensor's payloads (its chunks, in order), checked against what the file said before."""
    import numpy as np

    try:
        kind = np.dtype(dtype)
    except TypeError:
        try:
            import ml_dtypes  # noqa: F401  (registers bfloat16, float8_*, int4, ... with numpy)
        except ImportError:
            raise _fail(path, f"reading {dtype} data needs the ml_dtypes package: pip install ml_dtypes") from None
        try:
            kind = np.dtype(dtype)
        except TypeError:
            raise _fail(path, f"{name} has dtype {dtype}, which numpy does not know") from None
    if kind.hasobject or kind.itemsize == 0:  # "object", "str": numpy names that are not array data
        raise _fail(path, f"{name} has dtype {dtype}, which is not array data")
    parts = []
    for data in payloads:
        try:
            if data is None:
                raise ValueError("it is gone")
            _, again, start, n = _head(msgpack, data)
        except (ValueError, TypeError, msgpack.UnpackException):
            raise _fail(path, f"the file changed since it was read: {name} is not where it was") from None
        if again != dtype or n % kind.itemsize:
            raise _fail(path, f"the file changed since it was read: {name} is not the {dtype} array it was")
        parts.append(np.frombuffer(data, kind, count=n // kind.itemsize, offset=start))
    flat = parts[0] if len(parts) == 1 else np.concatenate(parts)
    count = 1
    for d in shape:
        count *= d
    if flat.size != count:
        raise _fail(path, f"the file changed since it was read: {name} no longer has shape {shape}")
    try:
        return flat.reshape(shape).copy()  # its own writable memory, not the payload's
    except ValueError:  # an empty array whose other sides multiply past what numpy can index
        raise _fail(path, f"{name} has shape {shape}, which numpy cannot hold") from None


def read_msgpack(path: str) -> ModelFile:
    """A Flax msgpack file's arrays (chunked ones whole), by their '/'-joined paths, from their headers."""
    msgpack = need("msgpack", "Flax msgpack files")
    try:
        size = os.path.getsize(path)
    except OSError as e:
        raise _fail(path, f"cannot be read ({e.strerror or e})") from None
    if size == 0:
        raise _fail(path, "the file is empty")
    reader = _Reader(path, msgpack)
    try:
        tree, used = _unpack(msgpack, path, size, reader.hook)
    except RecursionError:
        raise _fail(path, "maps nested too deep") from None
    except Exception as e:  # msgpack raises ValueError, FormatError, StackError, OutOfData, ... on damaged files
        raise _damaged(msgpack, path, e) from None
    if not isinstance(tree, (dict, list)):
        raise _fail(path, f"not a Flax msgpack file: it holds {_kind(tree)}, not a tree of named arrays")
    if used != size:  # flax's msgpack_restore refuses these too
        raise _fail(path, f"not a Flax msgpack file: {size - used} byte(s) follow the saved tree")
    reader.walk(tree, "", 0)
    if not reader.tensors:
        raise _fail(path, "not a Flax checkpoint: the msgpack tree holds no arrays")
    return reader.result()


def _kind(value: Any) -> str:
    if isinstance(value, _Array):
        return "one array"
    return value.what if isinstance(value, _Leaf) else f"a single {type(value).__name__}"

