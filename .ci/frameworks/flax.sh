#!/usr/bin/env bash
# The Flax cross-check against the real flax.linen (jax on CPU), in a venv of its own without torch.
set -euo pipefail
python3 -m venv .venv-flax
. .venv-flax/bin/activate
pip install --quiet -e ".[test]" "flax==0.12.8" "jax==0.10.2" "jaxlib==0.10.2" numpy
JAX_PLATFORMS=cpu python -m pytest -q -p no:cacheprovider tests/test_flax.py
