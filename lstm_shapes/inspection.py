"""Recognition: the recurrent layers in a set of named tensors, each in its framework's terms.

Every framework reads every tensor name, prefix by prefix (`encoder.rnn.weight_ih_l0` is
`weight_ih_l0` under `encoder.rnn.`), and parses each prefix's tensors backward into the
configurations that store exactly them. Where several frameworks claim the same tensors the one
that explains more of them wins, the others stay as alternatives. Tensors no framework names are
grouped by their prefix and tried by shape alone, in the file's order, against each framework's
one-layer tensors (an npz with `enc_w_ih`, `enc_w_hh`, `enc_b_ih`, `enc_b_hh`). The rest is
summarised by top-level prefix. Pure: no file, library or framework is touched here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING
from itertools import product
from math import prod

from .config import Config
from .errors import ConfigError, LstmShapesError
from .frameworks import REGISTRY, Framework
from .graph import format_shape
from .params import Weight
from .parsing import parse_tensors
from .report import Report, build

if TYPE_CHECKING:
    from .files import ModelFile

Shape = tuple[int, ...]
SPLIT = re.compile(r"[./]")
# Shape-only recognition tries groups of this many tensors: one layer, one or two directions, with or without
# biases; never two, which a Dense (a matrix and a bias) fits as well as TF1's one kernel over [x, h] does.
BY_SHAPES = range(3, 13)
# Path parts under which a checkpoint keeps its optimizer's state (Flax's TrainState, PyTorch and Keras checkpoints).
OPTIMIZER = {"opt_state", "optimizer", "optimizer_state", "optim_state"}
# A file's own description names a recurrent layer (Keras' class, ONNX's op type) by one of these words.
RECURRENT = re.compile(r"lstm|gru|rnn|bidirectional", re.IGNORECASE)


@dataclass(frozen=True)
class Layer:
    """A recurrent layer found in the tensors: where, whose convention, which configuration, under which names."""

    prefix: str
    framework: str
    config: Config
    names: tuple[tuple[str, str], ...]  # (the framework's name, the name in the file)
    by_shapes: bool = False  # recognised by its shapes alone, its names being the file's own
    alternatives: tuple[tuple[str, Config], ...] = ()  # other conventions and configurations that store the same
    aliases: tuple[str, ...] = ()  # file names listing its tensors a second time (Paddle's weight_ih_l0): counted as other

    @property
    def files(self) -> set[str]:
        """Every file name the layer stands for, its aliases included."""
        return {file_name for _, file_name in self.names} | set(self.aliases)

    @cached_property
    def params(self) -> int:
        return build(self.config).total_params

    def report(self, explain: bool = False, show_cost: bool = False) -> Report:
        """The full trace, its weights under the names they have in the file."""
        report = build(self.config, explain=explain, show_cost=show_cost)
        renamed = dict(self.names)
        return replace(report, weights=tuple(w._replace(name=renamed.get(w.name, w.name)) for w in report.weights))


@dataclass(frozen=True)
class Other:
    """Tensors under one top-level prefix that are not part of a recurrent layer."""

    prefix: str
    tensors: int
    params: int


@dataclass(frozen=True)
class Inspection:
    """What a file (or mapping) holds: its recurrent layers, the rest by prefix, and the totals."""

    source: str
    format: str
    total_params: int
    tensors: int
    layers: tuple[Layer, ...]
    other: tuple[Other, ...]
    warnings: tuple[str, ...] = field(default=())


def inspect_tensors(tensors: Mapping[str, Shape], source: str = "", format: str = "",
                    warnings: tuple[str, ...] = (), described: Mapping[str, tuple[str, ...]] | None = None,
                    said: Mapping[str, Mapping[str, object]] | None = None, heads: bool = True) -> Inspection:
    """The recurrent layers in `tensors` (name → shape) and a summary of the rest.

    `described` is what the file itself says of its layers: a layer's name → its tensors in order (a Keras
    layer's weights, an ONNX node's W, R, B); those its names do not give away are matched by their order.
    `heads=False` leaves dense layers out of the recurrent ones: where a file lists its layers, a Dense named as a
    head (Keras' `dense`) may as well sit before the recurrent layer.
    """
    given = {name: tuple(int(d) for d in shape) for name, shape in tensors.items()}
    # An optimizer's moments repeat the parameters' names and shapes: they are other tensors, not more layers.
    model = {name: shape for name, shape in given.items() if not OPTIMIZER & set(SPLIT.split(name))}
    found = [_as_said(layer, _said_of(layer, described or {}, said or {})) for layer in _by_names(model, heads)]
    claimed = {file_name for layer in found for file_name in layer.files}
    for name, owned in (described or {}).items():
        names = [n for n in owned if n in model and n not in claimed]
        if 2 <= len(names) <= BY_SHAPES.stop:  # the description says it is recurrent: two tensors may do
            layer = _by_order(name, names, given, by_shapes=False)
            if layer is not None:
                found.append(_as_said(layer, (said or {}).get(name, {})))
                claimed.update(names)
    found += _by_shapes({n: s for n, s in model.items() if n not in claimed})
    claimed = {file_name for layer in found for _, file_name in layer.names}
    order = {name: i for i, name in enumerate(given)}
    found.sort(key=lambda layer: min(order[file_name] for _, file_name in layer.names))
    rest: dict[str, list[int]] = {}
    # A wrapper every name shares (a checkpoint's `state_dict.`, Keras' `sequential/`) says nothing: skip it.
    wrapper = _shared_wrapper(list(given))
    for name, shape in given.items():
        if name not in claimed:
            top = wrapper + SPLIT.split(name[len(wrapper):], 1)[0]
            counts = rest.setdefault(top, [0, 0])
            counts[0] += 1
            counts[1] += prod(shape)
    return Inspection(source, format, sum(prod(s) for s in given.values()), len(given), tuple(found),
                      tuple(Other(p, n, c) for p, (n, c) in rest.items()), warnings)


def _shared_wrapper(names: list[str]) -> str:
    """The leading `part.` or `part/` of every name, when all have the same one and something after it."""
    first = SPLIT.search(names[0]) if names else None
    if first is None:
        return ""
    wrapper = names[0][: first.end()]
    return wrapper if all(name.startswith(wrapper) and len(name) > len(wrapper) for name in names) else ""


def _splits(name: str) -> Iterator[tuple[str, str]]:
    """(prefix, rest) for the whole name, then after each `.` or `/`."""
    yield "", name
    for match in SPLIT.finditer(name):
        yield name[: match.end()], name[match.end():]


# What a file's own layer description says that the shapes cannot: attribute → (Config field, value it means).
SAID = {"reset_after": ("reset_after", {True: True, False: False}),
        "linear_before_reset": ("reset_after", {1: True, 0: False}),
        "merge_mode": ("merge_mode", {"concat": "concat", "sum": "sum", "mul": "mul", "ave": "ave", None: "none"})}


def _as_said(layer: Layer, attributes: Mapping[str, object]) -> Layer:
    """Of a layer's equally fitting configurations, the one its description names (an ONNX GRU's linear_before_reset)."""
    for attribute, (field_, meaning) in SAID.items():
        if attribute not in attributes or attributes[attribute] not in meaning:
            continue
        want = meaning[attributes[attribute]]  # type: ignore[index]
        if getattr(layer.config, field_) == want:
            return _settled(layer, field_, want)
        for index, (fw, config) in enumerate(layer.alternatives):
            if fw == layer.framework and getattr(config, field_) == want:
                rest = layer.alternatives[:index] + ((layer.framework, layer.config),) + layer.alternatives[index + 1:]
                return _settled(replace(layer, config=config, alternatives=rest), field_, want)
        try:  # a choice no tensor shows (how Bidirectional merges), where the same tensors allow it
            said = replace(layer.config, **{field_: want})
        except ConfigError:
            continue
        if [(w.name, w.shape) for w in build(said).weights] == [(w.name, w.shape) for w in build(layer.config).weights]:
            layer = replace(layer, config=said)
    return layer


def _settled(layer: Layer, field_: str, want: object) -> Layer:
    """The layer without the readings of its own framework that the file's description rules out."""
    kept = tuple((fw, c) for fw, c in layer.alternatives if fw != layer.framework or getattr(c, field_) == want)
    return replace(layer, alternatives=kept)


