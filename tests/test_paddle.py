"""Cross-check lstm_shapes against the real `paddle.nn.LSTM`, `GRU` and `SimpleRNN`.

Every expected value (state_dict names and shapes in order, parameter totals, the shapes of
outputs and final_states, and the numbers of a forward pass) is read from a paddle layer built in
this process. With a head, the model is one nn.Layer holding the recurrent layer as `rnn` and an
`nn.Linear(D*r, o)` as `head`, read the way a user writes it.

Needs paddle (paddlepaddle, CPU); when it cannot be imported the whole module is skipped.
"""

from __future__ import annotations

import functools
import itertools
import random
import re
from typing import Any, NamedTuple

import numpy as np
import pytest

paddle = pytest.importorskip("paddle", reason="paddle is not installed: Paddle cross-check skipped")

import lstm_shapes  # noqa: E402
from lstm_shapes.verify import run_sequence  # noqa: E402

LAYERS = {"lstm": paddle.nn.LSTM, "gru": paddle.nn.GRU, "rnn": paddle.nn.SimpleRNN}
# The aliases nn.LSTM registers on itself for its fused kernel: the same tensors as its cells'.
ALIAS = re.compile(r"(rnn\.)?(weight|bias)_(ih|hh)_l\d+(_reverse)?")


class Case(NamedTuple):
    cell: str
    input: int
    hidden: int
    layers: int
    bidirectional: bool
    proj: int  # 0 = none
    time_major: bool
    out: int | None
    batch: int
    seq_len: int
    head_bias: bool = True
    head_reads: str = "last-step"
    head_activation: str = "none"

    @property
    def id(self) -> str:
        parts = [self.cell, f"x{self.input}", f"h{self.hidden}", f"L{self.layers}"]
        parts += ["bi"] if self.bidirectional else []
        parts += [f"p{self.proj}"] if self.proj else []
        parts += ["tm" if self.time_major else "bf", "nohead" if self.out is None else f"o{self.out}"]
        if self.out is not None:
            parts.append(f"{self.head_activation}-{self.head_reads}" + ("" if self.head_bias else "-nobias"))
        return "-".join([*parts, f"N{self.batch}T{self.seq_len}"])


