#!/usr/bin/env bash
# Proplet idle memory: starts mosquitto (password file + ACL) and then the
# proplet RUNS times, each time with the default configuration except a 1 s
# heartbeat and a 1 s metrics interval. A start counts once the proplet is
# connected and subscribed ("running" in its log) and two heartbeats and a
# metrics message have reached the broker (seen by mosquitto_sub with the
# manager's account); then VmRSS and the smaps breakdown of the daemon are
# read, and the proplet is stopped with SIGTERM.
# Prints each start, the median VmRSS, and the per-mapping Rss of the start
# closest to the median (anonymous, heap, stacks, each shared object).
# usage: bench/proplet/rss.sh [BUILD_DIR]   (RUNS=7, TEE=none|sample|auto;
#        PROPLET=path measures another proplet binary, e.g. a baseline)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-$root/build}" && pwd)
export PROPELLER_BINARY_DIR=$B
RUNS=${RUNS:-7}
TEE=${TEE:-auto}
cmake --build "$B" -j2 --target proplet proplet-fetch >/dev/null 2>&1 ||
	cmake --build "$B" -j2 --target proplet >/dev/null
# shellcheck source=../../tests/integration/e2e_lib.sh
. "$root/tests/integration/e2e_lib.sh"
PROPLET_BIN=${PROPLET:-$PROPLET_BIN}

# breakdown PID: "Rss_kB name" per mapping group, largest first.
breakdown() {
	awk '
	/^[0-9a-f]+-[0-9a-f]+ / {
		name = (NF >= 6) ? $6 : "[anon]"
		sub(/.*\//, "", name)
		next
	}
	/^Rss:/ { rss[name] += $2 }
	END { for (n in rss) if (rss[n] > 0) printf "%7d kB  %s\n", rss[n], n }
	' "/proc/$1/smaps" | sort -rn
}

start_broker
samples=()
for i in $(seq 1 "$RUNS"); do
	: >"$TMP/proplet.log"
	mosquitto_sub -h 127.0.0.1 -p "$MQ_PORT" -u "$MGR_ID" -P "$MGR_KEY" \
		-t "$BASE/control/proplet/alive" -t "$BASE/control/proplet/metrics" \
		-C 3 -W 30 >"$TMP/sub.out" 2>&1 &
	sub=$!
	sleep 0.2
	start_proplet PROPLET_TEE="$TEE" PROPLET_LOG_LEVEL=info \
		PROPLET_KBS_URI="${KBS:-http://127.0.0.1:9}" \
		PROPLET_LIVELINESS_INTERVAL=1 PROPLET_METRICS_INTERVAL=1
	wait "$sub" || fail "no heartbeats/metrics seen: $(cat "$TMP/sub.out")"
	grep -q '"status":"alive"' "$TMP/sub.out" || fail "no heartbeat seen"
	sleep 0.5
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$PROPLET_PID/status")
	anon=$(awk '/^Anonymous/ {print $2}' "/proc/$PROPLET_PID/smaps_rollup")
	samples+=("$rss")
	echo "start $i: pid $PROPLET_PID VmRSS $rss kB (anonymous $anon kB)"
	breakdown "$PROPLET_PID" >"$TMP/breakdown.$rss"
	grep -E '^(Rss|Pss|Shared_Clean|Private_Clean|Private_Dirty|Anonymous):' \
		"/proc/$PROPLET_PID/smaps_rollup" >"$TMP/rollup.$rss"
	kill "$PROPLET_PID"
	wait "$PROPLET_PID" 2>/dev/null || true
done
median=$(printf '%s\n' "${samples[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "== proplet idle VmRSS: median $median kB over $RUNS starts (min $(printf '%s\n' "${samples[@]}" | sort -n | head -n1), max $(printf '%s\n' "${samples[@]}" | sort -n | tail -n1))"
echo "== smaps_rollup of the median start"
cat "$TMP/rollup.$median"
echo "== Rss by mapping of the median start"
cat "$TMP/breakdown.$median"
