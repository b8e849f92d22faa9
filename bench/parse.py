"""Benchmark: backward parsing of a large state dict grows linearly with its tensor count.

Run by hand (not a test), with lstm-shapes importable:

    python bench/parse.py [--runs 5]

For every framework in the registry, a bidirectional LSTM (forward only where that is all it has) with biases of 10, 100 and 1,000 layers
is built (and one whose layers each have their own size, 8, 9, 10, ...; frameworks of one cell
are left out), its weights taken as a name → shape mapping, and `lstm_shapes.parse` timed on it (median
of --runs, in process). Prints the tensor count, the median time, the time per tensor, and the
ratio of each size's time to the 10-layer one over the ratio of their tensor counts: near 1.0 is
linear, a quadratic parse would show about 10 and 100. The same again with Python's cyclic garbage
collector off, whose passes over a growing heap add a cost of their own to any large build.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import statistics
import time

import lstm_shapes
from lstm_shapes import Config, build
from lstm_shapes.frameworks import NAMES, REGISTRY

LAYERS = (10, 100, 1000)


def median_seconds(framework: str, tensors: dict[str, tuple[int, ...]], runs: int, collect: bool) -> float:
    times = []
    gc.enable() if collect else gc.disable()
    for _ in range(runs):
        start = time.perf_counter()
        result = lstm_shapes.parse(framework, tensors)
        times.append(time.perf_counter() - start)
        assert result.matches, f"{framework}: the built weights did not parse back"
    gc.enable()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    print(f"{'framework':<14} {'sizes':<9} {'gc':<3} {'layers':>6} {'tensors':>8} {'median ms':>10} {'µs/tensor':>10} "
          f"{'growth':>7}")
    for framework, own, collect in itertools.product(NAMES, (False, True), (True, False)):
        if not REGISTRY[framework].has_layers:
            continue
        first: tuple[int, float] | None = None
        for layers in LAYERS:
            hidden: int | tuple[int, ...] = tuple(8 + k for k in range(layers)) if own else 8
            config = Config(16, hidden, framework=framework, layers=layers, bidirectional=REGISTRY[framework].has_bidirectional)
            tensors = {w.name: w.shape for w in build(config).weights}
            seconds = median_seconds(framework, tensors, runs, collect)
            first = first or (len(tensors), seconds)
            growth = (seconds / first[1]) / (len(tensors) / first[0])
            print(f"{framework:<14} {'per layer' if own else 'one':<9} {'on' if collect else 'off':<3} {layers:>6} "
                  f"{len(tensors):>8} {seconds * 1e3:>10.2f} {seconds / len(tensors) * 1e6:>10.2f} {growth:>7.2f}")

if __name__ == "__main__":
    main()
