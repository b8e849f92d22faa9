"""Layers of their own sizes in PyTorch (`--hidden 8,3`), against real modules.

num_layers gives every layer one size, so a stack whose layers differ is one nn.LSTM (GRU, RNN)
per layer in an nn.ModuleList, each fed the one below's output. The names, shapes, totals, the
tensors each module returns and the numbers of the numpy forward pass all come from real torch
modules built that way here.
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed: PyTorch per-layer cross-check skipped")

import lstm_shapes  # noqa: E402
from lstm_shapes.verify import run_sequence  # noqa: E402

CELLS = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}


class Case(NamedTuple):
    cell: str
    input: int
    hidden: tuple[int, ...]
    out: int | None = None
    bidirectional: bool = False
    proj: int | None = None
    batch_first: bool = False
    bias: bool = True
    head_reads: str = "last-step"

    @property
    def id(self) -> str:
        text = f"{self.cell}-x{self.input}-h{','.join(map(str, self.hidden))}-o{self.out}"
        for flag, word in ((self.bidirectional, "bi"), (self.batch_first, "bf"), (not self.bias, "nobias"),
                           (self.proj, f"p{self.proj}"), (self.head_reads == "final-states", "final")):
            text += f"-{word}" if flag else ""
        return text


CASES = [
    Case("lstm", 4, (8, 3)),
    Case("lstm", 4, (8, 3), out=2),
    Case("lstm", 5, (6, 9, 2), out=3, bidirectional=True),
    Case("lstm", 3, (7, 4), out=2, proj=2),
    Case("lstm", 3, (5, 6), out=1, bidirectional=True, batch_first=True, head_reads="final-states"),
    Case("gru", 4, (3, 8), out=2, bidirectional=True),
    Case("gru", 2, (5, 1, 4), bias=False),
    Case("rnn", 6, (2, 7), out=4, batch_first=True, head_reads="final-states"),
]
IDS = [case.id for case in CASES]


class Stack(torch.nn.Module):
    """What a user writes: one module per layer in `rnn`, and a Linear head on the last one's output."""

    def __init__(self, case: Case) -> None:
        super().__init__()
        modules, width = [], case.input
        for size in case.hidden:
            kwargs: dict[str, Any] = dict(bias=case.bias, bidirectional=case.bidirectional, batch_first=case.batch_first)
            if case.proj:
                kwargs["proj_size"] = case.proj
            modules.append(CELLS[case.cell](width, size, **kwargs))
            width = (2 if case.bidirectional else 1) * (case.proj or size)
        self.rnn = torch.nn.ModuleList(modules)
        self.head = torch.nn.Linear(width, case.out) if case.out is not None else None
        self.case = case

    def forward(self, xs: torch.Tensor) -> dict[str, torch.Tensor]:
        results: dict[str, torch.Tensor] = {}
        for k, module in enumerate(self.rnn):
            xs, state = module(xs)
            if isinstance(state, tuple):
                results[f"h_n of layer {k}"], results[f"c_n of layer {k}"] = state
            else:
                results[f"h_n of layer {k}"] = state
        results["output"] = xs
        if self.head is not None:
            if self.case.head_reads == "final-states":
                h_n = results[f"h_n of layer {len(self.rnn) - 1}"]
                last = torch.cat(list(h_n[-(2 if self.case.bidirectional else 1):]), dim=1)
            else:
                last = xs[:, -1] if self.case.batch_first else xs[-1]
            results["logits"] = self.head(last)
            if self.case.out >= 2:
                results["probs"] = torch.softmax(results["logits"], dim=1)
        return results


def config(case: Case, **more: Any) -> lstm_shapes.Config:
    head = dict(head_reads=case.head_reads) if case.out is not None else {}
    return lstm_shapes.Config(input=case.input, hidden=case.hidden, out=case.out, cell=case.cell, framework="pytorch",
                              bidirectional=case.bidirectional, proj=case.proj, batch_first=case.batch_first,
                              bias=case.bias, **head, **more)


def state_dict(case: Case, model: Stack) -> dict[str, torch.Tensor]:
    """The names a user saves: the whole model's with a head, the bare ModuleList's without one."""
    return dict(model.state_dict() if case.out is not None else model.rnn.state_dict())


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_names_shapes_and_total_match_torch(case: Case) -> None:
    torch.manual_seed(0)
    model = Stack(case)
    report = lstm_shapes.build(config(case))
    want = [(name, tuple(t.shape)) for name, t in state_dict(case, model).items()]
    assert [(w.name, w.shape) for w in report.weights] == want
    assert report.total_params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_pass_matches_torch(case: Case) -> None:
    torch.manual_seed(1)
    model = Stack(case)
    batch, steps = 3, 5
    xs = torch.randn((batch, steps, case.input) if case.batch_first else (steps, batch, case.input))
    with torch.no_grad():
        want = {k: v.numpy() for k, v in copy.deepcopy(model).double()(xs.double()).items()}
    report = lstm_shapes.build(config(case, batch=batch, seq_len=steps))
    shapes = {t.name: list(t.shape) for t in report.sequence}
    assert shapes.pop("input") == list(xs.shape)
    assert shapes == {name: list(value.shape) for name, value in want.items()}
    arrays = {name: t.detach().numpy().copy() for name, t in state_dict(case, model).items()}
    got = run_sequence(report, arrays, xs.numpy().copy())
    assert set(got) == set(want)
    for name, value in want.items():
        np.testing.assert_allclose(np.asarray(got[name], dtype=np.float64), value, rtol=1e-4, atol=1e-5, err_msg=name)


def test_equal_sizes_are_one_module_with_num_layers() -> None:
    """--hidden 4,4 is --hidden 4 --layers 2: one nn.LSTM(num_layers=2), its names weight_ih_l1, ..."""
    lstm = torch.nn.LSTM(3, 4, num_layers=2)
    report = lstm_shapes.trace(3, (4, 4), framework="pytorch")
    assert [(w.name, w.shape) for w in report.weights] == [(k, tuple(v.shape)) for k, v in lstm.state_dict().items()]
    assert report.config == lstm_shapes.Config(input=3, hidden=4, layers=2, framework="pytorch")
