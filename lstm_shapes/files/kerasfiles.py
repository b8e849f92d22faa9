"""Keras files: Keras 3 `.keras` (config.json + model.weights.h5 in a zip), Keras 3 `.weights.h5`, legacy Keras 2 `.h5`.

Keras 3 stores no variable names: its h5 holds `layers/<class in snake_case>[_n]/vars/0, 1, ...` in the
order `model.layers` has, with `cell`, `layer`, `forward_layer`, `backward_layer` for what a layer holds.
The reader walks config.json and that tree side by side and names each tensor by its scope of layer
names, as the model that saved the file prints `model.weights[i].path` (`bidirectional/forward_lstm/
lstm_cell/kernel`); the model itself adds no scope (a top-level Sequential prints its own name first
until it is loaded back; a Functional never does). A model rebuilt by `keras.saving.load_model` may print shorter paths (it builds a
wrapped layer outside its wrapper's scope: `forward_lstm/lstm_cell/kernel`); the tensors are the same.
Legacy Keras 2 files store each layer's `weight_names` (`lstm/lstm_cell/kernel:0`), used as they are.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import FileFormatError
from . import LayerInfo, ModelFile, TensorInfo, need

MAX_DEPTH = 64  # layers nested deeper than this are a damaged or hostile file, not a model
MAX_CONFIG = 16 << 20  # bytes of config.json read at most: JSON takes up to 20 times its size in memory
WEIGHTS = "model.weights.h5"
RNN_CELLS = {"LSTM": "lstm_cell", "GRU": "gru_cell", "SimpleRNN": "simple_rnn_cell"}
CELL_VARS = ("kernel", "recurrent_kernel", "bias")
# Each class's variables in the order it creates them; `bias`, `center`, `scale` flags drop some.
VARS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("LSTMCell", "GRUCell", "SimpleRNNCell", "lstm_cell", "gru_cell", "simple_rnn_cell"), CELL_VARS),
    **dict.fromkeys(("Dense", "EinsumDense", "Conv1D", "Conv2D", "dense", "einsum_dense", "conv1d", "conv2d"),
                    ("kernel", "bias")),
    "Embedding": ("embeddings",), "embedding": ("embeddings",),
    "LayerNormalization": ("gamma", "beta"), "layer_normalization": ("gamma", "beta"),
    "BatchNormalization": ("gamma", "beta", "moving_mean", "moving_variance"),
    "batch_normalization": ("gamma", "beta", "moving_mean", "moving_variance"),
}
# Config flags that drop a variable when false.
DROPS = {"use_bias": "bias", "scale": "gamma", "center": "beta"}


def snake(name: str) -> str:
    """A class name as Keras 3 names its h5 group (keras.src.utils.naming.to_snake_case)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def var_names(kind: str, config: dict[str, Any], count: int) -> tuple[str, ...] | None:
    """The names of a layer's `count` variables, or None when its class is not one this reader knows."""
    names = tuple(n for n in VARS.get(kind, ()) if all(config.get(flag, True) or n != var
                                                        for flag, var in DROPS.items()))
    if not config:  # no config (a weights file): trailing variables may be absent, the leading ones are there
        names = names[:count]
    return names if names and len(names) == count else None


def _fail(path: str, what: str) -> FileFormatError:
    return FileFormatError(f"{path}: {what}")


def _hard(group: Any, key: str) -> Any:
    """A group's member reached by a hard link only: soft and external links could lead out of the file."""
    h5py = need("h5py", "Keras files")
    link = group.get(key, getlink=True)
    return group[key] if isinstance(link, h5py.HardLink) else None


def _members(group: Any) -> Iterator[tuple[str, Any]]:
    for key in group:
        obj = _hard(group, key)
        if obj is not None:
            yield key, obj


def _datasets(vars_group: Any) -> list[tuple[str, Any]]:
    """A `vars` group's datasets in variable order (keys 0, 1, ..., 10 sort as numbers)."""
    h5py = need("h5py", "Keras files")
    found = [(k, v) for k, v in _members(vars_group) if isinstance(v, h5py.Dataset)]
    return sorted(found, key=lambda kv: (not kv[0].isdigit(), int(kv[0]) if kv[0].isdigit() else 0, kv[0]))


