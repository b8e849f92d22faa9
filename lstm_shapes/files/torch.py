"""PyTorch files: torch.save archives (zip since 1.6, and the legacy single stream) and TorchScript archives.

The pickle inside is run by `pickle_vm`, which imports and calls nothing: the few functions torch uses
to rebuild tensors are interpreted here for their metadata (storage, offset, shape, stride, dtype), and
every other name the pickle mentions becomes a placeholder and a warning saying what torch.load would
import or call. Tensor names are those `state_dict()` gives.
"""

from __future__ import annotations

import math
import os
import re
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import FileFormatError
from . import ModelFile, TensorInfo, read_elements
from .archive import MAX_MEMBER, open_zip, read_member, read_range, stored, stored_start
from .pickle_vm import Global, Obj, PickleError, Truncated, Unpickler

# torch's storage classes and the dtype of their elements (numpy's names, bfloat16 as ml_dtypes calls it)
STORAGE_DTYPES = {
    "DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16", "BFloat16Storage": "bfloat16",
    "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16", "CharStorage": "int8",
    "ByteStorage": "uint8", "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128", "QInt8Storage": "qint8", "QUInt8Storage": "quint8",
    "QInt32Storage": "qint32", "QUInt4x2Storage": "quint4x2", "QUInt2x4Storage": "quint2x4",
    "UntypedStorage": "uint8", "TypedStorage": "uint8",
}
ITEMSIZE = {
    "float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int64": 8, "int32": 4, "int16": 2, "int8": 1,
    "uint8": 1, "uint16": 2, "uint32": 4, "uint64": 8, "bool": 1, "complex128": 16, "complex64": 8,
    "complex32": 4, "qint8": 1, "quint8": 1, "qint32": 4, "quint4x2": 1, "quint2x4": 1,
    "float8_e4m3fn": 1, "float8_e5m2": 1, "float8_e4m3fnuz": 1, "float8_e5m2fnuz": 1, "float8_e8m0fnu": 1,
    "float4_e2m1fn_x2": 1, "bits8": 1, "bits16": 2, "bits1x8": 1, "bits2x4": 1, "bits4x2": 1,
}
# torch's other names of the same dtypes (torch.float is torch.float32, ...)
DTYPE_ALIASES = {
    "float": "float32", "double": "float64", "half": "float16", "long": "int64", "int": "int32",
    "short": "int16", "cfloat": "complex64", "cdouble": "complex128", "chalf": "complex32",
}
ML_DTYPES = {"bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu"}
MAX_DIMS = 64
MAX_DEPTH = 64  # containers nested deeper than this are not searched for tensors
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
# torch.load(weights_only=True) accepts these names besides storages, dtypes and torch._utils._rebuild_*
ALLOWED = {
    "collections.OrderedDict", "collections.Counter", "torch.nn.parameter.Parameter", "torch.Size",
    "torch.Tensor", "torch.device", "torch.serialization._get_layout", "_codecs.encode", "builtins.bytearray",
    "builtins.set", "builtins.complex", "torch._tensor._rebuild_from_type_v2", "torch.per_tensor_affine",
    "torch.per_tensor_symmetric", "torch.per_channel_affine", "torch.per_channel_symmetric",
    "torch.per_channel_affine_float_qparams", "torch.storage.TypedStorage", "torch.storage.UntypedStorage",
}
TENSOR_REBUILDS = {"_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3"}


def _allowed(name: Global) -> bool:
    """Whether torch.load(weights_only=True) would accept the name, or TorchScript's own loader resolves it."""
    if str(name) in ALLOWED or name.module == "__torch__":
        return True
    if name.module.startswith(("__torch__.", "torch.jit._pickle")):
        return True
    if name.module == "torch._utils" and name.name.startswith("_rebuild_"):
        return True
    if name.module in ("torch", "torch.cuda"):
        return name.name.endswith(("Storage", "Tensor")) or _dtype_name(name.name) in ITEMSIZE
    return False


def _dtype_name(name: str) -> str:
    return DTYPE_ALIASES.get(name, name)


@dataclass(eq=False)
class Storage:
    """One storage record: its key in the archive, element dtype and element count."""

    key: str
    dtype: str
    numel: int
    start: int = 0  # legacy storage views begin this many elements into the stored record


