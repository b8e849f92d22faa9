"""Conversion: one framework's recurrent weights rewritten in another's layout, block by block, and proved.

Every framework already says where each gate's block sits in each of its tensors (`Weight.blocks`). A
conversion reads the source's blocks into a common form (W (in, h), U (r, h), one bias per gate, or two
for a GRU candidate whose reset gate applies after the recurrent product) and writes them where the target
keeps them: gate orders and transposes fall out of the blocks. What is not a move of numbers is said here:
biases add up or split, TF1's run-time forget bias is folded in, a GRU whose z weights the candidate has
its z negated (1 − σ(a) = σ(−a)). What no weights can express is refused with the reason.

The data is read in chunks of at most `CHUNK` bytes and written one target tensor at a time. The proof runs
each side's own cell over seeded random inputs and initial states, reading each side's blocks from its own
tensors in chunks too, so neither the conversion nor its proof holds two copies of a model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from .config import Config
from .errors import ConfigError, LstmShapesError
from .files import numpy_dtype
from .frameworks import REGISTRY, Framework
from .report import build

if TYPE_CHECKING:
    import numpy as np

    from .params import Block, Weight

CHUNK = 256 << 10  # bytes read at a time from a tensor: a piece and its float64 copy stay in the CPU caches
BAND = 64  # rows transposed at a time: a band's rows and columns stay in the CPU's caches
BIASES = ("b", "bx", "bh")
INPUT_SIDE = ("b", "bx")  # a bias added with W·x; "bh" is added with U·h (inside the reset product for a GRU)
CELL_WORDS = {"lstm": "LSTM", "gru": "GRU", "rnn": "simple RNN"}
STEPS, BATCH = 2, 2  # the proof's sequence: two steps from random states touch every weight twice


class ConvertError(LstmShapesError):
    """A conversion that no weights can make exact, or options that do not fit the source."""


class ProofError(LstmShapesError):
    """The converted weights do not compute what the source computes (exit 1)."""


# --- reading tensors in pieces ------------------------------------------------------------------


class Tensors:
    """Named tensors to read from: shapes up front, data in flat element ranges (C order) as asked."""

    def __init__(self, shapes: Mapping[str, tuple[int, ...]], dtypes: Mapping[str, str],
                 load: Callable[[str], Any], ranges: Mapping[str, Callable[[int, int], Any]] | None = None) -> None:
        self.shapes = dict(shapes)
        self.dtypes = dict(dtypes)
        self._load = load
        self._ranges = dict(ranges or {})
        self._cached: tuple[str, Any] | None = None

    @classmethod
    def of_arrays(cls, arrays: Mapping[str, Any]) -> Tensors:
        import numpy as np

        held = {name: np.asarray(a) for name, a in arrays.items()}
        return cls({n: tuple(a.shape) for n, a in held.items()}, {n: a.dtype.name for n, a in held.items()},
                   held.__getitem__, {n: (lambda start, count, a=a: a.reshape(-1)[start:start + count]) for n, a in held.items()})

    @classmethod
    def of_file(cls, model: Any) -> Tensors:
        """A `files.ModelFile`: ranged reads where its reader has them, else whole tensors one at a time."""
        return cls({n: t.shape for n, t in model.tensors.items()}, {n: t.dtype for n, t in model.tensors.items()},
                   model.load, getattr(model, "ranges", {}))

    def read(self, name: str, start: int, count: int) -> Any:
        """`count` elements from flat position `start` of the tensor."""
        if name in self._ranges:
            return self._ranges[name](start, count)
        if self._cached is None or self._cached[0] != name:
            self._cached = None  # let the previous tensor go before the next one is read
            self._cached = (name, self._load(name))
        return self._cached[1].reshape(-1)[start:start + count]

    def forget(self) -> None:
        self._cached = None


def _strides(shape: tuple[int, ...]) -> list[int]:
    out, step = [], 1
    for d in reversed(shape):
        out.append(step)
        step *= d
    return out[::-1]


def _pieces(src: Tensors, name: str, block: Block, direction: int) -> Iterator[tuple[int, int, Any]]:
    """The stored block in chunks of rows: (first row, end row, rows as stored), rows being the block's own axis 0."""
    import numpy as np

    shape = src.shapes[name]
    items = [direction if item == "d" else item for item in block.at]
    strides = _strides(shape)
    k, offset = 0, 0
    while k < len(items) and isinstance(items[k], int):
        offset += int(items[k]) * strides[k]  # type: ignore[arg-type]
        k += 1
    first = items[k]
    low, high = first if isinstance(first, tuple) else (0, shape[k])
    rest = tuple(slice(*i) if isinstance(i, tuple) else slice(None) if i is None else i for i in items[k + 1:])
    row = strides[k]
    itemsize = np.dtype(numpy_dtype(src.dtypes[name])).itemsize
    step = max(1, CHUNK // max(1, row * itemsize))
    for a in range(low, high, step):
        b = min(high, a + step)
        flat = src.read(name, offset + a * row, (b - a) * row)
        yield a - low, b - low, np.asarray(flat).reshape((b - a, *shape[k + 1:]))[(slice(None), *rest)]


def _fill(view: Any, src: Tensors, name: str, block: Block, direction: int, sign: int) -> None:
    """Copy a source block into `view`, the target block in the common orientation (W as (in, h))."""
    if block.cudnn:  # a reshape, not a transpose: the block is read whole
        view[...] = _whole(src, name, block, direction) * sign
        return
    for a, b, rows in _pieces(src, name, block, direction):
        rows = -rows if sign < 0 else rows
        if not block.transposed:
            view[a:b] = rows
            continue
        for r in range(0, b - a, BAND):  # numpy's transposing copy of a whole chunk strides badly through memory
            view[:, a + r:min(b, a + r + BAND)] = rows[r:r + BAND].T


def _whole(src: Tensors, name: str, block: Block, direction: int) -> Any:
    """A (small) block in the common orientation, as float64."""
    import numpy as np

    parts = [np.asarray(rows, dtype=np.float64) for _, _, rows in _pieces(src, name, block, direction)]
    piece = np.concatenate(parts, axis=0)
    if block.cudnn:  # cuDNN's (out, in) matrix in the block's C-order elements
        return piece.reshape(piece.shape[1], piece.shape[0]).T
    return piece.T if block.transposed else piece


# --- the blocks of one side ---------------------------------------------------------------------

Key = tuple[int, int, str, str]  # (layer, direction, kind, gate)


@dataclass(frozen=True)
class Side:
    """One convention's layer(s): the configuration, its tensors' names in the data, and how to read the data."""

    config: Config
    names: Mapping[str, str]  # the framework's name → the name in `tensors`
    tensors: Tensors
    forget_bias: float  # added to the f gate at run time

    @property
    def convention(self) -> Framework:
        return self.config.convention

    @cached_property
    def blocks(self) -> dict[Key, tuple[str, Block, int]]:
        """Every block by (layer, direction, kind, gate): the tensor's name in the data, the block, its direction index."""
        found: dict[Key, tuple[str, Block, int]] = {}
        for w in build(self.config).weights:
            if w.layer is None:
                continue  # a head is not part of the recurrent layer
            for d in _directions(w):
                for block in w.blocks:
                    found[(w.layer, d, block.kind, block.gate)] = (self.names.get(w.name, w.name), block, d)
        return found

    def negated(self, gate: str) -> bool:
        """Whether this side stores a GRU's z with its sign turned: its z weights the candidate, not h_prev."""
        return self.config.cell == "gru" and gate == "z_t" and not self.convention.gru_z_keeps


def _directions(w: Weight) -> range:
    if w.stacked_directions > 1:
        return range(w.stacked_directions)
    return range(int(w.direction or 0), int(w.direction or 0) + 1)


def _biases(side: Side) -> dict[tuple[int, int, str], tuple[Any, Any]]:
    """(layer, direction, gate) → (the bias added with W·x, the one added with U·h), as float64, with this side's
    sign and run-time forget bias included, so that both sides' pairs mean the same numbers."""
    import numpy as np

    sums: dict[tuple[int, int, str], list[Any]] = {}
    for (k, d, kind, gate), (name, block, di) in side.blocks.items():
        if kind not in BIASES:
            continue
        value = _whole(side.tensors, name, block, di)
        pair = sums.setdefault((k, d, gate), [np.zeros(value.shape), np.zeros(value.shape)])
        pair[0 if kind in INPUT_SIDE else 1] += value
    for (k, d, gate), pair in sums.items():
        if side.negated(gate):
            pair[0], pair[1] = -pair[0], -pair[1]
        if gate == "f_t":
            pair[0] = pair[0] + side.forget_bias
    return {key: (pair[0], pair[1]) for key, pair in sums.items()}


# --- the plan -----------------------------------------------------------------------------------


def target_config(source: Config, to: str) -> tuple[Config, list[str]]:
    """The target framework's configuration that can hold the source's weights exactly, and notes; or ConvertError."""
    if to not in REGISTRY:
        raise ConvertError(f"--to must be one of {', '.join(REGISTRY)}, got {to!r}")
    src, fw = source.convention, REGISTRY[to]
    what = CELL_WORDS[source.cell]

    def refuse(why: str) -> ConvertError:
        return ConvertError(f"{src.title} {what} → {fw.title}: {why}")

    if source.cell not in fw.cells:
        raise refuse(f"{fw.title} has no {what} layer")
    if source.cell == "rnn" and src.rnn_activation != fw.rnn_activation:
        raise refuse(f"the source computes h_t = {src.rnn_activation}(...), {fw.title} computes "
                     f"{fw.rnn_activation}(...); no weights turn one function into the other")
    if source.cell == "gru" and source.reset_after not in fw.reset_after_choices:
        have = "r ⊙ (U·h + b)" if source.reset_after else "U·(r ⊙ h)"
        want = "r ⊙ (U·h + b)" if fw.reset_after_choices[0] else "U·(r ⊙ h)"
        raise refuse(f"this GRU applies its reset gate as {have}, {fw.title}'s only as {want}; the two differ for "
                     "any weights with a nonzero recurrent candidate")
    if source.proj is not None and not fw.has_proj:
        raise refuse(f"the LSTM projects h_t to {source.proj} units (an LSTMP); {fw.title} has no projection, and "
                     "folding it into other weights is not exact")
    if source.peepholes and not fw.has_peepholes:
        raise refuse(f"the LSTM has peephole connections; {fw.title}'s LSTM has none, and no weights stand in for them")
    if source.layers > 1 and not fw.has_layers:
        raise refuse(f"{fw.title} holds one cell and this has {source.layers} layers; pick one with --layer, or convert "
                     "to a framework with stacked layers")
    if source.bidirectional and not fw.has_bidirectional:
        raise refuse(f"{fw.title} has no backward direction")
    notes = []
    merge_mode = source.merge_mode
    if source.bidirectional and merge_mode not in fw.merge_modes:
        notes.append(f"the source merges its two directions by {merge_mode}; {fw.title} keeps them side by side "
                     "(concat), so apply the merge to its output yourself")
        merge_mode = fw.merge_modes[0]
    bias = source.bias or not fw.has_no_bias
    if not source.bias and bias:
        cancel = (f", but for the forget gate's, which holds −{fw.forget_bias:g} against the {fw.forget_bias:g} {fw.title} "
                  "adds at run time" if fw.forget_bias and source.cell == "lstm" else "")
        notes.append(f"the source has no biases; {fw.title} always has them, so they are written as zeros{cancel}")
    try:
        made = Config(input=source.input, hidden=source.hidden, cell=source.cell, framework=to, proj=source.proj,
                      peepholes=source.peepholes, layers=source.layers, bidirectional=source.bidirectional,
                      merge_mode=merge_mode, bias=bias,
                      reset_after=source.reset_after if source.cell == "gru" else None,
                      # The weights do not depend on it: the constructor keeps the source's input layout where it
                      # can, but an ONNX model stays time-major (layout 0), the one layout onnxruntime runs.
                      batch_first=source.batch_first
                      if source.batch_first in fw.batch_first_choices and not fw.onnx_model else None)
    except ConfigError as error:
        raise refuse(str(error)) from None
    return made, notes


@dataclass
class Pair:
    """One source layer and the target layer it becomes."""

    source: Side
    target: Config
    prefix: str  # before each target name
    notes: list[str] = field(default_factory=list)
    source_prefix: str = ""  # where the source layer sits in its file

    def sources_of(self, w: Weight) -> list[str]:
        """The source tensors (names in the data) a target tensor's blocks come from, in order."""
        found: dict[str, None] = {}
        blocks = self.source.blocks
        for d in _directions(w):
            for block in w.blocks:
                key = (int(w.layer or 0), d, block.kind, block.gate)
                if key in blocks:
                    found[blocks[key][0]] = None
                elif block.kind in BIASES:  # a bias the source keeps under another kind
                    found.update({v[0]: None for k, v in blocks.items()
                                  if k[:2] == key[:2] and k[3] == block.gate and k[2] in BIASES})
        return list(found) or ["zeros"]

    @cached_property
    def target_weights(self) -> tuple[Weight, ...]:
        return tuple(w._replace(name=self.prefix + w.name) for w in build(self.target).weights)


def convert_layer(pair: Pair, dtype: str, forget_bias: float) -> Iterator[tuple[str, Any]]:
    """The target's tensors, one at a time, in the target's order, as arrays of `dtype`."""
    biases = _biases(pair.source)
    target = Side(pair.target, {}, pair.source.tensors, forget_bias)
    for w in pair.target_weights:
        out = _target_tensor(pair, target, biases, w, numpy_dtype(dtype))
        pair.source.tensors.forget()
        yield w.name, out
        del out  # not held while the next tensor is made


def _target_tensor(pair: Pair, target: Side, biases: dict[tuple[int, int, str], tuple[Any, Any]], w: Weight,
                   np_dtype: Any) -> Any:
    """One target tensor, every block of it filled from the source's blocks or biases."""
    import numpy as np

    out = np.zeros(w.shape, dtype=np_dtype)
    for d in _directions(w):
        for block in w.blocks:
            view = _view(out, block, d)
            key = (int(w.layer or 0), d, block.kind, block.gate)
            if block.kind in BIASES:
                value = _target_bias(pair, target, biases, key)
                view[...] = value.astype(np_dtype)
                continue
            name, src_block, src_d = _source_block(pair.source.blocks, key)
            sign = -1 if pair.source.negated(block.gate) != target.negated(block.gate) else 1
            if block.cudnn:  # filled in the common orientation, then laid out as cuDNN's matrix
                common = np.zeros(view.shape)  # a cuDNN block has the common form's shape
                _fill(common, pair.source.tensors, name, src_block, src_d, sign)
                view[...] = np.ascontiguousarray(common.T).reshape(view.shape)
            else:
                _fill(view, pair.source.tensors, name, src_block, src_d, sign)
    return out


def _view(array: Any, block: Block, direction: int) -> Any:
    """The target block as a view: in the common orientation, or as stored for a cuDNN block (filled apart)."""
    index = tuple(slice(None) if i is None else slice(*i) if isinstance(i, tuple) else direction if i == "d" else i
                  for i in block.at)
    piece = array[index]
    return piece.T if block.transposed and not block.cudnn else piece


def _source_block(source: dict[Key, tuple[str, Block, int]], key: Key) -> tuple[str, Block, int]:
    if key not in source:
        k, d, kind, gate = key
        raise ConvertError(f"the source has no {kind} block for {gate} (layer {k}, direction {d})")
    return source[key]


def _target_bias(pair: Pair, target: Side, biases: dict[tuple[int, int, str], tuple[Any, Any]], key: Key) -> Any:
    """This target bias block's values. Where the target keeps a recurrent-side bias the two sides stay apart (a
    pure move); where it keeps one bias, it carries their sum, which a GRU candidate with the reset gate after U·h
    cannot (the target then always has its own recurrent bias)."""
    import numpy as np

    k, d, kind, gate = key
    h = pair.target.layer_hidden(k)
    x_side, h_side = biases.get((k, d, gate), (np.zeros(h), np.zeros(h)))
    kinds = [kd for (kk, dd, kd, g) in target.blocks if (kk, dd, g) == (k, d, gate) and kd in BIASES]
    if kind == "bh":
        value = h_side
    elif kind == next(kd for kd in kinds if kd in INPUT_SIDE):  # the first input-side block takes it all
        value = x_side if "bh" in kinds else x_side + h_side
        if gate == "f_t":
            value = value - target.forget_bias
    else:
        value = np.zeros(h)
    return -value if target.negated(gate) else value


# --- the proof ----------------------------------------------------------------------------------


class _Region:
    """The part of a tensor that a cell's W (or U, or projection) blocks of every gate share, multiplied whole:
    `times(x)` reads it once, in chunks, for all the gates' columns at once. Products are kept by input, and
    `prime` makes those of every step's input in one pass."""

    def __init__(self, tensors: Tensors, name: str, block: Block, direction: int) -> None:
        self.tensors, self.name, self.block, self.direction = tensors, name, block, direction
        self.products: dict[int, tuple[Any, Any]] = {}  # id(input) → (the input, its product)

    def times(self, x: Any) -> Any:
        kept = self.products.get(id(x))  # x is kept with its product, so no other array can have its id meanwhile
        if kept is None:
            kept = self.products[id(x)] = (x, self._multiply(x))
        return kept[1]

    def prime(self, inputs: list[Any]) -> None:
        """The products of several inputs (a sequence's steps), from one pass over the tensor."""
        import numpy as np

        product = self._multiply(np.concatenate(inputs))
        start = 0
        for x in inputs:
            self.products[id(x)] = (x, product[start:start + len(x)])
            start += len(x)

    def _multiply(self, x: Any) -> Any:
        import numpy as np

        out: Any = None
        for a, b, rows in _pieces(self.tensors, self.name, self.block, self.direction):
            rows = np.asarray(rows, dtype=np.float64)
            if self.block.transposed:  # stored rows are the common form's columns
                if out is None:
                    out = np.empty((x.shape[0], _rows(self.tensors, self.name, self.block, self.direction)))
                out[:, a:b] = (rows @ x.T).T  # (rows, in) @ (in, n): BLAS's fast case, unlike (n, in) @ (in, rows)
            else:  # stored rows are the common form's rows: the input's features a:b
                part = x[:, a:b] @ rows
                out = part if out is None else out + part
        return out


class _Lazy:
    """A W, U or projection block that multiplies without being held: `x @ block` is its columns of `x @ region`."""

    __array_ufunc__ = None  # numpy hands `x @ self` to __rmatmul__

    def __init__(self, region: _Region, columns: tuple[int, int] | None) -> None:
        self.region, self.columns = region, columns

    def __rmatmul__(self, x: Any) -> Any:
        product = self.region.times(x)
        return product if self.columns is None else product[:, self.columns[0]:self.columns[1]]


def _rows(tensors: Tensors, name: str, block: Block, direction: int) -> int:
    """How many rows of the tensor a block spans, on its first axis that is not a fixed index."""
    items = [direction if i == "d" else i for i in block.at]
    k = next(j for j, i in enumerate(items) if not isinstance(i, int))
    first = items[k]
    return first[1] - first[0] if isinstance(first, tuple) else tensors.shapes[name][k]


class _Held:
    """A block read whole (cuDNN's reshaped matrices, which no region of columns describes)."""

    __array_ufunc__ = None

    def __init__(self, piece: Any) -> None:
        self.piece = piece

    def __rmatmul__(self, x: Any) -> Any:
        return x @ self.piece


def _lazy(regions: dict[tuple[Any, ...], _Region], tensors: Tensors, name: str, block: Block,
          direction: int) -> _Lazy | _Held:
    """The block as its columns of the region it shares with the other gates' blocks (the output axis made whole)."""
    if block.cudnn:
        return _Held(_whole(tensors, name, block, direction))
    items = [direction if i == "d" else i for i in block.at]
    axes = [j for j, i in enumerate(items) if not isinstance(i, int)]
    out = axes[0] if block.transposed else axes[-1]  # the axis the gates are stacked on
    columns = items[out]
    whole = block._replace(gate="", at=tuple(None if j == out else i for j, i in enumerate(block.at)))
    key = (name, whole.kind, whole.at, whole.transposed, direction)
    if key not in regions:
        regions[key] = _Region(tensors, name, whole, direction)
    return _Lazy(regions[key], columns if isinstance(columns, tuple) else None)


def _cell_params(side: Side, layer: int, direction: int) -> tuple[dict[str, Any], list[_Region]]:
    """The blocks verify's cell reads, {kind: {gate: block}}, as this side stores them: nothing folded or negated;
    and the regions its W blocks share, to prime with every step's input."""
    params: dict[str, Any] = {}
    regions: dict[tuple[Any, ...], _Region] = {}
    for (k, d, kind, gate), (name, block, di) in side.blocks.items():
        if (k, d) != (layer, direction):
            continue
        if kind in ("W", "U", "proj"):
            value: Any = _lazy(regions, side.tensors, name, block, di)
        else:  # biases and peepholes: vectors
            value = _whole(side.tensors, name, block, di)
        if kind == "proj":
            params["proj"] = value
        else:
            params.setdefault(kind, {})[gate] = value
    return params, [region for region in regions.values() if region.block.kind == "W"]


def _cell(side: Side, layer: int, direction: int) -> tuple[Any, list[_Region]]:
    """verify's cell as this side's convention computes it, with the run-time forget bias it is given; and its
    input-side regions."""
    from .verify import _Cell

    own = side.convention
    convention = SimpleNamespace(concat=own.concat, forget_bias=side.forget_bias, gru_z_keeps=own.gru_z_keeps,
                                 rnn_activation=own.rnn_activation)
    config = SimpleNamespace(cell=side.config.cell, reset_after=side.config.reset_after, convention=convention)
    params, inputs = _cell_params(side, layer, direction)
    return _Cell(SimpleNamespace(config=config), params), inputs  # type: ignore[arg-type]


@dataclass(frozen=True)
class Proof:
    """Both sides run over the same random inputs and initial states: the largest differences seen."""

    outputs: float
    states: float
    tolerance: float
    batch: int = BATCH
    steps: int = STEPS

    @property
    def ok(self) -> bool:
        return self.outputs <= self.tolerance and self.states <= self.tolerance

    def line(self) -> str:
        verdict = "equal within" if self.ok else "DIFFERENT, over"
        return (f"proof: both conventions' numpy forward passes over {self.batch} random sequences of {self.steps} "
                f"steps from random states: largest difference {self.outputs:.2g} in outputs, {self.states:.2g} in "
                f"final states; {verdict} the tolerance {self.tolerance:.2g}")


EPSILON = {"float64": 2.0 ** -52, "float32": 2.0 ** -23, "float16": 2.0 ** -10, "bfloat16": 2.0 ** -7}


def tolerance(config: Config, dtype: str, largest_bias: float = 0.0) -> float:
    """What rounding the stored dtype allows: a bias summed (or a forget bias folded) into one vector of `dtype` is off
    by up to its epsilon times its size, once per layer and step; the float64 sums add a trace over the widest gate."""
    eps = EPSILON.get(dtype, 2.0 ** -7)
    fan_in = max(config.layer_input(k) + config.layer_recurrent(k) + 1 for k in range(config.layers))
    return eps * (1 + largest_bias) * config.layers * STEPS + 16 * EPSILON["float64"] * fan_in


def run_cell(side: Side, layer: int, direction: int, xs: Any, h0: Any, c0: Any) -> tuple[Any, Any, Any]:
    """One layer and direction of a side over the sequence xs (steps, batch, in), backwards for direction 1, from
    (h0, c0): the outputs at every step (in xs' order) and the final h and c (None but for an LSTM)."""
    import numpy as np

    cell, regions = _cell(side, layer, direction)
    steps = [xs[t] for t in range(len(xs))]  # the very arrays each step gets: W's products are kept by them
    for region in regions:
        region.prime(steps)  # x @ W for every step in one pass over W
    h, c = h0, c0
    seq: list[Any] = [None] * len(steps)
    for t in (range(len(steps)) if direction == 0 else reversed(range(len(steps)))):
        v = cell.step(steps[t], h, c)
        h, c = v["h_t"], v.get("c_t")
        seq[t] = h
    return np.stack(seq), h, c


def prove(source: Side, target: Side, dtype: str, seed: int = 0) -> Proof:
    """Run the source and the target, layer by layer and direction by direction, and compare."""
    import numpy as np

    from .frameworks.base import merge

    cfg = source.config
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((STEPS, BATCH, cfg.input))
    worst_out = worst_state = 0.0
    ins = [xs, xs]
    for k in range(cfg.layers):
        outs: list[list[Any]] = [[], []]
        for d in range(cfg.directions):
            h0 = rng.standard_normal((BATCH, cfg.layer_recurrent(k))) * 0.5
            c0 = rng.standard_normal((BATCH, cfg.layer_hidden(k))) * 0.5 if cfg.cell == "lstm" else None
            for i, side in enumerate((source, target)):
                outs[i].append(run_cell(side, k, d, ins[i], h0, c0))
            (ys, hs, cs), (yt, ht, ct) = outs[0][-1], outs[1][-1]
            worst_out = max(worst_out, float(np.abs(ys - yt).max()))
            worst_state = max(worst_state, float(np.abs(hs - ht).max()))
            if cs is not None:
                worst_state = max(worst_state, float(np.abs(cs - ct).max()))
        ins = [merge(cfg, [y for y, _, _ in outs[i]], np) for i in (0, 1)]
    sums = [float(abs(x + h).max()) for x, h in _biases(source).values()]  # what a target may round when summing
    return Proof(worst_out, worst_state, tolerance(cfg, dtype, max(sums, default=0.0)))


# --- whole conversions --------------------------------------------------------------------------


def run_forget_bias(convention: Framework, given: float | None) -> float:
    """The constant a convention adds to the f gate at run time: the user's value where its constructor takes one
    (TF1's forget_bias), the fixed one otherwise (Haiku's 1), else none."""
    if given is not None and convention.forget_bias_argument:
        return given
    return convention.forget_bias


def _separator(config: Config) -> str:
    return "/" if any("/" in w.name for w in build(config).weights) else "."


def target_prefix(source_prefix: str, source: Config, target: Config, collection: bool = True) -> str:
    """The source layer's place, spelled with the target framework's separator, out of the source's collection of
    parameters and into the target's (a Flax layer at params/encoder/ becomes PyTorch's encoder., and back)."""
    held = source.convention.collection
    if held and source_prefix.startswith(held):
        source_prefix = source_prefix[len(held):]
    old, new = _separator(source), _separator(target)
    if source_prefix and old != new:
        source_prefix = source_prefix.replace(old, new)
    if source_prefix and not source_prefix.endswith(("/", ".")):  # a layer's own name (a Keras layer), not a path
        source_prefix += new
    return (target.convention.collection if collection else "") + source_prefix


@dataclass(frozen=True)
class Plan:
    """Everything a conversion writes: the layers paired up, the dtype and the target framework."""

    pairs: tuple[Pair, ...]
    to: str
    dtype: str
    forget_bias: float | None

    def tensors(self) -> Iterator[tuple[str, Any]]:
        for pair in self.pairs:
            yield from convert_layer(pair, self.dtype, run_forget_bias(pair.target.convention, self.forget_bias))

    def target_sides(self, tensors: Tensors, names: Mapping[str, str] | None = None) -> list[Side]:
        """The target layers over `tensors` (a converted mapping, or the written file read back)."""
        sides = []
        for pair in self.pairs:
            own = {w.name[len(pair.prefix):]: (names or {}).get(w.name, w.name) for w in pair.target_weights}
            sides.append(Side(pair.target, own, tensors, run_forget_bias(pair.target.convention, self.forget_bias)))
        return sides

    def prove(self, tensors: Tensors, names: Mapping[str, str] | None = None, seed: int = 0) -> Proof:
        """The worst of every layer's proof: each source layer against its target read from `tensors`."""
        proofs = [prove(pair.source, side, self.dtype, seed)
                  for pair, side in zip(self.pairs, self.target_sides(tensors, names), strict=True)]
        return Proof(max(p.outputs for p in proofs), max(p.states for p in proofs), min(p.tolerance for p in proofs))


def plan(layers: list[tuple[str, Config, Mapping[str, str], bool]], tensors: Tensors, to: str, *,
         prefix: str | None = None, forget_bias: float | None = None, collection: bool = False) -> Plan:
    """Pair each source layer (its prefix, configuration, framework names → data names) with its target layer;
    `collection` puts the target's names into the collection its checkpoints keep parameters in (for files)."""
    if not layers:
        raise ConvertError("no recurrent layer to convert")
    if prefix is not None and len(layers) > 1:
        raise ConvertError(f"--prefix names one layer and there are {len(layers)}; pick one with --layer")
    pairs = []
    for source_prefix, config, names, unsure in layers:
        try:
            made, notes = target_config(config, to)
        except ConvertError as error:
            if len(layers) == 1:
                raise
            where = source_prefix or "the top level"
            raise ConvertError(f"the layer at {where}: {error}; convert the file's other layers one at a time with "
                               "--layer PREFIX") from None
        if unsure and len(REGISTRY[to].reset_after_choices) < 2:
            raise ConvertError(f"{source_prefix or 'the tensors'}: these GRU tensors fit the reset gate both before and "
                               f"after the recurrent product, and {REGISTRY[to].title} has only one of them; say which "
                               "the model used: --reset-after or --no-reset-after")
        run_bias = run_forget_bias(config.convention, forget_bias)
        pairs.append(Pair(Side(config, names, tensors, run_bias), made,
                          prefix if prefix is not None else target_prefix(source_prefix, config, made, collection), notes,
                          source_prefix))
    if forget_bias is not None and not any(p.source.convention.forget_bias_argument or
                                           p.target.convention.forget_bias_argument for p in pairs):
        with_it = ", ".join(f"{fw.title}'s {fw.forget_bias_argument}" for fw in REGISTRY.values()
                            if fw.forget_bias_argument)
        raise ConvertError(f"--forget-bias is {with_it}, a constant added to the forget gate at run time; "
                           "neither side of this conversion takes one")
    names = [w.name for pair in pairs for w in pair.target_weights]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise ConvertError(f"two layers would both write {doubled[0]}; convert them one at a time with --layer and --prefix")
    dtype = _dtype(tensors, [w for p in pairs for w in p.source.names.values()])
    return Plan(tuple(pairs), to, dtype, forget_bias)


def _dtype(tensors: Tensors, names: list[str]) -> str:
    kinds = {tensors.dtypes[n] for n in names}
    floats = [k for k in ("float64", "float32", "bfloat16", "float16") if k in kinds]
    if not floats:
        raise ConvertError(f"the weights are {', '.join(sorted(kinds))}; only float tensors convert")
    return floats[0]  # the widest, where a file mixes them


def layers_of(inspection: Any, source: str | None = None,
              reset_after: bool | None = None) -> list[tuple[str, Config, Mapping[str, str], bool]]:
    """The recognised layers as (prefix, configuration, framework name → name in the data, whether the tensors
    leave the GRU's reset placement open), in `source`'s convention where given (an alternative reading of the
    same tensors), with the reset placement the user states."""
    found = []
    for layer in inspection.layers:
        config, names = layer.config, dict(layer.names)
        if source is not None and layer.framework != source:
            alternative = next((c for f, c in layer.alternatives if f == source), None)
            if alternative is None:
                raise ConvertError(f"{layer.prefix or 'the tensors'}: read as {REGISTRY[layer.framework].title}, "
                                   f"not {REGISTRY[source].title if source in REGISTRY else source}")
            config = alternative
            prefix, names = _renamed(layer, config)
        else:
            prefix = layer.prefix
        # A GRU's tensors may fit either reset placement (without biases, or where a framework has both layouts alike).
        placements = {config.reset_after} | {c.reset_after for f, c in layer.alternatives
                                             if f == config.framework and c.cell == "gru"
                                             and _same_but_reset(c, config)}
        if config.cell == "gru" and reset_after is not None and reset_after != config.reset_after:
            if reset_after not in placements:
                where = "after" if config.reset_after else "before"
                raise ConvertError(f"{layer.prefix or 'the tensors'}: the tensors show a GRU with the reset gate "
                                   f"{where} the recurrent product; --{'no-' if reset_after else ''}reset-after does not fit them")
            config = replace(config, reset_after=reset_after)
        unsure = config.cell == "gru" and reset_after is None and len(placements) > 1
        found.append((prefix, config, names, unsure))
    return found


def _renamed(layer: Any, config: Config) -> tuple[str, dict[str, str]]:
    """The prefix and names of the same tensors read in another framework's terms: its names under one prefix."""
    files = [file_name for _, file_name in layer.names]
    own = [w.name for w in build(config).weights if w.layer is not None]
    for file_name in files:
        if file_name.endswith(own[0]):
            prefix = file_name[: len(file_name) - len(own[0])]
            if all(prefix + name in files for name in own):
                return prefix, {name: prefix + name for name in own}
    return layer.prefix, dict(zip(own, files, strict=False))  # names the file does not use: by their order


def _same_but_reset(a: Config, b: Config) -> bool:
    return replace(a, reset_after=b.reset_after, out=b.out, head_bias=b.head_bias) == b


def convert(mapping: Mapping[str, Any], *, target: str, source: str | None = None, prefix: str | None = None,
            forget_bias: float | None = None, reset_after: bool | None = None, check: bool = True,
            seed: int = 0) -> dict[str, Any]:
    """The recurrent layers in `mapping` (names → arrays) rewritten for the `target` framework, as numpy arrays.

    `source` picks the convention the names are read in where more than one fits; `check` runs the proof and
    raises ProofError when the target does not compute what the source computes.
    """
    from .inspection import inspect_tensors

    tensors = Tensors.of_arrays(mapping)
    inspection = inspect_tensors(tensors.shapes, "mapping", "mapping")
    made = plan(layers_of(inspection, source, reset_after), tensors, target, prefix=prefix, forget_bias=forget_bias)
    out = dict(made.tensors())
    if check:
        proof = made.prove(Tensors.of_arrays(out), seed=seed)
        if not proof.ok:
            raise ProofError(proof.line())
    return out
