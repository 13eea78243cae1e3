#!/usr/bin/env bash
# propeller-manager against a real mosquitto (password file + ACL), with the
# proplet side played by mosquitto_pub/mosquitto_sub on the real wire:
# registration from discovery/heartbeat, start payload, results, stop,
# liveness timeout, restart recovery, malformed input.
# usage: manager_e2e.sh <propeller-manager binary>
MANAGER_BIN=${1:?usage: manager_e2e.sh <propeller-manager>}
# shellcheck source=tests/integration/manager_lib.sh
. "$(dirname "$0")/manager_lib.sh"

start_broker
start_manager MANAGER_STORAGE_TYPE=sqlite MANAGER_SQLITE_PATH="$TMP/m.db" \
	MANAGER_LIVENESS_TIMEOUT=3s

api GET /health
expect_code 200 health
[ "$(jget .status)" = pass ] || fail "health: $RESP"
[ "$(jget .description)" = "manager service" ] || fail "health: $RESP"
ok "health"

# --- registration ---------------------------------------------------------
proplet_pub control/proplet/create "{\"proplet_id\":\"$PROPLET_ID\",\"namespace\":\"default\",\"metadata\":{\"environment\":\"binary\",\"os\":\"linux\",\"hostname\":\"edge-1\",\"cpu_arch\":\"x86_64\",\"total_memory_bytes\":16772296704,\"proplet_version\":\"0.5.0\",\"wasm_runtime\":\"wasmtime-internal\"}}"
heartbeat
registered() {
	api GET "/proplets/$PROPLET_ID"
	[ "$CODE" = 200 ] && [ "$(jget .alive)" = true ]
}
wait_for registered || fail "proplet not registered/alive: $CODE $RESP"
[ "$(jget .metadata.hostname)" = edge-1 ] || fail "metadata: $RESP"
[ "$(jget .metadata.total_memory_bytes)" = 16772296704 ] || fail "metadata: $RESP"
[ "$(jget .task_count)" = 0 ] || fail "task_count: $RESP"
[ "$(jget '.last_alive_at | length > 0')" = true ] || fail "last_alive_at: $RESP"
api GET "/proplets?status=active"
[ "$(jget .total)" = 1 ] || fail "active proplets: $RESP"
ok "proplet registered from discovery + heartbeat"

# The LWT-style offline notice is ignored: no phantom proplet appears.
PHANTOM=$(uuid)
proplet_pub control/proplet/alive "{\"status\":\"offline\",\"proplet_id\":\"$PHANTOM\"}"
sleep 0.3
api GET "/proplets/$PHANTOM"
expect_code 404 "offline notice must not register a proplet"
ok "offline notice ignored"

# --- create + start: exact start payload ----------------------------------
api POST /tasks '{"name":"add","file":"AGFzbQEAAAA=","inputs":[10,20],"cli_args":["--invoke","add"],"env":{"K":"V"},"metadata":{"team":"a"}}'
expect_code 201 "create"
TASK=$(jget .id)
[ "$(jget .state)" = 0 ] || fail "new task state: $RESP"
[ "$(jget '.inputs | join(",")')" = "10,20" ] || fail "inputs as strings: $RESP"
[ "$(jget .start_time)" = "0001-01-01T00:00:00Z" ] || fail "zero time: $RESP"
ok "task created"

proplet_sub control/manager/start "$TMP/start.json"
heartbeat
api POST "/tasks/$TASK/start"
expect_code 200 "start"
[ "$RESP" = '{"started":true}' ] || fail "start body: $RESP"
sub_wait || fail "no start message received"
want=$(jq -cn --arg id "$TASK" --arg p "$PROPLET_ID" '{id:$id,name:"add",state:0,
	file:"AGFzbQEAAAA=",inputs:["10","20"],cli_args:["--invoke","add"],
	broadcast:false,daemon:false,latent:false,env:{K:"V"},encrypted:false,
	proplet_id:$p}')