def _said_of(layer: Layer, described: Mapping[str, tuple[str, ...]],
             said: Mapping[str, Mapping[str, object]]) -> dict[str, object]:
    """What every described layer holding some of this layer's tensors says alike (each ONNX node of a stack)."""
    files = {file_name for _, file_name in layer.names}
    sayings = [said.get(name, {}) for name, owned in described.items() if files & set(owned)]
    if not sayings:
        return {}
    return {k: v for k, v in sayings[0].items() if k in SAID and all(k in s and s[k] == v for s in sayings[1:])}


def _by_names(given: Mapping[str, Shape], with_heads: bool = True) -> list[Layer]:
    """Layers whose names a framework knows; where frameworks overlap, the one claiming more tensors wins."""
    candidates: list[tuple[int, int, Layer]] = []
    for rank, fw in enumerate(REGISTRY.values()):
        groups: dict[str, dict[str, str]] = {}  # prefix -> {framework name: file name}
        heads: dict[str, dict[str, str]] = {}
        for name in given:
            for prefix, rest in _splits(name):  # every reading: `rnn.weight_ih_l0` under `encoder.`, or under `encoder.rnn.`
                place = fw.parse_name(rest)
                if place is not None and (with_heads or place[2] not in fw.head_kinds):
                    (heads if place[2] in fw.head_kinds else groups).setdefault(prefix, {})[rest] = name
        for prefix, names in groups.items():
            layer = _parse(fw, prefix, {**names, **heads.get(prefix, {})}, given) or _parse(fw, prefix, names, given)
            own = {n: f for n, f in names.items() if not fw.is_alias(n)}
            if layer is None and own and len(own) < len(names):  # the same tensors listed twice: read once, claim both
                layer = _parse(fw, prefix, {**own, **heads.get(prefix, {})}, given) or _parse(fw, prefix, own, given)
                if layer is not None:
                    layer = replace(layer, aliases=tuple(f for n, f in names.items() if n not in own))
            if layer is not None:
                candidates.append((-len(layer.files), rank, layer))
    return _choose(candidates)


