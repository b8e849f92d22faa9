"""The PyTorch reader: torch.save archives (zip and legacy), TorchScript, and hostile pickles.

Expected names, shapes, dtypes and values come from torch itself: from tests/files/recorded.json (written
by tests/record/files.py from the live modules' state_dict()) in the default run, and from modules built
here when torch is installed. Hostile files are written by hand; none of them may run anything.
"""

from __future__ import annotations

import pickle
import random
import struct
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from files_helpers import FILES, RECORDED, Pickle, as_floats, check_ranges, recorded, torch_zip
from lstm_shapes.errors import FileFormatError
from lstm_shapes.files import ModelFile, read
from lstm_shapes.files.torch import read_torch

# torch's own notice that TorchScript is deprecated; the archives it writes are what is tested here
pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.* is deprecated:DeprecationWarning")


def torch_or_skip() -> Any:
    return pytest.importorskip("torch", reason="torch is not installed: files written by torch itself are skipped")


def one_line_error(path: Path) -> str:
    """The reader's FileFormatError for `path`, checked to be one line naming the file."""
    with pytest.raises(FileFormatError) as caught:
        read(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message, message
    return message


# --------------------------------------------------------------------------------------------------
# recorded files (no torch needed)


@pytest.mark.parametrize("name", recorded("torch_"))
def test_recorded_files_give_the_names_shapes_dtypes_and_values_torch_recorded(name: str) -> None:
    model = read(FILES / name)
    expected = RECORDED[name]["tensors"]
    assert list(model.tensors) == [t["name"] for t in expected]
    for tensor in expected:
        info = model.tensors[tensor["name"]]
        assert (list(info.shape), info.dtype) == (tensor["shape"], tensor["dtype"]), tensor["name"]
        if tensor["dtype"] == "bfloat16":
            pytest.importorskip("ml_dtypes", reason="bfloat16 data needs ml_dtypes")
        np.testing.assert_array_equal(as_floats(model.load(tensor["name"])), np.array(tensor["values"], dtype=np.float64))


def test_a_whole_pickled_module_warns_of_each_class_torch_would_refuse_once() -> None:
    # recorded: the globals of data.pkl that torch.load(weights_only=True) does not allow (found with pickletools)
    model = read(FILES / "torch_whole_module.pt")
    expected = RECORDED["torch_whole_module.pt"]["refused"]
    assert expected and model.warnings == [f"loading this with torch.load would call {name}" for name in expected]


def test_a_plain_state_dict_has_no_warnings() -> None:
    assert read(FILES / "torch_state_dict.pt").warnings == []


def test_a_torchscript_archive_keeps_its_declared_buffers_and_drops_plain_tensor_attributes() -> None:
    # the module has `scratch` (a non-persistent buffer, in TorchScript's state_dict) and `plain` (not a buffer)
    names = list(read(FILES / "torch_script.jit").tensors)
    assert "scratch" in names and "plain" not in names and read(FILES / "torch_script.jit").format == "torchscript"


# --------------------------------------------------------------------------------------------------
# files written by torch here


def state_dict_cases() -> list[tuple[str, dict[str, Any]]]:
    return [
        ("lstm", dict(input_size=3, hidden_size=4)),
        ("lstm", dict(input_size=3, hidden_size=5, num_layers=2, bidirectional=True, proj_size=2)),
        ("lstm", dict(input_size=2, hidden_size=3, bias=False, batch_first=True)),
        ("gru", dict(input_size=3, hidden_size=4, num_layers=3, bidirectional=True)),
        ("gru", dict(input_size=4, hidden_size=2, bias=False)),
        ("rnn", dict(input_size=3, hidden_size=4, num_layers=2, nonlinearity="relu")),
        ("rnn", dict(input_size=2, hidden_size=3, bidirectional=True)),
    ]


def check_against(model: ModelFile, tensors: dict[str, Any]) -> None:
    """Every name, shape, dtype and value of the file equals the torch tensors', in the same order."""
    torch = torch_or_skip()
    assert list(model.tensors) == list(tensors)
    for name, tensor in tensors.items():
        info = model.tensors[name]
        assert info.shape == tuple(tensor.shape) and info.dtype == str(tensor.dtype).removeprefix("torch."), name
        loaded = model.load(name)
        expected = tensor.detach().float() if tensor.dtype == torch.bfloat16 else tensor.detach()
        np.testing.assert_array_equal(as_floats(loaded), expected.numpy().astype(np.float64).reshape(-1), err_msg=name)
        if tensor.is_contiguous():  # torch.save stores every storage uncompressed: ranged reads for each such tensor
            check_ranges(model, name, expected.numpy())
        else:
            assert name not in model.ranges, name


@pytest.mark.parametrize(("cell", "kwargs"), state_dict_cases())
@pytest.mark.parametrize("suffix", [".pt", ".pth", ".bin", ".ckpt"])
def test_state_dicts_of_recurrent_layers(tmp_path: Path, cell: str, kwargs: dict[str, Any], suffix: str) -> None:
    torch = torch_or_skip()
    torch.manual_seed(1)
    layer = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](**kwargs)
    torch.save(layer.state_dict(), tmp_path / f"model{suffix}")
    check_against(read(tmp_path / f"model{suffix}"), layer.state_dict())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_half_bfloat_and_double_weights(tmp_path: Path, dtype: str) -> None:
    torch = torch_or_skip()
    if dtype == "bfloat16":
        pytest.importorskip("ml_dtypes", reason="bfloat16 data needs ml_dtypes")
    layer = torch.nn.LSTM(3, 4, num_layers=2).to(getattr(torch, dtype))
    torch.save(layer.state_dict(), tmp_path / "half.pt")
    check_against(read(tmp_path / "half.pt"), layer.state_dict())


