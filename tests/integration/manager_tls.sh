#!/usr/bin/env bash
# TLS on both sides of the manager: mosquitto with a TLS listener (test CA,
# server certificate for 127.0.0.1) reached through ssl:// with
# MANAGER_MQTT_TLS_CA_CERT, and the HTTP API over HTTPS with
# MANAGER_HTTP_SERVER_CERT/KEY. A wrong CA is refused at startup.
# usage: manager_tls.sh <propeller-manager>
MANAGER_BIN=${1:?usage: manager_tls.sh <propeller-manager>}
# shellcheck source=tests/integration/manager_lib.sh
. "$(dirname "$0")/manager_lib.sh"

# Test PKI: a CA and a server certificate valid for 127.0.0.1/localhost.
cd "$TMP"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem \
	-days 2 -subj "/CN=propeller test CA" >/dev/null 2>&1 || fail "CA"
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
	-subj "/CN=127.0.0.1" >/dev/null 2>&1 || fail "CSR"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >san.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	-out server.pem -days 2 -extfile san.ext >/dev/null 2>&1 || fail "server cert"
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem \
	-days 2 -subj "/CN=other CA" >/dev/null 2>&1 || fail "other CA"
chmod 0644 ./*.key ./*.pem
cd - >/dev/null

start_broker
# Replace the plain listener by a TLS one.
MQ_TLS_PORT=$(free_port)
cat >>"$TMP/mosquitto.conf" <<EOF
listener $MQ_TLS_PORT 127.0.0.1
cafile $TMP/ca.pem
certfile $TMP/server.pem
keyfile $TMP/server.key
EOF
kill "${PIDS[0]}"
wait "${PIDS[0]}" 2>/dev/null || true
mosquitto -c "$TMP/mosquitto.conf" >>"$TMP/mosquitto.log" 2>&1 &
PIDS+=($!)
wait_port "$MQ_TLS_PORT"

HTTP_PORT=$(free_port)
env MANAGER_MQTT_ADDRESS="ssl://127.0.0.1:$MQ_TLS_PORT" \
	MANAGER_MQTT_TLS_CA_CERT="$TMP/ca.pem" \
	MANAGER_HTTP_HOST=127.0.0.1 MANAGER_HTTP_PORT="$HTTP_PORT" \
	MANAGER_HTTP_SERVER_CERT="$TMP/server.pem" \
	MANAGER_HTTP_SERVER_KEY="$TMP/server.key" \
	MANAGER_TENANT_ID="$TENANT" MANAGER_ENTITY_ID="$MGR_ID" \
	MANAGER_API_KEY="$MGR_KEY" MANAGER_CHANNEL_ID="$CHANNEL" \
	MANAGER_MQTT_TIMEOUT=5s "$MANAGER_BIN" >>"$TMP/manager.log" 2>&1 &
MGR_PID=$!
PIDS+=("$MGR_PID")
wait_port "$HTTP_PORT"
HTTPS="https://127.0.0.1:$HTTP_PORT"
curl -s --cacert "$TMP/ca.pem" "$HTTPS/health" | jq -e '.status == "pass"' \
	>/dev/null || fail "HTTPS health"
curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/health" && fail "plain HTTP answered on the HTTPS port"
ok "HTTP API over HTTPS"

# A heartbeat over the TLS listener registers the proplet.
mosquitto_pub -h 127.0.0.1 -p "$MQ_TLS_PORT" --cafile "$TMP/ca.pem" \
	-i "$PROPLET_ID" -u "$PROPLET_ID" -P "$PROPLET_KEY" -q 1 \
	-t "$BASE/control/proplet/alive" \
	-m "{\"proplet_id\":\"$PROPLET_ID\",\"status\":\"alive\"}" || fail "TLS publish"
registered() {
	[ "$(curl -s --cacert "$TMP/ca.pem" "$HTTPS/proplets/$PROPLET_ID" | jq -r .alive)" = true ]
}
wait_for registered || fail "proplet not registered over TLS MQTT"
ok "MQTT over TLS (ssl://, CA file)"
kill -TERM "$MGR_PID"
wait "$MGR_PID" || fail "manager exit status"

# The wrong CA: the broker's certificate is not trusted.
if env MANAGER_MQTT_ADDRESS="ssl://127.0.0.1:$MQ_TLS_PORT" \
	MANAGER_MQTT_TLS_CA_CERT="$TMP/other.pem" MANAGER_HTTP_HOST=127.0.0.1 \
	MANAGER_HTTP_PORT="$(free_port)" MANAGER_TENANT_ID="$TENANT" \
	MANAGER_ENTITY_ID="$MGR_ID" MANAGER_API_KEY="$MGR_KEY" \
	MANAGER_CHANNEL_ID="$CHANNEL" MANAGER_MQTT_TIMEOUT=3s \
	"$MANAGER_BIN" >"$TMP/badca.log" 2>&1; then
	fail "manager trusted a broker certificate from another CA"
fi
grep -Eqi "certificate verify failed|TLS error" "$TMP/badca.log" || fail "unclear TLS failure: $(cat "$TMP/badca.log")"
ok "untrusted broker certificate refused"
echo "all TLS checks passed"
