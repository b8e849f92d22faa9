"""Stage 3, in a framework's venv: load every file converted to this group's frameworks into the real target model,
strictly, run the matrix's input and compare with what the real source model gave.

    python tests/convert_matrix/check.py WORK GROUP

Writes WORK/results/<target>.json: for each converted source, the largest difference or the error met.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path
from typing import Any

from matrix import GROUPS, Row, config_for, difference, io_path, load_io, manifest_path, read_json, real, results_path, write_json


def one(module: Any, work: Path, run: dict[str, Any]) -> dict[str, Any]:
    row = Row(run["source"], run["variant"])
    x, expected = load_io(io_path(work, row))
    try:
        config = config_for(run["target"], run["variant"])  # a ConfigError: converted to what the target cannot be
        got = module.run(run["target"], config, work / run["file"], x)
        return {"max": difference(expected, got)}
    except Exception as error:  # any refusal of the real framework is the result
        text = " ".join(f"{type(error).__name__}: {error}".split())
        return {"error": text[:300]}


def main(work: Path, group: str) -> None:
    warnings.filterwarnings("ignore")
    modules = real(group)
    start = time.perf_counter()
    runs = read_json(manifest_path(work))["runs"]
    for target in GROUPS[group]:
        found = {f"{r['source']} | {r['variant']}": one(modules[target], work, r)
                 for r in runs if r["target"] == target and r["exit"] == 0}
        write_json(results_path(work, target), found)
    print(f"check {group}: {sum(r['target'] in GROUPS[group] and r['exit'] == 0 for r in runs)} converted files "
          f"in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