def test_a_checkpoint_dict_joins_its_keys_with_dots(tmp_path: Path) -> None:
    torch = torch_or_skip()
    layer = torch.nn.GRU(2, 3)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
    layer(torch.randn(4, 1, 2))[0].sum().backward()
    optimizer.step()
    torch.save({"model": layer.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3}, tmp_path / "c.ckpt")
    expected = {f"model.{k}": v for k, v in layer.state_dict().items()}
    expected.update({f"optimizer.state.{i}.momentum_buffer": s["momentum_buffer"]
                     for i, s in optimizer.state_dict()["state"].items()})
    check_against(read(tmp_path / "c.ckpt"), expected)


class Tagged(object):
    """Pickles as a module-level class the reader must not import."""

    def __init__(self) -> None:
        self.note = "kept opaque"


def test_a_whole_module_gives_its_state_dict_names(tmp_path: Path) -> None:
    torch = torch_or_skip()

    class_ = type("Model", (torch.nn.Module,), {"__module__": __name__})
    globals()["Model"] = class_  # picklable by name while it is saved
    model = class_()
    model.rnn = torch.nn.LSTM(3, 4, proj_size=2, bidirectional=True)
    model.head = torch.nn.Linear(4, 2)
    model.norm = torch.nn.BatchNorm1d(4)  # parameters before buffers in state_dict()
    model.tied = torch.nn.Linear(4, 2)
    model.tied.weight = model.head.weight
    model.register_buffer("count", torch.tensor(3))
    model.register_buffer("scratch", torch.zeros(2), persistent=False)
    model.plain = torch.ones(2)
    model.tag = Tagged()
    try:
        torch.save(model, tmp_path / "whole.pt")
    finally:
        del globals()["Model"]
    found = read(tmp_path / "whole.pt")
    check_against(found, model.state_dict())
    assert f"loading this with torch.load would call {__name__}.Model" in found.warnings
    assert f"loading this with torch.load would call {__name__}.Tagged" in found.warnings


