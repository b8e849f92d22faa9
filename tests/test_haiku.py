"""Cross-check --framework haiku against the real dm-haiku hk.LSTM, hk.GRU and hk.VanillaRNN.

The model is the one docs/frameworks.md describes: a function under `hk.transform` that builds one core
(or `hk.DeepRNN` of one core per layer), runs `hk.dynamic_unroll` over the sequence and applies a head
`hk.Linear(o)`. Every expected name, shape, total and number is read from that model, built in this
process with every param drawn at random (Haiku's zero biases would hide a misplaced bias).

Needs dm-haiku (jax on CPU); when it cannot be imported the whole module is skipped.
"""

from __future__ import annotations

import functools
import itertools
import os
import random
from typing import Any, NamedTuple

import numpy as np
import pytest

os.environ.setdefault("JAX_PLATFORMS", "cpu")  # no probing for accelerators
hk = pytest.importorskip("haiku", reason="dm-haiku is not installed: Haiku cross-check skipped")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from lstm_shapes import Config, build  # noqa: E402
from lstm_shapes.errors import ConfigError  # noqa: E402
from lstm_shapes.verify import run_sequence  # noqa: E402

CELLS = {"lstm": hk.LSTM, "gru": hk.GRU, "rnn": hk.VanillaRNN}
TOL = dict(rtol=1e-4, atol=1e-5)


class Case(NamedTuple):
    cell: str
    input: int
    hidden: int | tuple[int, ...]  # a tuple: one size per layer
    layers: int
    batch_first: bool
    out: int | None
    head_bias: bool
    head_reads: str
    head_activation: str
    batch: int
    seq_len: int

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.hidden if isinstance(self.hidden, tuple) else (self.hidden,) * self.layers

    @property
    def id(self) -> str:
        sizes = ",".join(map(str, self.hidden)) if isinstance(self.hidden, tuple) else self.hidden
        parts = [self.cell, f"x{self.input}", f"h{sizes}", f"L{self.layers}", "bf" if self.batch_first else "tm"]
        if self.out is not None:
            head = f"o{self.out}-{self.head_activation}-{self.head_reads}"
            parts.append(head + ("" if self.head_bias else "-nobias"))
        return "-".join(parts + [f"N{self.batch}T{self.seq_len}"])

    def config(self) -> Config:
        head = dict(head_bias=self.head_bias, head_reads=self.head_reads, head_activation=self.head_activation)
        return Config(input=self.input, hidden=self.hidden, cell=self.cell, framework="haiku", layers=self.layers,
                      batch_first=self.batch_first, out=self.out, **(head if self.out is not None else {}))


def make_grid() -> list[Case]:
    """A seeded sample: every cell with one to three layers, both layouts, every head reading, and sizes per layer."""
    rng = random.Random(20261123)
    reads = itertools.cycle(("last-step", "final-states", "every-step"))  # each head reading for every cell
    cases = []

    def draw(cell: str, hidden: int | tuple[int, ...], layers: int, with_head: bool) -> Case:
        size, batch_first = rng.randint(1, 5), rng.random() < 0.5
        out = rng.randint(1, 4) if with_head else None
        return Case(cell, size, hidden, layers, batch_first, out, rng.random() < 0.7,
                    next(reads) if with_head else "last-step", rng.choice(("softmax", "sigmoid", "none")),
                    rng.randint(1, 3), rng.randint(1, 4))

    for cell in CELLS:
        for layers in (1, 2, 3):
            for with_head in (False, True):
                cases.append(draw(cell, rng.randint(1, 5), layers, with_head))
    # Layers of their own sizes: shrinking, growing and up-then-down stacks of every cell.
    for cell, sizes, with_head in (("lstm", (5, 2), True), ("lstm", (2, 4, 3), False), ("gru", (4, 1, 3), True),
                                   ("gru", (2, 5), False), ("rnn", (5, 3, 2), True), ("rnn", (1, 4), False)):
        cases.append(draw(cell, sizes, len(sizes), with_head))
    return cases


GRID = make_grid()


def forward_for(case: Case) -> Any:
    """The transformed function the tool names: cores (in hk.DeepRNN for a stack), dynamic_unroll, hk.Linear."""

    def forward(x: Any) -> Any:
        cores = [CELLS[case.cell](size) for size in case.sizes]
        core = cores[0] if len(cores) == 1 else hk.DeepRNN(cores)
        outputs, state = hk.dynamic_unroll(core, x, core.initial_state(case.batch), time_major=not case.batch_first)
        if case.out is None:
            return outputs, state, None, None
        if case.head_reads == "every-step":
            read = outputs
        elif case.head_reads == "last-step":
            read = outputs[:, -1] if case.batch_first else outputs[-1]
        else:  # the last core's final h
            last = state[-1] if len(cores) > 1 else state
            read = last.hidden if case.cell == "lstm" else last
        logits = hk.Linear(case.out, with_bias=case.head_bias)(read)
        probs = {"softmax": jax.nn.softmax, "sigmoid": jax.nn.sigmoid}.get(case.head_activation)
        return outputs, state, logits, None if probs is None else probs(logits)

    return hk.transform(forward)