@dataclass(eq=False)
class Tensor:
    """A tensor's metadata as torch would rebuild it; `storage` is None for meta tensors."""

    storage: Storage | None
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: str

    def extent(self) -> int:
        """How many elements of its storage the tensor reaches, counted from the storage's start."""
        if 0 in self.shape:
            return 0
        return self.offset + 1 + sum((size - 1) * step for size, step in zip(self.shape, self.stride))


def _ints(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or len(value) > MAX_DIMS:
        raise PickleError(f"a tensor {what} that is not a tuple of at most {MAX_DIMS} integers")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        raise PickleError(f"a tensor {what} with an entry that is not a non-negative integer")
    return tuple(value)


class Machine:
    """The hooks the pickle reader calls: tensor rebuilding, storages, and a record of what torch would run."""

    def __init__(self) -> None:
        self.storages: dict[str, Storage] = {}
        self.called: dict[Global, None] = {}
        self.notes: dict[str, None] = {}

    def run(self, data: bytes, pos: int = 0) -> tuple[Any, int, dict[Global, None]]:
        vm = Unpickler(data, self.call, self.persistent, pos)
        value = vm.load()
        return value, vm.pos, vm.globals

    def persistent(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] in ("storage", b"storage")):
            self.notes.setdefault("the pickle refers to a persistent object that is not a torch storage", None)
            return Obj(None, ())
        kind, key, numel = pid[1], pid[2], pid[4]
        if not isinstance(kind, Global) or kind.name not in STORAGE_DTYPES:
            raise PickleError(f"a storage of unknown type {kind if isinstance(kind, Global) else type(kind).__name__}")
        if not isinstance(key, (str, int)) or not isinstance(numel, int) or numel < 0:
            raise PickleError("a storage record with a malformed key or size")
        key = str(key)
        storage = self.storages.setdefault(key, Storage(key, STORAGE_DTYPES[kind.name], numel))
        view = pid[5] if len(pid) == 6 else None
        if view is not None:  # legacy storage views: (view key, offset, size) into the root storage
            if not (isinstance(view, tuple) and len(view) == 3 and all(isinstance(v, int) for v in view[1:])):
                raise PickleError("a storage view record that is malformed")
            return Storage(key, storage.dtype, view[2], start=view[1])
        return storage

    def tensor(self, args: tuple[Any, ...], dtype: Any = None) -> Any:
        if len(args) < 4 or not isinstance(args[0], Storage):
            return Obj(None, args)
        storage, offset = args[0], args[1]
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise PickleError("a tensor whose storage offset is not a non-negative integer")
        shape, stride = _ints(args[2], "size"), _ints(args[3], "stride")
        if len(shape) != len(stride):
            raise PickleError("a tensor whose size and stride differ in length")
        name = storage.dtype
        if dtype is not None:  # _rebuild_tensor_v3: an untyped (byte) storage and the tensor's own dtype
            if not isinstance(dtype, Global) or _dtype_name(dtype.name) not in ITEMSIZE:
                raise PickleError("a tensor with an unknown dtype")
            name = _dtype_name(dtype.name)
        return Tensor(storage, offset, shape, stride, name)

    def call(self, callee: Any, args: tuple[Any, ...], how: str) -> Any:
        if not isinstance(callee, Global):
            return Obj(callee, args)
        qualified = str(callee)
        if callee.module == "torch._utils" and callee.name in TENSOR_REBUILDS:
            return self.tensor(args, args[6] if callee.name == "_rebuild_tensor_v3" and len(args) > 6 else None)
        if qualified in ("torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
                         "torch.nn.parameter.Parameter"):
            return args[0] if args and isinstance(args[0], Tensor) else Obj(callee, args)
        if qualified == "torch._tensor._rebuild_from_type_v2" and len(args) == 4:
            func, inner = args[0], args[2]
            if isinstance(func, Global) and func.module == "torch._utils" and func.name in TENSOR_REBUILDS:
                if isinstance(inner, tuple):
                    return self.call(func, inner, "call")
            return Obj(callee, args)
        if qualified == "torch._utils._rebuild_meta_tensor_no_storage" and len(args) >= 3:
            if isinstance(args[0], Global) and _dtype_name(args[0].name) in ITEMSIZE:
                shape, stride = _ints(args[1], "size"), _ints(args[2], "stride")
                return Tensor(None, 0, shape, stride, _dtype_name(args[0].name))
        if callee.module == "torch._utils" and callee.name.startswith("_rebuild_"):
            note = f"tensors rebuilt by {qualified} (quantized, sparse, nested or subclassed) are not read"
            self.notes.setdefault(note, None)
            return Obj(callee, args)
        if qualified in ("collections.OrderedDict", "collections.Counter"):
            return self.mapping(args)
        if qualified in ("torch.Size", "builtins.set"):  # sets are kept as lists, as pickle_vm keeps EMPTY_SET
            if not args:
                return () if qualified == "torch.Size" else []
            if isinstance(args[0], (list, tuple)):
                return tuple(args[0]) if qualified == "torch.Size" else list(args[0])
        if callee.module == "torch.jit._pickle" and args:
            return args[0]  # restore_type_tag(value, tag) and build_*list(values) give back their first argument
        if not _allowed(callee):
            self.called.setdefault(callee, None)
        return Obj(callee, args)

    def mapping(self, args: tuple[Any, ...]) -> Any:
        if not args:
            return {}
        if isinstance(args[0], dict):
            return dict(args[0])
        if isinstance(args[0], list) and all(isinstance(p, (tuple, list)) and len(p) == 2 for p in args[0]):
            made: dict[Any, Any] = {}
            for key, value in args[0]:
                if isinstance(key, (str, int)):
                    made[key] = value
            return made
        return Obj(None, args)

    def warnings(self, mentioned: dict[Global, None]) -> list[str]:
        """One line per name torch.load would import or call, in order of first mention, then other notes."""
        lines = []
        for name in mentioned:
            if name in self.called:
                lines.append(f"loading this with torch.load would call {name}")
            elif not _allowed(name):
                lines.append(f"loading this with torch.load would import {name}")
        return lines + list(self.notes)


