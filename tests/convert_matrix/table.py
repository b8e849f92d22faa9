"""Stage 4: the matrix's results as a Markdown table, kept in docs/convert.md between generated-block markers.

    python tests/convert_matrix/table.py WORK --check docs/convert.md   # exit 1 if stale or any cell FAILs
    python tests/convert_matrix/table.py WORK --update docs/convert.md

Rows are source conventions × variants, columns the targets. A cell is the largest difference between the real
target's outputs and the real source's (float32), "refused: <reason>" where `lstm-shapes convert` says no weights
can make the conversion exact (exit 2), or FAIL: any other exit, a strict load the real target rejects, or a
difference over the tolerance. The check compares every cell's text, except that a difference may come out
otherwise on another machine's arithmetic: two numbers agree when both are within the tolerance and within a
factor of ten of each other (differences under 1e-7 counting as 1e-7).
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Any

from matrix import FRAMEWORKS, TOLERANCE, manifest_path, read_json, results_path, rows

from lstm_shapes.frameworks import REGISTRY

BEGIN, END = "<!-- convert-matrix -->", "<!-- /convert-matrix -->"
# A refusal's reason, in a few words: (words in the message, what the cell says).
SHORT = (("has no backward direction", "no backward direction"),
         ("holds one cell and this has", "one cell, no stack"),
         ("projects h_t", "no projection"),
         ("peephole connections", "no peepholes"),
         ("reset gate as r ⊙ (U·h + b)", "reset gate before U only"),
         ("reset gate as U·(r ⊙ h)", "reset gate after U·h only"),
         ("h_t = tanh(...)", "ReLU RNN only"),
         ("h_t = relu(...)", "tanh RNN only"))
FLOOR = 1e-7  # about one float32 rounding at 1: smaller differences count as this much
NUMBER = re.compile(r"\d(?:\.\d+)?e[-+]\d+|0")


def reason(error: str) -> str:
    """What a refusal's one line says, shortened: the table's words, or the clause before the first ';'."""
    for words, short in SHORT:
        if words in error:
            return short
    text = error.removeprefix("lstm-shapes: error: ")
    return text.split(": ", 1)[-1].split(";")[0]


def cell(run: dict[str, Any], results: dict[str, dict[str, Any]]) -> str:
    if run["exit"] == 2 and run["error"]:
        return f"refused: {reason(run['error'])}"
    if run["exit"] != 0:
        return f"FAIL: exit {run['exit']}"
    got = results.get(f"{run['source']} | {run['variant']}")
    if got is None:
        return "FAIL: not checked"
    if "error" in got:
        return "FAIL: " + got["error"].split(":")[0]
    text = "0" if got["max"] == 0 else f"{got['max']:.0e}"
    return text if got["max"] <= TOLERANCE else f"FAIL: {text}"


def render(work: Path) -> str:
    manifest = read_json(manifest_path(work))
    results = {t: read_json(results_path(work, t)) if results_path(work, t).exists() else {} for t in FRAMEWORKS}
    by_pair = {(r["source"], r["variant"], r["target"]): r for r in manifest["runs"]}
    cells = {key: cell(run, results[key[2]]) for key, run in by_pair.items()}
    proved = sum(not c.startswith(("refused", "FAIL")) for c in cells.values())
    refused = sum(c.startswith("refused") for c in cells.values())
    failed = sum(c.startswith("FAIL") for c in cells.values())
    lines = [f"{len(cells)} conversions: {proved} equal in the real target within {TOLERANCE:.0e}, {refused} refused, "
             f"{failed} FAIL. Sizes x = 3, h = 4 (p = 2), a batch of 2 sequences of 5 steps.", "",
             "The converted files were written as: "
             + ", ".join(f"{t} {manifest['suffixes'][t]}" for t in FRAMEWORKS) + ".", "",
             "| source | variant | " + " | ".join(FRAMEWORKS) + " |",
             "| --- | --- | " + " | ".join("---" for _ in FRAMEWORKS) + " |"]
    for row in rows():
        got = [cells.get((row.framework, row.variant, t), "FAIL: not converted") for t in FRAMEWORKS]
        lines.append(f"| {REGISTRY[row.framework].title} | {row.variant} | " + " | ".join(got) + " |")
    return "\n".join(lines) + "\n"


def table(page: Path) -> dict[tuple[str, str], dict[str, str]]:
    """The committed table: (source title, variant) → {target: cell}."""
    text = page.read_text(encoding="utf-8")
    start, end = block(text, page)
    lines = [line for line in text[start:end].splitlines() if line.startswith("| ")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    found = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        found[(cells[0], cells[1])] = dict(zip(head[2:], cells[2:]))
    return found


def block(text: str, path: Path) -> tuple[int, int]:
    """Where the generated block's content starts and ends in `text`."""
    start, end = text.find(BEGIN + "\n"), text.find("\n" + END)
    if start < 0 or end < start:
        raise SystemExit(f"{path}: no {BEGIN} ... {END} block")
    return start + len(BEGIN) + 1, end + 1


def agree(old: str, new: str) -> bool:
    """Two cells say the same: the same text, or two differences both within the tolerance and a factor of ten apart."""
    if old == new:
        return True
    if not (NUMBER.fullmatch(old) and NUMBER.fullmatch(new)):
        return False
    a, b = max(float(old), FLOOR), max(float(new), FLOOR)
    return a <= TOLERANCE and b <= TOLERANCE and abs(math.log10(a / b)) <= 1


def stale(old: str, new: str) -> list[str]:
    """The lines of the committed block that the fresh one contradicts, with their fresh version."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    if len(old_lines) != len(new_lines):
        return [f"{len(old_lines)} lines in the file, {len(new_lines)} now"]
    found = []
    for a, b in zip(old_lines, new_lines):
        cells_a, cells_b = a.split(" | "), b.split(" | ")
        if len(cells_a) != len(cells_b) or not all(agree(x.strip(" |"), y.strip(" |")) for x, y in zip(cells_a, cells_b)):
            found.append(f"- {a}\n+ {b}")
    return found


def main(work: Path, mode: str, page: Path) -> int:
    fresh = "\n" + render(work) + "\n"
    text = page.read_text(encoding="utf-8")
    start, end = block(text, page)
    failed = fresh.count("FAIL:")
    if mode == "--update":
        page.write_text(text[:start] + fresh + text[end:], encoding="utf-8")
        print(f"{page}: the conversion matrix written" + (f"; {failed} cells FAIL" if failed else ""))
        return 1 if failed else 0
    differ = stale(text[start:end], fresh)
    for line in differ:
        print(line)
    if differ:
        print(f"{page}: the conversion matrix is stale ({len(differ)} lines); .ci/convert-matrix.sh --update rewrites it")
    if failed:
        print(f"{page}: {failed} conversions FAIL")
    if not differ and not failed:
        print(f"{page}: the conversion matrix is current")
    return 1 if differ or failed else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])))
