#!/usr/bin/env bash
# Cost of fetching through the helper program: task latency of encrypted
# tasks (pull, attest, KBS key, decrypt, run from the cached tier-2 object)
# and of plain registry pulls, start-to-finish as the manager records it,
# the proplet's VmRSS after them, plus its CPU per task (user+sys of the daemon and its children:
# the fetch helper and the engine's task process).
# Each proplet binary given in PROPLETS (default: this build's) runs in
# turn against the same broker, registry and KBS, ROUNDS times, W warm
# tasks of each kind per round; medians per binary are printed, so a
# baseline binary can be compared in the same run:
#   PROPLETS="/tmp/base/build/src/proplet/proplet build/src/proplet/proplet" \
#     bench/proplet/fetch.sh build
# usage: bench/proplet/fetch.sh [BUILD_DIR]   (ROUNDS=3, W=10)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-$root/build}" && pwd)
export PROPELLER_BINARY_DIR=$B
ROUNDS=${ROUNDS:-3}
W=${W:-10}
PROPLETS=${PROPLETS:-$B/src/proplet/proplet}
cmake --build "$B" -j2 --target proplet proplet-fetch propeller-manager \
	propeller-kbs propeller wasm_addition >/dev/null
# shellcheck source=../../tests/integration/e2e_lib.sh
. "$root/tests/integration/e2e_lib.sh"

ms() { # ISO start, ISO finish -> milliseconds
	python3 -c 'import sys, datetime as d
f = lambda s: d.datetime.fromisoformat(s.replace("Z", "+00:00"))
print(round((f(sys.argv[2]) - f(sys.argv[1])).total_seconds() * 1000, 1))' "$1" "$2"
}
cpu_ticks() { # pid: utime+stime+cutime+cstime
	awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

start_broker
start_registry
start_kbs
start_manager MANAGER_LOG_LEVEL=warn
openssl rand -base64 32 >"$TMP/key.b64"
kbs_admin set-resource --path default/key/bench --resource-file "$TMP/key.b64" >/dev/null
kbs_admin set-resource-policy --allow-all >/dev/null
"$CLI" image push --tls-verify=false "$ADDITION" "docker://$REG/bench/add:latest" >/dev/null
"$CLI" image encrypt --tls-verify=false \
	--key "provider:attestation-agent:keypath=$TMP/key.b64::keyid=kbs:///default/key/bench" \
	"docker://$REG/bench/add:latest" "docker://$REG/bench/add:enc" >/dev/null
ENC="{\"name\":\"add\",\"proplet_id\":\"$PROPLET_ID\",\"encrypted\":true,\"image_url\":\"$REG/bench/add:enc\",\"cli_args\":[\"--invoke\",\"add\"],\"inputs\":[1,2]}"
PLAIN="{\"name\":\"add\",\"proplet_id\":\"$PROPLET_ID\",\"image_url\":\"$REG/bench/add:latest\",\"cli_args\":[\"--invoke\",\"add\"],\"inputs\":[1,2]}"
hz=$(getconf CLK_TCK)
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
	n=0
	for bin in $PROPLETS; do
		n=$((n + 1))
		PROPLET_BIN=$bin
		rm -rf "$TMP/wasm-cache"
		start_proplet PROPLET_TEE=sample PROPLET_KBS_URI="$KBS_URL" \
			PROPLET_LOG_LEVEL=info PROPLET_IMAGE_FETCH=direct PROPLET_WASM_TIER=2
		wait_for proplet_alive || fail "proplet not alive"
		run_task "$ENC"
		[ "$(jget .state)" = 3 ] || fail "encrypted: $RESP"
		run_task "$PLAIN"
		[ "$(jget .state)" = 3 ] || fail "plain: $RESP"
		sleep 3 # the background tier-2 builds land in the caches
		for kind in ENC PLAIN; do
			c0=$(cpu_ticks "$PROPLET_PID")
			for _ in $(seq 1 "$W"); do
				run_task "${!kind}"
				[ "$(jget .state)" = 3 ] || fail "$kind: $RESP"
				ms "$(jget .start_time)" "$(jget .finish_time)" >>"$TMP/$n.$kind.ms"
			done
			c1=$(cpu_ticks "$PROPLET_PID")
			echo "scale=1; ($c1 - $c0) * 1000 / $hz / $W" | bc >>"$TMP/$n.$kind.cpu"
		done
		awk '/^VmRSS/ {print $2}' "/proc/$PROPLET_PID/status" >>"$TMP/$n.rss"
		awk '/^[0-9a-f]+-[0-9a-f]+ / {name = (NF >= 6) ? $6 : "[anon]"; sub(/.*\//, "", name); next}
			/^Rss:/ {rss[name] += $2}
			END {for (k in rss) if (rss[k] >= 64) printf "%d kB %s, ", rss[k], k}' \
			"/proc/$PROPLET_PID/smaps" >"$TMP/$n.smaps"
		kill "$PROPLET_PID"
		wait "$PROPLET_PID" 2>/dev/null || true
	done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
n=0
for bin in $PROPLETS; do
	n=$((n + 1))
	for kind in ENC PLAIN; do
		printf '%s %-5s warm p50 %6s ms (max %s, %d tasks), proplet CPU/task %s ms (median of %d rounds)\n' \
			"$bin" "$kind" "$(median <"$TMP/$n.$kind.ms")" \
			"$(sort -n "$TMP/$n.$kind.ms" | tail -n1)" "$(wc -l <"$TMP/$n.$kind.ms")" \
			"$(median <"$TMP/$n.$kind.cpu")" "$ROUNDS"
	done
	printf '%s VmRSS after its tasks: %s kB (median of %d rounds); last round: %s\n' \
		"$bin" "$(median <"$TMP/$n.rss")" "$ROUNDS" "$(cat "$TMP/$n.smaps")"
done
