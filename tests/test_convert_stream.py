"""`lstm-shapes convert` through files in pieces: ranged reads, small chunks and bands, what the proof reads, and
the memory a conversion holds.

Expected tensors are derived by hand from PyTorch's documented layout (weight_ih_l{k} is W_ii|W_if|W_ig|W_io, each
(h, in)): Keras 3 keeps kernel (in, 4h) with gates i, f, c, o and one bias b_ih + b_hh; TF1's LSTMCell keeps one
kernel [W; U] of (in + h, 4h) with gates i, j (the candidate), f, o, and adds 1.0 to the forget gate at run time, so
its stored forget bias is 1.0 less.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from lstm_shapes import conversion
from lstm_shapes.conversion import Tensors, layers_of, plan
from lstm_shapes.convert_command import convert_command
from lstm_shapes.files import ModelFile
from lstm_shapes.files.writers import Target, TargetLayer, write_safetensors
from lstm_shapes.inspection import inspect_tensors

torch = pytest.importorskip("torch", reason="torch is not installed: the checkpoints are written by torch.save")
safetensors_numpy = pytest.importorskip("safetensors.numpy", reason="safetensors is not installed")


def state(x: int = 5, h: int = 7, layers: int = 2) -> dict[str, np.ndarray]:
    torch.manual_seed(3)
    return {n: t.detach().numpy().copy() for n, t in torch.nn.LSTM(x, h, num_layers=layers).state_dict().items()}


def gates(matrix: np.ndarray, h: int) -> list[np.ndarray]:
    return [matrix[g * h:(g + 1) * h] for g in range(4)]


def keras_expected(sd: dict[str, np.ndarray], h: int, layers: int) -> dict[str, np.ndarray]:
    out = {}
    for k in range(layers):
        name = "lstm" if k == 0 else f"lstm_{k}"
        out[f"{name}/lstm_cell/kernel"] = sd[f"weight_ih_l{k}"].T
        out[f"{name}/lstm_cell/recurrent_kernel"] = sd[f"weight_hh_l{k}"].T
        out[f"{name}/lstm_cell/bias"] = sd[f"bias_ih_l{k}"] + sd[f"bias_hh_l{k}"]
    return out


def tf1_expected(sd: dict[str, np.ndarray], h: int, layers: int) -> dict[str, np.ndarray]:
    out = {}
    for k in range(layers):
        w, u = gates(sd[f"weight_ih_l{k}"], h), gates(sd[f"weight_hh_l{k}"], h)
        b = gates(sd[f"bias_ih_l{k}"] + sd[f"bias_hh_l{k}"], h)
        order = (0, 2, 1, 3)  # TF1's i, j, f, o from PyTorch's i, f, g, o
        prefix = f"rnn/multi_rnn_cell/cell_{k}/lstm_cell/"
        out[prefix + "kernel"] = np.concatenate([np.concatenate([w[g].T, u[g].T]) for g in order], axis=1)
        out[prefix + "bias"] = np.concatenate([b[g] - (1.0 if g == 1 else 0.0) for g in order])
    return out


def save(sd: dict[str, np.ndarray], path: Path) -> Path:
    """The state dict written as the file's suffix says: torch.save (zip or legacy stream), safetensors or npz."""
    if path.suffix == ".safetensors":
        safetensors_numpy.save_file(sd, str(path))
    elif path.suffix == ".npz":
        np.savez(path, **sd)
    else:
        torch.save({n: torch.from_numpy(a) for n, a in sd.items()}, path,
                   _use_new_zipfile_serialization="legacy" not in path.name)
    return path


def convert_file(source: Path, to: str, output: Path) -> dict[str, np.ndarray]:
    result = CliRunner().invoke(convert_command, [str(source), "--to", to, "-o", str(output)], prog_name="lstm-shapes convert")
    assert result.exit_code == 0, result.output
    assert "equal within the tolerance" in result.output
    return dict(safetensors_numpy.load_file(str(output)))


@pytest.mark.parametrize("to", ["keras", "tf1"])
def test_small_chunks_and_bands_convert_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, to: str) -> None:
    # 3 rows of weight_ih_l0 (5 floats each) per piece, transposed 2 rows at a time: blocks of 7 rows end mid-piece
    # and pieces end mid-band
    monkeypatch.setattr(conversion, "CHUNK", 3 * 5 * 4)
    monkeypatch.setattr(conversion, "BAND", 2)
    sd = state()
    got = convert_file(save(sd, tmp_path / "m.pt"), to, tmp_path / "out.safetensors")
    expected = (keras_expected if to == "keras" else tf1_expected)(sd, 7, 2)
    assert sorted(got) == sorted(expected)
    for name, array in expected.items():
        np.testing.assert_allclose(got[name], array, rtol=1e-6, atol=1e-7, err_msg=name)


@pytest.mark.parametrize("file", ["m.pt", "m.legacy.pt", "m.safetensors", "m.npz"])
def test_a_file_converts_from_ranged_reads_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file: str) -> None:
    def whole(self: ModelFile, name: str) -> Any:
        raise AssertionError(f"{name} was loaded whole")

    monkeypatch.setattr(ModelFile, "load", whole)
    monkeypatch.setattr(conversion, "CHUNK", 64)
    sd = state()
    got = convert_file(save(sd, tmp_path / file), "keras", tmp_path / "out.safetensors")
    for name, array in keras_expected(sd, 7, 2).items():
        np.testing.assert_allclose(got[name], array, rtol=1e-6, atol=1e-7, err_msg=name)


