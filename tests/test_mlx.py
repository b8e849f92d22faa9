"""--framework mlx against the real mlx.nn: names, shapes, order, totals, returned shapes and numbers.

The model is the one the names describe: a bare layer, a model's `rnn` beside an nn.Linear `head`,
or a model's list `layers`, each layer reading the hidden sequence of the one below.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import random
from pathlib import Path

import pytest

mx = pytest.importorskip("mlx.core", reason="mlx is not installed (pip install 'mlx[cpu]')")
nn = pytest.importorskip("mlx.nn")
np = pytest.importorskip("numpy")

from mlx.utils import tree_flatten  # noqa: E402

from lstm_shapes import Config, build  # noqa: E402
from lstm_shapes.errors import ConfigError  # noqa: E402
from lstm_shapes.verify import run_sequence  # noqa: E402

LAYER = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


class Stack(nn.Module):
    """Layers fed one into the next, then an optional head on the last step's hidden state."""

    def __init__(self, config: Config) -> None:
        super().__init__()
        make = getattr(nn, LAYER[config.cell])
        layers = [make(config.layer_input(k), config.layer_hidden(k), bias=config.bias) for k in range(config.layers)]
        if config.layers > 1:
            self.layers = layers
        else:
            self.rnn = layers[0]
        if config.out is not None:
            self.head = nn.Linear(config.top_hidden, config.out)

    def __call__(self, x: mx.array) -> dict[str, mx.array]:
        out: dict[str, mx.array] = {}
        for layer in self.layers if "layers" in self else [self.rnn]:
            got = layer(x)
            x, out["hidden"] = (got[0], got[0]) if isinstance(got, tuple) else (got, got)
            if isinstance(got, tuple):
                out["cell"] = got[1]
        if "head" in self:
            out["logits"] = self.head(out["hidden"][:, -1])
        return out


def model_for(config: Config) -> nn.Module:
    """The bare layer when there is nothing beside it, as `Wx`, `Wh`, `bias` name its tensors."""
    stack = Stack(config)
    return stack.rnn if config.layers == 1 and config.out is None else stack


def run(model: nn.Module, config: Config, x: mx.array) -> dict[str, mx.array]:
    if isinstance(model, Stack):
        return model(x)
    got = model(x)
    return {"hidden": got[0], "cell": got[1]} if isinstance(got, tuple) else {"hidden": got}


def grid() -> list[dict[str, object]]:
    """Every cell with and without bias, one and two layers, with and without a head; seeded sizes."""
    rnd = random.Random(7)
    cases = []
    for cell, bias, layers, out in itertools.product(("lstm", "gru", "rnn"), (True, False), (1, 2), (None, 3)):
        sizes = dict(input=rnd.randint(1, 5), hidden=rnd.randint(1, 5))
        cases.append(dict(cell=cell, bias=bias, layers=layers, out=out, **sizes,
                          head_activation="none" if out else None))
    # Layers of their own sizes (a list of layers of different widths): shrinking, growing, up and down.
    for cell, hidden, bias, out in (("lstm", (5, 2), True, 3), ("lstm", (2, 4, 3), False, None), ("gru", (1, 4), True, None),
                                    ("gru", (4, 2, 5), True, 2), ("rnn", (3, 1), False, 2), ("rnn", (2, 5, 3), True, None)):
        cases.append(dict(cell=cell, bias=bias, hidden=hidden, out=out, input=rnd.randint(1, 5),
                          head_activation="none" if out else None))
    return cases


GRID = grid()
IDS = [f"{c['cell']}-bias{int(bool(c['bias']))}-" + (f"h{','.join(map(str, c['hidden']))}" if isinstance(c["hidden"], tuple)
                                                     else f"L{c['layers']}") + f"-out{c['out']}" for c in GRID]


@pytest.mark.parametrize("options", GRID, ids=IDS)
def test_names_shapes_totals_and_numbers_match_mlx(options: dict[str, object]) -> None:
    config = Config(framework="mlx", **options)  # type: ignore[arg-type]
    report = build(config)
    mx.random.seed(11)
    model = model_for(config)
    params = tree_flatten(model.parameters())
    # Names, shapes and order as tree_flatten lists them.
    assert [(w.name, w.shape) for w in report.weights] == [(name, tuple(a.shape)) for name, a in params]
    assert report.total_params == sum(a.size for _, a in params)
    batch, steps = 3, 4
    x = np.random.default_rng(5).standard_normal((batch, steps, config.input)).astype(np.float32)
    real = {k: np.array(v) for k, v in run(model, config, mx.array(x)).items()}
    shapes = {t.name: tuple(batch if d == "B" else steps if d == "T" else d for d in t.shape) for t in report.sequence}
    assert {k: tuple(v.shape) for k, v in real.items()} == {k: s for k, s in shapes.items() if k != "input"}
    ours = run_sequence(report, {name: np.array(a) for name, a in params}, x)
    assert set(ours) == set(real)
    for name, value in real.items():
        np.testing.assert_allclose(ours[name], value, rtol=1e-4, atol=1e-5, err_msg=name)


def test_bidirectional_is_refused_naming_who_has_it() -> None:
    # mlx.nn has no bidirectional wrapper for its recurrent layers.
    assert not any("Bidirectional" in name for name in dir(nn))
    with pytest.raises(ConfigError, match="not available in MLX"):
        Config(framework="mlx", input=4, hidden=2, bidirectional=True)


def test_the_layers_take_batch_first_input_only() -> None:
    # (N, L, D) or (L, D): an input of one step per batch element reads the second axis as time.
    layer = nn.RNN(3, 2)
    assert tuple(layer(mx.zeros((5, 4, 3))).shape) == (5, 4, 2)
    with pytest.raises(ConfigError, match="batch-first input only"):
        Config(framework="mlx", input=3, hidden=2, batch_first=False)


def test_the_recorded_vectors_are_what_mlx_gives_today() -> None:
    # The recorder, loaded under another name: as `mlx` it would hide the package.
    here = Path(__file__).parent
    spec = importlib.util.spec_from_file_location("record_mlx", here / "record" / "mlx.py")
    assert spec is not None and spec.loader is not None
    recorder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recorder)
    stored = json.loads((here / "vectors" / "mlx.json").read_text(encoding="utf-8"))
    assert stored["recorded_with"] == f"mlx {mx.__version__}"
    fresh = [recorder.record(c, seed) for seed, c in enumerate(recorder.cases())]
    assert [c["id"] for c in fresh] == [c["id"] for c in stored["cases"]]
    for new, old in zip(fresh, stored["cases"]):
        assert new["config"] == old["config"] and list(new["weights"]) == list(old["weights"])
        for group in ("weights", "outputs"):
            for name, value in old[group].items():
                np.testing.assert_allclose(new[group][name], value, rtol=1e-5, atol=1e-6, err_msg=f"{old['id']} {name}")
        np.testing.assert_allclose(new["input"], old["input"])
