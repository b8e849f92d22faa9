"""Cross-check lstm_shapes against the real flax.linen LSTMCell, OptimizedLSTMCell, GRUCell and SimpleCell.

The model is the one docs/frameworks.md describes: one layer without a head is a bare `nn.RNN(cell)` (or
`nn.Bidirectional`); otherwise a Module whose `setup` holds `self.layers = [nn.RNN(cell), ...]` and
`self.head = nn.Dense(o)`. Every expected name, shape, total and number is read from that model, built
in this process with random params (zero biases, flax's default, would hide a misplaced bias).

Needs flax (jax on CPU); when it cannot be imported the whole module is skipped.
"""

from __future__ import annotations

import functools
import os
import random
import re
from typing import Any, NamedTuple

import numpy as np
import pytest

os.environ.setdefault("JAX_PLATFORMS", "cpu")  # no probing for accelerators
flax_linen = pytest.importorskip("flax.linen", reason="flax is not installed: Flax cross-check skipped")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from flax import traverse_util  # noqa: E402

from lstm_shapes import Config, build  # noqa: E402
from lstm_shapes.verify import run_sequence  # noqa: E402

nn = flax_linen
CELLS = {"lstm": nn.LSTMCell, "optimized": nn.OptimizedLSTMCell, "gru": nn.GRUCell, "rnn": nn.SimpleCell}


class Case(NamedTuple):
    cell: str  # a key of CELLS
    input: int
    hidden: int | tuple[int, ...]  # a tuple: one size per layer
    layers: int
    bidirectional: bool
    batch_first: bool
    out: int | None
    head_bias: bool
    head_reads: str
    head_activation: str
    batch: int
    seq_len: int

    @property
    def id(self) -> str:
        sizes = ",".join(map(str, self.hidden)) if isinstance(self.hidden, tuple) else self.hidden
        parts = [self.cell, f"x{self.input}", f"h{sizes}", f"L{self.layers}", "bi" if self.bidirectional else "uni",
                 "bf" if self.batch_first else "tm"]
        if self.out is not None:
            parts.append(f"o{self.out}-{self.head_activation}-{self.head_reads}" + ("" if self.head_bias else "-nobias"))
        return "-".join(parts + [f"N{self.batch}T{self.seq_len}"])

    def config(self) -> Config:
        head = dict(head_bias=self.head_bias, head_reads=self.head_reads, head_activation=self.head_activation)
        return Config(input=self.input, hidden=self.hidden, cell="lstm" if self.cell == "optimized" else self.cell,
                      framework="flax", layers=self.layers, bidirectional=self.bidirectional, batch_first=self.batch_first,
                      out=self.out, **(head if self.out is not None else {}))


def make_grid() -> list[Case]:
    """A seeded sample: every cell with one and several layers, both directions and layouts, with and without a head."""
    rng = random.Random(20261122)
    cases = []
    for cell in CELLS:
        for layers, bidirectional in ((1, False), (1, True), (2, False), (2, True), (3, rng.random() < 0.5)):
            for with_head in (False, True):
                cases.append(Case(
                    cell, rng.randint(1, 5), rng.randint(1, 5), layers, bidirectional, rng.random() < 0.5,
                    rng.randint(1, 4) if with_head else None, rng.random() < 0.7,
                    rng.choice(("last-step", "final-states")), rng.choice(("softmax", "sigmoid", "none")),
                    rng.randint(1, 3), rng.randint(1, 4)))
    # Layers of their own sizes: shrinking, growing and up-then-down stacks of every cell.
    for cell, sizes, bidirectional, with_head in (("lstm", (5, 2), True, True), ("lstm", (2, 4, 3), False, False),
                                                  ("optimized", (3, 5), False, True), ("gru", (4, 1, 3), True, False),
                                                  ("gru", (2, 5), False, True), ("rnn", (5, 3, 2), True, True),
                                                  ("rnn", (1, 4), False, False)):
        cases.append(Case(
            cell, rng.randint(1, 5), sizes, len(sizes), bidirectional, rng.random() < 0.5,
            rng.randint(1, 4) if with_head else None, rng.random() < 0.7,
            rng.choice(("last-step", "final-states")), rng.choice(("softmax", "sigmoid", "none")),
            rng.randint(1, 3), rng.randint(1, 4)))
    return cases


GRID = make_grid()


