"""One configuration under every framework's convention, with the reason for each difference."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from collections.abc import Callable
from typing import Any

from .config import Config
from .errors import ConfigError
from .frameworks import NAMES
from .report import CELL_NAMES, Report, build

BIAS_WORDS = {0: "no bias", 1: "one bias per gate", 2: "two biases per gate"}
KIND_GROUPS = {"W": "input weights", "U": "recurrent weights", "b": "biases", "bx": "biases", "bh": "biases",
               "P": "peepholes", "proj": "projection", "head_W": "head", "head_b": "head"}


@dataclass(frozen=True)
class Entry:
    framework: str
    report: Report | None
    error: str | None  # why the framework cannot build this configuration
    difference: int | None  # against the baseline
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Comparison:
    baseline: str | None
    entries: tuple[Entry, ...]
    description: str

    def __repr__(self) -> str:
        counts = ", ".join(f"{e.framework} {e.report.total_params:,}" if e.report else f"{e.framework} -"
                           for e in self.entries)
        return f"<Comparison {self.description}: {counts} params>"


def _groups(report: Report) -> dict[str, int]:
    """Parameter counts by what they are (input weights, biases, ...), whatever the packing."""
    totals: dict[str, int] = {}
    for w in report.weights:
        for block in w.blocks:
            size = prod(w.block_shape(block)) * w.stacked_directions
            group = KIND_GROUPS[block.kind]
            totals[group] = totals.get(group, 0) + size
    return totals


def _reason(group: str, delta: int, entry: Report, base: Report) -> str:
    cfg, bcfg = entry.config, base.config
    who, whom = cfg.convention.title, bcfg.convention.title
    if group == "biases":
        nb, bnb = cfg.convention.biases_per_gate(cfg), bcfg.convention.biases_per_gate(bcfg)
        text = f"{who} keeps {BIAS_WORDS[nb]}{cfg.convention.bias_where(cfg)}; {whom} keeps {BIAS_WORDS[bnb]}"
    elif group == "peepholes":
        text = f"{who} has peephole weights (3 vectors of h)" if delta > 0 else f"{whom} has peephole weights"
    else:
        text = f"{who} has {'more' if delta > 0 else 'fewer'} {group} than {whom}"
    return f"{delta:+,}: {text}"


def compare(name_of: Callable[[ConfigError], str] = lambda exc: exc.field, *, explain: bool = False,
            show_cost: bool = False, **options: Any) -> Comparison:
    """The configuration given by Config's `options` (all but framework) under every framework.

    `name_of` names the field an error is about, e.g. by its command-line option; `explain` and
    `show_cost` are build()'s, for each framework.
    """
    kwargs = {key: value for key, value in options.items() if key != "framework"}
    built: list[tuple[str, Report | None, str | None]] = []
    for fw in NAMES:
        try:
            report = build(Config(**{**kwargs, "framework": fw}), explain=explain, show_cost=show_cost)
            built.append((fw, report, None))
        except ConfigError as exc:
            built.append((fw, None, exc.describe(name_of(exc))))
    available = [(fw, rep) for fw, rep, _ in built if rep is not None]
    baseline = available[0] if available else None
    entries = []
    for fw, rep, error in built:
        if rep is None or baseline is None:
            entries.append(Entry(fw, None, error, None, ()))
            continue
        base = baseline[1]
        mine, theirs = _groups(rep), _groups(base)
        reasons = tuple(
            _reason(group, mine.get(group, 0) - theirs.get(group, 0), rep, base)
            for group in sorted(set(mine) | set(theirs))
            if mine.get(group, 0) != theirs.get(group, 0)
        )
        entries.append(Entry(fw, rep, None, rep.total_params - base.total_params, reasons))
    description = CELL_NAMES.get(str(kwargs.get("cell", "lstm")), "LSTM")
    return Comparison(baseline[0] if baseline else None, tuple(entries), description)
