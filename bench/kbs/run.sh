#!/usr/bin/env bash
# Full KBS flows per second: starts propeller-kbs on a free 127.0.0.1 port
# (allow-all policy, one 44-byte resource), then runs kbs_bench for each
# client count, printing flows/s, p50/p99, the client's and the server's
# CPU per flow, the 1-minute load average and the HTTP process's resident
# memory afterwards (the session table grows to --max-sessions: set
# KBS_MAX_SESSIONS to watch eviction under a long run).
#   [KEEPALIVE=1] [KBS_THREADS=N] bench/kbs/run.sh BUILD_DIR [TOTAL_FLOWS] [CLIENTS...]
# (KBS_THREADS: the server's HTTP worker threads, default 4.)
set -euo pipefail
B=${1:?build dir}; TOTAL=${2:-2000}; shift 2 || true
CLIENTS=("$@"); [ ${#CLIENTS[@]} -gt 0 ] || CLIENTS=(1 8 32 64)
W=$(mktemp -d /tmp/kbs-bench.XXXXXX); PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
openssl genpkey -algorithm ed25519 >"$W/a.key" 2>/dev/null
openssl pkey -in "$W/a.key" -pubout -out "$W/a.pub"
openssl rand -base64 32 >"$W/key.b64"
"$B/src/kbs/propeller-kbs" --listen 127.0.0.1:0 --data-dir "$W/data" \
	--admin-public-key "$W/a.pub" 2>"$W/log" &
PID=$!
port=
for _ in $(seq 400); do
	port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$W/log"); [ -n "$port" ] && break
	kill -0 $PID 2>/dev/null || break; sleep 0.05
done
if [ -z "$port" ]; then echo "propeller-kbs did not start:" >&2; cat "$W/log" >&2; exit 1; fi
URL=http://127.0.0.1:$port
"$B/src/cli/propeller" kbs --url "$URL" config --auth-private-key "$W/a.key" \
	set-resource --path default/key/bench --resource-file "$W/key.b64" >/dev/null
"$B/src/cli/propeller" kbs --url "$URL" config --auth-private-key "$W/a.key" \
	set-resource-policy --allow-all >/dev/null
ticks() { # CPU of the server and its vault child, in clock ticks
	local t=0 p; for p in $PID $(cat /proc/$PID/task/*/children 2>/dev/null); do
		t=$((t + $(awk '{print $14+$15}' /proc/"$p"/stat))); done; echo "$t"; }
hz=$(getconf CLK_TCK)
for c in "${CLIENTS[@]}"; do
	f=$(( (TOTAL + c - 1) / c ))
	a=$(ticks)
	res=$("$B/bench/kbs/kbs_bench" --url "$URL" --path default/key/bench --clients "$c" --flows "$f" ${KEEPALIVE:+--keepalive})
	b=$(ticks)
	rss=$(awk '/VmRSS/{printf "%.0f", $2/1024}' /proc/$PID/status)
	echo "$res server_cpu_ms_per_flow=$(awk -v t=$((b - a)) -v n=$((c * f)) -v hz="$hz" 'BEGIN{printf "%.3f", t*1000/hz/n}') load=$(cut -d' ' -f1 /proc/loadavg) server_rss_mb=$rss"
done
