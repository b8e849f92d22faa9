"""Check a traced report with real numpy arrays: the only module that imports numpy.

Arrays of the report's own weight shapes are cut into per-gate blocks exactly as the report's
slices say, in the framework's layout and gate order, and run forward over a few time steps, every
layer and direction; every node's value must have the traced shape, every returned tensor the
shape the report gives it, and the arrays' sizes must add up to the reported counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import VerifyError
from .frameworks.base import merge
from .graph import format_shape, layer_prefix

if TYPE_CHECKING:
    import numpy as np

    from .params import Block, Weight
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
        head = f"verify: numpy forward pass, batch {self.batch}, {self.steps} time step{'' if self.steps == 1 else 's'}, float32"
        body = [
            f"  {'ok  ' if c.ok else 'FAIL'}  {c.what}: {c.expected}" + ("" if c.ok else f", got {c.actual}")
            for c in self.checks
        ]
        tail = f"verify: {len(self.checks)} checks, {len(self.mismatches)} mismatches"
        return [head, *body, tail]


# --- Reading the framework's tensors as per-gate blocks ----------------------------------------


def _take(array: np.ndarray, block: Block, direction: int, *, stored: bool = False) -> Any:
    """The block in the step's orientation (W as (in, h)); `stored` keeps it as the tensor holds it (a view)."""
    index: Any = tuple(
        slice(None) if item is None else slice(*item) if isinstance(item, tuple) else direction if item == "d" else item
        for item in block.at
    )
    piece = array[index]
    if stored:
        return piece
    if block.cudnn:  # cuDNN's (out, in) matrix in the block's C-order elements: a copy, not a view
        rows, cols = piece.shape
        return piece.copy().reshape(cols, rows).T
    return piece.T if block.transposed else piece


def _cell_params(report: Report, arrays: dict[str, np.ndarray], layer: int, direction: int) -> dict[str, Any]:
    """{kind: {gate node: canonical array}} for one layer and direction.

    Canonical orientation: W (in, h), U (r, h), biases and peepholes (h,), projection (h, p).
    """
    params: dict[str, Any] = {}
    for w in report.weights:
        if w.layer != layer or (w.direction is not None and w.direction != direction):
            continue
        for block in w.blocks:
            piece = _take(arrays[w.name], block, direction)
            if block.kind == "proj":
                params["proj"] = piece
            else:
                params.setdefault(block.kind, {})[block.gate] = piece
    return params


def _head(report: Report, arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, Any]:
    """The head's kernel as (in, out) and its bias, or 0 for a head without one."""
    found: dict[str, Any] = {"head_b": 0}
    for w in report.weights:
        for block in w.blocks:
            if block.kind.startswith("head_"):
                found[block.kind] = _take(arrays[w.name], block, 0)
    return found["head_W"], found["head_b"]


def _activate(report: Report, logits: np.ndarray) -> Any:
    """The head's activation applied to logits, or None for a linear head."""
    import numpy as np

    if report.config.head_activation == "softmax":  # over the outputs, the last axis, at every step too
        shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)
    if report.config.head_activation == "sigmoid":
        return _sigmoid(logits)
    return None


# --- The cells ----------------------------------------------------------------------------------


def _sigmoid(v: np.ndarray) -> Any:
    import numpy as np

    return 1 / (1 + np.exp(-v))


