#!/usr/bin/env bash
# Everything the platform and the tests need, installed once and reused: Node 24, npm
# dependencies, Debian packages, and the Kubernetes binaries (cached outside the checkout).
# Source it: it leaves Node 24 first on PATH and exports KUBE_BIN_DIR.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$_root/scripts/ensure-node.sh" || return 1
bash "$_root/scripts/install-system-deps.sh" || return 1
_lock_hash="$(sha256sum "$_root/package-lock.json" | cut -c1-16)"
if [ ! -f "$_root/node_modules/.lock-$_lock_hash" ]; then
  # one npm at a time in this checkout; a fresh checkout gets `npm ci`, an existing tree an
  # incremental install that honours the lock file
  (
    cd "$_root" && flock 8 && {
      if [ -f "node_modules/.lock-$_lock_hash" ]; then exit 0; fi
      if [ -d node_modules ]; then
        echo "[setup] npm install (lock file changed)" >&2
        npm install --no-audit --no-fund --loglevel=error >&2
      else
        echo "[setup] npm ci" >&2
        npm ci --no-audit --no-fund --loglevel=error >&2
      fi && rm -f node_modules/.lock-* && touch "node_modules/.lock-$_lock_hash"
    }
  ) 8>/tmp/ai-agents-npm.lock || return 1
fi
# the executor is its own npm project (agent CLIs, node-llama-cpp): kept out of the root deps
if [ -f "$_root/executor/setup.sh" ]; then
  flock /tmp/ai-agents-npm-executor.lock bash "$_root/executor/setup.sh" || return 1
fi
KUBE_BIN_DIR="$(bash "$_root/scripts/build-k8s.sh")" || return 1
export KUBE_BIN_DIR
export PATH="$_root/node_modules/.bin:$PATH"
