"""The writers of `lstm-shapes convert`: each output file is loaded by the real framework and computes what the
tool's numpy forward pass computes, and reads back through `lstm_shapes.files.read` with the Target's tensors.

Keras 3 (torch backend) and onnxruntime run here; tf.keras 2 and Flax in their own venvs
(tests/test_tf_keras_writers.py, tests/test_flax_writers.py). Each framework's tests skip when it is missing.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest

np = pytest.importorskip("numpy")

from lstm_shapes import Config, build, files  # noqa: E402
from lstm_shapes.errors import FileFormatError  # noqa: E402
from lstm_shapes.files.writers import Target, TargetLayer  # noqa: E402
from lstm_shapes.verify import _run, random_arrays, run_sequence  # noqa: E402

BATCH, STEPS = 2, 5


def target_of(framework: str, *layers: tuple[str, Config], dtype: str = "float32") -> tuple[Target, dict[str, Any]]:
    """A Target of one or more converted layers (prefix, config) and random arrays under its names."""
    parts, arrays = [], {}
    for seed, (prefix, cfg) in enumerate(layers):
        report = build(cfg)
        drawn = random_arrays(report, seed=seed)
        weights = tuple(w._replace(name=prefix + w.name) for w in report.weights)
        arrays.update({prefix + name: a for name, a in drawn.items()})
        parts.append(TargetLayer(prefix, cfg, weights))
    return Target(framework, tuple(parts), dtype), arrays


def own(arrays: dict[str, Any], prefix: str) -> dict[str, Any]:
    """One converted layer's arrays under the names its own report gives them."""
    return {name[len(prefix):]: a for name, a in arrays.items() if name.startswith(prefix)}


def write(writer: Any, path: Path, target: Target, arrays: dict[str, Any]) -> Path:
    writer(str(path), target, ((w.name, arrays[w.name]) for w in target.weights))
    return path


def assert_reads_back(path: Path, target: Target, arrays: dict[str, Any]) -> None:
    """files.read lists the Target's tensors, by name where the format keeps names, and loads their data."""
    found = files.read(path)
    assert found.warnings == []
    assert [(n, t.shape) for n, t in found.tensors.items()] == [(w.name, w.shape) for w in target.weights]
    for w in target.weights:
        np.testing.assert_array_equal(found.load(w.name), arrays[w.name])


def inputs(cfg: Config, seed: int = 7) -> Any:
    shape = (BATCH, STEPS, cfg.input) if cfg.batch_first else (STEPS, BATCH, cfg.input)
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# --- Keras 3 ---------------------------------------------------------------------------------------------------

KERAS = [
    dict(cell="lstm"),
    dict(cell="gru", reset_after=True),
    dict(cell="gru", reset_after=False),
    dict(cell="rnn", bias=False),
    dict(cell="lstm", layers=2, hidden=(5, 3)),
    dict(cell="gru", bidirectional=True, layers=2, out=3),
    dict(cell="rnn", bidirectional=True, merge_mode="sum", out=2, head_bias=False),
    dict(cell="lstm", out=2, head_reads="every-step"),
]


def keras_model(keras: Any, cfg: Config) -> Any:
    """The layers the keras convention's constructor lines name, and a Dense head."""
    layers = [eval(line, {"keras": keras}) for line in cfg.convention.constructor(cfg)]  # the tool's own lines
    if cfg.out is not None:
        layers.append(keras.layers.Dense(cfg.out, use_bias=cfg.head_bias))
    return layers


