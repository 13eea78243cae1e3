#!/usr/bin/env bash
# Interop with Debian's skopeo 1.9.3, no registry: every shared vector
# decrypts through the CLI; skopeo decrypts what we encrypt with JWE; we
# decrypt what skopeo encrypts; bad input leaves nothing behind.
. "$(dirname "$0")/oci_common.sh"

# 1. Every vector decrypts to the expected layer (spec §10.1).
declare -A WANT=(
	[skopeo-jwe-rsa]=b1017f1b2f7185a0577b87429c4fffeecbb0f98fbeb3cb316ad0a29036e388f7
	[skopeo-jwe-ec]=b1017f1b2f7185a0577b87429c4fffeecbb0f98fbeb3cb316ad0a29036e388f7
	[skopeo-jwe-multi]=b1017f1b2f7185a0577b87429c4fffeecbb0f98fbeb3cb316ad0a29036e388f7
	[skopeo-jwe-recompressed]=34ff71e3408ecc2540d1fc1f16dc1655c533edf8aca3e40afb189fa3abceb675
	[coco-wasm-raw]=f61fd62f57c41269c3c23f360eeaf1090b1db9c38651106674d48bc65dba88ba
	[coco-tar-gzip]=97568bbe23020e8b4e8f394c765413d72c370963a44fd358a033d623508ae376
)
declare -A KEY=(
	[skopeo-jwe-rsa]="--key jwe:$TD/keys/priv.pem"
	[skopeo-jwe-ec]="--key jwe:$TD/keys/ecpriv.pem"
	[skopeo-jwe-multi]="--key $TD/keys/ecpriv.pem"
	[skopeo-jwe-recompressed]="--key $TD/keys/priv.pem"
	[coco-wasm-raw]="--kek $TD/KEK.bin"
	[coco-tar-gzip]="--kek $TD/KEK.bin"
)
for v in "${!WANT[@]}"; do
	# shellcheck disable=SC2086
	"$P" image decrypt ${KEY[$v]} "dir:$TD/$v" "dir:$WORK/$v" >/dev/null
	d="$(layer_digest "$WORK/$v")"
	[ "$d" = "sha256:${WANT[$v]}" ] || fail "$v decrypted to $d"
	[ "$(sha "$WORK/$v/${WANT[$v]}")" = "${WANT[$v]}" ] || fail "$v blob"
	if jq -e '.layers[0].annotations // {} | keys[] | select(startswith("org.opencontainers.image.enc"))' \
		"$WORK/$v/manifest.json" >/dev/null; then
		fail "$v kept enc annotations"
	fi
done
"$P" image decrypt --key "$TD/keys/priv.pem" "dir:$TD/skopeo-jwe-multi" "dir:$WORK/multi-rsa" >/dev/null
[ "$(layer_digest "$WORK/multi-rsa")" = "sha256:${WANT[skopeo-jwe-multi]}" ] || fail "multi via RSA"
ok "all six vectors decrypt (and multi with either key)"

# 2. §10.3: skopeo's own decryption of skopeo-jwe-rsa equals ours byte for byte.
skopeo copy -q --decryption-key "$TD/keys/priv.pem" "dir:$TD/skopeo-jwe-rsa" "dir:$WORK/sk-rsa"
cmp "$WORK/sk-rsa/manifest.json" "$WORK/skopeo-jwe-rsa/manifest.json" || fail "manifest differs from skopeo's"
cmp "$WORK/sk-rsa/${WANT[skopeo-jwe-rsa]}" "$WORK/skopeo-jwe-rsa/${WANT[skopeo-jwe-rsa]}"
openssl pkcs8 -topk8 -nocrypt -in "$TD/keys/ecpriv.pem" -out "$WORK/ec8.pem"
skopeo copy -q --decryption-key "$WORK/ec8.pem" "dir:$TD/skopeo-jwe-ec" "dir:$WORK/sk-ec"
cmp "$WORK/sk-ec/manifest.json" "$WORK/skopeo-jwe-ec/manifest.json" || fail "ec manifest differs"
ok "skopeo and ours decrypt skopeo-jwe-rsa/-ec identically"

