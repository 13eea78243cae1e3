#!/usr/bin/env bash
# Helpers for the oci_* integration tests: a temp dir removed on exit, a
# real docker-registry on a free loopback port (always stopped), and checks.
set -euo pipefail

: "${PROPELLER_BINARY_DIR:?}" "${PROPELLER_TESTDATA:?}"
# P (the propeller binary) and TD (the vectors) are used by the sourcing tests.
# shellcheck disable=SC2034
P="${PROPELLER:-$PROPELLER_BINARY_DIR/src/cli/propeller}"
# shellcheck disable=SC2034
TD="$PROPELLER_TESTDATA/ocicrypt"
PY=/usr/bin/python3
WORK="$(mktemp -d /tmp/oci-it.XXXXXX)"
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_http() { # url
	local _
	for _ in $(seq 1 100); do
		if curl -sk -o /dev/null "$1"; then return 0; fi
		sleep 0.1
	done
	fail "service at $1 did not come up"
}

# start_registry NAME [htpasswd-file] [tls-dir with cert.pem key.pem]:
# sets REG (host:port)
start_registry() {
	local name="$1" htp="${2:-}" tls="${3:-}" port dir scheme=http
	port="$(free_port)"
	dir="$WORK/$name"
	mkdir -p "$dir/data"
	{
		echo "version: 0.1"
		echo "log: {level: error, accesslog: {disabled: true}}"
		echo "storage: {filesystem: {rootdirectory: $dir/data}, delete: {enabled: true}}"
		if [ -n "$tls" ]; then
			echo "http: {addr: 127.0.0.1:$port, tls: {certificate: $tls/cert.pem, key: $tls/key.pem}}"
		else
			echo "http: {addr: 127.0.0.1:$port}"
		fi
		if [ -n "$htp" ]; then
			echo "auth: {htpasswd: {realm: basic-realm, path: $htp}}"
		fi
	} >"$dir/config.yml"
	docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
	PIDS+=("$!")
	REG="127.0.0.1:$port"
	[ -n "$tls" ] && scheme=https
	wait_http "$scheme://$REG/v2/"
}

# layer_digest DIR: digest of the only layer in dir:DIR/manifest.json
layer_digest() {
	jq -r '.layers[0].digest' "$1/manifest.json"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
