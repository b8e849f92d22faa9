"""Record tests/vectors/tf-keras.json and tf-keras-cudnn.json from the real tf_keras: python tests/record/tf_keras.py.

Needs tensorflow-cpu and tf-keras (see .ci/frameworks/tf.sh); the cases and the model building are
test_tf_keras.py's, so the recorded values are what that test checks against the package itself.
"""

from __future__ import annotations

import sys
import zlib
from importlib.metadata import version
from pathlib import Path

# tests/, not this folder: this file's own name would hide the tf_keras package.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import tensorflow as tf  # noqa: E402
from record import common  # noqa: E402
from test_tf_keras import GRID, case_id, record  # noqa: E402

if __name__ == "__main__":
    with_ = f"tf_keras {version('tf-keras')}, tensorflow {tf.__version__}"
    for framework in ("tf-keras", "tf-keras-cudnn"):
        cases = [(case_id(c), c, record(c, zlib.crc32(case_id(c).encode()))) for c in GRID if c.framework == framework]
        print(common.write(framework, with_, cases))
