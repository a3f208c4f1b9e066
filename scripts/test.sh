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
# SSPI_TEST_TIMEOUT (default 30m) bounds go test; SSPI_KRB5_KDC_PORT
# (default 61088) is the test realm's KDC port; SSPI_INTEROP_REQUIRED=0
# lets the interop tests skip when their peers are missing (by default
# they fail, so that a run cannot pass without them).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'test.sh: %s\n' "$*" >&2; }

if [[ ${SSPI_TEST_SKIP_SETUP:-} != 1 ]]; then
	scripts/setup.sh
fi

# Services of this run only, stopped on exit.
export SSPI_PG_DIR=${SSPI_PG_DIR:-"${TMPDIR:-/tmp}/sspi-test-pg-$$"}
peerdir=$(mktemp -d -t sspi-test-peers-XXXXXX)
export SSPI_KRB5_DIR=${SSPI_KRB5_DIR:-"${TMPDIR:-/tmp}/sspi-test-krb5-$$"}
cleanup() {
	scripts/pg-test-server.sh stop >/dev/null 2>&1 || true
	scripts/dev-realm.sh destroy >/dev/null 2>&1 || true
	rm -rf "$peerdir"
}
trap cleanup EXIT
eval "$(scripts/pg-test-server.sh start)"
export SSPI_TEST_POSTGRES

# Kerberos: a throw-away MIT realm on loopback (internal/krb5 and the
# Kerberos package's tests). It exports KRB5_CONFIG, KRB5CCNAME and the
# SSPI_KRB5_* names the tests read; the NTLM peers set their own.
eval "$(scripts/dev-realm.sh up)"

# Interop against gss-ntlmssp: interop/ drives it from python3-gssapi and
# builds its own C benchmark peer; packages/ntlm's LSA-level interop test
# needs its C peer built here (NTLM_GSS_PEER). The peers get their user
# file and Kerberos settings from the tests, never from /etc.
export SSPI_INTEROP_REQUIRED=${SSPI_INTEROP_REQUIRED:-1}
# shellcheck disable=SC2046 # krb5-config prints several flags
if gcc -O2 -o "$peerdir/gss_peer" packages/ntlm/testdata/interop/gss_peer.c \
	$(krb5-config --cflags --libs gssapi 2>/dev/null); then
	export NTLM_GSS_PEER="$peerdir/gss_peer"
elif [[ $SSPI_INTEROP_REQUIRED == 1 ]]; then
	log "cannot build packages/ntlm/testdata/interop/gss_peer.c (needs libkrb5-dev, gcc)"
	exit 1
fi

log "gofmt"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [[ -n $bad ]]; then
	log "gofmt would change:"
	printf '%s\n' "$bad" >&2
	exit 1
fi

log "go vet"
go vet ./...
# "For every platform": the library, lsad and the tests must at least
# type-check on the other systems people run it on.
for goos in windows darwin freebsd; do
	log "go vet (GOOS=$goos)"
	GOOS=$goos GOARCH=amd64 go vet ./...
done

pkgs=("$@")
if [[ ${#pkgs[@]} -eq 0 ]]; then
	pkgs=(./...)
fi
log "go test -race ${pkgs[*]}"
go test -race -count=1 -timeout "${SSPI_TEST_TIMEOUT:-30m}" "${pkgs[@]}"
log "ok"
