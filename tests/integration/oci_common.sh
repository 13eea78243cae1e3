#!/usr/bin/env bash
# Helpers for the oci_* integration tests: a temp dir removed on exit, a
# real docker-registry on a free loopback port (always stopped), and checks.
set -euo pipefail

: "${PROPELLER_BINARY_DIR:?}" "${PROPELLER_TESTDATA:?}"
P="${PROPELLER:-$PROPELLER_BINARY_DIR/src/cli/propeller}"
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
	local i
	for i in $(seq 1 100); do
		if curl -s -o /dev/null "$1"; then return 0; fi
		sleep 0.1
	done
	fail "service at $1 did not come up"
}

# start_registry NAME [htpasswd-file]: sets REG (host:port)
start_registry() {
	local name="$1" htp="${2:-}" port dir
	port="$(free_port)"
	dir="$WORK/$name"
	mkdir -p "$dir/data"
	{
		echo "version: 0.1"
		echo "log: {level: error, accesslog: {disabled: true}}"
		echo "storage: {filesystem: {rootdirectory: $dir/data}, delete: {enabled: true}}"
		echo "http: {addr: 127.0.0.1:$port}"
		if [ -n "$htp" ]; then
			echo "auth: {htpasswd: {realm: basic-realm, path: $htp}}"
		fi
	} >"$dir/config.yml"
	docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
	PIDS+=("$!")
	REG="127.0.0.1:$port"
	wait_http "http://$REG/v2/"
}

# layer_digest DIR: digest of the only layer in dir:DIR/manifest.json
layer_digest() {
	jq -r '.layers[0].digest' "$1/manifest.json"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
