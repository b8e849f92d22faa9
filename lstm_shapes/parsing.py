"""Backward parsing: from a mapping of tensor name → shape to the configurations that store exactly those.

Generic over the `Framework` API: each tensor name says its (layer, direction, kind); each structural
candidate (cell and variants the framework has) is built once with probe sizes, its weights' symbolic
dimensions are unified with the real shapes to solve x, h, p and o, and the configuration built from
the solved sizes is kept if its weights are exactly the given ones. A constant number of candidates,
each linear in the tensors.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from itertools import product

from .config import CELLS, MAX_LAYERS, Config, check_choice
from .errors import ConfigError
from .formula import Expr
from .frameworks import NAMES, REGISTRY, Framework

Shape = tuple[int, ...]
SIZE = object()  # a candidate's placeholder for a size the shapes must give
SIZES = object()  # a candidate's placeholder for one hidden size per layer (h0, h1, ...)
# Sizes for the probe build: any valid ones do, since only the weights' symbolic dimensions are read.
PROBE = {"input": 7, "hidden": 5, "proj": 3, "out": 2}
SYMBOL_FIELD = {"x": "input", "h": "hidden", "p": "proj", "o": "out"}
NEAREST = 3  # at most this many nearest configurations when nothing matches
# The Config fields the weights can show; the rest take their defaults in every answer.
SHOWN = ("framework", "cell", "input", "hidden", "out", "proj", "peepholes", "layers", "bidirectional", "bias",
         "reset_after", "head_bias")


@dataclass(frozen=True)
class Match:
    """A configuration whose weights are exactly the given tensors; `apart` says what would tell it from the others."""

    config: Config
    apart: str = ""


@dataclass(frozen=True)
class Near:
    """A configuration close to the given tensors, and the tensors that differ from its weights."""

    config: Config
    missing: tuple[tuple[str, Shape], ...]  # (name, expected shape) not given
    unexpected: tuple[tuple[str, Shape], ...]  # (name, shape) given but not among its weights
    wrong_shape: tuple[tuple[str, Shape, Shape], ...]  # (name, expected, got)

    @property
    def differences(self) -> int:
        return len(self.missing) + len(self.unexpected) + len(self.wrong_shape)


@dataclass(frozen=True)
class Parse:
    """What a framework's tensors say: the matching configurations, else the nearest, and the names it did not know.

    Matching is over the names the framework recognises; the others are listed in `unknown` and left out.
    """

    framework: str
    matches: tuple[Match, ...]
    nearest: tuple[Near, ...]
    unknown: tuple[str, ...]
    # Said once, for every answer: what no set of weights shows.
    unknowable: str


def parse(framework: str | Framework, tensors: Mapping[str, Shape]) -> Parse:
    """The configurations of `framework` (a --framework name or a Framework) whose weights are `tensors`."""
    if not isinstance(framework, Framework):
        framework = REGISTRY[check_choice("framework", framework, NAMES)]
    return parse_tensors(framework, tensors)


def parse_tensors(fw: Framework, tensors: Mapping[str, Shape]) -> Parse:
    """The configurations of `fw` whose weights are `tensors`, else the nearest."""
    given = {name: tuple(int(d) for d in shape) for name, shape in tensors.items()}
    places = {name: fw.parse_name(name) for name in given}
    unknown = tuple(name for name, place in places.items() if place is None)
    known = {name: shape for name, shape in given.items() if places[name] is not None}
    cells = [place for place in places.values() if place is not None and place[2] not in fw.head_kinds]
    heads = {place[2] for place in places.values() if place is not None and place[2] in fw.head_kinds}
    # A framework without layers (one cell) may name its tensors with no layer at all.
    layers = max((place[0] for place in cells if place[0] is not None), default=0) + 1
    # A name with direction 1 says two; names without one (one tensor for all) leave both open.
    if any(place[1] == 1 for place in cells):
        directions: tuple[bool, ...] = (True,)
    elif any(place[1] is None for place in cells):
        directions = (False, True)
    else:
        directions = (False,)
    found: list[Near] = []
    if cells and layers <= MAX_LAYERS:
        for shape in candidates(fw, layers, directions, heads):
            near = _solve(fw, shape, known)
            if near is not None and all(n.config != near.config for n in found):
                found.append(near)
    # The probe's names and dimensions stand in for each candidate's own weights; the few kept are built for real.
    matches = [n.config for n in found if n.differences == 0 and _built(fw, n.config, known).differences == 0]
    nearest: tuple[Near, ...] = ()
    if not matches:
        closest = sorted(found, key=lambda n: n.differences)[:NEAREST]
        nearest = tuple(sorted((_built(fw, n.config, known) for n in closest), key=lambda n: n.differences))
    return Parse(fw.name, _tell_apart(fw, matches), nearest, unknown, _unknowable(heads))


def _solve(fw: Framework, shape: dict[str, object], known: Mapping[str, Shape]) -> Near | None:
    """The candidate's configuration with sizes solved from `known`, and how its probe's weights at them differ."""
    layers = shape["layers"]
    assert isinstance(layers, int)
    try:
        probe = Config(**{k: _probe(k, v, layers) for k, v in shape.items()})  # type: ignore[arg-type]
    except ConfigError:
        return None
    weights = fw.weights(probe)
    given = [(w.dims, known[w.name]) for w in weights if w.name in known and len(known[w.name]) == len(w.dims)]
    sizes = _unify(given, set(probe.symbols))
    if sizes is None:
        return None
    solved: dict[str, object] = {SYMBOL_FIELD[s]: v for s, v in sizes.items() if s in SYMBOL_FIELD}
    if shape["hidden"] is SIZES:
        solved["hidden"] = tuple(sizes[f"h{k}"] for k in range(layers))
    try:
        config = Config(**{k: solved[k] if v is SIZE or v is SIZES else v for k, v in shape.items()})  # type: ignore[arg-type]
    except ConfigError:
        return None
    return _differ(config, {w.name: tuple(e.evaluate(sizes) for e in w.dims) for w in weights}, known)


def _probe(field: str, value: object, layers: int) -> object:
    """A candidate's value for the probe build: probe sizes, distinct per layer where each has its own."""
    if value is SIZES:
        return tuple(PROBE[field] + k for k in range(layers))
    return PROBE[field] if value is SIZE else value


