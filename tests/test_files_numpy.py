"""The NumPy reader: .npy and .npz from their array headers; object arrays never unpickled.

Expected shapes, dtypes and values are the arrays handed to numpy.save / numpy.savez here, and
tests/files/recorded.json (written from torch by tests/record/files.py).
"""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from files_helpers import FILES, RECORDED, as_floats, check_ranges, recorded
from lstm_shapes.errors import FileFormatError
from lstm_shapes.files import read


def one_line_error(path: Path) -> str:
    with pytest.raises(FileFormatError) as caught:
        read(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message, message
    return message


@pytest.mark.parametrize("name", recorded("numpy_"))
def test_recorded_files_give_what_torch_saved(name: str) -> None:
    model = read(FILES / name)
    expected = RECORDED[name]["tensors"]
    assert list(model.tensors) == [t["name"] for t in expected]
    for tensor in expected:
        info = model.tensors[tensor["name"]]
        assert (list(info.shape), info.dtype) == (tensor["shape"], tensor["dtype"])
        np.testing.assert_array_equal(as_floats(model.load(tensor["name"])), np.array(tensor["values"], dtype=np.float64))


ARRAYS = {
    "weight_ih_l0": np.arange(24, dtype=np.float32).reshape(8, 3) / 7,
    "bias": np.linspace(-1, 1, 8, dtype=np.float16),
    "steps": np.array([3, 1], dtype=np.int64),
    "scalar": np.array(2.5),
    "mask": np.array([[True], [False]]),
    "empty": np.zeros((0, 4), dtype=np.uint8),
    "fortran": np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3)),
    "big_endian": np.arange(4, dtype=">f8"),
    "complex": np.array([1 + 2j], dtype=np.complex64),
    "layer/nested": np.ones((1, 2, 3), dtype=np.float32),
}


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_an_npz_archive_gives_every_array(tmp_path: Path, save: Any) -> None:
    save(tmp_path / "w.npz", **ARRAYS)
    model = read(tmp_path / "w.npz")
    assert model.format == "npz" and model.warnings == []
    assert {n: (i.shape, i.dtype) for n, i in model.tensors.items()} == {n: (a.shape, a.dtype.name) for n, a in ARRAYS.items()}
    assert list(model.tensors) == list(np.load(tmp_path / "w.npz").files)
    for name, array in ARRAYS.items():
        loaded = model.load(name)
        assert loaded.dtype == array.dtype
        np.testing.assert_array_equal(loaded, array)
    # ranged reads where a member is stored (savez) and in C order: its bytes are then the values' flat order
    ranged = [name for name in ARRAYS if save is np.savez and name != "fortran"]
    assert list(model.ranges) == ranged
    for name in ranged:
        check_ranges(model, name, ARRAYS[name])


@pytest.mark.parametrize("name", list(ARRAYS)[:-1])
def test_an_npy_file_is_one_tensor_named_after_the_file(tmp_path: Path, name: str) -> None:
    np.save(tmp_path / f"{name}.npy", ARRAYS[name])
    model = read(tmp_path / f"{name}.npy")
    assert list(model.tensors) == [name]
    assert (model.tensors[name].shape, model.tensors[name].dtype) == (ARRAYS[name].shape, ARRAYS[name].dtype.name)
    np.testing.assert_array_equal(model.load(name), ARRAYS[name])
    if name == "fortran":  # stored column by column: no flat C-order ranges
        assert model.ranges == {}
    else:
        check_ranges(model, name, ARRAYS[name])


def test_ranged_reads_of_files_cut_after_reading_are_one_line_errors(tmp_path: Path) -> None:
    values = np.arange(10, dtype=np.float32)
    np.save(tmp_path / "w.npy", values)
    np.savez(tmp_path / "w.npz", w=values)
    for path in (tmp_path / "w.npy", tmp_path / "w.npz"):
        model = read(path)
        whole = path.read_bytes()
        end = whole.index(values.tobytes()) + values.nbytes
        path.write_bytes(whole[: end - 8])  # the last two elements are gone (and the npz's directory)
        np.testing.assert_array_equal(model.ranges["w"](2, 6), values[2:8])
        with pytest.raises(FileFormatError, match=r"w\.np.: the data of w ends early \(truncated file\)$"):
            model.ranges["w"](2, 7)


def test_header_versions_two_and_three(tmp_path: Path) -> None:
    from numpy.lib import format as npformat

    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    for version in [(2, 0), (3, 0)]:
        with open(tmp_path / f"v{version[0]}.npy", "wb") as out:
            npformat.write_array(out, array, version=version)
        model = read(tmp_path / f"v{version[0]}.npy")
        assert model.tensors[f"v{version[0]}"].shape == (2, 3)
        np.testing.assert_array_equal(model.load(f"v{version[0]}"), array)


