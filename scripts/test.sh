#!/usr/bin/env bash
# test.sh — the project's test command (README, .ci/run).
#
# On a fresh Debian machine it installs what the tests need (setup.sh),
# starts the throw-away services they use on loopback (PostgreSQL), checks
# formatting and vet, and runs every test with the race detector, the
# interop tests against real peers included.
#
#   scripts/test.sh                 everything
#   scripts/test.sh ./lsa/...       only these packages
#
# Environment: SSPI_TEST_SKIP_SETUP=1 skips installing packages;
# SSPI_TEST_TIMEOUT (default 30m) bounds go test.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'test.sh: %s\n' "$*" >&2; }

if [[ ${SSPI_TEST_SKIP_SETUP:-} != 1 ]]; then
	scripts/setup.sh
fi

# Services of this run only, stopped on exit.
export SSPI_PG_DIR=${SSPI_PG_DIR:-"${TMPDIR:-/tmp}/sspi-test-pg-$$"}
cleanup() {
	scripts/pg-test-server.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
eval "$(scripts/pg-test-server.sh start)"
export SSPI_TEST_POSTGRES

log "gofmt"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [[ -n $bad ]]; then
	log "gofmt would change:"
	printf '%s\n' "$bad" >&2
	exit 1
fi

log "go vet"
go vet ./...

pkgs=("$@")
if [[ ${#pkgs[@]} -eq 0 ]]; then
	pkgs=(./...)
fi
log "go test -race ${pkgs[*]}"
go test -race -count=1 -timeout "${SSPI_TEST_TIMEOUT:-30m}" "${pkgs[@]}"
log "ok"
