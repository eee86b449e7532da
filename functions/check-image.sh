#!/usr/bin/env bash
# The api and webhook targets of functions/Dockerfile, step for step, without Docker (needs root,
# for the uids):
#   build stage:   the sources and tsconfig in an /app-like directory, `node functions/build.ts`
#                  and `node functions/webhooks/build.ts` as uid 1001 with the image's environment
#                  (bundles, their startup snapshots and warmed compile caches);
#   api stage:     dist/functions alone, copied elsewhere and owned by root (read-only for the
#                  process), run as uid 1001 with the image's environment;
#   webhook stage: dist/webhook alone, the same way, with WEBHOOK_SOURCE_NAME.
# Passes when /ready answers (a process given a snapshot it cannot use exits), no node_modules is
# reachable from either bundle, Node accepts each target's shipped compile cache for a chunk
# (NODE_DEBUG_NATIVE=COMPILE_CACHE), and the webhook receiver loads its Kubernetes client's chunks
# (it then fails only on the missing kubeconfig).
#   bash functions/check-image.sh
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "check-image: needs root (runs the steps as uid 1001)" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/ai-agents-image-XXXXXX)
chmod 755 "$WORK"
# the node on PATH, where uid 1001 can run it (the image's is /usr/local/bin/node)
mkdir -p "$WORK/bin" && cp "$(readlink -f "$(command -v node)")" "$WORK/bin/node" && chmod 755 "$WORK/bin/node"
NODE=$WORK/bin/node
PID=
trap 'if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT
# ENV of the base stage, and the user the image runs as
IMAGE_ENV=(NODE_ENV=production APP_VERSION=check PORT=3001 NODE_OPTIONS=--disable-warning=ExperimentalWarning)
AS_APP=(setpriv --reuid=1001 --regid=1001 --clear-groups env -i PATH="$(dirname "$NODE"):/usr/bin:/bin" HOME=/tmp "${IMAGE_ENV[@]}")
as_app() { "${AS_APP[@]}" "$@"; }

# ── build stage ─────────────────────────────────────────────────────────────────────────────────
mkdir -p "$WORK/build/app/dist"
cp -r "$ROOT/package.json" "$ROOT/package-lock.json" "$ROOT/tsconfig.json" "$ROOT/api" "$ROOT/functions" "$WORK/build/app/"
ln -s "$ROOT/node_modules" "$WORK/build/app/node_modules" # stands in for `npm ci`
chmod -R a+rX "$WORK/build"
chown 1001:1001 "$WORK/build/app/dist"
(cd "$WORK/build/app" && as_app "$NODE" functions/build.ts "$WORK/build/app/dist/functions")
(cd "$WORK/build/app" && as_app "$NODE" functions/webhooks/build.ts "$WORK/build/app/dist/webhook")

# a target's CMD, as the Dockerfile has it: ["node", <args>…] → CMD_ARGS
cmd_args() {
  mapfile -t CMD_ARGS < <(awk -v t="$1" '$0 ~ "^FROM .* AS " t "$" {on=1} on && /^CMD /{sub(/^CMD /, ""); print; exit}' "$ROOT/functions/Dockerfile" |
    "$NODE" -e 'const c = JSON.parse(require("fs").readFileSync(0, "utf8")); if (c[0] !== "node") process.exit(1); console.log(c.slice(1).join("\n"))')
  [ "${#CMD_ARGS[@]}" -gt 0 ] || { echo "check-image: no CMD [\"node\", …] in the $1 target" >&2; exit 1; }
}
# a target's stage ($1) from the build's dist/$2: that alone in $WORK/$1/app, owned by root (read-only
# for the process), no node_modules reachable from it; its CMD → CMD_ARGS
image_stage() {
  mkdir -p "$WORK/$1/app/dist"
  cp -r "$WORK/build/app/dist/$2" "$WORK/$1/app/dist/$2"
  chown -R 0:0 "$WORK/$1"
  local d="$WORK/$1/app/dist/$2"
  while :; do
    [ ! -e "$d/node_modules" ] || { echo "check-image: $d/node_modules is reachable from the $1 bundle" >&2; exit 1; }
    [ "$d" = / ] && break
    d=$(dirname "$d")
  done
  cmd_args "$1"
}
# starts CMD_ARGS in $WORK/$1/app as the image would, with the environment given after it, output
# in $WORK/$1.stdout and .stderr; exec all the way down: $PID is the node process itself
start_stage() {
  local target=$1
  shift
  PORT=$((20000 + RANDOM % 20000))
  (cd "$WORK/$target/app" && exec "${AS_APP[@]}" PORT=$PORT HOST=127.0.0.1 "$@" "$NODE" "${CMD_ARGS[@]}") \
    >"$WORK/$target.stdout" 2>"$WORK/$target.stderr" &
  PID=$!
}
# waits for /ready from the process $PID of target $1
await_ready() {
  for _ in $(seq 200); do
    if curl -fsS "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1; then return 0; fi
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/$1.stderr" >&2; echo "check-image: the $1 process exited" >&2; exit 1; }
    sleep 0.05
  done
  curl -fsS "http://127.0.0.1:$PORT/ready" >/dev/null || { echo "check-image: $1: /ready never answered" >&2; exit 1; }
}

# Node's report (NODE_DEBUG_NATIVE=COMPILE_CACHE) on target $1's stderr says a chunk's shipped cache was used
compile_cache_accepted() {
  grep -q 'CommonJS .*/chunks/.* was accepted' "$WORK/$1.stderr" || {
    grep 'cache\]' "$WORK/$1.stderr" | head -20 >&2
    echo "check-image: $1: the shipped compile cache was not used for the chunks" >&2
    exit 1
  }
}

# ── api stage ───────────────────────────────────────────────────────────────────────────────────
image_stage api functions
mkdir -p "$WORK/workspace"
chown 1001:1001 "$WORK/workspace"
start_stage api NODE_DEBUG_NATIVE=COMPILE_CACHE INGEST_TOKEN_SECRET=check-image-secret-0123456789abcdef-0123 \
  JWT_SECRET=check-image-jwt-secret-0123456789abcdef-0123 WORKSPACE_DIR="$WORK/workspace" \
  UPLOADS_DIR="$WORK/workspace/uploads" KUBECONFIG=/nonexistent LOG_LEVEL=warn
await_ready api
compile_cache_accepted api
ls "$WORK/api/app/dist/functions/compile-cache"
kill "$PID"
wait "$PID" 2>/dev/null || true
PID=

# ── webhook stage ───────────────────────────────────────────────────────────────────────────────
image_stage webhook webhook
start_stage webhook NODE_DEBUG_NATIVE=COMPILE_CACHE WEBHOOK_SOURCE_NAME=check KUBECONFIG=/nonexistent LOG_LEVEL=info
await_ready webhook
compile_cache_accepted webhook
# the first answer starts loading the Kubernetes client: its chunks load, the kubeconfig does not
for _ in $(seq 100); do
  grep -q 'kubernetes client failed to load' "$WORK/webhook.stdout" "$WORK/webhook.stderr" && break
  sleep 0.05
done
if ! grep -h 'kubernetes client failed to load' "$WORK/webhook.stdout" "$WORK/webhook.stderr" | grep -q 'ENOENT.*/nonexistent'; then
  cat "$WORK/webhook.stdout" "$WORK/webhook.stderr" >&2
  echo "check-image: the webhook receiver did not load its Kubernetes client's chunks" >&2
  exit 1
fi
echo "check-image: ok (api and webhook: built as uid 1001, started from their snapshots read-only as uid 1001 from another directory, compile caches accepted; webhook: its Kubernetes client's chunks load)"
