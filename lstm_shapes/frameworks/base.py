"""What every framework declares, and the machinery its declarations share.

A framework is one subclass of `Framework` in its own module: its gate order, its variants, its
tensor names both ways, its layout and packing, the tensors it returns for a sequence, its notes and
its `--explain` symbols. Nothing outside `frameworks/` asks which framework it is looking at.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from ..formula import Expr
from ..params import O, Block, Dim, Index, Weight, top_recurrent_expr, weight

if TYPE_CHECKING:
    from ..config import Config

Gates = tuple[tuple[str, str], ...]
# What a tensor name says: its layer and direction (None where one tensor holds all of them, or for
# the head) and its kind, the framework's own word for the tensor's role ("kernel", "weight_ih", ...).
Place = tuple[int | None, int | None, str]

RNN_GATE: Gates = (("h_t", ""),)
HEAD_OUTPUTS = {"softmax": "softmax(logits)", "sigmoid": "σ(logits)"}


class SeqTensor(NamedTuple):
    """A tensor the framework takes or returns for a whole sequence."""

    name: str
    shape: tuple[Dim, ...]
    meaning: str


def merge(cfg: Config, outs: list[Any], np: Any) -> Any:
    """The directions' outputs merged as Bidirectional's merge_mode says; "none" keeps them side by side here."""
    if len(outs) == 1 or cfg.merge_mode in ("concat", "none"):
        return np.concatenate(outs, axis=-1)
    forward, backward = outs
    return {"sum": forward + backward, "mul": forward * backward, "ave": (forward + backward) / 2}[cfg.merge_mode]


def _cols(j: int, h: int) -> tuple[int, int]:
    return (j * h, (j + 1) * h)


class Framework:
    """One convention: the facts are class attributes, the tensors come from `weights` and `sequence`."""

    name: str  # the --framework value
    title: str  # "Keras 3 / TF2"
    short: str  # "Keras", where a node's meaning names the framework's own gate letter
    gates: dict[str, Gates]  # the packing order per gated cell, as (node id, the framework's letter)
    peephole_order: Gates = ()  # the order of the peephole vectors, where there are any

    cells: tuple[str, ...] = ("lstm", "gru", "rnn")  # the cells it has

    # Variants (LSTM ones unless said otherwise).
    has_proj = False
    proj_below_hidden = False  # the projection must be narrower than the cell
    has_peepholes = False
    has_no_bias = False
    # GRU: where the reset gate applies. True = r ⊙ (U·h + b) (Keras reset_after=True, PyTorch, ONNX
    # linear_before_reset=1); False = U·(r ⊙ h) (Keras reset_after=False, TF1, ONNX's default).
    reset_after_choices: tuple[bool, ...] = (False,)
    reset_after_default = False
    batch_first_choices: tuple[bool, ...] = (True,)
    batch_first_default = True
    has_layers = True  # stacked layers (a single cell has one)
    has_bidirectional = True
    merge_modes: tuple[str, ...] = ("concat",)  # how Bidirectional may merge the two directions' outputs
    takes_sequence = True  # False for a cell: one time step per call, so T is 1
    state_inputs: tuple[str, ...] = ()  # sequence tensors the framework takes beside the input: a cell's state
    head_reads_default = "last-step"
    layout_argument = ""  # the constructor argument that picks the input layout, where there is a choice
    # What the head reads, as the framework writes it: (the last step's output, the final states).
    head_reads_texts: tuple[str, str]
    every_step_text = "output"  # the output sequence a head on every step reads, as the framework names it

    # Tensor kinds: the framework's own words for a stored tensor's role, as its names spell them.
    kinds: tuple[str, ...]
    head_kinds = ("head_weight", "head_bias")
    # Layout and arithmetic.
    directions_in_one_tensor = False  # one tensor holds every direction on axis 0, named without one
    concat = "hx"  # the gates read [h_prev, x_t] ("hx") or [x_t, h_prev] ("xh")
    fused_kernel = False  # one kernel over the concatenation instead of W and U apart
    forget_bias = 0.0  # a constant added to the forget gate at run time, not a variable
    forget_bias_argument = ""  # the constructor argument that sets it, where one does (TF1's forget_bias)
    gru_update_ops = 4  # element-wise ops of the GRU's h_t: z⊙h + (1−z)⊙n, or 3 for n + z⊙(h−n)
    gru_z_keeps = True  # h_t = z⊙h_prev + (1−z)⊙n; False where z weights the candidate: (1−z)⊙h_prev + z⊙n
    rnn_activation = "tanh"  # the simple RNN's h_t = act(...): "tanh", or "relu"
    head_prefix = "head."
    head_transposed = True  # the head's matrix stored (out, in)
    head_name = "head"  # the Part that counts the head

    # How user code and error messages spell it (read by diagnose): the library whose messages quote
    # these tensors ("PyTorch"), each cell's layer class, and Config fields as the constructor's arguments.
    library = ""
    layer_classes: dict[str, str] = {}
    arguments: dict[str, str] = {}

    # The files `lstm-shapes convert` writes that only some conventions fill (safetensors and npz take any).
    keras_h5 = False  # Keras' h5 weights, its layers numbered as Keras numbers them
    cell_scope = False  # (Keras) a layer keeps its variables in a cell of its own: `lstm/lstm_cell/kernel`
    onnx_model = False  # an ONNX model of the recurrent operators, its initializers under these names
    collection = ""  # where a checkpoint keeps the model's parameters beside other state: Flax's "params/"
    nested_names = False  # names whose '/' nest a tree of dicts, as a Flax msgpack holds it (see tree_keys)

    @property
    def has_layout_choice(self) -> bool:
        return len(self.batch_first_choices) > 1

    @property
    def reads_final_states(self) -> bool:
        return self.head_reads_default == "final-states"

    @property
    def has_merge_modes(self) -> bool:
        return len(self.merge_modes) > 1

    @property
    def head_words(self) -> tuple[str, str]:
        """The head's matrix and bias as the framework calls them in an equation."""
        return ("weight", "bias") if self.head_transposed else ("kernel", "bias")

    def gate_order(self, config: Config) -> Gates:
        return RNN_GATE if config.cell == "rnn" else self.gates[config.cell]

    def letter(self, config: Config, node: str) -> str:
        return dict(self.gate_order(config)).get(node, "")

    def biases_per_gate(self, config: Config) -> int:
        """How many bias vectors each gate has: 0 without bias, 2 where each side has its own."""
        return 1 if config.bias else 0

    def gate_biases(self, config: Config, gate: str) -> int:
        """How many bias vectors one gate (a node id) has; the same for every gate unless a framework says otherwise."""
        return self.biases_per_gate(config)

    def bias_where(self, config: Config) -> str:
        """Where the biases are kept, when there are two per gate."""
        return ""

    # --- names, both ways ------------------------------------------------------------------------

    def tensor_name(self, config: Config, layer: int | None, direction: int | None, kind: str) -> str:
        """The stored tensor's name for a layer, direction and kind; layer None for the head."""
        raise NotImplementedError

    def parse_name(self, name: str) -> Place | None:
        """The (layer, direction, kind) a tensor name says, or None if it is not one of ours."""
        raise NotImplementedError

    def is_alias(self, name: str) -> bool:
        """Whether the name is a second one the framework lists for a tensor it also names its own way."""
        return False

    # --- backward: lstm_shapes.parsing reads names with parse_name and tries its candidates ------------

    def tell_apart(self, config: Config, field: str) -> str:
        """A sentence on a Config field that differs between configurations with identical weights."""
        return f"{field}={getattr(config, field)!r} here; the weights do not show {field}."

    def short_name(self, name: str) -> str:
        """A tensor's name without its layer's prefix, as a comparison table shows it."""
        return name.rsplit("/", 1)[-1]

    def symbol(self, block: Block) -> str:
        """The framework's own name for a block in an equation, e.g. PyTorch's W_if."""
        sub = f"_{block.letter}" if block.letter else ""
        return {"W": f"W{sub}", "U": f"U{sub}", "b": f"b{sub}", "bx": f"bx{sub}", "bh": f"bh{sub}"}.get(block.kind, block.kind)

    # --- tensors ---------------------------------------------------------------------------------

    def weights(self, config: Config) -> tuple[Weight, ...]:
        raise NotImplementedError

    def side_by_side(self, config: Config, kind: str, rows: Index = (None,), *, layer: int) -> list[Block]:
        """Blocks of gates packed along the last axis: tensor[..., j*h:(j+1)*h], h being the layer's."""
        h = config.layer_hidden(layer)
        return [Block(kind, node, ltr, (*rows, _cols(j, h)), False) for j, (node, ltr) in enumerate(self.gate_order(config))]

    def stacked(self, config: Config, kind: str, lead: Index = (), offset: int = 0, trailing: bool = True, *,
                layer: int) -> list[Block]:
        """Blocks of gates stacked along the rows: tensor[..., j*h:(j+1)*h, :], h being the layer's."""
        h = config.layer_hidden(layer)
        tail: Index = (None,) if trailing else ()
        return [
            Block(kind, node, ltr, (*lead, _cols(j + offset, h), *tail), trailing)
            for j, (node, ltr) in enumerate(self.gate_order(config))
        ]

    def dense_head(self, config: Config) -> list[Weight]:
        if config.out is None:
            return []
        r = top_recurrent_expr(config)
        width: Expr = r if config.merged == 1 else config.merged * r
        name = self.head_name
        bias = [weight(config, self.tensor_name(config, None, None, "head_bias"), name, (O,), [Block("head_b", "", "", (None,), False)])]
        if not config.head_bias:
            bias = []
        matrix = self.tensor_name(config, None, None, "head_weight")
        if self.head_transposed:
            return [weight(config, matrix, name, (O, width), [Block("head_W", "", "", (None, None), True)]), *bias]
        return [weight(config, matrix, name, (width, O), [Block("head_W", "", "", (None, None), False)]), *bias]

    def tree_keys(self, name: str) -> tuple[str, ...]:
        """The keys of the nested dicts that hold a tensor, for a convention with `nested_names`."""
        return tuple(name.split("/"))

    def constructor(self, config: Config) -> tuple[str, ...]:
        """The line(s) of code that build the layer(s) in the framework, one per module the user writes."""
        return ()

    def lookalike(self, config: Config) -> tuple[Config, str] | None:
        """Another framework's configuration with the same arithmetic and count, and what tells the two apart."""
        return None

    # --- a whole sequence ------------------------------------------------------------------------

    def returns(self, config: Config, n: Dim, t: Dim) -> list[SeqTensor]:
        """The input and the tensors the layer returns, batch n and length t."""
        raise NotImplementedError

    def sequence(self, config: Config) -> tuple[SeqTensor, ...]:
        n: Dim = config.batch if config.batch is not None else "B"
        t: Dim = config.seq_len if config.seq_len is not None else "T"
        out = self.returns(config, n, t)
        if config.out is not None:
            shape: tuple[Dim, ...] = (n, config.out)
            if config.head_reads == "every-step":  # the head's rows keep the output sequence's layout
                what = f"{self.every_step(config)} at every step"
                shape = ((n, t) if config.batch_first else (t, n)) + (config.out,)
            else:
                what = self.reads(config)[config.head_reads == "final-states"]
            out.append(SeqTensor("logits", shape, f"the head applied to {what}"))
            if config.head_activation in HEAD_OUTPUTS:
                out.append(SeqTensor("probs", shape, HEAD_OUTPUTS[config.head_activation]))
        return tuple(out)

    def reads(self, config: Config) -> tuple[str, str]:
        """What the head reads in the sequence's own words: (the last step's output, the final states)."""
        raise NotImplementedError

    def every_step(self, config: Config) -> str:
        """The output sequence a head on every step reads, as the framework writes it."""
        return self.every_step_text

    def head_text(self, config: Config) -> str:
        """What the head reads, in the framework's short words, for `config.head_reads`."""
        if config.head_reads == "every-step":
            return self.every_step(config)
        return self.head_reads_texts[config.head_reads == "final-states"]

    def in_layout(self, config: Config, steps: Any) -> Any:
        """A (T, N, ...) time-major run, such as a head's logits at every step, in the framework's layout."""
        return steps.transpose(1, 0, 2) if config.batch_first else steps

    def time_major(self, config: Config, xs: Any) -> Any:
        """The input in this framework's layout as (T, N, x), the layout verify runs in."""
        return xs.transpose(1, 0, 2) if config.batch_first else xs

    def initial_state(self, config: Config, given: dict[str, Any]) -> list[list[tuple[Any, Any]]]:
        """[layer][direction] = (h, c or None) from the `state_inputs` tensors, as the run starts from."""
        raise NotImplementedError(f"{self.title} takes no initial state here")

    def returned(self, config: Config, run: Any, np: Any) -> dict[str, Any]:
        """The returned tensors from a numpy run (verify's `_Run`); `np` is numpy, passed in by verify."""
        raise NotImplementedError

    # --- notes -----------------------------------------------------------------------------------

    def weight_notes(self, config: Config) -> list[str]:
        """What a reader of this framework's weight tables should know."""
        return []

    def layout_notes(self, config: Config) -> list[str]:
        """What a reader should know about the input layout."""
        return []

    def notes(self, config: Config) -> tuple[str, ...]:
        said = self.weight_notes(config)
        if config.cell == "gru":
            where = "r ⊙ (U·h_prev + b)" if config.reset_after else "(r ⊙ h_prev)·U"
            said.append(f"The GRU candidate applies the reset gate as {where}.")
        said += self.layout_notes(config)
        if config.out is not None:
            said += self.head_notes(config)
        return tuple(said)

    def head_notes(self, config: Config) -> list[str]:
        """What the dense head reads, where that matters, and a softmax that cannot mean anything."""
        said = []
        last, final = self.head_reads_texts
        if config.head_reads == "every-step":
            said.append(f"The head applies the same weights to {self.every_step(config)} at every step, so the logits "
                        f"keep its time axis. --head-reads last-step reads only {self.reads(config)[0]}.")
            if config.bidirectional:
                said.append("At step t the head reads both directions' h_t: the forward one has seen the steps up "
                            "to t, the backward one those from t to the end.")
        elif config.bidirectional and config.head_reads == "last-step":
            said.append(f"The head reads {last}, the last time step's output: its backward half has seen only that one "
                        f"step, so it is not the backward direction's final state. --head-reads final-states reads "
                        f"{final} instead.")
        elif config.bidirectional:
            said.append(f"The head reads {final}: the forward direction's state after the last step and the backward "
                        f"direction's after the first. --head-reads last-step reads {last} instead.")
        if config.head_activation == "softmax" and config.out == 1:
            said.append("A softmax over one output is always 1.0; for one output use --head-activation sigmoid or none.")
        return said
