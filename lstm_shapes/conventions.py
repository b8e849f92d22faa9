"""What each framework calls things: tensor names, layouts and gate order.

Only Keras 3 (the default, as TF2 also has it) is described so far. Keras packs the four LSTM
gates side by side along the last axis of every weight, in the order i, f, c, o, where its "c"
is the candidate this package calls g_t.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Gate:
    node: str  # node id in the graph, e.g. "g_t"
    letter: str  # the framework's own letter for it, e.g. Keras' "c"
    meaning: str


@dataclass(frozen=True)
class Convention:
    framework: str
    title: str
    gates: tuple[Gate, ...]  # in the order the framework packs them
    cell_prefix: str  # variable path prefix of the recurrent layer's weights
    head_prefix: str  # variable path prefix of the dense head's weights


KERAS = Convention(
    framework="keras",
    title="Keras 3 / TF2",
    gates=(
        Gate("i_t", "i", "input gate"),
        Gate("f_t", "f", "forget gate"),
        Gate("g_t", "c", "candidate cell values (Keras gate c)"),
        Gate("o_t", "o", "output gate"),
    ),
    cell_prefix="lstm/lstm_cell/",
    head_prefix="dense/",
)

CONVENTIONS = {"keras": KERAS}


def convention(framework: str) -> Convention:
    return CONVENTIONS[framework]
