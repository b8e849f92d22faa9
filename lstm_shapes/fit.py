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
        best = f"hidden {self.below.config.hidden} ({self.below.total_params:,} params)" if self.below else "no hidden size fits"
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


def count(options: dict[str, Any], hidden: int) -> int:
    config = Config(hidden=hidden, **options)
    return sum(part.params for part in parts(config))


def fit(budget: int, **options: Any) -> Fit:
    """Search the hidden size for Config `options` (all but hidden); counts grow with it."""
    if isinstance(budget, bool) or not isinstance(budget, int) or not 1 <= budget <= MAX_BUDGET:
        raise ConfigError("params", budget, f"a whole number from 1 to {MAX_BUDGET:,}")
    low = 1
    proj = options.get("proj")
    name = options.get("framework", DEFAULT)
    fw = REGISTRY.get(name) if isinstance(name, str) else None  # Config says what is wrong with others
    if proj is not None and fw is not None and fw.proj_below_hidden:
        low = proj + 1  # the framework needs the projection narrower than the cell
    if low > MAX_SIZE:
        raise ConfigError("proj", proj, "", "{name} leaves no hidden size to search")
    if count(options, low) > budget:  # an impossible combination says so here, before the search
        return Fit(budget, None, build(Config(hidden=low, **options)))
    if count(options, MAX_SIZE) <= budget:
        return Fit(budget, build(Config(hidden=MAX_SIZE, **options)), None)
    lo, hi = low, MAX_SIZE  # count(lo) <= budget < count(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if count(options, mid) <= budget:
            lo = mid
        else:
            hi = mid
    return Fit(budget, build(Config(hidden=lo, **options)), build(Config(hidden=hi, **options)))