def _parse(fw: Framework, prefix: str, names: Mapping[str, str], given: Mapping[str, Shape],
           by_shapes: bool = False) -> Layer | None:
    result = parse_tensors(fw, {own: given[file_name] for own, file_name in names.items()})
    if not result.matches or result.unknown:
        return None
    first, *others = result.matches
    return Layer(prefix, fw.name, first.config, tuple(names.items()), by_shapes,
                 tuple((fw.name, match.config) for match in others))


def _choose(candidates: list[tuple[int, int, Layer]]) -> list[Layer]:
    """The largest claims first; a claim of tensors already taken is dropped, or kept as an alternative if the same."""
    chosen: list[Layer] = []
    taken: dict[str, int] = {}
    for _, _, layer in sorted(candidates, key=lambda c: (c[0], c[1])):
        files = layer.files
        owners = {taken[f] for f in files if f in taken}
        if not owners:
            taken.update((f, len(chosen)) for f in files)
            chosen.append(layer)
        elif len(owners) == 1:
            index = owners.pop()
            if chosen[index].files == files:
                extra = ((layer.framework, layer.config), *layer.alternatives)
                chosen[index] = replace(chosen[index], alternatives=chosen[index].alternatives + extra)
    return chosen


def _by_shapes(given: Mapping[str, Shape]) -> list[Layer]:
    """Groups of custom-named tensors that some framework's one-layer tensors fit, in the file's order."""
    groups: dict[str, list[str]] = {}
    for name in given:
        cut = max(name.rfind("."), name.rfind("/"))
        prefix = name[: cut + 1] if cut >= 0 else name[: name.find("_") + 1]
        groups.setdefault(prefix, []).append(name)
    found = []
    for prefix, names in groups.items():
        if len(names) in BY_SHAPES:
            layer = _by_order(prefix, names, given, by_shapes=True)
            if layer is not None:
                found.append(layer)
    return found


