"""Record tests/files/errors/*.txt: real error messages from torch, keras 3 and tf_keras (run by hand, not a test).

`python tests/record/errors.py` in an environment with torch and keras 3 (KERAS_BACKEND=torch) records those;
run again with tf_keras installed to record tf.keras 2's wordings. Each file is str(exception), exactly.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

# This folder holds recorders named like the libraries (tf_keras.py): not what `import tf_keras` means here.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
OUT = Path(__file__).resolve().parents[1] / "files" / "errors"


def record(name: str, action: Callable[[], Any]) -> None:
    try:
        action()
    except Exception as exc:  # noqa: BLE001  # whatever the framework raises is the record
        (OUT / f"{name}.txt").write_text(str(exc), encoding="utf-8")
        print(f"{name}: {type(exc).__name__}")
        return
    raise SystemExit(f"{name}: no error raised")


def torch_cases() -> None:
    import torch
    from torch import nn

    torch.manual_seed(0)
    zeros = torch.zeros

    class Encoder(nn.Module):
        def __init__(self, kind: type, x: int, h: int, **kw: Any) -> None:
            super().__init__()
            self.rnn = kind(x, h, **kw)

    class Model(nn.Module):
        def __init__(self, kind: type, x: int, h: int, out: int = 10, **kw: Any) -> None:
            super().__init__()
            self.encoder = Encoder(kind, x, h, **kw)
            width = (kw.get("proj_size") or h) * (2 if kw.get("bidirectional") else 1)
            self.head = nn.Linear(width, out)

    def load(model: nn.Module, source: nn.Module) -> Callable[[], Any]:
        return lambda: model.load_state_dict(source.state_dict())

    LSTM, GRU, RNN = nn.LSTM, nn.GRU, nn.RNN
    # load_state_dict: a checkpoint made with other settings than the model it is loaded into.
    record("torch_lstm_hidden", load(Model(LSTM, 40, 128), Model(LSTM, 40, 256)))
    record("torch_gru_input", load(Model(GRU, 40, 64), Model(GRU, 13, 64)))
    record("torch_rnn_hidden_layers", load(Model(RNN, 20, 32, num_layers=2), Model(RNN, 20, 48)))
    record("torch_missing_reverse", load(Model(LSTM, 40, 64, bidirectional=True), Model(LSTM, 40, 64)))
    record("torch_unexpected_reverse", load(Model(GRU, 40, 64), Model(GRU, 40, 64, bidirectional=True)))
    record("torch_missing_proj", load(Model(LSTM, 40, 64, proj_size=32), Model(LSTM, 40, 64)))
    record("torch_proj_size", load(Model(LSTM, 40, 64, proj_size=32), Model(LSTM, 40, 64, proj_size=16)))
    record("torch_lstm_into_gru", load(Model(GRU, 40, 256), Model(LSTM, 40, 256)))
    record("torch_no_bias", load(Model(LSTM, 40, 64), Model(LSTM, 40, 64, bias=False)))
    record("torch_many", load(Model(GRU, 40, 128, num_layers=2, bidirectional=True), Model(GRU, 40, 256)))
    wrapped = nn.DataParallel(Model(LSTM, 40, 64))  # saved from DataParallel: every name starts with module.
    record("torch_module_prefix", load(Model(LSTM, 40, 64), wrapped))
    # Forward calls.
    record("torch_input_size", lambda: LSTM(768, 64)(zeros(5, 3, 1024)))
    record("torch_gru_input_size", lambda: GRU(1024, 64, batch_first=True)(zeros(3, 5, 768)))
    # h_0 for a batch of 40, input whose axis 1 (the batch, without batch_first) is 128.
    record("torch_hidden_batch", lambda: LSTM(20, 302)(zeros(40, 128, 20), (zeros(1, 40, 302), zeros(1, 40, 302))))
    # batch_first=True: the batch is axis 0 (40), h_0 was made for 128.
    record("torch_hidden_batch_first", lambda: LSTM(20, 302, batch_first=True)(zeros(40, 7, 20),
                                                                               (zeros(1, 128, 302), zeros(1, 128, 302))))
    record("torch_cell_batch", lambda: LSTM(20, 302)(zeros(40, 128, 20), (zeros(1, 128, 302), zeros(1, 40, 302))))
    record("torch_gru_hidden_batch", lambda: GRU(20, 302)(zeros(40, 128, 20), zeros(1, 40, 302)))
    record("torch_hidden_layers", lambda: LSTM(20, 302, num_layers=2)(zeros(40, 128, 20),
                                                                       (zeros(1, 128, 302), zeros(1, 128, 302))))
    record("torch_hidden_bidirectional", lambda: RNN(20, 302, bidirectional=True, num_layers=3)(
        zeros(40, 128, 20), zeros(3, 128, 302)))
    record("torch_hidden_size", lambda: LSTM(20, 302)(zeros(40, 128, 20), (zeros(1, 128, 256), zeros(1, 128, 302))))
    record("torch_hidden_proj", lambda: LSTM(20, 302, proj_size=100)(zeros(40, 128, 20),
                                                                      (zeros(1, 128, 302), zeros(1, 128, 302))))
    record("torch_unbatched_hidden", lambda: LSTM(20, 302)(zeros(40, 20), (zeros(1, 128, 302), zeros(1, 128, 302))))
    record("torch_gru_unbatched_hidden", lambda: GRU(20, 302)(zeros(40, 20), zeros(1, 128, 302)))
    record("torch_input_4d", lambda: LSTM(20, 302)(zeros(8, 40, 2, 20)))


def keras_cases(keras: Any, tag: str) -> None:
    import numpy as np

    layers = keras.layers
    keras.utils.set_random_seed(0)
    record(f"{tag}_lstm_ndim2", lambda: keras.Sequential([keras.Input((20,)), layers.LSTM(64)]))
    record(f"{tag}_gru_ndim2", lambda: keras.Sequential([keras.Input((20,)), layers.GRU(64)]))
    record(f"{tag}_bidirectional_ndim2",
           lambda: keras.Sequential([keras.Input((20,)), layers.Bidirectional(layers.SimpleRNN(64))]))
    # A second LSTM after one without return_sequences=True gets (None, 64).
    record(f"{tag}_stacked_ndim2",
           lambda: keras.Sequential([keras.Input((5, 20)), layers.LSTM(64), layers.LSTM(32)]))
    record(f"{tag}_lstm_ndim4", lambda: keras.Sequential([keras.Input((5, 20, 3)), layers.LSTM(64)]))
    model = keras.Sequential([keras.Input((5, 20)), layers.LSTM(64)])
    record(f"{tag}_call_features", lambda: model(np.zeros((2, 5, 30), "float32")))
    other = keras.Sequential([keras.Input((5, 30)), layers.LSTM(64)])
    record(f"{tag}_set_weights", lambda: other.set_weights(model.get_weights()))
    if tag == "keras3":
        folder = tempfile.mkdtemp()
        path = os.path.join(folder, "model.weights.h5")
        model.save_weights(path)
        wider = keras.Sequential([keras.Input((5, 20)), layers.LSTM(128)])
        record(f"{tag}_load_weights", lambda: wider.load_weights(path))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    if importlib.util.find_spec("torch"):
        torch_cases()
    if importlib.util.find_spec("tf_keras"):
        import tf_keras

        keras_cases(tf_keras, "tf_keras")
    elif importlib.util.find_spec("keras"):
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras

        keras_cases(keras, "keras3")


if __name__ == "__main__":
    main()
