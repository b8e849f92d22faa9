#!/usr/bin/env bash
# tf.keras 2 and TF1 against the real TensorFlow (CPU), in a venv of their own: no torch here.
set -euo pipefail
python3 -m venv .venv-tf
.venv-tf/bin/pip install --quiet -e ".[test]" "tensorflow-cpu==2.21.0" "tf-keras==2.21.0" numpy
TF_CPP_MIN_LOG_LEVEL=3 .venv-tf/bin/python -m pytest -q -p no:cacheprovider tests/test_tf_keras.py tests/test_tf1.py