def _built(fw: Framework, config: Config, known: Mapping[str, Shape]) -> Near:
    """How `known` differs from the weights `config` really builds."""
    return _differ(config, {w.name: w.shape for w in fw.weights(config)}, known)


def _differ(config: Config, expected: Mapping[str, Shape], known: Mapping[str, Shape]) -> Near:
    """How `known` differs from the weights `expected` of `config`."""
    missing = tuple((n, s) for n, s in expected.items() if n not in known)
    unexpected = tuple((n, s) for n, s in known.items() if n not in expected)
    wrong = tuple((n, s, known[n]) for n, s in expected.items() if n in known and known[n] != s)
    return Near(config, missing, unexpected, wrong)


def _unify(dims: list[tuple[tuple[Expr, ...], Shape]], wanted: set[str]) -> dict[str, int] | None:
    """Sizes for the symbols in `wanted`, each by a majority of the dimensions it alone leaves open.

    A pass binds every symbol that some dimension has as its only unknown (4·h = 8 gives h = 2), then
    dimensions that needed it (x+h = 6) solve in the next pass; a wrong tensor is outvoted by the rest.
    """
    # Layers repeat the same dimensions: each distinct (dimension, size) is solved once, weighted by its count.
    pairs = Counter(pair for exprs, shape in dims for pair in zip(exprs, shape))
    symbols = {expr: expr.names() for expr, _ in pairs}
    sizes: dict[str, int] = {}
    while len(sizes) < len(wanted):
        votes: dict[str, Counter[int]] = {}
        for (expr, value), count in pairs.items():
            open_ = symbols[expr] - sizes.keys()
            if len(open_) != 1:
                continue
            (name,) = open_
            solved = _linear(expr, name, value, sizes)
            if solved is not None:
                votes.setdefault(name, Counter())[solved] += count
        if not votes:
            return None
        for name, counter in votes.items():
            sizes[name] = counter.most_common(1)[0][0]
    return sizes


def _linear(expr: Expr, name: str, value: int, sizes: dict[str, int]) -> int | None:
    """The positive whole `v` with expr(name=v) == value, where expr is a·name + b; else None."""
    b = expr.evaluate({**sizes, name: 0})
    a = expr.evaluate({**sizes, name: 1}) - b
    if a <= 0 or (value - b) % a or (value - b) // a < 1:
        return None
    v = (value - b) // a
    return v if expr.evaluate({**sizes, name: v}) == value else None


def _tell_apart(fw: Framework, configs: list[Config]) -> tuple[Match, ...]:
    if len(configs) < 2:
        return tuple(Match(c) for c in configs)
    differ = [f.name for f in fields(Config) if len({getattr(c, f.name) for c in configs}) > 1]
    out = []
    for config in configs:
        said = [fw.tell_apart(config, field) for field in differ]
        out.append(Match(config, " ".join(said)))
    return tuple(out)


def _unknowable(heads: set[str]) -> str:
    what = ["batch_first", "batch", "seq_len", "dtype"]
    if heads:
        what = ["the head's activation", "what the head reads", *what]
    return "The weights do not show " + ", ".join(what[:-1]) + f" or {what[-1]}; each answer takes their defaults."


def candidates(
    fw: Framework, layers: int, directions: tuple[bool, ...], heads: set[str]
) -> Iterator[dict[str, object]]:
    """Every structural configuration the framework has, as Config keyword arguments without sizes."""
    out: dict[str, object] = {"input": SIZE, "hidden": SIZE, "out": SIZE if heads else None}
    if heads and fw.head_kinds[1] not in heads:
        out["head_bias"] = False
    both = (False, True)
    for cell in CELLS:
        lstm = cell == "lstm"
        for bidirectional, bias, proj, peepholes, reset_after in product(
            directions,
            both if fw.has_no_bias else (True,),
            both if lstm and fw.has_proj else (False,),
            both if lstm and fw.has_peepholes else (False,),
            fw.reset_after_choices if cell == "gru" else (None,),
        ):
            shape = dict(out, framework=fw.name, cell=cell, layers=layers, bidirectional=bidirectional, bias=bias,
                         peepholes=peepholes, reset_after=reset_after)
            if proj:
                shape["proj"] = SIZE
            yield shape
            if layers > 1:  # the layers may each have a size of their own
                yield dict(shape, hidden=SIZES)
