#!/usr/bin/env bash
# `propeller provision` output used for real: mosquitto runs with the
# generated password file (our PBKDF2-SHA512 hashes) and ACL, the manager
# with manager.env, a proplet's credentials from proplet-1.env; then the
# `propeller task` / `propeller proplet` commands drive the manager; finally
# the broker restarts and the manager reconnects and re-subscribes.
# usage: manager_provision.sh <propeller> <propeller-manager>
PROPELLER=${1:?usage: manager_provision.sh <propeller> <propeller-manager>}
MANAGER_BIN=${2:?usage}
# shellcheck source=tests/integration/manager_lib.sh
. "$(dirname "$0")/manager_lib.sh"

P="$TMP/prov"
"$PROPELLER" provision -d "$P" -n 2 -a tcp://127.0.0.1:1 >"$TMP/prov.out" \
	|| fail "provision failed: $(cat "$TMP/prov.out")"
for f in mosquitto/passwd mosquitto/acl mosquitto/mosquitto.conf manager.env \
	proxy.env proplet-1.env proplet-2.env config.toml; do
	[ -s "$P/$f" ] || fail "provision did not write $f"
done
[ "$(stat -c %a "$P/mosquitto/passwd")" = 600 ] || fail "passwd mode"
[ "$(stat -c %a "$P/manager.env")" = 600 ] || fail "env mode"
grep -q '^\[proplet1\]' "$P/config.toml" && grep -q '^\[proplet2\]' "$P/config.toml" \
	&& grep -q '^\[manager\]' "$P/config.toml" && grep -q '^\[proxy\]' "$P/config.toml" \
	|| fail "config.toml sections"
if "$PROPELLER" provision -d "$P" -n 1 >/dev/null 2>"$TMP/again.err"; then
	fail "provision overwrote existing files"
fi
grep -q "exists (use --force" "$TMP/again.err" || fail "overwrite message"
"$PROPELLER" provision -d "$P" -n 0 >/dev/null 2>&1 && fail "-n 0 accepted"
ok "provision wrote every file, refuses to overwrite"

# Identities from the generated files.
val() { sed -n "s/^$2=//p" "$P/$1"; }
TENANT=$(val manager.env MANAGER_TENANT_ID)
CHANNEL=$(val manager.env MANAGER_CHANNEL_ID)
MGR_ID=$(val manager.env MANAGER_ENTITY_ID)
MGR_KEY=$(val manager.env MANAGER_API_KEY)
PROPLET_ID=$(val proplet-1.env PROPLET_ENTITY_ID)
PROPLET_KEY=$(val proplet-1.env PROPLET_API_KEY)
P2_ID=$(val proplet-2.env PROPLET_ENTITY_ID)
P2_KEY=$(val proplet-2.env PROPLET_API_KEY)
BASE="m/$TENANT/c/$CHANNEL"
[ "$(val proplet-2.env PROPLET_TENANT_ID)" = "$TENANT" ] || fail "tenant differs"
grep -q "^user $PROPLET_ID$" "$P/mosquitto/acl" || fail "acl lacks proplet 1"

MQ_PORT=$(free_port)
cat >"$TMP/mosquitto.conf" <<EOF
listener $MQ_PORT 127.0.0.1
allow_anonymous false
password_file $P/mosquitto/passwd
acl_file $P/mosquitto/acl
persistence false
log_dest stderr
user $(id -un)
EOF
start_mosquitto() {
	mosquitto -c "$TMP/mosquitto.conf" >>"$TMP/mosquitto.log" 2>&1 &
	MQ_PID=$!
	PIDS+=("$MQ_PID")
	wait_port "$MQ_PORT"
}
start_mosquitto

# The manager reads its identity from the generated config.toml only.
HTTP_PORT=$(free_port)
HTTP="http://127.0.0.1:$HTTP_PORT"
(cd "$P" && exec env -i PATH="$PATH" MANAGER_MQTT_ADDRESS="tcp://127.0.0.1:$MQ_PORT" \
	MANAGER_HTTP_HOST=127.0.0.1 MANAGER_HTTP_PORT="$HTTP_PORT" \
	MANAGER_LOG_LEVEL=debug "$MANAGER_BIN" >>"$TMP/manager.log" 2>&1) &
MGR_PID=$!
PIDS+=("$MGR_PID")
wait_port "$HTTP_PORT"
ok "manager connected with provisioned credentials (config.toml)"

heartbeat
if mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" -i "$P2_ID" -u "$P2_ID" \
	-P wrong-key -t "$BASE/control/proplet/alive" -m '{}' 2>/dev/null; then
	fail "broker accepted a wrong API key"
fi
# Proplet 1 may not publish manager commands: a manager-side subscriber
# receives nothing.
mosquitto_sub -h 127.0.0.1 -p "$MQ_PORT" -i "$MGR_ID-sub" -u "$MGR_ID" \
	-P "$MGR_KEY" -t "$BASE/control/manager/start" -C 1 -W 2 \
	>"$TMP/denied.txt" 2>/dev/null &
