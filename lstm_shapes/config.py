"""The validated, frozen description of what to trace, and which frameworks allow what."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from .errors import ConfigError

# Larger sizes are almost surely typos; counts stay exact Python ints well past this.
MAX_SIZE = 10_000_000
MAX_LAYERS = 1_000
SIZE_RANGE = f"a whole number from 1 to {MAX_SIZE:,}"

CELLS = ("lstm", "gru", "rnn")
DTYPES = ("float32", "float16", "bfloat16", "int8")
FRAMEWORKS = ("keras", "pytorch", "tf1", "onnx")
TITLES = {"keras": "Keras 3 / TF2", "pytorch": "PyTorch", "tf1": "TF1", "onnx": "ONNX"}

# Which frameworks have each variant (for LSTM cells unless said otherwise).
HAS_PROJ = ("pytorch", "tf1")
HAS_PEEPHOLES = ("tf1", "onnx")
HAS_NO_BIAS = ("keras", "pytorch", "onnx")
# GRU: where the reset gate applies. "after" = r ⊙ (U·h + b): Keras reset_after=True, PyTorch,
# ONNX linear_before_reset=1. "before" = U·(r ⊙ h): Keras reset_after=False, TF1, ONNX's default.
RESET_AFTER_CHOICES = {"keras": (True, False), "pytorch": (True,), "tf1": (False,), "onnx": (False, True)}
RESET_AFTER_DEFAULT = {"keras": True, "pytorch": True, "tf1": False, "onnx": False}
BATCH_FIRST_CHOICES = {"keras": (True,), "pytorch": (False, True), "tf1": (True, False), "onnx": (False, True)}
BATCH_FIRST_DEFAULT = {"keras": True, "pytorch": False, "tf1": True, "onnx": False}
# The dense head: its activation (softmax needs two or more outputs to mean anything) and what it
# reads. "last-step" is the top layer's output at the last time step (PyTorch's output[-1]);
# "final-states" is each direction's final h (PyTorch's h_n[-D:], Keras' Bidirectional output).
# They differ only with a backward direction, whose last-step output has seen one step.
HEAD_ACTIVATIONS = ("softmax", "sigmoid", "none")
HEAD_READS = ("last-step", "final-states")
HEAD_READS_DEFAULT = {"keras": "final-states", "pytorch": "last-step", "tf1": "last-step", "onnx": "last-step"}


def check_size(field: str, value: object, *, optional: bool = False, limit: int = MAX_SIZE) -> int | None:
    """Return `value` as a size, or raise ConfigError naming `field`."""
    if value is None and optional:
        return None
    allowed = f"a whole number from 1 to {limit:,}" + (" (or none, for no head)" if field == "out" else "")
    # bool is an int subclass; True as a size is a bug in the caller, not 1.
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise ConfigError(field, value, allowed)
    return value


def check_choice(field: str, value: object, choices: tuple[str, ...]) -> str:
    """Return `value` if it is one of `choices`, else raise ConfigError."""
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(field, value, "one of " + ", ".join(choices))
    return value


def names(frameworks: tuple[str, ...]) -> str:
    return " and ".join(", ".join(TITLES[f] for f in frameworks).rsplit(", ", 1))


def unsupported(field: str, value: object, what: str) -> ConfigError:
    return ConfigError(field, value, "", "{name} " + what)


@dataclass(frozen=True)
class Config:
    """Sizes and choices for one traced model; combinations a framework lacks cannot be built.

    `reset_after` and `batch_first` left as None take the framework's own default.
    """

    input: int
    hidden: int
    out: int | None = None
    cell: str = "lstm"
    framework: str = "keras"
    proj: int | None = None
    peepholes: bool = False
    layers: int = 1
    bidirectional: bool = False
    bias: bool = True
    batch: int | None = None
    seq_len: int | None = None
    reset_after: bool | None = None
    batch_first: bool | None = None
    dtype: str = "float32"
    head_activation: str | None = None
    head_bias: bool = True
    head_reads: str | None = None

    def __post_init__(self) -> None:
        check_size("input", self.input)
        check_size("hidden", self.hidden)
        check_size("out", self.out, optional=True)
        check_size("proj", self.proj, optional=True)
        check_size("layers", self.layers, limit=MAX_LAYERS)
        check_size("batch", self.batch, optional=True)
        check_size("seq_len", self.seq_len, optional=True)
        check_choice("cell", self.cell, CELLS)
        check_choice("framework", self.framework, FRAMEWORKS)
        check_choice("dtype", self.dtype, DTYPES)
        if self.head_activation is not None:
            check_choice("head_activation", self.head_activation, HEAD_ACTIVATIONS)
        if self.head_reads is not None:
            check_choice("head_reads", self.head_reads, HEAD_READS)
        for flag in ("peepholes", "bidirectional", "bias", "head_bias"):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigError(flag, getattr(self, flag), "True or False")
        for flag in ("reset_after", "batch_first"):
            if getattr(self, flag) not in (None, True, False):
                raise ConfigError(flag, getattr(self, flag), "True, False or None")
        self._check_variants()
        # Fill in the framework's defaults so that every later reader sees a plain bool.
        if self.cell == "gru" and self.reset_after is None:
            object.__setattr__(self, "reset_after", RESET_AFTER_DEFAULT[self.framework])
        if self.batch_first is None:
            object.__setattr__(self, "batch_first", BATCH_FIRST_DEFAULT[self.framework])
        if self.out is not None:
            if self.head_activation is None:
                object.__setattr__(self, "head_activation", "softmax" if self.out >= 2 else "none")
            if self.head_reads is None:
                object.__setattr__(self, "head_reads", HEAD_READS_DEFAULT[self.framework])

    def _check_variants(self) -> None:
        fw, title, cell = self.framework, TITLES[self.framework], self.cell
        if self.out is None:
            for field, value, default in (("head_activation", self.head_activation, None),
                                          ("head_bias", self.head_bias, True), ("head_reads", self.head_reads, None)):
                if value != default:
                    raise unsupported(field, value, "describes the dense head; add one with --out N")
        if self.proj is not None:
            if cell != "lstm":
                raise unsupported("proj", self.proj, f"is for LSTM cells only (a projection of h_t), not {cell}")
            if fw not in HAS_PROJ:
                raise unsupported("proj", self.proj, f"is not available in {title}; {names(HAS_PROJ)} have a projection")
            if fw == "pytorch" and self.proj >= self.hidden:
                raise ConfigError(
                    "proj", self.proj, "", f"{{name}} must be smaller than --hidden ({self.hidden}) in PyTorch, got {self.proj}"
                )
        if self.peepholes:
            if cell != "lstm":
                raise unsupported("peepholes", True, f"are for LSTM cells only, not {cell}")
            if fw not in HAS_PEEPHOLES:
                raise unsupported("peepholes", True, f"are not available in {title}; {names(HAS_PEEPHOLES)} have them")
        if not self.bias and fw not in HAS_NO_BIAS:
            raise unsupported("bias", False, f"is not available in {title}, whose cells always have a bias; {names(HAS_NO_BIAS)} can drop it")
        if self.reset_after is not None:
            if cell != "gru":
                raise unsupported("reset_after", self.reset_after, f"is for GRU cells only, not {cell}")
            if self.reset_after not in RESET_AFTER_CHOICES[fw]:
                have = tuple(f for f, choices in RESET_AFTER_CHOICES.items() if self.reset_after in choices)
                where = "after" if not self.reset_after else "before"
                raise unsupported(
                    "reset_after", self.reset_after,
                    f"is not available in {title}, whose GRU always applies the reset gate {where} the recurrent "
                    f"product; {names(have)} have it",
                )
        if self.batch_first is not None and self.batch_first not in BATCH_FIRST_CHOICES[fw]:
            have = tuple(f for f, choices in BATCH_FIRST_CHOICES.items() if self.batch_first in choices)
            raise unsupported(
                "batch_first", self.batch_first, f"is not available in {title}, which takes batch-first input only; {names(have)} have it"
            )

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def recurrent(self) -> int:
        """r: the width of h_t, which is the projection size when there is one."""
        return self.proj if self.proj is not None else self.hidden

    @property
    def gates(self) -> int:
        return {"lstm": 4, "gru": 3, "rnn": 1}[self.cell]

    def layer_input(self, layer: int) -> int:
        """What layer `layer` reads: x_t for the first, the previous layer's D·r output after."""
        return self.input if layer == 0 else self.directions * self.recurrent

    @cached_property
    def symbols(self) -> dict[str, int]:
        """The values of the symbols that formulas use."""
        values = {"x": self.input, "h": self.hidden}
        if self.proj is not None:
            values["p"] = self.proj
        if self.out is not None:
            values["o"] = self.out
        return values
