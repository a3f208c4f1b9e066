#!/usr/bin/env bash
# setup.sh — install what the tests need on a Debian machine, if missing.
# Idempotent; needs root (or sudo) only when something is missing.
#
#   postgresql         the account store's PostgreSQL tests (a throw-away
#                      server on loopback, scripts/pg-test-server.sh)
#   gss-ntlmssp        the NTLM interop peer (interop/, packages/ntlm): the
#   python3-gssapi     NTLM mechanism of MIT GSS-API, driven from Debian's
#                      /usr/bin/python3 (interop/peers/gss_peer.py)
#   libkrb5-dev, gcc   to build the C peers against libgssapi_krb5
#                      (krb5-config --cflags --libs gssapi)
#   python3-ntlm-auth  python ntlm-auth, an independent NTLM client
#                      (interop/peers/ntlm_auth_peer.py); MD4 comes from
#                      OpenSSL's legacy provider, which the tests enable
#                      with an OPENSSL_CONF of their own
#   winbind            Samba's ntlm_auth helper, an NTLM client and
#                      acceptor (interop/samba_test.go), run with a private
#                      smb.conf; winbindd itself is not used
#   krb5-kdc,          the throw-away MIT realm of the Kerberos tests
#   krb5-admin-server, (scripts/dev-realm.sh: krb5kdc, kdb5_util,
#   krb5-user          kadmin.local, kinit, kvno)
#   curl               the HTTP peer (interop/http_test.go,
#                      cmd/sspi/testdata/http.txtar): its own NTLM, and
#                      --negotiate through MIT GSS-API (and gss-ntlmssp)
#   python3-cbor2      the LSA protocol's client in Python
#                      (interop/peers/lsa_client.py)
#   gssproxy           the anchor of the Kerberos benchmark through lsad
#                      (internal/lsad/e2e_kerberos_bench_test.go), a
#                      daemon of the benchmark's own; installing it only
#                      registers MIT's interposer, which acts on processes
#                      that set GSS_USE_PROXY=yes
#   nodejs, npm        the OPAQUE interop peer (interop/opaque_test.go):
#                      @serenity-kit/opaque (opaque-ke in WebAssembly) at
#                      the version interop/peers/opaque/package.json pins,
#                      installed there with npm (Debian's npm package only
#                      when the installed nodejs does not bring npm)
set -euo pipefail

log() { printf 'setup.sh: %s\n' "$*" >&2; }

packages=(postgresql gss-ntlmssp python3-gssapi python3-cbor2 libkrb5-dev gcc python3-ntlm-auth winbind krb5-kdc krb5-admin-server krb5-user curl gssproxy nodejs)

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}

# npm_peer installs the OPAQUE peer's npm package if it is missing.
npm_peer() {
	local dir
	dir="$(cd "$(dirname "$0")/.." && pwd)/interop/peers/opaque"
	if [[ ! -f $dir/node_modules/@serenity-kit/opaque/package.json ]]; then
		if ! command -v npm >/dev/null; then
			log "installing npm"
			if [[ $(id -u) -ne 0 ]]; then
				sudo apt-get install -y -qq --no-install-recommends npm >/dev/null
			else
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
			fi
		fi
		log "installing the OPAQUE peer's npm package in $dir"
		(cd "$dir" && npm install --no-audit --no-fund --no-package-lock --silent)
	fi
}

missing=()
for pkg in "${packages[@]}"; do
	installed "$pkg" || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	npm_peer
	exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
	command -v sudo >/dev/null || { log "need root to install: ${missing[*]}"; exit 1; }
	sudo=(sudo)
fi
log "installing ${missing[*]}"
# noninteractive (passed through sudo, which resets the environment):
# krb5-config would ask for a default realm; the tests never read
# /etc/krb5.conf.
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
npm_peer