got=$(jq -cS . "$TMP/start.json")
[ "$got" = "$(printf '%s' "$want" | jq -cS .)" ] || fail "start payload: $got"
grep -q metadata "$TMP/start.json" && fail "metadata leaked to the proplet"
ok "start payload exact"

api GET "/tasks/$TASK"
[ "$(jget .state)" = 2 ] || fail "running state: $RESP"
[ "$(jget .proplet_id)" = "$PROPLET_ID" ] || fail "pinned: $RESP"
api GET "/proplets/$PROPLET_ID"
[ "$(jget .task_count)" = 1 ] || fail "task_count after start: $RESP"
api POST "/tasks/$TASK/start"
expect_code 409 "double start"
ok "running, pinned, counted"

# --- result ----------------------------------------------------------------
proplet_pub control/proplet/results "{\"task_id\":\"$TASK\",\"proplet_id\":\"$PROPLET_ID\",\"results\":\"30\\n\",\"error\":null}"
completed() {
	api GET "/tasks/$TASK"
	[ "$(jget .state)" = 3 ]
}
wait_for completed || fail "task not completed: $RESP"
[ "$(jget .results)" = "30" ] || fail "results: $RESP"
[ "$(jget .finish_time)" != "0001-01-01T00:00:00Z" ] || fail "finish_time: $RESP"
[ "$(jget 'has("error")')" = false ] || fail "error on success: $RESP"
api GET "/tasks/$TASK/results"
[ "$RESP" = '{"results":"30\n"}' ] || fail "results endpoint: $RESP"
ok "result stored, task completed"

# A failing result marks Failed with the reason.
api POST /tasks '{"name":"bad","image_url":"docker.io/acme/x:1"}'
FAILING=$(jget .id)
heartbeat
api POST "/tasks/$FAILING/start"
expect_code 200 "start failing task"
proplet_pub control/proplet/results "{\"task_id\":\"$FAILING\",\"results\":\"\",\"error\":\"wasm trap: unreachable\"}"
failed() {
	api GET "/tasks/$FAILING"
	[ "$(jget .state)" = 4 ]
}
wait_for failed || fail "task not failed: $RESP"
[ "$(jget .error)" = "wasm trap: unreachable" ] || fail "error text: $RESP"
ok "error result marks the task failed"

# --- stop ------------------------------------------------------------------
api POST /tasks '{"name":"loop","file":"AGFzbQEAAAA=","daemon":true}'
LONG=$(jget .id)
heartbeat
api POST "/tasks/$LONG/start"
expect_code 200 "start long task"
proplet_sub control/manager/stop "$TMP/stop.json"
api POST "/tasks/$LONG/stop"
expect_code 200 "stop"
[ "$RESP" = '{"stopped":true}' ] || fail "stop body: $RESP"
sub_wait || fail "no stop message"
want=$(jq -cnS --arg id "$LONG" --arg p "$PROPLET_ID" '{id:$id,broadcast:false,proplet_id:$p}')
[ "$(jq -cS . "$TMP/stop.json")" = "$want" ] || fail "stop payload: $(cat "$TMP/stop.json")"
api GET "/tasks/$LONG"
[ "$(jget .state)" = 6 ] || fail "stopped state: $RESP"
[ "$(jget 'has("proplet_id")')" = false ] || fail "unpinned: $RESP"
api POST "/tasks/$TASK/stop"
expect_code 200 "stop completed task"
api GET "/proplets/$PROPLET_ID"
[ "$(jget .task_count)" = 1 ] || fail "task_count after stops: $RESP"
api DELETE "/proplets/$PROPLET_ID"
expect_code 409 "delete proplet with tasks"
ok "stop publishes, unpins, interrupts"