def flat(params: Any) -> dict[str, np.ndarray]:
    """Module name and param name joined by '/', in the params dict's own order."""
    return {f"{module}/{name}": np.asarray(a) for module, tensors in params.items() for name, a in tensors.items()}


def nested(arrays: dict[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    tree: dict[str, dict[str, Any]] = {}
    for name, a in arrays.items():
        module, param = name.rsplit("/", 1)
        tree.setdefault(module, {})[param] = jnp.asarray(a)
    return tree


@functools.lru_cache(maxsize=None)
def init_random(case: Case, seed: int = 0) -> tuple[Any, dict[str, np.ndarray], np.ndarray]:
    """The transformed model, its params with every leaf drawn at random, and an input in its layout."""
    model = forward_for(case)
    rng = np.random.default_rng(seed)
    shape = (case.batch, case.seq_len, case.input) if case.batch_first else (case.seq_len, case.batch, case.input)
    x = rng.standard_normal(shape).astype(np.float32)
    params = flat(model.init(jax.random.key(seed), jnp.asarray(x)))
    drawn = {name: (rng.standard_normal(a.shape) * 0.7).astype(np.float32) for name, a in params.items()}
    return model, drawn, x


def states(state: Any, at: str) -> dict[str, np.ndarray]:
    """A final state under the report's names: LSTMState's fields, hk.DeepRNN's tuple by index."""
    if isinstance(state, hk.LSTMState):
        return {f"{at}.hidden": np.asarray(state.hidden), f"{at}.cell": np.asarray(state.cell)}
    if isinstance(state, tuple):
        return {k: v for i, s in enumerate(state) for k, v in states(s, f"{at}[{i}]").items()}
    return {at: np.asarray(state)}


def apply(case: Case, arrays: dict[str, np.ndarray], x: np.ndarray) -> dict[str, np.ndarray]:
    """The model's results under the names the report's Sequence table gives them."""
    model = forward_for(case)
    outputs, state, logits, probs = model.apply(nested(arrays), None, jnp.asarray(x))
    out = {"outputs": np.asarray(outputs), **states(state, "state")}
    if logits is not None:
        out["logits"] = np.asarray(logits)
    if probs is not None:
        out["probs"] = np.asarray(probs)
    return out


def concrete(case: Case, shape: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(case.batch if d == "B" else case.seq_len if d == "T" else d for d in shape)


@pytest.mark.parametrize("case", GRID, ids=[c.id for c in GRID])
def test_names_shapes_order_and_totals_match_the_params(case: Case) -> None:
    _, params, _ = init_random(case)
    report = build(case.config())
    assert [(w.name, w.shape) for w in report.weights] == [(name, a.shape) for name, a in params.items()]
    assert report.total_params == sum(a.size for a in params.values())


@pytest.mark.parametrize("case", GRID, ids=[c.id for c in GRID])
def test_returned_tensors_have_the_reported_shapes(case: Case) -> None:
    _, params, x = init_random(case)
    report = build(case.config())
    real = apply(case, params, x)
    reported = {t.name: concrete(case, t.shape) for t in report.sequence}
    assert reported.pop("inputs") == x.shape
    assert reported == {name: a.shape for name, a in real.items()}


@pytest.mark.parametrize("case", GRID, ids=[c.id for c in GRID])
def test_numbers_match_apply(case: Case) -> None:
    _, params, x = init_random(case)
    real = apply(case, params, x)
    ours = run_sequence(build(case.config()), params, x)
    for name, value in real.items():
        np.testing.assert_allclose(ours[name], value, err_msg=name, **TOL)


def test_haiku_has_no_bidirectional_wrapper() -> None:
    assert not hasattr(hk, "Bidirectional") and not hasattr(hk, "BidirectionalRNN")
    with pytest.raises(ConfigError):
        Config(input=3, hidden=2, framework="haiku", bidirectional=True)


def test_parse_name_reads_every_param_of_a_stack_and_a_head() -> None:
    fw = Config(input=1, hidden=1, framework="haiku").convention
    for cell in CELLS:
        case = GRID[0]._replace(cell=cell, hidden=2, layers=3, out=2, head_reads="last-step")
        _, params, _ = init_random(case)
        for name in params:
            module = name.split("/", 1)[0]
            if module == "linear":
                assert fw.parse_name(name) == (None, None, "head_weight" if name.endswith("/w") else "head_bias")
            else:
                layer = int(module.rsplit("_", 1)[1]) if module[-1].isdigit() else 0
                assert fw.parse_name(name) == (layer, 0, name.split("/", 1)[1]), name
