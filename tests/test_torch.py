"""Cross-check lstm_shapes against the real PyTorch `nn.LSTM`, `nn.GRU` and `nn.RNN`.

Every expected number here (parameter totals, state_dict keys and shapes, the shapes of
output / h_n / c_n / logits, and the numeric outputs of a forward pass) is read from a torch
module built in this process; nothing is copied from lstm_shapes itself. The hand-written
spot checks assert literal numbers too, but only after torch has produced them.

With a head, the model is one `nn.Module` holding the recurrent layer as `rnn` and an
`nn.Linear(D*r, o)` as `head` (D = 2 if bidirectional else 1, r = proj_size or hidden), so the
state_dict keys are `rnn.weight_ih_l0`, ..., `head.weight`. The head reads the output at the last
time step, the last layer's final states (h_n) or the whole output (a head on every step, giving
(T, N, o) or, batch-first, (N, T, o)), with or without a bias, then a softmax, a sigmoid or nothing;
each case draws these from the grid's seeded generator.

Needs torch; when it cannot be imported the whole module is skipped.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import random
from typing import Any, NamedTuple

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed: PyTorch cross-check skipped")

import lstm_shapes  # noqa: E402

# torch's own note that it falls back from oneDNN for projected LSTMs; not the project's.
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN:UserWarning")

TORCH_CELLS = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}


# --------------------------------------------------------------------------
# the grid
# --------------------------------------------------------------------------


class Case(NamedTuple):
    cell: str
    input: int
    hidden: int
    layers: int
    bidirectional: bool
    proj: int  # 0 = no projection (passed to the tool as None)
    bias: bool
    batch_first: bool | None  # None = framework default (time-major)
    out: int | None
    batch: int
    seq_len: int
    head_bias: bool = True
    head_reads: str = "last-step"
    head_activation: str = "none"

    @property
    def id(self) -> str:
        parts = [self.cell, f"x{self.input}", f"h{self.hidden}", f"L{self.layers}"]
        if self.bidirectional:
            parts.append("bi")
        if self.proj:
            parts.append(f"p{self.proj}")
        if not self.bias:
            parts.append("nobias")
        parts.append({None: "tmdefault", False: "tm", True: "bf"}[self.batch_first])
        parts.append("nohead" if self.out is None else f"o{self.out}")
        if self.out is not None:
            parts.append(f"{self.head_activation}-{self.head_reads}" + ("" if self.head_bias else "-nobias"))
        parts.append(f"N{self.batch}T{self.seq_len}")
        return "-".join(parts)


INPUTS = (1, 3, 17, 64)
HIDDENS = (1, 5, 17, 64)
LAYERS = (1, 2, 3)
BIDIRECTIONAL = (False, True)
BIASES = (True, False)
BATCH_FIRSTS = (None, False, True)
OUTS = (None, 1, 3)
BATCHES = (1, 2, 3, 5)
SEQ_LENS = (1, 2, 4, 7)


def proj_choices(cell: str, hidden: int) -> tuple[int, ...]:
    """0 (none) for every cell; for LSTM also 1 <= p < hidden: the smallest, a middle one, the largest."""
    if cell != "lstm":
        return (0,)
    return tuple(sorted({0} | {p for p in (1, hidden // 2, hidden - 1) if 1 <= p < hidden}))


def make_grid() -> list[Case]:
    """A deterministic sample of the full product, stratified so that each cell (and LSTM with
    and without a projection) gets enough cases; batch and seq_len vary per case."""
    rng = random.Random(20240613)
    structural = list(
        itertools.product(TORCH_CELLS, INPUTS, HIDDENS, LAYERS, BIDIRECTIONAL, BIASES, BATCH_FIRSTS, OUTS)
    )
    pools: dict[str, list[tuple[Any, ...]]] = {"lstm-proj": [], "lstm": [], "gru": [], "rnn": []}
    for cell, x, h, layers, bi, bias, bf, out in structural:
        for p in proj_choices(cell, h):
            key = cell if cell != "lstm" else ("lstm-proj" if p else "lstm")
            pools[key].append((cell, x, h, layers, bi, p, bias, bf, out))
    quota = {"lstm-proj": 50, "lstm": 45, "gru": 65, "rnn": 65}
    cases = []
    for key, size in quota.items():
        for combo in rng.sample(pools[key], size):
            cases.append(Case(*combo, batch=rng.choice(BATCHES), seq_len=rng.choice(SEQ_LENS)))
    # The head's options, from their own generator so that the grid above stays as it was.
    heads = random.Random(20261121)
    return [
        case._replace(head_bias=heads.random() < 0.7, head_reads=heads.choice(("last-step", "final-states")),
                      head_activation=heads.choice(("softmax", "sigmoid", "none")))
        if case.out is not None else case
        for case in cases
    ]


def every_step_cases() -> list[Case]:
    """Heads on every step (nn.Linear on output), from a generator of their own: each cell, both direction
    counts and every layout, appended so that the grid above stays as it was."""
    rng = random.Random(20260302)
    cases = []
    for cell, bidirectional, batch_first in itertools.product(TORCH_CELLS, BIDIRECTIONAL, BATCH_FIRSTS):
        hidden = rng.choice(HIDDENS[1:3])
        proj = rng.randint(1, hidden - 1) if cell == "lstm" and rng.random() < 0.4 else 0
        cases.append(Case(cell, rng.choice(INPUTS[:3]), hidden, rng.choice(LAYERS), bidirectional, proj,
                          rng.random() < 0.8, batch_first, rng.choice(OUTS[1:]), batch=rng.choice(BATCHES),
                          seq_len=rng.choice(SEQ_LENS), head_bias=rng.random() < 0.7, head_reads="every-step",
                          head_activation=rng.choice(("softmax", "sigmoid", "none"))))
    return cases


BASE_GRID = make_grid()
EVERY_STEP = every_step_cases()
GRID = BASE_GRID + EVERY_STEP
IDS = [case.id for case in GRID]
# The numeric forward pass on every 4th case (about 55-60 of them) and on every head on every step.
NUMERIC = BASE_GRID[::4] + EVERY_STEP
NUMERIC_IDS = [case.id for case in NUMERIC]
# The symbolic-shape check (no batch / seq_len given) on every 6th case, and every other head on every step.
SYMBOLIC = BASE_GRID[1::6] + EVERY_STEP[::2]
SYMBOLIC_IDS = [case.id for case in SYMBOLIC]


def test_grid_is_large_and_covers_every_option() -> None:
    assert len(GRID) >= 200
    assert len(set(GRID)) == len(GRID)
    assert len(set(IDS)) == len(IDS)
    for field, values in [
        ("cell", tuple(TORCH_CELLS)),
        ("input", INPUTS),
        ("hidden", HIDDENS),
        ("layers", LAYERS),
        ("bidirectional", BIDIRECTIONAL),
        ("bias", BIASES),
        ("batch_first", BATCH_FIRSTS),
        ("out", OUTS),
        ("batch", BATCHES),
        ("seq_len", SEQ_LENS),
    ]:
        seen = {getattr(case, field) for case in GRID}
        assert seen == set(values), field
    for cell in TORCH_CELLS:
        assert {case.layers for case in GRID if case.cell == cell} == set(LAYERS), cell
    lstm_proj = [case for case in GRID if case.proj]
    assert all(case.cell == "lstm" and 1 <= case.proj < case.hidden for case in lstm_proj)
    assert {case.proj for case in lstm_proj} >= {1, 16, 63}
    assert any(case.proj == case.hidden - 1 for case in lstm_proj)
    assert any(case.proj and case.bidirectional and case.layers > 1 for case in GRID)
    heads = [case for case in GRID if case.out is not None]
    assert {case.head_activation for case in heads} == {"softmax", "sigmoid", "none"}
    assert {case.head_bias for case in heads} == {True, False}
    assert {case.head_reads for case in NUMERIC if case.out is not None and case.bidirectional} == {
        "last-step", "final-states", "every-step"}
    every = [case for case in NUMERIC if case.head_reads == "every-step"]
    assert {(case.cell, case.bidirectional, case.batch_first) for case in every} == set(
        itertools.product(TORCH_CELLS, BIDIRECTIONAL, BATCH_FIRSTS))
    assert len(NUMERIC) >= 50
    assert {case.cell for case in NUMERIC} == set(TORCH_CELLS)
    assert any(case.proj for case in NUMERIC)


# --------------------------------------------------------------------------
# torch side: everything expected comes from here
# --------------------------------------------------------------------------


class TorchRef(NamedTuple):
    total: int
    weights: list[tuple[str, tuple[int, ...]]]
    arrays: dict[str, np.ndarray]  # float32, the framework's own layout
    xs: np.ndarray  # float32, the framework's input layout
    outputs: dict[str, np.ndarray]  # float64 reference results of the same float32 numbers


def torch_module(case: Case) -> torch.nn.Module:
    kwargs: dict[str, Any] = dict(num_layers=case.layers, bias=case.bias, bidirectional=case.bidirectional)
    if case.batch_first is not None:
        kwargs["batch_first"] = case.batch_first
    if case.proj:
        kwargs["proj_size"] = case.proj
    return TORCH_CELLS[case.cell](case.input, case.hidden, **kwargs)


def head_width(module: torch.nn.Module) -> int:
    """D*r as torch reports it: the width of the module's output."""
    directions = 2 if module.bidirectional else 1
    width = module.proj_size if getattr(module, "proj_size", 0) else module.hidden_size
    return directions * width


