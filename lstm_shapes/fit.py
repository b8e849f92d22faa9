"""Sizing: the hidden size whose parameter count fits a budget best."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config import MAX_SIZE, Config
from .frameworks import DEFAULT, REGISTRY
from .errors import ConfigError
from .params import parts
from .report import CELL_NAMES, Report, build


# The largest budget: above every count a hidden size up to MAX_SIZE can give one layer.
MAX_BUDGET = 10**15


@dataclass(frozen=True)
class Fit:
    budget: int
    below: Report | None  # the largest hidden size whose count is within the budget
    above: Report | None  # the smallest hidden size whose count exceeds it

    def __repr__(self) -> str:
        example = self.below or self.above
        assert example is not None
        cfg = example.config
        best = f"hidden {self.below.config.hidden_text} ({self.below.total_params:,} params)" if self.below else "no hidden size fits"
        return f"<Fit {CELL_NAMES[cfg.cell]} {cfg.framework} x={cfg.input} budget {self.budget:,}: {best}>"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the budget, the best hidden size, and the sizes either side of it."""
        def side(report: Report | None) -> dict[str, int] | None:
            if report is None:
                return None
            return {"hidden": report.config.hidden, "total_params": report.total_params,
                    "difference": report.total_params - self.budget}

        best = self.below.config.hidden if self.below else None
        return {"budget": self.budget, "best_hidden": best, "within": side(self.below), "over": side(self.above)}


# A hidden-size pattern: one entry per layer, None where the search sets the size (`128,H`).
Pattern = tuple[int | None, ...]


def sizes(pattern: Pattern | None, h: int) -> int | tuple[int, ...]:
    """The hidden size(s) for a searched size `h`: h itself, or the pattern with h in its open places."""
    return h if pattern is None else tuple(h if size is None else size for size in pattern)


def count(options: dict[str, Any], hidden: int | tuple[int, ...]) -> int:
    config = Config(hidden=hidden, **options)
    return sum(part.params for part in parts(config))


def fit(budget: int, hidden: Pattern | None = None, **options: Any) -> Fit:
    """Search the hidden size for Config `options` (all but hidden); counts grow with it.

    `hidden`, if given, has one entry per layer: a size to keep, or None for the one searched (all of them by
    default), e.g. (128, None) for the largest second layer beside a first of 128.
    """
    if isinstance(budget, bool) or not isinstance(budget, int) or not 1 <= budget <= MAX_BUDGET:
        raise ConfigError("params", budget, f"a whole number from 1 to {MAX_BUDGET:,}")
    if hidden is not None:
        if not isinstance(hidden, tuple) or None not in hidden:
            raise ConfigError("hidden", hidden, "sizes with H (None) where fit searches, one per layer, e.g. 128,H")
        if len(hidden) > 1:
            options = {key: value for key, value in options.items() if key != "layers" or value not in (1, len(hidden))}
        else:
            hidden = None  # one layer, searched: the plain search
    low = 1
    proj = options.get("proj")
    name = options.get("framework", DEFAULT)
    fw = REGISTRY.get(name) if isinstance(name, str) else None  # Config says what is wrong with others
    if proj is not None and fw is not None and fw.proj_below_hidden:
        low = proj + 1  # the framework needs the projection narrower than the cell
    if low > MAX_SIZE:
        raise ConfigError("proj", proj, "", "{name} leaves no hidden size to search")
    if hidden is not None and fw is not None and fw.proj_below_hidden and proj is not None:
        kept = [size for size in hidden if size is not None]
        if kept and min(kept) <= proj:
            raise ConfigError("proj", proj, "", f"{{name}} must be smaller than every --hidden size in {fw.title}, "
                                                f"got {proj} beside {min(kept)}")
    if count(options, sizes(hidden, low)) > budget:  # an impossible combination says so here, before the search
        return Fit(budget, None, build(Config(hidden=sizes(hidden, low), **options)))
    if count(options, sizes(hidden, MAX_SIZE)) <= budget:
        return Fit(budget, build(Config(hidden=sizes(hidden, MAX_SIZE), **options)), None)
    lo, hi = low, MAX_SIZE  # count(lo) <= budget < count(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if count(options, sizes(hidden, mid)) <= budget:
            lo = mid
        else:
            hi = mid
    return Fit(budget, build(Config(hidden=sizes(hidden, lo), **options)), build(Config(hidden=sizes(hidden, hi), **options)))
