"""The safetensors reader: single files and sharded checkpoints with an index.

Expected values come from the arrays handed to the safetensors library here, from torch modules when
torch is installed, and from tests/files/recorded.json (written from torch by tests/record/files.py).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

safetensors_numpy = pytest.importorskip("safetensors.numpy", reason="safetensors is not installed (pip install safetensors)")

from files_helpers import FILES, RECORDED, as_floats, check_ranges, recorded  # noqa: E402
from lstm_shapes.errors import FileFormatError  # noqa: E402
from lstm_shapes.files import read  # noqa: E402


def one_line_error(path: Path) -> str:
    with pytest.raises(FileFormatError) as caught:
        read(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message, message
    return message


@pytest.mark.parametrize("name", recorded("safetensors_") + recorded("sharded"))
def test_recorded_files_give_what_torch_saved(name: str) -> None:
    pytest.importorskip("ml_dtypes", reason="bfloat16 data needs ml_dtypes")
    model = read(FILES / name)
    expected = RECORDED[name]["tensors"]
    names = [t["name"] for t in expected]
    # an index keeps its weight_map's order; a single file does not keep the state_dict's
    assert list(model.tensors) == names if name.endswith(".index.json") else sorted(model.tensors) == sorted(names)
    for tensor in expected:
        info = model.tensors[tensor["name"]]
        assert (list(info.shape), info.dtype) == (tensor["shape"], tensor["dtype"]), tensor["name"]
        np.testing.assert_array_equal(as_floats(model.load(tensor["name"])), np.array(tensor["values"], dtype=np.float64))


ARRAYS = {
    "weight_ih_l0": np.arange(24, dtype=np.float32).reshape(8, 3) / 7,
    "bias_ih_l0": np.linspace(-1, 1, 8, dtype=np.float16),
    "steps": np.array([3, 1], dtype=np.int64),
    "scalar": np.array(2.5, dtype=np.float64),
    "mask": np.array([True, False]),
    "empty": np.zeros((0, 4), dtype=np.int32),
}


def test_a_file_saved_by_the_library(tmp_path: Path) -> None:
    safetensors_numpy.save_file(ARRAYS, str(tmp_path / "m.safetensors"))
    model = read(tmp_path / "m.safetensors")
    assert model.format == "safetensors" and model.warnings == []
    assert {n: (i.shape, i.dtype) for n, i in model.tensors.items()} == {n: (a.shape, a.dtype.name) for n, a in ARRAYS.items()}
    for name, array in ARRAYS.items():
        loaded = model.load(name)
        assert loaded.dtype == array.dtype
        np.testing.assert_array_equal(loaded, array)
        check_ranges(model, name, array)


def test_ranged_reads_of_a_file_changed_after_reading_are_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    values = np.arange(24, dtype=np.float32)
    safetensors_numpy.save_file({"w": values}, str(path))
    good = path.read_bytes()
    cut, lying, garbage = read(path), read(path), read(path)  # each reads the header again at its first range
    path.write_bytes(good[:-8])  # the last two elements are gone
    np.testing.assert_array_equal(cut.ranges["w"](0, 22), values[:22])
    with pytest.raises(FileFormatError, match=r"m\.safetensors: the data of w ends early \(truncated file\)$"):
        cut.ranges["w"](20, 3)
    path.write_bytes(good.replace(b'"data_offsets":[0,96]', b'"data_offsets":[0,92]'))  # the header now lies
    assert "invalid shape, data type, or offset" in one_line_error(path)  # the library refuses it when read
    with pytest.raises(FileFormatError, match="the header's data_offsets of w do not fit its shape and dtype$"):
        lying.ranges["w"](0, 1)  # and so does a ranged read of the file read before it changed
    path.write_bytes(b"\xff" * 16)
    with pytest.raises(FileFormatError, match="m.safetensors: the header cannot be read again"):
        garbage.ranges["w"](0, 1)


def write_shards(folder: Path, shards: dict[str, dict[str, np.ndarray]], weight_map: dict[str, str] | None = None) -> Path:
    for shard, arrays in shards.items():
        safetensors_numpy.save_file(arrays, str(folder / shard))
    if weight_map is None:
        weight_map = dict(sorted((n, shard) for shard, arrays in shards.items() for n in arrays))
    index = folder / "model.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {"total_size": 0}, "weight_map": weight_map}), encoding="utf-8")
    return index


def test_a_sharded_checkpoint_reads_every_shard_in_weight_map_order(tmp_path: Path) -> None:
    shards = {"model-00001-of-00002.safetensors": {"b": ARRAYS["weight_ih_l0"], "a": ARRAYS["steps"]},
              "model-00002-of-00002.safetensors": {"c": ARRAYS["bias_ih_l0"]}}
    weight_map = {"a": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors",
                  "b": "model-00001-of-00002.safetensors"}  # the shards interleave
    model = read(write_shards(tmp_path, shards, weight_map))
    assert list(model.tensors) == ["a", "c", "b"]
    for shard in shards.values():
        for name, array in shard.items():
            assert model.tensors[name].shape == array.shape and model.tensors[name].dtype == array.dtype.name
            np.testing.assert_array_equal(model.load(name), array)
            check_ranges(model, name, array)


def test_sharded_checkpoints_that_do_not_add_up(tmp_path: Path) -> None:
    index = write_shards(tmp_path, {"one.safetensors": {"a": ARRAYS["steps"]}, "two.safetensors": {"b": ARRAYS["steps"]}})
    (tmp_path / "two.safetensors").unlink()
    assert "shard two.safetensors is missing" in one_line_error(index)
    write_shards(tmp_path, {"one.safetensors": {"a": ARRAYS["steps"]}}, {"a": "one.safetensors", "z": "one.safetensors"})
    assert "places z in shard one.safetensors, which has no tensor z" in one_line_error(index)
    write_shards(tmp_path, {"one.safetensors": {"a": ARRAYS["steps"]}}, {"a": "../one.safetensors"})
    assert "not a file name beside the index" in one_line_error(index)
    index.write_text('{"metadata": {}}', encoding="utf-8")
    assert "no weight_map" in one_line_error(index)
    index.write_text("{not json", encoding="utf-8")
    assert "not valid JSON" in one_line_error(index)
    write_shards(tmp_path, {"one.safetensors": {"a": ARRAYS["steps"], "extra": ARRAYS["mask"]}}, {"a": "one.safetensors"})
    assert read(index).warnings == ["shard one.safetensors holds 1 tensor(s) the index does not list, e.g. extra"]


def test_damaged_files_are_one_line_errors(tmp_path: Path) -> None:
    safetensors_numpy.save_file({"w": ARRAYS["weight_ih_l0"]}, str(tmp_path / "good.safetensors"))
    good = (tmp_path / "good.safetensors").read_bytes()
    (header_size,) = struct.unpack("<Q", good[:8])
    cases = {
        "empty": b"",
        "cut in the header": good[: 8 + header_size // 2],
        "cut in the data": good[:-10],
        "header longer than the file": struct.pack("<Q", 1 << 40) + good[8:],
        "header not json": struct.pack("<Q", 5) + b"{nope" + good[8 + header_size :],
        "offsets past the data": good.replace(b'"data_offsets":[0,96]', b'"data_offsets":[0,960]'),
    }
    for label, data in cases.items():
        path = tmp_path / f"{label.replace(' ', '_')}.safetensors"
        path.write_bytes(data)
        one_line_error(path)
    (tmp_path / "none.safetensors").write_bytes(struct.pack("<Q", 2) + b"{}")
    assert "no tensors" in one_line_error(tmp_path / "none.safetensors")


def test_the_reader_needs_the_library_and_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    safetensors_numpy.save_file({"w": ARRAYS["steps"]}, str(tmp_path / "m.safetensors"))
    monkeypatch.setitem(sys.modules, "safetensors", None)  # import safetensors now raises ImportError
    assert 'pip install "lstm-shapes[files]"' in str(pytest.raises(FileFormatError, read, tmp_path / "m.safetensors").value)


def test_state_dicts_saved_by_safetensors_torch(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed: safetensors.torch files skipped")
    pytest.importorskip("ml_dtypes", reason="bfloat16 data needs ml_dtypes")
    from safetensors.torch import save_file

    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        layer = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2).to(dtype)
        state = layer.state_dict()
        save_file(state, str(tmp_path / "lstm.safetensors"))
        model = read(tmp_path / "lstm.safetensors")
        assert sorted(model.tensors) == sorted(state)  # the library writes its header sorted, not in dict order
        for name, tensor in state.items():
            assert model.tensors[name].shape == tuple(tensor.shape)
            assert model.tensors[name].dtype == str(tensor.dtype).removeprefix("torch.")
            np.testing.assert_array_equal(as_floats(model.load(name)), tensor.float().numpy().astype(np.float64).reshape(-1))
            check_ranges(model, name, tensor.float().numpy())