class _Reader:
    """Collects tensors, layers and warnings while walking one file."""

    def __init__(self, path: str, fmt: str, opener: Callable[[], Any]) -> None:
        self.path, self.format, self.opener = path, fmt, opener
        self.tensors: dict[str, TensorInfo] = {}
        self.layers: list[LayerInfo] = []
        self.warnings: list[str] = []
        self.loaders: dict[str, Callable[[], Any]] = {}
        self.seen: set[str] = set()  # h5 paths of datasets already named
        self.unnamed = False  # warned that the file stores no layer names

    def result(self) -> ModelFile:
        return ModelFile(self.path, self.format, self.tensors, self.layers, self.warnings, self.loaders)

    def add(self, name: str, ds: Any) -> str:
        if name in self.tensors:  # two variables printed alike: keep both, the second under its h5 path
            self.warnings.append(f"two tensors are named {name}; the second is listed as {ds.name.lstrip('/')}")
            name = ds.name.lstrip("/")
        self.tensors[name] = TensorInfo(name, tuple(int(n) for n in ds.shape), ds.dtype.name)
        self.loaders[name] = self._loader(ds.name)
        self.seen.add(ds.name)
        return name

    def _loader(self, h5path: str) -> Callable[[], Any]:
        def load() -> Any:
            with self.opener() as f:
                return f[h5path][()]
        return load

    def own_vars(self, group: Any, scope: list[str], kind: str, config: dict[str, Any], label: str) -> list[str]:
        """Name the datasets of `group/vars` by the class's variable names (or by index, with a warning)."""
        vars_group = _hard(group, "vars")
        if vars_group is None or not hasattr(vars_group, "keys"):
            return []
        found = _datasets(vars_group)
        if not found:
            return []
        names = var_names(kind, config, len(found))
        if names is None:
            names = tuple(key for key, _ in found)
            self.warnings.append(f"{label}: the variable names of a {kind} are not known; named by their index")
        return [self.add("/".join([*scope, n]), ds) for n, (_, ds) in zip(names, found)]

    # --- Keras 3: config.json and the h5 tree side by side -------------------------------------------

    def layer(self, cfg: Any, group: Any, scope: list[str], depth: int) -> list[str]:
        """Walk one layer's config and h5 group; returns the tensors it owns, its sublayers' included."""
        if depth > MAX_DEPTH:
            raise _fail(self.path, f"layers nested more than {MAX_DEPTH} deep")
        if not isinstance(cfg, dict) or not isinstance(cfg.get("config"), dict):
            raise _fail(self.path, "config.json holds a layer that is not a {class_name, config} object")
        kind, config = str(cfg.get("class_name")), cfg["config"]
        name = str(config.get("name", snake(kind)))
        at = len(self.layers)
        self.layers.append(LayerInfo(name, kind, {}, ()))
        # A Functional's layers are built before it exists, outside its scope; a Sequential builds them in its own.
        inner = scope if kind == "Functional" else [*scope, name]
        owned = self.own_vars(group, inner, kind, config, name) + self.sublayers(kind, config, group, inner, depth)
        if kind in RNN_CELLS and "cell" not in config:  # LSTM, GRU, SimpleRNN make their cell themselves
            cell = _hard(group, "cell")
            if cell is not None:
                vars_group = _hard(cell, "vars")
                cell_name = str(vars_group.attrs.get("name", RNN_CELLS[kind])) if vars_group is not None else ""
                owned += self.own_vars(cell, [*inner, cell_name or RNN_CELLS[kind]], RNN_CELLS[kind], config, name)
        owned += self.rest(group, inner, name)
        plain = {k: v for k, v in config.items() if k not in ("layer", "backward_layer", "layers", "cell", "cells")}
        self.layers[at] = LayerInfo(name, kind, plain, tuple(owned))
        return owned

    def sublayers(self, kind: str, config: dict[str, Any], group: Any, scope: list[str], depth: int) -> list[str]:
        """Walk the sublayers a config names, each in the h5 group Keras saved it under."""
        owned: list[str] = []
        for key, child in self.children(kind, config):
            box = self.group(_hard(group, key), f"{group.name}/{key}", child)
            if not isinstance(child, list):
                owned += self.layer(child, box, scope, depth + 1)
                continue
            used: dict[str, int] = {}  # a container names its items by class, counting repeats: lstm, lstm_1, ...
            for c in child:
                sub = snake(str(c.get("class_name", ""))) if isinstance(c, dict) else ""
                used[sub] = used.get(sub, -1) + 1
                sub_key = sub if used[sub] == 0 else f"{sub}_{used[sub]}"
                sub_group = _hard(box, sub_key)
                if sub_group is None and isinstance(c, dict) and c.get("class_name") == "InputLayer":
                    continue  # Sequential keeps no group for its input
                owned += self.layer(c, self.group(sub_group, f"{box.name}/{sub_key}", c), scope, depth + 1)
        return owned

    def group(self, group: Any, where: str, cfg: Any) -> Any:
        if group is None:
            label = cfg.get("config", {}).get("name") if isinstance(cfg, dict) else None
            what = f" for layer {label}" if label else ""
            raise _fail(self.path, f"the weights have no group {where.lstrip('/')}{what}")
        return group

    @staticmethod
    def children(kind: str, config: dict[str, Any]) -> list[tuple[str, Any]]:
        """The h5 keys under which a layer keeps its sublayers, with their configs (a list for a container)."""
        out: list[tuple[str, Any]] = []
        if isinstance(config.get("layers"), list):
            out.append(("layers", config["layers"]))
        if kind == "Bidirectional":
            out.append(("forward_layer", config.get("layer")))
            if config.get("backward_layer") is not None:
                out.append(("backward_layer", config["backward_layer"]))
        elif isinstance(config.get("layer"), dict):
            out.append(("layer", config["layer"]))
        if isinstance(config.get("cell"), dict):
            out.append(("cell", config["cell"]))
        if isinstance(config.get("cells"), list):
            out.append(("cells", config["cells"]))
        return out

    def rest(self, group: Any, scope: list[str], label: str) -> list[str]:
        """Datasets under a layer's group that its config did not name: listed by their h5 path, with a warning."""
        h5py = need("h5py", "Keras files")
        left: list[Any] = []

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset) and obj.name not in self.seen:
                left.append(obj)
        group.visititems(visit)
        if left:
            self.warnings.append(f"{label}: {len(left)} tensor(s) its config does not explain; named by their h5 path")
        return [self.add("/".join([*scope, ds.name[len(group.name):].strip("/")]), ds) for ds in left]

    # --- Keras 3 weights without a config: the h5 tree alone ------------------------------------------

    def tree(self, group: Any, key: str, scope: list[str], depth: int, parent: str = "") -> list[str]:
        """One h5 group: a layer if it has `vars`, else a container; returns the tensors under it."""
        if depth > MAX_DEPTH:
            raise _fail(self.path, f"groups nested more than {MAX_DEPTH} deep")
        vars_group = _hard(group, "vars")
        is_layer = depth > 0 and vars_group is not None and hasattr(vars_group, "keys")
        at, inner, kind, owned = len(self.layers), scope, "", []
        if is_layer:
            if "name" not in vars_group.attrs and not self.unnamed:
                self.unnamed = True  # older Keras 3 files do not store layer names: the group keys stand in
                self.warnings.append("the file does not store layer names; they are its group names (lstm, lstm_1, ...)")
            stored = vars_group.attrs.get("name")
            default = f"{parent}_cell" if key == "cell" and parent in RNN_LAYERS else key
            name = default if stored is None else _text(stored)
            # Under a container the key is the class in snake_case; a wrapper's child is known by its default name.
            kind = re.sub(r"_\d+$", "", key if key not in WRAPPED else re.sub(r"^(forward|backward)_", "", name))
            inner = scope if kind == "functional" else [*scope, name]  # as in `layer`: a Functional adds no scope
            if not (key == "cell" and parent in RNN_LAYERS):  # LSTM, GRU, SimpleRNN own their cell, as in a config
                self.layers.append(LayerInfo(name, CLASSES.get(kind, ""), {}, ()))
            if key == "cell" and kind not in VARS:
                kind = "lstm_cell"  # every Keras RNN cell has kernel, recurrent_kernel, bias
            owned = self.own_vars(group, inner, kind, {}, name)
        elif depth == 0 and vars_group is not None:
            owned = self.own_vars(group, [], "", {}, "the model")
        for sub, child in sorted(_members(group), key=lambda kv: _order(kv[0])):
            if sub != "vars" and hasattr(child, "keys") and not (depth == 0 and sub == "optimizer"):
                owned += self.tree(child, sub, inner, depth + 1, kind)
        if is_layer and len(self.layers) > at and self.layers[at].name == name:
            self.layers[at] = LayerInfo(name, self.layers[at].kind, {}, tuple(owned))
        return owned


