"""The validated, frozen description of what to trace; which framework allows what comes from its module."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from .errors import ConfigError
from .frameworks import DEFAULT, NAMES, REGISTRY, Framework, having

# Larger sizes are almost surely typos; counts stay exact Python ints well past this.
MAX_SIZE = 10_000_000
MAX_LAYERS = 1_000
SIZE_RANGE = f"a whole number from 1 to {MAX_SIZE:,}"

CELLS = ("lstm", "gru", "rnn")
DTYPES = ("float32", "float16", "bfloat16", "int8")
FRAMEWORKS = NAMES

# The dense head: its activation (softmax needs two or more outputs to mean anything) and what it
# reads. "last-step" is the top layer's output at the last time step (PyTorch's output[-1]);
# "final-states" is each direction's final h (PyTorch's h_n[-D:], Keras' Bidirectional output).
# They differ only with a backward direction, whose last-step output has seen one step.
# "every-step" is the top layer's output at every step (Keras' return_sequences=True, PyTorch's
# output): logits (B, T, o) from the same weights.
HEAD_ACTIVATIONS = ("softmax", "sigmoid", "none")
HEAD_READS = ("last-step", "final-states", "every-step")
# Keras Bidirectional's merge_mode: how the two directions' outputs become one ("none" keeps two tensors).
MERGE_MODES = ("concat", "sum", "mul", "ave", "none")


class Option(NamedTuple):
    """A Config field as the command line spells it; its default is the field's own."""

    field: str
    flags: str  # "--no-bias" turns off a field that is on by default; "--a/--b" sets True or False (else None)
    help: str  # "{has_proj}" becomes the frameworks that have that variant
    choices: tuple[str, ...] = ()  # empty for a size or a flag
    limit: int | None = MAX_SIZE  # a size up to this; None for a choice or a flag
    required: bool = False
    # `fit` searches the hidden size and leaves out the options that change no count, save --head-reads:
    # that one also decides whether the framework can have the model at all (a cell cannot read every step).
    in_fit: bool = True
    per_layer: bool = False  # a size, or one per layer apart by commas (128,64)


# The model options, in the order the help lists them: the one place a Config field meets its option.
OPTIONS = (
    Option("input", "--input", "Input features per time step (x).", required=True),
    Option("hidden", "--hidden", "Hidden units of the cell (h): every gate and c_t. Sizes apart by commas give one per "
           "layer: 128,64 stacks LSTM(128) and LSTM(64).", required=True, in_fit=False, per_layer=True),
    Option("out", "--out", "Outputs of a dense head after h_t (o); none if left out."),
    Option("framework", "--framework", "Whose names, layouts and gate order.", NAMES, None),
    Option("cell", "--cell", "The recurrent cell.", CELLS, None),
    Option("proj", "--proj", "LSTM projection: h_t has P < h units ({has_proj})."),
    Option("peepholes", "--peepholes", "LSTM peephole connections ({has_peepholes}).", limit=None),
    Option("layers", "--layers", "Stacked recurrent layers.", limit=MAX_LAYERS),
    Option("bidirectional", "--bidirectional", "A backward direction beside the forward one ({has_bidirectional}).",
           limit=None),
    Option("merge_mode", "--merge-mode", "How Bidirectional merges the two directions: side by side, added, "
           "multiplied, averaged, or kept as two tensors ({has_merge_modes}).", MERGE_MODES, None),
    Option("bias", "--no-bias", "Cells without biases ({has_no_bias}).", limit=None),
    Option("batch", "--batch", "Batch size (symbolic B if left out).", in_fit=False),
    Option("seq_len", "--seq-len", "Sequence length (symbolic T if left out).", in_fit=False),
    Option("reset_after", "--reset-after/--no-reset-after",
           "GRU: apply the reset gate after the recurrent product (Keras reset_after, ONNX linear_before_reset=1).",
           limit=None),
    Option("batch_first", "--batch-first/--time-major", "Input layout where the framework lets you choose "
           "({layout_arguments}).", limit=None, in_fit=False),
    Option("dtype", "--dtype", "Element type, for the memory figures.", DTYPES, None, in_fit=False),
    Option("head_activation", "--head-activation",
           "The head's activation. Default: softmax for two or more outputs, none for one.", HEAD_ACTIVATIONS, None,
           in_fit=False),
    Option("head_bias", "--no-head-bias", "A dense head without biases.", limit=None),
    Option("head_reads", "--head-reads", "What the head reads: the last step's output, each direction's final "
           "state (they differ when bidirectional), or the output at every step, giving (B, T, o). "
           "Default: final-states for {reads_final_states}, last-step elsewhere.", HEAD_READS, None),
)


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
    return " and ".join(", ".join(REGISTRY[f].title for f in frameworks).rsplit(", ", 1))


def unsupported(field: str, value: object, what: str) -> ConfigError:
    return ConfigError(field, value, "", "{name} " + what)