# 3. Ours encrypts with JWE (RSA and EC recipients; tar+gzip and raw wasm);
#    skopeo decrypts to the same layers ours does.
for plain in coco-tar-gzip coco-wasm-raw; do
	for k in pub.pem ecpub.pem; do
		enc="$WORK/enc-$plain-$k"
		"$P" image encrypt --key "jwe:$TD/keys/$k" "dir:$WORK/$plain" "dir:$enc" >/dev/null
		jq -e '.layers[0].mediaType | endswith("+encrypted")' "$enc/manifest.json" >/dev/null ||
			fail "not encrypted"
		pk="$TD/keys/priv.pem"
		[ "$k" = ecpub.pem ] && pk="$WORK/ec8.pem"
		skopeo copy -q --decryption-key "$pk" "dir:$enc" "dir:$enc-sk"
		"$P" image decrypt --key "$pk" "dir:$enc" "dir:$enc-ours" >/dev/null
		cmp "$enc-sk/manifest.json" "$enc-ours/manifest.json" || fail "$plain/$k manifests differ"
		cmp "$enc-sk/manifest.json" "$WORK/$plain/manifest.json" || fail "$plain/$k not the original"
		d="$(layer_digest "$enc-sk")"
		cmp "$enc-sk/${d#sha256:}" "$WORK/$plain/${d#sha256:}" || fail "$plain/$k layer differs"
	done
done
ok "skopeo decrypts our JWE-encrypted tar+gzip and wasm images to identical layers"

# 4. skopeo encrypts (oci: layout with a tar+gzip layer); ours decrypts.
"$P" image copy "dir:$WORK/coco-tar-gzip" "oci:$WORK/layout:v1" >/dev/null
skopeo copy -q --encryption-key "jwe:$TD/keys/pub.pem" "oci:$WORK/layout:v1" "oci:$WORK/sk-enc:v1"
"$P" image inspect "oci:$WORK/sk-enc:v1" | grep -q "key: jwe alg=RSA-OAEP" || fail "inspect of skopeo image"
"$P" image decrypt --key "$TD/keys/priv.pem" "oci:$WORK/sk-enc:v1" "dir:$WORK/sk-enc-ours" >/dev/null
[ "$(layer_digest "$WORK/sk-enc-ours")" = "sha256:${WANT[coco-tar-gzip]}" ] || fail "skopeo-encrypted layer"
"$P" image pull --key "$TD/keys/priv.pem" "oci:$WORK/sk-enc:v1" "$WORK/m.wasm" >/dev/null
cmp "$WORK/m.wasm" "$TD/WASM.wasm" || fail "module from skopeo-encrypted image"
ok "ours decrypts what skopeo encrypts"

# 5. CoCo keyprovider encryption as encrypt.sh does it, KEK as base64 text.
base64 -w0 "$TD/KEK.bin" >"$WORK/kek.b64"
"$P" image encrypt --key "provider:attestation-agent:keypath=$WORK/kek.b64::keyid=kbs:///default/key/propeller-addition::algorithm=A256GCM" \
	"dir:$WORK/coco-wasm-raw" "dir:$WORK/coco-enc" >/dev/null
"$P" image inspect --json "dir:$WORK/coco-enc" |
	jq -e '.layers[0].keys[0].kid == "kbs:///default/key/propeller-addition"' >/dev/null || fail "kid"
"$P" image pull --kek "$TD/KEK.bin" "dir:$WORK/coco-enc" "$WORK/m2.wasm" >/dev/null
cmp "$WORK/m2.wasm" "$TD/WASM.wasm"
ok "CoCo wrap round trip"

