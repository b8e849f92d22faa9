"""The Keras file reader against real files: Keras 3 `.keras` and `.weights.h5` saved here, tf.keras 2 `.h5` recorded.

Expected names and shapes come from the live model that saved the file (`model.weights[i].path`), values
from `w.numpy()`; the tf.keras 2 files and their truth were recorded by tests/record/keras2_files.py.
"""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lstm_shapes.errors import FileFormatError
from lstm_shapes.files import INSTALL_HINT, read

h5py = pytest.importorskip("h5py")
FILES = Path(__file__).parent / "files"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # keras on torch, not this reader


def keras3() -> Any:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def functional(keras: Any, merge_mode: str | None) -> Any:
    """Bidirectional LSTM, GRU, TimeDistributed Dense, a nested Sequential of SimpleRNNs, RNN(GRUCell), Dense."""
    L = keras.layers
    inp = keras.Input((5, 4))
    x = L.Bidirectional(L.LSTM(2, return_sequences=True), merge_mode=merge_mode)(inp)
    if merge_mode is None:
        x = L.Concatenate()(x)
    x = L.GRU(3, return_sequences=True, reset_after=False)(x)
    x = L.TimeDistributed(L.Dense(2))(x)
    inner = keras.Sequential([keras.Input((5, 2)), L.SimpleRNN(3, return_sequences=True),
                              L.SimpleRNN(2, return_sequences=True, use_bias=False)], name="enc")
    x = L.RNN(L.GRUCell(2))(inner(x))
    return keras.Model(inp, L.Dense(1)(x))


def sequential(keras: Any) -> Any:
    L = keras.layers
    return keras.Sequential([keras.Input((6, 3)), L.LSTM(4, return_sequences=True),
                             L.Bidirectional(L.GRU(2), merge_mode="ave"), L.Dense(2), L.Dense(1)])


def stacked(keras: Any) -> Any:
    """A Functional inside a Functional, and RNN over StackedRNNCells."""
    L = keras.layers
    inp = keras.Input((4, 3))
    inner = keras.Model(inp, L.LSTM(2, return_sequences=True)(inp), name="inner")
    outer_in = keras.Input((4, 3))
    cells = L.StackedRNNCells([L.LSTMCell(3), L.SimpleRNNCell(2)])
    return keras.Model(outer_in, L.RNN(cells)(inner(outer_in)))


def printed(model: Any) -> list[str]:
    """The paths the saving model prints, less a top-level Sequential's own name (a Functional has none in them)."""
    drop = f"{model.name}/" if type(model).__name__ == "Sequential" else ""
    return [w.path[len(drop):] if drop and w.path.startswith(drop) else w.path for w in model.weights]


MODELS = {"concat": lambda k: functional(k, "concat"), "sum": lambda k: functional(k, "sum"),
          "mul": lambda k: functional(k, "mul"), "none": lambda k: functional(k, None),
          "sequential": sequential, "stacked": stacked}


@pytest.fixture(scope="module", params=sorted(MODELS))
def saved(request: Any, tmp_path_factory: Any) -> tuple[Any, Path, Path]:
    keras = keras3()
    keras.utils.set_random_seed(3)
    model = MODELS[request.param](keras)
    folder = tmp_path_factory.mktemp(request.param)
    model.save(folder / "m.keras")
    model.save_weights(folder / "m.weights.h5")
    return model, folder / "m.keras", folder / "m.weights.h5"


def test_keras_file_has_the_models_paths_shapes_and_values_in_order(saved: tuple[Any, Path, Path]) -> None:
    model, path, _ = saved
    got = read(path)
    assert got.format == "keras3-zip"
    assert [(t.name, t.shape, t.dtype) for t in got.tensors.values()] == [
        (p, tuple(w.shape), "float32") for p, w in zip(printed(model), model.weights)]
    for p, w in zip(printed(model), model.weights):
        np.testing.assert_array_equal(got.load(p), np.asarray(w.numpy()))


def test_keras_file_lists_each_layer_with_its_config_and_tensors(saved: tuple[Any, Path, Path]) -> None:
    model, path, _ = saved
    got = {layer.name: layer for layer in read(path).layers}
    path_of = dict(zip((id(w) for w in model.weights), printed(model)))
    for layer in model.layers:
        info = got[layer.name]
        assert info.kind == type(layer).__name__
        assert info.tensors == tuple(path_of[id(w)] for w in layer.weights)
        sub = [getattr(layer, a) for a in ("forward_layer", "backward_layer", "layer") if hasattr(layer, a)]
        for s in sub:
            assert got[s.name].tensors == tuple(path_of[id(w)] for w in s.weights)
            assert got[s.name].config["units" if hasattr(s, "units") else "name"] == getattr(s, "units", s.name)
        if type(layer).__name__ == "Bidirectional":
            assert info.config["merge_mode"] == layer.merge_mode
            assert got[layer.forward_layer.name].config["return_sequences"] == layer.forward_layer.return_sequences
        if type(layer).__name__ == "GRU":
            assert info.config["reset_after"] is layer.cell.reset_after


