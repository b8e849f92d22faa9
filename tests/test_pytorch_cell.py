"""Cross-check `--framework pytorch-cell` against the real `nn.LSTMCell`, `nn.GRUCell` and `nn.RNNCell`.

Every expected name, shape, total and number comes from a torch module built here: the cell alone,
or, with a head, one `nn.Module` holding the cell as `cell` and an `nn.Linear(h, o)` as `head`. A
cell takes one step, input (N, x) and a given state, so the state is random, not zero: with a zero
state weight_hh would never touch the numbers. The recorded vectors (tests/vectors/pytorch-cell.json,
from tests/record/pytorch_cell.py) check the same numbers without torch.
"""

from __future__ import annotations

import itertools
import json
import random
import zlib
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest

import lstm_shapes
from lstm_shapes.errors import ConfigError
from lstm_shapes.verify import run_sequence

VECTORS = Path(__file__).parent / "vectors" / "pytorch-cell.json"
# float32 against a float64 reference: one step of at most a few dozen products per value.
RTOL, ATOL = 1e-4, 1e-5


class Case(NamedTuple):
    cell: str
    input: int
    hidden: int
    bias: bool
    out: int | None
    head_activation: str
    batch: int

    @property
    def id(self) -> str:
        head = "nohead" if self.out is None else f"o{self.out}-{self.head_activation}"
        return f"{self.cell}-x{self.input}-h{self.hidden}-{'bias' if self.bias else 'nobias'}-{head}-N{self.batch}"

    def config(self) -> lstm_shapes.Config:
        extra: dict[str, Any] = {"head_activation": self.head_activation} if self.out is not None else {}
        return lstm_shapes.Config(input=self.input, hidden=self.hidden, cell=self.cell, bias=self.bias, out=self.out,
                                  batch=self.batch, framework="pytorch-cell", **extra)


def grid() -> list[Case]:
    rng = random.Random(7)
    cases = []
    for cell, (x, h), bias, head in itertools.product(("lstm", "gru", "rnn"), ((1, 1), (3, 5), (17, 4)), (True, False),
                                                      (False, True)):
        out = rng.choice((1, 3)) if head else None
        activation = rng.choice(("softmax", "sigmoid", "none")) if out and out > 1 else "sigmoid" if out else "none"
        cases.append(Case(cell, x, h, bias, out, activation, rng.choice((1, 2, 3))))
    return cases


GRID = grid()


def test_grid_covers_every_cell_bias_and_head() -> None:
    assert {(c.cell, c.bias, c.out is not None) for c in GRID} == set(itertools.product(("lstm", "gru", "rnn"), (True, False), (False, True)))
    assert {c.head_activation for c in GRID if c.out} == {"softmax", "sigmoid", "none"}


# --- what needs no torch -----------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, option", [
    (dict(layers=2), "layers"), (dict(bidirectional=True), "bidirectional"), (dict(seq_len=3), "seq_len"),
    (dict(proj=1), "proj"), (dict(batch_first=False), "batch_first"), (dict(peepholes=True), "peepholes"),
])
def test_a_cell_refuses_what_only_a_layer_has(kwargs: dict[str, Any], option: str) -> None:
    # nn.LSTMCell(input_size, hidden_size, bias) takes nothing else; its input is (N, x), one step.
    with pytest.raises(ConfigError) as caught:
        lstm_shapes.Config(input=4, hidden=2, framework="pytorch-cell", **kwargs)
    assert caught.value.field == option


def test_a_cell_runs_one_step_so_t_is_1() -> None:
    assert lstm_shapes.Config(input=4, hidden=2, framework="pytorch-cell").seq_len == 1
    assert lstm_shapes.Config(input=4, hidden=2, framework="pytorch-cell", seq_len=1).seq_len == 1
    # One step: the sequence's MACs are the step's, 4h·(x+h) = 4·2·6 = 48.
    cost = {line.key: line.value for line in lstm_shapes.build(lstm_shapes.Config(input=4, hidden=2, framework="pytorch-cell")).cost}
    assert cost["macs_per_sequence"] == cost["macs_per_step"] == 48


def vector_cases() -> list[dict[str, Any]]:
    return json.loads(VECTORS.read_text(encoding="utf-8"))["cases"]


def test_the_vectors_cover_every_cell_with_and_without_bias_and_head() -> None:
    seen = {(c["config"]["cell"], c["config"].get("bias", True), c["config"].get("out") is not None) for c in vector_cases()}
    assert seen == set(itertools.product(("lstm", "gru", "rnn"), (True, False), (False, True)))
    assert VECTORS.stat().st_size < 300_000


@pytest.mark.parametrize("case", vector_cases(), ids=lambda c: c["id"])
def test_recorded_vectors_match_the_numpy_pass_in_the_cells_layout(case: dict[str, Any]) -> None:
    # Recorded from torch by tests/record/pytorch_cell.py: a swapped gate, a dropped transpose or a
    # misplaced bias in frameworks/pytorch_cell.py changes these numbers.
    report = lstm_shapes.build(lstm_shapes.Config(**case["config"]))
    weights = {name: np.asarray(v, dtype=np.float32) for name, v in case["weights"].items()}
    assert [(w.name, w.shape) for w in report.weights] == [(n, a.shape) for n, a in weights.items()]
    state = {name: np.asarray(v, dtype=np.float32) for name, v in case["state"].items()}
    outs = run_sequence(report, weights, np.asarray(case["input"], dtype=np.float32), state)
    assert set(outs) == set(case["outputs"])
    for name, want in case["outputs"].items():
        np.testing.assert_allclose(outs[name], np.asarray(want), rtol=RTOL, atol=ATOL, err_msg=name)


