#!/usr/bin/env bash
# The main job: the seed's encrypted-workload story on one machine.
#
# Installs what it needs, builds, then starts mosquitto (per-client
# passwords and ACLs), a local OCI registry (docker-registry), propeller-kbs,
# propeller-manager and one proplet (sample attester: there is no TEE
# here), stores a fresh key in the KBS with `propeller kbs`, opens the
# resource policy, pushes the addition example, encrypts it with a CoCo
# keyprovider packet naming the KBS key, creates and starts the encrypted
# task, waits, prints the finished task, and stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

"$root/scripts/deps.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" -j "$(nproc)" --target propeller proplet \
	propeller-manager propeller-kbs wasm_addition >/dev/null

B=$root/build
CLI=$B/src/cli/propeller
WORK=$(mktemp -d /tmp/propeller-demo.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
say() { printf '\n== %s\n' "$*"; }
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "demo: nothing listens on port $1" >&2
	exit 1
}
uuid() { python3 -c 'import uuid; print(uuid.uuid4())'; }

TENANT=$(uuid) CHANNEL=$(uuid)
MGR_ID=$(uuid) MGR_KEY=$(openssl rand -hex 16)
PROPLET_ID=$(uuid) PROPLET_KEY=$(openssl rand -hex 16)
BASE="m/$TENANT/c/$CHANNEL"

say "mosquitto with per-client credentials and topic ACLs"
MQ_PORT=$(free_port)
mosquitto_passwd -c -b "$WORK/passwd" "$MGR_ID" "$MGR_KEY" >/dev/null
mosquitto_passwd -b "$WORK/passwd" "$PROPLET_ID" "$PROPLET_KEY" >/dev/null
cat >"$WORK/acl" <<ACL
user $MGR_ID
topic readwrite $BASE/#
user $PROPLET_ID
topic read $BASE/control/manager/#
topic write $BASE/control/proplet/#
topic readwrite $BASE/registry/#
ACL
cat >"$WORK/mosquitto.conf" <<CONF
listener $MQ_PORT 127.0.0.1
allow_anonymous false
password_file $WORK/passwd
acl_file $WORK/acl
persistence false
user $(id -un)
CONF
chmod 0600 "$WORK/passwd" "$WORK/acl"
mosquitto -c "$WORK/mosquitto.conf" >"$WORK/mosquitto.log" 2>&1 &
PIDS+=($!)
wait_port "$MQ_PORT"
echo "broker on 127.0.0.1:$MQ_PORT"

say "OCI registry (docker-registry)"
REG_PORT=$(free_port)
mkdir -p "$WORK/registry"
cat >"$WORK/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $WORK/registry}}
http: {addr: 127.0.0.1:$REG_PORT}
YML
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
PIDS+=($!)
wait_port "$REG_PORT"
REG=127.0.0.1:$REG_PORT
echo "registry on $REG"

say "propeller-kbs (admin key pair from openssl, as in the seed)"
openssl genpkey -algorithm ed25519 >"$WORK/private.key" 2>/dev/null
openssl pkey -in "$WORK/private.key" -pubout -out "$WORK/public.pub"
"$B/src/kbs/propeller-kbs" --listen 127.0.0.1:0 --data-dir "$WORK/kbs" \
	--admin-public-key "$WORK/public.pub" 2>"$WORK/kbs.log" &
PIDS+=($!)
for _ in $(seq 100); do
	KBS_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/kbs.log")
	[ -n "$KBS_PORT" ] && break
	sleep 0.05
done
KBS_URL=http://127.0.0.1:${KBS_PORT:?propeller-kbs did not start}
echo "KBS at $KBS_URL"

