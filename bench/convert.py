"""Benchmark: `lstm-shapes convert` on a 1 GiB multi-layer PyTorch LSTM checkpoint, against `cp` of the same file.

Run by hand (not a test), with lstm-shapes and torch installed in the current environment:

    python bench/convert.py [--hidden 2048] [--layers 8] [--runs 3] [--folder /tmp]

A separate process builds `torch.nn.LSTM(hidden, hidden, num_layers=layers)` (random weights, as torch
initialises them: the proof then multiplies real numbers) and torch.saves its state dict to a temporary folder
(deleted at the end); the defaults make 1.0 GiB in 32 tensors, the largest 64 MiB. Then, in the same run and
alternating so that the machine's other work falls on each alike, each command runs --runs times as a new process:
`cp` of the checkpoint, and `lstm-shapes convert` of it to Keras 3 (kernels transposed, biases summed), TF1 (one
fused kernel per layer, twice the largest source tensor) and Flax (one kernel per gate), each to a .safetensors
file, which the writer streams. Every output is deleted and `sync` run before the next command, untimed, and one
untimed `cp` runs first (the first gigabyte written after a while is slow on a virtual machine). Wall time is measured
by this script, peak RSS by GNU time (a child forked from this script would count its pages as its own). Nothing
is dropped from the page cache: cp and convert both meet the checkpoint warm.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TIME = "/usr/bin/time"
MAKE = """
import sys, torch
torch.manual_seed(0)
hidden, layers = int(sys.argv[2]), int(sys.argv[3])
torch.save(torch.nn.LSTM(hidden, hidden, num_layers=layers).state_dict(), sys.argv[1])
"""
MB = 1e6
COPY = """
import sys
with open(sys.argv[1], "rb") as source, open(sys.argv[2], "wb") as output:
    while piece := source.read(8 << 20):
        output.write(piece)
"""


def commands(source: Path, output: Path) -> dict[str, list[str]]:
    cli = [sys.executable, "-m", "lstm_shapes"]
    convert = [*cli, "convert", str(source), "-o", str(output), "--to"]
    return {
        "lstm-shapes --input 4 --hidden 2 (start-up)": [*cli, "--input", "4", "--hidden", "2"],
        "cp": ["cp", str(source), str(output)],
        # The least a conversion does: every byte through this process once, read and written in 8 MiB pieces.
        "python copy (read + write, nothing else)": [sys.executable, "-c", COPY, str(source), str(output)],
        "convert --to keras": [*convert, "keras"],
        "convert --to tf1": [*convert, "tf1"],
        "convert --to flax": [*convert, "flax"],
    }


def measure(argv: list[str], folder: Path, output: Path) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) and standard output of one new process running argv; its output then deleted."""
    report = folder / "rss"
    start = time.perf_counter()
    done = subprocess.run([TIME, "-f", "%M", "-o", str(report), *argv], stdout=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}")
    output.unlink(missing_ok=True)
    os.sync()  # the next command starts with nothing of this one's left to write back
    return wall, int(report.read_text().split()[-1]), done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hidden", type=int, default=2048)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--folder", default=tempfile.gettempdir())
    args = parser.parse_args()
    h, layers = args.hidden, args.layers
    shapes = {f"{kind}_l{k}": shape for k in range(layers)
              for kind, shape in (("weight_ih", (4 * h, h)), ("weight_hh", (4 * h, h)), ("bias_ih", (4 * h,)),
                                  ("bias_hh", (4 * h,)))}
    sizes = {name: 4 * (shape[0] * (shape[1] if len(shape) > 1 else 1)) for name, shape in shapes.items()}
    total, largest = sum(sizes.values()), max(sizes.values())
    free = shutil.disk_usage(args.folder).free
    if free < 3 * total + (1 << 30):
        raise SystemExit(f"{args.folder} has {free / 2**30:.1f} GiB free; the checkpoint, its copy and the output "
                         f"need {3 * total / 2**30:.1f} GiB and 1 GiB to spare")
    with tempfile.TemporaryDirectory(dir=args.folder) as name:
        folder = Path(name)
        source, output = folder / "big.pt", folder / "out.safetensors"
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", MAKE, str(source), str(h), str(layers)], check=True)
        print(f"{source.name}: torch.nn.LSTM({h}, {h}, num_layers={layers}), {len(shapes)} float32 tensors, "
              f"{source.stat().st_size / 2**30:.2f} GiB, the largest {largest / 2**20:.0f} MiB; written in "
              f"{time.perf_counter() - start:.1f} s; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f}")
        argvs = commands(source, output)
        measure(argvs["cp"], folder, output)  # untimed: the first write of a gigabyte in a fresh VM is slower
        runs: dict[str, list[tuple[float, int, str]]] = {label: [] for label in argvs}
        for _ in range(args.runs):  # alternating, so that the machine's other work affects every command alike
            for label, argv in argvs.items():
                runs[label].append(measure(argv, folder, output))
        for label, results in runs.items():
            proof = [line for line in results[0][2].splitlines() if line.startswith(("proof:", "wrote"))]
            if proof:
                print(f"{label}: " + "; ".join(proof))
        cp = statistics.median(w for w, _, _ in runs["cp"])
        budget = 1.3 * largest / MB + 100
        print(f"\nload average at the end {os.getloadavg()[0]:.1f}; targets: within 3x cp's time, peak RSS under "
              f"1.3 x {largest / MB:.0f} MB + 100 MB = {budget:.0f} MB\n")
        print(f"{'command':<44} {'median':>8} {'runs (s)':>20} {'vs cp':>6} {'peak RSS':>9}")
        for label, results in runs.items():
            walls = [w for w, _, _ in results]
            wall = statistics.median(walls)
            rss = max(r for _, r, _ in results) * 1024 / MB
            each = " ".join(f"{w:.2f}" for w in walls)
            print(f"{label:<44} {wall:>6.2f} s {each:>20} {wall / cp:>5.2f}x {rss:>6.0f} MB")


if __name__ == "__main__":
    main()