class _Cell:
    """One layer and direction: runs a step and records every node's value."""

    def __init__(self, report: Report, params: dict[str, Any]) -> None:
        self.cfg = report.config
        self.p = params

    def _bias(self, gate: str) -> Any:
        total: Any = 0
        for kind in ("b", "bx", "bh"):
            if gate in self.p.get(kind, {}):
                total = total + self.p[kind][gate]
        return total

    def _pre(self, gate: str, x: np.ndarray, h: np.ndarray) -> Any:
        return x @ self.p["W"][gate] + h @ self.p["U"][gate] + self._bias(gate)

    def step(self, x: np.ndarray, h: np.ndarray, c: np.ndarray | None) -> dict[str, np.ndarray]:
        import numpy as np

        cell = self.cfg.cell
        v: dict[str, np.ndarray] = {"x_t": x, "h_prev": h}
        cat_id = self.cfg.convention.concat + "_t"
        v[cat_id] = np.concatenate([x, h] if cat_id == "xh_t" else [h, x], axis=1)
        if cell == "lstm":
            assert c is not None
            v["c_prev"] = c
            peep = self.p.get("P", {})
            pre_i = self._pre("i_t", x, h) + (c * peep["i_t"] if "i_t" in peep else 0)
            pre_f = self._pre("f_t", x, h) + (c * peep["f_t"] if "f_t" in peep else 0)
            pre_f = pre_f + self.cfg.convention.forget_bias
            v["i_t"], v["f_t"] = _sigmoid(pre_i), _sigmoid(pre_f)
            v["g_t"] = np.tanh(self._pre("g_t", x, h))
            v["c_t"] = v["f_t"] * c + v["i_t"] * v["g_t"]
            pre_o = self._pre("o_t", x, h) + (v["c_t"] * peep["o_t"] if "o_t" in peep else 0)
            v["o_t"] = _sigmoid(pre_o)
            m = v["o_t"] * np.tanh(v["c_t"])
            if "proj" in self.p:
                v["m_t"] = m
                v["h_t"] = m @ self.p["proj"]
            else:
                v["h_t"] = m
        elif cell == "gru":
            v["r_t"] = _sigmoid(self._pre("r_t", x, h))
            v["z_t"] = _sigmoid(self._pre("z_t", x, h))
            bx = self.p.get("b", {}).get("n_t", 0) + self.p.get("bx", {}).get("n_t", 0)
            bh = self.p.get("bh", {}).get("n_t", 0)
            W, U = self.p["W"]["n_t"], self.p["U"]["n_t"]
            if self.cfg.reset_after:
                v["n_t"] = np.tanh(x @ W + bx + v["r_t"] * (h @ U + bh))
            else:
                v["n_t"] = np.tanh(x @ W + bx + (v["r_t"] * h) @ U + bh)
            keep = v["z_t"] if self.cfg.convention.gru_z_keeps else 1 - v["z_t"]  # the share of h_prev kept
            v["h_t"] = keep * h + (1 - keep) * v["n_t"]
        else:
            pre = self._pre("h_t", x, h)
            v["h_t"] = np.tanh(pre) if self.cfg.convention.rnn_activation == "tanh" else np.maximum(pre, 0)
        return v


@dataclass
class _Run:
    steps: list[dict[str, np.ndarray]]  # node values per time step (forward direction; prefixed ids)
    backward: list[dict[str, np.ndarray]]  # the same for the backward direction, in its own order
    layer_outputs: list[np.ndarray]  # per layer (T, N, D·r), time-major
    finals: list[list[tuple[Any, Any]]]  # [layer][direction] = (h, c or None)
    logits: np.ndarray | None  # (N, o), or (T, N, o) time-major for a head on every step


def _run(report: Report, arrays: dict[str, np.ndarray], xs: np.ndarray,
         initial: list[list[tuple[Any, Any]]] | None = None) -> _Run:
    """Run every layer and direction over xs of shape (T, N, x), time-major, from zero states or `initial`."""
    import numpy as np

    cfg = report.config
    steps_n, batch = xs.shape[0], xs.shape[1]
    per_step: list[dict[str, np.ndarray]] = [{} for _ in range(steps_n)]
    per_step_back: list[dict[str, np.ndarray]] = [{} for _ in range(steps_n)]
    finals: list[list[tuple[Any, Any]]] = []
    outputs: list[np.ndarray] = []
    layer_in = xs
    for k in range(cfg.layers):
        prefix = layer_prefix(cfg, k)
        outs_by_dir = []
        finals.append([])
        for d in range(cfg.directions):
            cell = _Cell(report, _cell_params(report, arrays, k, d))
            h = np.zeros((batch, cfg.layer_recurrent(k)), dtype=xs.dtype)
            c = np.zeros((batch, cfg.layer_hidden(k)), dtype=xs.dtype) if cfg.cell == "lstm" else None
            if initial is not None:
                h, c = initial[k][d]
            seq_out: list[Any] = [None] * steps_n
            order = range(steps_n) if d == 0 else reversed(range(steps_n))
            for i, t in enumerate(order):
                v = cell.step(layer_in[t], h, c)
                record = per_step[t] if d == 0 else per_step_back[i]
                record.update({prefix + key: value for key, value in v.items()})
                h = v["h_t"]
                c = v.get("c_t")
                seq_out[t] = h
            finals[k].append((h, c))
            outs_by_dir.append(np.stack(seq_out))
        layer_out = merge(cfg, outs_by_dir, np)
        if cfg.directions > 1:
            for t in range(steps_n):
                per_step[t][prefix + "y_t"] = layer_out[t]
        outputs.append(layer_out)
        layer_in = layer_out
    logits = None
    if cfg.out is not None:
        W, b = _head(report, arrays)
        if cfg.head_reads == "final-states":
            # Each direction's final state: the backward one is its state after the first time step.
            last = merge(cfg, [finals[-1][d][0] for d in range(cfg.directions)], np)
        elif cfg.head_reads == "every-step":
            last = outputs[-1]  # (T, N, width): the product applies at every step
        else:
            last = outputs[-1][-1]
        logits = last @ W + b
        for t in range(steps_n):
            step_logits = outputs[-1][t] @ W + b  # the node graph's head reads each step's output
            per_step[t]["logits"] = step_logits
            probs = _activate(report, step_logits)
            if probs is not None:
                per_step[t]["probs"] = probs
    return _Run(per_step, per_step_back, outputs, finals, logits)


