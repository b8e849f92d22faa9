"""lstm-shapes convert: every pair of conventions, checked by verify's forward pass of each side's own layout.

The oracle is `verify._run`, the numpy forward pass that the recorded vectors tie to the real frameworks: the
source's arrays run in the source's convention and the converted arrays in the target's must give the same layer
outputs and final states from the same inputs and initial states. Hand-made tensors check the gate orders the
frameworks document; round trips check that a pure reorder loses no bit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from itertools import product

import numpy as np
import pytest

from lstm_shapes import Config, build
from lstm_shapes.config import CELLS
from lstm_shapes.conversion import ConvertError, ProofError, Tensors, convert, layers_of, plan
from lstm_shapes.errors import ConfigError
from lstm_shapes.frameworks import REGISTRY
from lstm_shapes.inspection import inspect_tensors
from lstm_shapes.verify import _run, random_arrays

FRAMEWORKS = tuple(REGISTRY)
VARIANTS = {
    "one layer": {},
    "2 layers": {"layers": 2},
    "bidirectional": {"bidirectional": True},
    "2 layers of their own sizes": {"hidden": (4, 3)},
    "2 bidirectional layers": {"layers": 2, "bidirectional": True},
    "projection": {"proj": 3},
    "peepholes": {"peepholes": True},
    "no bias": {"bias": False},
}


def _config(fw: str, cell: str, variant: dict[str, object], reset_after: bool | None = None) -> Config | None:
    settings = {"input": 3, "hidden": 4, "cell": cell, "framework": fw, **variant}
    if cell == "gru":
        settings["reset_after"] = reset_after
    try:
        return Config(**settings)  # type: ignore[arg-type]
    except ConfigError:
        return None


def _sources() -> list[tuple[str, str, str, Config]]:
    found = []
    for fw, cell, (label, variant) in product(FRAMEWORKS, CELLS, VARIANTS.items()):
        placements = REGISTRY[fw].reset_after_choices if cell == "gru" else (None,)
        for reset_after in placements:
            cfg = _config(fw, cell, variant, reset_after)
            if cfg is not None and (cell == "lstm" or label not in ("projection", "peepholes")):
                where = "" if reset_after is None else (", reset after" if reset_after else ", reset before")
                found.append((fw, cell, label + where, cfg))
    return found


SOURCES = _sources()


def _states(cfg: Config, rng: np.random.Generator) -> list[list[tuple[np.ndarray, np.ndarray | None]]]:
    return [[(rng.standard_normal((2, cfg.layer_recurrent(k)), dtype=np.float32),
              rng.standard_normal((2, cfg.layer_hidden(k)), dtype=np.float32) if cfg.cell == "lstm" else None)
             for _ in range(cfg.directions)] for k in range(cfg.layers)]


def _same_run(source: Config, arrays: dict[str, np.ndarray], target: Config, converted: dict[str, np.ndarray]) -> float:
    """The largest difference between verify's runs of both sides over one input and one set of initial states."""
    rng = np.random.default_rng(7)
    xs = rng.standard_normal((4, 2, source.input), dtype=np.float32)
    states = _states(source, rng)
    a = _run(build(source), arrays, xs, states)
    b = _run(build(target), converted, xs, states)
    worst = 0.0
    for left, right in zip(a.layer_outputs, b.layer_outputs, strict=True):
        worst = max(worst, float(np.abs(left - right).max()))
    for layer_a, layer_b in zip(a.finals, b.finals, strict=True):
        for (ha, ca), (hb, cb) in zip(layer_a, layer_b, strict=True):
            worst = max(worst, float(np.abs(ha - hb).max()))
            if ca is not None:
                worst = max(worst, float(np.abs(ca - cb).max()))
    return worst


@pytest.mark.parametrize(("fw", "cell", "label", "cfg"), SOURCES, ids=[f"{f}-{c}-{v}" for f, c, v, _ in SOURCES])
def test_every_target_computes_what_the_source_computes(fw: str, cell: str, label: str, cfg: Config) -> None:
    arrays = random_arrays(build(cfg), seed=3)
    converted_to = 0
    for to in FRAMEWORKS:
        try:
            out = convert(arrays, target=to, source=fw, reset_after=cfg.reset_after)
        except ConvertError:
            continue
        target = plan(layers_of(inspect_tensors({n: a.shape for n, a in arrays.items()}), fw, cfg.reset_after),
                      Tensors.of_arrays(arrays), to).pairs[0].target
        assert sorted(out) == sorted(w.name for w in build(target).weights)
        assert _same_run(cfg, arrays, target, out) < 1e-5, f"{fw} {cell} {label} → {to}"
        converted_to += 1
    assert converted_to >= 1  # itself at least