# --- malformed MQTT payloads never crash the daemon -----------------------
proplet_pub control/proplet/results 'not json'
proplet_pub control/proplet/results '{"task_id":42}'
proplet_pub control/proplet/results "{\"task_id\":\"$(uuid)\",\"results\":\"x\"}"
proplet_pub control/proplet/alive '{"proplet_id":"not-a-uuid"}'
proplet_pub control/proplet/create '[1,2,3]'
head -c 2000000 /dev/zero | tr '\0' 'a' >"$TMP/big"
mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" -i "$PROPLET_ID" -u "$PROPLET_ID" \
	-P "$PROPLET_KEY" -t "$BASE/control/proplet/alive" -f "$TMP/big"
all_rejected() {
	api GET /metrics
	[ "$CODE" = 200 ] || return 1
	rejected=$(printf '%s\n' "$RESP" | awk '/^propeller_manager_mqtt_messages_rejected_total/ {print $2}')
	[ "${rejected:-0}" -ge 6 ]
}
wait_for all_rejected || fail "rejected count ${rejected:-none} (metrics $CODE)"
grep -q 'field \\"task_id\\" must be a UUID' "$TMP/manager.log" || \
	grep -q 'task_id' "$TMP/manager.log" || fail "no clear refusal logged"
grep -q 'exceeds the limit' "$TMP/manager.log" || fail "oversize payload not reported"
kill -0 "$MGR_PID" || fail "manager died on malformed input"
ok "malformed MQTT payloads refused with reasons"

# --- malformed API requests -----------------------------------------------
api POST /tasks '{"name":'
expect_code 400 "truncated JSON"
[ -n "$(jget .error)" ] || fail "no error text"
curl -s -o "$TMP/resp" -w '%{http_code}' -X POST -H 'Content-Type: text/plain' \
	--data '{"name":"x"}' "$HTTP/tasks" >"$TMP/code"