def model_for(case: Case) -> Any:
    """The flax model the tool names: a bare nn.RNN / nn.Bidirectional, or a Module of layers and a head."""
    time_major = not case.batch_first

    def layer(size: int) -> Any:
        def rnn() -> Any:
            return nn.RNN(CELLS[case.cell](size), time_major=time_major, return_carry=True)
        if case.bidirectional:
            return nn.Bidirectional(rnn(), rnn(), time_major=time_major, return_carry=True)
        return rnn()

    sizes = case.hidden if isinstance(case.hidden, tuple) else (case.hidden,) * case.layers
    if case.layers == 1 and case.out is None:
        return layer(sizes[0])

    class Model(nn.Module):
        def setup(self) -> None:
            self.layers = [layer(size) for size in sizes]
            if case.out is not None:
                self.head = nn.Dense(case.out, use_bias=case.head_bias)

        def __call__(self, x: Any) -> Any:
            for module in self.layers:
                carry, x = module(x)
            if case.out is None:
                return carry, x
            if case.head_reads == "last-step":
                read = x[:, -1] if case.batch_first else x[-1]
            else:  # each direction's final h: LSTMCell's carry is (c, h)
                carries = carry if case.bidirectional else (carry,)
                read = jnp.concatenate([c[1] if case.cell in ("lstm", "optimized") else c for c in carries], axis=-1)
            logits = self.head(read)
            probs = {"softmax": jax.nn.softmax, "sigmoid": jax.nn.sigmoid}.get(case.head_activation)
            return carry, x, logits, None if probs is None else probs(logits)

    return Model()


@functools.lru_cache(maxsize=None)
def init_random(case: Case, seed: int = 0) -> tuple[Any, dict[str, np.ndarray], np.ndarray]:
    """The model, its params with every leaf drawn at random, and an input in its layout."""
    model = model_for(case)
    rng = np.random.default_rng(seed)
    shape = (case.batch, case.seq_len, case.input) if case.batch_first else (case.seq_len, case.batch, case.input)
    x = rng.standard_normal(shape).astype(np.float32)
    variables = model.init(jax.random.key(seed), jnp.asarray(x))
    flat = traverse_util.flatten_dict(variables["params"], sep="/")
    drawn = {name: (rng.standard_normal(leaf.shape) * 0.7).astype(np.float32) for name, leaf in flat.items()}
    return model, drawn, x


def returned_by_name(case: Case, result: Any) -> dict[str, np.ndarray]:
    """The model's results under the names the report's Sequence table gives them."""
    out: dict[str, np.ndarray] = {}
    carry, outputs = result[0], result[1]
    out["outputs"] = np.asarray(outputs)
    for path, leaf in jax.tree_util.tree_leaves_with_path(carry):
        out["carry" + "".join(f"[{k.idx}]" for k in path)] = np.asarray(leaf)
    if case.out is not None:
        out["logits"] = np.asarray(result[2])
        if result[3] is not None:
            out["probs"] = np.asarray(result[3])
    return out


@pytest.mark.parametrize("case", GRID, ids=[c.id for c in GRID])
def test_names_shapes_order_and_totals_match_the_param_tree(case: Case) -> None:
    _, params, _ = init_random(case)
    report = build(case.config())
    assert [(w.name, w.shape) for w in report.weights] == [(name, a.shape) for name, a in params.items()]
    assert report.total_params == sum(a.size for a in params.values())


@pytest.mark.parametrize("case", GRID, ids=[c.id for c in GRID])
def test_returned_tensors_and_numbers_match_apply(case: Case) -> None:
    model, params, x = init_random(case)
    report = build(case.config())
    tree = traverse_util.unflatten_dict({tuple(k.split("/")): jnp.asarray(v) for k, v in params.items()})
    real = returned_by_name(case, model.apply({"params": tree}, jnp.asarray(x)))
    ours = run_sequence(report, params, x)
    sequence = {t.name: t.shape for t in report.sequence if t.name != "inputs"}
    concrete = {name: tuple(case.batch if d == "B" else case.seq_len if d == "T" else d for d in shape)
                for name, shape in sequence.items()}
    assert concrete == {name: a.shape for name, a in real.items()}
    for name, value in real.items():
        np.testing.assert_allclose(ours[name], value, rtol=1e-4, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("hidden", [1, 3])
def test_optimized_lstm_cell_has_lstm_cells_params_and_numbers(hidden: int) -> None:
    # The tool has one LSTM for both cells: that holds only while flax keeps their params and results equal.
    case = GRID[0]._replace(hidden=hidden, out=None, layers=1, bidirectional=False)
    plain, params, x = init_random(case._replace(cell="lstm"))
    optimized, opt_params, _ = init_random(case._replace(cell="optimized"))
    assert [(k, v.shape) for k, v in params.items()] == [(k, v.shape) for k, v in opt_params.items()]
    tree = {"params": traverse_util.unflatten_dict({tuple(k.split("/")): jnp.asarray(v) for k, v in params.items()})}
    for a, b in zip(jax.tree_util.tree_leaves(plain.apply(tree, x)), jax.tree_util.tree_leaves(optimized.apply(tree, x))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def test_parse_name_reads_every_path_of_a_stack_and_a_bare_layer() -> None:
    fw = Config(input=1, hidden=1, framework="flax").convention
    for case in (GRID[0]._replace(layers=3, bidirectional=True, out=2), GRID[0]._replace(layers=1, bidirectional=True, out=None)):
        _, params, _ = init_random(case)
        for name in params:
            place = fw.parse_name(name)
            assert place is not None, name
            m = re.match(r"layers_(\d+)/", name)
            if name.startswith("head/"):
                assert place[:2] == (None, None)
            else:
                assert place[:2] == (int(m[1]) if m else 0, 1 if "backward_rnn/" in name else 0), name