def make_grid() -> list[Case]:
    """A seeded sample of the product, with a quota per cell (and for LSTM with a projection)."""
    rng = random.Random(20261122)
    pools: dict[str, list[Case]] = {"lstm-proj": [], "lstm": [], "gru": [], "rnn": []}
    for cell, x, h, layers, bi, tm, out in itertools.product(
        LAYERS, (1, 3, 17), (1, 5, 16), (1, 2, 3), (False, True), (False, True), (None, 1, 3)
    ):
        projs = sorted({0} | {p for p in (1, h // 2, h - 1) if 1 <= p < h}) if cell == "lstm" else [0]
        for p in projs:
            key = cell if cell != "lstm" else ("lstm-proj" if p else "lstm")
            pools[key].append(Case(cell, x, h, layers, bi, p, tm, out, rng.choice((1, 2, 3)), rng.choice((1, 2, 4))))
    cases = [case for key, n in (("lstm-proj", 20), ("lstm", 20), ("gru", 25), ("rnn", 20)) for case in rng.sample(pools[key], n)]
    return [
        case._replace(head_bias=rng.random() < 0.7, head_reads=rng.choice(("last-step", "final-states")),
                      head_activation=rng.choice(("softmax", "sigmoid", "none")))
        if case.out is not None else case
        for case in cases
    ]


GRID = make_grid()
IDS = [case.id for case in GRID]


def test_grid_covers_every_option() -> None:
    assert len(set(IDS)) == len(GRID) >= 80
    for field in ("cell", "layers", "bidirectional", "time_major", "out", "batch", "seq_len"):
        assert len({getattr(case, field) for case in GRID}) > 1, field
    assert any(case.proj and case.layers > 1 and case.bidirectional for case in GRID)
    heads = [case for case in GRID if case.out is not None]
    assert {case.head_activation for case in heads} == {"softmax", "sigmoid", "none"}
    assert {case.head_reads for case in heads if case.bidirectional} == {"last-step", "final-states"}
    assert {case.head_bias for case in heads} == {True, False}


# --------------------------------------------------------------------------
# paddle side: everything expected comes from here
# --------------------------------------------------------------------------


class Model(paddle.nn.Layer):
    """What a user writes: the recurrent layer and a dense head in one nn.Layer."""

    def __init__(self, case: Case, rnn: paddle.nn.Layer) -> None:
        super().__init__()
        self.rnn = rnn
        width = (2 if case.bidirectional else 1) * (case.proj or case.hidden)
        self.head = paddle.nn.Linear(width, case.out, bias_attr=None if case.head_bias else False)


class Ref(NamedTuple):
    names: list[tuple[str, tuple[int, ...]]]  # the state_dict's own entries, aliases left out
    total: int
    arrays: dict[str, np.ndarray]
    xs: np.ndarray
    outputs: dict[str, np.ndarray]


def run_paddle(case: Case, rnn: Any, model: Model | None, xs: Any) -> dict[str, np.ndarray]:
    outputs, states = rnn(xs)
    h_n = states[0] if case.cell == "lstm" else states
    found = {"outputs": outputs}
    if case.cell == "lstm":
        found["final_states[0]"], found["final_states[1]"] = states
    else:
        found["final_states"] = states
    if model is not None:
        if case.head_reads == "final-states":
            last = paddle.concat(list(h_n[-(2 if case.bidirectional else 1):]), axis=1)
        else:
            last = outputs[-1] if case.time_major else outputs[:, -1]
        found["logits"] = logits = model.head(last)
        if case.head_activation == "softmax":
            found["probs"] = paddle.nn.functional.softmax(logits, axis=1)
        elif case.head_activation == "sigmoid":
            found["probs"] = paddle.nn.functional.sigmoid(logits)
    return {name: value.numpy() for name, value in found.items()}


@functools.cache
def reference(case: Case) -> Ref:
    """The layer built and run in float64, so that the comparison sees only our arithmetic."""
    paddle.seed(GRID.index(case))
    paddle.set_default_dtype("float64")
    try:
        kwargs: dict[str, Any] = dict(num_layers=case.layers, time_major=case.time_major,
                                      direction="bidirect" if case.bidirectional else "forward")
        if case.proj:
            kwargs["proj_size"] = case.proj
        rnn = LAYERS[case.cell](case.input, case.hidden, **kwargs)
        model = None if case.out is None else Model(case, rnn)
        whole = model or rnn
        state = whole.state_dict()
        names = [(name, tuple(t.shape)) for name, t in state.items() if not ALIAS.fullmatch(name)]
        arrays = {name: state[name].numpy() for name, _ in names}
        total = sum(int(np.prod(p.shape)) for p in whole.parameters())
        shape = (case.seq_len, case.batch, case.input) if case.time_major else (case.batch, case.seq_len, case.input)
        xs = paddle.randn(shape, dtype="float64")
        with paddle.no_grad():
            outputs = run_paddle(case, rnn, model, xs)
        return Ref(names, total, arrays, xs.numpy(), outputs)
    finally:
        paddle.set_default_dtype("float32")


def report(case: Case) -> Any:
    kwargs: dict[str, Any] = dict(
        input=case.input, hidden=case.hidden, out=case.out, cell=case.cell, framework="paddle",
        proj=case.proj or None, layers=case.layers, bidirectional=case.bidirectional,
        batch=case.batch, seq_len=case.seq_len, batch_first=not case.time_major,
    )
    if case.out is not None:
        kwargs.update(head_bias=case.head_bias, head_reads=case.head_reads, head_activation=case.head_activation)
    return lstm_shapes.build(lstm_shapes.Config(**kwargs))


# --------------------------------------------------------------------------
# the checks
# --------------------------------------------------------------------------


@pytest.mark.parametrize("case", GRID, ids=IDS)
def test_names_shapes_and_order_match_state_dict(case: Case) -> None:
    ref = reference(case)
    assert [(w.name, w.shape) for w in report(case).weights] == ref.names


@pytest.mark.parametrize("case", GRID, ids=IDS)
def test_total_matches_parameters(case: Case) -> None:
    assert report(case).total_params == reference(case).total


@pytest.mark.parametrize("case", GRID, ids=IDS)
def test_returned_shapes_match(case: Case) -> None:
    ref = reference(case)
    got = {t.name: t.shape for t in report(case).sequence}
    assert got.pop("input") == ref.xs.shape
    assert got == {name: value.shape for name, value in ref.outputs.items()}


@pytest.mark.parametrize("case", GRID, ids=IDS)
def test_run_sequence_on_the_layers_own_weights_matches(case: Case) -> None:
    ref = reference(case)
    outs = run_sequence(report(case), dict(ref.arrays), ref.xs)
    assert set(outs) == set(ref.outputs)
    for name, want in ref.outputs.items():
        np.testing.assert_allclose(outs[name], want, rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("cell", LAYERS)
def test_parse_name_reads_every_state_dict_key(cell: str) -> None:
    # Both the cells' names and the aliases, with a head in one nn.Layer.
    case = Case(cell, 3, 2, 2, True, 0, False, 2, 1, 1)
    rnn = LAYERS[cell](3, 2, num_layers=2, direction="bidirect")
    fw = lstm_shapes.Config(input=3, hidden=2, framework="paddle").convention
    for name in Model(case, rnn).state_dict():
        place = fw.parse_name(name)
        assert place is not None, name
        if place[0] is not None:
            assert f"{place[0]}" in name and (place[1] == 1) == ("_bw" in name or "_reverse" in name), name


def test_the_aliases_are_the_cells_tensors() -> None:
    # Why the report counts each tensor once: the layer's aliases share the cells' storage.
    rnn = paddle.nn.GRU(3, 2, num_layers=2, direction="bidirect")
    state = rnn.state_dict()
    for layer, (side, suffix) in itertools.product((0, 1), (("fw", ""), ("bw", "_reverse"))):
        for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            assert np.array_equal(state[f"{kind}_l{layer}{suffix}"].numpy(), state[f"{layer}.cell_{side}.{kind}"].numpy())


def test_the_aliases_shift_after_a_projection() -> None:
    # Why the note says to go by the cells' names: weight_ho has no alias, the next layer's aliases slide onto it.
    state = paddle.nn.LSTM(4, 3, num_layers=2, proj_size=2).state_dict()
    assert tuple(state["weight_ih_l1"].shape) == (3, 2) != tuple(state["1.cell.weight_ih"].shape)
    assert np.array_equal(state["weight_ih_l1"].numpy(), state["0.cell.weight_ho"].numpy())


def test_bias_attr_false_keeps_frozen_zero_biases() -> None:
    # Why --no-bias is refused: paddle keeps the tensors, frozen at zero.
    rnn = paddle.nn.LSTM(3, 2, bias_ih_attr=False, bias_hh_attr=False)
    bias = rnn.state_dict()["0.cell.bias_ih"]
    assert tuple(bias.shape) == (8,) and not bias.numpy().any() and bias.stop_gradient


# --------------------------------------------------------------------------
# layers of their own sizes: one nn.LSTM (GRU, SimpleRNN) per layer in an nn.LayerList
# --------------------------------------------------------------------------

# Aliases in a LayerList carry the module's index: `rnn.1.weight_ih_l0`.
LIST_ALIAS = re.compile(r"(rnn\.)?(\d+\.)?(weight|bias)_(ih|hh)_l\d+(_reverse)?")


class Sized(NamedTuple):
    cell: str
    input: int
    hidden: tuple[int, ...]
    bidirectional: bool = False
    proj: int = 0
    time_major: bool = False
    out: int | None = None
    head_reads: str = "last-step"
    head_activation: str = "none"

    @property
    def id(self) -> str:
        parts = [self.cell, f"x{self.input}", "h" + ",".join(map(str, self.hidden))]
        parts += [word for word, on in (("bi", self.bidirectional), (f"p{self.proj}", self.proj), ("tm", self.time_major)) if on]
        if self.out is not None:
            parts.append(f"o{self.out}-{self.head_activation}-{self.head_reads}")
        return "-".join(parts)

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1


# Shrinking, growing and up-then-down stacks of 2 and 3 layers; every cell, a projection, both layouts, heads.
SIZED = [
    Sized("lstm", 4, (8, 3)),
    Sized("lstm", 3, (2, 5, 4), bidirectional=True, time_major=True, out=3, head_reads="final-states",
          head_activation="softmax"),
    Sized("lstm", 5, (6, 4), bidirectional=True, proj=2, out=2, head_activation="sigmoid"),
    Sized("lstm", 2, (3, 7), proj=1, time_major=True),
    Sized("gru", 3, (3, 6), bidirectional=True, out=2, head_reads="final-states", head_activation="sigmoid"),
    Sized("gru", 4, (5, 2, 4), time_major=True),
    Sized("rnn", 2, (2, 7), out=4, head_reads="final-states"),
    Sized("rnn", 3, (4, 3, 5), bidirectional=True, out=1, head_activation="none"),
]
SIZED_IDS = [case.id for case in SIZED]


class Listed(paddle.nn.Layer):
    """What a user writes: one layer per size in `rnn`, each fed the one below's outputs, and a Linear `head`."""

    def __init__(self, case: Sized) -> None:
        super().__init__()
        layers, width = [], case.input
        for size in case.hidden:
            kwargs: dict[str, Any] = dict(time_major=case.time_major, direction="bidirect" if case.bidirectional else "forward")
            if case.proj:
                kwargs["proj_size"] = case.proj
            layers.append(LAYERS[case.cell](width, size, **kwargs))
            width = case.directions * (case.proj or size)
        self.rnn = paddle.nn.LayerList(layers)
        self.head = paddle.nn.Linear(width, case.out) if case.out is not None else None
        self.case = case

    def forward(self, xs: Any) -> dict[str, Any]:
        case, found = self.case, {}
        for k, layer in enumerate(self.rnn):
            xs, states = layer(xs)
            if case.cell == "lstm":
                found[f"final_states[0] of layer {k}"], found[f"final_states[1] of layer {k}"] = states
            else:
                found[f"final_states of layer {k}"] = states
        found["outputs"] = xs
        if self.head is not None:
            if case.head_reads == "final-states":
                top = len(self.rnn) - 1
                h_n = found[f"final_states[0] of layer {top}" if case.cell == "lstm" else f"final_states of layer {top}"]
                last = paddle.concat(list(h_n[-case.directions:]), axis=1)
            else:
                last = xs[-1] if case.time_major else xs[:, -1]
            found["logits"] = logits = self.head(last)
            if case.head_activation == "softmax":
                found["probs"] = paddle.nn.functional.softmax(logits, axis=1)
            elif case.head_activation == "sigmoid":
                found["probs"] = paddle.nn.functional.sigmoid(logits)
        return found


def sized_state(case: Sized, model: Listed) -> dict[str, Any]:
    """The state_dict a user saves: the whole model's with a head, the bare LayerList's without one."""
    return dict((model if case.out is not None else model.rnn).state_dict())


def sized_report(case: Sized, **more: Any) -> Any:
    head = dict(head_reads=case.head_reads, head_activation=case.head_activation) if case.out is not None else {}
    return lstm_shapes.build(lstm_shapes.Config(
        input=case.input, hidden=case.hidden, out=case.out, cell=case.cell, framework="paddle", proj=case.proj or None,
        bidirectional=case.bidirectional, batch_first=not case.time_major, **head, **more))


@functools.cache
def sized_reference(case: Sized) -> Ref:
    """The LayerList model built and run in float64."""
    paddle.seed(100 + SIZED.index(case))
    paddle.set_default_dtype("float64")
    try:
        model = Listed(case)
        state = sized_state(case, model)
        names = [(name, tuple(t.shape)) for name, t in state.items() if not LIST_ALIAS.fullmatch(name)]
        arrays = {name: state[name].numpy() for name, _ in names}
        total = sum(int(np.prod(p.shape)) for p in model.parameters())
        batch, steps = 3, 4
        xs = paddle.randn((steps, batch, case.input) if case.time_major else (batch, steps, case.input), dtype="float64")
        with paddle.no_grad():
            outputs = {name: value.numpy() for name, value in model(xs).items()}
        return Ref(names, total, arrays, xs.numpy(), outputs)
    finally:
        paddle.set_default_dtype("float32")


def test_sized_cases_cover_growing_shrinking_and_every_cell() -> None:
    assert {len(case.hidden) for case in SIZED} == {2, 3} and {case.cell for case in SIZED} == set(LAYERS)
    assert any(case.hidden[0] < case.hidden[-1] for case in SIZED) and any(case.hidden[0] > case.hidden[-1] for case in SIZED)
    assert any(case.bidirectional and case.out for case in SIZED) and any(case.proj and case.bidirectional for case in SIZED)


@pytest.mark.parametrize("case", SIZED, ids=SIZED_IDS)
def test_layer_list_names_shapes_order_and_total(case: Sized) -> None:
    ref = sized_reference(case)
    report = sized_report(case)
    assert [(w.name, w.shape) for w in report.weights] == ref.names
    assert report.total_params == ref.total


@pytest.mark.parametrize("case", SIZED, ids=SIZED_IDS)
def test_layer_list_returned_shapes_and_numbers(case: Sized) -> None:
    ref = sized_reference(case)
    batch, steps = (ref.xs.shape[1], ref.xs.shape[0]) if case.time_major else ref.xs.shape[:2]
    report = sized_report(case, batch=batch, seq_len=steps)
    shapes = {t.name: t.shape for t in report.sequence}
    assert shapes.pop("input") == ref.xs.shape
    assert shapes == {name: value.shape for name, value in ref.outputs.items()}
    got = run_sequence(report, dict(ref.arrays), ref.xs)
    assert set(got) == set(ref.outputs)
    for name, want in ref.outputs.items():
        np.testing.assert_allclose(got[name], want, rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("case", SIZED, ids=SIZED_IDS)
def test_parse_finds_the_layer_list_in_its_whole_state_dict(case: Sized) -> None:
    # The aliases included, as model.state_dict() hands them over: they are left aside, the cells' names suffice.
    paddle.seed(0)
    model = Listed(case)
    found = lstm_shapes.parse("paddle", {name: tuple(t.shape) for name, t in sized_state(case, model).items()})
    configs = [m.config for m in found.matches]
    assert any(c.hidden == case.hidden and c.input == case.input and c.cell == case.cell
               and c.bidirectional == case.bidirectional and (c.proj or 0) == case.proj for c in configs), configs
    assert found.unknown and all(LIST_ALIAS.fullmatch(name) for name in found.unknown)


@pytest.mark.parametrize("hidden,layers,bidirectional,out", [
    ((5, 3), 2, True, 2), ((5, 3), 2, False, None), ((6, 4, 3), 3, True, None),
    (3, 2, False, None), (3, 2, False, 2), (3, 1, True, None), (3, 2, True, 2), (3, 1, False, None),
])
def test_the_alias_notes_say_what_paddle_names(hidden: Any, layers: int, bidirectional: bool, out: int | None) -> None:
    # Which alias does not hold its namesake cell tensor, as paddle hands them out; the note must name the first one.
    config = lstm_shapes.Config(input=4, hidden=hidden, layers=layers, proj=2, bidirectional=bidirectional, out=out,
                                framework="paddle")
    paddle.seed(0)
    case = Sized("lstm", 4, config.sizes, bidirectional, 2, out=out)
    if config.per_layer:
        state = sized_state(case, Listed(case))
    else:
        rnn = paddle.nn.LSTM(4, hidden, num_layers=layers, proj_size=2, direction="bidirect" if bidirectional else "forward")
        state = dict((Model(Case("lstm", 4, hidden, layers, bidirectional, 2, False, out, 1, 1), rnn) if out else rnn)
                     .state_dict())
    cells = {name: t.numpy() for name, t in state.items() if ".cell" in name}
    shifted = []
    for name, t in state.items():
        m = re.fullmatch(r"(rnn\.)?(\d+\.)?(\w+)_l(\d+)(_reverse)?", name)
        if m and ".cell" not in name:
            module = m[2] or ""
            layer = "0" if module else m[4]
            namesake = f"{m[1] or ''}{module}{layer}.cell{('_bw' if m[5] else '_fw') if bidirectional else ''}.{m[3]}"
            if not (tuple(t.shape) == cells[namesake].shape and np.array_equal(t.numpy(), cells[namesake])):
                shifted.append(name)
    notes = " ".join(lstm_shapes.build(config).notes)
    aliases = [name for name in state if ".cell" not in name and not name.startswith("head.")]
    assert re.search(r"aliases (\S+), (\S+), (\S+), (\S+) \(_reverse", notes)[1] in {
        re.sub(r"^(rnn\.)?\d+\.", r"\1k.", a) if config.per_layer else re.sub(r"^rnn\.", "", a) for a in aliases}
    if shifted:
        owner = next(c for c, v in cells.items() if v.shape == tuple(state[shifted[0]].shape)
                     and np.array_equal(v, state[shifted[0]].numpy()))
        assert f"{shifted[0]} is {owner}," in notes
    else:
        assert "shift" not in notes


@pytest.mark.parametrize("case", SIZED, ids=SIZED_IDS)
def test_the_layer_list_note_builds_the_users_layers(case: Sized) -> None:
    # The note spells the modules out: each one's class and (input_size, hidden_size) as paddle has them.
    paddle.seed(0)
    model = Listed(case)
    note = next(n for n in sized_report(case).notes if "LayerList" in n)
    spelled = re.findall(r"paddle\.nn\.(\w+)\((\d+), (\d+), \.\.\.\)", note)
    assert spelled == [(type(m).__name__, str(m.input_size), str(m.hidden_size)) for m in model.rnn]
    assert "kept in a paddle.nn.LayerList" in note
