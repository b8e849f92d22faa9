"""Record tests/files/session/: the model files docs/inspect.md inspects (run by hand, not a test).

`KERAS_BACKEND=torch python tests/record/session.py` with torch, keras 3, onnx and numpy installed. Each file is
written by its own library from seeded weights: a torch checkpoint of an encoder-decoder, a Keras 3 `.keras`
model, an npz of an LSTM's weights under custom names, and an ONNX export of a torch GRU. The tests re-run the
page's commands on them (tests/test_inspect_docs.py) and use the checkpoint for the inspect golden files.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

# This folder holds recorders named like the libraries (onnx.py, keras.py): not what `import onnx` means here.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import torch  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "files" / "session"


class Seq2Seq(torch.nn.Module):
    """A small encoder-decoder: token embeddings, a 2-layer LSTM encoder, a GRU decoder and a head over the vocabulary."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(10, 3)
        self.encoder = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True)
        self.decoder = torch.nn.GRU(3, 4, batch_first=True)
        self.head = torch.nn.Linear(4, 10)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = Seq2Seq()
    torch.save({"epoch": 3, "state_dict": model.state_dict()}, OUT / "seq2seq.ckpt")

    lstm = torch.nn.LSTM(6, 5)
    arrays = dict(zip(("enc_w_ih", "enc_w_hh", "enc_b_ih", "enc_b_hh"), (p.detach().numpy() for p in lstm.parameters())))
    np.savez(OUT / "custom.npz", **arrays, out_w=np.zeros((2, 5), np.float32), out_b=np.zeros(2, np.float32))

    gru = torch.nn.GRU(4, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(gru, (torch.zeros(5, 1, 4),), str(OUT / "gru.onnx"), dynamo=False)

    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, 8))
    seq = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True), name="encoder")(inputs)
    last = keras.layers.GRU(3, name="summary")(seq)
    outputs = keras.layers.Dense(5, name="score")(last)
    keras.Model(inputs, outputs).save(OUT / "tagger.keras")
    print(f"wrote {', '.join(sorted(p.name for p in OUT.iterdir()))} to {OUT}")


if __name__ == "__main__":
    main()
