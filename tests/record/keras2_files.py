"""Save small legacy tf.keras 2 `.h5` files into tests/files/ with the live model's names, shapes and values.

Run by hand in a venv with tensorflow and tf-keras (not a test): `TF_USE_LEGACY_KERAS=1 python
tests/record/keras2_files.py`. tests/test_files_keras.py reads the files back and checks them against keras2.json.
"""

from __future__ import annotations

import json
import os
import sys
from importlib.metadata import version
from pathlib import Path

# Not this folder first: its tf_keras.py would hide the tf_keras package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import numpy as np  # noqa: E402
import tf_keras as keras  # noqa: E402

FILES = Path(__file__).resolve().parents[1] / "files"
L = keras.layers


def functional() -> keras.Model:
    """A nested Sequential, Bidirectional GRU (sum), TimeDistributed Dense, SimpleRNN and a Dense head."""
    inner = keras.Sequential([L.LSTM(3, return_sequences=True, input_shape=(5, 4)), L.LSTM(2, return_sequences=True)],
                             name="enc")
    inp = keras.Input((5, 4))
    x = L.Bidirectional(L.GRU(2, return_sequences=True), merge_mode="sum")(inner(inp))
    x = L.TimeDistributed(L.Dense(2))(x)
    return keras.Model(inp, L.Dense(1)(L.SimpleRNN(2)(x)))


def sequential() -> keras.Model:
    """LSTM without bias, Bidirectional LSTM (concat), GRU(reset_after=False), a Dense head."""
    return keras.Sequential([
        keras.Input((6, 3)),
        L.LSTM(2, use_bias=False, return_sequences=True),
        L.Bidirectional(L.LSTM(3, return_sequences=True)),
        L.GRU(2, reset_after=False),
        L.Dense(1),
    ])


def truth(model: keras.Model) -> dict[str, object]:
    return {
        "tensors": [{"name": w.name, "shape": list(w.shape), "dtype": w.dtype.name if hasattr(w.dtype, "name")
                     else str(w.dtype), "values": np.asarray(w.numpy(), np.float32).ravel().tolist()}
                    for w in model.weights],
        "layers": [{"name": layer.name, "class_name": type(layer).__name__, "tensors": [w.name for w in layer.weights]}
                   for layer in model.layers],
    }


def main() -> None:
    FILES.mkdir(exist_ok=True)
    data: dict[str, object] = {"recorded_with": f"tf-keras {version('tf-keras')}, tensorflow {version('tensorflow')}"}
    rng = np.random.default_rng(11)
    for stem, make in (("keras2_functional", functional), ("keras2_sequential", sequential)):
        model = make()
        # Every value drawn at random: zero biases would make tensors alike and hide a swapped name.
        model.set_weights([rng.uniform(-1, 1, w.shape).astype(np.float32) for w in model.get_weights()])
        model.save(FILES / f"{stem}.h5")
        model.save_weights(FILES / f"{stem}.weights.h5")
        data[stem] = truth(model)
    path = FILES / "keras2.json"
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(path, sorted(p.name for p in FILES.glob("keras2*")))


if __name__ == "__main__":
    main()
