"""The conversion matrix's shared facts: sizes, variants, the frameworks with a real runtime, file names, outputs.

Every stage imports this module, in whichever venv it runs; it needs only numpy and lstm_shapes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lstm_shapes.config import Config
from lstm_shapes.errors import ConfigError

X, H, P, T, B = 3, 4, 2, 5, 2  # input, hidden, projection, steps, batch: small enough for CI
TOLERANCE = 1e-5  # float32 outputs of the source and of the target loaded with the converted file

# Variants: the Config fields besides the sizes. A GRU variant says where its reset gate applies.
VARIANTS: dict[str, dict[str, Any]] = {
    "lstm": dict(cell="lstm"),
    "gru": dict(cell="gru", reset_after=True),
    "gru reset-before": dict(cell="gru", reset_after=False),
    "rnn": dict(cell="rnn"),
    "lstm 2 layers": dict(cell="lstm", layers=2),
    "gru 2 layers": dict(cell="gru", reset_after=True, layers=2),
    "gru reset-before 2 layers": dict(cell="gru", reset_after=False, layers=2),
    "rnn 2 layers": dict(cell="rnn", layers=2),
    "lstm bidirectional": dict(cell="lstm", bidirectional=True),
    "gru bidirectional": dict(cell="gru", reset_after=True, bidirectional=True),
    "gru reset-before bidirectional": dict(cell="gru", reset_after=False, bidirectional=True),
    "rnn bidirectional": dict(cell="rnn", bidirectional=True),
    "lstm projection": dict(cell="lstm", proj=P),
    "lstm peepholes": dict(cell="lstm", peepholes=True),
}

# The conventions with a real framework that runs on a CPU, by the venv (stage group) that has it.
# tf-keras-cudnn is left out: CuDNNLSTM and CuDNNGRU run on a GPU only.
# Each group's modules (fw_*.py) build, save, load and run the real models.
GROUPS: dict[str, tuple[str, ...]] = {
    "main": ("keras", "pytorch", "pytorch-cell", "onnx"),
    "tf": ("tf1", "tf-keras"),
    "paddle": ("paddle",),
    "mlx": ("mlx",),
    "flax": ("flax",),
    "haiku": ("haiku",),
}
MODULES: dict[str, tuple[str, ...]] = {"main": ("fw_torch", "fw_keras", "fw_onnx"), "tf": ("fw_tf",),
                                       "paddle": ("fw_paddle",), "mlx": ("fw_mlx",), "flax": ("fw_flax",),
                                       "haiku": ("fw_haiku",)}
FRAMEWORKS: tuple[str, ...] = ("keras", "pytorch", "pytorch-cell", "tf1", "onnx", "paddle", "mlx", "tf-keras", "flax",
                               "haiku")
assert sorted(FRAMEWORKS) == sorted(f for group in GROUPS.values() for f in group)

# What a source model is saved as: each framework's own export, as a user of it would have it.
SOURCE_SUFFIX = {"keras": ".weights.h5", "pytorch": ".pt", "pytorch-cell": ".pt", "tf1": ".npz", "onnx": ".onnx",
                 "paddle": ".safetensors", "mlx": ".safetensors", "tf-keras": ".h5", "flax": ".msgpack",
                 "haiku": ".npz"}
# What a converted file is written as, best first: the first whose writer the installed lstm_shapes has.
TARGET_SUFFIXES = {"keras": (".weights.h5", ".safetensors"), "pytorch": (".safetensors",),
                   "pytorch-cell": (".safetensors",), "tf1": (".npz",), "onnx": (".onnx", ".safetensors"),
                   "paddle": (".safetensors",), "mlx": (".safetensors",), "tf-keras": (".h5", ".npz"),
                   "flax": (".msgpack", ".npz"), "haiku": (".npz",)}


@dataclass(frozen=True)
class Row:
    """One source model: a framework's own layer(s) of one variant."""

    framework: str
    variant: str

    @property
    def config(self) -> Config:
        return config_for(self.framework, self.variant)

    @property
    def slug(self) -> str:
        return self.variant.replace(" ", "_")


def config_for(framework: str, variant: str) -> Config:
    """The variant as `framework` holds it (ConfigError where it cannot)."""
    return Config(input=X, hidden=H, framework=framework, **VARIANTS[variant])


def rows(frameworks: tuple[str, ...] = FRAMEWORKS) -> list[Row]:
    """Every (framework, variant) the framework has, in the table's order."""
    found = []
    for fw in frameworks:
        for variant in VARIANTS:
            try:
                config_for(fw, variant)
            except ConfigError:
                continue
            found.append(Row(fw, variant))
    return found


# --- files under the work directory -----------------------------------------------------------------


def source_path(work: Path, row: Row) -> Path:
    return work / "sources" / row.framework / (row.slug + SOURCE_SUFFIX[row.framework])


def io_path(work: Path, row: Row) -> Path:
    return work / "sources" / row.framework / (row.slug + ".io.npz")


def converted_path(work: Path, row: Row, target: str, suffix: str) -> Path:
    return work / "converted" / row.framework / row.slug / (target + suffix)


def manifest_path(work: Path) -> Path:
    return work / "converted" / "manifest.json"


def results_path(work: Path, target: str) -> Path:
    return work / "results" / (target + ".json")


def real(group: str) -> dict[str, Any]:
    """The group's frameworks, each with its module (make, run), imported only now: each venv has its own."""
    import importlib

    found = {}
    for name in MODULES[group]:
        module = importlib.import_module(name)
        found.update({fw: module for fw in module.FRAMEWORKS})
    assert set(found) == set(GROUPS[group]), (group, sorted(found))
    return found


def the_input(config: Config) -> np.ndarray:
    """The fixed random input every side is fed: batch-first (B, T, x), float32, the same for every row."""
    return np.random.default_rng(20251122).standard_normal((B, T, config.input)).astype(np.float32)


def random_like(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """A nonzero random float32 array (biases too: a zero bias would hide a misplaced one)."""
    return rng.uniform(-0.6, 0.6, shape).astype(np.float32)


# --- outputs in one form ---------------------------------------------------------------------------


def outputs(y: Any, h: Any = None, c: Any = None) -> dict[str, np.ndarray]:
    """The top layer's output (B, T, D·r), directions side by side (forward first), and where given its final
    h (D, B, r) and c (D, B, h) per direction."""
    out = {"y": np.asarray(y, dtype=np.float32)}
    if h is not None:
        out["h"] = np.asarray(h, dtype=np.float32)
    if c is not None:
        out["c"] = np.asarray(c, dtype=np.float32)
    return out


def save_io(path: Path, x: np.ndarray, got: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x, **got)


def load_io(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    return arrays.pop("x"), arrays


def difference(expected: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> float:
    """The largest absolute difference over the outputs both sides give (y always)."""
    worst = 0.0
    for name in ("y", "h", "c"):
        if name in expected and name in got:
            if expected[name].shape != got[name].shape:
                raise ValueError(f"{name}: shape {got[name].shape}, the source's {expected[name].shape}")
            worst = max(worst, float(np.abs(expected[name].astype(np.float64) - got[name]).max()))
    return worst


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