class Model(torch.nn.Module):
    """What a user writes: the recurrent layer and a dense head in one module."""

    def __init__(self, case: Case, rnn: torch.nn.Module) -> None:
        super().__init__()
        self.rnn = rnn
        self.head = torch.nn.Linear(head_width(rnn), case.out, bias=case.head_bias)
        self.reads, self.activation = case.head_reads, case.head_activation


def run_torch(module: torch.nn.Module, head: Model | None, xs: torch.Tensor) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        output, state = module(xs)
        results = {"output": output}
        if isinstance(module, torch.nn.LSTM):
            results["h_n"], results["c_n"] = state
        else:
            results["h_n"] = state
        if head is not None:
            if head.reads == "final-states":
                directions = 2 if module.bidirectional else 1
                last = torch.cat(list(results["h_n"][-directions:]), dim=1)
            elif head.reads == "every-step":
                last = output  # nn.Linear on the last axis: (T, N, o), or (N, T, o) batch-first
            else:
                last = output[:, -1] if module.batch_first else output[-1]
            results["logits"] = head.head(last)
            if head.activation == "softmax":
                results["probs"] = torch.softmax(results["logits"], dim=-1)
            elif head.activation == "sigmoid":
                results["probs"] = torch.sigmoid(results["logits"])
    return results


