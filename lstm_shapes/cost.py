"""What a configuration costs: multiply-accumulates, element-wise work, and memory, each with its formula.

Counting rules, the same for every framework (the arithmetic does not depend on how the weights are
stored):

- A matrix product of (1, n) by (n, m) is n·m multiply-accumulates (MACs). Per time step, each
  layer and direction multiplies its input by every gate's input weights and its recurrent state by
  every gate's recurrent weights: G·h·(in + r) MACs, plus h·p for a projection. The head multiplies
  the last output once per sequence: D·r·o; a head on every step does so at each step, T·D·r·o.
  Counts are for one sequence (batch 1); a batch of B costs B times as much.
- Element-wise operations (additions and multiplications outside the matrix products: adding the two
  products, the biases, the peepholes, the gating products, the state update) and activations
  (sigmoid, tanh, softmax, one per element) are counted apart, per step.
- Parameter memory is the parameter count times the size of the dtype.
- Training memory (activation_bytes) is what PyTorch's autograd keeps for the backward pass on its
  decomposed CPU path, counted as unique storages (a view keeps its whole base), parameters,
  gradients and the loss left out; see docs/costs.md and tests/test_memory.py, which measures it.
- oneDNN's workspace (onednn_workspace_bytes) is what PyTorch keeps instead for a float32 LSTM
  without projection on the CPU, oneDNN's default path there.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from .config import Config
from .formula import Expr, Num, Sum, lift, sym
from .params import O, P, hidden_expr, layer_input_expr, recurrent_expr, top_recurrent_expr

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}
T, B = sym("T"), sym("B")


class CostLine(NamedTuple):
    key: str  # the JSON key
    what: str
    formula: Expr
    value: int | None  # None where it needs T or B and they were not given
    unit: str


class Fn(Expr):
    """A named integer function of expressions, e.g. page(…) or max(x,h), for counts that round."""

    __slots__ = ("name", "terms", "func")

    def __init__(self, name: str, func: Callable[..., int], *args: Expr | int) -> None:
        self.name, self.func, self.terms = name, func, tuple(lift(a) for a in args)

    def _key(self) -> tuple[object, ...]:
        return (self.name, self.terms)

    def evaluate(self, env: dict[str, int]) -> int:
        return self.func(*(term.evaluate(env) for term in self.terms))

    def render(self, env: dict[str, int] | None = None, *, ascii: bool = False) -> str:
        return f"{self.name}({','.join(term.render(env, ascii=ascii) for term in self.terms)})"


def round_up(n: int, step: int) -> int:
    return -(-n // step) * step


def onednn_ld(n: int) -> int:
    """oneDNN's row length for n floats: a multiple of 16, one more 16 on multiples of 256 (4K aliasing)."""
    ld = round_up(n, 16)
    return ld + 16 if ld % 256 == 0 else ld


def workspace_bytes(steps: int, batch: int, width: int, hidden: int) -> int:
    """oneDNN's float32 LSTM training workspace for one layer and direction reading `width` features.

    Seven buffers, each starting on a 4096-byte page: the gates (T·B rows of 4h), h_t (T·B rows of
    h), then for the T+1 states of this layer and the one above, the states, their gradients and
    the recurrent gradients (rows of max(width, h)) and the cell states and their gradients (rows
    of h, unpadded); the other rows are padded for the matrix products (onednn_ld).
    """
    rows, states = steps * batch, 2 * (steps + 1) * batch
    buffers = [rows * onednn_ld(4 * hidden), rows * onednn_ld(hidden)]
    buffers += [states * onednn_ld(max(width, hidden))] * 3 + [states * hidden] * 2
    return sum(round_up(4 * n, 4096) for n in buffers)


def ld(expr: Expr) -> Expr:
    return Fn("ld", onednn_ld, expr)


# Element-wise ops per element of r that Bidirectional's merge takes; concat and none only copy.
MERGE_OPS = {"sum": 1, "mul": 1, "ave": 2}


def _sum(terms: list[Expr]) -> Expr:
    return terms[0] if len(terms) == 1 else Sum(tuple(terms))


def _layers(config: Config, per: Callable[[Expr], Expr]) -> Expr:
    """`per` of a layer's h, summed over the layers: L·per(h) when they share h, per(h0)+per(h1)+... if not."""
    if config.per_layer:
        return _sum([per(hidden_expr(config, k)) for k in range(config.layers)])
    one = per(hidden_expr(config, 0))
    return config.layers * one if config.layers > 1 else one


def _times_d(config: Config, expr: Expr) -> Expr:
    return expr if config.directions == 1 else config.directions * expr


def macs_per_step(config: Config) -> Expr:
    """Matrix-product MACs of all recurrent layers for one time step of one sequence."""
    g = config.gates
    terms: list[Expr] = []
    for layer in range(config.layers):
        h, r = hidden_expr(config, layer), recurrent_expr(config, layer)
        per = h * (layer_input_expr(config, layer) + r)
        cell: Expr = per if g == 1 else g * per
        if config.proj is not None:
            cell = cell + h * P
        terms.append(_times_d(config, cell))
    return _sum(terms)


