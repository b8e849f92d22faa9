"""Benchmark: `lstm-shapes docs check` against `cog --check` over the same 1,000 blocks in 100 files.

Run by hand (not a test), with lstm-shapes and cogapp installed in the current environment:

    python bench/docs_check.py [--files 100] [--blocks 10] [--runs 7]

Every block has its own configuration (no two alike, so nothing is served from the per-run cache),
spread over frameworks, cells, sizes and formats. The same blocks are written twice: as our
markers, and as cog blocks that call the Python API (`lstm_shapes.render(lstm_shapes.trace(...), fmt)`) for the
same output, which is what a user scripting around the tool would write. Both trees are made up
to date first. Then `lstm-shapes docs check DIR` and `cog --check FILES` run as new processes,
alternating so that any drift of the machine affects both alike; the script prints the median wall
time and peak RSS (max RSS of each run, from GNU time: the largest process) of each, and the ratios.
The targets: our median at most a third of cog's, our peak RSS no more than cog's. Since the check
may fork, it also samples the RSS and PSS of all of each command's processes, added up, in three
more runs. A check that forks gains only from idle CPUs: note the machine's load (`uptime`).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lstm_shapes.subcommands import render_marker
from lstm_shapes.docs import body
from lstm_shapes.render import BY_NAME

FRAMEWORKS = {
    "keras": ["", "--cell gru", "--cell rnn --bidirectional", "--layers 2"],
    "pytorch": ["", "--proj 1", "--cell gru --layers 2", "--bidirectional"],
    "tf1": ["", "--peepholes", "--cell gru", "--proj 1 --layers 2"],
    "onnx": ["", "--peepholes --bidirectional", "--cell rnn", "--cell gru --reset-after"],
}
FORMATS = ["markdown", "markdown", "text", "json", "csv"]
TIME = "/usr/bin/time"


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


def cog_code(args: str) -> str:
    """The one line of Python a cog block runs for the same output as the marker `args`."""
    argv = args.split()
    keywords: dict[str, object] = {}
    fmt = "markdown"
    index = 0
    while index < len(argv):
        name = argv[index][2:].replace("-", "_")
        if name == "format":
            fmt, index = argv[index + 1], index + 2
        elif name in ("input", "hidden", "out", "proj", "layers"):
            keywords[name], index = int(argv[index + 1]), index + 2
        elif name in ("framework", "cell"):
            keywords[name], index = argv[index + 1], index + 2
        else:  # a flag: --bidirectional, --peepholes, --reset-after
            keywords[name], index = True, index + 1
    call = "lstm_shapes.render(lstm_shapes.trace(" + ", ".join(f"{k}={v!r}" for k, v in keywords.items()) + f"), {fmt!r})"
    if BY_NAME[fmt].fence:
        call = f"'```{BY_NAME[fmt].fence}\\n' + {call} + '```\\n'"
    return f"import lstm_shapes; cog.out('\\n' + {call} + '\\n')"


def make_trees(root: Path, files: int, blocks: int) -> int:
    """Write the three trees; our markers are up to date, the cog blocks empty until `cog -r` fills them.

    markers/ and cog/ hold the same 1,000 blocks; cog-empty/ has as many cog blocks that print one
    line without calling the package, which is what cog itself costs.
    """
    all_args = marker_args(files * blocks)
    for name in ("markers", "cog", "cog-empty"):
        (root / name).mkdir()
    for f in range(files):
        mine = [f"# Page {f}\n\nSome prose before the tables.\n"]
        theirs, empty = list(mine), list(mine)
        for args in all_args[f * blocks : (f + 1) * blocks]:
            argv = args.split()
            fmt = argv[argv.index("--format") + 1]
            mine.append(f"<!-- lstm-shapes {args} -->\n{body(render_marker(argv), fmt)}<!-- /lstm-shapes -->\n\nMore prose.\n")
            theirs.append(f"<!-- [[[cog {cog_code(args)} ]]] -->\n<!-- [[[end]]] -->\n\nMore prose.\n")
            empty.append(f"<!-- [[[cog cog.out({args!r}) ]]] -->\n<!-- [[[end]]] -->\n\nMore prose.\n")
        for name, parts in (("markers", mine), ("cog", theirs), ("cog-empty", empty)):
            (root / name / f"page{f:03}.md").write_text("\n".join(parts), encoding="utf-8")
    return len(all_args)


def run(argv: list[str], env: dict[str, str] | None, report: Path) -> tuple[float, int, int]:
    """Wall seconds, peak RSS in KiB and exit code of one run of argv as a new process.

    The peak comes from GNU time, not from our own wait4: a child forked from this process (which
    has rendered every block) would count this process's memory before its exec as its own peak.
    """
    start = time.perf_counter()
    done = subprocess.run([TIME, "-f", "%M", "-o", str(report), *argv], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, env=env)
    seconds = time.perf_counter() - start
    return seconds, int(report.read_text().split()[-1]), done.returncode


def tree_memory(argv: list[str], env: dict[str, str] | None) -> tuple[float, float]:
    """Peak summed RSS and summed PSS, in MB, of one run of argv and its child processes.

    GNU time gives the largest single process; a check that forks workers is more than one, so this
    adds them up, reading /proc/PID/smaps_rollup every millisecond (PSS shares each page that several
    processes map among them; RSS counts it in each). A sample may miss a peak, for either command.
    """
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    peak_rss = peak_pss = 0
    while proc.poll() is None:
        pids, rss, pss = [proc.pid], 0, 0
        for pid in pids:
            try:
                pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
                fields = dict(line.split(":", 1) for line in rollup)
            except (OSError, ValueError):  # gone meanwhile
                continue
            rss += int(fields["Rss"].split()[0])
            pss += int(fields["Pss"].split()[0])
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.001)
    return peak_rss / 1024, peak_pss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--blocks", type=int, default=10, help="blocks per file")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cog-path", metavar="DIR",
                        help="put DIR first on cog's PYTHONPATH (e.g. an older checkout): the package its blocks import")
    opts = parser.parse_args()
    cog_env = None
    if opts.cog_path:
        cog_env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [opts.cog_path, os.environ.get("PYTHONPATH")]))}
    tool, cog = shutil.which("lstm-shapes"), shutil.which("cog")
    if not tool or not cog:
        raise SystemExit("lstm-shapes and cog must be on PATH: pip install . cogapp")
    if not os.path.exists(TIME):
        raise SystemExit(f"{TIME} (GNU time) is needed for the peak memory of each run")
    root = Path(tempfile.mkdtemp(prefix="lstm-shapes-bench-"))
    try:
        total = make_trees(root, opts.files, opts.blocks)
        ours = str(root / "markers")
        cog_files = [str(p) for p in sorted((root / "cog").glob("*.md"))]
        empty_files = [str(p) for p in sorted((root / "cog-empty").glob("*.md"))]
        subprocess.run([cog, "-r", *cog_files, *empty_files], check=True, capture_output=True, env=cog_env)
        # name: (argv, environment); the first two are compared, the third is the check in one process
        # (its files not shared among forked ones), the last two show the fixed costs.
        commands = {
            "lstm-shapes docs check DIR": ([tool, "docs", "check", ours], None),
            "cog --check FILES": ([cog, "--check", *cog_files], cog_env),
            "lstm-shapes docs check --jobs 1 DIR": ([tool, "docs", "check", "--jobs", "1", ours], None),
            "lstm-shapes docs check (no file)": ([tool, "docs", "check"], None),
            "cog --check, blocks not calling lstm_shapes": ([cog, "--check", *empty_files], cog_env),
        }
        for name, (argv, env) in commands.items():
            done = subprocess.run(argv, capture_output=True, text=True, env=env)  # also warms the file cache
            if done.returncode != 0:
                raise SystemExit(f"{name}: not up to date:\n{done.stdout}{done.stderr}")
        times: dict[str, list[float]] = {name: [] for name in commands}
        memory: dict[str, list[int]] = {name: [] for name in commands}
        for _ in range(opts.runs):
            for name, (argv, env) in commands.items():
                seconds, rss, code = run(argv, env, root / "time.txt")
                assert code == 0, name
                times[name].append(seconds)
                memory[name].append(rss)
        ours_name, cog_name = list(commands)[:2]
        trees: dict[str, list[tuple[float, float]]] = {name: [] for name in list(commands)[:3]}
        if os.path.exists("/proc/self/smaps_rollup"):
            for _ in range(3):  # apart from the timed runs, which the sampling would slow down
                for name in trees:
                    trees[name].append(tree_memory(*commands[name]))
        size = sum(p.stat().st_size for p in (root / "markers").glob("*.md"))
        if opts.cog_path:
            print(f"cog's blocks import lstm_shapes from {opts.cog_path}")
        print(f"{opts.files} files, {total:,} blocks ({size / 1e6:.1f} MB), {opts.runs} runs each, alternating; "
              f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
        print(f"{'command':44} {'median':>9} {'min':>9} {'max':>9} {'peak RSS':>9}")
        medians, peaks = {}, {}
        for name in commands:
            medians[name] = statistics.median(times[name])
            peaks[name] = max(memory[name]) / 1024
            print(f"{name:44} {medians[name] * 1000:7.0f}ms {min(times[name]) * 1000:7.0f}ms "
                  f"{max(times[name]) * 1000:7.0f}ms {peaks[name]:7.1f}MB")
        for name, samples in trees.items():
            if samples:
                print(f"{name}, all its processes: peak summed RSS {max(s[0] for s in samples):.1f}MB, "
                      f"peak summed PSS {max(s[1] for s in samples):.1f}MB (3 runs, sampled every ms)")
        ratio = medians[ours_name] / medians[cog_name]
        print(f"time: ours / cog = {ratio:.2f} (target <= 0.33); "
              f"peak RSS: ours / cog = {peaks[ours_name] / peaks[cog_name]:.2f} (target <= 1.00)")
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
