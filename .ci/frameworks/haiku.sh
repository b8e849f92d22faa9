#!/usr/bin/env bash
# The Haiku cross-check against the real dm-haiku (jax on CPU), in a venv of its own without torch.
set -euo pipefail
python3 -m venv .venv-haiku
. .venv-haiku/bin/activate
pip install --quiet -e ".[test]" "dm-haiku==0.0.17" "jax==0.10.2" "jaxlib==0.10.2" numpy
JAX_PLATFORMS=cpu python -m pytest -q -p no:cacheprovider tests/test_haiku.py