def keras_load(model: Any, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a skipped or mismatched variable warns: that is a failure here
        model.load_weights(str(path))


def keras_values(variables: list[Any]) -> list[Any]:
    return [v.value.detach().cpu().numpy() for v in variables]


@pytest.fixture(scope="module")
def keras() -> Any:
    if os.environ.get("KERAS_BACKEND", "torch") != "torch":
        pytest.skip("the Keras 3 tests run on the torch backend (KERAS_BACKEND=torch)")
    os.environ["KERAS_BACKEND"] = "torch"
    return pytest.importorskip("keras", reason="keras is not installed: Keras 3 writer test skipped")


@pytest.mark.parametrize("options", KERAS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("name", ["model.weights.h5", "model.h5"])
def test_keras3_loads_the_h5_under_either_name_and_computes_the_same(keras: Any, tmp_path: Path, options: dict[str, Any],
                                                                      name: str) -> None:
    from lstm_shapes.files.kerasout import write_h5

    cfg = Config(input=4, hidden=options.pop("hidden", 3), framework="keras", **options)
    target, arrays = target_of("keras", ("", cfg))
    path = write(write_h5, tmp_path / name, target, arrays)  # Keras picks its loader by the name
    model = keras.Sequential([keras.Input((None, cfg.input)), *keras_model(keras, cfg)])
    keras_load(model, path)
    assert [tuple(v.shape) for v in model.weights] == [w.shape for w in target.weights]
    for w, value in zip(target.weights, keras_values(model.weights)):
        np.testing.assert_array_equal(value, arrays[w.name], err_msg=w.name)
    xs = inputs(cfg)
    got = model(xs)
    want = run_sequence(build(cfg), arrays, xs)
    key = "output" if cfg.out is None else "logits"
    np.testing.assert_allclose(got.detach().cpu().numpy(), want[key], atol=1e-5)
    assert_has_what_keras_saves(model, path, tmp_path)
    assert_reads_back(path, target, arrays)


def test_keras3_numbers_the_layers_of_several_converted_layers_as_keras_does(keras: Any, tmp_path: Path) -> None:
    # An encoder, a middle and a decoder from one source file, each named as if alone (lstm/..., bidirectional/...,
    # lstm/...): in one model Keras numbers them lstm, bidirectional, lstm_1 (and dense).
    from lstm_shapes.files.kerasout import write_h5

    enc = Config(input=4, hidden=3, framework="keras")
    mid = Config(input=3, hidden=2, framework="keras", cell="gru", bidirectional=True)
    dec = Config(input=4, hidden=5, framework="keras", out=2)
    target, arrays = target_of("keras", ("encoder/", enc), ("middle/", mid), ("decoder/", dec))
    L = keras.layers
    xs = inputs(enc)
    seq = run_sequence(build(enc), own(arrays, "encoder/"), xs)["sequences"]
    seq = run_sequence(build(mid), own(arrays, "middle/"), seq)["sequences"]
    want = run_sequence(build(dec), own(arrays, "decoder/"), seq)["logits"]
    for name in ("model.weights.h5", "model.h5"):
        path = write(write_h5, tmp_path / name, target, arrays)
        model = keras.Sequential([keras.Input((None, 4)), L.LSTM(3, return_sequences=True),
                                  L.Bidirectional(L.GRU(2, return_sequences=True)), L.LSTM(5), L.Dense(2)])
        keras_load(model, path)
        for w, value in zip(target.weights, keras_values(model.weights)):
            np.testing.assert_array_equal(value, arrays[w.name], err_msg=w.name)
        np.testing.assert_allclose(model(xs).detach().cpu().numpy(), want, atol=1e-5)
        assert_has_what_keras_saves(model, path, tmp_path)
        assert_reads_back(path, target, arrays)


def assert_has_what_keras_saves(model: Any, path: Path, tmp_path: Path) -> None:
    """Every dataset Keras' own save_weights writes for the loaded model is in the file, at its path, equal."""
    h5py = pytest.importorskip("h5py")
    model.save_weights(str(tmp_path / "by_keras.weights.h5"))
    saved: dict[str, Any] = {}
    with h5py.File(tmp_path / "by_keras.weights.h5", "r") as f:
        f.visititems(lambda name, obj: saved.update({name: obj[()]}) if isinstance(obj, h5py.Dataset) else None)
    assert saved
    with h5py.File(path, "r") as f:
        for name, value in saved.items():
            assert name in f, name
            np.testing.assert_array_equal(f[name][()], value, err_msg=name)


# --- ONNX ------------------------------------------------------------------------------------------------------

ONNX = [
    dict(cell="lstm"),
    dict(cell="lstm", peepholes=True, bidirectional=True),
    dict(cell="lstm", peepholes=True, bias=False, layers=2, hidden=(4, 2)),
    dict(cell="gru", reset_after=False),
    dict(cell="gru", reset_after=True, bidirectional=True, layers=2),
    dict(cell="rnn", layers=3, bidirectional=True),
    dict(cell="rnn", bias=False),
    dict(cell="lstm", bidirectional=True, layers=2, out=3, head_activation="softmax"),  # reads Y[-1]
    dict(cell="gru", bidirectional=True, out=2, head_reads="final-states", head_activation="sigmoid"),
    dict(cell="rnn", layers=2, out=2, head_reads="every-step", head_bias=False),
]


@pytest.fixture(scope="module")
def ort() -> Any:
    pytest.importorskip("onnx", reason="onnx is not installed: ONNX writer test skipped")
    return pytest.importorskip("onnxruntime", reason="onnxruntime is not installed: ONNX writer test skipped")


def run_onnx(ort: Any, path: Path, feeds: dict[str, Any]) -> dict[str, Any]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds)))