# 6. Bad input: a flipped ciphertext byte (manifest digest fixed up) fails
#    the HMAC and leaves no output; a wrong key names the kid / recipient.
cp -r "$TD/coco-wasm-raw" "$WORK/flip"
old=0aa127b04058c044e895817204d3da7042c5375f59505d7763f885a7d0d0678c
"$PY" - "$WORK/flip/$old" <<'PYEOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read()); b[5] ^= 1; open(p, "wb").write(b)
PYEOF
new="$(sha "$WORK/flip/$old")"
mv "$WORK/flip/$old" "$WORK/flip/$new"
sed -i "s/$old/$new/" "$WORK/flip/manifest.json"
if "$P" image decrypt --kek "$TD/KEK.bin" "dir:$WORK/flip" "dir:$WORK/flip-out" 2>"$WORK/err"; then
	fail "flipped byte decrypted"
fi
grep -q "HMAC" "$WORK/err" || fail "no HMAC error: $(cat "$WORK/err")"
[ ! -e "$WORK/flip-out" ] || fail "output left behind"
head -c 32 /dev/urandom >"$WORK/wrong.kek"
if "$P" image decrypt --kek "$WORK/wrong.kek" "dir:$TD/coco-wasm-raw" "dir:$WORK/w" 2>"$WORK/err"; then
	fail "wrong KEK accepted"
fi
grep -q "kbs:///default/key/propeller-addition" "$WORK/err" || fail "kid not named: $(cat "$WORK/err")"
if "$P" image decrypt --key "$TD/keys/ecpriv.pem" "dir:$TD/skopeo-jwe-rsa" "dir:$WORK/w" 2>"$WORK/err"; then
	fail "wrong JWE key accepted"
fi
grep -q "jwe" "$WORK/err" || fail "recipient not named: $(cat "$WORK/err")"
[ ! -e "$WORK/w" ] || fail "output left behind"
# An unknown cipher in pubopts.
cp -r "$TD/coco-wasm-raw" "$WORK/cipher"
bad="$(printf '%s' '{"cipher":"AES_128_GCM","hmac":"BiNSjcQidy5wtx1ctditrKmj99NRVC3+kmYektGbg3I=","cipheroptions":{}}' | base64 -w0)"
jq -c --arg b "$bad" '.layers[0].annotations["org.opencontainers.image.enc.pubopts"]=$b' \
	"$TD/coco-wasm-raw/manifest.json" >"$WORK/cipher/manifest.json"
if "$P" image decrypt --kek "$TD/KEK.bin" "dir:$WORK/cipher" "dir:$WORK/w" 2>"$WORK/err"; then
	fail "unknown cipher accepted"
fi
grep -q "AES_128_GCM" "$WORK/err" || fail "cipher not named: $(cat "$WORK/err")"
# Malformed manifest JSON.
cp -r "$TD/coco-wasm-raw" "$WORK/badjson"
printf '{"schemaVersion":2,' >"$WORK/badjson/manifest.json"
if "$P" image inspect "dir:$WORK/badjson" 2>"$WORK/err"; then fail "bad JSON accepted"; fi
grep -qi "manifest" "$WORK/err" || fail "bad JSON error: $(cat "$WORK/err")"
ok "negative checks"
# 7. The keyprovider protocol over the cmd transport, with the exact request
#    bytes Go ocicrypt sends; keyunwrap finds the KEK by kid in --kek-dir.
mkdir -p "$WORK/keks/default/key"
cp "$WORK/kek.b64" "$WORK/keks/default/key/propeller-addition"
po="$(jq -r '."coco-wasm-raw".privopts' "$TD/vectors.json")"
param="$(printf 'keypath=%s::keyid=kbs:///default/key/propeller-addition::algorithm=A256GCM' "$WORK/kek.b64" | base64 -w0)"
printf '{"op":"keywrap","keywrapparams":{"ec":{"Parameters":{"attestation-agent":["%s"]},"DecryptConfig":{"Parameters":{}}},"optsdata":"%s"},"keyunwrapparams":{"dc":null,"annotation":null}}' \
	"$param" "$(printf '%s' "$po" | base64 -w0)" | "$P" keyprovider >"$WORK/wrap.json"
