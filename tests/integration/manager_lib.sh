# shellcheck shell=bash
# Shared helpers for the manager integration tests (sourced, not run).
# Starts a real mosquitto with a password file and ACL on a free loopback
# port, and propeller-manager instances; everything is stopped on exit.

set -euo pipefail

TMP=$(mktemp -d /tmp/propeller-mgr-test.XXXXXX)
PIDS=()
FAILED=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ "$FAILED" -ne 0 ] || [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "--- logs kept in $TMP" >&2
		for f in "$TMP"/*.log; do
			[ -f "$f" ] || continue
			echo "--- $f" >&2
			tail -n 40 "$f" >&2
		done
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT

fail() {
	FAILED=1
	echo "FAIL: $*" >&2
	exit 1
}

ok() {
	echo "ok - $*"
}

free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

uuid() {
	cat /proc/sys/kernel/random/uuid
}

wait_port() { # port
	local _
	for _ in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	fail "nothing listens on port $1"
}

TENANT=$(uuid)
CHANNEL=$(uuid)
MGR_ID=$(uuid)
MGR_KEY=manager-secret-$(uuid)
PROPLET_ID=$(uuid)
PROPLET_KEY=proplet-secret-$(uuid)
BASE="m/$TENANT/c/$CHANNEL"

# Broker with per-client passwords and an ACL: the manager may use the whole
# channel, the proplet only its channel's proplet/manager control topics.
start_broker() {
	MQ_PORT=$(free_port)
	mosquitto_passwd -c -b "$TMP/passwd" "$MGR_ID" "$MGR_KEY" >/dev/null
	mosquitto_passwd -b "$TMP/passwd" "$PROPLET_ID" "$PROPLET_KEY" >/dev/null
	cat >"$TMP/acl" <<EOF
user $MGR_ID
topic readwrite $BASE/#

user $PROPLET_ID
topic read $BASE/control/manager/#
topic write $BASE/control/proplet/#
topic readwrite $BASE/registry/#
EOF
	cat >"$TMP/mosquitto.conf" <<EOF
listener $MQ_PORT 127.0.0.1
allow_anonymous false
password_file $TMP/passwd
acl_file $TMP/acl
persistence false
log_dest stderr
user $(id -un)
EOF
	chmod 0600 "$TMP/passwd" "$TMP/acl" 2>/dev/null || true
	mosquitto -c "$TMP/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 &
	PIDS+=($!)
	wait_port "$MQ_PORT"
}

# start_manager [extra env assignments...]; sets MGR_PID, HTTP
start_manager() {
	HTTP_PORT=${HTTP_PORT:-$(free_port)}
	HTTP="http://127.0.0.1:$HTTP_PORT"
	env MANAGER_MQTT_ADDRESS="tcp://127.0.0.1:$MQ_PORT" \
		MANAGER_HTTP_HOST=127.0.0.1 MANAGER_HTTP_PORT="$HTTP_PORT" \
		MANAGER_TENANT_ID="$TENANT" MANAGER_ENTITY_ID="$MGR_ID" \
		MANAGER_API_KEY="$MGR_KEY" MANAGER_CHANNEL_ID="$CHANNEL" \
		MANAGER_MQTT_TIMEOUT=5s MANAGER_LOG_LEVEL=debug "$@" \
		"$MANAGER_BIN" >>"$TMP/manager.log" 2>&1 &
	MGR_PID=$!
	PIDS+=("$MGR_PID")
	wait_port "$HTTP_PORT"
}

stop_manager() {
	kill -TERM "$MGR_PID"
	wait "$MGR_PID" || fail "manager exited non-zero on SIGTERM"
}

# proplet_pub SUFFIX PAYLOAD: publish as the proplet with its credentials
proplet_pub() {
	mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" -i "$PROPLET_ID" \
		-u "$PROPLET_ID" -P "$PROPLET_KEY" -q 2 -t "$BASE/$1" -m "$2"
}

# proplet_sub SUFFIX OUTFILE: receive one message in the background
proplet_sub() {
	SUB_OUT=$2
	: >"$SUB_OUT.raw"
	stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$MQ_PORT" -i "$PROPLET_ID-sub" \
		-u "$PROPLET_ID" -P "$PROPLET_KEY" -q 2 -t "$BASE/$1" -C 1 \
		-W 10 -d >"$SUB_OUT.raw" 2>>"$TMP/sub.log" &
	SUB_PID=$!
	PIDS+=("$SUB_PID")
	# Wait for the broker's SUBACK (not a fixed sleep: a loaded machine
	# can take longer than any guess), so nothing published next is missed.
	wait_for grep -q 'received SUBACK' "$SUB_OUT.raw" ||
		fail "subscription to $1 not acknowledged"
}

# sub_wait: waits for proplet_sub's message and leaves only its payload
# (one line) in the OUTFILE given to proplet_sub.
sub_wait() {
	wait "$SUB_PID" || return 1
	grep -v -e '^Client ' -e '^Subscribed (' "$SUB_OUT.raw" >"$SUB_OUT"
	[ -s "$SUB_OUT" ]
}

heartbeat() {
	proplet_pub control/proplet/alive \
		"{\"proplet_id\":\"$PROPLET_ID\",\"status\":\"alive\",\"namespace\":\"default\"}"
}

# api METHOD PATH [BODY]: prints "<status> <body>" on one line
api() {
	local body=${3-}
	if [ -n "$body" ]; then
		curl -s -o "$TMP/resp" -w '%{http_code}' -X "$1" \
			-H 'Content-Type: application/json' ${AUTH_HEADER:+-H "$AUTH_HEADER"} \
			--data-binary "$body" "$HTTP$2" >"$TMP/code"
	else
		curl -s -o "$TMP/resp" -w '%{http_code}' -X "$1" \
			${AUTH_HEADER:+-H "$AUTH_HEADER"} "$HTTP$2" >"$TMP/code"
	fi
	CODE=$(cat "$TMP/code")
	RESP=$(cat "$TMP/resp")
}

expect_code() { # want context
	[ "$CODE" = "$1" ] || fail "$2: want HTTP $1, got $CODE: $RESP"
}

jget() { # jq-filter (on RESP)
	printf '%s' "$RESP" | jq -r "$1"
}

# wait_for CMD...: retry a check for up to 5 s
wait_for() {
	local _
	for _ in $(seq 1 50); do
		if "$@"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