# --- against torch -----------------------------------------------------------------------------


def torch_module(case: Case) -> Any:
    """The cell alone, or one module holding it as `cell` and the head as `head`, seeded."""
    torch = pytest.importorskip("torch", reason="torch is not installed: PyTorch cell cross-check skipped")
    torch.manual_seed(zlib.crc32(case.id.encode()))
    make = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell, "rnn": torch.nn.RNNCell}[case.cell]
    cell = make(case.input, case.hidden, bias=case.bias)
    if case.out is None:
        return cell
    module = torch.nn.Module()
    module.cell = cell
    module.head = torch.nn.Linear(case.hidden, case.out)
    return module


@pytest.mark.parametrize("case", GRID, ids=[c.id for c in GRID])
def test_names_shapes_and_total_match_the_state_dict(case: Case) -> None:
    module = torch_module(case)
    report = lstm_shapes.build(case.config())
    assert [(w.name, w.shape) for w in report.weights] == [(k, tuple(v.shape)) for k, v in module.state_dict().items()]
    assert report.total_params == sum(p.numel() for p in module.parameters())
    fw = case.config().convention
    for name in module.state_dict():
        place = fw.parse_name(name)
        assert place is not None and fw.tensor_name(case.config(), *place) == name


def torch_outputs(case: Case, module: Any) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The input, the given state and what the cell (and head) return, in float64."""
    import torch

    module = module.double()
    gen = torch.Generator().manual_seed(11)
    xs = torch.randn(case.batch, case.input, generator=gen, dtype=torch.float64)
    h0 = torch.randn(case.batch, case.hidden, generator=gen, dtype=torch.float64)
    c0 = torch.randn(case.batch, case.hidden, generator=gen, dtype=torch.float64)
    cell = module if case.out is None else module.cell
    state = {"h_0": h0.numpy()}
    with torch.no_grad():
        if case.cell == "lstm":
            state["c_0"] = c0.numpy()
            h1, c1 = cell(xs, (h0, c0))
            outs = {"h_1": h1.numpy(), "c_1": c1.numpy()}
        else:
            outs = {"h_1": cell(xs, h0).numpy()}
        if case.out is not None:
            logits = module.head(torch.from_numpy(outs["h_1"]))
            outs["logits"] = logits.numpy()
            if case.head_activation == "softmax":
                outs["probs"] = torch.softmax(logits, dim=1).numpy()
            elif case.head_activation == "sigmoid":
                outs["probs"] = torch.sigmoid(logits).numpy()
    return xs.numpy(), state, outs


@pytest.mark.parametrize("case", GRID, ids=[c.id for c in GRID])
def test_returned_shapes_and_numbers_match_the_cell(case: Case) -> None:
    module = torch_module(case)
    xs, state, want = torch_outputs(case, module)
    report = lstm_shapes.build(case.config())
    given = {t.name: t.shape for t in report.sequence if t.name in ("input", "h_0", "c_0")}
    assert given == {"input": xs.shape, **{k: v.shape for k, v in state.items()}}
    returned = {t.name: t.shape for t in report.sequence if t.name not in given}
    assert returned == {k: v.shape for k, v in want.items()}
    weights = {k: v.numpy().astype(np.float32) for k, v in module.state_dict().items()}
    outs = run_sequence(report, weights, xs.astype(np.float32), {k: v.astype(np.float32) for k, v in state.items()})
    assert set(outs) == set(want)
    for name, value in want.items():
        np.testing.assert_allclose(outs[name], value, rtol=RTOL, atol=ATOL, err_msg=name)


def test_gru_cell_is_reset_after_and_lstm_cell_gates_are_i_f_g_o() -> None:
    # torch's docs: GRUCell's n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)); LSTMCell packs W_ii|W_if|W_ig|W_io.
    gru = lstm_shapes.Config(input=3, hidden=2, cell="gru", framework="pytorch-cell")
    assert gru.reset_after is True
    lstm = lstm_shapes.build(lstm_shapes.Config(input=3, hidden=2, framework="pytorch-cell"))
    assert [b.letter for b in lstm.weights[0].blocks] == ["i", "f", "g", "o"]


def test_verify_runs_one_step_from_a_given_state() -> None:
    from lstm_shapes.verify import verify

    result = verify(lstm_shapes.build(lstm_shapes.Config(input=3, hidden=2, out=2, framework="pytorch-cell")))
    assert result.mismatches == ()
    assert result.lines()[0] == "verify: numpy forward pass, batch 2, 1 time step, float32"
    assert {c.what for c in result.checks} >= {"returns h_1 (B, 2)", "returns c_1 (B, 2)", "returns probs (B, 2)"}
