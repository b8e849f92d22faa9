"""Errors raised by the core; the command line maps them to exit codes."""

from __future__ import annotations


class LstmShapesError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(LstmShapesError, ValueError):
    """A configuration value is outside what is allowed."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(self.describe(field))

    def describe(self, name: str) -> str:
        """The message with the field called `name` (e.g. its command-line option)."""
        return f"{name} must be {self.allowed}, got {self.value!r}"


class VerifyError(LstmShapesError):
    """The numeric check cannot run for this configuration (e.g. it needs too much memory)."""
