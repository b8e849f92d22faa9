"""Write a tests/vectors/<framework>.json file from a recorder's cases (run by hand, not a test)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
FIELDS = ("input", "hidden", "out", "cell", "framework", "proj", "peepholes", "layers", "bidirectional", "bias",
          "reset_after", "batch_first", "head_activation")


def listed(a: Any) -> Any:
    """A float32 array as nested lists of the shortest decimals that read back as the same float32."""
    return np.vectorize(lambda v: float(str(np.float32(v))), otypes=[object])(np.asarray(a, np.float32)).tolist()


def config_kwargs(config: Any) -> dict[str, Any]:
    kwargs = {k: getattr(config, k) for k in FIELDS}
    if config.cell != "gru":
        del kwargs["reset_after"]
    # What the head reads and its bias, where they are not the defaults (the cases recorded before carry neither).
    if config.out is not None and config.head_reads != config.convention.head_reads_default:
        kwargs["head_reads"] = config.head_reads
    if not config.head_bias:
        kwargs["head_bias"] = False
    return kwargs


def write(framework: str, recorded_with: str, cases: list[tuple[str, Any, dict[str, Any]]]) -> Path:
    """Each case: (id, Config, a test module's record() result)."""
    data = {"framework": framework, "recorded_with": recorded_with, "cases": [
        {"id": case_id, "config": config_kwargs(config),
         "weights": {name: listed(v) for name, v in real["weights"].items()},
         "input": listed(real["input"]), "outputs": {name: listed(v) for name, v in real["outputs"].items()}}
        for case_id, config, real in cases]}
    path = VECTORS / f"{framework}.json"
    path.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    return path