def input_shape(case: Case, batch: int, seq_len: int) -> tuple[int, int, int]:
    if case.batch_first:
        return (batch, seq_len, case.input)
    return (seq_len, batch, case.input)


@functools.cache
def torch_reference(case: Case) -> TorchRef:
    torch.manual_seed(GRID.index(case) if case in GRID else 12345)
    module = torch_module(case)
    head = None if case.out is None else Model(case, module)
    whole = module if head is None else head
    weights = [(name, tuple(t.shape)) for name, t in whole.state_dict().items()]
    arrays = {name: t.detach().numpy().astype(np.float32, copy=True) for name, t in whole.state_dict().items()}
    total = sum(int(p.numel()) for p in whole.parameters())
    xs = torch.randn(input_shape(case, case.batch, case.seq_len), dtype=torch.float32)
    # The reference runs in float64 on exactly the float32 weights and inputs.
    ref64 = copy.deepcopy(module).double()
    head64 = None if head is None else copy.deepcopy(head).double()
    if head64 is not None:
        ref64 = head64.rnn
    outputs = {k: v.numpy() for k, v in run_torch(ref64, head64, xs.double()).items()}
    # The float32 pass must give the same shapes (it is what a user runs).
    shapes32 = {k: tuple(v.shape) for k, v in run_torch(module, head, xs).items()}
    assert shapes32 == {k: v.shape for k, v in outputs.items()}
    return TorchRef(total, weights, arrays, xs.numpy(), outputs)