def test_a_model_loaded_back_holds_the_same_tensors_in_the_same_order(saved: tuple[Any, Path, Path]) -> None:
    # load_model may print shorter paths (wrapped layers built outside their wrapper); shapes and values agree.
    model, path, _ = saved
    loaded = keras3().saving.load_model(path)
    got = read(path)
    assert [t.shape for t in got.tensors.values()] == [tuple(w.shape) for w in loaded.weights]
    for name, w in zip(got.tensors, loaded.weights):
        np.testing.assert_array_equal(got.load(name), np.asarray(w.numpy()))


def test_weights_h5_alone_has_the_models_paths_and_shapes(saved: tuple[Any, Path, Path]) -> None:
    model, _, path = saved
    got = read(path)
    assert got.format == "keras3-h5"
    # No config: h5 lists groups alphabetically, so the order is the file's, not the model's.
    assert {n: (t.shape, t.dtype) for n, t in got.tensors.items()} == {
        p: (tuple(w.shape), "float32") for p, w in zip(printed(model), model.weights)}
    assert all(layer.config == {} for layer in got.layers)
    kinds = {layer.name: layer.kind for layer in got.layers}
    for layer in model.layers:
        if layer.weights:
            assert kinds[layer.name] == type(layer).__name__
    for p, w in zip(printed(model), model.weights):
        np.testing.assert_array_equal(got.load(p), np.asarray(w.numpy()))


def test_a_top_level_sequential_is_named_as_load_model_prints_it(tmp_path: Path) -> None:
    keras = keras3()
    L = keras.layers  # no wrapper: load_model would shorten a wrapped layer's paths
    keras.Sequential([keras.Input((6, 3)), L.LSTM(2, return_sequences=True), L.GRU(2), L.Dense(1)]).save(tmp_path / "s.keras")
    assert list(read(tmp_path / "s.keras").tensors) == [w.path for w in keras.saving.load_model(tmp_path / "s.keras").weights]


def test_weights_h5_puts_forward_before_backward_and_lstm_2_before_lstm_10(tmp_path: Path) -> None:
    keras = keras3()
    L = keras.layers
    # bidirectional sorts before lstm, so this model's order is one the file can give back.
    model = keras.Sequential([keras.Input((3, 2)), L.Bidirectional(L.SimpleRNN(1, return_sequences=True))]
                             + [L.LSTM(1, return_sequences=True) for _ in range(11)])
    model.save_weights(tmp_path / "w.weights.h5")
    # Keras numbers a class's layers in a container lstm, lstm_1, ..., lstm_10, and saves them in that order.
    assert list(read(tmp_path / "w.weights.h5").tensors) == printed(model)


def test_keras_file_notes_the_optimizer_state_without_listing_it(tmp_path: Path) -> None:
    keras = keras3()
    model = sequential(keras)
    model.compile("adam", "mse")
    model.fit(np.zeros((2, 6, 3)), np.zeros((2, 1)), verbose=0)
    model.save(tmp_path / "m.keras")
    got = read(tmp_path / "m.keras")
    assert list(got.tensors) == printed(model)
    assert any("optimizer" in w for w in got.warnings)


# --- tf.keras 2 legacy files, recorded ---------------------------------------------------------------

