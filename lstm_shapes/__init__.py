"""Shapes, weights and parameter counts of one LSTM time step, without a deep-learning framework."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import Config
from .errors import ConfigError, LstmShapesError, VerifyError
from .report import Report, build, trace
# The function shadows its subpackage as an attribute of lstm_shapes; `from lstm_shapes.render import ...` still works.
from .render import render

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .frameworks import Framework
    from .inspection import Inspection
    from .parsing import Parse

__version__ = "0.1.0"

__all__ = [
    "Config", "ConfigError", "LstmShapesError", "Report", "VerifyError", "__version__", "build", "inspect", "parse", "render",
    "trace",
]


def parse(framework: str | Framework, tensors: Mapping[str, tuple[int, ...]]) -> Parse:
    """The configurations of `framework` whose weights are exactly `tensors` (name → shape), else the nearest."""
    from .parsing import parse as run  # imported on use: the command line never parses backward

    return run(framework, tensors)


def inspect(obj: object) -> Inspection:
    """The recurrent layers in a model file (a path), a mapping of names to shapes or arrays, or a live model."""
    from .inspection import inspect_object  # imported on use: tracing never reads files

    return inspect_object(obj)