def tool_config(case: Case, **overrides: Any) -> lstm_shapes.Config:
    kwargs: dict[str, Any] = dict(
        input=case.input,
        hidden=case.hidden,
        out=case.out,
        cell=case.cell,
        framework="pytorch",
        proj=case.proj or None,
        layers=case.layers,
        bidirectional=case.bidirectional,
        bias=case.bias,
        batch=case.batch,
        seq_len=case.seq_len,
        batch_first=case.batch_first,
    )
    if case.out is not None:
        kwargs.update(head_bias=case.head_bias, head_reads=case.head_reads, head_activation=case.head_activation)
    kwargs.update(overrides)
    return lstm_shapes.Config(**kwargs)


@functools.cache
def tool_report(case: Case) -> tuple[Any, dict[str, Any]]:
    rep = lstm_shapes.build(tool_config(case))
    return rep, rep.to_dict()


def sequence_shapes(d: dict[str, Any]) -> dict[str, list[Any]]:
    names = [entry["name"] for entry in d["sequence"]]
    assert len(names) == len(set(names)), f"duplicate sequence names: {names}"
    return {entry["name"]: list(entry["shape"]) for entry in d["sequence"]}


# --------------------------------------------------------------------------
# structure: totals, state_dict keys and shapes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("case", GRID, ids=IDS)
def test_total_params_match_torch(case: Case) -> None:
    ref = torch_reference(case)
    _, d = tool_report(case)
    assert isinstance(d["total_params"], int) and not isinstance(d["total_params"], bool)
    assert d["total_params"] == ref.total


@pytest.mark.parametrize("case", GRID, ids=IDS)
def test_weights_match_state_dict(case: Case) -> None:
    ref = torch_reference(case)
    _, d = tool_report(case)
    json.loads(json.dumps(d))  # JSON-ready
    assert d["framework"] == "pytorch"
    assert d["cell"] == case.cell
    got = [(w["name"], tuple(w["shape"])) for w in d["weights"]]
    assert got == ref.weights
    for w in d["weights"]:
        assert w["params"] == int(np.prod(w["shape"], dtype=np.int64)), w["name"]
    assert sum(w["params"] for w in d["weights"]) == ref.total


# --------------------------------------------------------------------------
# sequence shapes: output, h_n, c_n, logits
# --------------------------------------------------------------------------


def expected_sequence_names(case: Case) -> set[str]:
    names = {"input", "output", "h_n"}
    if case.cell == "lstm":
        names.add("c_n")
    if case.out is not None:
        names.add("logits")
        if case.head_activation != "none":
            names.add("probs")
    return names


@pytest.mark.parametrize("case", GRID, ids=IDS)
def test_sequence_shapes_match_torch(case: Case) -> None:
    ref = torch_reference(case)
    _, d = tool_report(case)
    got = sequence_shapes(d)
    assert set(got) == expected_sequence_names(case)
    assert got["input"] == list(ref.xs.shape)
    for name, value in ref.outputs.items():
        assert got[name] == list(value.shape), name


def symbolic_torch_shapes(case: Case) -> dict[str, list[Any]]:
    """Shapes with "B" / "T" where torch's own shapes move with the batch / the sequence length:
    three runs, one base, one with another batch, one with another length."""
    module = torch_module(case)
    head = None if case.out is None else Model(case, module)

    def shapes(batch: int, seq_len: int) -> dict[str, tuple[int, ...]]:
        xs = torch.zeros(input_shape(case, batch, seq_len))
        result = {k: tuple(v.shape) for k, v in run_torch(module, head, xs).items()}
        result["input"] = tuple(xs.shape)
        return result

    base, other_batch, other_len = shapes(2, 3), shapes(5, 3), shapes(2, 7)
    symbolic = {}
    for name, dims in base.items():
        row: list[Any] = []
        for k, dim in enumerate(dims):
            by_batch = other_batch[name][k] != dim
            by_len = other_len[name][k] != dim
            assert not (by_batch and by_len)
            row.append("B" if by_batch else "T" if by_len else dim)
        symbolic[name] = row
    return symbolic