@pytest.mark.parametrize("options", ONNX, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_onnxruntime_runs_the_model_and_computes_the_same(ort: Any, tmp_path: Path, options: dict[str, Any]) -> None:
    import onnx as onnx_lib

    from lstm_shapes.files.onnxout import write_onnx

    cfg = Config(input=3, hidden=options.pop("hidden", 4), framework="onnx", **options)
    target, arrays = target_of("onnx", ("", cfg))
    path = write(write_onnx, tmp_path / "model.onnx", target, arrays)
    onnx_lib.checker.check_model(str(path), full_check=True)
    xs = inputs(cfg)
    got = run_onnx(ort, path, {"X": xs})
    report = build(cfg)
    want = run_sequence(report, arrays, xs)
    returned = {t.name for t in report.sequence} - {"X"}
    lower = {f"{kind}_l{k}" for k in range(cfg.layers - 1) for kind in ("Y_h", "Y_c")[:1 + (cfg.cell == "lstm")]}
    assert set(got) == returned | lower
    for name in returned:
        np.testing.assert_allclose(got[name], want[name], atol=1e-5, err_msg=name)
    finals = _run(report, arrays, xs).finals  # [layer][direction] = (h, c)
    for name in lower:
        k, which = int(name.rsplit("_l", 1)[1]), 0 if name.startswith("Y_h") else 1
        np.testing.assert_allclose(got[name], np.stack([hc[which] for hc in finals[k]]), atol=1e-5, err_msg=name)
    assert_reads_back(path, target, arrays)
    node = files.read(path).layers[0]
    assert node.config["direction"] == ("bidirectional" if cfg.bidirectional else "forward")
    if cfg.cell == "gru":
        assert node.config["linear_before_reset"] == int(cfg.reset_after)


def test_onnx_model_of_several_converted_layers_has_an_input_and_outputs_per_prefix(ort: Any, tmp_path: Path) -> None:
    from lstm_shapes.files.onnxout import write_onnx

    enc = Config(input=3, hidden=4, framework="onnx", cell="gru", reset_after=True, bidirectional=True)
    dec = Config(input=2, hidden=5, framework="onnx", layers=2, out=2)
    target, arrays = target_of("onnx", ("encoder.", enc), ("decoder.", dec))
    path = write(write_onnx, tmp_path / "model.onnx", target, arrays)
    xe, xd = inputs(enc, seed=1), inputs(dec, seed=2)
    got = run_onnx(ort, path, {"encoder.X": xe, "decoder.X": xd})
    for prefix, cfg, xs in (("encoder.", enc, xe), ("decoder.", dec, xd)):
        want = run_sequence(build(cfg), own(arrays, prefix), xs)
        for name, value in want.items():
            np.testing.assert_allclose(got[prefix + name], value, atol=1e-5, err_msg=prefix + name)
    assert_reads_back(path, target, arrays)


@pytest.mark.parametrize("head_reads", ["last-step", "final-states", "every-step"])
def test_a_batch_first_onnx_model_runs_in_the_reference_evaluator(tmp_path: Path, head_reads: str) -> None:
    # layout=1 is the standard's, but onnxruntime refuses it for the recurrent operators: onnx's own evaluator runs it.
    reference = pytest.importorskip("onnx.reference", reason="onnx is not installed")
    from lstm_shapes.files.onnxout import write_onnx

    cfg = Config(input=3, hidden=4, framework="onnx", cell="lstm", batch_first=True, bidirectional=True, layers=2,
                 out=2, head_reads=head_reads)
    target, arrays = target_of("onnx", ("", cfg))
    path = write(write_onnx, tmp_path / "model.onnx", target, arrays)
    xs = inputs(cfg)
    session = reference.ReferenceEvaluator(str(path))
    got = dict(zip(session.output_names, session.run(None, {"X": xs})))
    for name, value in run_sequence(build(cfg), arrays, xs).items():
        np.testing.assert_allclose(got[name], value, atol=1e-5, err_msg=name)


def test_onnx_writer_refuses_weights_past_protobufs_2_gib(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    from lstm_shapes.files.onnxout import write_onnx

    # By hand: W (1, 4·8192, 8192) and R the same, float32: 2 · 4 · 8192² · 4 bytes = 2 GiB, one byte over the limit.
    cfg = Config(input=8192, hidden=8192, framework="onnx", bias=False)
    target = Target("onnx", (TargetLayer("", cfg, build(cfg).weights),), "float32")
    with pytest.raises(FileFormatError, match=r"at most 2 GiB in one file and these weights take 2\.0 GiB"):
        write_onnx(str(tmp_path / "model.onnx"), target, iter(()))
    assert not (tmp_path / "model.onnx").exists()


def test_onnx_writer_refuses_two_layers_under_one_prefix(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    from lstm_shapes.files.onnxout import write_onnx

    cfg = Config(input=3, hidden=4, framework="onnx")
    target, arrays = target_of("onnx", ("", cfg), ("", cfg))
    with pytest.raises(FileFormatError, match="each needs a prefix of its own"):
        write(write_onnx, tmp_path / "model.onnx", target, arrays)


# --- msgpack ---------------------------------------------------------------------------------------------------


def unpack_tree(path: Path) -> Any:
    """The file as msgpack reads it, each array ext decoded as flax's _ndarray_from_bytes does."""
    msgpack = pytest.importorskip("msgpack", reason="msgpack is not installed")

    def ext(code: int, data: bytes) -> Any:
        assert code == 1
        shape, dtype, raw = msgpack.unpackb(data, raw=True)
        return np.frombuffer(raw, dtype=dtype.decode()).reshape(shape)
    return msgpack.unpackb(path.read_bytes(), ext_hook=ext, raw=False, strict_map_key=False)


def test_msgpack_nests_flax_names_on_every_slash(tmp_path: Path) -> None:
    from lstm_shapes.files.flaxout import write_msgpack

    cfg = Config(input=3, hidden=2, framework="flax", cell="gru", layers=2, bidirectional=True, out=2)
    target, arrays = target_of("flax", ("params/", cfg))
    path = write(write_msgpack, tmp_path / "params.msgpack", target, arrays)
    tree = unpack_tree(path)
    # As flax's init returns them: {"params": {"layers_0": {"forward_rnn": {"cell": {"hn": {"bias": ...}}}}}}.
    assert list(tree) == ["params"] and list(tree["params"]) == ["layers_0", "layers_1", "head"]
    np.testing.assert_array_equal(tree["params"]["layers_1"]["backward_rnn"]["cell"]["hn"]["bias"],
                                  arrays["params/layers_1/backward_rnn/cell/hn/bias"])
    assert_reads_back(path, target, arrays)


def test_msgpack_keeps_a_haiku_modules_path_as_one_key(tmp_path: Path) -> None:
    from lstm_shapes.files.flaxout import write_msgpack

    cfg = Config(input=3, hidden=2, framework="haiku", layers=2, out=2)
    target, arrays = target_of("haiku", ("", cfg))
    path = write(write_msgpack, tmp_path / "params.msgpack", target, arrays)
    tree = unpack_tree(path)
    # hk.transform(f).init(...) returns {module name: {parameter: array}}: {"lstm/linear": {"w": ..., "b": ...}}.
    assert list(tree) == ["lstm/linear", "lstm_1/linear", "linear"]
    np.testing.assert_array_equal(tree["lstm_1/linear"]["w"], arrays["lstm_1/linear/w"])
    assert_reads_back(path, target, arrays)


def test_msgpack_splits_an_array_larger_than_the_chunk_size_as_flax_does(tmp_path: Path, monkeypatch: Any) -> None:
    from lstm_shapes.files import flaxout

    # flax's _chunk: above MAX_CHUNK_SIZE bytes, {marker: True, shape: {"0": 5, "1": 4}, chunks: {"0": 1-D, ...}}
    # of MAX_CHUNK_SIZE / itemsize elements each. At 40 bytes a (5, 4) float32 kernel (80 bytes) is 2 chunks of 10.
    monkeypatch.setattr(flaxout, "MAX_CHUNK_SIZE", 40)
    cfg = Config(input=5, hidden=4, framework="flax")
    target, arrays = target_of("flax", ("", cfg))
    path = write(flaxout.write_msgpack, tmp_path / "params.msgpack", target, arrays)
    cell = unpack_tree(path)["cell"]
    assert isinstance(cell["hi"]["bias"], np.ndarray)  # 16 bytes: one piece
    chunked = cell["ii"]["kernel"]
    assert list(chunked) == ["__msgpack_chunked_array__", "shape", "chunks"]
    assert chunked["__msgpack_chunked_array__"] is True and chunked["shape"] == {"0": 5, "1": 4}
    assert list(chunked["chunks"]) == ["0", "1"]
    np.testing.assert_array_equal(np.concatenate([chunked["chunks"]["0"], chunked["chunks"]["1"]]),
                                  arrays["cell/ii/kernel"].reshape(-1))
    assert_reads_back(path, target, arrays)


@pytest.mark.parametrize(("dtype", "shape"), [
    ("bfloat16", (1,)),  # a 16-byte payload: msgpack's fixext 16, which has no length
    ("float32", (3, 20)),  # ext 8, bin 8
    ("float16", (200,)),  # ext 16, bin 16
    ("float32", (2, 8193)),  # ext 32, bin 32
])
def test_msgpack_packs_an_array_as_msgpack_packs_flaxs_ext(dtype: str, shape: tuple[int, ...]) -> None:
    import io

    from lstm_shapes.files import flaxout

    msgpack = pytest.importorskip("msgpack", reason="msgpack is not installed")
    kind = np.dtype(pytest.importorskip("ml_dtypes").bfloat16) if dtype == "bfloat16" else np.dtype(dtype)
    array = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape).astype(kind)
    # flax's _msgpack_ext_pack: ExtType(1, packb((shape, dtype name, bytes), use_bin_type=True)).
    expected = msgpack.packb(msgpack.ExtType(1, msgpack.packb((shape, dtype, array.tobytes()), use_bin_type=True)))
    out = io.BytesIO()
    flaxout._array(out, msgpack, array)
    assert out.getvalue() == expected


# --- the wrong target ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("module", "function", "framework", "message"), [
    ("kerasout", "write_h5", "pytorch", r"^\.h5 holds Keras weights: --to keras, tf-keras or tf-keras-cudnn \(not pytorch\)$"),
    ("onnxout", "write_onnx", "keras", r"^\.onnx holds the onnx convention: --to onnx \(not keras\)$"),
    ("flaxout", "write_msgpack", "pytorch", r"^\.msgpack holds a tree of names nested by '/': --to flax or haiku \(not pytorch\)$"),
])
def test_a_writer_names_the_targets_it_takes(tmp_path: Path, module: str, function: str, framework: str,
                                            message: str) -> None:
    import importlib

    writer = getattr(importlib.import_module(f"lstm_shapes.files.{module}"), function)
    target, arrays = target_of(framework, ("", Config(input=3, hidden=2, framework=framework)))
    with pytest.raises(FileFormatError, match=message):
        write(writer, tmp_path / "out", target, arrays)
    assert not (tmp_path / "out").exists()


def test_h5_refuses_bfloat16_and_names_the_formats_that_hold_it(tmp_path: Path) -> None:
    from lstm_shapes.files.kerasout import write_h5

    target, arrays = target_of("keras", ("", Config(input=3, hidden=2)), dtype="bfloat16")
    with pytest.raises(FileFormatError, match="not bfloat16: write .safetensors or .npz"):
        write(write_h5, tmp_path / "x.h5", target, arrays)