def head_macs(config: Config) -> Expr | None:
    if config.out is None:
        return None
    r = top_recurrent_expr(config)
    width = r if config.merged == 1 else config.merged * r
    return width * O


def _every_layer(config: Config, per: Callable[[Expr], Expr]) -> Expr:
    """`per` of a layer's h for every layer and direction: L·D·per(h), or D·(per(h0)+per(h1)+...)."""
    if config.per_layer:
        return _times_d(config, _layers(config, per))
    count = config.layers * config.directions
    one = per(hidden_expr(config, 0))
    return one if count == 1 else count * one


def elementwise_per_step(config: Config) -> Expr:
    """Additions and multiplications outside the matrix products, all layers, one step."""
    fw = config.convention
    biases = sum(fw.gate_biases(config, gate) for gate, _ in fw.gate_order(config))  # bias vectors added, h each

    def per(h: Expr) -> Expr:
        if config.cell == "lstm":
            # the two products summed (4h), biases (4h each), c_t = f⊙c + i⊙g (3h), m_t = o⊙tanh(c) (h)
            ops: Expr = (4 + biases + 3 + 1) * h
            if config.peepholes:
                ops = ops + 6 * h  # three products with the cell state, three additions
            if config.convention.forget_bias:
                ops = ops + h  # forget_bias
            return ops
        if config.cell == "gru":
            # r, z: products summed (2h); n: r ⊙ (…) and its sum (2h); biases (h each); then h_t:
            # PyTorch's kernel computes n + z⊙(h−n) (3h), the others z⊙h + (1−z)⊙n as written (4h).
            update = config.convention.gru_update_ops
            return (2 + 2 + update + biases) * h
        return (1 + biases) * h

    total = _times_d(config, _layers(config, per))
    merge = MERGE_OPS.get(config.merge_mode, 0) if config.bidirectional else 0
    if merge:  # Bidirectional adds, multiplies or averages the two directions' h_t: r elements (2r to average)
        if config.per_layer and config.proj is None:
            total = total + _sum([merge * recurrent_expr(config, k) if merge > 1 else recurrent_expr(config, k)
                                  for k in range(config.layers)])
        else:
            ops = merge * config.layers
            r = recurrent_expr(config, 0)
            total = total + (r if ops == 1 else ops * r)
    return total


def activations_per_step(config: Config) -> Expr:
    """Sigmoids and tanhs, one per element, all layers, one step."""
    ops = {"lstm": 5, "gru": 3, "rnn": 1}[config.cell]  # LSTM: 3 σ + tanh(g) + tanh(c)
    return _times_d(config, _layers(config, lambda h: ops * h))


def training_memory(config: Config) -> Expr:
    """Elements PyTorch's autograd keeps per sequence (times B for a batch), decomposed CPU path.

    Per step, layer and direction an LSTM keeps its gates (4h, one storage), tanh(c_t) (h), and
    c_{t-1} and h_{t-1} for the next step's products (h and r), plus m_t (h) with a projection;
    a GRU keeps h_{t-1}, its recurrent gates (3h), a copy of their n part and of h−n for the
    in-place products (2h), and n (h); an RNN keeps h_0 and each h_t (its tanh output). Layer 0
    keeps the input (x; a copy per direction when batch-first), each later layer the previous one's whole output (D·r); a head reading
    output[-1] keeps the whole top output, one reading h_n[-1] all of h_n (L·r), one reading
    cat(h_n[-2], h_n[-1]) its 2r copy, one on every step the whole top output (as output[-1] does);
    softmax and sigmoid keep their output (o, or o per step for a head on every step).
    """
    d, layers, r = config.directions, config.layers, top_recurrent_expr(config)

    def cell(h: Expr) -> Expr:
        if config.cell == "lstm":
            return 7 * h if config.proj is None else 7 * h + P
        return 7 * h if config.cell == "gru" else h

    # A batch-first input is transposed to a view, not contiguous unless T or B is 1; then each
    # direction's input product keeps its own contiguous copy.
    copies = config.batch_first and d == 2 and 1 not in (config.seq_len, config.batch)
    per_step: list[Expr] = [2 * sym("x") if copies else sym("x")]
    head_output = config.head_reads in ("last-step", "every-step")  # both keep the whole top output
    if config.per_layer:  # each layer keeps the one below's whole output, D·r of that layer
        for k in range(1, layers):
            below = recurrent_expr(config, k - 1)
            per_step.append(below if d == 1 else d * below)
        if head_output:
            per_step.append(r if d == 1 else d * r)
    else:
        whole_outputs = (layers - 1 + head_output) * d
        if whole_outputs:
            per_step.append(r if whole_outputs == 1 else whole_outputs * r)
    per_step.append(_every_layer(config, cell))
    activated = config.out is not None and config.head_activation != "none"
    if activated and config.head_reads == "every-step":
        per_step.append(O)
    kept: Expr = T * _sum(per_step)
    once: list[Expr] = []
    if config.cell == "rnn":
        once.append(_every_layer(config, lambda h: h))  # h_0
    if config.head_reads == "final-states":
        # cat(h_n[-2], h_n[-1]) is a 2r copy; h_n[-1] keeps its h_n: every layer's, or one module's
        width = d if d == 2 or config.per_layer else layers
        once.append(r if width == 1 else width * r)
    if activated and config.head_reads != "every-step":
        once.append(O)
    return kept if not once else kept + _sum(once)


