"""Benchmark: peak memory and time of each `convert` writer, the tensors handed over one at a time.

Run by hand (not a test), with lstm-shapes, numpy and the files extra (h5py, onnx, msgpack) installed:

    python bench/writers.py [--hidden 1024] [--layers 2]

Each writer runs in a new process on a Target of a bidirectional LSTM stack in its own convention; every tensor
is made only when the writer asks for the next one, so a streaming writer holds one tensor at a time. The peak
RSS comes from GNU time; "floor" is the interpreter with numpy and lstm_shapes imported.
The script prints each writer's wall time and peak RSS beside the total and the largest tensor's size.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

TIME = "/usr/bin/time"
CASES = {  # output name -> the convention it holds
    "floor (no writer)": None, "model.safetensors": "pytorch", "model.npz": "pytorch", "model.weights.h5": "keras",
    "model.onnx": "onnx", "model.msgpack": "flax",
}
PROBE = """
import sys, numpy as np
from lstm_shapes import Config, build
from lstm_shapes.files.writers import Target, TargetLayer, writer
name, fw, hidden, layers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if fw != "-":
    cfg = Config(input=hidden, hidden=hidden, layers=layers, bidirectional=True, framework=fw)
    weights = build(cfg).weights
    rng = np.random.default_rng(0)
    write, _ = writer(name)
    write(name, Target(fw, (TargetLayer("", cfg, weights),), "float32"),
          ((w.name, rng.standard_normal(w.shape, dtype=np.float32)) for w in weights))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--layers", type=int, default=2)
    args = parser.parse_args()
    from lstm_shapes import Config, build

    with tempfile.TemporaryDirectory() as folder:
        for name, fw in CASES.items():
            if fw is not None:
                weights = build(Config(input=args.hidden, hidden=args.hidden, layers=args.layers, bidirectional=True,
                                       framework=fw)).weights
                total, largest = (4 * f(w.params for w in weights) / 2**20 for f in (sum, max))
            path = os.path.join(folder, name)
            start = time.perf_counter()
            run = subprocess.run([TIME, "-f", "%M", sys.executable, "-c", PROBE, path, fw or "-", str(args.hidden),
                                  str(args.layers)], capture_output=True, text=True, check=True)
            wall = time.perf_counter() - start
            rss = int(run.stderr.strip().splitlines()[-1]) / 1024
            sizes = "" if fw is None else f"  tensors {total:7.1f} MB, largest {largest:6.1f} MB"
            print(f"{name:18} {wall:6.2f} s  peak RSS {rss:7.1f} MB{sizes}")


if __name__ == "__main__":
    main()
