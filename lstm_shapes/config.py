"""The validated, frozen description of what to trace."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError

# Larger sizes are almost surely typos; counts stay exact Python ints well past this.
MAX_SIZE = 10_000_000
SIZE_RANGE = f"a whole number from 1 to {MAX_SIZE:,}"

CELLS = ("lstm",)
FRAMEWORKS = ("keras",)


def check_size(field: str, value: object, *, optional: bool = False) -> int | None:
    """Return `value` as a size, or raise ConfigError naming `field`."""
    if value is None and optional:
        return None
    allowed = SIZE_RANGE + (" (or none, for no head)" if optional else "")
    # bool is an int subclass; True as a size is a bug in the caller, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(field, value, allowed)
    if not 1 <= value <= MAX_SIZE:
        raise ConfigError(field, value, allowed)
    return value


def check_choice(field: str, value: object, choices: tuple[str, ...]) -> str:
    """Return `value` if it is one of `choices`, else raise ConfigError."""
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(field, value, "one of " + ", ".join(choices))
    return value


@dataclass(frozen=True)
class Config:
    """Sizes and choices for one traced cell; invalid values cannot be built."""

    input: int
    hidden: int
    out: int | None = None
    cell: str = "lstm"
    framework: str = "keras"

    def __post_init__(self) -> None:
        check_size("input", self.input)
        check_size("hidden", self.hidden)
        check_size("out", self.out, optional=True)
        check_choice("cell", self.cell, CELLS)
        check_choice("framework", self.framework, FRAMEWORKS)

    @property
    def symbols(self) -> dict[str, int]:
        """The values of the symbols that formulas use."""
        values = {"x": self.input, "h": self.hidden}
        if self.out is not None:
            values["o"] = self.out
        return values