@pytest.mark.parametrize("case", SYMBOLIC, ids=SYMBOLIC_IDS)
def test_sequence_shapes_are_symbolic_without_batch_and_seq_len(case: Case) -> None:
    d = lstm_shapes.build(tool_config(case, batch=None, seq_len=None)).to_dict()
    got = sequence_shapes(d)
    want = symbolic_torch_shapes(case)
    assert set(got) == set(want)
    for name in want:
        assert got[name] == want[name], name
    # Leaving batch and seq_len out changes no weight and no count.
    _, concrete = tool_report(case)
    assert d["total_params"] == concrete["total_params"]
    assert d["weights"] == concrete["weights"]


# --------------------------------------------------------------------------
# numerics: run_sequence against the module's forward pass with its own weights
# --------------------------------------------------------------------------

# float32 against a float64 reference of the same numbers: every value is a tanh / sigmoid of
# sums of at most a few hundred float32 products (or a head over at most 128 of them), so the
# float32 rounding stays well under these bounds.
RTOL, ATOL = 1e-4, 1e-5


@pytest.mark.parametrize("case", NUMERIC, ids=NUMERIC_IDS)
def test_run_sequence_matches_torch(case: Case) -> None:
    from lstm_shapes.verify import run_sequence

    ref = torch_reference(case)
    rep, d = tool_report(case)
    arrays = {name: array.copy() for name, array in ref.arrays.items()}
    outs = run_sequence(rep, arrays, ref.xs.copy())
    assert set(outs) == expected_sequence_names(case) - {"input"}
    for name, want in ref.outputs.items():
        got = np.asarray(outs[name], dtype=np.float64)
        assert got.shape == want.shape, name
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=name)


# --------------------------------------------------------------------------
# spot checks by hand, each number first produced by torch
# --------------------------------------------------------------------------


def torch_total(*modules: torch.nn.Module) -> int:
    return sum(int(p.numel()) for m in modules for p in m.parameters())


SPOT = [
    # (id, torch modules, tool Config kwargs, the number torch gives)
    ("LSTM(4,2)", lambda: [torch.nn.LSTM(4, 2)], dict(input=4, hidden=2), 64),
    ("LSTM(4,2,proj_size=1)", lambda: [torch.nn.LSTM(4, 2, proj_size=1)], dict(input=4, hidden=2, proj=1), 58),
    (
        "LSTM(4,3,num_layers=2,bidirectional=True)",
        lambda: [torch.nn.LSTM(4, 3, num_layers=2, bidirectional=True)],
        dict(input=4, hidden=3, layers=2, bidirectional=True),
        480,
    ),
    (
        "LSTM(4,3,num_layers=2,bidirectional=True,proj_size=2)",
        lambda: [torch.nn.LSTM(4, 3, num_layers=2, bidirectional=True, proj_size=2)],
        dict(input=4, hidden=3, layers=2, bidirectional=True, proj=2),
        408,
    ),
    ("GRU(4,2)", lambda: [torch.nn.GRU(4, 2)], dict(input=4, hidden=2, cell="gru"), 48),
    ("RNN(4,2)", lambda: [torch.nn.RNN(4, 2)], dict(input=4, hidden=2, cell="rnn"), 16),
    ("LSTM(4,2,bias=False)", lambda: [torch.nn.LSTM(4, 2, bias=False)], dict(input=4, hidden=2, bias=False), 48),
    (
        "LSTM(4,2)+Linear(2,1)",
        lambda: [torch.nn.LSTM(4, 2), torch.nn.Linear(2, 1)],
        dict(input=4, hidden=2, out=1),
        67,
    ),
]


@pytest.mark.parametrize("make, kwargs, number", [s[1:] for s in SPOT], ids=[s[0] for s in SPOT])
def test_spot_check_totals(make: Any, kwargs: dict[str, Any], number: int) -> None:
    assert torch_total(*make()) == number  # the literal is a fact about torch
    d = lstm_shapes.build(lstm_shapes.Config(framework="pytorch", **kwargs)).to_dict()
    assert d["total_params"] == number


