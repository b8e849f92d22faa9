"""Hostile model files through the real command line: `lstm-shapes inspect PATH` and `lstm-shapes convert PATH`
in a child process.

Every case must end in exit 2 with one line on stderr naming the file and saying what is wrong, nothing on
stdout, within TIMEOUT seconds and under MEMORY bytes of address space (so a reader that allocates what a
file declares fails here with a MemoryError's traceback), and without running anything the file asks for.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import resource
import shlex
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from files_helpers import FILES, Pickle, torch_zip
from lstm_shapes.files.kerasfiles import MAX_CONFIG

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 15  # seconds; the costly pickles take 2 to 3 (about 5 on a busy machine), a minute without the opcode cap
MEMORY = 1 << 30  # bytes of address space for the child: far below what any of these files declares
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
# every suffix read() takes: an empty file of each must be refused in one line
SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".jit", ".safetensors", ".safetensors.index.json", ".npy", ".npz",
            ".keras", ".h5", ".hdf5", ".weights.h5", ".onnx", ".msgpack", ".flax")


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


# Each case runs through both commands that read model files: convert reads its source as inspect does.
COMMANDS = {"inspect": (), "convert": ("--to", "keras", "-o", "converted.npz")}


@pytest.fixture(autouse=True, params=sorted(COMMANDS))
def command(request: pytest.FixtureRequest) -> str:
    global COMMAND
    COMMAND = request.param
    return str(request.param)


COMMAND = "inspect"


def inspect(path: Path) -> str:
    """Run `lstm-shapes inspect path` (or convert) bounded in time and memory; check the refusal and return its line."""
    before = sorted(os.listdir(path.parent))
    done = subprocess.run([sys.executable, "-m", "lstm_shapes", COMMAND, str(path), *COMMANDS[COMMAND]],
                          capture_output=True, text=True, timeout=TIMEOUT, preexec_fn=_limit_memory, cwd=path.parent,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert sorted(os.listdir(path.parent)) == before  # convert wrote nothing, not even a partial file
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stdout == ""
    assert len(lines) == 1, done.stderr[-2000:]
    assert lines[0].startswith("lstm-shapes: error: ") and str(path.name) in lines[0], lines[0]
    return lines[0]


class Payload:
    """What an attacker pickles: unpickling it runs a shell command that creates the canary."""

    def __init__(self, canary: Path) -> None:
        self.command = f"touch {shlex.quote(str(canary))}"

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (self.command,)


def legacy_stream(value: bytes) -> bytes:
    """The single-stream torch.save layout: magic, protocol version, sys_info, the pickled value, its storage keys."""
    info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}
    head = b"".join(pickle.dumps(v, protocol=2) for v in (LEGACY_MAGIC, 1001, info))
    return head + value + pickle.dumps([], protocol=2)


def runs_with_pickle(data: bytes, skip: int, canary: Path) -> bool:
    """Whether Python's own unpickler, given the `skip` pickles before it, runs the payload (the test's control)."""
    stream = io.BytesIO(data)
    for _ in range(skip):
        pickle.load(stream)
    pickle.load(stream)
    ran = canary.exists()
    canary.unlink(missing_ok=True)
    return ran


# --------------------------------------------------------------------------------------------------
# code in the pickle


def test_a_pickle_that_runs_a_command_in_a_torch_zip_is_refused_and_not_run(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    payload = pickle.dumps(Payload(canary), protocol=2)
    assert runs_with_pickle(payload, 0, canary)  # the payload is live
    path = torch_zip(tmp_path / "model.pt", payload)
    line = inspect(path)
    assert not canary.exists()
    assert "no tensors" in line and f"would call {os.system.__module__}.system" in line, line


def test_a_pickle_that_runs_a_command_in_a_legacy_stream_is_refused_and_not_run(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    data = legacy_stream(pickle.dumps(Payload(canary), protocol=2))
    assert runs_with_pickle(data, 3, canary)
    path = tmp_path / "model.pt"
    path.write_bytes(data)
    line = inspect(path)
    assert not canary.exists()
    assert "no tensors" in line and f"would call {os.system.__module__}.system" in line, line


# --------------------------------------------------------------------------------------------------
# damaged archives and headers


def test_a_truncated_torch_zip_is_refused(tmp_path: Path) -> None:
    whole = (FILES / "torch_state_dict.pt").read_bytes()
    directory = whole.rfind(b"PK\x01\x02", 0, whole.rfind(b"PK\x05\x06"))  # the last central directory entry
    for end in (30, len(whole) // 2, directory, len(whole) - 1):
        path = tmp_path / f"cut{end}.pt"
        path.write_bytes(whole[:end])
        assert "zip" in inspect(path)


def keras_zip() -> bytes:
    """A zip with the members Keras 3 writes to a .keras file (the HDF5 part stands in; it is never reached)."""
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": []}}
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.10.0"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n" + bytes(4096))
    return raw.getvalue()


def test_a_truncated_keras_zip_is_refused(tmp_path: Path) -> None:
    whole = keras_zip()
    for end in (30, len(whole) // 2, len(whole) - 1):
        path = tmp_path / f"cut{end}.keras"
        path.write_bytes(whole[:end])
        assert "zip" in inspect(path)


def safetensors_file(path: Path, header: dict[str, object], data: bytes) -> Path:
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + data)
    return path


def test_a_safetensors_header_that_lies_about_its_offsets_is_refused(tmp_path: Path) -> None:
    f32 = {"dtype": "F32", "shape": [2, 3]}  # 24 bytes each
    overlapping = {"a": {**f32, "data_offsets": [0, 24]}, "b": {**f32, "data_offsets": [12, 36]}}
    past_the_end = {"a": {**f32, "data_offsets": [0, 24]}, "b": {**f32, "data_offsets": [24, 1 << 40]}}
    wrong_size = {"a": {**f32, "data_offsets": [0, 48]}}
    for label, header in {"overlap": overlapping, "past": past_the_end, "size": wrong_size}.items():
        inspect(safetensors_file(tmp_path / f"{label}.safetensors", header, bytes(48)))


def test_a_safetensors_file_claiming_a_1_gb_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.safetensors"
    path.write_bytes(struct.pack("<Q", 1 << 30) + b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}')
    inspect(path)
    path.write_bytes(struct.pack("<Q", 1 << 30) + bytes(1 << 20))  # a header of zeros, 1 MB of them present
    inspect(path)


def deflate_bomb(unit: bytes, repeats: int) -> bytes:
    """A raw deflate stream of `unit` (flushed whole, so every copy compresses alike) repeated `repeats` times."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = packer.compress(unit) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(unit) + packer.flush(zlib.Z_FULL_FLUSH)
    return first + again * (repeats - 1) + packer.flush()