TRUTH = json.loads((FILES / "keras2.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("stem", ["keras2_functional", "keras2_sequential"])
def test_keras2_h5_has_tf_keras_names_shapes_and_values(stem: str) -> None:
    truth = TRUTH[stem]
    got = read(FILES / f"{stem}.h5")
    assert got.format == "keras2-h5"
    assert [(t.name, list(t.shape), t.dtype) for t in got.tensors.values()] == [
        (t["name"], t["shape"], t["dtype"]) for t in truth["tensors"]]
    for t in truth["tensors"]:
        np.testing.assert_array_equal(got.load(t["name"]).ravel(), np.float32(t["values"]))
    layers = {layer.name: layer for layer in got.layers}
    for layer in truth["layers"]:
        assert layers[layer["name"]].tensors == tuple(layer["tensors"])


@pytest.mark.parametrize("stem", ["keras2_functional", "keras2_sequential"])
def test_tf_keras_weights_h5_has_every_tensor_under_its_group_name(stem: str) -> None:
    # tf-keras writes `.weights.h5` as Keras 3 does, without layer names: its tensors, not its names, can be checked.
    truth = {tuple(t["values"]): t for t in TRUTH[stem]["tensors"]}
    got = read(FILES / f"{stem}.weights.h5")
    assert got.format == "keras3-h5" and any("layer names" in w for w in got.warnings)
    assert len(got.tensors) == len(truth)
    for name, info in got.tensors.items():
        real = truth[tuple(float(v) for v in got.load(name).ravel())]
        assert list(info.shape) == real["shape"]
        kind = real["name"].split("/")[-1].removesuffix(":0")
        assert name.split("/")[-1] in (kind, "0", "1")  # by index when the class is unknown (TimeDistributed's Dense)


def test_keras2_model_h5_gives_each_layer_its_class_and_config() -> None:
    truth = TRUTH["keras2_sequential"]
    layers = read(FILES / "keras2_sequential.h5").layers
    got = {layer.name: layer for layer in layers}
    named = {layer["class_name"]: layer["name"] for layer in truth["layers"]}
    for layer in truth["layers"]:
        assert got[layer["name"]].kind == layer["class_name"]
    # The recorder's LSTM(use_bias=False), Bidirectional(concat) and GRU(reset_after=False):
    assert got[named["LSTM"]].config["use_bias"] is False
    assert got[named["GRU"]].config["reset_after"] is False
    assert got[named["Bidirectional"]].config["merge_mode"] == "concat"
    # The wrapped LSTM, listed after its Bidirectional, owns both directions' tensors.
    wrapped = layers[layers.index(got[named["Bidirectional"]]) + 1]
    assert wrapped.kind == "LSTM" and wrapped.tensors == got[named["Bidirectional"]].tensors
    assert len(wrapped.tensors) == 6


# --- damaged and hostile files, missing library ------------------------------------------------------

@pytest.fixture(scope="module")
def small(tmp_path_factory: Any) -> Path:
    """One small real `.keras` file to damage."""
    keras = keras3()
    path = tmp_path_factory.mktemp("small") / "m.keras"
    sequential(keras).save(path)
    return path


def one_line_error(path: Path) -> str:
    with pytest.raises(FileFormatError) as caught:
        read(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


def test_not_hdf5(tmp_path: Path) -> None:
    (tmp_path / "m.h5").write_text("not an HDF5 file\n")
    assert "HDF5" in one_line_error(tmp_path / "m.h5")


def test_hdf5_not_written_by_keras(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f["data"] = np.zeros(3)
    assert "not one Keras wrote" in one_line_error(tmp_path / "x.h5")


def test_truncated_keras_zip(small: Path, tmp_path: Path) -> None:
    data = small.read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    one_line_error(tmp_path / "cut.keras")


def rezip(source: Path, target: Path, replace: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(source) as z, zipfile.ZipFile(target, "w") as out:
        for name in z.namelist():
            out.writestr(name, replace.get(name, z.read(name)))
    return target


def test_config_json_not_json(small: Path, tmp_path: Path) -> None:
    path = rezip(small, tmp_path / "bad.keras", {"config.json": b"{not json"})
    assert "config.json is not JSON" in one_line_error(path)


def test_config_json_nested_too_deep(small: Path, tmp_path: Path) -> None:
    deep: dict[str, Any] = {"class_name": "Dense", "config": {"name": "d"}}
    for _ in range(100):
        deep = {"class_name": "TimeDistributed", "config": {"name": "t", "layer": deep}}
    model = {"class_name": "Sequential", "config": {"name": "s", "layers": [deep]}}
    raw = io.BytesIO()
    with h5py.File(raw, "w") as f:  # the groups that config names, so that only the depth is wrong
        f.create_group("layers/time_distributed" + "/layer" * 100 + "/vars")
    path = rezip(small, tmp_path / "deep.keras", {"config.json": json.dumps(model).encode(),
                                                   "model.weights.h5": raw.getvalue()})
    assert "nested more than 64 deep" in one_line_error(path)
    # Deeper than Python's json can parse: still one line.
    path = rezip(small, tmp_path / "deeper.keras", {"config.json": b"[" * 100_000 + b"]" * 100_000})
    one_line_error(path)


def test_h5_without_the_groups_the_config_names(small: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(small) as z:
        raw = io.BytesIO(z.read("model.weights.h5"))
    with h5py.File(raw, "a") as f:
        first = sorted(k for k in f["layers"] if k != "input_layer")[0]
        del f["layers"][first]
    path = rezip(small, tmp_path / "hollow.keras", {"model.weights.h5": raw.getvalue()})
    assert f"layers/{first}" in one_line_error(path)


def test_keras_zip_without_weights(small: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(small) as z, zipfile.ZipFile(tmp_path / "w.keras", "w") as out:
        out.writestr("config.json", z.read("config.json"))
    assert "model.weights.h5" in one_line_error(tmp_path / "w.keras")


def test_external_link_is_not_followed(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["secret"] = np.zeros(7)
    with h5py.File(tmp_path / "m.weights.h5", "w") as f:
        f.create_group("vars")
        v = f.create_group("layers/dense/vars")
        v["0"] = np.zeros((2, 3), np.float32)
        v["1"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/secret")
    got = read(tmp_path / "m.weights.h5")
    assert {n: t.shape for n, t in got.tensors.items()} == {"dense/kernel": (2, 3)}


def test_missing_h5py_is_one_line_naming_the_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py now raises ImportError
    path = FILES / "keras2_sequential.h5"
    with pytest.raises(FileFormatError) as caught:
        read(path)
    assert str(caught.value) == f"reading Keras files needs the h5py package: {INSTALL_HINT}"
