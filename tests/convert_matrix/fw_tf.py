"""TF1's rnn_cell in a tf.compat.v1 graph and tf.keras 2 (tf_keras), for the conversion matrix (venv with tensorflow).

TF1's natural export is its variables by name (`rnn/lstm_cell/kernel`), here an .npz; tf.keras 2's is
`model.save_weights("x.h5")`, the legacy h5 with each layer's weight_names.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tf.compat.v1.nn.rnn_cell lives in tf_keras from TF 2.16 on

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

from matrix import outputs, random_like  # noqa: E402

from lstm_shapes.config import Config  # noqa: E402

FRAMEWORKS = ("tf1", "tf-keras")
v1 = tf.compat.v1
tf.get_logger().setLevel("ERROR")  # the deprecation notices of every rnn_cell, once per graph


# --- TF1 ------------------------------------------------------------------------------------------


def _cell(config: Config, k: int):  # type: ignore[no-untyped-def]
    rnn, h = v1.nn.rnn_cell, config.layer_hidden(k)
    if config.cell == "lstm":
        return rnn.LSTMCell(h, use_peepholes=config.peepholes, num_proj=config.proj)  # forget_bias=1.0, its default
    return rnn.GRUCell(h) if config.cell == "gru" else rnn.BasicRNNCell(h)


def _stack(config: Config):  # type: ignore[no-untyped-def]
    cells = [_cell(config, k) for k in range(config.layers)]
    return cells[0] if len(cells) == 1 else v1.nn.rnn_cell.MultiRNNCell(cells)


def _tf1_graph(config: Config, x):  # type: ignore[no-untyped-def]
    """The top layer's outputs and each direction's final (h, c) of the top layer."""
    if config.bidirectional:
        (fw, bw), states = v1.nn.bidirectional_dynamic_rnn(_stack(config), _stack(config), x, dtype=tf.float32)
        y = tf.concat([fw, bw], 2)
    else:
        y, state = v1.nn.dynamic_rnn(_stack(config), x, dtype=tf.float32)
        states = (state,)
    tops = [s[-1] if config.layers > 1 else s for s in states]
    if config.cell == "lstm":
        return y, tf.stack([s.h for s in tops]), tf.stack([s.c for s in tops])
    return y, tf.stack(tops), None


def _tf1_run(config: Config, x: np.ndarray, values: dict[str, np.ndarray] | None,
             rng: np.random.Generator | None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    graph = tf.Graph()
    with graph.as_default():
        inp = v1.placeholder(tf.float32, x.shape)
        y, h, c = _tf1_graph(config, inp)
        variables = {v.op.name: v for v in v1.global_variables()}
        if values is None:
            values = {name: random_like(rng, tuple(v.shape)) for name, v in variables.items()}
        elif set(values) != set(variables):
            raise ValueError(f"names differ: file only {sorted(set(values) - set(variables))}, "
                             f"graph only {sorted(set(variables) - set(values))}")
        with v1.Session(graph=graph) as sess:
            for name, v in variables.items():
                if tuple(v.shape) != values[name].shape:
                    raise ValueError(f"{name}: file {values[name].shape}, graph {tuple(v.shape)}")
                v.load(values[name], sess)
            got = sess.run({"y": y, "h": h, **({"c": c} if c is not None else {})}, {inp: x})
    return values, outputs(got["y"], got["h"], got.get("c"))


# --- tf.keras 2 -----------------------------------------------------------------------------------


def _keras_model(config: Config) -> tf_keras.Model:
    tf_keras.backend.clear_session()  # layer names count from lstm, lstm_1 again
    L = tf_keras.layers
    layers = {"lstm": L.LSTM, "gru": L.GRU, "rnn": L.SimpleRNN}
    inputs = tf_keras.Input((None, config.input))
    z = inputs
    for k in range(config.layers):
        extra = {"reset_after": config.reset_after} if config.cell == "gru" else {}
        layer = layers[config.cell](config.layer_hidden(k), return_sequences=True,
                                    return_state=k == config.layers - 1, **extra)
        z = (L.Bidirectional(layer) if config.bidirectional else layer)(z)
    return tf_keras.Model(inputs, z)


def _keras_forward(config: Config, net: tf_keras.Model, x: np.ndarray) -> dict[str, np.ndarray]:
    seq, *states = [np.asarray(t) for t in net(x)]
    per = 2 if config.cell == "lstm" else 1
    hs = np.stack([states[d * per] for d in range(config.directions)])
    cs = np.stack([states[d * per + 1] for d in range(config.directions)]) if per == 2 else None
    return outputs(seq, hs, cs)


# --- the stage entry points -----------------------------------------------------------------------


def make(framework: str, config: Config, path: Path, rng: np.random.Generator, x: np.ndarray) -> dict[str, np.ndarray]:
    if framework == "tf1":
        values, got = _tf1_run(config, x, None, rng)
        np.savez(path, **values)
        return got
    net = _keras_model(config)
    net.set_weights([random_like(rng, tuple(w.shape)) for w in net.get_weights()])
    net.save_weights(str(path))
    return _keras_forward(config, net, x)


def run(framework: str, config: Config, path: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    if framework == "tf1":
        with np.load(path) as data:
            values = {name: data[name] for name in data.files}
        return _tf1_run(config, x, values, None)[1]
    net = _keras_model(config)
    if path.suffix == ".h5":
        net.load_weights(str(path))
    else:  # tensors by variable name (`lstm/lstm_cell/kernel:0`), every one of them and no other
        with np.load(path) as data:
            values = {name: data[name] for name in data.files}
        names = {w.name: w for w in net.weights}
        if set(values) != set(names):
            raise ValueError(f"names differ: file only {sorted(set(values) - set(names))}, "
                             f"model only {sorted(set(names) - set(values))}")
        for name, w in names.items():
            if tuple(w.shape) != values[name].shape:
                raise ValueError(f"{name}: file {values[name].shape}, model {tuple(w.shape)}")
            w.assign(values[name])
    return _keras_forward(config, net, x)
