#!/usr/bin/env bash
# End to end, plain tasks: the real manager, proplet, proxy, mosquitto and
# docker-registry. A task by `file`, by registry `image_url` (direct pull),
# by proxy chunks, a failing module, a refused encrypted task without a
# TEE, a stop of a long-running task, and malformed input on both the API
# and the MQTT side that must never crash a daemon.
. "$(dirname "$0")/e2e_lib.sh"

start_broker
start_registry
start_manager
start_proplet PROPLET_IMAGE_FETCH=direct PROPLET_TEE=none
wait_for proplet_alive || fail "proplet never became alive at the manager"
api GET "/proplets/$PROPLET_ID"
[ "$(jget .metadata.environment)" = binary ] || fail "discovery metadata: $RESP"
ok "proplet announced itself (discovery + heartbeats)"

FILE=$(base64 -w0 "$ADDITION")
run_task "{\"name\":\"add\",\"file\":\"$FILE\",\"inputs\":[10,20]}"
[ "$(jget .state)" = 3 ] || fail "file task: $RESP"
[ "$(jget .results)" = 30 ] || fail "file task results: $RESP"
ok "task by file: Completed, results 30 (in-process form)"

run_task "{\"name\":\"add\",\"file\":\"$FILE\",\"cli_args\":[\"--invoke\",\"add\"],\"inputs\":[\"7\",\"8\"]}"
[ "$(jget .results)" = "15" ] || fail "cli task results: $RESP"
printf '%s' "$RESP" | jq -e '.results == "15\n"' >/dev/null || fail "cli form must keep the newline: $RESP"
ok "task by file with cli_args: results \"15\\n\" (CLI form)"

"$CLI" image push --tls-verify=false "$ADDITION" "docker://$REG/wasm/addition:v1" >/dev/null
run_task "{\"name\":\"add\",\"image_url\":\"$REG/wasm/addition:v1\",\"inputs\":[1,2]}"
[ "$(jget .state)" = 3 ] && [ "$(jget .results)" = 3 ] || fail "registry task: $RESP"
ok "task by registry image_url (direct pull)"

run_task "{\"name\":\"add\",\"image_url\":\"$REG/wasm/missing:v1\",\"inputs\":[1,2]}"
[ "$(jget .state)" = 4 ] || fail "missing image must fail: $RESP"
[ -n "$(jget .error)" ] || fail "missing image: no error text: $RESP"
ok "a missing image fails with: $(jget .error | head -c 120)"

run_task "{\"name\":\"add\",\"file\":\"$(printf 'not wasm' | base64 -w0)\",\"inputs\":[1,2]}"
[ "$(jget .state)" = 4 ] || fail "garbage module must fail: $RESP"
jget .error | grep -qi "magic\|wasm" || fail "garbage module error: $RESP"
ok "a non-wasm file fails cleanly"

run_task "{\"name\":\"add\",\"encrypted\":true,\"image_url\":\"$REG/wasm/addition:v1\",\"inputs\":[1,2]}"
[ "$(jget .state)" = 4 ] && [ "$(jget .error)" = "TEE runtime not available" ] ||
	fail "encrypted task without a TEE: $RESP"
ok "an encrypted task without a TEE runtime is refused"

# Proxy chunks: a second proplet that fetches through the proxy.
kill "$PROPLET_PID"; wait "$PROPLET_PID" 2>/dev/null || true
start_proxy
start_proplet PROPLET_IMAGE_FETCH=proxy PROPLET_TEE=none
run_task "{\"name\":\"add\",\"image_url\":\"$REG/wasm/addition:v1\",\"inputs\":[20,22]}"
[ "$(jget .state)" = 3 ] && [ "$(jget .results)" = 42 ] || fail "proxy task: $RESP"
grep -q "served" "$TMP/proxy.log" || fail "the proxy did not serve it"
ok "task by proxy chunks"

# External runtime (PROPLET_EXTERNAL_WASM_RUNTIME), driven with wasmtime's
# command line: our own `propeller wasm` has that shape.
kill "$PROPLET_PID"; wait "$PROPLET_PID" 2>/dev/null || true
printf '#!/bin/sh\nexec "%s" wasm "$@"\n' "$CLI" >"$TMP/wasmtime"
chmod +x "$TMP/wasmtime"
start_proplet PROPLET_TEE=none PROPLET_EXTERNAL_WASM_RUNTIME="$TMP/wasmtime"
runtime_announced() {
	api GET "/proplets/$PROPLET_ID"
	[ "$(jget .metadata.wasm_runtime)" = "$TMP/wasmtime" ]
}
wait_for runtime_announced || fail "discovery wasm_runtime: $RESP"
run_task "{\"name\":\"add\",\"file\":\"$FILE\",\"inputs\":[10,20]}"
printf '%s' "$RESP" | jq -e '.state == 3 and .results == "30\n"' >/dev/null ||
	fail "external runtime result: $RESP"
run_task "{\"name\":\"add\",\"file\":\"$FILE\",\"inputs\":[10]}"
[ "$(jget .state)" = 4 ] || fail "external runtime, bad arity: $RESP"
jget .error | grep -q "Process exited with status" || fail "external error form: $RESP"
ok "external runtime: \"30\\n\" (raw stdout), failures as \"$(jget .error | head -c 60)...\""

# Malformed MQTT payloads on the proplet's topics never crash it.
for bad in '{' '[]' '{"id":"x"}' "{\"id\":\"$(uuid)\",\"name\":\"\"}" \
	"$(head -c 3000 /dev/urandom | base64 -w0)"; do
	mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" -i "$MGR_ID-bad" -u "$MGR_ID" \
		-P "$MGR_KEY" -q 1 -t "$BASE/control/manager/start" -m "$bad"
done
mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" -i "$MGR_ID-bad" -u "$MGR_ID" \
	-P "$MGR_KEY" -q 1 -t "$BASE/registry/server" -m '{"app_name":"x","chunk_idx":9,"total_chunks":2,"data":"AA=="}'
wait_for grep -qs "malformed message ignored" "$TMP/proplet.log" ||
	fail "no log of the malformed start"
kill -0 "$PROPLET_PID" || fail "the proplet died on malformed messages"
run_task "{\"name\":\"add\",\"file\":\"$FILE\",\"inputs\":[2,2]}"
[ "$(jget .results)" = 4 ] || fail "after malformed input: $RESP"
ok "malformed MQTT payloads are logged and ignored"

api POST /tasks '{"name":'
[ "$CODE" = 400 ] || fail "bad JSON: want 400, got $CODE"
kill -0 "$MGR_PID" || fail "the manager died on a bad body"
ok "malformed API body refused with 400"

echo "e2e plain: all passed"
