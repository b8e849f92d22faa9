"""A Flax msgpack file: the nested dict of arrays that `flax.serialization.msgpack_serialize` writes, byte for byte.

The names nest as the target framework keys its params (`tree_keys`: Flax splits every '/', Haiku keeps a module's
path whole); a prefix such as `params/` adds the keys before them. msgpack writes a map's length before its items,
and the Target gives every name before any data arrives, so the tree is written as the tensors come, each array's
bytes straight from its memory, without building the message. An array is an ext of code 1 whose payload is the
msgpack of (shape, dtype name, data); one larger than 1 GiB is split in 1-D chunks, as flax splits it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO

from ..errors import FileFormatError
from ..frameworks import REGISTRY, having
from . import need
from .writers import Target, Tensors, _ordered

ARRAY = 1  # flax.serialization._MsgpackExtType.ndarray
CHUNKED = "__msgpack_chunked_array__"
MAX_CHUNK_SIZE = 2**30  # flax.serialization.MAX_CHUNK_SIZE: bytes of an array above which it is chunked
FIXEXT = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}  # msgpack's ext of these payload sizes has no length

Tree = dict[str, Any]  # nested dicts whose leaves are indices into the Target's weights


def skeleton(target: Target) -> Tree:
    """The nested dicts of the Target's names, each leaf its tensor's index, in the order the names come."""
    tree: Tree = {}
    index = 0
    for layer in target.layers:
        fw = layer.config.convention
        head, _, tail = layer.prefix.rpartition("/")  # `params/`: keys of its own before the framework's
        for w in layer.weights:
            keys = (*(head.split("/") if head else ()), *fw.tree_keys(tail + w.name[len(layer.prefix):]))
            node = tree
            for key in keys[:-1]:
                node = node.setdefault(key, {})
                if not isinstance(node, dict):
                    raise FileFormatError(f"{w.name}: a tensor's name cannot hold another tensor below it")
            if keys[-1] in node:
                raise FileFormatError(f"{w.name}: a tensor's name cannot hold another tensor below it")
            node[keys[-1]] = index
            index += 1
    return tree


def write_msgpack(path: str, target: Target, tensors: Tensors) -> None:
    """The msgpack of the nested params, written as the tensors arrive."""
    fw = REGISTRY[target.framework]
    if not fw.nested_names:
        choices = having("nested_names")
        raise FileFormatError(f".msgpack holds a tree of names nested by '/': --to {' or '.join(choices)} "
                              f"(not {target.framework})")
    msgpack = need("msgpack", "Flax msgpack files")
    tree = skeleton(target)
    arrivals = _ordered(target, tensors)
    at = {w.name: i for i, w in enumerate(target.weights)}
    waiting: dict[int, Any] = {}  # tensors that came before the tree asks for them (only if the order differs)

    def take(index: int) -> Any:
        while index not in waiting:
            w, array = next(arrivals, (None, None))
            if w is None:
                raise AssertionError(f"tensor {target.weights[index].name} never arrived")
            waiting[at[w.name]] = array
        return waiting.pop(index)

    with open(path, "wb") as out:
        _write(out, msgpack, tree, take)
    if next(arrivals, None) is not None:
        raise AssertionError("more tensors arrived than the target lists")


def _write(out: BinaryIO, msgpack: Any, node: Any, take: Callable[[int], Any]) -> None:
    if isinstance(node, dict):
        out.write(_map_header(len(node)))
        for key, child in node.items():
            out.write(msgpack.packb(key))
            _write(out, msgpack, child, take)
        return
    array = take(node)
    if array.nbytes > MAX_CHUNK_SIZE:
        _chunked(out, msgpack, array)
    else:
        _array(out, msgpack, array)


def _chunked(out: BinaryIO, msgpack: Any, array: Any) -> None:
    """Flax's `_chunk`: {CHUNKED: True, "shape": {"0": d0, ...}, "chunks": {"0": a 1-D array, ...}}."""
    size = max(1, int(MAX_CHUNK_SIZE / array.dtype.itemsize))
    flat = array.reshape(-1)
    starts = range(0, flat.size, size)
    out.write(_map_header(3) + msgpack.packb(CHUNKED) + msgpack.packb(True))
    out.write(msgpack.packb("shape") + msgpack.packb({str(i): d for i, d in enumerate(array.shape)}))
    out.write(msgpack.packb("chunks") + _map_header(len(starts)))
    for i, start in enumerate(starts):
        out.write(msgpack.packb(str(i)))
        _array(out, msgpack, flat[start:start + size])


def _array(out: BinaryIO, msgpack: Any, array: Any) -> None:
    """One array as flax packs it: ext 1 of msgpack (shape, dtype name, C-order bytes), the bytes from its memory."""
    import numpy as np

    data = np.ascontiguousarray(array)
    head = b"\x93" + msgpack.packb(list(data.shape)) + msgpack.packb(data.dtype.name) + _bin_header(data.nbytes)
    out.write(_ext_header(len(head) + data.nbytes))
    out.write(head)
    out.write(memoryview(data.reshape(-1).view(np.uint8)))


def _map_header(n: int) -> bytes:
    if n < 16:
        return bytes([0x80 | n])
    return b"\xde" + n.to_bytes(2, "big") if n < 2**16 else b"\xdf" + n.to_bytes(4, "big")


def _bin_header(n: int) -> bytes:
    if n < 2**8:
        return b"\xc4" + n.to_bytes(1, "big")
    return b"\xc5" + n.to_bytes(2, "big") if n < 2**16 else b"\xc6" + n.to_bytes(4, "big")


def _ext_header(n: int) -> bytes:
    if n in FIXEXT:
        return bytes([FIXEXT[n], ARRAY])
    for marker, width in ((0xC7, 1), (0xC8, 2), (0xC9, 4)):
        if n < 2 ** (8 * width):
            return bytes([marker]) + n.to_bytes(width, "big") + bytes([ARRAY])
    raise FileFormatError(f"an array of {n} bytes is more than one msgpack ext holds")
