#!/usr/bin/env bash
# End to end, encrypted tasks (the seed's story): propeller-kbs holds a key
# from `openssl rand -base64 32`; the addition module is pushed, encrypted
# with a CoCo keyprovider packet naming kbs:///default/key/propeller-addition
# and pushed again; a proplet with the sample attester pulls it, attests,
# gets the key, decrypts in memory and runs it. Then the failures: the
# default policy (PolicyDeny with the KBS's reason), a tampered image (the
# HMAC check refuses it, nothing runs), a wrong key in the KBS, and a
# plaintext image posing as encrypted.
. "$(dirname "$0")/e2e_lib.sh"

RES=default/key/propeller-addition
start_broker
start_registry
start_kbs
start_manager
start_proplet PROPLET_TEE=sample PROPLET_KBS_URI="$KBS_URL" PROPLET_IMAGE_FETCH=direct

openssl rand -base64 32 >"$TMP/key.b64"
kbs_admin set-resource --path "$RES" --resource-file "$TMP/key.b64" >/dev/null
"$CLI" image push --tls-verify=false "$ADDITION" "docker://$REG/wasm/addition:latest" >/dev/null
"$CLI" image encrypt --tls-verify=false \
	--key "provider:attestation-agent:keypath=$TMP/key.b64::keyid=kbs:///$RES" \
	"docker://$REG/wasm/addition:latest" "docker://$REG/wasm/addition:encrypted" >/dev/null
ENC_TASK="{\"name\":\"add\",\"encrypted\":true,\"image_url\":\"$REG/wasm/addition:encrypted\",\"kbs_resource_path\":\"$RES\",\"cli_args\":[\"--invoke\",\"add\"],\"inputs\":[10,20]}"

# Default policy: sample evidence is denied, and the task says why.
run_task "$ENC_TASK"
[ "$(jget .state)" = 4 ] || fail "default policy must refuse the sample attester: $RESP"
jget .error | grep -q PolicyDeny || fail "no PolicyDeny in the error: $RESP"
ok "default policy: Failed with $(jget .error | head -c 160)"

kbs_admin set-resource-policy --allow-all >/dev/null
run_task "$ENC_TASK"
[ "$(jget .state)" = 3 ] || fail "encrypted task: $RESP"
printf '%s' "$RESP" | jq -e '.results == "30\n"' >/dev/null || fail "results: $RESP"
ok "encrypted task: Completed, results \"30\\n\""

# Nothing decrypted reached persistent storage: the only tasks so far were
# encrypted, so the on-disk tier-2 cache must still be empty (a
# confidential module's cache lives on memory-backed storage).
if [ -n "$(find "$TMP/wasm-cache" -type f 2>/dev/null)" ]; then
	fail "a confidential module left files in the on-disk cache: $(find "$TMP/wasm-cache" -type f)"
fi
ok "no compiled or plaintext module in the on-disk cache"

# Tampered: flip one ciphertext bit, re-address the blob, push it back.
"$CLI" image copy --tls-verify=false "docker://$REG/wasm/addition:encrypted" "dir:$TMP/enc" >/dev/null
old=$(jq -r '.layers[0].digest' "$TMP/enc/manifest.json" | cut -d: -f2)
python3 - "$TMP/enc/$old" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x01
open(p, "wb").write(b)
PY
new=$(sha256sum "$TMP/enc/$old" | cut -d' ' -f1)
mv "$TMP/enc/$old" "$TMP/enc/$new"
sed -i "s/$old/$new/" "$TMP/enc/manifest.json"
"$CLI" image copy --tls-verify=false "dir:$TMP/enc" "docker://$REG/wasm/addition:tampered" >/dev/null
run_task "${ENC_TASK/addition:encrypted/addition:tampered}"
[ "$(jget .state)" = 4 ] || fail "tampered image must fail: $RESP"
jget .error | grep -qi "hmac" || fail "tampered: error does not name the HMAC: $RESP"
ok "tampered image refused: $(jget .error | head -c 120)"

# Plaintext posing as encrypted: refused (upstream ran it).
run_task "${ENC_TASK/addition:encrypted/addition:latest}"
[ "$(jget .state)" = 4 ] || fail "plaintext as encrypted must fail: $RESP"
jget .error | grep -q "not encrypted" || fail "plaintext as encrypted: $RESP"
ok "a plaintext image is not run as an encrypted task"

# Wrong key in the KBS: the key unwrap fails and names the key id.
openssl rand -base64 32 >"$TMP/other.b64"
kbs_admin set-resource --path "$RES" --resource-file "$TMP/other.b64" >/dev/null
run_task "$ENC_TASK"
[ "$(jget .state)" = 4 ] || fail "wrong key must fail: $RESP"
jget .error | grep -q "propeller-addition" || fail "wrong key: the kid is not named: $RESP"
ok "wrong key refused: $(jget .error | head -c 120)"

# The memory-backed cache of compiled confidential code goes with the proplet.
secure=$(sed -n 's/.*cached in \([^ ]*\) (memory-backed.*/\1/p' "$TMP/proplet.log" | head -n1)
[ -n "$secure" ] && [ -d "$secure" ] || fail "no secure cache directory logged"
kill -TERM "$PROPLET_PID"
wait "$PROPLET_PID" || fail "the proplet did not stop cleanly on SIGTERM"
[ ! -e "$secure" ] || fail "$secure survived the proplet"
ok "SIGTERM: clean exit, the secure cache is gone"

echo "e2e encrypted: all passed"
