"""--verify: the numpy forward pass agrees with the traced shapes, and catches a wrong one."""

from __future__ import annotations

from dataclasses import replace

import pytest

np = pytest.importorskip("numpy")

from lstm_shapes import VerifyError, trace
from lstm_shapes.verify import forward, random_arrays, verify

GRID = [(x, h, o) for x in (1, 3, 17) for h in (1, 2, 31) for o in (None, 1, 5)] + [(5, 256, 10), (300, 128, 1000)]


@pytest.mark.parametrize("x,h,o", GRID)
def test_verify_passes_over_a_range_of_sizes(x: int, h: int, o: int | None) -> None:
    result = verify(trace(input=x, hidden=h, out=o), batch=3, steps=4)
    assert result.mismatches == ()
    checked = {c.what.split()[1] for c in result.checks if c.what.startswith("node ")}
    assert checked == {n.id for n in trace(input=x, hidden=h, out=o).nodes}


def sigmoid(v: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-v))


def test_forward_equals_per_gate_equations() -> None:
    # The textbook form: each gate has its own W (x, h), U (h, h) and b, applied to x and h
    # separately; forward() instead multiplies the concatenation [h, x] by the packed blocks.
    x, h, b_, t_ = 3, 4, 2, 5
    report = trace(input=x, hidden=h, out=6)
    arrays = random_arrays(report, seed=7)
    kernel, recurrent, bias, wy, by = (arrays[w.name] for w in report.weights)
    xs = np.random.default_rng(8).standard_normal((b_, t_, x)).astype(np.float32)
    steps = forward(report, arrays, xs)

    def block(a: np.ndarray, k: int) -> np.ndarray:  # Keras packs i, f, c, o
        return a[..., k * h : (k + 1) * h]

    hp = np.zeros((b_, h), np.float32)
    cp = np.zeros((b_, h), np.float32)
    for t in range(t_):
        xt = xs[:, t]
        pre = [xt @ block(kernel, k) + hp @ block(recurrent, k) + block(bias, k) for k in range(4)]
        i, f, g, o = sigmoid(pre[0]), sigmoid(pre[1]), np.tanh(pre[2]), sigmoid(pre[3])
        c = f * cp + i * g
        hn = o * np.tanh(c)
        logits = hn @ wy + by
        for node, want in {"i_t": i, "f_t": f, "g_t": g, "o_t": o, "c_t": c, "h_t": hn, "logits": logits}.items():
            assert np.allclose(steps[t][node], want, atol=1e-5), (t, node)
        assert np.allclose(steps[t]["probs"].sum(axis=1), 1, atol=1e-5)
        hp, cp = hn, c


def test_a_wrong_node_shape_is_a_mismatch() -> None:
    good = trace(input=4, hidden=2, out=1)
    nodes = tuple(n._replace(shape=("B", 5)) if n.id == "hx_t" else n for n in good.nodes)
    result = verify(replace(good, nodes=nodes))
    assert [c.what for c in result.mismatches] == ["node hx_t (B, 5) at every step"]


def test_a_wrong_weight_shape_breaks_the_forward_pass() -> None:
    good = trace(input=4, hidden=2, out=1)
    weights = tuple(w._replace(shape=(3, 8)) if w.name == "lstm/lstm_cell/kernel" else w for w in good.weights)
    result = verify(replace(good, weights=weights))
    whats = [c.what for c in result.mismatches]
    assert "forward pass" in whats
    assert "part lstm: 4·(h·(x+h)+h)" in whats  # 3·8 + 16 + 8 is not 56


def test_too_big_to_allocate_is_refused_before_allocating() -> None:
    with pytest.raises(VerifyError, match="GiB"):
        verify(trace(input=4, hidden=1_000_000))
