#!/usr/bin/env bash
# Starts the platform locally: a real Kubernetes control plane on loopback with the CRDs
# installed. Data is kept in .data/ so a second start reuses it. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
exec node scripts/controlplane/cli.ts --data-dir "$PWD/.data/controlplane" "$@"
