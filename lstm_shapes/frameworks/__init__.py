"""The frameworks, one module each, found by their --framework name."""

from __future__ import annotations

from .base import Framework, SeqTensor
from .flax import Flax
from .haiku import Haiku
from .keras import Keras
from .mlx import MLX
from .onnx import ONNX
from .paddle import Paddle
from .pytorch import PyTorch
from .pytorch_cell import PyTorchCell
from .tf1 import TF1
from .tf_keras import TfKeras, TfKerasCuDNN

# One line per framework; the order is that of --framework's choices, comparisons and messages.
REGISTRY: dict[str, Framework] = {
    fw.name: fw for fw in (Keras(), PyTorch(), PyTorchCell(), TF1(), ONNX(), Paddle(), MLX(), TfKeras(), TfKerasCuDNN(), Flax(), Haiku())
}
NAMES = tuple(REGISTRY)
DEFAULT = NAMES[0]

__all__ = ["DEFAULT", "NAMES", "REGISTRY", "Framework", "SeqTensor", "get", "having"]


def get(name: str) -> Framework:
    return REGISTRY[name]


def having(attribute: str) -> tuple[str, ...]:
    """The names of the frameworks whose `attribute` is true, e.g. having("has_proj")."""
    return tuple(name for name, fw in REGISTRY.items() if getattr(fw, attribute))
