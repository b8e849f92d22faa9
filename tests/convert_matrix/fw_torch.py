"""PyTorch's nn.LSTM / nn.GRU / nn.RNN and its cells, for the conversion matrix (main venv)."""

from __future__ import annotations

from pathlib import Path
import numpy as np
import torch

from matrix import B, outputs, random_like

from lstm_shapes.config import Config

FRAMEWORKS = ("pytorch", "pytorch-cell")
LAYERS = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}
CELLS = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell, "rnn": torch.nn.RNNCell}


def model(framework: str, config: Config) -> torch.nn.Module:
    if framework == "pytorch-cell":
        return CELLS[config.cell](config.input, config.hidden)
    extra = {"proj_size": config.proj} if config.proj else {}
    return LAYERS[config.cell](config.input, config.hidden, num_layers=config.layers, batch_first=True,
                               bidirectional=config.bidirectional, **extra)


@torch.no_grad()
def forward(framework: str, config: Config, net: torch.nn.Module, x: np.ndarray) -> dict[str, np.ndarray]:
    xs = torch.from_numpy(x)
    if framework == "pytorch-cell":  # the loop a user writes around a cell
        h = torch.zeros(B, config.hidden)
        c = torch.zeros(B, config.hidden)
        seq = []
        for t in range(xs.shape[1]):
            if config.cell == "lstm":
                h, c = net(xs[:, t], (h, c))
            else:
                h = net(xs[:, t], h)
            seq.append(h)
        return outputs(torch.stack(seq, 1).numpy(), h[None].numpy(), c[None].numpy() if config.cell == "lstm" else None)
    y, state = net(xs)
    d = config.directions
    if config.cell == "lstm":
        h_n, c_n = state
        return outputs(y.numpy(), h_n[-d:].numpy(), c_n[-d:].numpy())
    return outputs(y.numpy(), state[-d:].numpy())


def make(framework: str, config: Config, path: Path, rng: np.random.Generator, x: np.ndarray) -> dict[str, np.ndarray]:
    net = model(framework, config)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.from_numpy(random_like(rng, tuple(p.shape))))
    torch.save(net.state_dict(), path)
    return forward(framework, config, net, x)


def run(framework: str, config: Config, path: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    from safetensors.torch import load_file

    net = model(framework, config)
    net.load_state_dict(load_file(str(path)), strict=True)
    return forward(framework, config, net, x)
