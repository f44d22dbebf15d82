#!/usr/bin/env bash
# Tests of the Python SDK against a real `faos serve`.
# Usage: sdks/python/run-tests.sh [pytest args]   (from any directory)
# Env: FAOS_BIN (default <repo>/target/debug/faos), FAOS_PY_VENV (default
# sdks/python/.venv), PYTHON (default python3).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export FAOS_BIN="${FAOS_BIN:-$repo/target/debug/faos}"
venv="${FAOS_PY_VENV:-$here/.venv}"
python="${PYTHON:-python3}"

if [ ! -x "$FAOS_BIN" ]; then
    echo "run-tests.sh: no faos binary at $FAOS_BIN (build it, or set FAOS_BIN)" >&2
    exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
# The package as a user installs it (not editable), plus the test tools.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$here[test]"
# Reinstall the package itself even when its version did not change.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$here"

cd "$here"
echo "== mypy --strict"
"$venv/bin/python" -m mypy --strict src/faos tests
echo "== pytest"
"$venv/bin/python" -m pytest -p no:cacheprovider "$@" tests
