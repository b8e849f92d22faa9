"""`lstm-shapes inspect` and `lstm_shapes.inspect`: recurrent layers found in real models' tensors.

Expected configurations come from the real objects (a torch module's input_size, hidden_size, ...;
a Keras layer's units), and each printed constructor line is run in its framework to build a layer
whose tensors must be the file's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from math import prod
from pathlib import Path

import numpy as np
import pytest

import lstm_shapes

torch = pytest.importorskip("torch", reason="torch is not installed: inspect's cross-check skipped")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lstm_shapes", "inspect", *args], capture_output=True, text=True, cwd=cwd)


class Encoder(torch.nn.Module):
    """A model around an LSTM: an embedding, the LSTM one level down, a Linear on its output."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = torch.nn.Embedding(100, 40)
        self.encoder = torch.nn.Module()
        self.encoder.rnn = torch.nn.LSTM(40, 256, num_layers=2, bidirectional=True)
        self.fc = torch.nn.Linear(512, 10)


def test_a_state_dict_finds_its_lstm_under_its_prefix() -> None:
    model = Encoder()
    rnn = model.encoder.rnn
    result = lstm_shapes.inspect(model)
    (layer,) = result.layers
    assert layer.prefix == "encoder.rnn." and layer.framework == "pytorch"
    cfg = layer.config
    assert (cfg.cell, cfg.input, cfg.hidden, cfg.layers, cfg.bidirectional) == (
        "lstm", rnn.input_size, rnn.hidden_size, rnn.num_layers, rnn.bidirectional)
    assert layer.params == sum(p.numel() for p in rnn.parameters())
    # The rest by top-level prefix, and the parts add up to the whole.
    assert {(o.prefix, o.tensors, o.params) for o in result.other} == {("emb", 1, 4_000), ("fc", 2, 5_130)}
    assert result.total_params == sum(p.numel() for p in model.parameters())
    assert result.total_params == layer.params + sum(o.params for o in result.other)


def test_the_pytorch_constructor_line_builds_the_same_tensors() -> None:
    from lstm_shapes.render.inspection import constructors

    module = torch.nn.LSTM(40, 256, num_layers=2, bidirectional=True, proj_size=64)
    (layer,) = lstm_shapes.inspect(module).layers
    (line,) = constructors(layer.config)["PyTorch"]
    assert line == "nn.LSTM(40, 256, num_layers=2, bidirectional=True, proj_size=64)"
    built = eval(line, {"nn": torch.nn})  # the printed line, run
    assert {k: v.shape for k, v in built.state_dict().items()} == {k: v.shape for k, v in module.state_dict().items()}


