"""Benchmark: reading a model file's tensor names and shapes costs the same at 1 MB and at 1 GB.

Run by hand (not a test), with lstm-shapes importable:

    python bench/read_files.py [--runs 5] [--max-mb 1024] [--keep DIR]

For sizes of 1 MB, 32 MB and --max-mb, a state dict of eight float32 LSTM-sized tensors is written as a
torch.save archive and a legacy torch.save stream (when torch is installed: torch.save of uninitialised
tensors, so building them costs no memory), a safetensors file and an .npz archive (both written by hand around a sparse hole of zeros,
the layout their libraries write). Then `lstm_shapes.files.read` is timed on each (median of --runs,
in process, after one warm-up read) and its peak Python allocation measured with tracemalloc. A
reader that touched the data would grow with the file; a headers-only one stays flat.
"""

from __future__ import annotations

import argparse
import json
import statistics
import struct
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

from lstm_shapes.files import read

TENSORS = 8


def shapes(total_bytes: int) -> dict[str, tuple[int, int]]:
    """Eight float32 matrices of 4*hidden rows (LSTM gate blocks) adding up to about `total_bytes`."""
    rows = 4 * 256
    columns = max(1, total_bytes // (TENSORS * rows * 4))
    return {f"rnn.weight_ih_l{i}": (rows, columns) for i in range(TENSORS)}


def write_torch(path: Path, layout: dict[str, tuple[int, int]], legacy: bool = False) -> bool:
    try:
        import torch
    except ImportError:
        return False
    torch.save({name: torch.empty(shape) for name, shape in layout.items()}, path, _use_new_zipfile_serialization=not legacy)
    return True


def write_safetensors(path: Path, layout: dict[str, tuple[int, int]]) -> None:
    header, offset = {}, 0
    for name, shape in layout.items():
        size = shape[0] * shape[1] * 4
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text)
        out.truncate(8 + len(text) + offset)  # a hole reads as zeros


def write_npz(path: Path, layout: dict[str, tuple[int, int]]) -> None:
    from numpy.lib import format as npformat

    with zipfile.ZipFile(path, "w", allowZip64=True) as archive:
        for name, shape in layout.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                npformat.write_array_header_1_0(member, {"descr": "<f4", "fortran_order": False, "shape": shape})
                chunk = bytes(1 << 22)
                left = shape[0] * shape[1] * 4
                while left:
                    member.write(chunk[: min(left, len(chunk))])
                    left -= min(left, len(chunk))


def measure(path: Path, runs: int) -> tuple[float, int, int]:
    """Median seconds of a read, the peak bytes Python allocated during one, and the tensor count."""
    count = len(read(path).tensors)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        read(path)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    read(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(times), peak, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-mb", type=int, default=1024)
    parser.add_argument("--keep", type=Path, help="write the files here (default: a temporary folder, removed)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = options.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{'format':<12} {'file MB':>8} {'tensors':>7} {'median ms':>10} {'peak KB':>8}")
        for megabytes in (1, 32, options.max_mb):
            layout = shapes(megabytes << 20)
            files = []
            if write_torch(folder / f"sd_{megabytes}.pt", layout):
                files.append(("torch", folder / f"sd_{megabytes}.pt"))
            if write_torch(folder / f"sd_{megabytes}_legacy.pt", layout, legacy=True):
                files.append(("torch legacy", folder / f"sd_{megabytes}_legacy.pt"))
            write_safetensors(folder / f"sd_{megabytes}.safetensors", layout)
            write_npz(folder / f"sd_{megabytes}.npz", layout)
            files += [("safetensors", folder / f"sd_{megabytes}.safetensors"), ("npz", folder / f"sd_{megabytes}.npz")]
            for kind, path in files:
                seconds, peak, count = measure(path, options.runs)
                print(f"{kind:<12} {path.stat().st_size / 2**20:>8.0f} {count:>7} {seconds * 1e3:>10.2f} {peak / 1024:>8.0f}")
                if options.keep is None:
                    path.unlink()


if __name__ == "__main__":
    main()