def test_torchscript_scripted_and_traced(tmp_path: Path) -> None:
    torch = torch_or_skip()
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    torch.jit.script(torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)).save(str(tmp_path / "s.jit"))
    check_against(read(tmp_path / "s.jit"), torch.jit.load(str(tmp_path / "s.jit")).state_dict())
    torch.jit.trace(net, torch.zeros(1, 3)).save(str(tmp_path / "t.pt"))
    check_against(read(tmp_path / "t.pt"), torch.jit.load(str(tmp_path / "t.pt")).state_dict())


def test_legacy_torch_save_stream(tmp_path: Path) -> None:
    torch = torch_or_skip()
    layer = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=1).to(torch.float16)
    torch.save(layer.state_dict(), tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    check_against(read(tmp_path / "old.pt"), layer.state_dict())


def test_views_share_a_storage_with_offsets_and_strides(tmp_path: Path) -> None:
    torch = torch_or_skip()
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    tensors = {"whole": base, "transposed": base.t(), "columns": base[:, 2:5], "row": base[3], "empty": base[:0],
               "scalar": torch.tensor(2.5), "every_other": base[::2, ::3]}
    torch.save(tensors, tmp_path / "views.pt")
    check_against(read(tmp_path / "views.pt"), tensors)


def test_dtypes_saved_by_rebuild_tensor_v3(tmp_path: Path) -> None:
    torch = torch_or_skip()
    pytest.importorskip("ml_dtypes", reason="float8 data needs ml_dtypes")
    tensors = {"u16": torch.tensor([[0, 1, 2], [3, 4, 65535]]).to(torch.uint16), "f8": torch.tensor([0.5, -2.0]).to(torch.float8_e4m3fn)}
    torch.save(tensors, tmp_path / "v3.pt")
    model = read(tmp_path / "v3.pt")
    assert {n: (i.shape, i.dtype) for n, i in model.tensors.items()} == {"u16": ((2, 3), "uint16"), "f8": ((2,), "float8_e4m3fn")}
    np.testing.assert_array_equal(model.load("u16"), [[0, 1, 2], [3, 4, 65535]])
    np.testing.assert_array_equal(model.load("f8").astype(np.float32), tensors["f8"].float().numpy())


def test_a_file_without_tensors_is_one_line(tmp_path: Path) -> None:
    torch = torch_or_skip()
    torch.save({"epoch": 3, "note": "no weights"}, tmp_path / "empty.pt")
    assert "no tensors" in one_line_error(tmp_path / "empty.pt")


class Payload:
    """Pickles as a call to `function(*args)`, which a real unpickler would run."""

    def __init__(self, function: Any, *args: Any) -> None:
        self.function, self.args = function, args

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return self.function, self.args


def test_a_torch_saved_reduce_payload_is_reported_not_run(tmp_path: Path) -> None:
    torch = torch_or_skip()
    import os

    marker = tmp_path / "ran"
    torch.save({"weight": torch.ones(2), "boom": Payload(os.system, f"touch {marker}")}, tmp_path / "evil.pt")
    model = read(tmp_path / "evil.pt")
    assert not marker.exists()
    assert list(model.tensors) == ["weight"]
    assert model.warnings == [f"loading this with torch.load would call {os.system.__module__}.system"]
    torch.load(tmp_path / "evil.pt", weights_only=False)  # the payload is live: torch itself runs it
    assert marker.exists()


# --------------------------------------------------------------------------------------------------
# hand-written files (no torch needed)


def small_archive(tmp_path: Path, body: Pickle | None = None, name: str = "hand.pt") -> Path:
    """A zip whose data.pkl is {"w": 2x3 float tensor, ...body's entries} and whose storage 0 holds 0..5."""
    pickle_ = Pickle().raw(b"}(").str("w").tensor("0", (2, 3))
    if body is not None:
        pickle_.raw(bytes(body.data[2:]))
    return torch_zip(tmp_path / name, pickle_.raw(b"u").done(), {"0": np.arange(6, dtype="<f4").tobytes()})


def test_a_hand_written_archive_reads_and_loads(tmp_path: Path) -> None:
    model = read(small_archive(tmp_path))
    assert model.tensors["w"].shape == (2, 3) and model.tensors["w"].dtype == "float32" and model.warnings == []
    np.testing.assert_array_equal(model.load("w"), np.arange(6, dtype=np.float32).reshape(2, 3))


PAYLOADS = [
    ("os", "system", lambda m: [f"touch {m}"]),
    ("subprocess", "check_call", lambda m: [["touch", str(m)]]),
    ("builtins", "eval", lambda m: [f"open({str(m)!r}, 'w').close()"]),
    ("builtins", "exec", lambda m: [f"open({str(m)!r}, 'w').close()"]),
]


@pytest.mark.parametrize(("module", "name", "args"), PAYLOADS, ids=[f"{m}.{n}" for m, n, _ in PAYLOADS])
def test_reduce_payloads_are_reported_never_run(tmp_path: Path, module: str, name: str, args: Any) -> None:
    marker = tmp_path / "ran"
    payload = Pickle().str("boom").call(module, name, *args(marker)).str("again").call(module, name, *args(marker))
    model = read(small_archive(tmp_path, payload))
    assert not marker.exists()
    assert list(model.tensors) == ["w"]
    assert model.warnings == [f"loading this with torch.load would call {module}.{name}"]  # listed once
    pickle.loads(Pickle().call(module, name, *args(marker)).done())  # the same opcodes are live in a real unpickler
    assert marker.exists()


def test_getattr_and_a_nested_torch_load_are_reported_and_the_nested_file_is_not_read(tmp_path: Path) -> None:
    inner = small_archive(tmp_path, Pickle().str("secret").tensor("1", (4,)), name="inner.pt")
    payload = (Pickle().str("nested").call("torch", "load", str(inner))
               .str("sys").glob("builtins", "getattr").raw(b"(").glob("builtins", "__import__")
               .raw(b"(").str("os").raw(b"tR").str("system").raw(b"tR"))
    model = read(small_archive(tmp_path, payload))
    assert list(model.tensors) == ["w"]
    assert model.warnings == ["loading this with torch.load would call torch.load",
                              "loading this with torch.load would call builtins.getattr",
                              "loading this with torch.load would call builtins.__import__"]


SHAPE_2 = b"(J\x02\x00\x00\x00t(J\x01\x00\x00\x00t"  # shape (2,) then stride (1,) as Pickle.tensor writes them


def test_hostile_pickles_are_one_line_errors(tmp_path: Path) -> None:
    cases = {
        "bad opcode": b"\x80\x02\xff.",
        "no stop": b"\x80\x02}",
        "huge memo index": b"\x80\x02j\xff\xff\xff\xff.",
        "length past the end": b"\x80\x02X\xff\xff\xff\x7fabc.",
        "stack underflow": b"\x80\x02R.",
        "mark never set": b"\x80\x02t.",
        "unhashable key": b"\x80\x02}]Ns.",
        "newer protocol": b"\x80\x09N.",
        "extension registry": b"\x80\x02\x82\x01.",
        "a shape of True": Pickle().tensor("0", (2,), stride=(1,)).done().replace(SHAPE_2, b"(\x88t(J\x01\x00\x00\x00t"),
        "a negative shape": Pickle().tensor("0", (2,), stride=(1,)).done().replace(SHAPE_2, b"(J\xff\xff\xff\xfft(J\x01\x00\x00\x00t"),
    }
    for label, data in cases.items():
        path = torch_zip(tmp_path / f"{label.replace(' ', '_')}.pt", data, {"0": bytes(8)})
        one_line_error(path)


def test_every_truncation_of_a_real_pickle_is_a_one_line_error(tmp_path: Path) -> None:
    with zipfile.ZipFile(FILES / "torch_state_dict.pt") as archive:
        data = archive.read("torch_state_dict/data.pkl")
    path = tmp_path / "cut.pt"
    for end in range(0, len(data) - 1, 7):
        torch_zip(path, data[:end])
        with pytest.raises(FileFormatError):
            read(path)


def test_mutated_pickles_read_or_fail_in_one_line(tmp_path: Path) -> None:
    with zipfile.ZipFile(FILES / "torch_whole_module.pt") as archive:
        data = archive.read("torch_whole_module/data.pkl")
    rng = random.Random(11)
    path = tmp_path / "mutant.pt"
    for _ in range(300):
        mutant = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            mutant[rng.randrange(len(mutant))] = rng.randrange(256)
        torch_zip(path, bytes(mutant))
        try:
            read(path)
        except FileFormatError as error:
            assert "\n" not in str(error)


def test_a_huge_memo_index_allocates_nothing(tmp_path: Path) -> None:
    data = Pickle().raw(b"}(").str("w").tensor("0", (2, 3)).raw(b"r\xf0\xff\xff\xff0j\xf0\xff\xff\xffu").done()
    path = torch_zip(tmp_path / "memo.pt", data, {"0": bytes(24)})
    tracemalloc.start()
    model = read(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert list(model.tensors) == ["w"] and peak < 20 << 20


def test_deep_nesting_neither_recurses_nor_crashes(tmp_path: Path) -> None:
    depth = 200_000
    nested = Pickle().raw(b"}(").str("deep").raw(b"]" * depth + b"a" * (depth - 1))
    nested.str("w").tensor("0", (2, 3)).raw(b"u")
    model = read(torch_zip(tmp_path / "deep.pt", nested.done(), {"0": bytes(24)}))
    assert list(model.tensors) == ["w"]
    deep_key = Pickle().raw(b"}" + b")" + b"\x85" * depth).raw(b"N" + b"s").done()
    assert "nested too deep" in one_line_error(torch_zip(tmp_path / "key.pt", deep_key))
    buried = Pickle().raw(b"}(").str("w").tensor("0", (2, 3)).str("buried").raw(b"]" * 100).tensor("0", (2, 3))
    buried = buried.raw(b"a" * 100 + b"u").done()
    model = read(torch_zip(tmp_path / "buried.pt", buried, {"0": bytes(24)}))
    assert "nested deeper than 64" in model.warnings[-1]


def test_cycles_and_shared_lists_are_walked_once(tmp_path: Path) -> None:
    # L0 = [w]; L(k+1) = [Lk, Lk]: 2**40 paths if every path were followed; and a list that holds itself
    data = Pickle().raw(b"}(").str("w").tensor("0", (2, 3)).raw(b"q\x00").str("tree").raw(b"](h\x00eq\x010")
    for level in range(1, 41):
        data.raw(b"](h" + bytes([level]) + b"h" + bytes([level]) + b"eq" + bytes([level + 1]) + (b"0" if level < 40 else b""))
    data.str("loop").raw(b"]q\xf0h\xf0ah\x00a")
    model = read(torch_zip(tmp_path / "dag.pt", data.raw(b"u").done(), {"0": bytes(24)}))
    assert list(model.tensors) == ["w"] and model.warnings == []


def test_zip_members_that_are_missing_wrong_or_inflating(tmp_path: Path) -> None:
    tensor = Pickle().raw(b"}(").str("w").tensor("0", (2, 3)).raw(b"u").done()
    missing = read(torch_zip(tmp_path / "missing.pt", tensor))
    assert "w" in missing.tensors and "w" not in missing.loaders and "missing or short" in missing.warnings[0]
    short = read(torch_zip(tmp_path / "short.pt", tensor, {"0": bytes(8)}))
    assert "w" not in short.loaders
    with zipfile.ZipFile(tmp_path / "nopickle.pt", "w") as archive:
        archive.writestr("archive/weights.bin", b"0")
    assert "no <name>/data.pkl" in one_line_error(tmp_path / "nopickle.pt")
    torch_zip(tmp_path / "two.pt", tensor, extra={"other/data.pkl": tensor})
    assert "2 data.pkl" in one_line_error(tmp_path / "two.pt")
    past = Pickle().raw(b"}(").str("w").tensor("0", (2, 3), numel=4).raw(b"u").done()
    assert "reaches element 6 of a storage of 4" in one_line_error(torch_zip(tmp_path / "past.pt", past, {"0": bytes(16)}))
    with zipfile.ZipFile(tmp_path / "bomb.pt", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02" + b"N0" * (40 << 20) + b"N.")
    assert "this reader reads at most" in one_line_error(tmp_path / "bomb.pt")


def test_what_is_not_a_pytorch_file(tmp_path: Path) -> None:
    (tmp_path / "text.pt").write_text("hello\n")
    assert "not a PyTorch file" in one_line_error(tmp_path / "text.pt")
    (tmp_path / "pickle.pt").write_bytes(pickle.dumps({"a": 1}, protocol=2))
    assert "not a PyTorch file" in one_line_error(tmp_path / "pickle.pt")
    (tmp_path / "broken.pt").write_bytes(b"PK\x03\x04garbage")
    assert "not a readable zip archive" in one_line_error(tmp_path / "broken.pt")


def test_a_legacy_stream_with_a_truncated_storage_has_no_loader(tmp_path: Path) -> None:
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    header = magic + pickle.dumps(1001, protocol=2) + pickle.dumps({"little_endian": True}, protocol=2)
    body = Pickle().raw(b"}(").str("w").tensor("k", (3,)).raw(b"u").done() + pickle.dumps(["k"], protocol=2)
    whole = header + body + struct.pack("<q", 3) + np.array([1, 2, 3], "<f4").tobytes()
    (tmp_path / "old.pt").write_bytes(whole)
    np.testing.assert_array_equal(read_torch(str(tmp_path / "old.pt")).load("w"), [1, 2, 3])
    # a pickle longer than the first read of the file (a 300 kB note before the tensor)
    long = Pickle().raw(b"}(").str("note").str("x" * 300_000).str("w").tensor("k", (3,)).raw(b"u").done()
    (tmp_path / "long.pt").write_bytes(header + long + pickle.dumps(["k"], protocol=2) + whole[-20:])
    np.testing.assert_array_equal(read_torch(str(tmp_path / "long.pt")).load("w"), [1, 2, 3])
    (tmp_path / "cut.pt").write_bytes(whole[:-4])
    model = read_torch(str(tmp_path / "cut.pt"))
    assert model.tensors["w"].shape == (3,) and "w" not in model.loaders


def test_a_big_endian_archive_loads_native_values(tmp_path: Path) -> None:
    data = Pickle().raw(b"}(").str("w").tensor("0", (2, 3)).raw(b"u").done()
    path = torch_zip(tmp_path / "big.pt", data, {"0": np.arange(6, dtype=">f4").tobytes()}, byteorder="big")
    loaded = read(path).load("w")
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, np.arange(6, dtype=np.float32).reshape(2, 3))


def test_a_compressed_storage_member_loads_too(tmp_path: Path) -> None:
    data = Pickle().raw(b"}(").str("w").tensor("0", (3, 2), stride=(1, 3)).raw(b"u").done()
    path = tmp_path / "deflated.pt"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", data)
        archive.writestr("archive/data/0", np.arange(6, dtype="<f4").tobytes())
    np.testing.assert_array_equal(read(path).load("w"), np.arange(6, dtype=np.float32).reshape(2, 3).T)
    assert "w" not in read(path).ranges  # a compressed member is read whole, through zipfile


def test_ranged_reads_of_a_big_endian_archive_give_native_values(tmp_path: Path) -> None:
    data = Pickle().raw(b"}(").str("w").tensor("0", (2, 3)).raw(b"u").done()
    path = torch_zip(tmp_path / "big.pt", data, {"0": np.arange(6, dtype=">f4").tobytes()}, byteorder="big")
    check_ranges(read(path), "w", np.arange(6, dtype=np.float32))


def test_ranged_reads_of_a_file_cut_or_damaged_after_reading_are_one_line_errors(tmp_path: Path) -> None:
    values = np.arange(40, dtype="<f4")
    data = Pickle().raw(b"}(").str("w").tensor("0", (40,)).raw(b"u").done()
    path = torch_zip(tmp_path / "m.pt", data, {"0": values.tobytes()})
    whole = path.read_bytes()
    start = whole.index(values.tobytes())
    model = read(path)
    path.write_bytes(whole[: start + 100])  # 25 elements left
    np.testing.assert_array_equal(model.ranges["w"](20, 5), values[20:25])
    with pytest.raises(FileFormatError, match=r"m\.pt: the data of w ends early \(truncated file\)$"):
        model.ranges["w"](20, 6)
    header = whole.rindex(b"PK\x03\x04", 0, start)  # the storage member's local header, before its data
    path.write_bytes(whole[:header] + b"XX" + whole[header + 2 :])
    with pytest.raises(FileFormatError, match="archive/data/0 has a damaged local header"):
        read(path).ranges["w"](0, 1)
    path.unlink()
    with pytest.raises(FileFormatError, match="m.pt: the data of w cannot be read .no such file or directory.$"):
        model.ranges["w"](0, 1)


def test_ranged_reads_of_a_legacy_stream_cut_after_reading(tmp_path: Path) -> None:
    torch = torch_or_skip()
    tensors = {"a": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.arange(5, dtype=torch.float64)}
    torch.save(tensors, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    model = read(tmp_path / "old.pt")
    check_against(model, tensors)
    # The legacy format orders its storages by their ids' text, so a file of b alone puts b's data last.
    torch.save({"b": tensors["b"]}, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    model = read(tmp_path / "old.pt")
    whole = (tmp_path / "old.pt").read_bytes()
    (tmp_path / "old.pt").write_bytes(whole[:-8])  # b's last element is gone
    np.testing.assert_array_equal(model.ranges["b"](0, 4), np.arange(4.0))
    with pytest.raises(FileFormatError, match="the data of b ends early"):
        model.ranges["b"](0, 5)


def script_archive(path: Path, code: bytes | None) -> Path:
    """A TorchScript-style archive: a __torch__.M object holding `w` (a declared parameter) and `plain` (not state)."""
    data = Pickle().glob("__torch__", "M").raw(b")\x81}(").str("w").tensor("0", (2,)).str("plain").tensor("1", (3,))
    extra = {"archive/constants.pkl": b"\x80\x02)."}
    if code is not None:
        extra["archive/code/__torch__.py"] = code
    return torch_zip(path, data.raw(b"ub").done(), {"0": bytes(8), "1": bytes(12)}, extra=extra)


def test_torchscript_names_follow_the_declarations_in_its_code(tmp_path: Path) -> None:
    declared = b'class M(Module):\n  __parameters__ = ["w", ]\n  __buffers__ = []\n  w : Tensor\n'
    model = read(script_archive(tmp_path / "s.jit", declared))
    assert list(model.tensors) == ["w"] and model.format == "torchscript" and model.warnings == []
    assert list(read(script_archive(tmp_path / "bare.jit", None)).tensors) == ["w", "plain"]
    # a million blank lines: a pattern that backtracked over them would take hours
    spaced = b"class M(Module):\n" + b" \n" * 1_000_000 + b'  __parameters__ = ["w", ]\n'
    assert list(read(script_archive(tmp_path / "spaced.jit", spaced)).tensors) == ["w"]
    huge = read(script_archive(tmp_path / "huge.jit", declared + b"#" * (65 << 20)))
    assert list(huge.tensors) == ["w", "plain"] and "too large" in huge.warnings[0]


def test_only_what_torch_allows_goes_unreported(tmp_path: Path) -> None:
    # torch.load(weights_only=True) allows builtins.set and torch.Size, not builtins.list
    body = Pickle().str("a").call("builtins", "set", ["x"]).str("b").call("builtins", "list", ["y"])
    body.str("c").call("torch", "Size", [])
    assert read(small_archive(tmp_path, body)).warnings == ["loading this with torch.load would call builtins.list"]
