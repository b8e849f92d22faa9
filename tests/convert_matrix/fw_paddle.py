"""Paddle's nn.LSTM / GRU / SimpleRNN, for the conversion matrix (venv with paddlepaddle).

The natural export is the state_dict, here as safetensors: the cells' names and the aliases
(`weight_ih_l0`) Paddle lists beside them, as `layer.state_dict()` gives them.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import paddle
from safetensors.numpy import load_file, save_file

from matrix import outputs, random_like

from lstm_shapes.config import Config

FRAMEWORKS = ("paddle",)
LAYERS = {"lstm": paddle.nn.LSTM, "gru": paddle.nn.GRU, "rnn": paddle.nn.SimpleRNN}


def model(config: Config) -> paddle.nn.Layer:
    extra = {"proj_size": config.proj} if config.proj else {}
    return LAYERS[config.cell](config.input, config.hidden, num_layers=config.layers,
                               direction="bidirect" if config.bidirectional else "forward", **extra)


def forward(config: Config, net: paddle.nn.Layer, x: np.ndarray) -> dict[str, np.ndarray]:
    with paddle.no_grad():
        y, state = net(paddle.to_tensor(x))
    d = config.directions
    if config.cell == "lstm":
        return outputs(y.numpy(), state[0].numpy()[-d:], state[1].numpy()[-d:])
    return outputs(y.numpy(), state.numpy()[-d:])


def make(framework: str, config: Config, path: Path, rng: np.random.Generator, x: np.ndarray) -> dict[str, np.ndarray]:
    net = model(config)
    for p in net.parameters():
        p.set_value(random_like(rng, tuple(p.shape)))
    save_file({name: np.ascontiguousarray(t.numpy()) for name, t in net.state_dict().items()}, str(path))
    return forward(config, net, x)


def run(framework: str, config: Config, path: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every parameter set from the file under one of its state_dict names, and no name the model lacks."""
    net = model(config)
    arrays = load_file(str(path))
    state = net.state_dict()
    unexpected = sorted(set(arrays) - set(state))
    if unexpected:
        raise ValueError(f"names the model does not have: {unexpected}")
    for name, value in arrays.items():
        if tuple(state[name].shape) != value.shape:
            raise ValueError(f"{name}: file {value.shape}, model {tuple(state[name].shape)}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state[name].set_value(value)
    missing = [n for n, p in net.named_parameters() if not any(p is state[k] for k in arrays)]
    if missing:
        raise ValueError(f"parameters the file does not set: {missing}")
    return forward(config, net, x)
