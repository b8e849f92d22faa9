#!/usr/bin/env bash
# The Flax cross-check against the real flax.linen (jax on CPU), in a venv of its own without torch.
set -euo pipefail
python3 -m venv .venv-flax
. .venv-flax/bin/activate
pip install --quiet -e ".[test]" "flax==0.12.8" "jax==0.10.2" "jaxlib==0.10.2" numpy
JAX_PLATFORMS=cpu python -m pytest -q -p no:cacheprovider tests/test_flax.py tests/test_flax_writers.py
# The committed Flax files that the main suite reads (tests/files/flax_*) are made again here by the real flax
# and must come out the same, byte for byte.
before=$(mktemp -d)
cp tests/files/flax_* "$before"/
JAX_PLATFORMS=cpu python tests/record/flax_files.py > /dev/null
for f in "$before"/*; do cmp "$f" "tests/files/$(basename "$f")"; done
rm -rf "$before"
