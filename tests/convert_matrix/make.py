"""Stage 1, in a framework's venv: a real model of every (cell, variant) it has, with random weights, saved as
the framework saves it, and its outputs on the matrix's input.

    python tests/convert_matrix/make.py WORK GROUP
"""

from __future__ import annotations

import sys
import time
import warnings
import zlib
from pathlib import Path

import numpy as np

from matrix import GROUPS, io_path, real, rows, save_io, source_path, the_input


def main(work: Path, group: str) -> None:
    warnings.filterwarnings("ignore")
    modules = real(group)
    start = time.perf_counter()
    made = 0
    for row in rows(GROUPS[group]):
        path = source_path(work, row)
        path.parent.mkdir(parents=True, exist_ok=True)
        x = the_input(row.config)
        rng = np.random.default_rng(zlib.crc32(f"{row.framework} {row.variant}".encode()))
        got = modules[row.framework].make(row.framework, row.config, path, rng, x)
        save_io(io_path(work, row), x, got)
        made += 1
    print(f"make {group}: {made} source models in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
