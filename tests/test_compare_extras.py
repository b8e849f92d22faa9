"""`--framework all` with --explain and --cost shows them for every framework instead of dropping them."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from lstm_shapes.cli import main_command
from lstm_shapes.frameworks import NAMES

ALL = ["--input", "4", "--hidden", "2", "--framework", "all"]
TITLES = ("Keras 3 / TF2", "PyTorch", "TF1", "ONNX")


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main_command, [*ALL, *args], prog_name="lstm-shapes")


def test_explain_shows_each_frameworks_own_equations() -> None:
    out = run("--explain", "--format", "text").stdout
    # Keras multiplies by its (x, 4h) kernel as stored; PyTorch's docs write W_ii·x, i.e. x·W_iiᵀ.
    assert re.search(r"^Keras 3 / TF2\s+i_t\s+i_t = σ\(x_t·W_i \+ h_\{t-1\}·U_i \+ b_i\)", out, re.M)
    assert re.search(r"^PyTorch\s+i_t\s+i_t = σ\(x_t·W_iiᵀ \+ h_\{t-1\}·W_hiᵀ \+ b_ii \+ b_hi\)", out, re.M)
    for title in TITLES:
        assert re.search(rf"^{re.escape(title)}\s+c_t\s", out, re.M), title


@pytest.mark.parametrize("fmt", ["text", "markdown", "org", "latex"])
def test_cost_shows_every_frameworks_macs(fmt: str) -> None:
    result = run("--cost", "--format", fmt)
    assert result.exit_code == 0, result.stderr
    # 4 gates, each an (x+h) by h product: 4·2·(4+2) = 48 multiply-accumulates, whatever the packing.
    for title in ("Keras 3 / TF2", "PyTorch", "PyTorch cell", "TF1", "ONNX", "Flax"):
        assert re.search(rf"^\W*{re.escape(title)}\W+matrix-product MACs per time step.*\b48\b", result.stdout, re.M), title


def test_json_holds_each_frameworks_equations_and_cost() -> None:
    data = json.loads(run("--explain", "--cost", "--format", "json").stdout)
    assert [f["framework"] for f in data["frameworks"]] == list(NAMES)  # every framework, in the registry's order
    for entry in data["frameworks"]:
        # x_t, h_prev, c_prev, hx_t, the four gates, c_t and h_t.
        assert len(entry["report"]["equations"]) == 10
        assert entry["report"]["cost"]["macs_per_step"] == 48


@pytest.mark.parametrize("option", ["--explain", "--cost"])
def test_csv_refuses_rather_than_drops(option: str) -> None:
    result = run(option, "--format", "csv")
    assert result.exit_code == 2
    assert result.stderr.startswith("lstm-shapes: error: --framework all --format csv is one row per framework")