# --------------------------------------------------------------------------------------------------
# names


def _key(key: Any) -> str | None:
    if isinstance(key, str):
        return key
    if isinstance(key, int) and key.bit_length() > 64:
        return None  # no module or checkpoint key; Python refuses to print ints of over 4300 digits
    if isinstance(key, (int, float)) or key is None:
        return str(key)
    if isinstance(key, bytes):
        return key.decode("latin-1")
    return None


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


class Namer:
    """A walk over the unpickled value that names each tensor as state_dict() would."""

    def __init__(self, script_classes: dict[str, set[str]]) -> None:
        self.script_classes = script_classes  # TorchScript class -> its declared parameters and buffers
        self.found: list[tuple[str, Tensor]] = []
        self.seen: set[int] = set()  # containers walked once: no cycles, no exponential re-walks
        self.named: set[int] = set()
        self.too_deep = False

    def walk(self, value: Any, prefix: str, depth: int = 0) -> None:
        if isinstance(value, Tensor):
            self.found.append((prefix or "tensor", value))
            self.named.add(id(value))
            return
        if not isinstance(value, (dict, list, tuple, Obj)) or id(value) in self.seen:
            return
        if depth >= MAX_DEPTH:
            self.too_deep = True
            return
        self.seen.add(id(value))
        if isinstance(value, dict):
            self.entries(value, prefix, depth)
        elif isinstance(value, Obj):
            self.obj(value, prefix, depth)
        else:  # lists hold the same tensors again (a module's _flat_weights): only new ones get index names
            for index, item in enumerate(value):
                if not (isinstance(item, Tensor) and id(item) in self.named):
                    self.walk(item, _join(prefix, str(index)), depth + 1)

    def entries(self, mapping: dict[Any, Any], prefix: str, depth: int, only: set[str] | None = None) -> None:
        for key, item in mapping.items():
            name = _key(key)
            if name is not None and (only is None or name in only):
                self.walk(item, _join(prefix, name), depth + 1)

    def obj(self, obj: Obj, prefix: str, depth: int) -> None:
        state = obj.state
        if isinstance(state, tuple) and len(state) == 2 and all(isinstance(s, (dict, type(None))) for s in state):
            state = {**(state[0] or {}), **(state[1] or {})}  # (instance dict, slots dict)
        if isinstance(state, dict) and ("_parameters" in state or "_modules" in state):
            self.module(state, prefix, depth)
            return
        declared = self.script_classes.get(str(obj.callee)) if isinstance(obj.callee, Global) else None
        if isinstance(state, dict):
            if declared is not None:  # a TorchScript module: declared tensors and submodules, as its state_dict
                for key, item in state.items():
                    wanted = key in declared if isinstance(item, Tensor) else isinstance(item, Obj)
                    if isinstance(key, str) and wanted:
                        self.walk(item, _join(prefix, key), depth + 1)
            else:
                self.entries(state, prefix, depth)
        self.entries(obj.entries, prefix, depth)
        self.walk(obj.items, prefix, depth + 1)

    def module(self, state: dict[str, Any], prefix: str, depth: int) -> None:
        """An nn.Module's __dict__: its parameters, persistent buffers, then submodules, as state_dict() orders them."""
        skip = state.get("_non_persistent_buffers_set")
        skip = {s for s in skip if isinstance(s, str)} if isinstance(skip, (list, tuple)) else set()
        for part in ("_parameters", "_buffers", "_modules"):
            group = state.get(part)
            if isinstance(group, Obj):
                group = group.entries
            if not isinstance(group, dict):
                continue
            for key, item in group.items():
                if isinstance(key, str) and not (part == "_buffers" and key in skip):
                    if part == "_modules" or isinstance(item, Tensor):
                        self.walk(item, _join(prefix, key), depth + 1)


