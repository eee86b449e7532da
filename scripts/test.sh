#!/usr/bin/env bash
# The whole test suite: lint, types, generated files, then unit, integration and e2e tests
# against a real control plane. Installs what it needs first (see scripts/setup.sh).
# Every stage runs even when an earlier one fails; the exit code is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
source scripts/setup.sh || { echo "[test] setup failed" >&2; exit 1; }
echo "[test] setup took $(( $(date +%s) - started ))s; node $(node -v)" >&2

failed=()
stage() { # name command...
  local name=$1; shift
  echo "[test] ── $name" >&2
  "$@" || failed+=("$name")
}
stage lint biome check .
stage typecheck tsc -p tsconfig.json
stage generated-crds node scripts/gen-crds.ts --check
stage generated-k8s-base node charts/render.ts base --check
mkdir -p test-results
stage vitest vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@"
[ -f test-results/vitest.json ] && node scripts/test-summary.ts test-results/vitest.json

echo "[test] total $(( $(date +%s) - started ))s" >&2
if [ ${#failed[@]} -gt 0 ]; then
  echo "[test] FAILED stages: ${failed[*]}" >&2
  exit 1
fi