[ "$(cat "$TMP/code")" = 400 ] || fail "content type check"
api POST /tasks '{"name":"x","inputs":[{}],"priority":500}'
expect_code 400 "bad fields"
printf '%s' "$RESP" | grep -q 'inputs' || fail "inputs not named: $RESP"
printf '%s' "$RESP" | grep -q 'priority' || fail "priority not named: $RESP"
api POST /tasks "{\"name\":\"x\",\"broadcast\":true,\"proplet_id\":\"$PROPLET_ID\"}"
expect_code 400 "broadcast + proplet_id"
api POST /tasks '{"name":"x","encrypted":true,"file":"AGFzbQEAAAA="}'
expect_code 400 "encrypted with file"
api GET /tasks/not-a-uuid
expect_code 400 "bad id"
api GET "/tasks/$(uuid)"
expect_code 404 "unknown task"
api GET "/tasks?limit=0"
expect_code 400 "limit 0"
api GET "/tasks?limit=101"
expect_code 400 "limit 101"
api GET "/tasks?limit=2&offset=1"
expect_code 200 "paging"
[ "$(jget .total)" = 3 ] && [ "$(jget '.tasks | length')" = 2 ] || fail "paging: $RESP"
api GET "/tasks?metadata=%7B%22team%22%3A%22a%22%7D"
[ "$(jget .total)" = 1 ] && [ "$(jget '.tasks[0].id')" = "$TASK" ] || fail "metadata filter: $RESP"
# An announced 200 MB body is refused before it is read.
code=$(python3 - "$HTTP_PORT" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: 200000000\r\n\r\n{")
print(s.recv(200).split(b" ")[1].decode())
EOF
)
[ "$code" = 413 ] || fail "oversize body: $code"
kill -0 "$MGR_PID" || fail "manager died on malformed API input"
ok "malformed API requests refused (400/404/413)"

# --- liveness: the proplet dies mid-task ----------------------------------
api POST /tasks '{"name":"doomed","file":"AGFzbQEAAAA="}'
DOOMED=$(jget .id)
heartbeat
api POST "/tasks/$DOOMED/start"
expect_code 200 "start doomed task"
sleep 3.3
lost() {
	api GET "/tasks/$DOOMED"
	[ "$(jget .state)" = 6 ]
}
wait_for lost || fail "task of a dead proplet not interrupted: $RESP"
[ "$(jget .error)" = "proplet $PROPLET_ID is not alive" ] || fail "lost error: $RESP"
grep -q "task=$DOOMED proplet=$PROPLET_ID" "$TMP/manager.log" || fail "lost task not reported"
api GET "/proplets/$PROPLET_ID"
[ "$(jget .alive)" = false ] || fail "still alive after the timeout: $RESP"
api POST /tasks '{"name":"late","file":"AGFzbQEAAAA="}'
LATE=$(jget .id)
api POST "/tasks/$LATE/start"
expect_code 500 "start with no alive proplet"
[ "$(jget .error)" = "all proplets are dead" ] || fail "dead message: $RESP"
ok "liveness timeout: dead proplet's task interrupted and reported"

# --- restart: tasks and results survive; running tasks are reported ------
heartbeat
api POST "/tasks/$LATE/start"
expect_code 200 "start before restart"
stop_manager
start_manager MANAGER_STORAGE_TYPE=sqlite MANAGER_SQLITE_PATH="$TMP/m.db" \
	MANAGER_LIVENESS_TIMEOUT=3s MANAGER_API_TOKEN=0123456789abcdef-token
api GET "/tasks/$TASK"
expect_code 401 "token required"
AUTH_HEADER="Authorization: Bearer 0123456789abcdef-token"
api GET "/tasks/$TASK"
expect_code 200 "with token"
[ "$(jget .state)" = 3 ] && [ "$(jget .results)" = 30 ] || fail "lost result: $RESP"
api GET "/tasks/$LATE"
[ "$(jget .state)" = 6 ] || fail "running task not marked: $RESP"
[ "$(jget .error)" = "manager restarted while the task was running" ] || fail "$RESP"
grep -q "task=$LATE" "$TMP/manager.log" || fail "recovered task not reported"
api GET /tasks
[ "$(jget .total)" = 5 ] || fail "tasks lost: $RESP"
# Its result still lands after the restart.
proplet_pub control/proplet/results "{\"task_id\":\"$LATE\",\"results\":\"ok\",\"error\":null}"
late_done() {
	api GET "/tasks/$LATE"
	[ "$(jget .state)" = 3 ]
}
wait_for late_done || fail "late result after restart: $RESP"
api DELETE "/tasks/$FAILING"
expect_code 204 "delete task"
api GET "/tasks/$FAILING"
expect_code 404 "deleted task"
ok "restart keeps tasks and results; running tasks reported"
stop_manager

# --- startup errors are clear and complete --------------------------------
if env -i PATH="$PATH" MANAGER_MQTT_QOS=7 MANAGER_HTTP_PORT=x \
	MANAGER_CONFIG_FILE=/nonexistent "$MANAGER_BIN" >"$TMP/cfg.log" 2>&1; then
	fail "manager started with a bad configuration"
fi
for v in MANAGER_MQTT_QOS MANAGER_HTTP_PORT MANAGER_TENANT_ID MANAGER_ENTITY_ID \
	MANAGER_API_KEY MANAGER_CHANNEL_ID; do
	grep -q "$v" "$TMP/cfg.log" || fail "$v not reported: $(cat "$TMP/cfg.log")"
done
if env MANAGER_MQTT_ADDRESS="tcp://127.0.0.1:$MQ_PORT" MANAGER_TENANT_ID="$TENANT" \
	MANAGER_ENTITY_ID="$MGR_ID" MANAGER_API_KEY=wrong-key \
	MANAGER_CHANNEL_ID="$CHANNEL" MANAGER_HTTP_HOST=127.0.0.1 \
	MANAGER_HTTP_PORT="$(free_port)" MANAGER_MQTT_TIMEOUT=5s \
	"$MANAGER_BIN" >"$TMP/auth.log" 2>&1; then
	fail "manager started with a wrong MQTT password"
fi
grep -q "refused the connection" "$TMP/auth.log" || fail "unclear MQTT auth error: $(cat "$TMP/auth.log")"
ok "bad configuration and wrong broker credentials refused at startup"
echo "all manager e2e checks passed"