def _bias_blocks(cfg: Config) -> dict[str, int]:
    counts: dict[str, int] = {}
    for w in build(cfg).weights:
        for block in w.blocks:
            if block.kind in ("b", "bx", "bh"):
                counts[block.gate] = counts.get(block.gate, 0) + w.stacked_directions
    return counts


@pytest.mark.parametrize(("fw", "cell", "label", "cfg"), [s for s in SOURCES if s[2].startswith(("one layer", "2 bid"))],
                         ids=[f"{f}-{c}-{v}" for f, c, v, _ in SOURCES if v.startswith(("one layer", "2 bid"))])
def test_a_round_trip_of_a_pure_reorder_returns_every_bit(fw: str, cell: str, label: str, cfg: Config) -> None:
    arrays = random_arrays(build(cfg), seed=5)
    for to in FRAMEWORKS:
        try:
            there = convert(arrays, target=to, source=fw, reset_after=cfg.reset_after)
        except ConvertError:
            continue
        back = convert(there, target=fw, source=to, reset_after=cfg.reset_after)
        target = plan(layers_of(inspect_tensors({n: a.shape for n, a in there.items()}), to, cfg.reset_after),
                      Tensors.of_arrays(there),
                      fw).pairs[0].source.config
        forget = REGISTRY[fw].forget_bias or REGISTRY[to].forget_bias
        # Biases summed into fewer vectors come back summed; a run-time forget bias goes through a float64 sum.
        pure = not forget and all(_bias_blocks(target).get(g, 0) >= n for g, n in _bias_blocks(cfg).items())
        assert sorted(back) == sorted(arrays)
        if pure:
            for name, original in arrays.items():
                assert back[name].tobytes() == original.tobytes(), f"{fw} → {to} → {fw}: {name}"
        else:  # the same arithmetic, its biases perhaps moved from one vector to the other
            assert _same_run(cfg, arrays, cfg, back) < 1e-5, f"{fw} → {to} → {fw}"


def test_a_pure_reorder_is_recognised_as_one() -> None:
    """The round-trip test's rule picks the pairs that must be exact: PyTorch → Keras → PyTorch sums its two biases."""
    torch_cfg = Config(input=3, hidden=4, framework="pytorch")
    keras_cfg = Config(input=3, hidden=4, framework="keras")
    assert _bias_blocks(torch_cfg)["f_t"] == 2 and _bias_blocks(keras_cfg)["f_t"] == 1
    arrays = random_arrays(build(torch_cfg), seed=1)
    back = convert(convert(arrays, target="keras", source="pytorch"), target="pytorch", source="keras")
    assert not np.array_equal(back["bias_hh_l0"], arrays["bias_hh_l0"])  # now zeros, its values moved to bias_ih
    np.testing.assert_allclose(back["bias_ih_l0"], arrays["bias_ih_l0"] + arrays["bias_hh_l0"], rtol=1e-6)


# --- the documented gate orders, by hand ---------------------------------------------------------------------


def test_a_keras_lstm_by_hand_in_every_documented_layout() -> None:
    """x = h = 1, so each gate is one number: Keras i,f,c,o = 1,2,3,4 (kernel), 5..8 (recurrent), 9..12 (bias)."""
    keras = {
        "lstm/lstm_cell/kernel": np.array([[1, 2, 3, 4]], np.float32),
        "lstm/lstm_cell/recurrent_kernel": np.array([[5, 6, 7, 8]], np.float32),
        "lstm/lstm_cell/bias": np.array([9, 10, 11, 12], np.float32),
    }
    torch = convert(keras, target="pytorch", source="keras")  # i,f,g,o, stored (4h, x)
    assert torch["weight_ih_l0"].ravel().tolist() == [1, 2, 3, 4]
    assert torch["weight_hh_l0"].ravel().tolist() == [5, 6, 7, 8]
    assert torch["bias_ih_l0"].tolist() == [9, 10, 11, 12] and torch["bias_hh_l0"].tolist() == [0, 0, 0, 0]
    onnx = convert(keras, target="onnx", source="keras")  # i,o,f,c; B = [Wb, Rb]
    assert onnx["W"].shape == (1, 4, 1) and onnx["W"].ravel().tolist() == [1, 4, 2, 3]
    assert onnx["R"].ravel().tolist() == [5, 8, 6, 7]
    assert onnx["B"].ravel().tolist() == [9, 12, 10, 11, 0, 0, 0, 0]
    tf1 = convert(keras, target="tf1", source="keras")  # i,j,f,o over [x, h]; forget_bias 1.0 added at run time
    (kernel,) = [v for k, v in tf1.items() if k.endswith("kernel")]
    (bias,) = [v for k, v in tf1.items() if k.endswith("bias")]
    assert kernel.tolist() == [[1, 3, 2, 4], [5, 7, 6, 8]]
    assert bias.tolist() == [9, 11, 9, 12]  # 10 - 1.0


