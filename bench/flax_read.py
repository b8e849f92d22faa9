"""Benchmark: reading a large Flax msgpack file's names and shapes, against restoring it as flax does.

Run by hand (not a test), with lstm-shapes, msgpack and numpy installed in the current environment:

    python bench/flax_read.py [--mb 256] [--runs 3]

The file is written here in flax.serialization's format (each array an ext 1 whose payload is msgpack
of [shape, dtype name, bytes]): a 4-layer LSTM stack of flax's per-gate Denses with hidden 1024 and an
embedding that fills the rest of the size asked for. Each measurement is a new process, its peak RSS
from GNU time: `read` lists the tensors (msgpack streams the file through once; no array is built),
`load first` and `load last` read one tensor's data (the first stops early), and `restore` is what
`flax.serialization.msgpack_restore` does (unpackb of the whole file with an ext hook building every
array, jax left out). The script prints the median wall time and the largest peak RSS of each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgpack
import numpy as np

TIME = "/usr/bin/time"
PROBES = {
    "python alone": "pass",
    "read": "from lstm_shapes.files import read; read(PATH)",
    "load first": "from lstm_shapes.files import read; m = read(PATH); m.load(next(iter(m.tensors)))",
    "load last": "from lstm_shapes.files import read; m = read(PATH); m.load(list(m.tensors)[-1])",
    "restore": ("import msgpack, numpy as np\n"
                "def hook(code, data):\n"
                "    shape, dtype, buf = msgpack.unpackb(data, raw=True)\n"
                "    return np.frombuffer(buf, np.dtype(dtype.decode())).reshape(shape)\n"
                "msgpack.unpackb(open(PATH, 'rb').read(), ext_hook=hook, raw=False, strict_map_key=False)"),
}


def array(a: np.ndarray) -> msgpack.ExtType:
    return msgpack.ExtType(1, msgpack.packb([list(a.shape), a.dtype.name, a.tobytes()], use_bin_type=True))


def write(path: Path, mb: int, hidden: int = 1024, layers: int = 4) -> int:
    """A params tree of an LSTM stack and an embedding, about `mb` MB in all; returns its tensor count."""
    rng = np.random.default_rng(0)
    tree: dict[str, dict[str, object]] = {"params": {}}
    params = tree["params"]
    stack = 0
    for n in range(layers):
        cell = {}
        for gate in "ifgo":
            cell[f"i{gate}"] = {"kernel": array(rng.standard_normal((hidden, hidden), np.float32))}
            cell[f"h{gate}"] = {"kernel": array(rng.standard_normal((hidden, hidden), np.float32)),
                                "bias": array(rng.standard_normal(hidden, np.float32))}
            stack += 2 * hidden * hidden * 4
        params[f"layers_{n}"] = {"cell": cell}
    rows = max(1, (mb * 2**20 - stack) // (hidden * 4))
    params["embed"] = {"embedding": array(rng.standard_normal((rows, hidden), np.float32))}
    params["head"] = {"kernel": array(rng.standard_normal((hidden, 10), np.float32)),
                      "bias": array(rng.standard_normal(10, np.float32))}
    path.write_bytes(msgpack.packb(tree, use_bin_type=True))
    return layers * 12 + 3


def measure(code: str, path: Path, folder: str) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one new process running `code`.

    The peak comes from GNU time, not from wait4: a child forked from this process (which wrote the
    big file) would count this process's pages as its own.
    """
    report = Path(folder) / "rss"
    start = time.perf_counter()
    subprocess.run([TIME, "-f", "%M", "-o", str(report), sys.executable, "-c", f"PATH = {str(path)!r}\n{code}\n"],
                   check=True)
    wall = time.perf_counter() - start
    return wall, int(report.read_text().split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.msgpack"
        count = write(path, args.mb)
        print(f"{path.name}: {os.path.getsize(path) / 2**20:.0f} MiB, {count} tensors, Python {sys.version.split()[0]}, "
              f"msgpack {'.'.join(map(str, msgpack.version))}")
        for label, code in PROBES.items():
            runs = [measure(code, path, folder) for _ in range(args.runs)]
            wall = statistics.median(w for w, _ in runs)
            rss = max(r for _, r in runs)
            print(f"{label:13s} {wall * 1000:8.0f} ms   peak RSS {rss / 1024:7.0f} MiB")


if __name__ == "__main__":
    main()