def test_spot_check_lstm_4_2_with_head_names_and_shapes() -> None:
    model = torch.nn.Module()
    model.rnn, model.head = torch.nn.LSTM(4, 2), torch.nn.Linear(2, 1)
    want = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    assert want == [
        ("rnn.weight_ih_l0", (8, 4)),
        ("rnn.weight_hh_l0", (8, 2)),
        ("rnn.bias_ih_l0", (8,)),
        ("rnn.bias_hh_l0", (8,)),
        ("head.weight", (1, 2)),
        ("head.bias", (1,)),
    ]
    d = lstm_shapes.build(lstm_shapes.Config(input=4, hidden=2, out=1, framework="pytorch")).to_dict()
    assert [(w["name"], tuple(w["shape"])) for w in d["weights"]] == want


def test_spot_check_projection_shapes() -> None:
    lstm = torch.nn.LSTM(4, 3, proj_size=2)
    want = [(k, tuple(v.shape)) for k, v in lstm.state_dict().items()]
    assert want == [
        ("weight_ih_l0", (12, 4)),
        ("weight_hh_l0", (12, 2)),
        ("bias_ih_l0", (12,)),
        ("bias_hh_l0", (12,)),
        ("weight_hr_l0", (2, 3)),
    ]
    output, (h_n, c_n) = lstm(torch.zeros(5, 7, 4))
    assert (tuple(output.shape), tuple(h_n.shape), tuple(c_n.shape)) == ((5, 7, 2), (1, 7, 2), (1, 7, 3))
    d = lstm_shapes.build(
        lstm_shapes.Config(input=4, hidden=3, proj=2, framework="pytorch", batch=7, seq_len=5)
    ).to_dict()
    assert [(w["name"], tuple(w["shape"])) for w in d["weights"]] == want
    seq = sequence_shapes(d)
    assert (seq["output"], seq["h_n"], seq["c_n"]) == ([5, 7, 2], [1, 7, 2], [1, 7, 3])


# --------------------------------------------------------------------------
# what pytorch cannot build must not be built
# --------------------------------------------------------------------------

BASE = dict(input=4, hidden=3, framework="pytorch")
INVALID = [
    ("lstm-proj-equals-hidden", dict(BASE, proj=3)),
    ("lstm-proj-above-hidden", dict(BASE, proj=4)),
    ("lstm-proj-hidden-1", dict(BASE, hidden=1, proj=1)),
    ("gru-proj", dict(BASE, cell="gru", proj=1)),
    ("rnn-proj", dict(BASE, cell="rnn", proj=1)),
    ("lstm-peepholes", dict(BASE, peepholes=True)),
    ("gru-reset-after-false", dict(BASE, cell="gru", reset_after=False)),
    ("lstm-reset-after", dict(BASE, reset_after=False)),
    ("rnn-reset-after", dict(BASE, cell="rnn", reset_after=False)),
    ("layers-0", dict(BASE, layers=0)),
]


@pytest.mark.parametrize("kwargs", [k for _, k in INVALID], ids=[i for i, _ in INVALID])
def test_invalid_pytorch_combinations_raise(kwargs: dict[str, Any]) -> None:
    with pytest.raises(lstm_shapes.ConfigError):
        lstm_shapes.Config(**kwargs)


def test_invalid_combinations_are_invalid_in_torch_too() -> None:
    """The ones torch itself can express: it refuses them as well."""
    with pytest.raises(ValueError):
        torch.nn.LSTM(4, 3, proj_size=3)
    with pytest.raises(ValueError):
        torch.nn.LSTM(4, 3, proj_size=4)
    with pytest.raises(ValueError):
        torch.nn.GRU(4, 3, proj_size=1)
    with pytest.raises(ValueError):
        torch.nn.RNN(4, 3, proj_size=1)


def test_gru_reset_after_true_is_pytorch_gru() -> None:
    gru = torch.nn.GRU(4, 3)
    config = lstm_shapes.Config(input=4, hidden=3, cell="gru", framework="pytorch", reset_after=True)
    d = lstm_shapes.build(config).to_dict()
    assert d["total_params"] == torch_total(gru)
    assert [(w["name"], tuple(w["shape"])) for w in d["weights"]] == [
        (k, tuple(v.shape)) for k, v in gru.state_dict().items()
    ]
