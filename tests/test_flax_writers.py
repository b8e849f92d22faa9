"""The msgpack that `lstm-shapes convert --to flax` writes, restored and applied by the real flax.

The file must be what `flax.serialization.to_bytes` writes for the same params, byte for byte, restore with
`msgpack_restore` into the tree `model.init` makes, and `model.apply` on it must compute what the tool's numpy
forward pass computes. Needs flax (jax on CPU): run in .venv-flax by .ci/frameworks/flax.sh; skipped without it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("JAX_PLATFORMS", "cpu")
serialization = pytest.importorskip("flax.serialization", reason="flax is not installed: Flax writer test skipped")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from flax import traverse_util  # noqa: E402

from lstm_shapes import build  # noqa: E402
from lstm_shapes.files import flaxout  # noqa: E402
from lstm_shapes.verify import run_sequence  # noqa: E402

from test_convert_writers import assert_reads_back, target_of, write  # noqa: E402
from test_flax import GRID, Case, init_random, returned_by_name  # noqa: E402

BASE = GRID[0]._replace(input=3, hidden=4, batch=2, seq_len=5, batch_first=True, head_bias=True)
CASES = [
    BASE._replace(cell="lstm", layers=1, bidirectional=False, out=None),
    BASE._replace(cell="gru", layers=1, bidirectional=True, out=None),
    BASE._replace(cell="rnn", layers=2, bidirectional=False, out=None, batch_first=False),
    BASE._replace(cell="lstm", layers=2, bidirectional=True, out=3, head_reads="final-states", head_activation="softmax"),
    BASE._replace(cell="gru", layers=2, bidirectional=False, out=2, head_reads="last-step", head_activation="none"),
]


def tree_of(flat: dict[str, Any]) -> dict[str, Any]:
    return traverse_util.unflatten_dict({tuple(k.split("/")): v for k, v in flat.items()})


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_flax_restores_the_msgpack_and_computes_the_same(tmp_path: Path, case: Case) -> None:
    model, params, x = init_random(case)  # params: flax's own tree flattened, every leaf drawn at random
    cfg = case.config()
    target, arrays = target_of("flax", ("params/", cfg))
    arrays = {"params/" + name: value for name, value in params.items()}
    assert list(arrays) == [w.name for w in target.weights]
    path = write(flaxout.write_msgpack, tmp_path / "model.msgpack", target, arrays)
    assert path.read_bytes() == serialization.to_bytes({"params": tree_of(params)})
    restored = serialization.msgpack_restore(path.read_bytes())
    shapes = jax.tree_util.tree_map(np.shape, model.init(jax.random.key(0), jnp.asarray(x)))
    assert jax.tree_util.tree_map(np.shape, restored) == shapes
    real = returned_by_name(case, model.apply(restored, jnp.asarray(x)))
    ours = run_sequence(build(cfg), params, x)
    for name, value in real.items():
        np.testing.assert_allclose(ours[name], value, atol=1e-5, err_msg=name)
    assert_reads_back(path, target, arrays)


def test_flax_restores_arrays_the_writer_split_in_chunks(tmp_path: Path, monkeypatch: Any) -> None:
    # Both sides split above 32 bytes (a (3, 4) kernel in chunks of 8 floats): the file is flax's byte for byte,
    # and msgpack_restore joins the chunks.
    monkeypatch.setattr(flaxout, "MAX_CHUNK_SIZE", 32)
    monkeypatch.setattr(serialization, "MAX_CHUNK_SIZE", 32)
    case = CASES[0]
    _, params, _ = init_random(case)
    target, _ = target_of("flax", ("params/", case.config()))
    arrays = {"params/" + name: value for name, value in params.items()}
    path = write(flaxout.write_msgpack, tmp_path / "model.msgpack", target, arrays)
    assert path.read_bytes().count(b"__msgpack_chunked_array__") == 8  # the 8 kernels; the 4 biases are 16 bytes
    assert path.read_bytes() == serialization.to_bytes({"params": tree_of(params)})
    flat = traverse_util.flatten_dict(serialization.msgpack_restore(path.read_bytes()), sep="/")
    assert list(flat) == list(arrays)
    for name, value in arrays.items():
        np.testing.assert_array_equal(flat[name], value)