WRAPPED = ("cell", "layer", "forward_layer", "backward_layer")
RNN_LAYERS = ("lstm", "gru", "simple_rnn")


def _order(key: str) -> tuple[Any, ...]:
    """h5 lists groups alphabetically: put forward before backward and lstm_2 before lstm_10, as a model has them."""
    m = re.fullmatch(r"(.*?)(?:_(\d+))?", key)
    assert m is not None
    return (key != "forward_layer", m[1], int(m[2] or 0), key)


CLASSES = {snake(c): c for c in ("LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional", "TimeDistributed", "Dense",
                                  "Sequential", "Functional", "InputLayer", "StackedRNNCells", "Embedding",
                                  "LSTMCell", "GRUCell", "SimpleRNNCell", "Dropout", "LayerNormalization",
                                  "BatchNormalization")}


def _open_h5(path: str, source: Any, what: str) -> Any:
    h5py = need("h5py", "Keras files")
    try:
        return h5py.File(source, "r")
    except Exception as e:  # h5py raises OSError, and others on damaged files
        raise _fail(path, f"{what} is not a readable HDF5 file ({' '.join(str(e).split())[:120]})") from None


def _optimizer_note(reader: _Reader, f: Any) -> None:
    opt = _hard(f, "optimizer")
    if opt is not None and hasattr(opt, "keys"):
        reader.warnings.append("the optimizer's state is in the file too; its variables are not listed")


