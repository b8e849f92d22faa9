#!/usr/bin/env bash
# tf.keras 2 and TF1 against the real TensorFlow (CPU), in a venv of their own: no torch here.
set -euo pipefail
python3 -m venv .venv-tf
.venv-tf/bin/pip install --quiet -e ".[test]" "tensorflow-cpu==2.21.0" "tf-keras==2.21.0" numpy
TF_CPP_MIN_LOG_LEVEL=3 .venv-tf/bin/python -m pytest -q -p no:cacheprovider tests/test_tf_keras.py tests/test_tf1.py tests/test_tf_keras_writers.py
# The committed tf.keras 2 files that the main suite reads (tests/files/keras2*) are made again here by the real
# tf_keras and must come out the same, byte for byte.
before=$(mktemp -d)
cp tests/files/keras2* "$before"/
TF_USE_LEGACY_KERAS=1 TF_CPP_MIN_LOG_LEVEL=3 .venv-tf/bin/python tests/record/keras2_files.py > /dev/null
for f in "$before"/*; do cmp "$f" "tests/files/$(basename "$f")"; done
rm -rf "$before"
