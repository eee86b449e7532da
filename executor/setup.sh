#!/usr/bin/env bash
# Installs the executor's own npm project (agent CLIs, node-llama-cpp, octokit) into executor/node_modules,
# once per lock file: rerunning it with an unchanged package-lock.json does nothing.
# Usage: bash executor/setup.sh   (expects Node 24 on PATH: source scripts/setup.sh first)
set -euo pipefail
_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
_lock_hash="$(sha256sum "$_dir/package-lock.json" | cut -c1-16)"
if [ ! -f "$_dir/node_modules/.lock-$_lock_hash" ]; then
  echo "[setup] npm ci --prefix executor (agent CLIs and llama.cpp, ~1.2 GB)" >&2
  # node-llama-cpp must not try to download or build llama.cpp: its prebuilt binaries are npm packages.
  NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm ci --prefix "$_dir" --no-audit --no-fund --loglevel=error >&2
  rm -f "$_dir"/node_modules/.lock-*
  touch "$_dir/node_modules/.lock-$_lock_hash"
fi
