"""Benchmark: `lstm-shapes inspect` on a 2 GB PyTorch checkpoint, against torch.load with mmap.

Run by hand (not a test), with lstm-shapes and torch installed in the current environment:

    python bench/inspect_files.py [--gb 2] [--tensors 300] [--runs 5] [--folder /tmp]

The checkpoint is a torch.save of a dict of float32 tensors adding up to --gb GiB: a 4-layer bidirectional
nn.LSTM's state dict (input and hidden 1024), 1024 x 1024 layers with their biases, and an embedding that
fills the rest. It is written by a separate process (torch.empty: pages never touched, so they are zeros
and cost no memory) after checking the folder's free space, and deleted at the end. Then each command
runs as a new process, the commands alternating, --runs times: wall time by this script, peak RSS by
GNU time (a child forked from this script would count its pages as its own). The file stays in the page
cache throughout: every reader meets it warm.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TIME = "/usr/bin/time"
HIDDEN = 1024
LAYERS = 4
READ = ("import time; from lstm_shapes.files import read; start = time.perf_counter(); model = read(PATH); "
        "shapes = [t.shape for t in model.tensors.values()]; print(time.perf_counter() - start)")
RECOGNISE = ("import time; from lstm_shapes.inspection import inspect_path; start = time.perf_counter(); "
             "inspect_path(PATH); print(time.perf_counter() - start)")
COMMANDS = {
    "python -c pass (floor)": lambda path: [sys.executable, "-c", "pass"],
    "(a) lstm_shapes.files.read": lambda path: [sys.executable, "-c", f"PATH = {str(path)!r}; {READ}"],
    "read and recognise (inspect_path)": lambda path: [sys.executable, "-c", f"PATH = {str(path)!r}; {RECOGNISE}"],
    "(b) lstm-shapes inspect --format json": lambda path: [sys.executable, "-m", "lstm_shapes", "inspect", str(path),
                                                           "--format", "json"],
    "(c) torch.load(mmap=True, weights_only=True)": lambda path: [
        sys.executable, "-c", f"import torch; d = torch.load({str(path)!r}, mmap=True, weights_only=True); "
        "shapes = [tuple(t.shape) for t in d.values()]"],
}
WRITE = """
import json, sys, torch
layout = json.loads(sys.argv[2])
torch.save({name: torch.empty(shape) for name, shape in layout.items()}, sys.argv[1])
"""


def layout(total: int, count: int, others: str) -> dict[str, list[int]]:
    """Names and shapes of `count` float32 tensors adding up to about `total` bytes, the LSTM's first.

    The others are Linear layers' weights and biases, or (`others="conv"`) 4-D convolution kernels alone,
    which no recurrent layer's tensors resemble.
    """
    shapes: dict[str, list[int]] = {}
    for k in range(LAYERS):
        for suffix in ("", "_reverse"):
            width = HIDDEN if k == 0 else 2 * HIDDEN  # later layers read both directions' outputs
            shapes[f"encoder.rnn.weight_ih_l{k}{suffix}"] = [4 * HIDDEN, width]
            shapes[f"encoder.rnn.weight_hh_l{k}{suffix}"] = [4 * HIDDEN, HIDDEN]
            shapes[f"encoder.rnn.bias_ih_l{k}{suffix}"] = [4 * HIDDEN]
            shapes[f"encoder.rnn.bias_hh_l{k}{suffix}"] = [4 * HIDDEN]
    block = 0
    while len(shapes) < count - 1:
        if others == "conv":
            shapes[f"blocks.{block}.conv.weight"] = [HIDDEN // 4, HIDDEN // 4, 4, 4]
        elif len(shapes) < count - 2:
            shapes[f"blocks.{block}.linear.weight"] = [HIDDEN, HIDDEN]
            shapes[f"blocks.{block}.linear.bias"] = [HIDDEN]
        else:
            shapes["head.scale"] = [HIDDEN]
        block += 1
    used = sum(4 * _numel(shape) for shape in shapes.values())
    if used >= total:
        raise SystemExit(f"the LSTM and the other tensors already take {used / 2**30:.2f} GiB; ask for more")
    shapes["embedding.weight"] = [(total - used) // (4 * HIDDEN), HIDDEN]
    return shapes


def _numel(shape: list[int]) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


def measure(argv: list[str], folder: str) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) and standard output of one new process running argv."""
    report = Path(folder) / "rss"
    start = time.perf_counter()
    done = subprocess.run([TIME, "-f", "%M", "-o", str(report), *argv], stdout=subprocess.PIPE, text=True, check=True)
    wall = time.perf_counter() - start
    return wall, int(report.read_text().split()[-1]), done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gb", type=float, default=2.0)
    parser.add_argument("--tensors", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--folder", default=tempfile.gettempdir())
    parser.add_argument("--others", choices=("linear", "conv"), default="linear",
                        help="what the tensors besides the LSTM are (default: Linear layers)")
    args = parser.parse_args()
    total = int(args.gb * 2**30)
    free = shutil.disk_usage(args.folder).free
    if free < total + (2 << 30):
        raise SystemExit(f"{args.folder} has {free / 2**30:.1f} GiB free; the checkpoint needs {args.gb} GiB "
                         "and 2 GiB to spare")
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        path = Path(folder) / "checkpoint.pt"
        shapes = layout(total, args.tensors, args.others)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", WRITE, str(path), json.dumps(shapes)], check=True)
        print(f"{path}: {path.stat().st_size / 2**30:.2f} GiB, {len(shapes)} tensors, written in "
              f"{time.perf_counter() - start:.1f} s; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f}")
        found = json.loads(subprocess.run(COMMANDS["(b) lstm-shapes inspect --format json"](path),
                                          stdout=subprocess.PIPE, check=True).stdout)
        kinds: dict[str, int] = {}
        for result in found if isinstance(found, list) else [found]:  # one file's answer is one object
            for layer in result.get("recurrent", []):
                kind = (f"{layer['framework']} {layer['cell']}, {layer['layers']} layer(s) of hidden {layer['hidden']}"
                        + (", bidirectional" if layer["bidirectional"] else "")
                        + (", by shapes" if layer["by_shapes"] else ""))
                kinds[kind] = kinds.get(kind, 0) + 1
        print("inspect finds: " + "; ".join(f"{n} x {kind}" for kind, n in kinds.items()))
        runs: dict[str, list[tuple[float, int, str]]] = {label: [] for label in COMMANDS}
        for _ in range(args.runs):  # alternating, so that the machine's other work affects every command alike
            for label, argv in COMMANDS.items():
                runs[label].append(measure(argv(path), folder))
        in_process = {label: statistics.median(float(out) for _, _, out in runs[label])
                      for label in ("(a) lstm_shapes.files.read", "read and recognise (inspect_path)")}
        torch_wall = statistics.median(wall for wall, _, _ in runs["(c) torch.load(mmap=True, weights_only=True)"])
        print(f"\n{'command':<46} {'median':>9} {'peak RSS':>9} {'vs (c)':>7}")
        for label, results in runs.items():
            wall = statistics.median(w for w, _, _ in results)
            rss = max(r for _, r, _ in results)
            print(f"{label:<46} {wall * 1e3:>6.0f} ms {rss / 1024:>6.1f} MB {torch_wall / wall:>6.1f}x")
        for label, seconds in in_process.items():
            print(f"{label}, in process (no start-up, no imports before it): {seconds * 1e3:.1f} ms (median)")


if __name__ == "__main__":
    main()
