#!/usr/bin/env bash
# --framework mlx against the real mlx.nn, in a venv of its own (mlx's Linux CPU wheel; no torch).
set -euo pipefail

python3 -m venv .venv-mlx
. .venv-mlx/bin/activate
python -m pip install --quiet --upgrade pip
pip install --quiet -e ".[test]" "mlx[cpu]==0.32.4" "numpy>=1.24"
python -c "import mlx.core as mx; mx.eval(mx.ones(2) + 1)"  # the CPU backend loads
python -m pytest -q -p no:cacheprovider tests/test_mlx.py
