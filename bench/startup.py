"""Benchmark: how fast the main job answers, against the floor any click program pays.

Run by hand (not a test), from a checkout, with lstm-shapes installed in the current environment
(`pip install .`; an editable install compiles its modules on every start where bytecode writing is
off):

    python bench/startup.py [--runs 21]

Each command runs as a new process (a cold start: Python, its imports, the work), the commands
alternating so that any drift of the machine affects all alike. Prints the median wall time, the
median peak memory (max RSS), and the ratio to the floor measured in the same run:
`python -c "import click"` for the plain formats and `python -c "import click, rich.console,
rich.table"` for the terminal table. Then --verify at large sizes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

MAIN = ["--input", "4", "--hidden", "2", "--out", "1"]
PY = sys.executable
TOOL = shutil.which("lstm-shapes") or ""

COMMANDS = {
    "floor: import click": [PY, "-c", "import click"],
    "text": [TOOL, *MAIN, "--format", "text"],
    "markdown": [TOOL, *MAIN, "--format", "markdown"],
    "csv": [TOOL, *MAIN, "--format", "csv"],
    "json": [TOOL, *MAIN, "--format", "json"],
    "latex": [TOOL, *MAIN, "--format", "latex"],
    "org": [TOOL, *MAIN, "--format", "org"],
    "mermaid": [TOOL, *MAIN, "--format", "mermaid"],
    "dot": [TOOL, *MAIN, "--format", "dot"],
    "graph": [TOOL, *MAIN, "--format", "graph"],
    "floor: import click, rich.console, rich.table": [PY, "-c", "import click, rich.console, rich.table"],
    "table (rich)": [TOOL, *MAIN, "--format", "table"],
    "table --explain --cost (rich)": [TOOL, *MAIN, "--explain", "--cost", "--format", "table"],
    "table --framework all (rich)": [TOOL, *MAIN, "--framework", "all", "--format", "table"],
}
PLAIN = ("text", "markdown", "csv", "json", "latex", "org", "mermaid", "dot", "graph")
RICH = ("table (rich)", "table --explain --cost (rich)", "table --framework all (rich)")
TARGETS = {name: 1.5 for name in PLAIN} | {name: 1.3 for name in RICH}
FLOOR_OF = {name: "floor: import click" for name in PLAIN} | {
    name: "floor: import click, rich.console, rich.table" for name in RICH
}
VERIFY = [TOOL, "--input", "2048", "--hidden", "2048", "--out", "1000", "--layers", "2", "--format", "json", "--verify"]


def run(argv: list[str], cwd: str) -> tuple[float, int]:
    """Wall seconds and peak RSS in KiB of one run of argv as a new process."""
    start = time.perf_counter()
    pid = _spawn_in(argv, cwd)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed")
    return elapsed, usage.ru_maxrss


def _spawn_in(argv: list[str], cwd: str) -> int:
    pid = os.fork()
    if pid == 0:  # child: an empty folder, so nothing there can shadow a module
        os.chdir(cwd)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.execv(argv[0], argv)
    return pid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--verify-runs", type=int, default=3)
    opts = parser.parse_args()
    if not TOOL:
        raise SystemExit("lstm-shapes is not on PATH: pip install . first")
    cwd = tempfile.mkdtemp(prefix="lstm-shapes-startup-")
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    memory: dict[str, list[int]] = {name: [] for name in COMMANDS}
    for name, argv in COMMANDS.items():  # warm the file cache once
        run(argv, cwd)
    for _ in range(opts.runs):
        for name, argv in COMMANDS.items():
            seconds, rss = run(argv, cwd)
            times[name].append(seconds)
            memory[name].append(rss)
    print(f"{opts.runs} cold runs each, alternating; Python {sys.version.split()[0]}; {os.cpu_count()} CPUs")
    print(f"{'command':48} {'median':>9} {'peak RSS':>9} {'vs floor':>9} {'target':>7}")
    for name in COMMANDS:
        median = statistics.median(times[name])
        rss = statistics.median(memory[name]) / 1024
        ratio = ""
        target = ""
        if name in FLOOR_OF:
            ratio = f"{median / statistics.median(times[FLOOR_OF[name]]):.2f}x"
            target = f"{TARGETS[name]}x"
        print(f"{name:48} {median * 1000:7.1f}ms {rss:7.1f}MB {ratio:>9} {target:>7}")
    results = [run(VERIFY, cwd) for _ in range(opts.verify_runs)]
    seconds = statistics.median(r[0] for r in results)
    rss = max(r[1] for r in results) / 1024
    print(f"--verify, input = hidden = 2048, out = 1000, 2 layers: median {seconds:.2f} s, "
          f"peak RSS {rss:.0f} MB (targets: 2 s, 600 MB)")


if __name__ == "__main__":
    main()
