"""Weight tensors, the gate blocks packed in them, their counts and the formulas behind the counts."""

from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING, NamedTuple

from .formula import Expr, Num, sym

if TYPE_CHECKING:
    from .config import Config

X, H, P, O = sym("x"), sym("h"), sym("p"), sym("o")

# A dimension is a concrete size or a symbol such as "B" (the batch).
Dim = int | str

# An index item: None is a whole axis (":"), (a, b) a range, an int one position, "d" the direction.
Index = tuple[None | tuple[int, int] | int | str, ...]


class Block(NamedTuple):
    """One gate's piece of a packed tensor: kind W, U, b, ..., the gate node it feeds, where it sits."""

    kind: str
    gate: str  # node id, e.g. "f_t"; "" for the projection and the head
    letter: str  # the framework's own letter for the gate, e.g. Keras' "c" for g_t
    at: Index  # where in the tensor, one item per axis
    transposed: bool  # stored as (out, in), as PyTorch and ONNX do
    # cuDNN's layout (tf.keras' CuDNN layers): the block's elements, in C order, are cuDNN's (out, in) matrix, which
    # a square block shows transposed and another shows reshaped; its shape is the one an untransposed block has.
    cudnn: bool = False

    @property
    def label(self) -> str:
        if self.kind == "proj":
            return "W_proj"
        if self.kind.startswith("head_"):
            return self.kind[5:] + "_y"
        return f"{self.kind}_{self.letter}" if self.letter else self.kind

    def index_text(self) -> str:
        items = []
        for item in self.at:
            if item is None:
                items.append(":")
            elif isinstance(item, tuple):
                items.append(f"{item[0]}:{item[1]}")
            else:
                items.append(str(item))
        return "[" + ", ".join(items) + "]"


class Weight(NamedTuple):
    """One stored tensor, named and shaped as the framework stores it."""

    name: str
    part: str  # the Part that counts it
    dims: tuple[Expr, ...]  # each dimension over the symbols x, h, p, o
    shape: tuple[int, ...]
    blocks: tuple[Block, ...]
    layer: int | None = None  # None for the head
    direction: int | None = None  # None where one tensor holds both directions (ONNX)

    @property
    def params(self) -> int:
        return prod(self.shape)

    @property
    def formula(self) -> Expr:
        return _product(self.dims)

    @property
    def stacked_directions(self) -> int:
        """How many directions one tensor holds: D where ONNX stacks them on axis 0, else 1."""
        return self.shape[0] if any("d" in b.at for b in self.blocks) else 1

    def block_shape(self, block: Block) -> tuple[int, ...]:
        """The shape of one block as stored (before any transpose), for one direction."""
        dims = []
        for item, dim in zip(block.at, self.shape):
            if item is None:
                dims.append(dim)
            elif isinstance(item, tuple):
                dims.append(item[1] - item[0])
        return tuple(dims)

    def slices(self) -> str:
        """Where each gate's block sits, e.g. `W_i [:, 0:2] · W_f [:, 2:4] · …`."""
        return " · ".join(f"{b.label} {b.index_text()}" for b in self.blocks)


def _product(dims: tuple[Expr, ...]) -> Expr:
    result = dims[0]
    for dim in dims[1:]:
        result = result * dim
    return result


def weight(
    config: Config, name: str, part: str, dims: tuple[Expr | int, ...], blocks: list[Block],
    layer: int | None = None, direction: int | None = None,
) -> Weight:
    exprs = tuple(Num(d) if isinstance(d, int) else d for d in dims)
    env = config.symbols
    return Weight(name, part, exprs, tuple([e.evaluate(env) for e in exprs]), tuple(blocks), layer, direction)


class Part(NamedTuple):
    """A layer's parameter count as one formula, e.g. 4·(h·(x+h)+h) for a Keras LSTM."""

    name: str
    formula: Expr
    params: int


def hidden_expr(config: Config, layer: int) -> Expr:
    """h, or h0, h1, ... where each layer has its own size."""
    return sym(f"h{layer}") if config.per_layer else H


def layer_input_expr(config: Config, layer: int) -> Expr:
    """x for the first layer, else the previous layer's merged output (D·r side by side, r otherwise)."""
    if layer == 0:
        return X
    r = recurrent_expr(config, layer - 1)
    return config.merged * r if config.merged > 1 else r


def recurrent_expr(config: Config, layer: int) -> Expr:
    """r of a layer: p with a projection, else its h."""
    return P if config.proj is not None else hidden_expr(config, layer)


def top_recurrent_expr(config: Config) -> Expr:
    """r of the last layer, which a head reads."""
    return recurrent_expr(config, config.layers - 1)


def part_name(config: Config, layer: int) -> str:
    return config.cell if config.layers == 1 else f"{config.cell} layer {layer}"


def parts(config: Config) -> tuple[Part, ...]:
    """One formula per recurrent layer, written as the framework's tensors add up, then the head."""
    env = config.symbols
    g, fw = config.gates, config.convention
    counts = [fw.gate_biases(config, gate) for gate, _ in fw.gate_order(config)]
    # Gates with as many biases each count them inside g·(...); uneven ones (Flax's GRU) add them after.
    nb = counts[0] if len(set(counts)) == 1 else 0
    formulas: list[tuple[str, Expr]] = []
    for layer in range(config.layers):
        h, r = hidden_expr(config, layer), recurrent_expr(config, layer)
        inner = h * (layer_input_expr(config, layer) + r)
        if nb:
            inner = inner + (h if nb == 1 else nb * h)
        per_direction: Expr = inner if g == 1 else g * inner
        if not nb and any(counts):
            per_direction = per_direction + sum(counts) * h
        if config.peepholes:
            per_direction = per_direction + 3 * h
        if config.proj is not None:
            per_direction = per_direction + h * P
        total = per_direction if config.directions == 1 else config.directions * per_direction
        formulas.append((part_name(config, layer), total))
    if config.out is not None:
        r = top_recurrent_expr(config)
        width = r if config.merged == 1 else config.merged * r
        formulas.append((config.convention.head_name, O * (width + 1) if config.head_bias else O * width))
    return tuple(Part(name, formula, formula.evaluate(env)) for name, formula in formulas)
