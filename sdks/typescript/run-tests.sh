#!/usr/bin/env bash
# Installs, builds, typechecks and tests the TypeScript SDK against a real
# `faos serve` started by the tests. Runnable from any directory.
#
#   FAOS_BIN=/path/to/faos sdks/typescript/run-tests.sh
#
# FAOS_BIN defaults to <repo>/target/debug/faos (build it first: cargo build).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export FAOS_BIN="${FAOS_BIN:-$repo/target/debug/faos}"

if [[ ! -x "$FAOS_BIN" ]]; then
  echo "run-tests.sh: no faos binary at $FAOS_BIN (run cargo build, or set FAOS_BIN)" >&2
  exit 1
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if (( node_major < 20 )); then
  echo "run-tests.sh: Node 20 or later is needed (found $(node --version))" >&2
  exit 1
fi
# The tests' own servers; a user's FAOS_BASE_URL / FAOS_API_KEY must not leak in.
unset FAOS_BASE_URL FAOS_API_KEY

cd "$here"
echo "== npm ci"
npm ci --ignore-scripts --no-audit --no-fund
echo "== build (ESM + CJS)"
npm run --silent build
echo "== typecheck (strict tsc: sources and tests)"
npm run --silent typecheck
echo "== tests (faos at $FAOS_BIN)"
npx tsc -p tsconfig.test.json
node --test --test-concurrency=1 build-test/test/*.test.js