def test_a_pytorch_gru_keeps_b_hn_inside_the_reset_product() -> None:
    """PyTorch r,z,n → Keras z,r,h with reset_after: bias row 0 the input side, row 1 the recurrent side."""
    torch = {
        "weight_ih_l0": np.array([[1], [2], [3]], np.float32),
        "weight_hh_l0": np.array([[4], [5], [6]], np.float32),
        "bias_ih_l0": np.array([7, 8, 9], np.float32),
        "bias_hh_l0": np.array([10, 11, 12], np.float32),
    }
    keras = convert(torch, target="keras", source="pytorch")
    assert keras["gru/gru_cell/kernel"].tolist() == [[2, 1, 3]]
    assert keras["gru/gru_cell/recurrent_kernel"].tolist() == [[5, 4, 6]]
    # z and r may add their two biases; the candidate's recurrent bias must stay with U·h, inside r ⊙ (...)
    assert keras["gru/gru_cell/bias"].tolist() == [[8, 7, 9], [11, 10, 12]]
    flat = convert(torch, target="keras", source="pytorch")["gru/gru_cell/bias"]
    assert flat.shape == (2, 3)


def test_haiku_gru_z_is_negated() -> None:
    """hk.GRU: h = (1 − z)·h_prev + z·a, so its z is Keras' with the sign turned (1 − σ(a) = σ(−a))."""
    keras = {
        "gru/gru_cell/kernel": np.array([[1, 2, 3]], np.float32),
        "gru/gru_cell/recurrent_kernel": np.array([[4, 5, 6]], np.float32),
        "gru/gru_cell/bias": np.array([7, 8, 9], np.float32),
    }
    cfg = Config(input=1, hidden=1, cell="gru", framework="keras", reset_after=False)
    assert sorted(keras) == sorted(w.name for w in build(cfg).weights)
    haiku = convert(keras, target="haiku", source="keras")
    assert haiku["gru/w_i"].tolist() == [[-1, 2, 3]]  # z, r, a
    assert haiku["gru/w_h"].tolist() == [[-4, 5, 6]]
    assert haiku["gru/b"].tolist() == [-7, 8, 9]


# --- refusals ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "target", "reason"), [
    (Config(input=3, hidden=4, cell="gru", framework="keras", reset_after=False), "pytorch", "reset gate"),
    (Config(input=3, hidden=4, proj=2, framework="pytorch"), "keras", "projection"),
    (Config(input=3, hidden=4, peepholes=True, framework="tf1"), "pytorch", "peephole"),
    (Config(input=3, hidden=4, cell="rnn", framework="keras"), "haiku", "relu"),
    (Config(input=3, hidden=4, layers=2, framework="pytorch"), "pytorch-cell", "one cell"),
])
def test_what_no_weights_can_make_exact_is_refused_with_the_reason(source: Config, target: str, reason: str) -> None:
    arrays = random_arrays(build(source))
    with pytest.raises(ConvertError, match=reason):
        convert(arrays, target=target, source=source.framework)


def test_the_proof_catches_a_swapped_gate() -> None:
    cfg = Config(input=3, hidden=4, framework="pytorch")
    arrays = random_arrays(build(cfg), seed=2)
    made = plan(layers_of(inspect_tensors({n: a.shape for n, a in arrays.items()}), "pytorch"),
                Tensors.of_arrays(arrays), "keras")
    out = dict(made.tensors())
    assert made.prove(Tensors.of_arrays(out)).ok
    kernel = out["lstm/lstm_cell/kernel"].copy()
    kernel[:, 4:8], kernel[:, 8:12] = out["lstm/lstm_cell/kernel"][:, 8:12], out["lstm/lstm_cell/kernel"][:, 4:8]
    proof = made.prove(Tensors.of_arrays({**out, "lstm/lstm_cell/kernel": kernel}))
    assert not proof.ok and proof.outputs > 1e-3


