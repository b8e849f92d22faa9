"""Errors raised by the core; the command line maps them to exit codes."""

from __future__ import annotations


class LstmShapesError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(LstmShapesError, ValueError):
    """A configuration value, or a combination of them, is not allowed."""

    def __init__(self, field: str, value: object, allowed: str, template: str | None = None) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        # `template` words the whole message, with {name} where the field's name goes.
        self.template = template
        super().__init__(self.describe(field))

    def describe(self, name: str) -> str:
        """The message with the field called `name` (e.g. its command-line option)."""
        if self.template is not None:
            return self.template.format(name=name)
        return f"{name} must be {self.allowed}, got {self.value!r}"


class VerifyError(LstmShapesError):
    """The numeric check cannot run for this configuration (e.g. it needs too much memory)."""


class FileFormatError(LstmShapesError):
    """A model file cannot be read: missing, not the format its name says, damaged, or needing an absent library."""