def test_layers_of_their_own_sizes_in_a_module_list() -> None:
    class Stack(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = torch.nn.ModuleList([torch.nn.GRU(4, 8), torch.nn.GRU(8, 3)])
            self.head = torch.nn.Linear(3, 2)

    (layer,) = lstm_shapes.inspect(Stack()).layers
    assert (layer.config.cell, layer.config.hidden, layer.config.out) == ("gru", (8, 3), 2)


def test_custom_names_are_recognised_by_their_shapes(tmp_path: Path) -> None:
    # The example: enc_w_ih (768, 256), enc_w_hh (768, 256), enc_b_ih, enc_b_hh: 3h = 768 rows of
    # x = 256 and h = 256 columns, so a GRU with x = h = 256 in PyTorch's layout (an LSTM's 4h = 768 would
    # give h = 192, which weight_hh's 256 columns refute).
    gru = torch.nn.GRU(256, 256)
    arrays = {f"enc_{k.replace('weight', 'w').replace('bias', 'b').replace('_l0', '')}": v.detach().numpy()
              for k, v in gru.state_dict().items()}
    assert list(arrays) == ["enc_w_ih", "enc_w_hh", "enc_b_ih", "enc_b_hh"]
    (layer,) = lstm_shapes.inspect(arrays).layers
    assert layer.by_shapes and layer.prefix == "enc_"
    assert (layer.framework, layer.config.cell, layer.config.input, layer.config.hidden) == ("pytorch", "gru", 256, 256)
    assert {fw for fw, _ in layer.alternatives} >= {"pytorch-cell", "paddle"}  # the same layout, listed
    assert dict(layer.names)["weight_ih_l0"] == "enc_w_ih"


# paddle.nn.LSTM(3, 4, proj_size=2).state_dict() and paddle.nn.GRU(3, 4, direction="bidirect").state_dict() as
# paddlepaddle 3.3.1 lists them: the aliases nn.LSTM registers for cuDNN first, then the cells' own names.
PADDLE_LSTMP = {"weight_ih_l0": (16, 3), "weight_hh_l0": (16, 2), "bias_ih_l0": (16,), "bias_hh_l0": (16,),
                "0.cell.weight_ih": (16, 3), "0.cell.weight_hh": (16, 2), "0.cell.bias_ih": (16,),
                "0.cell.bias_hh": (16,), "0.cell.weight_ho": (4, 2)}
PADDLE_BIGRU = {**{f"{k}_l0{d}": s for d in ("", "_reverse") for k, s in (
    ("weight_ih", (12, 3)), ("weight_hh", (12, 4)), ("bias_ih", (12,)), ("bias_hh", (12,)))},
    **{f"0.cell_{d}.{k}": s for d in ("fw", "bw") for k, s in (
        ("weight_ih", (12, 3)), ("weight_hh", (12, 4)), ("bias_ih", (12,)), ("bias_hh", (12,)))}}


@pytest.mark.parametrize("state, sizes", [(PADDLE_LSTMP, ("lstm", 3, 4, 2, False)),
                                          (PADDLE_BIGRU, ("gru", 3, 4, None, True))], ids=["lstmp", "bigru"])
def test_a_paddle_state_dict_with_its_aliases_is_one_paddle_layer(state: dict[str, tuple[int, ...]],
                                                                  sizes: tuple[object, ...]) -> None:
    # The aliases are the same tensors again: neither a second layer (a PyTorch LSTM) nor a reason to find none.
    arrays = {name: np.zeros(shape, np.float32) for name, shape in state.items()}
    (layer,) = lstm_shapes.inspect(arrays).layers
    c = layer.config
    assert (layer.framework, layer.prefix, (c.cell, c.input, c.hidden, c.proj, c.bidirectional)) == ("paddle", "", sizes)
    assert {f for _, f in layer.names} == {n for n in state if ".cell" in n}
    assert set(layer.aliases) == {n for n in state if ".cell" not in n}


def test_a_keras_file_with_custom_layer_names(tmp_path: Path) -> None:
    keras = pytest.importorskip("keras", reason="keras is not installed")
    pytest.importorskip("h5py", reason="h5py is not installed")
    keras.backend.clear_session()  # Keras' own names from here: bidirectional/forward_gru/..., dense/...
    model = keras.Sequential([keras.Input((None, 5)), keras.layers.LSTM(8, return_sequences=True, name="encoder"),
                              keras.layers.Bidirectional(keras.layers.GRU(4)), keras.layers.Dense(3)])
    path = tmp_path / "m.keras"
    model.save(path)
    data = json.loads(run(str(path), "--format", "json").stdout)
    assert data["total_params"] == model.count_params()
    first, second = data["recurrent"]
    assert (first["prefix"], first["cell"], first["input"], first["hidden"]) == ("encoder", "lstm", 5, 8)
    # The file lists its layers, so the Dense after the GRU stays apart from it, as any other Dense would.
    assert (second["cell"], second["input"], second["hidden"], second["bidirectional"], second["out"]) == (
        "gru", 8, 4, True, None)
    assert [o["prefix"] for o in data["other"]] == ["dense"]
    assert sum(layer["params"] for layer in data["recurrent"]) + sum(o["params"] for o in data["other"]) == \
        model.count_params()
    for key in ("prefix", "framework", "cell", "input", "hidden", "layers", "bidirectional", "proj", "bias", "params",
                "trace"):
        assert key in first
    # The Keras line, run, builds the same shapes.
    line = first["constructors"]["Keras 3 / TF2"][0]
    layer = eval(line, {"keras": keras})
    layer.build((None, None, 5))
    assert [tuple(w.shape) for w in layer.weights] == [tuple(w.shape) for w in model.layers[0].weights]


def test_an_onnx_export_reads_each_node_and_its_reset_placement(tmp_path: Path) -> None:
    pytest.importorskip("onnx", reason="onnx is not installed")
    import warnings

    gru = torch.nn.GRU(5, 7, num_layers=2, bidirectional=True)
    path = tmp_path / "g.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(gru, (torch.zeros(3, 2, 5),), str(path), dynamo=False)
    data = json.loads(run(str(path), "--format", "json").stdout)
    layers = data["recurrent"]
    # One ONNX node per layer: the second reads both directions of the first (2·7 = 14).
    assert [(layer["input"], layer["hidden"], layer["bidirectional"]) for layer in layers] == [(5, 7, True), (14, 7, True)]
    # PyTorch exports linear_before_reset=1: the reset gate after the recurrent product, as torch computes it.
    assert all(layer["trace"]["reset_after"] is True for layer in layers)
    assert sum(layer["params"] for layer in layers) == sum(p.numel() for p in gru.parameters())


def test_the_command_reads_a_file_and_says_which_layer(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    np.savez(path, enc_w_ih=np.zeros((768, 256), np.float32), enc_w_hh=np.zeros((768, 256), np.float32),
             enc_b_ih=np.zeros(768, np.float32), enc_b_hh=np.zeros(768, np.float32))
    result = run(str(path))
    if result.returncode == 2 and "not a model file" in result.stderr:
        pytest.skip("no .npz reader in this build")
    assert result.returncode == 0, result.stderr
    assert "PyTorch GRU: x = 256, h = 256, reset after; 394,752 parameters" in result.stdout  # 3·(256·(256+256)+2·256)
    assert "Recognised by its shapes alone" in result.stdout
    assert "nn.GRU(256, 256)" in result.stdout


def test_bad_paths_and_prefixes_are_one_line_exit_2(tmp_path: Path) -> None:
    missing = run(str(tmp_path / "nope.pt"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no such file" in missing.stderr
    odd = tmp_path / "notes.txt"
    odd.write_text("hello")
    other = run(str(odd))
    assert other.returncode == 2 and "not a model file this tool reads" in other.stderr
    assert run().returncode == 2  # a path is required


def test_totals_reconcile_for_any_mapping() -> None:
    tensors = {w.name: w.shape for w in lstm_shapes.trace(3, (6, 4), out=2, framework="mlx").weights}
    tensors["extra.scale"] = (7,)
    result = lstm_shapes.inspect(tensors)
    assert result.total_params == sum(prod(s) for s in tensors.values())
    assert result.total_params == sum(layer.params for layer in result.layers) + sum(o.params for o in result.other)
    assert [(layer.framework, layer.config.hidden) for layer in result.layers] == [("mlx", (6, 4))]


def test_checking_against_what_the_user_meant_says_each_difference() -> None:
    from lstm_shapes.inspection import compare

    # The example: nn.LSTM(40, 256) checked against --hidden 128. weight_ih_l0 is (4h, x) = (1024, 40).
    (layer,) = lstm_shapes.inspect(torch.nn.LSTM(40, 256, num_layers=2)).layers
    assert compare(layer, {"hidden": 128}) == ("weight_ih_l0 is (1024, 40): 4h = 1024, so the file has h = 256; you said 128",)
    assert compare(layer, {"input": 32}) == ("weight_ih_l0 is (1024, 40), so the file has x = 40; you said 32",)
    assert compare(layer, {"bidirectional": True}) == ("the file's tensors say --bidirectional off; you said on",)
    assert compare(layer, {"hidden": 256, "input": 40, "layers": 2}) == ()
    assert compare(layer, {"hidden": (256, 128)}) == (
        "weight_ih_l1 is (1024, 256): 4h = 1024, so the file has h = 256 in layer 1; you said 128",)


def test_the_command_exits_1_on_a_difference(tmp_path: Path) -> None:
    keras = pytest.importorskip("keras", reason="keras is not installed")
    pytest.importorskip("h5py", reason="h5py is not installed")
    model = keras.Sequential([keras.Input((None, 5)), keras.layers.LSTM(8, name="encoder")])
    path = tmp_path / "m.keras"
    model.save(path)
    wrong = run(str(path), "--hidden", "16")
    assert wrong.returncode == 1
    assert "differs: encoder/lstm_cell/kernel is (5, 32): 4h = 32, so the file has h = 8; you said 16" in wrong.stdout
    right = run(str(path), "--hidden", "8", "--input", "5")
    assert right.returncode == 0 and "every option you gave matches" in right.stdout
    data = json.loads(run(str(path), "--hidden", "16", "--format", "json").stdout)
    assert data["recurrent"][0]["differences"] == ["encoder/lstm_cell/kernel is (5, 32): 4h = 32, so the file has h = 8; "
                                                   "you said 16"]


def test_a_keras_bidirectional_whose_names_keras_numbered_apart(tmp_path: Path) -> None:
    """`bidirectional_3/forward_gru_7/...`: the wrapper and its layer numbered apart, as in a long session; the
    file's own description of the layer still gives it."""
    keras = pytest.importorskip("keras", reason="keras is not installed")
    pytest.importorskip("h5py", reason="h5py is not installed")
    keras.backend.clear_session()
    for _ in range(3):
        keras.layers.GRU(2)  # uses up gru, gru_1, gru_2
    model = keras.Sequential([keras.Input((None, 5)), keras.layers.Bidirectional(keras.layers.GRU(4))])
    path = tmp_path / "m.keras"
    model.save(path)
    data = json.loads(run(str(path), "--format", "json").stdout)
    (layer,) = data["recurrent"]
    assert (layer["cell"], layer["input"], layer["hidden"], layer["bidirectional"]) == ("gru", 5, 4, True)
    assert layer["params"] == model.count_params()


# The committed files recorded from the real frameworks, and what their recorders built (tests/record/*.py):
# (cell, input, hidden, layers, bidirectional) per recurrent layer, in the file's order.
RECORDED = {
    # keras2_files.py functional(): LSTM(3) and LSTM(2) on x = 4, Bidirectional(GRU(2), merge_mode="sum") on 2,
    # SimpleRNN(2) on the TimeDistributed Dense(2)'s 2.
    "keras2_functional.h5": [("lstm", 4, 3, 1, False), ("lstm", 3, 2, 1, False), ("gru", 2, 2, 1, True),
                             ("rnn", 2, 2, 1, False)],
    # sequential(): LSTM(2, use_bias=False) on 3, Bidirectional(LSTM(3)) on 2, GRU(2, reset_after=False) on 6.
    "keras2_sequential.h5": [("lstm", 3, 2, 1, False), ("lstm", 2, 3, 1, True), ("gru", 6, 2, 1, False)],
    # flax_files.py MODELS.
    "flax_lstm.msgpack": [("lstm", 4, 3, 1, False)],
    "flax_gru.flax": [("gru", 4, 2, 1, False)],
    "flax_simple.msgpack": [("rnn", 2, 3, 1, False)],
    "flax_bidirectional.msgpack": [("lstm", 3, 2, 1, True)],
    "flax_stack.msgpack": [("gru", 4, 2, 2, True)],
    # A TrainState of flax_lstm's model with adam: the moments (opt_state/0/mu/..., nu/...) repeat the params'
    # names and shapes, and are the optimizer's, not two more layers.
    "flax_train_state.msgpack": [("lstm", 4, 3, 1, False)],
}


@pytest.mark.parametrize("name", RECORDED)
def test_the_recorded_real_files_hold_what_their_recorders_built(name: str) -> None:
    path = Path(__file__).parent / "files" / name
    data = json.loads(run(str(path), "--format", "json").stdout)
    found = [(layer["cell"], layer["input"], layer["hidden"], layer["layers"], layer["bidirectional"])
             for layer in data["recurrent"]]
    assert found == RECORDED[name]
    assert data["total_params"] == sum(layer["params"] for layer in data["recurrent"]) + sum(o["params"] for o in data["other"])
    if name == "keras2_functional.h5":  # the file's config says how Bidirectional merges; the tensors cannot
        assert [layer["trace"]["merge_mode"] for layer in data["recurrent"]] == [None, None, "sum", None]
    if name == "flax_train_state.msgpack":
        assert [o["prefix"] for o in data["other"]] == ["opt_state"]
    if name == "keras2_sequential.h5":
        assert [layer["bias"] for layer in data["recurrent"]] == [False, True, True]
        assert data["recurrent"][2]["trace"]["reset_after"] is False


CONTROL_FLOW = '''
import sys, warnings
import torch
warnings.filterwarnings("ignore")


class M(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = torch.nn.GRU(5, 7)
        self.lstm = torch.nn.LSTM(5, 3)

    def forward(self, x: torch.Tensor, n: int):
        out = torch.zeros(x.shape[0], x.shape[1], 7)
        for _ in range(n):  # an ONNX Loop with the GRU in its body
            out, _h = self.rnn(x)
        if bool(x.sum() > 0):  # an ONNX If with the LSTM in its then-branch
            y, _s = self.lstm(x)
        else:
            y = x[:, :, :3]
        return out, y


torch.onnx.export(torch.jit.script(M()), (torch.zeros(3, 2, 5), 2), sys.argv[1], dynamo=False, input_names=["x", "n"])
'''


def test_an_onnx_export_with_loop_and_if_finds_the_layers_inside(tmp_path: Path) -> None:
    pytest.importorskip("onnx", reason="onnx is not installed")
    script, path = tmp_path / "export.py", tmp_path / "control_flow.onnx"
    script.write_text(CONTROL_FLOW)  # torch.jit.script reads the module's source from a file
    done = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"torch could not export a scripted model here: {done.stderr.strip().splitlines()[-1:]}")
    import onnx

    assert {node.op_type for node in onnx.load(str(path)).graph.node} >= {"Loop", "If"}
    data = inspect_json_of(path)
    found = sorted((layer["cell"], layer["input"], layer["hidden"], layer["params"]) for layer in data["recurrent"])
    # nn.GRU(5, 7): 3·(7·(5+7) + 2·7) = 294; nn.LSTM(5, 3): 4·(3·(5+3) + 2·3) = 120.
    assert found == [("gru", 5, 7, 294), ("lstm", 5, 3, 120)]
    assert all("Loop" in layer["prefix"] or "If" in layer["prefix"] for layer in data["recurrent"])
    assert data["total_params"] == 294 + 120


def inspect_json_of(path: Path) -> dict[str, object]:
    done = run(str(path), "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]
