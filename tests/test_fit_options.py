"""`lstm-shapes fit`: every option it offers changes the answer (or whether there is one), and its stated range is its
real range."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from lstm_shapes.subcommands import fit_command


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(fit_command, list(args), prog_name="lstm-shapes fit")


def stated_limit() -> int:
    """The largest budget --params says it takes, read from the help a user sees."""
    help_text = " ".join(run("--help").stdout.split())
    found = re.search(r"--params N The parameter budget: a whole number from 1 to ([\d,]+)\.", help_text)
    assert found, help_text
    return int(found.group(1).replace(",", ""))


def test_params_takes_exactly_the_range_its_help_states() -> None:
    limit = stated_limit()
    assert run("--params", str(limit), "--input", "4").exit_code == 0
    over = run("--params", str(limit + 1), "--input", "4")
    assert over.exit_code == 2
    assert over.stderr.strip() == f"lstm-shapes: error: --params must be a whole number from 1 to {limit:,}, got {limit + 1}"


def test_a_missing_params_states_the_same_range() -> None:
    missing = run("--input", "4")
    assert missing.exit_code == 2
    assert missing.stderr.strip() == f"lstm-shapes: error: --params is required: a whole number from 1 to {stated_limit():,}"


def test_fit_does_not_offer_framework_all() -> None:
    assert "all" not in re.search(r"--framework \[([^\]]*)\]", run("--help").stdout).group(1)  # type: ignore[union-attr]
    result = run("--params", "1000", "--input", "4", "--framework", "all")
    assert result.exit_code == 2
    assert result.stderr.strip() == ("lstm-shapes: error: Invalid value for '--framework': fit sizes one framework at a "
                                     "time; pick one of keras, pytorch, pytorch-cell, tf1, onnx, paddle, mlx, tf-keras, tf-keras-cudnn, flax, haiku")


# None of these changes a parameter count, so fit has no use for them.
@pytest.mark.parametrize("option", [["--dtype", "int8"], ["--batch", "3"], ["--seq-len", "5"], ["--batch-first"],
                                    ["--time-major"], ["--head-activation", "sigmoid"]])
def test_options_that_change_no_count_are_not_offered(option: list[str]) -> None:
    result = run("--params", "1000", "--input", "4", "--out", "2", *option)
    assert result.exit_code == 2
    assert f"No such option '{option[0]}'" in result.stderr


def test_no_head_bias_changes_the_fit() -> None:
    # Keras LSTM x=4 with a head of 2: 4·(h·(4+h)+h) + 2·h (+ 2 head biases). At h=10 that is
    # 600 + 20 = 620 without the head's biases and 622 with them, so a budget of 620 fits h=10 only
    # without them; with them the best is h=9 (4·(9·13+9) + 2·9 + 2 = 524).
    without = run("--params", "620", "--input", "4", "--out", "2", "--no-head-bias", "--format", "json")
    with_bias = run("--params", "620", "--input", "4", "--out", "2", "--format", "json")
    assert '"best_hidden": 10' in without.stdout and '"total_params": 620' in without.stdout
    assert '"best_hidden": 9' in with_bias.stdout and '"total_params": 524' in with_bias.stdout


@pytest.mark.parametrize("reads", ["last-step", "final-states", "every-step"])
def test_head_reads_is_taken_and_changes_no_count(reads: str) -> None:
    # What the head reads leaves its weights alone: the Keras budget of 620 above fits h=9 (524) for each.
    done = run("--params", "620", "--input", "4", "--out", "2", "--head-reads", reads, "--format", "json")
    assert done.exit_code == 0, done.stderr
    assert '"best_hidden": 9' in done.stdout and '"total_params": 524' in done.stdout


def test_a_head_on_every_step_is_refused_where_the_framework_cannot_have_it() -> None:
    # A cell takes one step per call, so fit has no model to size: one line, exit 2.
    done = run("--params", "620", "--input", "4", "--out", "2", "--framework", "pytorch-cell", "--head-reads", "every-step")
    assert done.exit_code == 2
    assert done.stderr.startswith("lstm-shapes: error: --head-reads every-step is not available in PyTorch cell")
    assert done.stderr.count("\n") == 1
