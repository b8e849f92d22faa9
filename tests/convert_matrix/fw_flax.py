"""Flax linen's LSTMCell / GRUCell / SimpleCell under nn.RNN and nn.Bidirectional, for the conversion matrix.

The model is the one the tool names: one layer is a bare `nn.RNN(cell)` (or `nn.Bidirectional`), a stack a
Module holding `self.layers`. The natural export is `flax.serialization.to_bytes(variables)`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import flax.linen as nn  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from flax import serialization, traverse_util  # noqa: E402

from matrix import outputs, random_like  # noqa: E402

from lstm_shapes.config import Config  # noqa: E402

FRAMEWORKS = ("flax",)
CELLS = {"lstm": nn.LSTMCell, "gru": nn.GRUCell, "rnn": nn.SimpleCell}


def model(config: Config) -> nn.Module:
    def layer(size: int) -> nn.Module:
        def rnn() -> nn.Module:
            return nn.RNN(CELLS[config.cell](size), return_carry=True)
        return nn.Bidirectional(rnn(), rnn(), return_carry=True) if config.bidirectional else rnn()

    if config.layers == 1:
        return layer(config.hidden)

    class Stack(nn.Module):
        def setup(self) -> None:
            self.layers = [layer(config.layer_hidden(k)) for k in range(config.layers)]

        def __call__(self, x: Any) -> Any:
            for module in self.layers:
                carry, x = module(x)
            return carry, x

    return Stack()


def forward(config: Config, net: nn.Module, variables: Any, x: np.ndarray) -> dict[str, np.ndarray]:
    carry, y = net.apply(variables, jnp.asarray(x))
    carries = carry if config.bidirectional else (carry,)
    if config.cell == "lstm":  # LSTMCell's carry is (c, h)
        return outputs(np.asarray(y), np.stack([np.asarray(c[1]) for c in carries]),
                       np.stack([np.asarray(c[0]) for c in carries]))
    return outputs(np.asarray(y), np.stack([np.asarray(c) for c in carries]))


def initial(config: Config, net: nn.Module, x: np.ndarray) -> Any:
    return net.init(jax.random.key(0), jnp.asarray(x))


def make(framework: str, config: Config, path: Path, rng: np.random.Generator, x: np.ndarray) -> dict[str, np.ndarray]:
    net = model(config)
    variables = jax.tree_util.tree_map(lambda a: jnp.asarray(random_like(rng, a.shape)), initial(config, net, x))
    path.write_bytes(serialization.to_bytes(variables))
    return forward(config, net, variables, x)


def run(framework: str, config: Config, path: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    net = model(config)
    variables = initial(config, net, x)
    if path.suffix == ".msgpack":  # flax's own reader, against the model's tree: keys must match
        data = path.read_bytes()
        restored = serialization.msgpack_restore(data)
        loaded = serialization.from_bytes(variables if "params" in restored else variables["params"], data)
        loaded = loaded if "params" in restored else {"params": loaded}
    else:
        with np.load(path) as npz:
            flat = {tuple(name.split("/")): jnp.asarray(npz[name]) for name in npz.files}
        wanted = traverse_util.flatten_dict(variables["params"])
        if set(flat) != set(wanted):
            raise ValueError(f"names differ: file only {sorted(set(flat) - set(wanted))}, "
                             f"model only {sorted(set(wanted) - set(flat))}")
        loaded = {"params": traverse_util.unflatten_dict(flat)}
    got = traverse_util.flatten_dict(loaded["params"])
    for key, a in traverse_util.flatten_dict(variables["params"]).items():
        if tuple(got[key].shape) != tuple(a.shape):
            raise ValueError(f"{'/'.join(key)}: file {tuple(got[key].shape)}, model {tuple(a.shape)}")
    return forward(config, net, loaded, x)
