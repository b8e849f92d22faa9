"""Record tests/vectors/tf1.json from the real tf.compat.v1.nn.rnn_cell cells: python tests/record/tf1.py.

Needs tensorflow-cpu and tf-keras (see .ci/frameworks/tf.sh); the cases and the graphs are
test_tf1.py's, so the recorded values are what that test checks against the package itself.
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

# tests/, not this folder: this file's own name would hide the tf_keras package.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from record import common  # noqa: E402
from test_tf1 import GRID, case_id, record, tf  # noqa: E402

if __name__ == "__main__":
    cases = [(case_id(c), c, record(c, zlib.crc32(case_id(c).encode()))) for c in GRID]
    print(common.write("tf1", f"tensorflow {tf.__version__} (tf.compat.v1.nn.rnn_cell)", cases))