def onednn_applies(config: Config) -> bool:
    """PyTorch runs nn.LSTM through oneDNN on the CPU for float32 without a projection."""
    return config.cell == "lstm" and config.proj is None and not config.peepholes and config.dtype == "float32"


def onednn_workspace(config: Config) -> Expr:
    """Bytes of oneDNN's training workspace: ws(T,B,in,h) per layer and direction (see workspace_bytes)."""
    def ws(width: Expr, h: Expr) -> Expr:
        return Fn("ws", workspace_bytes, T, B, width, h)

    d = config.directions
    if config.per_layer:  # each layer reads the one below's D·h
        total = _sum([ws(layer_input_expr(config, k), hidden_expr(config, k)) for k in range(config.layers)])
        return _times_d(config, total)
    h = hidden_expr(config, 0)
    total = ws(sym("x"), h)
    if config.layers > 1:
        later = ws(d * h if d > 1 else h, h)
        total = total + (later if config.layers == 2 else (config.layers - 1) * later)
    return _times_d(config, total)


def notes(config: Config) -> tuple[str, ...]:
    """What the memory and element-wise figures count, shown with --cost."""
    found = [
        "Training memory: the tensors PyTorch's autograd keeps for the backward pass on its decomposed "
        "CPU path, as unique storages (a view keeps its whole tensor: a head on output[-1] keeps every step); "
        "parameters, gradients, optimizer state and the loss are not counted."
    ]
    if (config.cell == "gru" and not config.reset_after) or config.peepholes:
        found.append("PyTorch has no such cell; its training memory is counted as for PyTorch's nearest one.")
    if onednn_applies(config):
        found.append(
            "oneDNN workspace: PyTorch runs a float32 nn.LSTM without proj_size on the CPU through oneDNN "
            "(the default, unless it is turned off in torch.backends.mkldnn) and, with grad enabled, "
            "keeps this workspace and each layer's input, output and states instead; "
            "ws(T,B,in,h) is one layer and direction's workspace, defined in docs/costs.md."
        )
    if config.cell == "gru":
        found.append(
            "GRU element-wise: h_t counted as the framework computes it: PyTorch n + z⊙(h−n) (3h), "
            "Keras, TF1 and ONNX z⊙h + (1−z)⊙n (4h)."
        )
    return tuple(found)


def costs(config: Config, total_params: int, dtype: str = "float32") -> tuple[CostLine, ...]:
    env = dict(config.symbols)
    if config.seq_len is not None:
        env["T"] = config.seq_len
    if config.batch is not None:
        env["B"] = config.batch
    size = DTYPE_BYTES[dtype]
    x = sym("x")

    def value(expr: Expr) -> int | None:
        try:
            return expr.evaluate(env)
        except KeyError:  # T or B not given
            return None

    step = macs_per_step(config)
    head = head_macs(config)
    every = config.head_reads == "every-step"
    sequence: Expr = T * step if head is None else T * (step + head) if every else T * step + head
    lines = [
        CostLine("macs_per_step", "matrix-product MACs per time step", step, value(step), "MACs"),
    ]
    if head is not None:
        when = "per time step (the head runs at every step)" if every else "once per sequence"
        lines.append(CostLine("head_macs", f"head MACs, {when}", head, value(head), "MACs"))
    lines += [
        CostLine("macs_per_sequence", "matrix-product MACs per sequence", sequence, value(sequence), "MACs"),
        CostLine("elementwise_per_step", "element-wise additions and multiplications per step",
                 elementwise_per_step(config), value(elementwise_per_step(config)), "ops"),
        CostLine("activations_per_step", "sigmoid and tanh evaluations per step",
                 activations_per_step(config), value(activations_per_step(config)), "ops"),
        CostLine("parameter_bytes", f"parameter memory ({dtype})", Num(total_params) * size,
                 total_params * size, "bytes"),
    ]
    memory = B * training_memory(config) * size
    lines.append(CostLine("activation_bytes", f"training memory autograd keeps, batch B, length T ({dtype})",
                          memory, value(memory), "bytes"))
    if onednn_applies(config):
        workspace = onednn_workspace(config)
        lines.append(CostLine("onednn_workspace_bytes", "oneDNN workspace (PyTorch float32 LSTM on CPU, see notes)",
                              workspace, value(workspace), "bytes"))
    return tuple(lines)