def read_keras(path: str) -> ModelFile:
    """A Keras 3 `.keras` file: config.json walked with model.weights.h5 (opened in the zip, read by its header)."""
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "config.json" not in names:
                raise _fail(path, "not a Keras 3 .keras file (no config.json in the zip)")
            if WEIGHTS not in names:
                other = sorted(n for n in names if n.startswith("model.weights"))
                raise _fail(path, f"the zip holds no {WEIGHTS}" + (f" (it has {', '.join(other)}: not read)" if other else ""))
            if z.getinfo("config.json").file_size > MAX_CONFIG:
                raise _fail(path, f"config.json is larger than {MAX_CONFIG >> 20} MB")
            text = z.read("config.json")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as e:
        raise _fail(path, f"not a readable .keras zip ({e})") from None
    try:
        config = json.loads(text)
    except (ValueError, RecursionError):
        raise _fail(path, "config.json is not JSON") from None

    def opener() -> Any:
        z = zipfile.ZipFile(path)
        f = _open_h5(path, z.open(WEIGHTS), WEIGHTS)
        f._zip = z  # kept alive as long as the h5 file reads from it
        return f

    reader = _Reader(path, "keras3-zip", opener)
    try:
        with opener() as f:
            if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
                raise _fail(path, "config.json is not a Keras model config")
            # The model is the root group: its sublayers are walked, it adds no scope of its own.
            reader.sublayers(str(config.get("class_name")), config["config"], f, [], 0)
            _optimizer_note(reader, f)
    except (OSError, RecursionError, zipfile.BadZipFile, KeyError, TypeError, AttributeError) as e:
        raise _fail(path, f"damaged .keras file ({type(e).__name__}: {' '.join(str(e).split())[:120]})") from None
    return reader.result()


