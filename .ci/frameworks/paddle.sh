#!/usr/bin/env bash
# Paddle's conformance grid against the real paddlepaddle (CPU build), in a venv of its own.
# Run from the repository root by .ci/run. No torch here: paddlepaddle needs none.
set -euo pipefail

python3 -m venv .venv-paddle
. .venv-paddle/bin/activate
python -m pip install --quiet --upgrade pip
pip install --quiet -e ".[test]" "paddlepaddle==3.3.1"
if pip list 2>/dev/null | grep -qiE '^(torch|nvidia-|triton) '; then
    echo "CI: paddle's venv pulled torch or CUDA packages; expected the CPU build of paddlepaddle only" >&2
    exit 1
fi
python -m pytest -q -p no:cacheprovider tests/test_paddle.py
