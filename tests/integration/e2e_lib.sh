# Shared helpers for the end-to-end tests (sourced): everything of
# manager_lib.sh (broker, manager, API calls, cleanup), plus a broker user
# for the proxy, a real docker-registry, propeller-kbs, proplets and the
# proxy, all on free loopback ports and all stopped on exit.

: "${PROPELLER_BINARY_DIR:?}"
BIN=$PROPELLER_BINARY_DIR
MANAGER_BIN=$BIN/src/manager/propeller-manager
PROPLET_BIN=$BIN/src/proplet/proplet
PROXY_BIN=$BIN/src/proxy/propeller-proxy
KBS_BIN=$BIN/src/kbs/propeller-kbs
CLI=$BIN/src/cli/propeller
ADDITION=$BIN/examples/addition/addition.wasm

# shellcheck source=manager_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/manager_lib.sh"

PROXY_ID=$(uuid)
PROXY_KEY=proxy-secret-$(uuid)

# The manager's broker plus the proxy's account: it reads requests and
# writes chunks, nothing else.
start_broker() {
	MQ_PORT=${MQ_PORT:-$(free_port)}
	mosquitto_passwd -c -b "$TMP/passwd" "$MGR_ID" "$MGR_KEY" >/dev/null
	mosquitto_passwd -b "$TMP/passwd" "$PROPLET_ID" "$PROPLET_KEY" >/dev/null
	mosquitto_passwd -b "$TMP/passwd" "$PROXY_ID" "$PROXY_KEY" >/dev/null
	cat >"$TMP/acl" <<ACL
user $MGR_ID
topic readwrite $BASE/#

user $PROPLET_ID
topic read $BASE/control/manager/#
topic write $BASE/control/proplet/#
topic readwrite $BASE/registry/#

user $PROXY_ID
topic read $BASE/registry/proplet
topic write $BASE/registry/server
ACL
	cat >"$TMP/mosquitto.conf" <<CONF
listener $MQ_PORT 127.0.0.1
allow_anonymous false
password_file $TMP/passwd
acl_file $TMP/acl
persistence false
log_dest stderr
user $(id -un)
CONF
	chmod 0600 "$TMP/passwd" "$TMP/acl" 2>/dev/null || true
	mosquitto -c "$TMP/mosquitto.conf" >>"$TMP/mosquitto.log" 2>&1 &
	BROKER_PID=$!
	PIDS+=("$BROKER_PID")
	wait_port "$MQ_PORT"
}

# start_registry: a real docker-registry; sets REG (host:port)
start_registry() {
	local port
	port=$(free_port)
	mkdir -p "$TMP/registry"
	cat >"$TMP/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $TMP/registry}}
http: {addr: 127.0.0.1:$port}
YML
	docker-registry serve "$TMP/registry.yml" >"$TMP/registry.log" 2>&1 &
	PIDS+=("$!")
	REG=127.0.0.1:$port
	wait_port "$port"
}

# start_kbs: propeller-kbs with a fresh Ed25519 admin key; sets KBS_URL
start_kbs() {
	local port i
	openssl genpkey -algorithm ed25519 >"$TMP/admin.key" 2>/dev/null
	openssl pkey -in "$TMP/admin.key" -pubout -out "$TMP/admin.pub"
	"$KBS_BIN" --listen 127.0.0.1:0 --data-dir "$TMP/kbs" \
		--admin-public-key "$TMP/admin.pub" 2>>"$TMP/kbs.log" &
	PIDS+=("$!")
	for i in $(seq 100); do
		port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/kbs.log")
		[ -n "$port" ] && break
		sleep 0.05
	done
	[ -n "$port" ] || fail "propeller-kbs did not start"
	KBS_URL=http://127.0.0.1:$port
}

kbs_admin() { # kbs-client config subcommand and flags
	"$CLI" kbs --url "$KBS_URL" config --auth-private-key "$TMP/admin.key" "$@"
}

# start_proplet [NAME=VALUE...]: sets PROPLET_PID; logs to proplet.log
start_proplet() {
	env -i PATH="$PATH" HOME="$TMP" \
		PROPLET_TENANT_ID="$TENANT" PROPLET_ENTITY_ID="$PROPLET_ID" \
		PROPLET_API_KEY="$PROPLET_KEY" PROPLET_CHANNEL_ID="$CHANNEL" \
		PROPLET_MQTT_ADDRESS="tcp://127.0.0.1:$MQ_PORT" \
		PROPLET_LIVELINESS_INTERVAL=1 PROPLET_LOG_LEVEL=debug \
		PROPLET_WASM_CACHE_DIR="$TMP/wasm-cache" PROPLET_CONFIG_FILE=/nonexistent \
		PROPLET_REGISTRY_INSECURE=true "$@" \
		"$PROPLET_BIN" >>"$TMP/proplet.log" 2>&1 &
	PROPLET_PID=$!
	PIDS+=("$PROPLET_PID")
	wait_for grep -qs "proplet $PROPLET_ID running" "$TMP/proplet.log" ||
		fail "the proplet did not start"
}

start_proxy() {
	env -i PATH="$PATH" HOME="$TMP" \
		PROXY_TENANT_ID="$TENANT" PROXY_ENTITY_ID="$PROXY_ID" \
		PROXY_API_KEY="$PROXY_KEY" PROXY_CHANNEL_ID="$CHANNEL" \
		PROXY_MQTT_ADDRESS="tcp://127.0.0.1:$MQ_PORT" \
		PROXY_REGISTRY_URL="http://$REG" PROXY_HTTP_PORT="$(free_port)" \
		PROXY_CONFIG_FILE=/nonexistent PROXY_LOG_LEVEL=debug \
		"$PROXY_BIN" >>"$TMP/proxy.log" 2>&1 &
	PIDS+=("$!")
	wait_for grep -qs "serving registry" "$TMP/proxy.log" ||
		fail "the proxy did not start"
}

# create_task JSON: POST /tasks; sets TASK. The body goes through a file:
# a task with an inline module is larger than one argument may be.
create_task() {
	printf '%s' "$1" >"$TMP/body.json"
	CODE=$(curl -s -o "$TMP/resp" -w '%{http_code}' -X POST \
		-H 'Content-Type: application/json' --data-binary "@$TMP/body.json" \
		"$HTTP/tasks")
	RESP=$(cat "$TMP/resp")
	expect_code 201 "create task"
	TASK=$(jget .id)
}

# run_task JSON: create, start, wait for a terminal state; sets TASK, RESP
run_task() {
	local i state
	create_task "$1"
	api POST "/tasks/$TASK/start"
	expect_code 200 "start task"
	for i in $(seq 1 300); do
		api GET "/tasks/$TASK"
		state=$(jget .state)
		if [ "$state" -ge 3 ]; then
			return 0
		fi
		sleep 0.1
	done
	fail "task $TASK did not finish: $RESP"
}

# proplet_alive: the manager sees our proplet as alive
proplet_alive() {
	api GET "/proplets/$PROPLET_ID"
	[ "$CODE" = 200 ] && [ "$(jget .alive)" = true ]
}