def _by_order(prefix: str, names: list[str], given: Mapping[str, Shape], by_shapes: bool) -> Layer | None:
    """The first framework whose one-layer tensors, in its order, the `names` fit; the others as alternatives."""
    layers: list[Layer] = []
    for fw in REGISTRY.values():
        for own in _one_layer_names(fw, len(names)):
            layer = _parse(fw, prefix, dict(zip(own, names)), given, by_shapes=by_shapes)
            if layer is not None and all(layer.config != other.config for other in layers):
                layers.append(layer)
    if not layers:
        return None
    first, *others = layers
    alternatives = tuple((o.framework, o.config) for o in others) + tuple(a for o in others for a in o.alternatives)
    return replace(first, alternatives=first.alternatives + alternatives)


@lru_cache(maxsize=None)
def _one_layer_names(fw: Framework, count: int) -> tuple[tuple[str, ...], ...]:
    """The framework's tensor names of one layer and direction, in its order, for each cell and bias choice.

    The same for every group of `count` tensors, so built once per framework and count.
    """
    return tuple(_layer_names(fw, count))


def _layer_names(fw: Framework, count: int) -> Iterator[tuple[str, ...]]:
    seen = set()
    for cell in fw.cells:
        for bias, both in product((True, False) if fw.has_no_bias else (True,), (False, True)):
            try:
                probe = Config(input=7, hidden=5, cell=cell, framework=fw.name, bias=bias, bidirectional=both)
            except ConfigError:
                continue
            names = tuple(w.name for w in fw.weights(probe))
            if len(names) == count and names not in seen:
                seen.add(names)
                yield names


def inspect_path(path: str, layer: str | None = None, model: ModelFile | None = None) -> Inspection:
    """The Inspection of one file: its reader's tensors and layer descriptions, recognised; `layer` keeps one prefix.

    `model` is the file already read, where the caller needs its data too.
    """
    from .files import read

    model = model or read(path)
    tensors = {name: info.shape for name, info in model.tensors.items()}
    described = {info.name: info.tensors for info in model.layers if RECURRENT.search(info.kind)}
    said = {info.name: info.config for info in model.layers}
    result = inspect_tensors(tensors, path, model.format, tuple(model.warnings), described, said, heads=not model.layers)
    if layer is not None:
        chosen = tuple(found for found in result.layers if found.prefix == layer)
        if not chosen:
            prefixes = ", ".join(repr(found.prefix) for found in result.layers) or "none"
            raise LstmShapesError(f"{path}: no recurrent layer at prefix {layer!r}; the file has {prefixes}")
        # The layers left out count with the rest, under their prefixes, so the parts still add up to the file.
        left = tuple(Other(found.prefix, len(found.names), sum(prod(tensors[name]) for _, name in found.names))
                     for found in result.layers if found.prefix != layer)
        result = replace(result, layers=chosen, other=left + result.other)
    return result


def inspect_object(obj: object) -> Inspection:
    """A path, a mapping of names to anything with a shape, a torch module or a Keras model; duck-typed."""
    import os

    if isinstance(obj, (str, os.PathLike)):
        return inspect_path(os.fspath(obj))
    variables = getattr(obj, "weights", None)
    state_dict = getattr(obj, "state_dict", None)
    if isinstance(variables, (list, tuple)) and not isinstance(obj, Mapping):  # a Keras model (a torch module too,
        obj = {getattr(v, "path", None) or v.name: v.shape for v in variables}  # on its torch backend): its paths
    elif callable(state_dict) and not isinstance(obj, Mapping):  # a torch.nn.Module (or Paddle's Layer)
        obj = state_dict()
    if not isinstance(obj, Mapping):
        raise LstmShapesError(f"cannot inspect a {type(obj).__name__}: give a path, a mapping of names to shapes, "
                              "a torch module or a Keras model")
    tensors = {}
    for name, value in obj.items():
        shape = getattr(value, "shape", value)
        try:
            tensors[str(name)] = tuple(int(d) for d in shape)
        except (TypeError, ValueError):
            raise LstmShapesError(f"{name!r} has no shape (got a {type(value).__name__})") from None
    return inspect_tensors(tensors, type(obj).__name__, "mapping")


