"""Shapes, weights and parameter counts of one LSTM time step, without a deep-learning framework."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
    "Config", "ConfigError", "LstmShapesError", "Report", "VerifyError", "__version__", "build", "convert", "inspect", "parse",
    "render", "trace",
]


def parse(framework: str | Framework, tensors: Mapping[str, tuple[int, ...]]) -> Parse:
    """The configurations of `framework` whose weights are exactly `tensors` (name → shape), else the nearest."""
    from .parsing import parse as run  # imported on use: the command line never parses backward

    return run(framework, tensors)


def inspect(obj: object) -> Inspection:
    """The recurrent layers in a model file (a path), a mapping of names to shapes or arrays, or a live model."""
    from .inspection import inspect_object  # imported on use: tracing never reads files

    return inspect_object(obj)


def convert(mapping: Mapping[str, Any], *, target: str, source: str | None = None, prefix: str | None = None,
            forget_bias: float | None = None, reset_after: bool | None = None, check: bool = True,
            seed: int = 0) -> dict[str, Any]:
    """The recurrent layers in `mapping` (names → arrays) rewritten for the `target` framework: a dict of numpy arrays.

    `source` names the convention to read the names in where more than one fits; `forget_bias` is TF1's run-time
    constant (1.0 unless said); `reset_after` says where a GRU applies its reset gate when its tensors fit both; `check` proves the result with both conventions' numpy forward passes and raises
    `lstm_shapes.conversion.ProofError` if they differ. A conversion no weights can make exact raises
    `lstm_shapes.conversion.ConvertError` with the reason.
    """
    from .conversion import convert as run  # imported on use: tracing never converts

    return run(mapping, target=target, source=source, prefix=prefix, forget_bias=forget_bias, reset_after=reset_after,
               check=check, seed=seed)