def test_forget_bias_is_folded_as_given() -> None:
    tf1 = Config(input=2, hidden=2, framework="tf1")
    arrays = random_arrays(build(tf1), seed=4)
    (bias_name,) = [n for n in arrays if n.endswith("bias")]
    for given, added in ((None, 1.0), (0.0, 0.0), (2.5, 2.5)):
        out = convert(arrays, target="pytorch", source="tf1", forget_bias=given)
        f = slice(2, 4)  # TF1 i,j,f,o: f is the third block; PyTorch i,f,g,o: the second
        np.testing.assert_allclose(out["bias_ih_l0"][f], arrays[bias_name][4:6] + added, rtol=1e-6)
    with pytest.raises(ConvertError, match="neither side"):
        convert(random_arrays(build(Config(input=2, hidden=2, framework="pytorch"))), target="keras",
                source="pytorch", forget_bias=1.0)
    # hk.LSTM adds a fixed 1: no argument sets it, so --forget-bias does not reach it
    with pytest.raises(ConvertError, match="neither side"):
        convert(random_arrays(build(Config(input=2, hidden=2, framework="haiku"))), target="keras",
                source="haiku", forget_bias=0.0)


def test_a_proof_failure_is_raised_by_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    import lstm_shapes.conversion as module

    arrays = random_arrays(build(Config(input=3, hidden=4, framework="tf1")))
    monkeypatch.setattr(module, "run_forget_bias", lambda convention, given: 0.0 if convention.forget_bias else 0.0)
    # With the forget bias dropped on the target side only the proof must notice: patch the proof's side to 1.0.
    original = module.prove

    def proof_with_tf1_bias(source, target, dtype, seed=0):  # type: ignore[no-untyped-def]
        from dataclasses import replace

        return original(replace(source, forget_bias=1.0), target, dtype, seed)

    monkeypatch.setattr(module, "prove", proof_with_tf1_bias)
    with pytest.raises(ProofError, match="DIFFERENT"):
        convert(arrays, target="keras", source="tf1")


# --- the command line ----------------------------------------------------------------------------------------


