"""Shell completion through the real entry point, as the README's lines set it up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def complete(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lstm_shapes"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **env})


def test_bash_source_prints_a_completion_function() -> None:
    done = complete(_LSTM_SHAPES_COMPLETE="bash_source")
    assert done.returncode == 0
    assert "_lstm_shapes_completion()" in done.stdout and "complete -o nosort -F _lstm_shapes_completion lstm-shapes" in done.stdout


def test_an_option_and_its_choices_complete() -> None:
    done = complete(_LSTM_SHAPES_COMPLETE="bash_complete", COMP_WORDS="lstm-shapes --fr", COMP_CWORD="1")
    assert done.stdout.split() == ["plain,--framework"]
    done = complete(_LSTM_SHAPES_COMPLETE="bash_complete", COMP_WORDS="lstm-shapes --framework ", COMP_CWORD="2")
    assert done.stdout.split() == ["plain,keras", "plain,pytorch", "plain,pytorch-cell", "plain,tf1", "plain,onnx", "plain,paddle", "plain,mlx", "plain,tf-keras", "plain,tf-keras-cudnn", "plain,flax", "plain,haiku", "plain,all"]
