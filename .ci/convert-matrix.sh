#!/usr/bin/env bash
# The conversion matrix against the real frameworks: every source model of every framework converted by
# `lstm-shapes convert` to every framework, loaded strictly into the real target and run on the same input.
# Needs the venvs .ci/run and .ci/frameworks/*.sh make (override with VENV_MAIN, VENV_TF, VENV_PADDLE,
# VENV_MLX, VENV_FLAX, VENV_HAIKU). `--update` rewrites docs/convert.md's table; without it the committed
# table must be what this run finds (and no cell may FAIL). WORK (default: a temporary folder) keeps the files.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
mode=--check
[ "${1:-}" = "--update" ] && mode=--update
work=${WORK:-$(mktemp -d)}
declare -A venv=([main]=${VENV_MAIN:-.venv} [tf]=${VENV_TF:-.venv-tf} [paddle]=${VENV_PADDLE:-.venv-paddle}
                 [mlx]=${VENV_MLX:-.venv-mlx} [flax]=${VENV_FLAX:-.venv-flax} [haiku]=${VENV_HAIKU:-.venv-haiku})
groups=(main tf paddle mlx flax haiku)
export PYTHONPATH=$root KERAS_BACKEND=torch JAX_PLATFORMS=cpu TF_CPP_MIN_LOG_LEVEL=3 TF_USE_LEGACY_KERAS=1
stage() { "${venv[$1]}/bin/python" "tests/convert_matrix/$2.py" "$work" "${@:3}" 2> >(grep -v -e '^I0000' -e '^WARNING: All log' >&2); }
for group in "${groups[@]}"; do stage "$group" make "$group"; done
stage main convert_all
for group in "${groups[@]}"; do stage "$group" check "$group"; done
"${venv[main]}/bin/python" tests/convert_matrix/table.py "$work" "$mode" docs/convert.md
