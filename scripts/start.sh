#!/usr/bin/env bash
# Starts the whole platform on this machine: a real Kubernetes control plane on loopback (or the
# cluster of --kubeconfig/--context), the CRDs and default resources, the controller with executors
# as local processes, the API and the dashboard. Data is kept in .data/ (or AI_AGENTS_DATA_DIR /
# --data-dir) so a second start reuses it. Ctrl-C stops everything. `npm start -- --help` lists the
# options.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh # also installs the executor's npm project
exec node scripts/platform/main.ts "$@"
