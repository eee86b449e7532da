#!/usr/bin/env bash
# Everything the platform and the tests need, installed once and reused: Node 24, npm
# dependencies, Debian packages, and the Kubernetes binaries (cached outside the checkout).
# Source it: it leaves Node 24 first on PATH and exports KUBE_BIN_DIR.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$_root/scripts/ensure-node.sh" || return 1
bash "$_root/scripts/install-system-deps.sh" || return 1
_lock_hash="$(sha256sum "$_root/package-lock.json" | cut -c1-16)"
if [ ! -f "$_root/node_modules/.lock-$_lock_hash" ]; then
  echo "[setup] npm ci" >&2
  (cd "$_root" && npm ci --no-audit --no-fund --loglevel=error >&2) || return 1
  touch "$_root/node_modules/.lock-$_lock_hash"
fi
KUBE_BIN_DIR="$(bash "$_root/scripts/build-k8s.sh")" || return 1
export KUBE_BIN_DIR
export PATH="$_root/node_modules/.bin:$PATH"