# --------------------------------------------------------------------------------------------------
# layouts: where each storage's bytes are


@dataclass(frozen=True)
class Place:
    """Where a storage's bytes begin: a zip member, or an offset in the file (legacy)."""

    member: str | None
    offset: int
    size: int  # bytes available from there


def _numpy_dtype(name: str, big_endian: bool) -> Any:
    import numpy as np

    if name in ML_DTYPES:
        from . import need

        dtype = np.dtype(getattr(need("ml_dtypes", f"{name} data"), name))
    else:
        dtype = np.dtype(name)
    return dtype.newbyteorder(">") if big_endian else dtype


def _loader(path: str, place: Place, tensor: Tensor, big_endian: bool) -> Callable[[], Any]:
    def load() -> Any:
        import numpy as np

        dtype = _numpy_dtype(tensor.dtype, big_endian)
        assert tensor.storage is not None
        first = tensor.storage.start * ITEMSIZE[tensor.storage.dtype] + tensor.offset * dtype.itemsize
        size = max(tensor.extent() - tensor.offset, 0) * dtype.itemsize
        if place.member is None:
            with open(path, "rb") as raw:
                raw.seek(place.offset + first)
                data = raw.read(size)
            if len(data) != size:
                raise FileFormatError(f"{path}: the data of a tensor ends early (truncated file)")
        else:
            data = read_range(path, place.member, first, size)
        if size == 0:
            return np.zeros(tensor.shape, dtype.newbyteorder("="))
        flat = np.frombuffer(data, dtype=dtype)
        view = np.lib.stride_tricks.as_strided(flat, tensor.shape, [s * dtype.itemsize for s in tensor.stride])
        return np.array(view, dtype=dtype.newbyteorder("="))

    return load


def _ranger(path: str, name: str, place: Place, tensor: Tensor, big_endian: bool,
            member: zipfile.ZipInfo | None) -> Callable[[int, int], Any]:
    """Flat element ranges of a C-contiguous tensor, read from its stored member (or the legacy file) alone."""
    assert tensor.storage is not None
    numel = math.prod(tensor.shape)
    first = tensor.storage.start * ITEMSIZE[tensor.storage.dtype] + tensor.offset * ITEMSIZE[tensor.dtype]
    base: list[int] = []  # where the storage begins in the file: a zip member's local header is read on first use

    def read(start: int, count: int) -> Any:
        if not base:
            base.append(place.offset if member is None else stored_start(path, member))
        return read_elements(path, name, base[0] + first, _numpy_dtype(tensor.dtype, big_endian), numel, start, count)

    return read


def _contiguous(tensor: Tensor) -> bool:
    step = 1
    for size, stride in zip(reversed(tensor.shape), reversed(tensor.stride)):
        if size != 1 and stride != step:
            return False
        step *= size
    return True


def _loadable(name: str) -> bool:
    return name in ML_DTYPES or name in {"float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8",
                                         "uint16", "uint32", "uint64", "bool", "complex64", "complex128"}


# --------------------------------------------------------------------------------------------------
# the readers


