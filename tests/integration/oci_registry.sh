#!/usr/bin/env bash
# A real docker-registry on a free loopback port: push a wasm artifact with
# ours, pull it back byte-identical with ours and with skopeo; push and pull
# an encrypted wasm image; chunked uploads; Basic auth (401 without
# credentials, success with --creds and with an auth file); 404.
. "$(dirname "$0")/oci_common.sh"

start_registry reg
NOTLS=(--tls-verify=false)
SKNOTLS=(--src-tls-verify=false)

# TLS verification is on by default: a plain-http registry is refused.
if "$P" image inspect "docker://$REG/none:1" 2>"$WORK/err"; then fail "no TLS accepted"; fi
grep -qi "ssl\|tls" "$WORK/err" || fail "TLS error unclear: $(cat "$WORK/err")"

cp "$TD/WASM.wasm" "$WORK/addition.wasm"
(cd "$WORK" && "$P" image push "${NOTLS[@]}" --json addition.wasm "docker://$REG/wasm/addition:v1") >"$WORK/push.json"
jq -e '.layer == "sha256:f61fd62f57c41269c3c23f360eeaf1090b1db9c38651106674d48bc65dba88ba"' "$WORK/push.json" >/dev/null ||
	fail "push output: $(cat "$WORK/push.json")"
# Pulled back by ours and by skopeo: same manifest digest, same bytes.
"$P" image copy "${NOTLS[@]}" "docker://$REG/wasm/addition:v1" "dir:$WORK/ours" >/dev/null
cmp "$WORK/ours/f61fd62f57c41269c3c23f360eeaf1090b1db9c38651106674d48bc65dba88ba" "$TD/WASM.wasm"
skopeo copy -q "${SKNOTLS[@]}" "docker://$REG/wasm/addition:v1" "dir:$WORK/sk"
cmp "$WORK/sk/f61fd62f57c41269c3c23f360eeaf1090b1db9c38651106674d48bc65dba88ba" "$TD/WASM.wasm"
cmp "$WORK/sk/manifest.json" "$WORK/ours/manifest.json" || fail "manifests differ"
jq -e '.layers[0].mediaType == "application/vnd.wasm.content.layer.v1+wasm" and
	.layers[0].annotations["org.opencontainers.image.title"] == "addition.wasm" and
	.config.mediaType == "application/vnd.wasm.config.v1+json" and .config.size == 2' \
	"$WORK/sk/manifest.json" >/dev/null || fail "wasm-to-oci shape"
"$P" image pull "${NOTLS[@]}" "$REG/wasm/addition:v1" "$WORK/pulled.wasm" >/dev/null
cmp "$WORK/pulled.wasm" "$TD/WASM.wasm"
ok "wasm artifact push/pull (ours and skopeo)"

# Encrypted wasm through the registry (CoCo packet), chunked upload.
"$P" image encrypt "${NOTLS[@]}" --chunk-size 16 \
	--key "provider:attestation-agent:keypath=$TD/KEK.bin::keyid=kbs:///default/key/propeller-addition" \
	"docker://$REG/wasm/addition:v1" "docker://$REG/wasm/addition:encrypted" >/dev/null
"$P" image inspect "${NOTLS[@]}" --json "$REG/wasm/addition:encrypted" |
	jq -e '.layers[0].mediaType == "application/vnd.wasm.content.layer.v1+wasm+encrypted" and
		.layers[0].keys[0].kid == "kbs:///default/key/propeller-addition"' >/dev/null || fail "inspect encrypted"
"$P" image pull "${NOTLS[@]}" --kek "$TD/KEK.bin" "$REG/wasm/addition:encrypted" "$WORK/dec.wasm" >/dev/null
cmp "$WORK/dec.wasm" "$TD/WASM.wasm"
if "$P" image pull "${NOTLS[@]}" "$REG/wasm/addition:encrypted" "$WORK/x.wasm" 2>"$WORK/err"; then
	fail "pulled without a key"
fi
grep -q "no KEK" "$WORK/err" || fail "keyless error: $(cat "$WORK/err")"
# JWE-encrypted through the registry, decrypted by skopeo.
"$P" image encrypt "${NOTLS[@]}" --key "jwe:$TD/keys/pub.pem" \
	"docker://$REG/wasm/addition:v1" "docker://$REG/wasm/addition:jwe" >/dev/null
