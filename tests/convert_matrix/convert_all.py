"""Stage 2, in the main venv: `lstm-shapes convert` every source file to every target framework, through the CLI.

    python tests/convert_matrix/convert_all.py WORK

Each run is the console script's own `main()` in a child process forked from one that has imported lstm_shapes
and numpy once: the CLI as a user runs it (argv, exit code, stdout and stderr apart), less a third of a second
of interpreter start-up per run. Each target gets the first format in matrix.TARGET_SUFFIXES that the installed
lstm_shapes can write. The exit code, the proof line and the error line of every run go to
WORK/converted/manifest.json.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy  # noqa: F401  # imported once here, for every child

import lstm_shapes.cli
import lstm_shapes.conversion  # noqa: F401
import lstm_shapes.convert_command  # noqa: F401
import lstm_shapes.inspection  # noqa: F401
from lstm_shapes.files.writers import writer

from matrix import FRAMEWORKS, TARGET_SUFFIXES, Row, converted_path, manifest_path, rows, source_path, write_json

# The target model built in stage 3 is the bare layer (or stack), whose names have no prefix.
OPTIONS = ("--prefix", "")


def suffix_for(target: str) -> str:
    """The first of the target's formats whose writer is there (the h5, ONNX and msgpack writers may not be)."""
    for suffix in TARGET_SUFFIXES[target]:
        try:
            writer("out" + suffix)
        except ImportError:
            continue
        return suffix
    raise SystemExit(f"no writer for any of {TARGET_SUFFIXES[target]}")


def start(args: list[str], out: int, err: int) -> int:
    """Fork a child that runs `lstm-shapes ARGS` with its stdout and stderr on the given files."""
    pid = os.fork()
    if pid:
        return pid
    try:
        os.dup2(out, 1)
        os.dup2(err, 2)
        sys.argv = ["lstm-shapes", *args]
        lstm_shapes.cli.main()  # ends the process itself, with the command's exit code
    except BaseException:  # a traceback is a bug in the command: keep it for the manifest
        traceback.print_exc()
        sys.stderr.flush()
    os._exit(70)


def main(work: Path) -> None:
    begin = time.perf_counter()
    suffixes = {target: suffix_for(target) for target in FRAMEWORKS}
    missing = [row for row in rows() if not source_path(work, row).exists()]
    if missing:
        raise SystemExit(f"stage 1 left out {len(missing)} source files, e.g. {source_path(work, missing[0])}")
    jobs = [(row, target) for row in rows() for target in FRAMEWORKS]
    running: dict[int, tuple[Row, str, Path, Any, Any]] = {}
    done: list[dict[str, Any]] = []
    width = os.cpu_count() or 1
    while jobs or running:
        while jobs and len(running) < width:
            row, target = jobs.pop(0)
            out_path = converted_path(work, row, target, suffixes[target])
            out_path.parent.mkdir(parents=True, exist_ok=True)
            out_path.unlink(missing_ok=True)
            out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
            args = ["convert", str(source_path(work, row)), "--to", target, "-o", str(out_path), *OPTIONS]
            running[start(args, out.fileno(), err.fileno())] = (row, target, out_path, out, err)
        pid, status = os.wait()
        row, target, out_path, out, err = running.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read().strip()
        out.close()
        err.close()
        proof = [line for line in stdout.splitlines() if line.startswith("proof:")]
        done.append({"source": row.framework, "variant": row.variant, "target": target, "suffix": suffixes[target],
                     "file": str(out_path.relative_to(work)) if code == 0 else None, "exit": code,
                     "proof": proof[0] if proof else None, "error": stderr.splitlines()[-1] if stderr else None})
    order = {(row.framework, row.variant, target): i for i, (row, target) in
             enumerate((row, target) for row in rows() for target in FRAMEWORKS)}
    done.sort(key=lambda r: order[(r["source"], r["variant"], r["target"])])
    write_json(manifest_path(work), {"suffixes": suffixes, "runs": done})
    codes = {code: sum(r["exit"] == code for r in done) for code in sorted({r["exit"] for r in done})}
    print(f"convert: {len(done)} conversions in {time.perf_counter() - begin:.1f} s, exit codes {codes}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
