#!/usr/bin/env bash
# Registry error paths against oci_fault_server.py (bearer tokens, 401,
# 500, dropped connections, truncated/corrupted blobs, oversized manifest):
# each must fail with a clear error and write nothing.
. "$(dirname "$0")/oci_common.sh"

"$PY" "$(dirname "$0")/oci_fault_server.py" "$TD/WASM.wasm" >"$WORK/port" 2>"$WORK/srv.log" &
PIDS+=("$!")
for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
R="127.0.0.1:$(cat "$WORK/port")"
wait_http "http://$R/v2/"
C=(--tls-verify=false --creds bob:pw)

# Bearer token flow (token from the realm with Basic credentials).
"$P" image pull "${C[@]}" "$R/ok/img:1" "$WORK/a.wasm" >/dev/null
cmp "$WORK/a.wasm" "$TD/WASM.wasm"
"$P" image pull "${C[@]}" "$R/ok/cdn:1" "$WORK/b.wasm" >/dev/null
cmp "$WORK/b.wasm" "$TD/WASM.wasm"
curl -s "http://$R/_cdn" >"$WORK/cdn.json"
jq -e 'length >= 2 and all(.[]; .authorization == null and (.host | startswith("localhost:")))' "$WORK/cdn.json" >/dev/null ||
	fail "credentials forwarded to the CDN host: $(cat "$WORK/cdn.json")"
ok "bearer token auth; redirected blobs fetched without forwarding Authorization"

expect_fail() { # name pattern args...
	local name="$1" pat="$2"
	shift 2
	if "$P" image "$@" 2>"$WORK/err" >/dev/null; then fail "$name succeeded"; fi
	grep -q -- "$pat" "$WORK/err" || fail "$name: error lacks '$pat': $(cat "$WORK/err")"
	ok "$name: $(sed 's/.*msg=//' "$WORK/err" | head -c 160)"
}
expect_fail "token denied" "401" pull --tls-verify=false --creds bob:bad "$R/ok/img:1" "$WORK/x.wasm"
expect_fail "server error" "500" inspect "${C[@]}" "$R/err/500:1"
expect_fail "dropped connection" "GET" inspect "${C[@]}" "$R/err/drop:1"
expect_fail "truncated blob" "truncated" pull "${C[@]}" "$R/err/trunc:1" "$WORK/x.wasm"
"$P" image pull "${C[@]}" "$R/err/cut:1" "$WORK/cut.wasm" >/dev/null
cmp "$WORK/cut.wasm" "$TD/WASM.wasm"
"$P" image pull "${C[@]}" "$R/err/norange:1" "$WORK/norange.wasm" >/dev/null
cmp "$WORK/norange.wasm" "$TD/WASM.wasm"
ok "a dropped blob download resumes with Range (and copes with a server ignoring it)"
expect_fail "cut connection" "sha256:" copy "${C[@]}" "$R/err/cutalways:1" "dir:$WORK/cut"
expect_fail "corrupted blob" "digest mismatch" copy "${C[@]}" "$R/err/digest:1" "dir:$WORK/dg"
expect_fail "oversized manifest" "exceeds" inspect "${C[@]}" "$R/err/big:1"
expect_fail "connection refused" "127.0.0.1:1" inspect --tls-verify=false "127.0.0.1:1/a/b:1"
cp "$TD/WASM.wasm" "$WORK/a2.wasm"
# Chunked upload: the registry's OCI-Chunk-Min-Length wins over ours, and a
# 416 is resolved by asking the session where it stands.
"$P" image push "${C[@]}" --chunk-size 4 "$WORK/a2.wasm" "$R/ok/chunked:1" >/dev/null
curl -s "http://$R/_chunks" >"$WORK/chunks.json"
jq -e '.resyncs == 1 and (.committed | length) == 2 and
	(.committed | index("sha256:f61fd62f57c41269c3c23f360eeaf1090b1db9c38651106674d48bc65dba88ba") != null) and
	.sizes == [2,16,16,9]' "$WORK/chunks.json" >/dev/null ||
	fail "chunked upload: $(cat "$WORK/chunks.json")"
"$P" image push "${C[@]}" "$WORK/a2.wasm" "$R/ok/redir:1" >/dev/null
curl -s "http://$R/_chunks" | jq -e '.redirects == 2 and (.committed | length) == 4' >/dev/null ||
	fail "redirected upload: $(curl -s "http://$R/_chunks")"
ok "a redirected monolithic upload re-sends its body"
ok "chunked upload honours OCI-Chunk-Min-Length and resyncs after 416 ($(jq -c .sizes "$WORK/chunks.json"))"
expect_fail "chunked upload 500" "upload store broken" push "${C[@]}" --chunk-size 8 "$WORK/a2.wasm" "$R/err/upload:1"
expect_fail "monolithic upload 500" "upload store broken" push "${C[@]}" "$WORK/a2.wasm" "$R/err/upload:1"
[ "$(curl -s "http://$R/_deleted" | jq length)" -ge 2 ] || fail "failed uploads were not cancelled"
ok "failed upload sessions are cancelled with DELETE"
if [ -e "$WORK/x.wasm" ] || [ -e "$WORK/cut" ] || [ -e "$WORK/dg" ]; then
	fail "output left behind"
fi
echo "PASS"
