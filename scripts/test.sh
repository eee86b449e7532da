#!/usr/bin/env bash
# The whole test suite: lint, types, generated files, then unit, integration and e2e tests
# against a real control plane. Installs what it needs first (see scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
source scripts/setup.sh
echo "[test] setup took $(( $(date +%s) - started ))s; node $(node -v)" >&2

biome check .
tsc -p tsconfig.json
node scripts/gen-crds.ts --check

mkdir -p test-results
status=0
vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@" || status=$?
node scripts/test-summary.ts test-results/vitest.json || status=1
echo "[test] total $(( $(date +%s) - started ))s" >&2
exit $status