def read_torch(path: str) -> ModelFile:
    """A torch.save file (zip or legacy) or a TorchScript archive: its tensors' names, shapes and dtypes."""
    with open(path, "rb") as raw:
        head = raw.read(4)
    if head.startswith(b"PK"):
        return _read_zip(path)
    return _read_legacy(path)


def _script_classes(archive: zipfile.ZipFile, path: str, prefix: str) -> dict[str, set[str]] | None:
    """TorchScript's code/ files: each class's declared __parameters__ and __buffers__ (read as text, never run)."""
    classes: dict[str, set[str]] = {}
    folder = prefix + "code/"
    code = [info for info in archive.infolist() if info.filename.startswith(folder) and info.filename.endswith(".py")]
    if sum(info.file_size for info in code) > MAX_MEMBER:
        return None  # more code than any real module has: not read
    for info in code:
        name = info.filename
        module = name[len(folder) : -3].replace("/", ".")
        text = read_member(archive, path, name).decode("utf-8", "replace")
        for block in re.split(r"^(?=class )", text, flags=re.M):
            head = re.match(r"class (\w+)\(", block)
            if head is None:
                continue
            declared: set[str] = set()
            for kind in ("__parameters__", "__buffers__"):
                found = re.search(rf"^[ \t]+{kind} = \[([^\]\n]*)\]", block, flags=re.M)  # one line: no backtracking
                if found:
                    declared.update(re.findall(r'"([^"]*)"', found.group(1)))
            classes[f"{module}.{head.group(1)}"] = declared
    return classes