DEN=$!
sleep 0.3
proplet_pub control/manager/start '{"forged":true}'
wait "$DEN" || true
[ ! -s "$TMP/denied.txt" ] || fail "ACL let a proplet publish a start"
ok "broker enforces provisioned passwords and ACL"

# --- CLI against the manager ----------------------------------------------
cli() { "$PROPELLER" "$@" -m "$HTTP"; }
printf '\0asm\1\0\0\0' >"$TMP/add.wasm"
cli task create add --file "$TMP/add.wasm" --inputs 10,20 --cli-args --invoke,add \
	--env A=b --metadata team=x --json >"$TMP/created.json" || fail "task create"
TASK=$(jq -r .id "$TMP/created.json")
[ "$(jq -r '.inputs | join(",")' "$TMP/created.json")" = "10,20" ] || fail "inputs"
[ "$(jq -r '.cli_args | join(" ")' "$TMP/created.json")" = "--invoke add" ] || fail "cli_args"
[ "$(jq -r .file "$TMP/created.json")" = "AGFzbQEAAAA=" ] || fail "file"
cli task list >"$TMP/list.txt" || fail "task list"
grep -q "$TASK" "$TMP/list.txt" && grep -q Pending "$TMP/list.txt" || fail "list: $(cat "$TMP/list.txt")"
cli task list --metadata team=nope --json | jq -e '.total == 0' >/dev/null || fail "metadata filter"
cli task get "$TASK" | grep -q '^state  *Pending' || fail "task get"
cli task update "$TASK" --priority 7 --json | jq -e '.priority == 7' >/dev/null || fail "update"
wait_for cli proplet get "$PROPLET_ID" --json >/dev/null || fail "proplet get"
heartbeat
cli task start "$TASK" | grep -q "started task $TASK" || fail "task start"
proplet_pub control/proplet/results "{\"task_id\":\"$TASK\",\"results\":\"30\\n\",\"error\":null}"
got_results() { [ "$(cli task results "$TASK")" = "30" ]; }
wait_for got_results || fail "task results: $(cli task results "$TASK")"
cli task get "$TASK" | grep -q 'Completed' || fail "completed"
cli proplet list >"$TMP/plist.txt" || fail "proplet list"
grep -q "$PROPLET_ID" "$TMP/plist.txt" || fail "proplet list: $(cat "$TMP/plist.txt")"
cli proplet list --status inactive --json | jq -e '.total == 0' >/dev/null || fail "status filter"
set +e
cli task get not-a-uuid 2>"$TMP/e1"; rc1=$?
cli task get "$(uuid)" 2>"$TMP/e2"; rc2=$?
cli proplet delete "$PROPLET_ID" 2>"$TMP/e3"; rc3=$?
"$PROPELLER" task list -m http://127.0.0.1:1 2>"$TMP/e4"; rc4=$?
cli task frobnicate "$TASK" 2>/dev/null; rc5=$?
set -e
[ $rc1 = 2 ] && grep -q UUID "$TMP/e1" || fail "bad id: $rc1 $(cat "$TMP/e1")"
[ $rc2 = 1 ] && grep -q "HTTP 404" "$TMP/e2" || fail "unknown id: $rc2 $(cat "$TMP/e2")"
[ $rc3 = 1 ] && grep -q "HTTP 409" "$TMP/e3" || fail "delete busy proplet: $(cat "$TMP/e3")"
[ $rc4 = 1 ] && grep -qi "connect" "$TMP/e4" || fail "unreachable: $(cat "$TMP/e4")"
[ $rc5 = 2 ] || fail "unknown subcommand: $rc5"
cli task stop "$TASK" >/dev/null || fail "task stop"
cli proplet delete "$PROPLET_ID" | grep -q deleted || fail "proplet delete"
cli task delete "$TASK" | grep -q deleted || fail "task delete"
ok "propeller task / proplet commands"

# --- broker restart: the manager reconnects and re-subscribes ------------
kill "$MQ_PID"
wait "$MQ_PID" 2>/dev/null || true
sleep 0.5
start_mosquitto
p2_alive() {
	mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" -i "$P2_ID" -u "$P2_ID" -P "$P2_KEY" \
		-t "$BASE/control/proplet/alive" \
		-m "{\"proplet_id\":\"$P2_ID\",\"status\":\"alive\"}" 2>/dev/null || return 1
	api GET "/proplets/$P2_ID"
	[ "$CODE" = 200 ]
}
registered=0
for _ in $(seq 1 40); do
	if p2_alive; then registered=1; break; fi
	sleep 0.25
done
[ $registered = 1 ] || fail "manager did not re-subscribe after the broker restart"
[ "$(grep -c 'connected to the MQTT broker' "$TMP/manager.log")" -ge 2 ] || fail "no reconnect logged"
ok "manager reconnected and re-subscribed after a broker restart"
kill -TERM "$MGR_PID"
wait "$MGR_PID" || fail "manager exit status"
echo "all provision/CLI checks passed"
