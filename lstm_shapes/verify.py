"""Check a traced report with real numpy arrays: the only module that imports numpy.

The weights are built from the report's own shapes and run forward over a few time steps in
the framework's layout and gate order; every node's value must have the traced shape, and the
arrays' sizes must add up to the reported counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .conventions import convention
from .errors import VerifyError
from .graph import BATCH, Shape, format_shape

if TYPE_CHECKING:
    import numpy as np

    from .report import Report

# Above this the check would rather refuse than make the machine swap.
MEMORY_LIMIT = 4 * 2**30
BYTES = 4  # float32


@dataclass(frozen=True)
class Check:
    what: str
    expected: str
    actual: str

    @property
    def ok(self) -> bool:
        return self.expected == self.actual


@dataclass(frozen=True)
class Result:
    batch: int
    steps: int
    checks: tuple[Check, ...]

    @property
    def mismatches(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.ok)

    def lines(self) -> list[str]:
        head = f"verify: numpy forward pass, batch {self.batch}, {self.steps} time steps, float32"
        body = [
            f"  {'ok  ' if c.ok else 'FAIL'}  {c.what}: {c.expected}"
            + ("" if c.ok else f", got {c.actual}")
            for c in self.checks
        ]
        tail = f"verify: {len(self.checks)} checks, {len(self.mismatches)} mismatches"
        return [head, *body, tail]


def forward(report: Report, arrays: dict[str, np.ndarray], xs: np.ndarray) -> list[dict[str, np.ndarray]]:
    """Run the cell (and head) over xs of shape (B, T, x); one dict of node values per step."""
    import numpy as np

    cfg = report.config
    conv = convention(cfg.framework)
    role = {weight.role: arrays[weight.name] for weight in report.weights}
    # [h, x]·[U; W] is x·W + h·U: the gates read the concatenated input in one product.
    stacked = np.concatenate([role["recurrent_kernel"], role["kernel"]], axis=0)
    batch, steps, _ = xs.shape
    units = cfg.hidden
    h = np.zeros((batch, units), dtype=xs.dtype)
    c = np.zeros((batch, units), dtype=xs.dtype)
    out: list[dict[str, np.ndarray]] = []
    for t in range(steps):
        v = {"x_t": xs[:, t, :], "h_prev": h, "c_prev": c}
        v["hx_t"] = np.concatenate([h, v["x_t"]], axis=1)
        z = v["hx_t"] @ stacked + role["bias"]
        for k, gate in enumerate(conv.gates):
            block = z[:, k * units : (k + 1) * units]
            v[gate.node] = np.tanh(block) if gate.node == "g_t" else 1 / (1 + np.exp(-block))
        v["c_t"] = v["f_t"] * c + v["i_t"] * v["g_t"]
        v["h_t"] = v["o_t"] * np.tanh(v["c_t"])
        if cfg.out is not None:
            v["logits"] = v["h_t"] @ role["head_kernel"] + role["head_bias"]
            shifted = np.exp(v["logits"] - v["logits"].max(axis=1, keepdims=True))
            v["probs"] = shifted / shifted.sum(axis=1, keepdims=True)
        out.append(v)
        h, c = v["h_t"], v["c_t"]
    return out


def needed_bytes(report: Report, batch: int, steps: int) -> int:
    """A generous estimate of what the check allocates."""
    cfg = report.config
    stacked = (cfg.input + cfg.hidden) * 4 * cfg.hidden  # the [U; W] copy
    activations = steps * sum(_size(node.shape, batch) for node in report.nodes)
    return BYTES * (2 * report.total_params + stacked + activations)


def check_memory(report: Report, *, batch: int = 2, steps: int = 3) -> None:
    """Raise VerifyError if the check would allocate more than MEMORY_LIMIT."""
    need = needed_bytes(report, batch, steps)
    if need > MEMORY_LIMIT:
        raise VerifyError(
            f"--verify would need about {need / 2**30:,.1f} GiB of arrays for these sizes; "
            f"it allows up to {MEMORY_LIMIT // 2**30} GiB (the counts need no arrays: drop --verify)"
        )


def _size(shape: Shape, batch: int) -> int:
    total = 1
    for dim in shape:
        total *= batch if dim == BATCH else int(dim)
    return total


def concrete(shape: Shape, batch: int) -> Shape:
    return tuple(batch if dim == BATCH else dim for dim in shape)


def random_arrays(report: Report, seed: int = 0) -> dict[str, Any]:
    """float32 arrays of the report's weight shapes, scaled so activations stay moderate."""
    import numpy as np

    rng = np.random.default_rng(seed)
    arrays = {}
    for weight in report.weights:
        scale = 1 / max(1, weight.shape[0]) ** 0.5
        arrays[weight.name] = (rng.standard_normal(weight.shape, dtype=np.float32) * scale).astype(np.float32)
    return arrays


def verify(report: Report, *, batch: int = 2, steps: int = 3, seed: int = 0) -> Result:
    """Build arrays of the traced shapes, run them forward and compare with the report."""
    import numpy as np

    check_memory(report, batch=batch, steps=steps)
    arrays = random_arrays(report, seed)
    checks = [
        Check(f"weight {w.name}", f"{format_shape(w.shape)}, {_values(w.params)}", _describe(arrays[w.name]))
        for w in report.weights
    ]
    array_total = sum(int(a.size) for a in arrays.values())
    checks.append(Check("array sizes add up to total_params", f"{report.total_params:,}", f"{array_total:,}"))
    env = report.config.symbols
    for part in report.parts:
        in_part = sum(int(arrays[w.name].size) for w in report.weights if w.part == part.name)
        checks.append(
            Check(f"part {part.name}: {part.formula.render()}", f"{part.formula.evaluate(env):,}", f"{in_part:,}")
        )
    xs = np.random.default_rng(seed + 1).standard_normal((batch, steps, report.config.input), dtype=np.float32)
    try:
        values = forward(report, arrays, xs)
    except (ValueError, KeyError) as exc:  # a shape error in the traced layout
        checks.append(Check("forward pass", "runs", f"fails: {exc}"))
        return Result(batch, steps, tuple(checks))
    for node in report.nodes:
        expected = format_shape(concrete(node.shape, batch))
        seen = sorted({format_shape(step[node.id].shape) for step in values if node.id in step})
        actual = " / ".join(seen) or "missing"
        checks.append(Check(f"node {node.id} {format_shape(node.shape)} at every step", expected, actual))
    finite = all(bool(np.isfinite(value).all()) for step in values for value in step.values())
    checks.append(Check("every value finite", "yes", "yes" if finite else "no"))
    return Result(batch, steps, tuple(checks))


def _describe(array: np.ndarray) -> str:
    return f"{format_shape(tuple(array.shape))}, {_values(int(array.size))}"


def _values(n: int) -> str:
    return f"{n:,} value" + ("" if n == 1 else "s")