class Marker:
    """Unpickles as a call that creates the file `path`."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return eval, (f"open({self.path!r}, 'w').close()",)


def test_object_arrays_are_skipped_and_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    objects = np.array([Marker(marker)], dtype=object)
    np.savez(tmp_path / "mixed.npz", w=ARRAYS["steps"], objects=objects, text=np.array(["a", "b"]))
    model = read(tmp_path / "mixed.npz")
    assert list(model.tensors) == ["w"]
    assert model.warnings == ["objects is an array of Python objects (reading it would unpickle code); skipped",
                              "text is an array of <U1, not numbers; skipped"]
    np.save(tmp_path / "objects.npy", objects, allow_pickle=True)
    assert "Python objects" in one_line_error(tmp_path / "objects.npy")
    assert not marker.exists()
    np.load(tmp_path / "objects.npy", allow_pickle=True)  # the payload is live: numpy runs it when allowed
    assert marker.exists()


def test_a_sparse_four_gigabyte_array_is_read_from_its_header_alone(tmp_path: Path) -> None:
    from numpy.lib import format as npformat

    path = tmp_path / "huge.npy"
    with open(path, "wb") as out:
        npformat.write_array_header_1_0(out, {"descr": "<f4", "fortran_order": False, "shape": (1 << 30,)})
        out.truncate(out.tell() + (4 << 30))  # a hole: reading the data would need 4 GB of memory
    tracemalloc.start()
    model = read(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert model.tensors["huge"].shape == (1 << 30,) and "huge" in model.loaders and peak < 10 << 20


def test_damaged_arrays(tmp_path: Path) -> None:
    good = io.BytesIO()
    np.save(good, np.arange(10, dtype=np.float32))
    data = good.getvalue()
    cases = {"not numpy": b"PK\x03\x04 not an array", "cut in the magic": data[:4], "cut in the header": data[:40],
             "version 9": data[:6] + b"\x09\x00" + data[8:], "header too long": data[:8] + b"\xff\xff" + b" " * 70000,
             "header not a dict": data[:10] + b"[1, 2]".ljust(int.from_bytes(data[8:10], "little") - 1) + b"\n"}
    for label, content in cases.items():
        (tmp_path / f"{label}.npy").write_bytes(content)
        one_line_error(tmp_path / f"{label}.npy")
    (tmp_path / "short.npy").write_bytes(data[:-8])
    model = read(tmp_path / "short.npy")
    assert model.tensors["short"].shape == (10,) and "short" not in model.loaders and "truncated" in model.warnings[0]


def test_damaged_archives(tmp_path: Path) -> None:
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 damaged")
    assert "not a readable zip archive" in one_line_error(tmp_path / "broken.npz")
    with zipfile.ZipFile(tmp_path / "other.npz", "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert "no numeric arrays" in one_line_error(tmp_path / "other.npz")
    good = io.BytesIO()
    np.save(good, np.arange(10, dtype=np.float32))
    with zipfile.ZipFile(tmp_path / "lying.npz", "w") as archive:
        archive.writestr("w.npy", good.getvalue()[:-8])  # the header promises 40 bytes of data, the member has 32
        archive.writestr("bad.npy", b"\x93NUMPY garbage")
    with pytest.raises(FileFormatError, match="bad.npy: not a readable .npy array header"):
        read(tmp_path / "lying.npz")
    with zipfile.ZipFile(tmp_path / "lying.npz", "w") as archive:
        archive.writestr("w.npy", good.getvalue()[:-8])
    model = read(tmp_path / "lying.npz")
    assert model.tensors["w"].shape == (10,) and "w" not in model.loaders


def test_pickle_is_never_allowed_when_loading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a reader that loads with allow_pickle=True would be caught here even for numeric arrays
    seen: list[bool] = []
    real = np.lib.format.read_array

    def spy(*args: Any, allow_pickle: bool = False, **kwargs: Any) -> Any:
        seen.append(allow_pickle)
        return real(*args, allow_pickle=allow_pickle, **kwargs)

    monkeypatch.setattr(np.lib.format, "read_array", spy)
    np.savez(tmp_path / "w.npz", w=ARRAYS["steps"])
    np.save(tmp_path / "w.npy", ARRAYS["steps"])
    read(tmp_path / "w.npz").load("w")
    read(tmp_path / "w.npy").load("w")
    assert seen and not any(seen)