@dataclass(frozen=True)
class Config:
    """Sizes and choices for one traced model; combinations a framework lacks cannot be built.

    `reset_after` and `batch_first` left as None take the framework's own default.
    """

    input: int
    hidden: int | tuple[int, ...]  # a tuple gives each layer its own size (and the number of layers)
    out: int | None = None
    cell: str = "lstm"
    framework: str = DEFAULT
    proj: int | None = None
    peepholes: bool = False
    layers: int = 1
    bidirectional: bool = False
    merge_mode: str = "concat"
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
        self._check_hidden()
        check_size("out", self.out, optional=True)
        check_size("proj", self.proj, optional=True)
        check_size("layers", self.layers, limit=MAX_LAYERS)
        check_size("batch", self.batch, optional=True)
        check_size("seq_len", self.seq_len, optional=True)
        check_choice("cell", self.cell, CELLS)
        check_choice("framework", self.framework, FRAMEWORKS)
        check_choice("dtype", self.dtype, DTYPES)
        check_choice("merge_mode", self.merge_mode, MERGE_MODES)
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
        if not self.convention.takes_sequence:
            object.__setattr__(self, "seq_len", 1)  # a cell takes one step per call
        # Fill in the framework's defaults so that every later reader sees a plain bool.
        if self.cell == "gru" and self.reset_after is None:
            object.__setattr__(self, "reset_after", self.convention.reset_after_default)
        if self.batch_first is None:
            object.__setattr__(self, "batch_first", self.convention.batch_first_default)
        if self.out is not None:
            if self.head_activation is None:
                object.__setattr__(self, "head_activation", "softmax" if self.out >= 2 else "none")
            if self.head_reads is None:
                object.__setattr__(self, "head_reads", self.convention.head_reads_default)

    def _check_hidden(self) -> None:
        """One size for every layer, or one per layer; sizes that are all equal become one."""
        if not isinstance(self.hidden, (tuple, list)):
            check_size("hidden", self.hidden)
            return
        sizes = tuple(self.hidden)
        if not sizes:
            raise ConfigError("hidden", self.hidden, "a size, or one size per layer")
        for size in sizes:
            try:
                check_size("hidden", size)
            except ConfigError:
                raise ConfigError("hidden", self.hidden, f"whole numbers from 1 to {MAX_SIZE:,}, one per layer") from None
        if len(sizes) > MAX_LAYERS:
            raise ConfigError("hidden", self.hidden, f"at most {MAX_LAYERS:,} sizes, one per layer")
        if self.layers != 1 and self.layers != len(sizes):
            raise ConfigError("layers", self.layers, "", f"{{name}} is {self.layers}, but --hidden gives "
                                                         f"{len(sizes)} sizes, one per layer; give as many or leave out {{name}}")
        object.__setattr__(self, "layers", len(sizes))
        object.__setattr__(self, "hidden", sizes[0] if len(set(sizes)) == 1 else sizes)

    def _check_variants(self) -> None:
        fw = self.convention
        title, cell = fw.title, self.cell
        if self.out is None:
            for field, value, default in (("head_activation", self.head_activation, None),
                                          ("head_bias", self.head_bias, True), ("head_reads", self.head_reads, None)):
                if value != default:
                    raise unsupported(field, value, "describes the dense head; add one with --out N")
        if cell not in fw.cells:
            have = tuple(n for n, f in REGISTRY.items() if cell in f.cells)
            only = " and ".join(c.upper() for c in fw.cells)
            raise unsupported("cell", cell, f"{cell} is not available in {title}, which has {only} cells only; {names(have)} have it")
        if self.layers > 1 and not fw.has_layers:
            raise unsupported("layers", self.layers,
                              f"is not available in {title}, which is one layer; {names(having('has_layers'))} stack layers")
        if self.bidirectional and not fw.has_bidirectional:
            raise unsupported("bidirectional", True, f"is not available in {title}, which runs forward only; "
                                                     f"{names(having('has_bidirectional'))} have it")
        if self.merge_mode != "concat":
            self._check_merge_mode(fw)
        if self.head_reads == "every-step" and not fw.takes_sequence:
            raise unsupported("head_reads", self.head_reads,
                              f"every-step is not available in {title}, which takes one time step per call: its head reads "
                              f"that step's {fw.head_reads_texts[0]} (leave out --head-reads); "
                              f"{names(having('takes_sequence'))} take a whole sequence")
        if self.seq_len not in (None, 1) and not fw.takes_sequence:
            raise unsupported("seq_len", self.seq_len, f"is not available in {title}, which takes one time step per call "
                                                       f"(call it T times for a sequence); "
                                                       f"{names(having('takes_sequence'))} take a whole sequence")
        if self.proj is not None:
            if cell != "lstm":
                raise unsupported("proj", self.proj, f"is for LSTM cells only (a projection of h_t), not {cell}")
            if not fw.has_proj:
                raise unsupported("proj", self.proj, f"is not available in {title}; {names(having('has_proj'))} have a projection")
            if fw.proj_below_hidden and self.proj >= min(self.sizes):
                raise ConfigError(
                    "proj", self.proj, "", f"{{name}} must be smaller than --hidden ({self.hidden_text}) in {title}, got {self.proj}"
                )
        if self.peepholes:
            if cell != "lstm":
                raise unsupported("peepholes", True, f"are for LSTM cells only, not {cell}")
            if not fw.has_peepholes:
                raise unsupported("peepholes", True, f"are not available in {title}; {names(having('has_peepholes'))} have them")
        if not self.bias and not fw.has_no_bias:
            raise unsupported("bias", False, f"is not available in {title}, whose cells always have a bias; {names(having('has_no_bias'))} can drop it")
        if self.reset_after is not None:
            if cell != "gru":
                raise unsupported("reset_after", self.reset_after, f"is for GRU cells only, not {cell}")
            if self.reset_after not in fw.reset_after_choices:
                have = tuple(n for n, f in REGISTRY.items() if self.reset_after in f.reset_after_choices)
                where = "after" if not self.reset_after else "before"
                raise unsupported(
                    "reset_after", self.reset_after,
                    f"is not available in {title}, whose GRU always applies the reset gate {where} the recurrent "
                    f"product; {names(have)} have it",
                )
        if self.batch_first is not None and self.batch_first not in fw.batch_first_choices:
            have = tuple(n for n, f in REGISTRY.items() if self.batch_first in f.batch_first_choices)
            raise unsupported(
                "batch_first", self.batch_first, f"is not available in {title}, which takes batch-first input only; {names(have)} have it"
            )

    def _check_merge_mode(self, fw: Framework) -> None:
        mode, title = self.merge_mode, fw.title
        if mode not in fw.merge_modes:
            raise unsupported("merge_mode", mode, f"is not available in {title}, which puts the two directions side "
                                                  f"by side; {names(having('has_merge_modes'))} have it")
        if not self.bidirectional:
            raise unsupported("merge_mode", mode, "merges the two directions; add one with --bidirectional")
        if mode == "none" and self.layers > 1:
            raise unsupported("merge_mode", mode, "returns two tensors, which a stacked Bidirectional layer cannot "
                                                  "read (Keras refuses it); use one layer or another mode")
        if mode == "none" and self.out is not None:
            raise unsupported("merge_mode", mode, "returns two tensors, which a Dense head cannot read (Keras "
                                                  "refuses it); leave out --out or use another mode")

    @property
    def convention(self) -> Framework:
        """The framework module's object: its names, layouts, gate order and variants."""
        return REGISTRY[self.framework]

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def per_layer(self) -> bool:
        """True when the layers have sizes of their own (`--hidden 128,64`)."""
        return isinstance(self.hidden, tuple)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Each layer's hidden size."""
        return self.hidden if isinstance(self.hidden, tuple) else (self.hidden,) * self.layers

    @property
    def hidden_text(self) -> str:
        """The hidden size(s) as --hidden takes them: `256` or `128,64`."""
        return ",".join(map(str, self.hidden)) if isinstance(self.hidden, tuple) else str(self.hidden)

    def layer_hidden(self, layer: int) -> int:
        """h of layer `layer`: the width of its gates and c_t."""
        return self.hidden[layer] if isinstance(self.hidden, tuple) else self.hidden

    def layer_recurrent(self, layer: int) -> int:
        """r of layer `layer`: the width of its h_t, which is the projection size when there is one."""
        return self.proj if self.proj is not None else self.layer_hidden(layer)

    @property
    def top_hidden(self) -> int:
        """h of the last layer, whose states the layer returns."""
        return self.layer_hidden(self.layers - 1)

    @property
    def recurrent(self) -> int:
        """r of the last layer: the width of the h_t that the stack returns and a head reads."""
        return self.layer_recurrent(self.layers - 1)

    @property
    def gates(self) -> int:
        return {"lstm": 4, "gru": 3, "rnn": 1}[self.cell]

    @property
    def merged(self) -> int:
        """How many r-wide outputs a layer's merged output holds: D side by side, 1 once added, multiplied or averaged."""
        return self.directions if self.merge_mode == "concat" else 1

    def layer_input(self, layer: int) -> int:
        """What layer `layer` reads: x_t for the first, the previous layer's merged output after."""
        return self.input if layer == 0 else self.merged * self.layer_recurrent(layer - 1)

    @cached_property
    def symbols(self) -> dict[str, int]:
        """The values of the symbols that formulas use."""
        values = {"x": self.input}
        if isinstance(self.hidden, tuple):  # h0, h1, ...: one symbol per layer
            values.update((f"h{k}", size) for k, size in enumerate(self.hidden))
        else:
            values["h"] = self.hidden
        if self.proj is not None:
            values["p"] = self.proj
        if self.out is not None:
            values["o"] = self.out
        return values
