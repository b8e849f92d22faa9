"""Shapes, weights and parameter counts of one LSTM time step, without a deep-learning framework."""

from __future__ import annotations

from .config import Config
from .errors import ConfigError, LstmShapesError, VerifyError
from .report import Report, build, trace

__version__ = "0.1.0"

__all__ = ["Config", "ConfigError", "LstmShapesError", "Report", "VerifyError", "__version__", "build", "trace"]
