"""Keras h5 weights that Keras 3 and tf.keras 2 both load, whether the file is called x.weights.h5 or x.h5.

Each Keras picks its loader by the file's name. A name ending in `.weights.h5` reads the tree that
`save_weights("x.weights.h5")` writes, in Keras 3 and tf_keras alike: `layers/<class>[_n]/cell/vars/0, 1, ...`,
the layers numbered per class in the model's order, a Bidirectional's halves under `forward_layer` and
`backward_layer`. Any other `.h5` is read by the legacy loader: the root's `layer_names`, and per layer a
group whose `weight_names` are the paths of its datasets, as tf_keras' `save_weights("x.h5")` writes them.
The writer is given a temporary name, not the user's, so it writes both: each tensor is one dataset, written
as it arrives, and a hard link gives it its other path, so no byte is stored twice. Both loaders go by the
order of the layers and of their variables; the legacy `weight_names` are the Target's names, which the
project's reader lists.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from ..errors import FileFormatError
from ..frameworks import REGISTRY, having
from . import need
from .writers import Target, Tensors, _ordered

HEADER_LIMIT = 64512  # bytes of one attribute at most (an HDF5 object header); longer lists are split, as Keras does
DTYPES = ("float16", "float32", "float64")  # what h5py stores as numbers every Keras reads
# The legacy layout's writer, tf_keras 2.21; a loader converts the weights it reads only from Keras "1".
KERAS_VERSION = b"2.21.0"


class Slot(NamedTuple):
    """Where one tensor goes: the legacy layer's group, and its path in the `.weights.h5` tree."""

    layer: str  # the Keras layer's name and group in both layouts: lstm, lstm_1, bidirectional, dense, ...
    tree: str  # layers/lstm/cell/vars/0


def plan(target: Target) -> tuple[list[Slot], list[str]]:
    """Each Target tensor's place, the layers numbered across the Target's layers as Keras numbers them, and
    every `vars` group tf_keras' loader opens (it wants one for each layer, cell and wrapped copy, empty or not)."""
    used: dict[str, int] = {}
    slots: list[Slot] = []
    groups = ["vars"]  # the model's own
    for layer in target.layers:
        cfg = layer.config
        names: dict[int | None, str] = {}  # the config's layer index (None for the head) -> the Keras layer
        count: dict[tuple[int | None, int | None], int] = {}  # variables so far per layer and direction
        for w in layer.weights:
            if w.layer not in names:
                own = w.name[len(layer.prefix):]  # lstm_1/lstm_cell/kernel, bidirectional/..., dense/kernel
                kind = re.sub(r"_\d+$", "", own.split("/", 1)[0])
                used[kind] = used.get(kind, -1) + 1
                names[w.layer] = kind if used[kind] == 0 else f"{kind}_{used[kind]}"
                groups += _groups(f"layers/{names[w.layer]}", w.layer is not None and cfg.bidirectional,
                                  w.layer is not None and cfg.convention.cell_scope)
            at = count[(w.layer, w.direction)] = count.get((w.layer, w.direction), -1) + 1
            path = f"layers/{names[w.layer]}/"
            if w.layer is not None:
                path += ("backward_layer/" if w.direction else "forward_layer/") if cfg.bidirectional else ""
                path += "cell/" if cfg.convention.cell_scope else ""
            slots.append(Slot(names[w.layer], f"{path}vars/{at}"))
    return slots, groups


def _groups(at: str, wrapped: bool, cell: bool) -> list[str]:
    """The `vars` groups of one Keras layer: a Bidirectional's copies and its template layer, each one's cell."""
    holders = [at] + ([f"{at}/{side}" for side in ("forward_layer", "backward_layer", "layer")] if wrapped else [])
    return [f"{h}/vars" for h in holders] + ([f"{h}/cell/vars" for h in holders if h != at or not wrapped] if cell else [])


def write_h5(path: str, target: Target, tensors: Tensors) -> None:
    """One h5 file in both Keras layouts, each tensor's dataset written as it arrives."""
    fw = REGISTRY[target.framework]
    if not fw.keras_h5:
        choices = having("keras_h5")
        raise FileFormatError(f".h5 holds Keras weights: --to {', '.join(choices[:-1])} or {choices[-1]} "
                              f"(not {target.framework})")
    if target.dtype not in DTYPES:
        raise FileFormatError(f".h5 holds {', '.join(DTYPES)} weights, not {target.dtype}: "
                              f"write .safetensors or .npz for {target.dtype}")
    h5py = need("h5py", "Keras h5 files")
    slots, groups = plan(target)
    layers = list(dict.fromkeys(s.layer for s in slots))
    with h5py.File(path, "w") as f:
        _attribute(f, "layer_names", layers)
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = KERAS_VERSION
        for name in layers:
            group = f.create_group(name)
            _attribute(group, "weight_names", [w.name for w, s in zip(target.weights, slots) if s.layer == name])
        for name in groups:
            f.require_group(name)
        for (w, array), slot in zip(_ordered(target, tensors), slots):
            data = f.create_dataset(slot.tree, data=array.astype(target.dtype, copy=False))
            f[name_in(slot.layer, w.name)] = data  # a hard link: the legacy path of the same data


def name_in(layer: str, weight: str) -> str:
    """A tensor's legacy path: its layer's group, then its name (`lstm/lstm/lstm_cell/kernel:0`)."""
    return f"{layer}/{weight}"


def _attribute(group: Any, name: str, values: list[str]) -> None:
    """A list of names as an attribute, split in chunks `name0`, `name1`, ... where one would be too long."""
    import numpy as np

    data = np.array([v.encode("utf-8") for v in values])
    parts = [data]
    while any(p.nbytes > HEADER_LIMIT for p in parts) and len(parts) < len(values):
        parts = np.array_split(data, len(parts) + 1)
    if len(parts) == 1:
        group.attrs[name] = data
        return
    for i, part in enumerate(parts):
        group.attrs[f"{name}{i}"] = part
