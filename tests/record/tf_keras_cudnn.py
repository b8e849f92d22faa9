"""Record tests/vectors/tf-keras-cudnn.json: python tests/record/tf_keras_cudnn.py.

CuDNNLSTM and CuDNNGRU come from the same grid as tf.keras 2's layers, so tf_keras.py writes both files.
"""

from __future__ import annotations

import runpy
from pathlib import Path

if __name__ == "__main__":
    runpy.run_path(str(Path(__file__).with_name("tf_keras.py")), run_name="__main__")
