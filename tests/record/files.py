"""Record the small model files in tests/files/ and what torch says they hold: `python tests/record/files.py` (not a test).

Each file is written by the real library (torch.save, torch.jit.save, safetensors, numpy.savez) from a
seeded torch module; tests/files/recorded.json lists, per file, every tensor's name, shape, dtype and
values as the live object gives them (state_dict(), the arrays saved), and for pickles the globals
torch.load(weights_only=True) would refuse, found with pickletools (not with lstm_shapes). The tests
then check the readers against these without needing torch.
"""

from __future__ import annotations

import _compat_pickle
import json
import pickletools
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file
from torch._weights_only_unpickler import _get_allowed_globals

OUT = Path(__file__).resolve().parents[1] / "files"


class Net(torch.nn.Module):
    """An LSTM with a projection, a norm and a head; buffers persistent and not, a plain tensor and a tied weight."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = torch.nn.LSTM(3, 4, proj_size=2, num_layers=2, bidirectional=True)
        self.norm = torch.nn.BatchNorm1d(4)  # parameters, then buffers: state_dict() orders them so
        self.head = torch.nn.Linear(4, 3)
        self.tied = torch.nn.Linear(4, 3, bias=False)
        self.tied.weight = self.head.weight  # state_dict() lists a shared parameter under both names
        self.register_buffer("steps", torch.tensor([7, 9]))
        self.register_buffer("scratch", torch.zeros(2), persistent=False)
        self.plain = torch.ones(3)  # an attribute, not state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        out = self.norm(out.transpose(1, 2)).transpose(1, 2)
        return self.head(out) + self.tied(out) + self.steps.sum()


def listed(tensors: dict[str, Any]) -> list[dict[str, Any]]:
    """Each tensor's name, shape, dtype and values (as floats or ints), in the object's order."""
    rows = []
    for name, value in tensors.items():
        if isinstance(value, torch.Tensor):
            dtype = str(value.dtype).removeprefix("torch.")
            flat = (value.float() if value.dtype == torch.bfloat16 else value).detach().reshape(-1).tolist()
        else:
            dtype, flat = value.dtype.name, value.reshape(-1).tolist()
        rows.append({"name": name, "shape": list(value.shape), "dtype": dtype, "values": flat})
    return rows


def flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """The tensors of nested dicts and lists, keys joined with dots (how a checkpoint's tensors are named)."""
    if isinstance(value, torch.Tensor):
        return {prefix: value}
    found: dict[str, Any] = {}
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, (list, tuple)) else []
    for key, item in items:
        found.update(flat(item, f"{prefix}.{key}" if prefix else str(key)))
    return found


def refused_globals(path: Path) -> list[str]:
    """The globals of the file's data.pkl that torch.load(weights_only=True) does not allow, in order."""
    with zipfile.ZipFile(path) as archive:
        data = archive.read(next(n for n in archive.namelist() if n.endswith("/data.pkl")))
    allowed = _get_allowed_globals()
    found: list[str] = []
    for opcode, arg, _ in pickletools.genops(data):
        if opcode.name == "GLOBAL":
            module, name = arg.split(" ")
            module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
            qualified = f"{_compat_pickle.IMPORT_MAPPING.get(module, module)}.{name}"
            if qualified not in allowed and qualified not in found:
                found.append(qualified)
    return found


def dumped(record: dict[str, Any]) -> str:
    """The record as JSON with one line per tensor, so that a diff shows which tensor changed."""
    files = []
    for name, entry in record.items():
        rows = ",\n   ".join(json.dumps(row) for row in entry["tensors"])
        head = "".join(f"{json.dumps(k)}: {json.dumps(v)}, " for k, v in entry.items() if k != "tensors")
        files.append(f" {json.dumps(name)}: {{{head}\"tensors\": [\n   {rows}]}}")
    return "{\n" + ",\n".join(files) + "\n}\n"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    torch.manual_seed(0)
    net = Net()
    gru = torch.nn.GRU(3, 2).to(torch.bfloat16)
    rnn = torch.nn.RNN(2, 3, nonlinearity="relu")
    optimizer = torch.optim.Adam(rnn.parameters())
    rnn(torch.randn(4, 1, 2))[0].sum().backward()
    optimizer.step()
    checkpoint = {"model": rnn.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3}
    lstm_state = torch.nn.LSTM(2, 3, bias=False).state_dict()
    record: dict[str, Any] = {}

    def keep(name: str, tensors: dict[str, Any], **extra: Any) -> None:
        record[name] = {"tensors": listed(tensors), **extra}

    torch.save(net.state_dict(), OUT / "torch_state_dict.pt")
    keep("torch_state_dict.pt", net.state_dict())
    torch.save(gru.state_dict(), OUT / "torch_gru_bf16.pth")
    keep("torch_gru_bf16.pth", gru.state_dict())
    torch.save(checkpoint, OUT / "torch_checkpoint.ckpt")
    keep("torch_checkpoint.ckpt", flat(checkpoint))
    torch.save(net, OUT / "torch_whole_module.pt")
    keep("torch_whole_module.pt", net.state_dict(), refused=refused_globals(OUT / "torch_whole_module.pt"))
    torch.save(lstm_state, OUT / "torch_legacy.pt", _use_new_zipfile_serialization=False)
    keep("torch_legacy.pt", lstm_state)
    scripted = torch.jit.script(net)
    scripted.save(str(OUT / "torch_script.jit"))
    keep("torch_script.jit", torch.jit.load(str(OUT / "torch_script.jit")).state_dict())

    save_file({k: v.contiguous() for k, v in gru.state_dict().items()}, str(OUT / "safetensors_gru_bf16.safetensors"))
    keep("safetensors_gru_bf16.safetensors", gru.state_dict())
    shards = {"sharded-00001-of-00002.safetensors": ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0"],
              "sharded-00002-of-00002.safetensors": ["rnn.bias_hh_l0", "head.weight", "head.bias"]}
    state = {n: net.state_dict()[n] for names in shards.values() for n in names}
    for shard, names in shards.items():
        save_file({n: state[n].contiguous() for n in names}, str(OUT / shard))
    weight_map = {n: shard for shard, names in shards.items() for n in names}
    index = {"metadata": {"total_size": sum(v.numel() * v.element_size() for v in state.values())},
             "weight_map": dict(sorted(weight_map.items()))}  # sorted, as Hugging Face writes it
    (OUT / "sharded.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    keep("sharded.safetensors.index.json", {n: state[n] for n in index["weight_map"]})

    arrays = {k: v.numpy() for k, v in lstm_state.items()}
    np.savez(OUT / "numpy_lstm.npz", **arrays)
    keep("numpy_lstm.npz", arrays)
    np.save(OUT / "numpy_weight.npy", arrays["weight_ih_l0"])
    keep("numpy_weight.npy", {"numpy_weight": arrays["weight_ih_l0"]})

    (OUT / "recorded.json").write_text(dumped(record), encoding="utf-8")
    print(f"wrote {len(record)} files and recorded.json to {OUT}")


if __name__ == "__main__":
    main()