skopeo copy -q "${SKNOTLS[@]}" --decryption-key "$TD/keys/priv.pem" \
	"docker://$REG/wasm/addition:jwe" "dir:$WORK/sk-jwe"
cmp "$WORK/sk-jwe/f61fd62f57c41269c3c23f360eeaf1090b1db9c38651106674d48bc65dba88ba" "$TD/WASM.wasm"
ok "encrypted wasm via the registry (CoCo chunked; JWE decrypted by skopeo)"

# A skopeo vector pushed by skopeo, copied by ours without recompression.
skopeo copy -q --dest-tls-verify=false "dir:$TD/skopeo-jwe-rsa" "docker://$REG/img/rsa:1"
"$P" image copy "${NOTLS[@]}" "docker://$REG/img/rsa:1" "oci:$WORK/rsa-oci:1" >/dev/null
"$P" image decrypt --key "$TD/keys/priv.pem" "oci:$WORK/rsa-oci:1" "dir:$WORK/rsa-dec" >/dev/null
[ "$(layer_digest "$WORK/rsa-dec")" = "sha256:b1017f1b2f7185a0577b87429c4fffeecbb0f98fbeb3cb316ad0a29036e388f7" ] ||
	fail "registry copy of skopeo-jwe-rsa"
ok "skopeo-pushed image copies and decrypts"

# 404s name what is missing.
if "$P" image inspect "${NOTLS[@]}" "$REG/wasm/addition:nope" 2>"$WORK/err"; then fail "404 accepted"; fi
if ! grep -q "404" "$WORK/err" || ! grep -q "MANIFEST_UNKNOWN" "$WORK/err"; then
	fail "404 error: $(cat "$WORK/err")"
fi

# Basic auth: a second registry with htpasswd.
"$PY" -W ignore -c 'import crypt; print("alice:" + crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))' >"$WORK/htpasswd"
start_registry authreg "$WORK/htpasswd"
if (cd "$WORK" && "$P" image push "${NOTLS[@]}" addition.wasm "$REG/a/b:1") 2>"$WORK/err"; then
	fail "push without credentials"
fi
grep -q "credentials" "$WORK/err" || fail "401 error: $(cat "$WORK/err")"
if (cd "$WORK" && "$P" image push "${NOTLS[@]}" --creds alice:wrong addition.wasm "$REG/a/b:1") 2>"$WORK/err"; then
	fail "push with a wrong password"
fi
grep -q "401" "$WORK/err" || fail "wrong password error: $(cat "$WORK/err")"
(cd "$WORK" && "$P" image push "${NOTLS[@]}" --creds alice:s3cret addition.wasm "$REG/a/b:1") >/dev/null
printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG" "$(printf alice:s3cret | base64 -w0)" >"$WORK/auth.json"
"$P" image pull "${NOTLS[@]}" --authfile "$WORK/auth.json" "$REG/a/b:1" "$WORK/auth.wasm" >/dev/null
cmp "$WORK/auth.wasm" "$TD/WASM.wasm"
skopeo copy -q "${SKNOTLS[@]}" --src-creds alice:s3cret "docker://$REG/a/b:1" "dir:$WORK/sk-auth"
ok "basic auth (401 without/wrong credentials, --creds, auth file)"

# TLS: a registry with a self-signed certificate is refused by default,
# accepted with its CA given (--ca-file) or with --tls-verify=false.
mkdir -p "$WORK/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$WORK/tls/key.pem" -out "$WORK/tls/cert.pem" 2>/dev/null
start_registry tlsreg "" "$WORK/tls"
if (cd "$WORK" && "$P" image push addition.wasm "$REG/t/w:1") 2>"$WORK/err"; then
	fail "self-signed certificate accepted"
fi
grep -qi "certificate" "$WORK/err" || fail "TLS error: $(cat "$WORK/err")"
(cd "$WORK" && "$P" image push --ca-file "$WORK/tls/cert.pem" addition.wasm "$REG/t/w:1") >/dev/null
"$P" image pull --tls-verify=false "$REG/t/w:1" "$WORK/tls.wasm" >/dev/null
cmp "$WORK/tls.wasm" "$TD/WASM.wasm"
ok "TLS verified by default; --ca-file and --tls-verify=false"
echo "PASS"