def zip_with_bomb(path: Path, member: str, stream: bytes, declared: int) -> Path:
    """A zip whose `member` is the deflate `stream`, declaring `declared` bytes inflated (true or not)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, stream, compress_type=zipfile.ZIP_STORED)
        archive.writestr("archive/byteorder", "little")
    data = bytearray(path.read_bytes())
    local = data.find(b"PK\x03\x04" + b"\x14\x00")
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<H", data, local + 8, zipfile.ZIP_DEFLATED)
    struct.pack_into("<I", data, local + 22, declared)
    struct.pack_into("<H", data, central + 10, zipfile.ZIP_DEFLATED)
    struct.pack_into("<I", data, central + 24, declared)
    path.write_bytes(bytes(data))
    return path


def test_a_zip_bomb_is_refused_without_inflating_it(tmp_path: Path) -> None:
    unit = b"N0" * (1 << 19)  # 1 MB of pickle opcodes
    stream = deflate_bomb(unit, 2048)  # 2 GB inflated
    assert len(stream) < 4 << 20
    honest = zip_with_bomb(tmp_path / "honest.pt", "archive/data.pkl", stream, 2 << 30)
    assert "archive/data.pkl" in inspect(honest)
    for declared in (1000, 32 << 20):  # it says it is small: zipfile stops there, and the check sum is wrong
        lying = zip_with_bomb(tmp_path / f"lying{declared}.pt", "archive/data.pkl", stream, declared)
        assert "archive/data.pkl" in inspect(lying)


# --------------------------------------------------------------------------------------------------
# pickles that cost more than their bytes

PICKLE_BYTES = 60 << 20  # under the readers' 64 MB limit on a pickle member, so the pickle itself is run
# Pickles of one opcode per byte, each making an object that lives until the end: ~60 bytes of memory per byte.
COSTLY = {
    "nested lists": b"]" * (PICKLE_BYTES // 2) + b"a" * (PICKLE_BYTES // 2 - 1) + b".",
    "nested tuples": b"N" + b"\x85" * PICKLE_BYTES + b".",
    "a memo entry per byte": b"N" + b"\x94" * PICKLE_BYTES + b".",
}


@pytest.mark.parametrize("label", sorted(COSTLY))
def test_a_deeply_nested_or_costly_pickle_is_refused_in_bounded_time_and_memory(tmp_path: Path, label: str) -> None:
    path = torch_zip(tmp_path / f"{label.replace(' ', '_')}.pt", b"\x80\x02" + COSTLY[label])
    assert "archive/data.pkl" in inspect(path)


@pytest.mark.parametrize("size", [MAX_CONFIG - 16, 60 << 20])
def test_a_keras_config_that_parses_into_millions_of_objects_is_refused(tmp_path: Path, size: int) -> None:
    config = b"[" + b"[]," * ((size - 4) // 3) + b"[]]"  # an empty list every 3 bytes: 20 times their size in memory
    with zipfile.ZipFile(tmp_path / "bomb.keras", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", config)
        archive.writestr("model.weights.h5", b"")
    line = inspect(tmp_path / "bomb.keras")  # under the limit: parsed within MEMORY; over it: not parsed
    assert size < MAX_CONFIG or "config.json is larger than" in line, line


def test_a_dict_key_too_long_to_print_is_skipped(tmp_path: Path) -> None:
    huge = 1 << 24_000  # more digits than Python converts to text
    data = Pickle().raw(b"}(").raw(b"\x8b" + struct.pack("<i", 3001) + huge.to_bytes(3001, "little", signed=True))
    path = torch_zip(tmp_path / "key.pt", data.str("w").raw(b"u").done())
    assert "no tensors" in inspect(path)


# --------------------------------------------------------------------------------------------------
# paths that are not files


def test_a_symlink_loop_is_refused_as_one(tmp_path: Path) -> None:
    (tmp_path / "a.pt").symlink_to("b.pt")
    (tmp_path / "b.pt").symlink_to("a.pt")
    assert "symbolic links" in inspect(tmp_path / "a.pt")


def test_a_directory_named_like_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model.pt").mkdir()
    assert "directory" in inspect(tmp_path / "model.pt")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_an_empty_file_is_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"model{suffix}"
    path.touch()
    assert inspect(path).endswith(f"{path.name}: the file is empty")


def test_an_onnx_file_without_a_graph_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x08\x07")  # a ModelProto of ir_version 7 and nothing else: protobuf parses it
    assert "no graph" in inspect(path)