def counted(arrays: dict[str, np.ndarray], log: dict[str, int]) -> Tensors:
    """Tensors over arrays whose ranged reads add up how many elements of each tensor were read."""
    def reader(name: str) -> Any:
        flat = arrays[name].reshape(-1)

        def read(start: int, count: int) -> Any:
            log[name] = log.get(name, 0) + count
            return flat[start:start + count]

        return read

    def whole(name: str) -> Any:
        raise AssertionError(f"{name} was loaded whole")

    return Tensors({n: a.shape for n, a in arrays.items()}, {n: a.dtype.name for n, a in arrays.items()}, whole,
                   {n: reader(n) for n in arrays})


def test_the_proof_reads_w_once_for_all_steps_and_u_once_a_step(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conversion, "CHUNK", 16)  # a few rows at a time, as from a large file
    sd = state(x=3, h=5, layers=1)
    source_log: dict[str, int] = {}
    source = counted(sd, source_log)
    made = plan(layers_of(inspect_tensors(source.shapes, "mapping", "mapping")), source, "keras")
    written = dict(made.tensors())
    source_log.clear()  # what the conversion read is not the proof's
    target_log: dict[str, int] = {}
    proof = made.prove(counted(written, target_log))
    assert proof.ok
    steps = conversion.STEPS
    # each side's W whole once, its U whole once a step, each bias once for the cell (and the source's once more, for
    # the tolerance: the largest bias a target may have rounded when it summed two)
    assert source_log == {"weight_ih_l0": 20 * 3, "weight_hh_l0": 20 * 5 * steps, "bias_ih_l0": 40, "bias_hh_l0": 40}
    assert target_log == {"lstm/lstm_cell/kernel": 3 * 20, "lstm/lstm_cell/recurrent_kernel": 5 * 20 * steps,
                          "lstm/lstm_cell/bias": 20}


def test_the_proof_still_finds_a_wrong_conversion() -> None:
    sd = state(x=3, h=5, layers=1)
    source = Tensors.of_arrays(sd)
    made = plan(layers_of(inspect_tensors(source.shapes, "mapping", "mapping")), source, "keras")
    written = dict(made.tensors())
    kernel = written["lstm/lstm_cell/recurrent_kernel"].copy()
    kernel[:, [5, 10]] = kernel[:, [10, 5]]  # one column of f swapped with one of c
    written["lstm/lstm_cell/recurrent_kernel"] = kernel
    proof = made.prove(Tensors.of_arrays(written))
    assert not proof.ok and proof.outputs > 100 * proof.tolerance


def test_writing_holds_one_target_tensor_at_a_time(tmp_path: Path) -> None:
    sd = {n: a for n, a in state(x=256, h=512, layers=1).items()}  # the recurrent kernel, 512 x 2048 float32, is 4 MiB
    source = Tensors.of_arrays(sd)
    made = plan(layers_of(inspect_tensors(source.shapes, "mapping", "mapping")), source, "keras")
    target = Target("keras", tuple(TargetLayer(p.prefix, p.target, p.target_weights) for p in made.pairs), made.dtype)
    largest = max(4 * int(np.prod(w.shape)) for w in target.weights)
    tracemalloc.start()
    try:
        write_safetensors(str(tmp_path / "out.safetensors"), target, made.tensors())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the tensor being made, and one piece of a source tensor: not the previous tensor, nor a copy of its bytes
    assert largest == 4 << 20 and peak < largest + 2 * conversion.CHUNK, peak


@pytest.mark.parametrize("to", ["pytorch", "keras", "tf1"])
def test_each_side_of_the_proof_computes_what_pytorch_computes(monkeypatch: pytest.MonkeyPatch, to: str) -> None:
    # the proof compares two sides; here each side's run, read in pieces with W primed over all steps, is checked
    # against torch's own nn.LSTM on the same inputs and states
    monkeypatch.setattr(conversion, "CHUNK", 16)
    torch.manual_seed(5)
    layer = torch.nn.LSTM(3, 5, bidirectional=True).double()
    sd = {n: t.detach().numpy().copy() for n, t in layer.state_dict().items()}
    rng = np.random.default_rng(1)
    xs, h0, c0 = rng.standard_normal((4, 2, 3)), rng.standard_normal((2, 2, 5)), rng.standard_normal((2, 2, 5))
    expected, (hn, cn) = layer(torch.from_numpy(xs), (torch.from_numpy(h0), torch.from_numpy(c0)))
    source = Tensors.of_arrays(sd)
    made = plan(layers_of(inspect_tensors(source.shapes, "mapping", "mapping")), source, to)
    side = made.pairs[0].source if to == "pytorch" else made.target_sides(Tensors.of_arrays(dict(made.tensors())))[0]
    for d in (0, 1):
        ys, h, c = conversion.run_cell(side, 0, d, xs, h0[d], c0[d])
        np.testing.assert_allclose(ys, expected.detach().numpy()[:, :, 5 * d:5 * d + 5], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(h, hn.detach().numpy()[d], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(c, cn.detach().numpy()[d], rtol=1e-9, atol=1e-12)
