#!/usr/bin/env bash
# dev-realm.sh — a throw-away MIT Kerberos realm on loopback, for the
# Kerberos tests (internal/krb5, packages/kerberos, interop) and for trying
# OpenSSPI's Kerberos package by hand.
#
#   scripts/dev-realm.sh up       create the realm if missing, start its KDC if
#                                 stopped, kinit alice; print the export lines
#   scripts/dev-realm.sh env      print the export lines only
#   scripts/dev-realm.sh status   say whether the KDC runs (exit 1 if not)
#   scripts/dev-realm.sh down     stop the KDC this script started
#   scripts/dev-realm.sh destroy  down, then delete the realm's directory
#
# Typical use:
#
#   eval "$(scripts/dev-realm.sh up)"
#   go test ./internal/krb5/...
#   klist; kvno host/localhost          # MIT's tools see the same realm
#   scripts/dev-realm.sh down
#
# Nothing under /etc is read or written: every MIT tool and library is
# pointed at this realm by KRB5_CONFIG, KRB5_KDC_PROFILE, KRB5CCNAME,
# KRB5_KTNAME, KRB5_CLIENT_KTNAME and KRB5RCACHEDIR (see `env`). The KDC
# listens on 127.0.0.1 only (UDP and TCP); kadmind is not run (kadmin.local
# edits the database directly).
#
# Environment (all optional):
#   SSPI_KRB5_DIR         state directory (default: sspi-krb5-<uid>-<port>
#                         in the system's temporary directory)
#   SSPI_KRB5_KDC_PORT    KDC port on 127.0.0.1 (default 61088, above the Linux
#                         ephemeral range, so it rarely collides)
#   SSPI_KRB5_NO_INSTALL  =1: never install packages (fail instead)
#
# The realm (OPENSSPI.TEST) holds:
#   alice, bob              users with passwords (SSPI_KRB5_PASSWORD/…2); every
#                           principal requires pre-authentication
#   dave                    a user whose keys have random ("special") salts, so
#                           only the KDC's PA-ETYPE-INFO2 tells a client the salt
#   carol                   a user WITHOUT pre-authentication (the KDC answers
#                           her AS-REQ at once: for tests of the client's checks
#                           of an AS-REP, e.g. clock skew)
#   host/localhost          services with random keys, exported to the service
#   HTTP/localhost          keytab with every enctype the KDC supports:
#   host/trusted.localhost  aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96,
#                           aes256-cts-hmac-sha384-192, aes128-cts-hmac-sha256-128;
#                           host/trusted.localhost is ok-as-delegate
#   HTTP/big…localhost      a service with a 500-byte host name, whose TGS-REP
#                           exceeds the KDC's UDP limit (see kdc.conf below)
#   alice's keys            also in a user keytab (exported without changing
#                           them, so her password keeps working)
# and a second realm, OTHER.TEST, served by the same KDC, that trusts and is
# trusted by OPENSSPI.TEST: host/svc.other.test@OTHER.TEST (in the service
# keytab) is reached from OPENSSPI.TEST by a KDC referral (the KDC maps
# .other.test to OTHER.TEST; the clients' krb5.conf does not).
# Tickets are forwardable by default (krb5.conf), so delegation can be tried.
set -euo pipefail

realm=OPENSSPI.TEST
other=OTHER.TEST
port=${SSPI_KRB5_KDC_PORT:-61088}
dir=${SSPI_KRB5_DIR:-"$(dirname "$(mktemp -u)")/sspi-krb5-$(id -u)-$port"}
user=alice password=alice-Passw0rd
user2=bob password2=bob-Passw0rd
user3=carol password3=carol-Passw0rd
user4=dave password4=dave-Passw0rd
master=master-Passw0rd
# The shared secret of the two cross-realm TGS principals; both databases
# derive the same keys from it (same principal name, so the same salt).
trust=trust-Passw0rd
# A service whose name alone makes its TGS-REP bigger than a UDP reply may
# be (kdc_max_dgram_reply_size); every other reply fits.
big=HTTP/big-$(printf 'x%.0s' {1..480}).localhost
enctypes="aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal aes256-cts-hmac-sha384-192:normal aes128-cts-hmac-sha256-128:normal"

