#!/usr/bin/env bash
# Source this file: makes sure `node` on PATH is Node.js >= 24. On machines that ship an
# older Node it installs the npm package node@24 (which carries the Node 24 binary) into a
# cache outside the checkout and puts it first on PATH.
NODE_WANT_MAJOR=24
NODE_PKG_VERSION="${NODE_PKG_VERSION:-24.21.0}"
_ai_cache="${AI_AGENTS_CACHE:-$HOME/.cache/ai-agents}"
_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(_node_major)" -lt "$NODE_WANT_MAJOR" ]; then
  _prefix="$_ai_cache/node-$NODE_PKG_VERSION"
  if [ ! -x "$_prefix/node_modules/node/bin/node" ]; then
    echo "[ensure-node] installing Node.js $NODE_PKG_VERSION from the npm package node@$NODE_PKG_VERSION" >&2
    mkdir -p "$_prefix"
    npm install --prefix "$_prefix" --no-save --no-audit --no-fund --loglevel=error "node@$NODE_PKG_VERSION" >&2 \
      || { echo "[ensure-node] error: could not install node@$NODE_PKG_VERSION from npm" >&2; return 1 2>/dev/null || exit 1; }
  fi
  # npm/npx must run on the new node too; the package's bin dir holds node itself.
  export PATH="$_prefix/node_modules/node/bin:$_prefix/node_modules/.bin:$PATH"
  hash -r
fi
[ "$(_node_major)" -ge "$NODE_WANT_MAJOR" ] || { echo "[ensure-node] error: Node.js >= $NODE_WANT_MAJOR required, found $(node -v)" >&2; return 1 2>/dev/null || exit 1; }