say "propeller-manager"
HTTP_PORT=$(free_port)
env MANAGER_MQTT_ADDRESS="tcp://127.0.0.1:$MQ_PORT" MANAGER_HTTP_HOST=127.0.0.1 \
	MANAGER_HTTP_PORT="$HTTP_PORT" MANAGER_TENANT_ID="$TENANT" \
	MANAGER_ENTITY_ID="$MGR_ID" MANAGER_API_KEY="$MGR_KEY" \
	MANAGER_CHANNEL_ID="$CHANNEL" MANAGER_STORAGE_TYPE=sqlite \
	MANAGER_SQLITE_PATH="$WORK/propeller.db" \
	"$B/src/manager/propeller-manager" >"$WORK/manager.log" 2>&1 &
PIDS+=($!)
wait_port "$HTTP_PORT"
MANAGER=http://127.0.0.1:$HTTP_PORT
echo "manager at $MANAGER"

say "proplet (sample attester: no TEE on this machine)"
env PROPLET_TENANT_ID="$TENANT" PROPLET_ENTITY_ID="$PROPLET_ID" \
	PROPLET_API_KEY="$PROPLET_KEY" PROPLET_CHANNEL_ID="$CHANNEL" \
	PROPLET_MQTT_ADDRESS="tcp://127.0.0.1:$MQ_PORT" PROPLET_TEE=sample \
	PROPLET_KBS_URI="$KBS_URL" PROPLET_REGISTRY_INSECURE=true \
	PROPLET_CONFIG_FILE=/nonexistent \
	"$B/src/proplet/proplet" >"$WORK/proplet.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
	curl -sf "$MANAGER/proplets/$PROPLET_ID" | grep -q '"alive":true' && break
	sleep 0.1
done
curl -sf "$MANAGER/proplets/$PROPLET_ID" | jq -c '{id, alive, metadata: {os: .metadata.os, wasm_runtime: .metadata.wasm_runtime}}'

say "store a fresh key in the KBS and open the resource policy"
openssl rand -base64 32 >"$WORK/key.b64"
"$CLI" kbs --url "$KBS_URL" config --auth-private-key "$WORK/private.key" \
	set-resource --path default/key/propeller-addition --resource-file "$WORK/key.b64"
"$CLI" kbs --url "$KBS_URL" config --auth-private-key "$WORK/private.key" \
	set-resource-policy --allow-all

say "push the addition module, encrypt it for the KBS key, push it again"
"$CLI" image push --tls-verify=false "$B/examples/addition/addition.wasm" \
	"docker://$REG/tee-wasm-addition:latest"
"$CLI" image encrypt --tls-verify=false \
	--key "provider:attestation-agent:keypath=$WORK/key.b64::keyid=kbs:///default/key/propeller-addition" \
	"docker://$REG/tee-wasm-addition:latest" "docker://$REG/tee-wasm-addition:encrypted"
"$CLI" image inspect --tls-verify=false "$REG/tee-wasm-addition:encrypted"

say "create and start the encrypted task (propeller task)"
export PROPELLER_MANAGER_URL=$MANAGER
TASK=$("$CLI" task create add --encrypted \
	--image-url "$REG/tee-wasm-addition:encrypted" \
	--kbs-resource-path default/key/propeller-addition \
	--cli-args=--invoke,add --inputs 10,20 --json | jq -r .id)
echo "created task $TASK"
"$CLI" task start "$TASK"
for _ in $(seq 300); do
	state=$("$CLI" task get "$TASK" --json | jq -r .state)
	[ "$state" -ge 3 ] && break
	sleep 0.1
done

say "the finished task"
"$CLI" task get "$TASK" --json | jq .
state=$("$CLI" task get "$TASK" --json | jq -r .state)
results=$("$CLI" task get "$TASK" --json | jq -r .results)
if [ "$state" != 3 ] || [ "$results" != 30 ]; then
	echo "demo: expected state 3 and results 30, got state $state, results \"$results\"" >&2
	tail -n 20 "$WORK/proplet.log" >&2
	exit 1
fi
echo
echo "demo: ok (state 3 = Completed, results 30, decrypted in memory after attestation)"
