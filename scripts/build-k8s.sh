#!/usr/bin/env bash
# Builds the Kubernetes control-plane binaries (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl), etcd, kwok and helm from the Go module proxy, once per machine.
# Output: $AI_AGENTS_CACHE/k8s-<version>/bin (default ~/.cache/ai-agents). Idempotent: a
# complete cache is reused in well under a second.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-3.6.13}"
KWOK_VERSION="${KWOK_VERSION:-0.7.0}"
HELM_VERSION="${HELM_VERSION:-3.22.0}"
KUSTOMIZE_VERSION="${KUSTOMIZE_VERSION:-5.6.0}"
ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-1.7.7}"
CACHE="${AI_AGENTS_CACHE:-$HOME/.cache/ai-agents}"
KEY="k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}-kwok-${KWOK_VERSION}-helm-${HELM_VERSION}"
BIN="$CACHE/$KEY/bin"
STAMP="$CACHE/$KEY/.complete"

log() { printf '[build-k8s] %s\n' "$*" >&2; }
die() { printf '[build-k8s] error: %s\n' "$*" >&2; exit 1; }
# never leave a background build running when this script stops
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT

if [ -f "$STAMP" ]; then
  echo "$BIN"
  exit 0
fi

mkdir -p "$CACHE"
# one build at a time per machine; later callers wait, then find the cache complete
exec 9>"$CACHE/$KEY.lock"
if ! flock -n 9; then
  log "another build of $KEY is running; waiting for it"
  flock 9
fi
if [ -f "$STAMP" ]; then echo "$BIN"; exit 0; fi

command -v go >/dev/null 2>&1 || die "Go is not installed. Install Go >= 1.24 (e.g. 'apt-get install golang' or from go.dev) and run again."
mkdir -p "$BIN"
WORK="$CACHE/$KEY/work"
mkdir -p "$WORK"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
export CGO_ENABLED=0

minor="$(echo "$K8S_VERSION" | cut -d. -f2)"
staging="0.${minor}.$(echo "$K8S_VERSION" | cut -d. -f3)"

build_kubernetes() {
  [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/kube-controller-manager" ] && [ -x "$BIN/kube-scheduler" ] && [ -x "$BIN/kubectl" ] && return 0
  log "building Kubernetes v$K8S_VERSION (cold: about 10 min on two cores)"
  local w="$WORK/k8s"
  rm -rf "$w" && mkdir -p "$w" && cd "$w"
  go mod init local/k8sbin >/dev/null 2>&1
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [ -f "$gomod" ] || die "could not download k8s.io/kubernetes@v$K8S_VERSION from the Go module proxy"
  local goline
  goline="$(sed -n 's/^go \(.*\)$/\1/p' "$gomod" | head -1)"
  [ -n "$goline" ] && go mod edit -go="$goline"
  for m in $(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod"); do
    go mod edit -replace="$m=$m@v$staging"
  done
  # carry upstream's godebug settings
  sed -n '/^godebug/,/^)/p' "$gomod" >> go.mod || true
  go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@v$K8S_VERSION" \
    "k8s.io/kubernetes/cmd/kube-controller-manager@v$K8S_VERSION" \
    "k8s.io/kubernetes/cmd/kube-scheduler@v$K8S_VERSION" \
    "k8s.io/kubernetes/cmd/kubectl@v$K8S_VERSION" || die "go get of Kubernetes failed (see above)"
  local V=k8s.io/component-base/version
  go build -trimpath -o "$BIN/" -ldflags "-s -w -X $V.gitVersion=v$K8S_VERSION \
    -X $V.gitMajor=1 -X $V.gitMinor=$minor -X $V.gitTreeState=clean \
    -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl || die "building Kubernetes failed (see above)"
}

build_etcd() {
  [ -x "$BIN/etcd" ] && return 0
  log "building etcd v$ETCD_VERSION"
  local w="$WORK/etcd"
  rm -rf "$w" && mkdir -p "$w" && cd "$w"
  go mod init local/etcdbin >/dev/null 2>&1
  go get -tool "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" || die "go get of etcd failed"
  go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3 || die "building etcd failed"
}

go_install() { # name module@version
  [ -x "$BIN/$1" ] && return 0
  log "building $1 ($2)"
  GOBIN="$BIN" go install -trimpath -ldflags "-s -w" "$2" || die "building $1 failed"
}

build_etcd &
etcd_pid=$!
go_install helm "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" &
helm_pid=$!
build_kubernetes
wait $etcd_pid || die "etcd build failed"
wait $helm_pid || die "helm build failed"
GOTOOLCHAIN="${KWOK_GOTOOLCHAIN:-auto}" go_install kwok "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
go_install kustomize "sigs.k8s.io/kustomize/kustomize/v5@v$KUSTOMIZE_VERSION"
go_install actionlint "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION"

rm -rf "$WORK"
touch "$STAMP"
log "done: $BIN"
echo "$BIN"