def _read_zip(path: str) -> ModelFile:
    with open_zip(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if not pickles:
            old = any(n.endswith("/model.json") for n in names)
            detail = "a TorchScript archive older than PyTorch 1.4" if old else "not a torch.save or TorchScript archive"
            raise FileFormatError(f"{path}: the zip archive has no <name>/data.pkl: {detail}")
        if len(pickles) > 1:
            raise FileFormatError(f"{path}: the zip archive has {len(pickles)} data.pkl records; torch.save writes one")
        prefix = pickles[0][: -len("data.pkl")]
        script = prefix + "constants.pkl" in names or any(n.startswith(prefix + "code/") for n in names)
        byteorder = read_member(archive, path, prefix + "byteorder", 64) if prefix + "byteorder" in names else b"little"
        big_endian = byteorder.strip() == b"big"
        sizes = {info.filename: info.file_size for info in archive.infolist()}
        plain = {info.filename: info for info in archive.infolist() if stored(info)}
        machine = Machine()
        parts = [("data", prefix + "data.pkl", "")]
        if script:
            parts.append(("constants", prefix + "constants.pkl", "CONSTANTS"))
        classes = _script_classes(archive, path, prefix) if script else {}
        if classes is None:
            note = "the TorchScript code is too large to read: tensors that are not state may be listed"
            machine.notes.setdefault(note, None)
            classes = {}
        found: list[tuple[str, Tensor, str]] = []
        mentioned: dict[Global, None] = {}
        too_deep = False
        for folder, member, root in parts:
            if member not in names:
                continue
            machine.storages = {}  # storage keys are per record: data/0 and constants/0 differ
            try:
                value, _, globals_ = machine.run(read_member(archive, path, member))
            except PickleError as error:
                raise FileFormatError(f"{path}: {member}: {error}") from None
            mentioned.update(globals_)
            namer = Namer(classes)
            if root == "CONSTANTS" and isinstance(value, tuple):
                value = {f"c{i}": item for i, item in enumerate(value)}  # the code calls them CONSTANTS.c0, ...
            namer.walk(value, root)
            too_deep |= namer.too_deep
            found += [(name, tensor, prefix + folder + "/") for name, tensor in namer.found]
    places = {}
    for _, tensor, folder in found:
        if tensor.storage is not None:
            member = folder + tensor.storage.key
            places[id(tensor.storage)] = Place(member, 0, sizes[member]) if member in sizes else None
    return _model_file(path, "torchscript" if script else "torch", found, places, machine, mentioned, big_endian,
                       too_deep, plain)


def _read_legacy(path: str) -> ModelFile:
    """The single-stream torch.save format (before 1.6, or _use_new_zipfile_serialization=False)."""
    size = os.path.getsize(path)
    chunk = 1 << 16
    while True:  # the pickles come first: read 64 KiB of the file, more only if they do not end in it
        with open(path, "rb") as raw:
            data = raw.read(min(size, chunk))
        machine = Machine()
        try:
            magic, pos, _ = machine.run(data)
        except PickleError:
            magic, pos = None, 0
        if magic != LEGACY_MAGIC:
            raise FileFormatError(f"{path}: not a PyTorch file (neither a torch.save zip archive nor a legacy stream)")
        try:
            _, pos, _ = machine.run(data, pos)  # protocol version
            info, pos, _ = machine.run(data, pos)  # sys_info
            value, pos, mentioned = machine.run(data, pos)
            keys, pos, _ = machine.run(data, pos)
            break
        except Truncated as error:
            if len(data) >= min(size, MAX_MEMBER):
                raise FileFormatError(f"{path}: {error}") from None
            chunk *= 8
        except PickleError as error:
            raise FileFormatError(f"{path}: {error}") from None
    big_endian = isinstance(info, dict) and info.get("little_endian") is False
    namer = Namer({})
    namer.walk(value, "")
    found = [(name, tensor, "") for name, tensor in namer.found]
    places: dict[int, Place | None] = {}
    offsets: dict[str, Place] = {}
    with open(path, "rb") as raw:  # each storage: its element count (8 bytes), then its bytes
        for key in keys if isinstance(keys, list) else []:
            storage = machine.storages.get(str(key))
            raw.seek(pos)
            count = raw.read(8)
            if storage is None or len(count) < 8:
                break
            nbytes = struct.unpack("<q" if not big_endian else ">q", count)[0] * ITEMSIZE[storage.dtype]
            if nbytes < 0 or pos + 8 + nbytes > size:
                break
            offsets[storage.key] = Place(None, pos + 8, nbytes)
            pos += 8 + nbytes
    for _, tensor, _ in found:
        if tensor.storage is not None:
            places[id(tensor.storage)] = offsets.get(tensor.storage.key)
    return _model_file(path, "torch", found, places, machine, mentioned, big_endian, namer.too_deep, None)


def _model_file(path: str, format: str, found: list[tuple[str, Tensor, str]], places: dict[int, Place | None],
                machine: Machine, mentioned: dict[Global, None], big_endian: bool, too_deep: bool,
                plain: dict[str, zipfile.ZipInfo] | None) -> ModelFile:
    """Check each named tensor against its storage and make the ModelFile with loaders where the data is present,
    and ranged reads where it is also contiguous and stored as it is (`plain`: a zip's stored members; None: legacy)."""
    model = ModelFile(path, format, {}, warnings=machine.warnings(mentioned))
    if too_deep:
        model.warnings.append(f"containers nested deeper than {MAX_DEPTH} levels were not searched for tensors")
    missing: dict[str, None] = {}
    for name, tensor, _ in found:
        if name in model.tensors:
            model.warnings.append(f"a second tensor named {name} was skipped")
            continue
        model.tensors[name] = TensorInfo(name, tensor.shape, tensor.dtype)
        storage = tensor.storage
        if storage is None:
            continue
        capacity = (storage.numel * ITEMSIZE[storage.dtype]) // ITEMSIZE[tensor.dtype]
        if tensor.extent() > capacity:
            raise FileFormatError(f"{path}: tensor {name} reaches element {tensor.extent()} of a storage of {capacity}")
        place = places.get(id(storage))
        needed = (storage.start + storage.numel) * ITEMSIZE[storage.dtype]
        if place is None or place.size < needed:
            missing.setdefault(storage.key, None)
        elif _loadable(tensor.dtype):
            model.loaders[name] = _loader(path, place, tensor, big_endian)
            member = None if plain is None else plain.get(place.member or "")
            if _contiguous(tensor) and (plain is None or member is not None):
                model.ranges[name] = _ranger(path, name, place, tensor, big_endian, member)
    if missing:
        keys = ", ".join(missing)
        model.warnings.append(f"the data of storage(s) {keys} is missing or short; those tensors cannot be loaded")
    if not model.tensors:  # what it would run is then the one thing worth saying about the file
        called = ", ".join(str(name) for name in mentioned if name in machine.called)
        risk = f"; loading it with torch.load would call {called}" if called else ""
        raise FileFormatError(f"{path}: no tensors in this PyTorch file{risk}")
    return model
