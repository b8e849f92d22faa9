"""Haiku's hk.LSTM / hk.GRU / hk.VanillaRNN under hk.dynamic_unroll (hk.DeepRNN for a stack), for the matrix.

The natural export is the params dict flattened to `module/param` names, here an .npz.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import haiku as hk  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from matrix import outputs, random_like  # noqa: E402

from lstm_shapes.config import Config  # noqa: E402

FRAMEWORKS = ("haiku",)
CORES = {"lstm": hk.LSTM, "gru": hk.GRU, "rnn": hk.VanillaRNN}


def model(config: Config) -> Any:
    def forward(x: Any) -> Any:
        cores = [CORES[config.cell](config.layer_hidden(k)) for k in range(config.layers)]
        core = cores[0] if len(cores) == 1 else hk.DeepRNN(cores)
        return hk.dynamic_unroll(core, x, core.initial_state(x.shape[0]), time_major=False)

    return hk.transform(forward)


def forward(config: Config, params: dict[str, np.ndarray], x: np.ndarray) -> dict[str, np.ndarray]:
    tree: dict[str, dict[str, Any]] = {}
    for name, a in params.items():
        module, param = name.rsplit("/", 1)
        tree.setdefault(module, {})[param] = jnp.asarray(a)
    y, state = model(config).apply(tree, None, jnp.asarray(x))
    top = state[-1] if config.layers > 1 else state
    if config.cell == "lstm":
        return outputs(np.asarray(y), np.asarray(top.hidden)[None], np.asarray(top.cell)[None])
    return outputs(np.asarray(y), np.asarray(top)[None])


def names(config: Config, x: np.ndarray) -> dict[str, tuple[int, ...]]:
    params = model(config).init(jax.random.key(0), jnp.asarray(x))
    return {f"{module}/{name}": tuple(a.shape) for module, tensors in params.items() for name, a in tensors.items()}


def make(framework: str, config: Config, path: Path, rng: np.random.Generator, x: np.ndarray) -> dict[str, np.ndarray]:
    params = {name: random_like(rng, shape) for name, shape in names(config, x).items()}
    np.savez(path, **params)
    return forward(config, params, x)


def run(framework: str, config: Config, path: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        params = {name: data[name] for name in data.files}
    wanted = names(config, x)
    if set(params) != set(wanted):
        raise ValueError(f"names differ: file only {sorted(set(params) - set(wanted))}, "
                         f"model only {sorted(set(wanted) - set(params))}")
    for name, shape in wanted.items():
        if params[name].shape != shape:
            raise ValueError(f"{name}: file {params[name].shape}, model {shape}")
    return forward(config, params, x)
