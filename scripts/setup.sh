#!/usr/bin/env bash
# setup.sh — install what the tests need on a Debian machine, if missing:
# PostgreSQL for the account store's multi-host tests. Idempotent; needs root
# (or sudo) only when something is missing.
set -euo pipefail

log() { printf 'setup.sh: %s\n' "$*" >&2; }

# Debian packages and a command that shows each is installed.
declare -A want=(
	[postgresql]="dpkg-query -W -f=\${Status} postgresql 2>/dev/null | grep -q 'ok installed'"
)

missing=()
for pkg in "${!want[@]}"; do
	if ! eval "${want[$pkg]}"; then
		missing+=("$pkg")
	fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
	exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
	command -v sudo >/dev/null || { log "need root to install: ${missing[*]}"; exit 1; }
	sudo=(sudo)
fi
log "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
