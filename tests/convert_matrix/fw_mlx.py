"""MLX's nn.LSTM / GRU / RNN, a bare layer or a model's list `layers`, for the conversion matrix (venv with mlx).

The natural export is `model.save_weights("x.safetensors")`; a converted file is loaded with
`model.load_weights(..., strict=True)`.
"""

from __future__ import annotations

from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import numpy as np
from mlx.utils import tree_flatten, tree_unflatten

from matrix import outputs, random_like

from lstm_shapes.config import Config

FRAMEWORKS = ("mlx",)
LAYERS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class Stack(nn.Module):
    def __init__(self, config: Config) -> None:
        super().__init__()
        self.layers = [LAYERS[config.cell](config.layer_input(k), config.layer_hidden(k)) for k in range(config.layers)]

    def __call__(self, x: mx.array) -> tuple[mx.array, mx.array | None]:
        cell = None
        for layer in self.layers:
            got = layer(x)
            x, cell = got if isinstance(got, tuple) else (got, None)
        return x, cell


def model(config: Config) -> nn.Module:
    """The bare layer when there is one (its tensors `Wx`, `Wh`, `bias`), else the list `layers`."""
    return LAYERS[config.cell](config.input, config.hidden) if config.layers == 1 else Stack(config)


def forward(config: Config, net: nn.Module, x: np.ndarray) -> dict[str, np.ndarray]:
    got = net(mx.array(x))
    y, c = got if isinstance(got, tuple) else (got, None)
    y = np.array(y)
    return outputs(y, y[None, :, -1], None if c is None else np.array(c)[None, :, -1])


def make(framework: str, config: Config, path: Path, rng: np.random.Generator, x: np.ndarray) -> dict[str, np.ndarray]:
    net = model(config)
    params = [(name, mx.array(random_like(rng, tuple(p.shape)))) for name, p in tree_flatten(net.parameters())]
    net.update(tree_unflatten(params))
    net.save_weights(str(path))
    return forward(config, net, x)


def run(framework: str, config: Config, path: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    net = model(config)
    net.load_weights(list(mx.load(str(path)).items()), strict=True)
    return forward(config, net, x)