def _run_cli(*args: str, cwd: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    return subprocess.run([sys.executable, "-m", "lstm_shapes", "convert", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


def _npz_source(tmp_path: object, cfg: Config, seed: int = 0) -> tuple[str, dict[str, np.ndarray]]:
    arrays = random_arrays(build(cfg), seed=seed)
    path = os.path.join(str(tmp_path), "source.npz")
    np.savez(path, **arrays)
    return path, arrays


def test_cli_writes_safetensors_that_the_library_reads(tmp_path: object) -> None:
    safetensors = pytest.importorskip("safetensors.numpy")
    src, arrays = _npz_source(tmp_path, Config(input=3, hidden=4, cell="gru", framework="pytorch"))
    done = _run_cli(src, "--to", "keras", "-o", "out.safetensors", cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "keras.layers.GRU(4" in done.stdout and "proof:" in done.stdout and "equal within" in done.stdout
    back = _run_cli("out.safetensors", "--to", "pytorch", "-o", "back.npz", cwd=str(tmp_path))
    assert "nn.GRU(3, 4, batch_first=True)" in back.stdout  # Keras' input is batch-first: so is the constructor
    loaded = safetensors.load_file(os.path.join(str(tmp_path), "out.safetensors"))
    assert {k: v.tolist() for k, v in loaded.items()} == {k: v.tolist() for k, v in
                                                         convert(arrays, target="keras", source="pytorch").items()}


def test_cli_npz_and_prefix(tmp_path: object) -> None:
    src, arrays = _npz_source(tmp_path, Config(input=3, hidden=4, framework="keras"))
    done = _run_cli(src, "--to", "pytorch", "-o", "out.npz", "--prefix", "encoder.rnn.", cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    with np.load(os.path.join(str(tmp_path), "out.npz")) as written:
        assert sorted(written.files) == sorted("encoder.rnn." + n for n in
                                               ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"))
        np.testing.assert_array_equal(written["encoder.rnn.weight_ih_l0"], arrays["lstm/lstm_cell/kernel"].T)


def test_cli_never_replaces_without_force(tmp_path: object) -> None:
    src, _ = _npz_source(tmp_path, Config(input=3, hidden=4, framework="pytorch"))
    out = os.path.join(str(tmp_path), "out.npz")
    with open(out, "wb") as handle:
        handle.write(b"precious")
    done = _run_cli(src, "--to", "keras", "-o", "out.npz", cwd=str(tmp_path))
    assert done.returncode == 2 and "--force" in done.stderr and len(done.stderr.splitlines()) == 1
    with open(out, "rb") as handle:
        assert handle.read() == b"precious"
    assert _run_cli(src, "--to", "keras", "-o", "out.npz", "--force", cwd=str(tmp_path)).returncode == 0
    with np.load(out) as written:
        assert "lstm/lstm_cell/kernel" in written.files
    assert sorted(os.listdir(str(tmp_path))) == ["out.npz", "source.npz"]


@pytest.mark.parametrize(("args", "words"), [
    (("--to", "pytorch", "-o", "out.txt"), "must end in one of"),
    (("--to", "pytorch", "-o", "out.npz", "--forget-bias", "1"), "neither side"),
    (("--to", "nothing", "-o", "out.npz"), "nothing"),
])
def test_cli_bad_options_are_one_line_and_exit_2(tmp_path: object, args: tuple[str, ...], words: str) -> None:
    src, _ = _npz_source(tmp_path, Config(input=3, hidden=4, framework="keras"))
    done = _run_cli(src, *args, cwd=str(tmp_path))
    assert done.returncode == 2 and words in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert sorted(os.listdir(str(tmp_path))) == ["source.npz"]


def test_cli_refusal_names_the_reason(tmp_path: object) -> None:
    src, _ = _npz_source(tmp_path, Config(input=3, hidden=4, proj=2, framework="pytorch"))
    done = _run_cli(src, "--to", "keras", "-o", "out.npz", cwd=str(tmp_path))
    assert done.returncode == 2 and "projection" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert sorted(os.listdir(str(tmp_path))) == ["source.npz"]


def test_cli_a_failing_proof_exits_1_and_writes_nothing(tmp_path: object) -> None:
    """A sitecustomize breaks the fold of the forget bias into the target, in the command's own process."""
    src, _ = _npz_source(tmp_path, Config(input=3, hidden=4, framework="tf1"))
    patch = os.path.join(str(tmp_path), "patch")
    os.mkdir(patch)
    with open(os.path.join(patch, "sitecustomize.py"), "w") as handle:
        handle.write("import lstm_shapes.conversion as c\n"
                     "c._biases_original = c._biases\n"
                     "def _biases(side):\n"
                     "    out = c._biases_original(side)\n"
                     "    return {k: (x * 0.5, h) for k, (x, h) in out.items()}\n"
                     "c._biases = _biases\n")
    env = {**os.environ, "PYTHONPATH": patch + os.pathsep + os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    done = subprocess.run([sys.executable, "-m", "lstm_shapes", "convert", src, "--to", "keras", "-o", "out.npz"],
                          capture_output=True, text=True, cwd=str(tmp_path), env=env, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "DIFFERENT" in done.stdout and "not written" in done.stderr
    assert sorted(os.listdir(str(tmp_path))) == ["patch", "source.npz"]


def test_cli_a_failing_write_leaves_no_file(tmp_path: object) -> None:
    """A writer that fails after writing some bytes: the partial file is removed and the error is one line."""
    src, _ = _npz_source(tmp_path, Config(input=3, hidden=4, framework="pytorch"))
    patch = os.path.join(str(tmp_path), "patch")
    os.mkdir(patch)
    with open(os.path.join(patch, "sitecustomize.py"), "w") as handle:
        handle.write("import lstm_shapes.files.writers as w\n"
                     "def write_npz(path, target, tensors):\n"
                     "    open(path, 'wb').write(b'half')\n"
                     "    raise OSError(28, 'No space left on device')\n"
                     "w.write_npz = write_npz\n")
    env = {**os.environ, "PYTHONPATH": patch + os.pathsep + os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    done = subprocess.run([sys.executable, "-m", "lstm_shapes", "convert", src, "--to", "keras", "-o", "out.npz"],
                          capture_output=True, text=True, cwd=str(tmp_path), env=env, timeout=120)
    assert done.returncode == 3, done.stderr
    assert "no space left" in done.stderr.lower() and len(done.stderr.strip().splitlines()) == 1
    assert sorted(os.listdir(str(tmp_path))) == ["patch", "source.npz"]


def test_cli_reads_a_torch_checkpoint(tmp_path: object) -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    done = _run_cli(os.path.join(here, "files", "torch_state_dict.pt"), "--to", "tf1", "-o", "out.safetensors",
                    cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "num_proj=2" in done.stdout and "weight_hr_l0_reverse" in done.stdout
    refused = _run_cli(os.path.join(here, "files", "torch_state_dict.pt"), "--to", "keras", "-o", "k.safetensors",
                       cwd=str(tmp_path))
    assert refused.returncode == 2 and "LSTMP" in refused.stderr


def test_json_free_api_returns_numpy_arrays() -> None:
    import lstm_shapes

    arrays = random_arrays(build(Config(input=3, hidden=4, framework="keras")))
    out = lstm_shapes.convert(arrays, source="keras", target="mlx")
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float32 for v in out.values())
    assert json.dumps(sorted(out))  # plain string names


def test_cli_two_layers_of_one_checkpoint(tmp_path: object) -> None:
    """An encoder and a decoder in one torch checkpoint: both converted under their places, or one with --layer."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.ModuleDict({"encoder": torch.nn.LSTM(3, 4, batch_first=True),
                                 "decoder": torch.nn.GRU(4, 5, num_layers=2)})
    src = os.path.join(str(tmp_path), "model.pt")
    torch.save(model.state_dict(), src)
    done = _run_cli(src, "--to", "keras", "-o", "both.npz", cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    with np.load(os.path.join(str(tmp_path), "both.npz")) as written:
        assert "encoder/lstm/lstm_cell/kernel" in written.files and "decoder/gru_1/gru_cell/bias" in written.files
        np.testing.assert_array_equal(written["encoder/lstm/lstm_cell/recurrent_kernel"],
                                      model["encoder"].weight_hh_l0.detach().numpy().T)
    clash = _run_cli(src, "--to", "keras", "-o", "one.npz", "--prefix", "x/", cwd=str(tmp_path))
    assert clash.returncode == 2 and "--layer" in clash.stderr
    one = _run_cli(src, "--to", "mlx", "-o", "one.npz", "--layer", "decoder.", "--prefix", "", cwd=str(tmp_path))
    assert one.returncode == 0, one.stderr
    with np.load(os.path.join(str(tmp_path), "one.npz")) as written:
        assert not any(name.startswith("encoder") for name in written.files)


def test_cli_moves_layers_out_of_and_into_flax_params(tmp_path: object) -> None:
    """flax's model.init returns {"params": {...}}: a Flax file's layer leaves that collection, a Flax target enters it."""
    msgpack = pytest.importorskip("msgpack")
    here = os.path.dirname(os.path.abspath(__file__))
    done = _run_cli(os.path.join(here, "files", "flax_lstm.msgpack"), "--to", "pytorch", "-o", "t.npz", cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    with np.load(os.path.join(str(tmp_path), "t.npz")) as written:
        assert sorted(written.files) == ["bias_hh_l0", "bias_ih_l0", "weight_hh_l0", "weight_ih_l0"]
    back = _run_cli("t.npz", "--to", "flax", "-o", "f.msgpack", cwd=str(tmp_path))
    assert back.returncode == 0, back.stderr
    with open(os.path.join(str(tmp_path), "f.msgpack"), "rb") as handle:
        tree = msgpack.unpackb(handle.read(), raw=False, strict_map_key=False)
    assert list(tree) == ["params"] and "cell" in tree["params"]


def test_cli_a_keras_file_of_three_layers(tmp_path: object) -> None:
    """tf.keras' own h5 (recorded): its layers go by their names, each under its name and a separator; one layer that
    cannot convert stops the file, saying how to take the others."""
    pytest.importorskip("h5py")
    here = os.path.dirname(os.path.abspath(__file__))
    source = os.path.join(here, "files", "keras2_sequential.h5")
    refused = _run_cli(source, "--to", "pytorch", "-o", "all.npz", cwd=str(tmp_path))
    assert refused.returncode == 2 and "gru_1" in refused.stderr and "--layer" in refused.stderr, refused.stderr
    one = _run_cli(source, "--to", "pytorch", "-o", "one.npz", "--layer", "lstm_2", cwd=str(tmp_path))
    assert one.returncode == 0, one.stderr
    with np.load(os.path.join(str(tmp_path), "one.npz")) as written:
        assert sorted(written.files) == ["lstm_2.weight_hh_l0", "lstm_2.weight_ih_l0"]  # the layer has no bias
