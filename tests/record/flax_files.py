"""Save small Flax msgpack files into tests/files/ with the live trees' paths, shapes, dtypes and values.

Run by hand in a venv with flax (not a test): `PYTHONPATH=. python tests/record/flax_files.py`. The models
are test_flax.py's (so their paths are the ones the tool names), saved as a user saves them:
`flax.serialization.to_bytes(model.init(...))`, a TrainState with an optax optimizer, a tree with one
array chunked (MAX_CHUNK_SIZE lowered while saving) and a raw `msgpack_serialize` of odd leaves.
tests/test_files_flax.py reads the files back and checks them against flax_files.json.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
# This folder has a flax.py: it must not shadow the package.
sys.path[:] = [str(TESTS)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import ml_dtypes  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from flax import serialization  # noqa: E402
from flax.training import train_state  # noqa: E402
from test_flax import Case, model_for  # noqa: E402

FILES = TESTS / "files"
RNG = np.random.default_rng(17)


def case(cell: str, x: int, h: int, layers: int, bi: bool, out: int | None) -> Case:
    return Case(cell, x, h, layers, bi, True, out, True, "last-step", "none", 2, 3)


# file -> (the tool's config, the test_flax case); every cell under nn.RNN, nn.Bidirectional, a stack with a head.
MODELS = {
    "flax_lstm.msgpack": case("lstm", 4, 3, 1, False, None),
    "flax_optimized.msgpack": case("optimized", 3, 2, 1, False, None),
    "flax_gru.flax": case("gru", 4, 2, 1, False, None),
    "flax_simple.msgpack": case("rnn", 2, 3, 1, False, None),
    "flax_bidirectional.msgpack": case("lstm", 3, 2, 1, True, None),
    "flax_stack.msgpack": case("gru", 4, 2, 2, True, 1),
}


def randomised(tree: Any) -> Any:
    """The tree with every array leaf drawn at random (zero biases would make tensors alike), key order kept."""
    if isinstance(tree, dict):
        return {k: randomised(v) for k, v in tree.items()}
    return jnp.asarray(RNG.standard_normal(tree.shape).astype(np.asarray(tree).dtype))


def walk(tree: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Leaves in the order msgpack packs them (a dict's insertion order, a list's), keys joined by '/'."""
    if isinstance(tree, dict):
        items = [(str(k), v) for k, v in tree.items()]
    elif isinstance(tree, (list, tuple)):
        items = [(str(i), v) for i, v in enumerate(tree)]
    else:
        return [(prefix, tree)]
    return [leaf for k, v in items for leaf in walk(v, f"{prefix}/{k}" if prefix else k)]


def values(a: np.ndarray) -> Any:
    if a.dtype.kind == "c":
        return {"real": a.real.ravel().tolist(), "imag": a.imag.ravel().tolist()}
    if a.dtype.kind == "f":
        return a.astype(np.float64).ravel().tolist()  # bfloat16 and float16 widen exactly
    return a.ravel().tolist()


def truth(state: Any) -> dict[str, Any]:
    """What the saved tree holds: its arrays (numpy scalars too) in order, and the paths of its other leaves."""
    tensors, others = [], []
    for path, leaf in walk(state):
        if isinstance(leaf, (np.ndarray, np.generic, jax.Array)):
            a = np.asarray(leaf)
            tensors.append({"name": path, "shape": list(a.shape), "dtype": a.dtype.name, "values": values(a)})
        elif leaf is not None:
            others.append(path)
    return {"tensors": tensors, "not_arrays": others}


def save(name: str, data: bytes, state: Any) -> dict[str, Any]:
    (FILES / name).write_bytes(data)
    restored = serialization.msgpack_restore((FILES / name).read_bytes())  # flax reads back what the truth says
    state = serialization.to_state_dict(state)
    for (p, a), (q, b) in zip(walk(state), walk(restored), strict=True):
        assert p == q and np.array_equal(np.asarray(a), np.asarray(b)), (name, p, q)
    return truth(state)


def main() -> None:
    data: dict[str, Any] = {"recorded_with": f"flax {version('flax')}, jax {version('jax')}, optax {version('optax')}, "
                                             f"msgpack {version('msgpack')}"}
    for name, c in MODELS.items():
        x = jnp.asarray(RNG.standard_normal((c.batch, c.seq_len, c.input)).astype(np.float32))
        variables = randomised(model_for(c).init(jax.random.key(0), x))
        entry = save(name, serialization.to_bytes(variables), variables)
        entry["config"] = {"input": c.input, "hidden": c.hidden, "cell": "lstm" if c.cell == "optimized" else c.cell,
                           "layers": c.layers, "bidirectional": c.bidirectional, "out": c.out}
        data[name] = entry

    c = MODELS["flax_lstm.msgpack"]
    model = model_for(c)
    params = randomised(model.init(jax.random.key(1), jnp.zeros((1, 3, c.input)))["params"])
    state = train_state.TrainState.create(apply_fn=model.apply, params=params, tx=optax.adam(1e-3))
    data["flax_train_state.msgpack"] = save("flax_train_state.msgpack", serialization.to_bytes(state), state)

    # An embedding over 256 bytes is chunked as flax chunks arrays over 1 GiB: 50 x 8 float32 in 7 chunks.
    chunked = {"params": {"embed": {"embedding": jnp.asarray(RNG.standard_normal((50, 8)).astype(np.float32))},
                          "head": {"kernel": jnp.asarray(RNG.standard_normal((8, 2)).astype(np.float32))}}}
    limit, serialization.MAX_CHUNK_SIZE = serialization.MAX_CHUNK_SIZE, 256
    try:
        raw = serialization.to_bytes(chunked)
    finally:
        serialization.MAX_CHUNK_SIZE = limit
    assert raw.count(b"__msgpack_chunked_array__") == 1
    data["flax_chunked.msgpack"] = save("flax_chunked.msgpack", raw, chunked)

    odd = {
        "half": RNG.standard_normal((2, 3)).astype(np.float16),
        "brain": RNG.standard_normal(4).astype(ml_dtypes.bfloat16),
        "ints": np.arange(-3, 3, dtype=np.int64).reshape(3, 2),
        "mask": np.array([[True, False], [False, True]]),
        "empty": np.zeros((0, 3), np.float32),
        "scalar": np.float32(1.5),  # a numpy scalar: flax's npscalar ext
        "waves": (RNG.standard_normal(3) + 1j * RNG.standard_normal(3)).astype(np.complex64),
        "pair": [np.ones(2, np.int8), [np.full((1, 1), 7, np.uint16)]],  # lists stay msgpack arrays
        "phase": 1 + 2j,  # a Python complex: flax's native_complex ext, a number, not an array
        "step": 3,
        "note": "a string",
        "nothing": None,
    }
    packed = jax.tree_util.tree_map(lambda v: v, odd)  # what msgpack_serialize packs: a copy, its keys sorted
    data["flax_odd.msgpack"] = save("flax_odd.msgpack", serialization.msgpack_serialize(odd), packed)

    path = FILES / "flax_files.json"
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(path, sorted(p.name for p in FILES.glob("flax_*")))


if __name__ == "__main__":
    main()
