"""Record tests/vectors/haiku.json from the real dm-haiku: seeded params, inputs, outputs and final states.

Run by hand in a venv with dm-haiku (not a test): `python tests/record/haiku.py`. The models are those of
tests/test_haiku.py, imported from it so that the cross-check and the recording cannot drift apart.
hk.GRU (whose z weights the candidate) and hk.VanillaRNN (ReLU) too, appended after the LSTM cases.
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
# This file is named haiku.py: its folder must not shadow the package.
sys.path[:] = [str(TESTS), str(HERE.parents[1])] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

from record.common import write  # noqa: E402
from test_haiku import Case, apply, init_random  # noqa: E402

# Small sizes, hidden >= 2 and two or more steps, so that a swapped gate, a dropped forget offset, or the
# x rows and h rows of linear/w read the other way round change the numbers.
GRID = [
    Case("lstm", 3, 2, 1, False, None, True, "last-step", "none", 2, 3),
    Case("lstm", 2, 3, 1, True, 2, True, "last-step", "softmax", 3, 2),
    Case("lstm", 4, 2, 2, False, 3, False, "final-states", "sigmoid", 2, 3),
    Case("lstm", 2, 2, 3, True, None, True, "last-step", "none", 1, 4),
    Case("lstm", 3, 3, 1, False, 2, True, "every-step", "none", 2, 2),
    # Layers of their own sizes (hk.DeepRNN of hk.LSTM(4), hk.LSTM(2), ...): shrinking, growing, up and down.
    Case("lstm", 3, (4, 2), 2, True, 2, True, "final-states", "softmax", 2, 3),
    Case("lstm", 2, (2, 4, 3), 3, False, None, True, "last-step", "none", 2, 3),
    # hk.GRU, h_t = (1 - z)·h_prev + z·a, and hk.VanillaRNN, h_t = relu(...): a stack, a head, both layouts.
    Case("gru", 3, 2, 1, False, 2, True, "last-step", "softmax", 2, 3),
    Case("gru", 2, (3, 2), 2, True, None, True, "last-step", "none", 2, 4),
    Case("rnn", 3, 3, 1, False, 1, True, "final-states", "sigmoid", 2, 3),
    Case("rnn", 2, 2, 2, True, None, True, "last-step", "none", 3, 3),
]


def main() -> None:
    cases = []
    for case in GRID:
        _, params, x = init_random(case, seed=11)
        cases.append((case.id, case.config(), {"weights": params, "input": x, "outputs": apply(case, params, x)}))
    with_ = f"dm-haiku {version('dm-haiku')} (jax {version('jax')})"
    path = write("haiku", with_, cases)
    print(f"{path}: {len(cases)} cases, {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