def _time_major(report: Report, xs: np.ndarray) -> np.ndarray:
    return report.config.convention.time_major(report.config, xs)


def _initial(report: Report, state: dict[str, np.ndarray] | None) -> list[list[tuple[Any, Any]]] | None:
    return None if state is None else report.config.convention.initial_state(report.config, state)


def forward(report: Report, arrays: dict[str, np.ndarray], xs: np.ndarray) -> list[dict[str, np.ndarray]]:
    """Run the model over xs of shape (B, T, x); one dict of node values per time step.

    With several layers the ids carry their layer's prefix (`l1.h_t`); the values are those of the
    forward direction.
    """
    return _run(report, arrays, xs.transpose(1, 0, 2)).steps


def run_sequence(report: Report, arrays: dict[str, np.ndarray], xs: np.ndarray,
                 state: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Run the model over xs in the framework's input layout; the tensors the framework returns.

    `state` holds the framework's `state_inputs` (a cell's h_0, c_0) by name; without it states start at zero.
    """
    import numpy as np

    cfg = report.config
    run = _run(report, arrays, _time_major(report, xs), _initial(report, state))
    out: dict[str, np.ndarray] = cfg.convention.returned(cfg, run, np)
    if run.logits is not None:
        out["logits"] = cfg.convention.in_layout(cfg, run.logits) if run.logits.ndim == 3 else run.logits
        probs = _activate(report, out["logits"])
        if probs is not None:
            out["probs"] = probs
    return out


# --- The check ----------------------------------------------------------------------------------


def needed_bytes(report: Report, batch: int, steps: int) -> int:
    """A generous estimate of what the check allocates."""
    cfg = report.config
    widths = sum(int(n.shape[-1]) for n in report.nodes)
    activations = steps * batch * widths * cfg.directions * 2
    return BYTES * (2 * report.total_params + activations)


def check_memory(report: Report, *, batch: int = 2, steps: int = 3) -> None:
    """Raise VerifyError if the check would allocate more than MEMORY_LIMIT."""
    need = needed_bytes(report, batch, steps)
    if need > MEMORY_LIMIT:
        raise VerifyError(
            f"--verify would need about {need / 2**30:,.1f} GiB of arrays for these sizes; "
            f"it allows up to {MEMORY_LIMIT // 2**30} GiB (the counts need no arrays: drop --verify)"
        )


def random_arrays(report: Report, seed: int = 0) -> dict[str, Any]:
    """float32 arrays of the report's weight shapes, scaled so activations stay moderate."""
    import numpy as np

    rng = np.random.default_rng(seed)
    arrays = {}
    for w in report.weights:
        scale = 1 / max(1, min(w.shape)) ** 0.5
        arrays[w.name] = (rng.standard_normal(w.shape, dtype=np.float32) * scale).astype(np.float32)
    return arrays


def sizes(report: Report) -> tuple[int, int]:
    """The batch and number of steps the check runs: the configured ones, or 2 and 3."""
    cfg = report.config
    return (cfg.batch or 2, cfg.seq_len or 3)


