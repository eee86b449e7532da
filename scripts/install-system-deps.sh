#!/usr/bin/env bash
# Installs the Debian packages the tests use, only those missing. Safe to run repeatedly.
set -euo pipefail
# command -> package
declare -A WANT=(
  [git]=git
  [openssl]=openssl
  [flock]=util-linux
  [shellcheck]=shellcheck
  [nginx]=nginx
  [prometheus]=prometheus
  [promtool]=prometheus
  [chromium]=chromium
)
[ -n "${AI_AGENTS_EXTRA_PACKAGES:-}" ] && for p in $AI_AGENTS_EXTRA_PACKAGES; do WANT[$p]=$p; done
missing=()
for cmd in "${!WANT[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${WANT[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "[system-deps] installing: ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
# each package once (prometheus provides two of the commands)
mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
$SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
