#!/usr/bin/env bash
# End-to-end benchmark: one manager, four proplets, mosquitto, on loopback.
#  1. tasks/s (create + start + result) for a small module whose tier-2
#     object is cached, with start-to-result latency p50/p99;
#  2. the same seen by polling the manager's API (the end-user view);
#  3. encrypted task latency, cold (first pull, attest, compile) and warm;
#  4. proplet idle RSS.
# usage: bench/e2e/run.sh [BUILD_DIR]   (default: build)
#   N, C: tasks and client threads of the throughput run (3000, 64);
#   SKIP_ENCRYPTED=1 stops after the throughput runs; MANAGER_ENV adds
#   NAME=VALUE settings to the manager (e.g. MANAGER_STORAGE_TYPE=sqlite),
#   PROPLET_ENV to the four proplets of the throughput runs; MANAGER=path
#   runs another manager binary (e.g. a baseline).
# e2e_bench prints one JSON line per run: tasks/s, latency p50/p99, the
# 1-minute load average before/after, and the CPU (user+sys, ms) each
# process and its children spent per task.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-$root/build}" && pwd)
export PROPELLER_BINARY_DIR=$B
cmake --build "$B" -j"$(nproc)" --target e2e_bench wasm_bench_tiny proplet proplet-fetch \
	propeller-manager propeller-kbs propeller wasm_addition >/dev/null
# shellcheck source=../../tests/integration/e2e_lib.sh
. "$root/tests/integration/e2e_lib.sh"
MANAGER_BIN=${MANAGER:-$MANAGER_BIN}
N=${N:-3000}
C=${C:-64}
TINY=$B/bench/e2e/bench_tiny.wasm

start_broker
# Three more proplets and a bench account in the same broker.
IDS=("$PROPLET_ID")
for i in 2 3 4; do
	id=$(uuid)
	IDS+=("$id")
	mosquitto_passwd -b "$TMP/passwd" "$id" "$PROPLET_KEY" >/dev/null
	printf 'user %s\ntopic read %s/control/manager/#\ntopic write %s/control/proplet/#\ntopic readwrite %s/registry/#\n\n' \
		"$id" "$BASE" "$BASE" "$BASE" >>"$TMP/acl"
done
BENCH_ID=$(uuid)
mosquitto_passwd -b "$TMP/passwd" "$BENCH_ID" bench >/dev/null
printf 'user %s\ntopic read %s/control/proplet/results\n' "$BENCH_ID" "$BASE" >>"$TMP/acl"
kill -HUP "$BROKER_PID"
sleep 0.3
start_manager MANAGER_LOG_LEVEL=warn ${MANAGER_ENV:-}
CPU_PIDS=(--pid "manager=$MGR_PID" --pid "mosquitto=$BROKER_PID")
PL_PIDS=()
n=0
for id in "${IDS[@]}"; do
	n=$((n + 1))
	PROPLET_ID=$id start_proplet PROPLET_TEE=none PROPLET_LOG_LEVEL=info \
		PROPLET_LIVELINESS_INTERVAL=2 PROPLET_ENABLE_MONITORING=false \
		PROPLET_WASM_TIER=2 ${PROPLET_ENV:-}
	CPU_PIDS+=(--pid "proplet$n=$PROPLET_PID")
	PL_PIDS+=("$PROPLET_PID")
done
sleep 3
rss() { # label
	local pid
	for pid in "${PL_PIDS[@]}"; do
		awk -v l="$1" -v pid="$pid" '/VmRSS/ {printf "proplet %s (%s): RSS %s kB\n", pid, l, $2}' "/proc/$pid/status"
	done
}
echo "== proplet RSS, idle after start"
rss idle
# Warm the tier-2 cache: every proplet shares $TMP/wasm-cache.
FILE=$(base64 -w0 "$TINY")
printf '{"name":"add","file":"%s","inputs":[10,20]}' "$FILE" >"$TMP/task.json"
run_task "$(cat "$TMP/task.json")"
[ "$(jget .results)" = 30 ] || fail "warm-up: $RESP"

