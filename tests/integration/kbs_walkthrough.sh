#!/usr/bin/env bash
# The seed's KBS walkthrough with real processes: an Ed25519 admin key pair
# from openssl, propeller-kbs on a free loopback port, `propeller kbs`
# set-resource of `openssl rand -base64 32`, get-resource refused under the
# default policy (PolicyDeny), set-resource-policy --allow-all, get-resource
# prints the same base64. Then: restart keeps resources and the token key,
# configuration errors are all reported at once, environment and config-file
# settings work, and 200 concurrent clients complete full flows.
set -euo pipefail

BIN=${PROPELLER_BINARY_DIR:?}
KBS=$BIN/src/kbs/propeller-kbs
CLI=$BIN/src/cli/propeller
BENCH=$BIN/bench/kbs/kbs_bench
WORK=$(mktemp -d /tmp/kbs-it.XXXXXX)
PID=

cleanup() {
	if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; [ -f "$WORK/kbs.log" ] && cat "$WORK/kbs.log" >&2; exit 1; }

# Starts propeller-kbs on 127.0.0.1 with a kernel-chosen port; sets URL.
start_kbs() {
	: >"$WORK/kbs.log"
	"$KBS" --listen 127.0.0.1:0 "$@" 2>>"$WORK/kbs.log" &
	PID=$!
	for _ in $(seq 100); do
		port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/kbs.log")
		[ -n "$port" ] && break
		kill -0 "$PID" 2>/dev/null || fail "propeller-kbs exited"
		sleep 0.05
	done
	[ -n "$port" ] || fail "propeller-kbs did not start"
	URL=http://127.0.0.1:$port
}

stop_kbs() {
	kill -TERM "$PID"
	wait "$PID" || fail "propeller-kbs did not stop cleanly on SIGTERM"
	PID=
}

cd "$WORK"
openssl genpkey -algorithm ed25519 >private.key 2>/dev/null
openssl pkey -in private.key -pubout -out public.pub
openssl genpkey -algorithm ed25519 >other.key 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 >tee.pem 2>/dev/null
openssl rand -base64 32 >key.b64
WANT=$(base64 -w0 key.b64)

start_kbs --data-dir "$WORK/data" --admin-public-key public.pub

out=$("$CLI" kbs --url "$URL" config --auth-private-key private.key \
	set-resource --path default/key/propeller-addition --resource-file key.b64)
grep -q "Set resource success" <<<"$out" || fail "set-resource: $out"
[ "$(stat -c %a data/resources/default/key/propeller-addition)" = 600 ] || fail "resource file mode"

# Default policy: the sample attester is refused with PolicyDeny.
if "$CLI" kbs --url "$URL" get-resource --path default/key/propeller-addition \
	>out.txt 2>err.txt; then fail "get-resource allowed under the default policy"; fi
grep -q PolicyDeny err.txt || fail "no PolicyDeny: $(cat err.txt)"
grep -q "sample attester" err.txt || fail "the CLI did not say it uses the sample attester"

# A wrong admin key changes nothing.
if "$CLI" kbs --url "$URL" config --auth-private-key other.key \
	set-resource-policy --allow-all 2>err.txt; then fail "wrong admin key accepted"; fi
grep -q AdminAuth err.txt || fail "no AdminAuth: $(cat err.txt)"

"$CLI" kbs --url "$URL" config --auth-private-key private.key \
	set-resource-policy --allow-all | grep -q "Set resource policy success"
got=$("$CLI" kbs --url "$URL" get-resource --path default/key/propeller-addition 2>/dev/null)
[ "$got" = "$WANT" ] || fail "get-resource printed $got, want $WANT"

# TEE key files as kbs-client takes them: PKCS#1 RSA (RSA-OAEP-256 JWE)
# and PKCS#8 EC P-521 (ECDH-ES+A256KW on P-521).
openssl genrsa -traditional 2048 >rsa.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 >p521.pem 2>/dev/null
for k in rsa.pem p521.pem; do
	got=$("$CLI" kbs --url "$URL" get-resource --path default/key/propeller-addition \
		--tee-key-file $k 2>err.txt) || fail "get-resource with $k: $(cat err.txt)"
	[ "$got" = "$WANT" ] || fail "get-resource with $k printed $got"
done

# The role-claim admin token (Trustee >= v0.21), made with openssl and
# sent with --admin-token-file.
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
now=$(date +%s)
hp=$(printf '{"alg":"EdDSA","typ":"JWT"}' | b64url).$(printf '{"role":"admin","iat":%d,"exp":%d}' "$now" $((now + 600)) | b64url)
printf '%s' "$hp" >tbs.txt
sig=$(openssl pkeyutl -sign -rawin -inkey private.key -in tbs.txt | b64url)
printf '%s.%s\n' "$hp" "$sig" >admin-token
"$CLI" kbs --url "$URL" config --admin-token-file admin-token \
	set-resource --path default/key/role --resource-file key.b64 | grep -q "Set resource success" \
	|| fail "role-claim admin token refused"