log() { printf 'dev-realm: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

export KRB5_CONFIG="$dir/krb5.conf"
export KRB5_KDC_PROFILE="$dir/kdc.conf"
export KRB5CCNAME="FILE:$dir/ccache"
export KRB5_KTNAME="FILE:$dir/service.keytab"
export KRB5_CLIENT_KTNAME="FILE:$dir/user.keytab"
export KRB5RCACHEDIR="$dir/rcache"

# PATH may lack /usr/sbin for ordinary users; the KDC tools live there.
PATH=$PATH:/usr/sbin:/sbin

install_krb5() {
	# The tools on PATH are enough (and cheaper to check than dpkg).
	command -v krb5kdc >/dev/null && command -v kdb5_util >/dev/null \
		&& command -v kadmin.local >/dev/null && command -v kinit >/dev/null && return
	local missing=() p
	for p in krb5-kdc krb5-admin-server krb5-user; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[[ ${#missing[@]} -eq 0 ]] && return
	if ! command -v dpkg-query >/dev/null || [[ ${SSPI_KRB5_NO_INSTALL:-} == 1 ]]; then
		command -v krb5kdc >/dev/null && command -v kadmin.local >/dev/null && command -v kinit >/dev/null \
			|| die "MIT Kerberos is not installed (${missing[*]})"
		return
	fi
	local sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null || die "need root to install ${missing[*]}"
		sudo=(sudo)
	fi
	log "installing ${missing[*]}"
	# noninteractive: krb5-config would ask for a default realm. Debian's
	# policy-rc.d in containers keeps the packages' own KDC from starting.
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || {
		"${sudo[@]}" apt-get update -qq >&2
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
	}
}

# write_config (re)writes the configuration: cheap and deterministic.
write_config() {
	mkdir -p "$dir/rcache"
	chmod 700 "$dir"
	cat >"$dir/krb5.conf.tmp" <<EOF
# krb5.conf of the throw-away realm made by scripts/dev-realm.sh
[libdefaults]
	default_realm = $realm
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	forwardable = true
	ticket_lifetime = 10h
	renew_lifetime = 7d
	clockskew = 300
	default_ccache_name = FILE:$dir/ccache
	default_keytab_name = FILE:$dir/service.keytab
	default_client_keytab_name = FILE:$dir/user.keytab
	permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96 aes256-cts-hmac-sha384-192 aes128-cts-hmac-sha256-128

[realms]
	$realm = {
		kdc = 127.0.0.1:$port
	}
	$other = {
		kdc = 127.0.0.1:$port
	}

[domain_realm]
	localhost = $realm
	.localhost = $realm

[logging]
	default = FILE:$dir/krb5lib.log
EOF
	mv "$dir/krb5.conf.tmp" "$dir/krb5.conf"
	# The KDC reads this file besides krb5.conf. Its [domain_realm] is what
	# makes the KDC answer host/svc.other.test@OPENSSPI.TEST with a referral
	# to OTHER.TEST. kdc_max_dgram_reply_size is above the size of every
	# reply of this realm but those for $big, which the KDC answers over UDP
	# with KRB_ERR_RESPONSE_TOO_BIG, so clients retry over TCP.
	cat >"$dir/kdc.conf.tmp" <<EOF
# kdc.conf of the throw-away realm made by scripts/dev-realm.sh
[kdcdefaults]
	kdc_listen = 127.0.0.1:$port
	kdc_tcp_listen = 127.0.0.1:$port
	kdc_max_dgram_reply_size = 1200

[realms]
	$realm = {
		database_name = $dir/principal
		key_stash_file = $dir/stash
		acl_file = $dir/kadm5.acl
		kdc_listen = 127.0.0.1:$port
		kdc_tcp_listen = 127.0.0.1:$port
		max_life = 10h
		max_renewable_life = 7d
		master_key_type = aes256-cts-hmac-sha1-96
		supported_enctypes = $enctypes
		default_principal_flags = +preauth
	}
	$other = {
		database_name = $dir/other-principal
		key_stash_file = $dir/other-stash
		acl_file = $dir/kadm5.acl
		kdc_listen = 127.0.0.1:$port
		kdc_tcp_listen = 127.0.0.1:$port
		max_life = 10h
		max_renewable_life = 7d
		master_key_type = aes256-cts-hmac-sha1-96
		supported_enctypes = $enctypes
		default_principal_flags = +preauth
	}

[domain_realm]
	.other.test = $other
	other.test = $other

[logging]
	kdc = FILE:$dir/kdc.log
	default = FILE:$dir/kdc.log
EOF
	mv "$dir/kdc.conf.tmp" "$dir/kdc.conf"
	: >"$dir/kadm5.acl"
}

# create_db makes both realms' databases, principals and keytabs, once. A
# directory that holds a finished realm is left alone.
create_db() {
	[[ -f $dir/realm.done ]] && return
	log "creating $realm and $other in $dir"
	rm -f "$dir"/principal* "$dir"/other-principal* "$dir"/stash "$dir"/other-stash \
		"$dir"/service.keytab "$dir"/user.keytab
	kdb5_util -r "$realm" create -s -P "$master" >"$dir/kdb5_util.out" 2>&1 \
		|| { cat "$dir/kdb5_util.out" >&2; die "kdb5_util create $realm failed"; }
	kdb5_util -r "$other" create -s -P "$master" >>"$dir/kdb5_util.out" 2>&1 \
		|| { cat "$dir/kdb5_util.out" >&2; die "kdb5_util create $other failed"; }
	# One kadmin.local per realm, commands on stdin.
	kadmin.local -r "$realm" >"$dir/kadmin.out" 2>&1 <<EOF || { cat "$dir/kadmin.out" >&2; die "kadmin.local $realm failed"; }
addprinc -pw $password $user
addprinc -pw $password2 $user2
addprinc -pw $password3 -requires_preauth $user3
addprinc -pw $password4 -e aes256-cts-hmac-sha1-96:special,aes128-cts-hmac-sha256-128:special $user4
addprinc -randkey host/localhost
addprinc -randkey HTTP/localhost
addprinc -randkey +ok_as_delegate host/trusted.localhost
addprinc -randkey $big
addprinc -pw $trust krbtgt/$other@$realm
addprinc -pw $trust krbtgt/$realm@$other
ktadd -k $dir/service.keytab -norandkey host/localhost HTTP/localhost host/trusted.localhost
ktadd -k $dir/user.keytab -norandkey $user
EOF
	kadmin.local -r "$other" >>"$dir/kadmin.out" 2>&1 <<EOF || { cat "$dir/kadmin.out" >&2; die "kadmin.local $other failed"; }
addprinc -pw $trust krbtgt/$other@$realm
addprinc -pw $trust krbtgt/$realm@$other
addprinc -randkey host/svc.other.test
ktadd -k $dir/service.keytab -norandkey host/svc.other.test
EOF
	grep -qi 'error\|fail' "$dir/kadmin.out" && { cat "$dir/kadmin.out" >&2; die "kadmin.local reported an error"; }
	: >"$dir/realm.done"
}

# kdc_pid prints the pid of the KDC this script started, if it still runs
# (and is a krb5kdc: a recycled pid is not ours).
kdc_pid() {
	local pid
	[[ -s $dir/kdc.pid ]] || return 1
	pid=$(<"$dir/kdc.pid")
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
		&& [[ $(cat "/proc/$pid/comm" 2>/dev/null) == krb5kdc ]] && { echo "$pid"; return 0; }
	return 1
}

start_kdc() {
	kdc_pid >/dev/null && return
	rm -f "$dir/kdc.pid"
	# krb5kdc binds its sockets, then forks into the background and writes
	# the pid file; the parent exits only after that. So once it returns,
	# the KDC answers (a port in use makes it fail here instead).
	krb5kdc -r "$realm" -r "$other" -P "$dir/kdc.pid" >>"$dir/kdc.stdout" 2>&1 \
		|| { tail -n 5 "$dir/kdc.log" >&2 || true; die "krb5kdc failed (is 127.0.0.1:$port free? set SSPI_KRB5_KDC_PORT)"; }
	local _
	for _ in {1..100}; do
		kdc_pid >/dev/null && return
		# krb5kdc writes the pid file right after forking; a short wait
		# for that file is all there is to wait for.
		sleep 0.02
	done
	die "krb5kdc did not write $dir/kdc.pid; see $dir/kdc.log"
}

stop_kdc() {
	local pid _
	if pid=$(kdc_pid); then
		kill "$pid"
		for _ in {1..250}; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.02
		done
		log "stopped the KDC (pid $pid)"
	fi
	rm -f "$dir/kdc.pid"
}

kinit_user() {
	printf '%s\n' "$password" | kinit "$user@$realm" >/dev/null 2>"$dir/kinit.err" \
		|| { cat "$dir/kinit.err" >&2; die "kinit $user failed"; }
}

print_env() {
	cat <<EOF
export KRB5_CONFIG='$KRB5_CONFIG'
export KRB5_KDC_PROFILE='$KRB5_KDC_PROFILE'
export KRB5CCNAME='$KRB5CCNAME'
export KRB5_KTNAME='$KRB5_KTNAME'
export KRB5_CLIENT_KTNAME='$KRB5_CLIENT_KTNAME'
export KRB5RCACHEDIR='$KRB5RCACHEDIR'
export SSPI_KRB5_DIR='$dir'
export SSPI_KRB5_REALM='$realm'
export SSPI_KRB5_KDC='127.0.0.1:$port'
export SSPI_KRB5_USER='$user'
export SSPI_KRB5_PASSWORD='$password'
export SSPI_KRB5_USER2='$user2'
export SSPI_KRB5_PASSWORD2='$password2'
export SSPI_KRB5_NOPREAUTH_USER='$user3'
export SSPI_KRB5_NOPREAUTH_PASSWORD='$password3'
export SSPI_KRB5_SALTED_USER='$user4'
export SSPI_KRB5_SALTED_PASSWORD='$password4'
export SSPI_KRB5_SERVICE_KEYTAB='$dir/service.keytab'
export SSPI_KRB5_USER_KEYTAB='$dir/user.keytab'
export SSPI_KRB5_SERVICE='host@localhost'
export SSPI_KRB5_HTTP_SERVICE='HTTP@localhost'
export SSPI_KRB5_DELEGATE_SERVICE='host@trusted.localhost'
export SSPI_KRB5_OTHER_REALM='$other'
export SSPI_KRB5_REFERRAL_SERVICE='host@svc.other.test'
export SSPI_KRB5_BIG_SERVICE='$big'
# debugging MIT's tools: export KRB5_TRACE=/dev/stderr
EOF
}

case ${1:-} in
up)
	install_krb5
	write_config
	create_db
	start_kdc
	kinit_user
	print_env
	;;
env)
	print_env
	;;
status)
	if pid=$(kdc_pid); then
		echo "running pid=$pid kdc=127.0.0.1:$port realm=$realm dir=$dir"
	else
		echo "stopped dir=$dir"
		exit 1
	fi
	;;
down)
	stop_kdc
	;;
destroy)
	stop_kdc
	case $dir in /|"") die "refusing to delete '$dir'" ;; esac
	rm -rf "$dir"
	;;
*)
	echo "usage: $0 up|env|status|down|destroy" >&2
	exit 2
	;;
esac