echo "== throughput: $N tasks, $C clients, result seen on MQTT"
"$B/bench/e2e/e2e_bench" --manager "$HTTP" --mqtt "tcp://127.0.0.1:$MQ_PORT" \
	--user "$BENCH_ID" --password bench --tenant "$TENANT" --channel "$CHANNEL" \
	--task-json "$TMP/task.json" --tasks "$N" --concurrency "$C" "${CPU_PIDS[@]}"
echo "== throughput: $((N / 3)) tasks, $C clients, polling GET /tasks/{id}"
"$B/bench/e2e/e2e_bench" --manager "$HTTP" --task-json "$TMP/task.json" \
	--tasks "$((N / 3))" --concurrency "$C" --wait-state "${CPU_PIDS[@]}"

echo "== proplet RSS after the load"
rss "after $N tasks"

[ "${SKIP_ENCRYPTED:-0}" = 1 ] && exit 0
echo "== encrypted task latency (sample attester, KBS, registry on loopback)"
start_registry
start_kbs
openssl rand -base64 32 >"$TMP/key.b64"
kbs_admin set-resource --path default/key/bench --resource-file "$TMP/key.b64" >/dev/null
kbs_admin set-resource-policy --allow-all >/dev/null
"$CLI" image push --tls-verify=false "$ADDITION" "docker://$REG/bench/add:latest" >/dev/null
"$CLI" image encrypt --tls-verify=false \
	--key "provider:attestation-agent:keypath=$TMP/key.b64::keyid=kbs:///default/key/bench" \
	"docker://$REG/bench/add:latest" "docker://$REG/bench/add:enc" >/dev/null
ENC_ID=$(uuid)
mosquitto_passwd -b "$TMP/passwd" "$ENC_ID" "$PROPLET_KEY" >/dev/null
printf 'user %s\ntopic read %s/control/manager/#\ntopic write %s/control/proplet/#\n' \
	"$ENC_ID" "$BASE" "$BASE" >>"$TMP/acl"
kill -HUP "$BROKER_PID"
# The throughput proplets, by the ids started above.
kill "${PL_PIDS[@]}" 2>/dev/null || true
sleep 0.5
PROPLET_ID=$ENC_ID start_proplet PROPLET_TEE=sample PROPLET_KBS_URI="$KBS_URL" \
	PROPLET_LOG_LEVEL=info PROPLET_LIVELINESS_INTERVAL=2
sleep 2
# Pinned: the killed proplets still count as alive for up to 10 s.
ENC="{\"name\":\"add\",\"proplet_id\":\"$ENC_ID\",\"encrypted\":true,\"image_url\":\"$REG/bench/add:enc\",\"cli_args\":[\"--invoke\",\"add\"],\"inputs\":[1,2]}"
ms() { python3 -c "import sys,datetime as d; f=lambda s: d.datetime.fromisoformat(s.replace('Z','+00:00')[:26]+'+00:00') if '.' in s else d.datetime.fromisoformat(s.replace('Z','+00:00')); print(round((f(sys.argv[2])-f(sys.argv[1])).total_seconds()*1000,1))" "$1" "$2"; }
run_task "$ENC"
[ "$(jget .state)" = 3 ] || fail "encrypted: $RESP"
echo "cold (pull, attest, decrypt, tier-1 compile): $(ms "$(jget .start_time)" "$(jget .finish_time)") ms start-to-finish"
sleep 5 # let the background tier-2 build land in the secure cache
warm=()
for i in $(seq 1 15); do
	run_task "$ENC"
	warm+=("$(ms "$(jget .start_time)" "$(jget .finish_time)")")
done
printf '%s\n' "${warm[@]}" | sort -n | awk '{a[NR]=$1} END {printf "warm (pull, attest, decrypt, cached tier 2): p50 %s ms, max %s ms over %d runs\n", a[int((NR+1)/2)], a[NR], NR}'