hp=$(printf '{"alg":"EdDSA","typ":"JWT"}' | b64url).$(printf '{"role":"reader","iat":%d,"exp":%d}' "$now" $((now + 600)) | b64url)
printf '%s' "$hp" >tbs.txt
printf '%s.%s\n' "$hp" "$(openssl pkeyutl -sign -rawin -inkey private.key -in tbs.txt | b64url)" >reader-token
if "$CLI" kbs --url "$URL" config --admin-token-file reader-token \
	delete-resource --path default/key/role 2>err.txt; then fail "role reader allowed"; fi
grep -q AdminAuth err.txt || fail "no AdminAuth for role reader: $(cat err.txt)"

# A token for a known TEE key, used later on the Bearer path.
"$CLI" kbs --url "$URL" attest --tee-key-file tee.pem >token.txt 2>/dev/null
[ "$(tr -cd . <token.txt | wc -c)" = 2 ] || fail "attest did not print a JWT"

# 200 concurrent clients, one full flow each (auth + attest + resource).
"$BENCH" --url "$URL" --path default/key/propeller-addition --clients 200 \
	--flows 1 --expect-b64 "$WANT" >bench.json || fail "concurrent flows: $(cat bench.json)"
grep -q '"failures":0' bench.json || fail "bench: $(cat bench.json)"
grep -q '"flows":200,' bench.json || fail "bench: $(cat bench.json)"
echo "200 concurrent flows: $(cat bench.json)"

# Restart, configured from the environment this time.
stop_kbs
KBS_DATA_DIR="$WORK/data" KBS_ADMIN_PUBLIC_KEY=public.pub start_kbs
got=$("$CLI" kbs --url "$URL" get-resource --path default/key/propeller-addition 2>/dev/null)
[ "$got" = "$WANT" ] || fail "after restart: resource or policy lost"
got=$("$CLI" kbs --url "$URL" get-resource --path default/key/propeller-addition \
	--tee-key-file tee.pem --attestation-token token.txt 2>/dev/null)
[ "$got" = "$WANT" ] || fail "after restart: token signed before the restart refused"

# Delete, then the resource is gone.
"$CLI" kbs --url "$URL" config --auth-private-key private.key \
	delete-resource --path default/key/propeller-addition | grep -q "Delete resource success"
if "$CLI" kbs --url "$URL" get-resource --path default/key/propeller-addition \
	2>err.txt; then fail "deleted resource still served"; fi
stop_kbs

# TLS: https with a self-signed certificate, the cookie gets Secure, and a
# client without the CA refuses the server.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout tls.key -out tls.crt -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 2>/dev/null
start_kbs --data-dir "$WORK/data" --admin-public-key public.pub \
	--tls-cert tls.crt --tls-key tls.key
URL=${URL/http:/https:}
"$CLI" kbs --url "$URL" --cert-file tls.crt config --auth-private-key private.key \
	set-resource --path default/key/tls --resource-file key.b64 >/dev/null
got=$("$CLI" kbs --url "$URL" --cert-file tls.crt get-resource --path default/key/tls 2>/dev/null)
[ "$got" = "$WANT" ] || fail "https get-resource printed $got"
curl -s -i --cacert tls.crt -X POST "$URL/kbs/v0/auth" \
	-d '{"version":"0.4.0","tee":"sample","extra-params":{}}' | grep -qi '^set-cookie:.*; Secure' \
	|| fail "no Secure cookie over https"
if "$CLI" kbs --url "$URL" get-resource --path default/key/tls 2>err.txt; then
	fail "untrusted certificate accepted"; fi
grep -q "TLS failed" err.txt || fail "TLS error not reported: $(cat err.txt)"
stop_kbs

# A config file works; every bad setting is reported at once.
printf '{"data_dir":"%s","admin_public_key":"public.pub","token_lifetime":"2m"}\n' \
	"$WORK/data" >kbs.json
start_kbs --config kbs.json
# The signing key lives in a vault child; if it dies, the daemon stops.
VAULT=$(pgrep -P "$PID")
[ -n "$VAULT" ] || fail "no vault child process"
kill -9 "$VAULT"
set +e
wait "$PID"
rc=$?
set -e
PID=
[ "$rc" = 1 ] || fail "daemon exit code $rc after the vault died"
grep -q "vault process exited" "$WORK/kbs.log" || fail "vault death not logged"
set +e
"$KBS" --listen nonsense --token-lifetime -5 --data-dir "$WORK/d2" \
	--admin-public-key missing.pub --tls-cert x.pem 2>cfg.txt
rc=$?
set -e
[ "$rc" = 2 ] || fail "bad config exit code $rc"
for w in --listen --token-lifetime --admin-public-key --tls; do
	grep -q -- "$w" cfg.txt || fail "config error for $w not reported: $(cat cfg.txt)"
done
[ ! -e "$WORK/d2" ] || fail "a refused configuration created the data directory"

echo "kbs walkthrough: ok"
