"""The Flax msgpack reader against files real flax saved, and against damaged and hostile files.

The files and their truth (paths, shapes, dtypes and values of the live tree that was saved) were
recorded by tests/record/flax_files.py with flax; this run needs msgpack only. Hostile files are
built here byte by byte, following flax/serialization.py's format: an array is ext 1 (a numpy scalar
ext 3) whose payload is msgpack of [shape, dtype name, data bytes].
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lstm_shapes import Config, build
from lstm_shapes.errors import FileFormatError
from lstm_shapes.files import INSTALL_HINT, read

msgpack = pytest.importorskip("msgpack")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FILES = Path(__file__).parent / "files"
TRUTH = json.loads((FILES / "flax_files.json").read_text(encoding="utf-8"))
SAVED = sorted(k for k in TRUTH if k != "recorded_with")
MODELS = [k for k in SAVED if "config" in TRUTH[k]]


def expected_values(entry: dict[str, Any]) -> np.ndarray:
    values = entry["values"]
    if isinstance(values, dict):
        return np.asarray(values["real"]) + 1j * np.asarray(values["imag"])
    return np.asarray(values)


@pytest.mark.parametrize("name", SAVED)
def test_every_array_with_its_path_shape_and_dtype_in_file_order(name: str) -> None:
    got = read(FILES / name)
    assert got.format == "flax-msgpack"
    assert [(t.name, t.shape, t.dtype) for t in got.tensors.values()] == [
        (t["name"], tuple(t["shape"]), t["dtype"]) for t in TRUTH[name]["tensors"]]
    assert got.layers == []  # the file holds no module classes


@pytest.mark.parametrize("name", SAVED)
def test_loaders_give_the_saved_values(name: str) -> None:
    got = read(FILES / name)
    for entry in TRUTH[name]["tensors"]:
        a = got.load(entry["name"])
        assert (a.shape, a.dtype.name) == (tuple(entry["shape"]), entry["dtype"])
        want = expected_values(entry)
        np.testing.assert_array_equal(a.astype(want.dtype).ravel() if a.dtype.kind in "fc" else a.ravel(), want)


@pytest.mark.parametrize("name", [k for k in SAVED if TRUTH[k]["not_arrays"]])
def test_values_that_are_not_arrays_are_named_in_a_warning(name: str) -> None:
    # A TrainState's step (an int); a raw tree's string, Python complex and int.
    others = TRUTH[name]["not_arrays"]
    (warning,) = read(FILES / name).warnings
    assert warning == f"{len(others)} saved value(s) that are not arrays are not listed: {', '.join(others)}"


@pytest.mark.parametrize("name", MODELS)
def test_a_model_files_paths_are_the_tools_names_under_params(name: str) -> None:
    # model.init(...) saves {"params": {...}}; under params/ each path is the name the tool gives that tensor.
    report = build(Config(framework="flax", **TRUTH[name]["config"]))
    got = read(FILES / name).tensors.values()
    assert [(t.name, t.shape) for t in got] == [(f"params/{w.name}", w.shape) for w in report.weights]


def test_a_chunked_array_is_one_tensor_of_its_whole_shape() -> None:
    path = FILES / "flax_chunked.msgpack"
    assert path.read_bytes().count(b"__msgpack_chunked_array__") == 1  # flax did split it
    got = read(path)
    assert list(got.tensors) == ["params/embed/embedding", "params/head/kernel"]
    assert got.tensors["params/embed/embedding"].shape == (50, 8)
    # 50 x 8 float32 = 1600 bytes in chunks of at most 256 bytes: seven payloads joined in order
    np.testing.assert_array_equal(got.load("params/embed/embedding").ravel(),
                                  expected_values(TRUTH["flax_chunked.msgpack"]["tensors"][0]))


def test_the_suffix_picks_the_reader_in_any_case(tmp_path: Path) -> None:
    for target in ("M.MSGPACK", "m.Flax"):
        shutil.copy(FILES / "flax_gru.flax", tmp_path / target)
        assert list(read(tmp_path / target).tensors) == [t["name"] for t in TRUTH["flax_gru.flax"]["tensors"]]


def test_reading_builds_no_array() -> None:
    # Shapes come from the payloads' heads: numpy is not even imported until a loader runs.
    code = ("import sys; from lstm_shapes.files import read\n"
            f"for name in {SAVED!r}: read({str(FILES)!r} + '/' + name)\n"
            "print('numpy' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "False"


def test_a_loader_reads_only_as_far_as_its_tensor(tmp_path: Path) -> None:
    path = tmp_path / "m.msgpack"
    shutil.copy(FILES / "flax_stack.msgpack", path)
    got = read(path)
    first, last = list(got.tensors)[0], list(got.tensors)[-1]
    with open(path, "r+b") as f:  # the last array is cut short after the file was read
        f.truncate(path.stat().st_size - 1)
    np.testing.assert_array_equal(got.load(first).ravel(), expected_values(TRUTH["flax_stack.msgpack"]["tensors"][0]))
    with pytest.raises(FileFormatError) as caught:
        got.load(last)
    assert str(caught.value) == f"{path}: the file ends inside the saved tree (truncated?)"


def test_a_loader_of_a_file_removed_since_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "m.msgpack"
    shutil.copy(FILES / "flax_lstm.msgpack", path)
    got = read(path)
    path.unlink()
    with pytest.raises(FileFormatError) as caught:
        got.load("params/cell/hf/bias")
    assert str(caught.value).startswith(f"{path}: the data of params/cell/hf/bias cannot be read (")
    assert "\n" not in str(caught.value)


# --- damaged and hostile files ----------------------------------------------------------------------------


def ext(shape: Any, dtype: Any, data: bytes, code: int = 1) -> Any:
    return msgpack.ExtType(code, msgpack.packb([shape, dtype, data], use_bin_type=True))


def one(value: Any) -> bytes:
    return msgpack.packb({"params": {"w": value}}, use_bin_type=True)


GOOD = ext([2], "float32", bytes(8))
HOSTILE = {
    "empty": (b"", "the file is empty"),
    "not msgpack": (b"\xc1\xc1\xc1", "not a readable Flax msgpack file (FormatError)"),
    "a lone number": (msgpack.packb(5), "not a Flax msgpack file: it holds a single int, not a tree of named arrays"),
    "a lone array": (msgpack.packb(GOOD), "not a Flax msgpack file: it holds one array, not a tree of named arrays"),
    "trailing bytes": (one(GOOD) + b"\x00\x00", "not a Flax msgpack file: 2 byte(s) follow the saved tree"),
    "no arrays": (msgpack.packb({"params": {}, "step": 1}), "not a Flax checkpoint: the msgpack tree holds no arrays"),
    "a map declaring 2**32-1 entries": (b"\xdf\xff\xff\xff\xff", "4294967295 exceeds max_map_len(5)"),
    "a list declaring 2**32-1 items": (b"\x81\xa1a\xdd\xff\xff\xff\xff", "4294967295 exceeds max_array_len(8)"),
    "an ext declaring 4 GiB": (b"\x81\xa1a\xc9\xff\xff\xff\xff\x01", "exceeds max_ext_len(9)"),
    "a string declaring 4 GiB": (b"\x81\xdb\xff\xff\xff\xff", "the file ends inside the saved tree"),
    "maps nested 100 deep": (b"\x81\xa1a" * 100 + msgpack.packb(GOOD), "maps nested more than 64 deep"),
    "maps nested 100000 deep": (b"\x81\xa1a" * 100_000 + b"\xc0", "not a readable Flax msgpack file (StackError)"),
    "a key that is not UTF-8": (b"\x81\xa2\xff\xfe\xc0", "(UnicodeDecodeError"),
    "a payload that is not msgpack": (one(msgpack.ExtType(1, b"\xc1\xc1")), "params/w is an array ext whose payload is damaged"),
    "an empty payload": (one(msgpack.ExtType(1, b"")), "payload ends inside its shape or dtype"),
    "a payload of two items": (one(msgpack.ExtType(1, msgpack.packb([[2], "float32"]))), "not (shape, dtype, data)"),
    "a negative size": (one(ext([-1], "float32", b"")), "its shape is not a list of sizes ([-1])"),
    "a shape that is a string": (one(ext("2", "float32", bytes(8))), "its shape is not a list of sizes"),
    "rank 100": (one(ext([1] * 100, "float32", bytes(4))), "100 exceeds max_array_len(64)"),
    "a dtype that is not a name": (one(ext([2], "f 32", bytes(8))), "its dtype name is not one ('f 32')"),
    "data shorter than the shape": (one(ext([3], "float32", bytes(8))), "float32 needs 12 bytes, it holds 8"),
    "sizes of 2**62": (one(ext([2**62, 2**62], "int8", bytes(8))), f"int8 needs {2**124} bytes, it holds 8"),
    # [[2], "float32", bin32 declaring 4 GiB] followed by 8 bytes
    "data declaring 4 GiB": (one(msgpack.ExtType(1, b"\x93\x91\x02\xa7float32\xc6\xff\xff\xff\xff" + bytes(8))),
                             "its data is declared as 4294967295 bytes but the payload holds 8"),
    "data that is a number": (one(msgpack.ExtType(1, b"\x93\x91\x02\xa7float32\x05")), "its data is not a byte string"),
    "a numpy scalar with a shape": (one(ext([2], "float32", bytes(8), code=3)), "is a numpy scalar ext of shape (2,)"),
    "chunks short of the shape": (one({"__msgpack_chunked_array__": True, "shape": {"0": 3}, "chunks": {"0": GOOD}}),
                                  "params/w is a chunked array whose chunks do not make its shape (3,)"),
    "chunks of two dtypes": (one({"__msgpack_chunked_array__": True, "shape": {"0": 4},
                                  "chunks": {"0": GOOD, "1": ext([2], "int32", bytes(8))}}), "do not make its shape (4,)"),
    "a chunked array without a shape": (one({"__msgpack_chunked_array__": True, "chunks": {"0": GOOD}}),
                                        "params/w is a chunked array without a shape"),
    "chunks that are not arrays": (one({"__msgpack_chunked_array__": True, "shape": {"0": 2}, "chunks": {"0": 1}}),
                                   "whose chunks are not 1-D arrays"),
}


@pytest.mark.parametrize("label", sorted(HOSTILE))
def test_a_hostile_file_is_one_line_naming_the_file(label: str, tmp_path: Path) -> None:
    data, message = HOSTILE[label]
    path = tmp_path / "m.msgpack"
    path.write_bytes(data)
    with pytest.raises(FileFormatError) as caught:
        read(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    assert message in text


def test_a_list_longer_than_a_million_items_is_refused_before_it_is_allocated(tmp_path: Path) -> None:
    # 2**21 nils make a valid list, but no tree of arrays holds one; msgpack would allocate its length at once.
    path = tmp_path / "m.msgpack"
    path.write_bytes(b"\x81\xa1a\xdd" + (2**21).to_bytes(4, "big") + b"\xc0" * 2**21)
    with pytest.raises(FileFormatError, match=r"2097152 exceeds max_array_len\(1048576\)"):
        read(path)


@pytest.mark.parametrize("name", ["flax_stack.msgpack", "flax_odd.msgpack", "flax_chunked.msgpack"])
def test_every_truncation_of_a_real_file_is_refused(name: str, tmp_path: Path) -> None:
    path = tmp_path / "m.msgpack"
    shutil.copy(FILES / name, path)
    for n in range(path.stat().st_size - 1, -1, -1):  # cut one byte at a time, in place
        os.truncate(path, n)
        with pytest.raises(FileFormatError) as caught:
            read(path)
        assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)


def test_every_flipped_bit_of_a_real_file_is_read_or_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "m.msgpack"
    shutil.copy(FILES / "flax_simple.msgpack", path)
    whole = path.read_bytes()
    refused = 0
    fd = os.open(path, os.O_WRONLY)
    try:
        for i, byte in enumerate(whole):
            for bit in range(8):
                os.pwrite(fd, bytes([byte ^ (1 << bit)]), i)
                try:
                    got = read(path)
                    for name in got.tensors:  # a flip in the data reads back; one in a payload's head fails on load
                        got.load(name)
                except FileFormatError as e:
                    assert str(e).startswith(f"{path}: ") and "\n" not in str(e)
                    refused += 1
            os.pwrite(fd, bytes([byte]), i)
    finally:
        os.close(fd)
    assert 0 < refused < 8 * len(whole)  # flips in the float data are valid files


def hostile_trees() -> Any:
    """Trees of every msgpack type, with array exts that are well formed, half formed and not at all."""
    sizes = st.lists(st.integers(0, 4) | st.integers(-2, 2**64 - 1), max_size=4)
    payloads = st.one_of(
        st.builds(lambda s, d, b: msgpack.packb([s, d, b], use_bin_type=True),
                  sizes, st.sampled_from(["float32", "int8", "bfloat16", "float99", "", "F"]) | st.text(max_size=5),
                  st.binary(max_size=24)),
        st.binary(max_size=24))
    exts = st.builds(msgpack.ExtType, st.sampled_from([1, 2, 3, 0, 127]), payloads)
    stamps = st.builds(msgpack.Timestamp, st.integers(0, 2**32), st.integers(0, 999_999_999))
    leaves = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | st.text(max_size=4) | exts | stamps
    keys = st.text(max_size=4) | st.integers(-3, 3) | st.binary(max_size=3) | st.just("__msgpack_chunked_array__")
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                        max_leaves=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=hostile_trees(), cut=st.integers(0, 3))
def test_any_msgpack_tree_is_read_or_refused_in_one_line(tree: Any, cut: int) -> None:
    data = msgpack.packb(tree, use_bin_type=True)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.msgpack"
        path.write_bytes(data[:len(data) - cut])
        try:
            got = read(path)
            for name in got.tensors:
                got.load(name)
        except FileFormatError as e:
            assert str(e).startswith(f"{path}: ") and "\n" not in str(e)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=64))
def test_any_bytes_are_read_or_refused_in_one_line(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.msgpack"
        path.write_bytes(data)
        try:
            read(path)
        except FileFormatError as e:
            assert str(e).startswith(f"{path}: ") and "\n" not in str(e)


def test_an_unknown_dtype_is_listed_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "m.msgpack"
    path.write_bytes(one(ext([2], "float99", bytes(3))))
    got = read(path)
    assert got.tensors["params/w"].shape == (2,)
    assert got.warnings == ["params/w: dtype float99 is not one this reader knows; its size was not checked"]


@pytest.mark.parametrize(("dtype", "message"), [("float99", "params/w has dtype float99, which numpy does not know"),
                                                ("object", "params/w has dtype object, which is not array data"),
                                                ("str", "params/w has dtype str, which is not array data")])
def test_data_of_a_dtype_numpy_cannot_hold_is_refused_on_load(dtype: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "m.msgpack"
    path.write_bytes(one(ext([2], dtype, bytes(16))))
    got = read(path)  # listed, with a warning: the shape is known
    with pytest.raises(FileFormatError) as caught:
        got.load("params/w")
    assert str(caught.value) == f"{path}: {message}"


def test_a_key_spelling_another_path_keeps_both_tensors(tmp_path: Path) -> None:
    path = tmp_path / "m.msgpack"
    path.write_bytes(msgpack.packb({"a": {"b": GOOD}, "a/b": ext([3], "int8", bytes(3))}, use_bin_type=True))
    got = read(path)
    assert [(t.name, t.shape) for t in got.tensors.values()] == [("a/b", (2,)), ("a/b#1", (3,))]
    assert got.warnings == ["two tensors are named a/b; the second is listed as a/b#1"]
    np.testing.assert_array_equal(got.load("a/b#1"), np.zeros(3, np.int8))


def test_a_key_that_does_not_print_is_escaped_in_names_and_messages(tmp_path: Path) -> None:
    path = tmp_path / "m.msgpack"
    path.write_bytes(msgpack.packb({"a\nb": GOOD, "c\td": {"__msgpack_chunked_array__": True}}, use_bin_type=True))
    with pytest.raises(FileFormatError) as caught:
        read(path)
    assert str(caught.value) == f"{path}: c\\td is a chunked array without a shape"
    path.write_bytes(msgpack.packb({"a\nb": GOOD, "é": GOOD}, use_bin_type=True))
    assert list(read(path).tensors) == ["a\\nb", "é"]


def test_bfloat16_data_without_ml_dtypes_is_one_line_naming_the_install() -> None:
    # A new process: once ml_dtypes is imported, numpy knows bfloat16 for good.
    code = ("import sys; sys.modules['ml_dtypes'] = None\n"
            "from lstm_shapes.errors import FileFormatError; from lstm_shapes.files import read\n"
            f"m = read({str(FILES / 'flax_odd.msgpack')!r}); print(m.tensors['half'].dtype, m.load('half').dtype)\n"
            "try: m.load('brain')\nexcept FileFormatError as e: print(e)")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.splitlines() == [
        "float16 float16",
        f"{FILES / 'flax_odd.msgpack'}: reading bfloat16 data needs the ml_dtypes package: pip install ml_dtypes"]


def test_missing_msgpack_is_one_line_naming_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "msgpack", None)  # import msgpack now raises ImportError
    with pytest.raises(FileFormatError) as caught:
        read(FILES / "flax_lstm.msgpack")
    assert str(caught.value) == f"reading Flax msgpack files needs the msgpack package: {INSTALL_HINT}"
