#!/usr/bin/env bash
# End to end, when things go wrong: a long-running task is stopped; the
# broker restarts mid-run and the result still arrives; the manager
# restarts and every task and result is still there; a proplet killed
# mid-task is marked not alive within the liveness timeout.
. "$(dirname "$0")/e2e_lib.sh"

SLEEPER=$BIN/tests/integration/sleeper.wasm
FILE=$(base64 -w0 "$SLEEPER")
sleeper_task() { # milliseconds
	printf '{"name":"_start","file":"%s","cli_args":[],"inputs":["%s"]}' "$FILE" "$1"
}

start_broker
start_manager MANAGER_STORAGE_TYPE=sqlite MANAGER_SQLITE_PATH="$TMP/manager.db"
start_proplet PROPLET_TEE=none
wait_for proplet_alive || fail "proplet not alive"

# Stop: a 60 s task is killed on request and reported Failed.
create_task "$(sleeper_task 60000)"
api POST "/tasks/$TASK/start"
expect_code 200 "start"
wait_for grep -qs "task=$TASK" "$TMP/proplet.log" || fail "the task never started"
sleep 0.5
api POST "/tasks/$TASK/stop"
expect_code 200 "stop"
stopped_task=$TASK
# Our manager marks a stopped task Interrupted (6); the proplet's report
# (Failed, 4, upstream) may land first. Either way it ends, with the error.
check_stopped() {
	api GET "/tasks/$stopped_task"
	case "$(jget .state)" in 4|6) return 0 ;; *) return 1 ;; esac
}
wait_for check_stopped || fail "stopped task did not end: $RESP"
wait_for grep -qs "stop: task $stopped_task stopping" "$TMP/proplet.log" ||
	fail "the proplet did not act on the stop"
ok "stop of a long-running task: state $(jget .state), error \"$(jget .error)\""

# The broker restarts while a task runs: the proplet reconnects and the
# result still arrives.
create_task "$(sleeper_task 2500)"
api POST "/tasks/$TASK/start"
expect_code 200 "start"
wait_for grep -qs "task=$TASK" "$TMP/proplet.log" || fail "the task never started"
kill "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null || true
sleep 1
mosquitto -c "$TMP/mosquitto.conf" >>"$TMP/mosquitto.log" 2>&1 &
BROKER_PID=$!
PIDS+=("$BROKER_PID")
wait_port "$MQ_PORT"
check_done() {
	api GET "/tasks/$TASK"
	[ "$(jget .state)" = 3 ]
}
for _ in 1 2 3 4; do wait_for check_done && break; done
check_done || fail "no result after the broker restart: $RESP"
printf '%s' "$RESP" | jq -e '.results == "slept 2500\n"' >/dev/null || fail "results: $RESP"
ok "broker restarted mid-run: the proplet reconnected and the result arrived"

# The manager restarts: tasks and results are all there.
done_task=$TASK
api GET "/tasks?limit=100"
before=$(jget .total)
stop_manager
start_manager MANAGER_STORAGE_TYPE=sqlite MANAGER_SQLITE_PATH="$TMP/manager.db"
api GET "/tasks?limit=100"
[ "$(jget .total)" = "$before" ] || fail "task count changed across a restart: $RESP"
api GET "/tasks/$done_task"
printf '%s' "$RESP" | jq -e '.state == 3 and .results == "slept 2500\n"' >/dev/null ||
	fail "result lost across a manager restart: $RESP"
api GET "/tasks/$stopped_task"
case "$(jget .state)" in 4|6) ;; *) fail "stopped task changed across a restart: $RESP" ;; esac
ok "manager restarted: $before tasks with their states and results kept"

# A proplet killed mid-task is marked not alive within the 10 s timeout.
wait_for proplet_alive || fail "proplet not alive after the manager restart"
create_task "$(sleeper_task 60000)"
api POST "/tasks/$TASK/start"
wait_for grep -qs "task=$TASK" "$TMP/proplet.log" || fail "the task never started"
kill -KILL "$PROPLET_PID"
t0=$(date +%s)
not_alive() { ! proplet_alive; }
for _ in 1 2 3; do wait_for not_alive && break; done
not_alive || fail "killed proplet still alive after $(( $(date +%s) - t0 )) s"
[ $(( $(date +%s) - t0 )) -le 12 ] || fail "liveness took too long"
ok "killed proplet marked not alive after $(( $(date +%s) - t0 )) s"

echo "e2e resilience: all passed"
