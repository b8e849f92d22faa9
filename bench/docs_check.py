"""Benchmark: `lstm-shapes docs check` over 100 Markdown files holding 1,000 blocks in all.

Run by hand (not a test): python bench/docs_check.py [--files 100] [--blocks 10] [--runs 5]

Every block has its own configuration (no two alike, so nothing is served from the per-run cache),
spread over frameworks, cells, sizes and formats. It prints the median wall time of the whole
command as a user runs it (a new process each time, Python's start-up included) and of the check
alone, in-process.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lstm_shapes.cli import render_marker
from lstm_shapes.docs import body, process

FRAMEWORKS = {
    "keras": ["", "--cell gru", "--cell rnn --bidirectional", "--layers 2"],
    "pytorch": ["", "--proj 1", "--cell gru --layers 2", "--bidirectional"],
    "tf1": ["", "--peepholes", "--cell gru", "--proj 1 --layers 2"],
    "onnx": ["", "--peepholes --bidirectional", "--cell rnn", "--cell gru --reset-after"],
}
FORMATS = ["markdown", "markdown", "text", "json", "csv"]


def marker_args(count: int) -> list[str]:
    combos = itertools.cycle(
        (fw, extra) for fw, extras in FRAMEWORKS.items() for extra in extras
    )
    args = []
    for index in range(count):
        fw, extra = next(combos)
        fmt = FORMATS[index % len(FORMATS)]
        hidden = 2 + index  # every block its own configuration
        args.append(f"--input {3 + index % 7} --hidden {hidden} --out {1 + index % 5} --framework {fw} {extra} --format {fmt}".replace("  ", " "))
    return args


def make_tree(root: Path, files: int, blocks: int) -> int:
    all_args = marker_args(files * blocks)
    for f in range(files):
        parts = [f"# Page {f}\n\nSome prose before the tables.\n"]
        for args in all_args[f * blocks : (f + 1) * blocks]:
            argv = args.split()
            fmt = argv[argv.index("--format") + 1]
            parts.append(f"<!-- lstm-shapes {args} -->\n{body(render_marker(argv), fmt)}<!-- /lstm-shapes -->\n\nMore prose.\n")
        (root / f"page{f:03}.md").write_text("\n".join(parts), encoding="utf-8")
    return len(all_args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--blocks", type=int, default=10, help="blocks per file")
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lstm-shapes-bench-"))
    try:
        total = make_tree(root, opts.files, opts.blocks)
        size = sum(p.stat().st_size for p in root.glob("*.md"))
        exe = shutil.which("lstm-shapes")
        command = [exe] if exe else [sys.executable, "-m", "lstm_shapes"]
        cli_times, core_times = [], []
        for _ in range(opts.runs):
            start = time.perf_counter()
            done = subprocess.run([*command, "docs", "check", str(root)], capture_output=True, text=True)
            cli_times.append(time.perf_counter() - start)
            assert done.returncode == 0, done.stderr
            start = time.perf_counter()
            results = process([str(root)], render_marker)
            core_times.append(time.perf_counter() - start)
            assert not any(b.stale for r in results for b in r.blocks)
        print(f"{opts.files} files, {total:,} blocks ({size / 1e6:.1f} MB), {opts.runs} runs, Python {sys.version.split()[0]}")
        print(f"lstm-shapes docs check DIR (new process): median {statistics.median(cli_times) * 1000:.0f} ms")
        print(f"check alone, in-process:                  median {statistics.median(core_times) * 1000:.0f} ms")
        print(f"per block, in-process:                    {statistics.median(core_times) / total * 1e6:.0f} µs")
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