ann="$(jq -r '.keywrapresults.annotation | implode' "$WORK/wrap.json" | base64 -w0)"
printf '{"op":"keyunwrap","keywrapparams":{"ec":null,"optsdata":null},"keyunwrapparams":{"dc":{"Parameters":{"attestation-agent":["Y2Nfa2JjOjpodHRwOi8vMTI3LjAuMC4xOjgwODA="]}},"annotation":"%s"}}' "$ann" |
	"$P" keyprovider --kek-dir "$WORK/keks" >"$WORK/unwrap.json"
[ "$(jq -r '.keyunwrapresults.optsdata | implode' "$WORK/unwrap.json")" = "$po" ] || fail "keyprovider round trip"
# The vector's own packet unwraps too; a missing KEK names the kid.
ann="$(jq -r '.layers[0].annotations["org.opencontainers.image.enc.keys.provider.attestation-agent"]' "$TD/coco-wasm-raw/manifest.json")"
req="$(printf '{"op":"keyunwrap","keywrapparams":{"ec":null,"optsdata":null},"keyunwrapparams":{"dc":null,"annotation":"%s"}}' "$ann")"
printf '%s' "$req" | "$P" keyprovider --kek "$TD/KEK.bin" | jq -e --arg po "$po" '.keyunwrapresults.optsdata | implode == $po' >/dev/null ||
	fail "keyunwrap of the vector"
if printf '%s' "$req" | "$P" keyprovider --kek-dir "$WORK/none" 2>"$WORK/err" >/dev/null; then fail "unwrap without KEK"; fi
grep -q "kbs:///default/key/propeller-addition" "$WORK/err" || fail "keyprovider error: $(cat "$WORK/err")"
ok "keyprovider keywrap/keyunwrap over stdin/stdout"

# 8. Our client side of the protocol: OCICRYPT_KEYPROVIDER_CONFIG names a
#    cmd provider (here `propeller keyprovider` itself), as ocicrypt does.
printf '{"key-providers":{"attestation-agent":{"cmd":{"path":"%s","args":["keyprovider","--kek-dir","%s"]}}}}' \
	"$P" "$WORK/keks" >"$WORK/kp.json"
export OCICRYPT_KEYPROVIDER_CONFIG="$WORK/kp.json"
"$P" image encrypt --key "provider:attestation-agent:keypath=$WORK/kek.b64::keyid=kbs:///default/key/propeller-addition" \
	"dir:$WORK/coco-wasm-raw" "dir:$WORK/kp-enc" >/dev/null
"$P" image decrypt --key "provider:attestation-agent:cc_kbc::http://127.0.0.1:8080" "dir:$WORK/kp-enc" "dir:$WORK/kp-dec" >/dev/null
cmp "$WORK/kp-dec/manifest.json" "$WORK/coco-wasm-raw/manifest.json" || fail "provider round trip"
"$P" image pull --key provider:attestation-agent "dir:$TD/coco-wasm-raw" "$WORK/kp.wasm" >/dev/null
cmp "$WORK/kp.wasm" "$TD/WASM.wasm"
printf '{"key-providers":{"attestation-agent":{"cmd":{"path":"%s","args":["keyprovider","--kek-dir","%s/none"]}}}}' \
	"$P" "$WORK" >"$WORK/kp-bad.json"
if OCICRYPT_KEYPROVIDER_CONFIG="$WORK/kp-bad.json" "$P" image decrypt --key provider:attestation-agent \
	"dir:$TD/coco-wasm-raw" "dir:$WORK/kp-bad" 2>"$WORK/err"; then
	fail "failing provider accepted"
fi
if ! grep -q "key provider attestation-agent" "$WORK/err" || ! grep -q "propeller-addition" "$WORK/err"; then
	fail "provider failure unclear: $(cat "$WORK/err")"
fi
if "$P" image decrypt --key provider:other "dir:$TD/coco-wasm-raw" "dir:$WORK/kp-bad" 2>"$WORK/err"; then
	fail "unconfigured provider accepted"
fi
grep -q "not configured" "$WORK/err" || fail "unconfigured provider: $(cat "$WORK/err")"
unset OCICRYPT_KEYPROVIDER_CONFIG
ok "OCICRYPT_KEYPROVIDER_CONFIG cmd providers for encrypt, decrypt and pull"
echo "PASS"
