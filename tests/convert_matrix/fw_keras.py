"""Keras 3's LSTM / GRU / SimpleRNN, Bidirectional, for the conversion matrix (main venv, KERAS_BACKEND=torch)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from matrix import outputs, random_like  # noqa: E402

from lstm_shapes.config import Config  # noqa: E402

FRAMEWORKS = ("keras",)
LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "rnn": keras.layers.SimpleRNN}


def model(config: Config) -> keras.Model:
    """The layers as the tool's constructor lines say, named as a fresh session names them."""
    keras.backend.clear_session()  # layer names count from lstm, lstm_1 again
    inputs = keras.Input((None, config.input))
    z = inputs
    for k in range(config.layers):
        top = k == config.layers - 1
        extra = {"reset_after": config.reset_after} if config.cell == "gru" else {}
        layer = LAYERS[config.cell](config.layer_hidden(k), return_sequences=True, return_state=top, **extra)
        z = (keras.layers.Bidirectional(layer) if config.bidirectional else layer)(z)
    return keras.Model(inputs, z)


def forward(config: Config, net: keras.Model, x: np.ndarray) -> dict[str, np.ndarray]:
    seq, *states = [keras.ops.convert_to_numpy(t) for t in net(x)]
    per = 2 if config.cell == "lstm" else 1  # each direction's h (and c)
    hs = [states[d * per] for d in range(config.directions)]
    cs = [states[d * per + 1] for d in range(config.directions)] if per == 2 else None
    return outputs(seq, np.stack(hs), None if cs is None else np.stack(cs))


def make(framework: str, config: Config, path: Path, rng: np.random.Generator, x: np.ndarray) -> dict[str, np.ndarray]:
    net = model(config)
    for v in net.weights:
        v.assign(random_like(rng, tuple(v.shape)))
    net.save_weights(str(path))
    return forward(config, net, x)


def run(framework: str, config: Config, path: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    net = model(config)
    if path.name.endswith(".weights.h5"):
        net.load_weights(str(path))
    else:  # tensors by variable path, every one of them and no other
        from safetensors.numpy import load_file

        arrays = load_file(str(path))
        paths = {v.path: v for v in net.weights}
        if set(arrays) != set(paths):
            raise ValueError(f"names differ: file only {sorted(set(arrays) - set(paths))}, "
                             f"model only {sorted(set(paths) - set(arrays))}")
        for name, v in paths.items():
            if tuple(v.shape) != arrays[name].shape:
                raise ValueError(f"{name}: file {arrays[name].shape}, model {tuple(v.shape)}")
            v.assign(arrays[name])
    return forward(config, net, x)