def verify(report: Report, *, batch: int | None = None, steps: int | None = None, seed: int = 0) -> Result:
    """Build arrays of the traced shapes, run them forward and compare with the report."""
    import numpy as np

    cfg = report.config
    # Sizes the report fixes win: its shapes hold them as numbers.
    batch = cfg.batch or batch or sizes(report)[0]
    steps = cfg.seq_len or steps or sizes(report)[1]
    check_memory(report, batch=batch, steps=steps)
    arrays = random_arrays(report, seed)
    checks = [_block_shapes(report, w, arrays[w.name]) for w in report.weights]
    checks += [_coverage(w) for w in report.weights]
    env = cfg.symbols
    array_total = sum(int(a.size) for a in arrays.values())
    by_formulas = sum(part.formula.evaluate(env) for part in report.parts)
    checks.append(Check("array sizes add up to the parts' formulas", f"{by_formulas:,}", f"{array_total:,}"))
    for part in report.parts:
        in_part = sum(int(arrays[w.name].size) for w in report.weights if w.part == part.name)
        checks.append(
            Check(f"part {part.name}: {part.formula.render()}", f"{part.formula.evaluate(env):,}", f"{in_part:,}")
        )
    def dims(shape: tuple[object, ...]) -> tuple[Any, ...]:
        return tuple(batch if d == "B" else steps if d == "T" else d for d in shape)

    def concrete(shape: tuple[object, ...]) -> str:
        return format_shape(dims(shape))

    rng = np.random.default_rng(seed + 1)
    # The input is the sequence table's first tensor, in the framework's layout; a cell's given state is random.
    xs = rng.standard_normal(dims(report.sequence[0].shape), dtype=np.float32)
    taken = {t.name: t for t in report.sequence if t.name in cfg.convention.state_inputs}
    state = {name: rng.standard_normal(dims(t.shape), dtype=np.float32) for name, t in taken.items()} or None
    try:
        run = _run(report, arrays, _time_major(report, xs), _initial(report, state))
        outs = run_sequence(report, arrays, xs, state)
    except (ValueError, KeyError, IndexError, TypeError) as exc:  # a shape error in the traced layout
        checks.append(Check("forward pass", "runs", f"fails: {type(exc).__name__}: {exc}"))
        return Result(batch, steps, tuple(checks))

    for node in report.nodes:
        seen = sorted(
            {format_shape(s[node.id].shape) for s in run.steps + run.backward if node.id in s}
        )
        checks.append(Check(f"node {node.id} {format_shape(node.shape)} at every step", concrete(node.shape),
                            " / ".join(seen) or "missing"))
    for tensor in report.sequence:
        if tensor is report.sequence[0] or tensor.name in taken:
            continue
        got = format_shape(outs[tensor.name].shape) if tensor.name in outs else "missing"
        checks.append(Check(f"returns {tensor.name} {format_shape(tensor.shape)}", concrete(tensor.shape), got))
    finite = all(bool(np.isfinite(a).all()) for a in outs.values())
    checks.append(Check("every value finite", "yes", "yes" if finite else "no"))
    return Result(batch, steps, tuple(checks))


def _needed(report: Report, weight: Weight, block: Block) -> tuple[int, ...]:
    """The shape a block must have as the step uses it, from the sizes alone: W (in, h), U (r, h), ..."""
    cfg = report.config
    k = weight.layer if weight.layer is not None else cfg.layers - 1  # the head reads the last layer
    h, r, directions = cfg.layer_hidden(k), cfg.layer_recurrent(k), cfg.merged
    reads = cfg.layer_input(k)  # layer k > 0 reads the D·r-wide output below
    if block.kind == "W":
        return (reads, h)
    if block.kind == "U":
        return (r, h)
    if block.kind == "proj":
        return (h, r)
    if block.kind == "head_W":
        return (directions * r, cfg.out or 0)
    return (cfg.out or 0,) if block.kind == "head_b" else (h,)  # biases and peepholes


def _block_shapes(report: Report, weight: Weight, array: np.ndarray) -> Check:
    """Each gate block the report's slices cut out of the tensor has the shape its gate needs (shown as stored)."""

    def stored(block: Block, shape: tuple[int, ...]) -> tuple[int, ...]:
        return shape[::-1] if block.transposed else shape

    needed = [(b.label, stored(b, _needed(report, weight, b))) for b in weight.blocks]
    cut = [(b.label, stored(b, tuple(_take(array, b, 0).shape))) for b in weight.blocks]
    return Check(f"weight {weight.name}", _grouped(needed), _grouped(cut))


def _grouped(blocks: list[tuple[str, tuple[int, ...]]]) -> str:
    """`W_i, W_f, W_c, W_o (4, 2)`: runs of blocks of one shape share it."""
    runs: list[tuple[list[str], tuple[int, ...]]] = []
    for label, shape in blocks:
        if runs and runs[-1][1] == shape:
            runs[-1][0].append(label)
        else:
            runs.append(([label], shape))
    return "; ".join(f"{', '.join(labels)} {format_shape(shape)}" for labels, shape in runs)


def _coverage(weight: Weight) -> Check:
    """Marking every block (per direction) in a counter finds elements no block holds, or several do."""
    import numpy as np

    counter = np.zeros(weight.shape, dtype=np.uint8)
    for block in weight.blocks:
        for direction in range(weight.stacked_directions):
            view = _take(counter, block, direction, stored=True)
            view += 1
    want = f"{_values(weight.params)}, each in one block"
    if counter.min() == counter.max() == 1:  # two quick passes; count the faults only when there are some
        return Check(f"blocks of {weight.name} cover it", want, want)
    never, several = int(np.count_nonzero(counter == 0)), int(np.count_nonzero(counter > 1))
    return Check(f"blocks of {weight.name} cover it", want, f"{never:,} in no block, {several:,} in several")


def _values(n: int) -> str:
    return f"{n:,} value" + ("" if n == 1 else "s")
