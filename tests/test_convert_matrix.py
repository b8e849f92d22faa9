"""docs/convert.md against the tool: the committed conversion matrix, its session and its table of gate orders.

The matrix's numbers come from the real frameworks (.ci/convert-matrix.sh, in their venvs); here, without them,
every refusal in it must be the one `convert` gives today, every other cell a difference within the tolerance,
and no cell a FAIL. The session's commands are run and must print what the page shows.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "convert.md"
sys.path.insert(0, str(ROOT / "tests" / "convert_matrix"))
pytest.importorskip("numpy")

import matrix  # noqa: E402
import table  # noqa: E402

from lstm_shapes.conversion import ConvertError, target_config  # noqa: E402
from lstm_shapes.frameworks import REGISTRY  # noqa: E402

COMMITTED = table.table(PAGE)


def test_the_table_has_every_source_variant_and_every_target() -> None:
    assert list(COMMITTED) == [(REGISTRY[r.framework].title, r.variant) for r in matrix.rows()]
    assert all(list(cells) == list(matrix.FRAMEWORKS) for cells in COMMITTED.values())


def test_no_conversion_fails() -> None:
    failed = [(row, target, c) for row, cells in COMMITTED.items() for target, c in cells.items() if "FAIL" in c]
    assert failed == []


@pytest.mark.parametrize("row", matrix.rows(), ids=lambda r: f"{r.framework}-{r.slug}")
def test_each_refusal_is_what_convert_says_and_the_rest_are_within_the_tolerance(row: matrix.Row) -> None:
    cells = COMMITTED[(REGISTRY[row.framework].title, row.variant)]
    for target, cell in cells.items():
        try:
            target_config(row.config, target)
        except ConvertError as error:
            assert cell == f"refused: {table.reason(str(error))}", (target, str(error))
        else:
            assert table.NUMBER.fullmatch(cell) and float(cell) <= matrix.TOLERANCE, (target, cell)


def test_the_check_takes_another_machines_rounding_and_nothing_else() -> None:
    assert table.agree("1e-07", "6e-08") and table.agree("0", "6e-08")
    assert not table.agree("1e-07", "3e-06")  # a factor of 30
    assert not table.agree("2e-05", "2e-05".replace("2", "3"))  # over the tolerance
    assert not table.agree("refused: no projection", "1e-07")


def session() -> list[tuple[str, str]]:
    """The page's session: each `$ command` and what follows it."""
    text = PAGE.read_text(encoding="utf-8")
    body = text.split("<!-- convert-session -->", 1)[1].split("<!-- /convert-session -->", 1)[0]
    body = body.split("```console\n", 1)[1].rsplit("```", 1)[0]
    steps: list[tuple[str, str]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], ""))
        else:
            steps[-1] = (steps[-1][0], steps[-1][1] + line + "\n")
    return steps


def test_the_session_prints_what_the_page_shows(tmp_path: Path) -> None:
    pytest.importorskip("safetensors")
    shutil.copy(ROOT / "tests" / "files" / "numpy_lstm.npz", tmp_path / "lstm.npz")
    shutil.copy(ROOT / "tests" / "files" / "safetensors_gru_bf16.safetensors", tmp_path / "gru.safetensors")
    steps = session()
    assert len(steps) == 4
    for command, shown in steps:
        command = re.sub(r"^lstm-shapes ", f"{sys.executable} -m lstm_shapes ", command)
        command = re.sub(r"^python ", f"{sys.executable} ", command)
        done = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True,
                              env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"})
        assert done.stdout + done.stderr == shown, command
        assert done.returncode == (2 if "error:" in shown else 0), command


def test_the_gate_orders_are_each_frameworks() -> None:
    text = PAGE.read_text(encoding="utf-8").split("<!-- gate-orders -->", 1)[1].split("<!-- /gate-orders -->", 1)[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines() if line.startswith("| ")][2:]
    assert [(r[0], r[1].strip("`")) for r in rows] == [(fw.title, name) for name, fw in REGISTRY.items()]
    for title, name, lstm, gru, _ in rows:
        fw = REGISTRY[name.strip("`")]
        assert lstm.split() == [letter for _, letter in fw.gates["lstm"]], name
        assert gru.split() == [letter for _, letter in fw.gates["gru"]], name
