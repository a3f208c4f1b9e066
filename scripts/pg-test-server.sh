#!/usr/bin/env bash
# pg-test-server.sh — a throw-away PostgreSQL server for the account store's
# tests (accounts/postgres_test.go).
#
#   scripts/pg-test-server.sh start    install PostgreSQL if missing, start a
#                                      server, print the export line
#   scripts/pg-test-server.sh env      print the export line of a running server
#   scripts/pg-test-server.sh status   say whether the server runs
#   scripts/pg-test-server.sh stop     stop the server and delete its files
#
# Typical use:
#
#   eval "$(scripts/pg-test-server.sh start)"
#   go test ./accounts/...
#   scripts/pg-test-server.sh stop
#
# The cluster lives in a temporary directory, listens on 127.0.0.1 only, on
# SSPI_PG_PORT (default: the first free port from 55432), and trusts every
# local connection: it is for tests on a developer's or CI's machine, never
# for data. Run as root (the server itself runs as the `postgres` user, which
# the Debian package creates) or as an ordinary user who can run initdb.
#
# Environment: SSPI_PG_PORT (port), SSPI_PG_DIR (state directory; default
# sspi-pg-test in the system's temporary directory), SSPI_PG_DB (database
# name, default sspi_test).
set -euo pipefail

db=${SSPI_PG_DB:-sspi_test}
base=${SSPI_PG_DIR:-"$(dirname "$(mktemp -u)")/sspi-pg-test"}

log() { printf 'pg-test-server: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# bindir finds the server binaries of the installed Debian package (they are
# not on PATH there), or of a PATH installation.
bindir() {
	local f
	f=$(dpkg-query -S '*/bin/initdb' 2>/dev/null | sed -n 's/^[^:]*: //p' | sort -V | tail -n 1) || true
	if [[ -z $f ]] && command -v initdb >/dev/null 2>&1; then
		f=$(command -v initdb)
	fi
	[[ -n $f && -x $f ]] || return 1
	dirname "$f"
}

install_pg() {
	if bindir >/dev/null; then
		return
	fi
	[[ $(id -u) -eq 0 ]] || die "PostgreSQL is not installed and only root can install it"
	log "installing PostgreSQL"
	apt-get update >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >&2
	bindir >/dev/null || die "PostgreSQL installed, but initdb was not found"
}

# as_server runs a command as the user that owns the cluster.
as_server() {
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

dsn() {
	printf 'postgres://postgres@127.0.0.1:%s/%s?sslmode=disable' "$(cat "$base/port")" "$db"
}

running() {
	[[ -f $base/port && -d $base/data ]] || return 1
	as_server "$(bindir)/pg_ctl" -D "$base/data" status >/dev/null 2>&1
}

start() {
	install_pg
	local bin port
	bin=$(bindir)
	if running; then
		log "already running on port $(cat "$base/port")"
		printf 'export SSPI_TEST_POSTGRES=%s\n' "$(dsn)"
		return
	fi
	rm -rf "$base"
	mkdir -p "$base/sock"
	if [[ -n ${SSPI_PG_PORT:-} ]]; then
		port=$SSPI_PG_PORT
		port_free "$port" || die "port $port is in use"
	else
		port=55432
		while ! port_free "$port"; do
			port=$((port + 1))
			((port < 55532)) || die "no free port in 55432-55531"
		done
	fi
	echo "$port" >"$base/port"
	if [[ $(id -u) -eq 0 ]]; then
		chown -R postgres: "$base"
	fi
	chmod 700 "$base"
	log "initdb in $base/data"
	as_server "$bin/initdb" -D "$base/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >"$base/initdb.log" 2>&1 ||
		{ cat "$base/initdb.log" >&2; die "initdb failed"; }
	log "starting on 127.0.0.1:$port"
	if ! as_server "$bin/pg_ctl" -D "$base/data" -l "$base/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$base/sock -c max_connections=200" start >&2; then
		cat "$base/server.log" >&2 || true
		die "the server did not start"
	fi
	as_server "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db" ||
		die "createdb $db failed"
	printf 'export SSPI_TEST_POSTGRES=%s\n' "$(dsn)"
}

stop() {
	if [[ -d $base/data ]] && bindir >/dev/null; then
		as_server "$(bindir)/pg_ctl" -D "$base/data" -m fast -w stop >&2 || true
	fi
	rm -rf "$base"
	log "stopped"
}

case ${1:-} in
start) start ;;
stop) stop ;;
env)
	running || die "not running (run: $0 start)"
	printf 'export SSPI_TEST_POSTGRES=%s\n' "$(dsn)"
	;;
status)
	if running; then log "running on port $(cat "$base/port")"; else log "not running"; exit 1; fi
	;;
*)
	echo "usage: $0 start|stop|env|status" >&2
	exit 2
	;;
esac