def _attr(group: Any, name: str) -> Any:
    """An attribute Keras 2 may have split in chunks (`layer_names0`, `layer_names1`, ...) when it grew past 64 KB."""
    if name in group.attrs:
        return group.attrs[name]
    chunks, n = [], 0
    while f"{name}{n}" in group.attrs:
        chunks.extend(group.attrs[f"{name}{n}"])
        n += 1
    return chunks if n else None


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _legacy(reader: _Reader, f: Any) -> None:
    """Keras 2: each layer's group lists its `weight_names`, the variables' names as tf.keras spells them."""
    raw = _attr(f, "model_config")
    weights = _hard(f, "model_weights") if raw is not None else f
    if weights is None:
        raise _fail(reader.path, "the file has a model_config but no model_weights group")
    listed = _attr(weights, "layer_names")
    names = [_text(n) for n in ([] if listed is None else listed)]
    owned: dict[str, list[str]] = {}
    for layer in names:
        group = reader.group(_hard(weights, layer), f"{weights.name}/{layer}", None)
        owned[layer] = []
        listed = _attr(group, "weight_names")
        for w in [] if listed is None else listed:
            ds = _hard(group, _text(w))
            if ds is None:
                raise _fail(reader.path, f"layer {layer} lists {_text(w)} but the file has no such dataset")
            owned[layer].append(reader.add(_text(w), ds))
    if raw is None:  # save_weights: no config, a layer per group
        for layer in names:
            kind = CLASSES.get(re.sub(r"_\d+$", "", layer), "")
            reader.layers.append(LayerInfo(layer, kind, {}, tuple(owned[layer])))
        return
    try:
        config = json.loads(_text(raw))
    except (ValueError, RecursionError):
        raise _fail(reader.path, "model_config is not JSON") from None
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise _fail(reader.path, "model_config is not a Keras model config")
    for cfg in config["config"].get("layers") or []:
        if isinstance(cfg, dict) and isinstance(cfg.get("config"), dict):
            name = str(cfg["config"].get("name"))
            _legacy_layer(reader, cfg, owned.get(name, []), 0)


def _legacy_layer(reader: _Reader, cfg: dict[str, Any], owned: list[str], depth: int) -> None:
    """One LayerInfo per layer of a Keras 2 config; a sublayer owns its parent's tensors that name it."""
    if depth > MAX_DEPTH:
        raise _fail(reader.path, f"layers nested more than {MAX_DEPTH} deep")
    kind, config = str(cfg.get("class_name")), cfg["config"]
    plain = {k: v for k, v in config.items() if k not in ("layer", "backward_layer", "layers", "cell", "cells")}
    reader.layers.append(LayerInfo(str(config.get("name")), kind, plain, tuple(owned)))
    for key, child in reader.children(kind, config):
        for c in child if isinstance(child, list) else [child]:
            if not (isinstance(c, dict) and isinstance(c.get("config"), dict)):
                continue
            sub = str(c["config"].get("name"))
            # Bidirectional names its copies forward_<name> and backward_<name>; TimeDistributed adds no scope.
            scopes = {sub, f"forward_{sub}"} | ({f"backward_{sub}"} if "backward_layer" not in config else set())
            mine = owned if key == "layer" else [t for t in owned if scopes & set(t.split("/"))]
            _legacy_layer(reader, c, mine, depth + 1)


def read_h5(path: str) -> ModelFile:
    """An HDF5 Keras file: legacy Keras 2 (`model.save("m.h5")`, `save_weights`) or Keras 3 `.weights.h5`."""
    h5py = need("h5py", "Keras files")

    def opener() -> Any:
        return _open_h5(path, path, "the file")

    try:
        with opener() as f:
            if _attr(f, "layer_names") is not None or _attr(f, "model_config") is not None:
                reader = _Reader(path, "keras2-h5", opener)
                _legacy(reader, f)
            elif isinstance(_hard(f, "layers"), h5py.Group) or isinstance(_hard(f, "vars"), h5py.Group):
                reader = _Reader(path, "keras3-h5", opener)
                reader.tree(f, "", [], 0)
                _optimizer_note(reader, f)
            else:
                raise _fail(path, "an HDF5 file, but not one Keras wrote (no layer_names, model_config or layers)")
    except (OSError, RecursionError, KeyError, TypeError, AttributeError, ValueError) as e:
        raise _fail(path, f"damaged Keras HDF5 file ({type(e).__name__}: {' '.join(str(e).split())[:120]})") from None
    return reader.result()