# The size fields and the symbols their tensors show them by.
SYMBOLS = {"input": "x", "proj": "p", "out": "o"}


def compare(layer: Layer, wanted: Mapping[str, object]) -> tuple[str, ...]:
    """Each way the layer differs from what the user meant (Config fields → values), in words; () when they agree."""
    from dataclasses import fields

    from .config import OPTIONS

    flags = {option.field: option.flags.split("/")[0] for option in OPTIONS}
    cfg = layer.config
    said = []
    if "framework" in wanted and wanted["framework"] != layer.framework:
        said.append(f"the file's tensors are named as {REGISTRY[layer.framework].title} names them; you said "
                    f"{REGISTRY[str(wanted['framework'])].title} (the sizes below are read in the file's convention)")
    changes = {k: v for k, v in wanted.items() if k != "framework"}
    if isinstance(changes.get("hidden"), tuple) and "layers" not in changes:
        changes["layers"] = 1  # the sizes say how many layers
    try:
        meant = replace(cfg, **changes)
    except ConfigError as exc:
        return (*said, f"what you said cannot be built in {REGISTRY[layer.framework].title}: {exc}")
    weights = layer.report().weights
    for field_ in (f.name for f in fields(Config)):
        if field_ not in wanted or field_ == "framework" or getattr(meant, field_) == getattr(cfg, field_):
            continue
        if field_ == "hidden":
            said += _sizes_apart(cfg, meant, weights)
            continue
        symbol = SYMBOLS.get(field_)
        evidence = _evidence(weights, symbol, cfg.symbols) if symbol else ""
        have, want = getattr(cfg, field_), getattr(meant, field_)
        if evidence:
            said.append(f"{evidence}, so the file has {symbol} = {have}; you said {want}")
        else:
            said.append(f"the file's tensors say {flags.get(field_, field_)} {_word(have)}; you said {_word(want)}")
    return tuple(said)


def _word(value: object) -> str:
    """on, off, none, or the value itself."""
    if value is None or isinstance(value, bool):
        return {True: "on", False: "off", None: "none"}[value]
    return str(value)


def _sizes_apart(cfg: Config, meant: Config, weights: tuple[Weight, ...]) -> list[str]:
    if cfg.layers != meant.layers:
        return [f"the file has {cfg.layers} layer{'s' if cfg.layers > 1 else ''} (hidden {cfg.hidden_text}); you said "
                f"--hidden {meant.hidden_text}"]
    said = []
    for k in range(cfg.layers):
        if cfg.layer_hidden(k) == meant.layer_hidden(k) or (k and not cfg.per_layer and not meant.per_layer):
            continue  # one size for every layer is said once
        symbol = f"h{k}" if cfg.per_layer else "h"
        evidence = _evidence(weights, symbol, cfg.symbols, layer=k)
        where = f" in layer {k}" if cfg.per_layer or meant.per_layer else ""
        said.append(f"{evidence}, so the file has h = {cfg.layer_hidden(k)}{where}; you said {meant.layer_hidden(k)}")
    return said


def _evidence(weights: tuple[Weight, ...], symbol: str, env: Mapping[str, int], layer: int | None = None) -> str:
    """`weight_ih_l0 is (1024, 40): 4h = 1024`: the first tensor with an axis that shows `symbol` alone."""
    for weight in weights:
        if layer is not None and weight.layer != layer:
            continue
        for axis, expr in enumerate(weight.dims):
            if expr.names() == {symbol}:
                text = expr.render()
                said = f": {text} = {weight.shape[axis]}" if text != symbol else ""
                return f"{weight.name} is {format_shape(weight.shape)}{said}"
    return f"the tensors give {symbol} = {env.get(symbol)}"
