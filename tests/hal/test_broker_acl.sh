#!/usr/bin/env bash
# deploy/mosquitto: propeller-broker-users.sh turns a clients list into
# mosquitto password and ACL files; a real mosquitto on 127.0.0.1 with
# deploy/mosquitto/propeller.conf's settings then admits each client only
# with its key and only to its role's topics on its own channel.
# shellcheck source=tests/hal/lib.sh
. "$(dirname "$0")/lib.sh"
for t in mosquitto mosquitto_pub mosquitto_sub mosquitto_passwd; do
  command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] ||
    { echo "$t not installed (scripts/deps.sh installs mosquitto, mosquitto-clients)" >&2; exit 1; }
done
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
GEN=$SRC/deploy/mosquitto/propeller-broker-users.sh

T=4bae1a76-afc4-4054-976c-5427c49fbbf3
C=34a616c3-8817-4995-aade-a383e64766a8
C2=0c1d7a3e-0000-4000-8000-000000000002
MGR=cdaccb11-7209-4fb9-8df1-3c52e9d64284
PRX=3dfb6fa7-8e8f-4a2b-a462-8afc59898686
P1=0deb859f-973d-4e2e-93cf-ec756f4fc3c8
P2=f869bde7-8b1a-483e-9837-b621309af55a
cat >"$TMP/clients" <<EOT
# test fleet
manager $MGR mgr-key $T $C
proxy   $PRX prx-key $T $C
proplet $P1 p1-key $T $C
proplet $P2 p2-key $T $C2
EOT

# Malformed lists are refused, naming the line and field, writing nothing.
bad_list() {
  local label=$1 want=$2 err rc=0
  printf '%s\n' "$3" >"$TMP/badclients"
  err=$("$GEN" "$TMP/badclients" "$TMP/badout" 2>&1) || rc=$?
  if [ $rc -ne 0 ] && grep -qF -- "$want" <<<"$err" && [ ! -e "$TMP/badout" ]; then pass; else
    fail "$label: rc=$rc: $err"
  fi
}
bad_list role "ROLE: must be manager, proplet or proxy (got \"worker\")" "worker $P1 k $T $C"
bad_list fields "badclients:1: expected ROLE ENTITY_ID API_KEY TENANT_ID CHANNEL_ID" "proplet $P1 k $T"
bad_list extra "expected ROLE" "proplet $P1 k $T $C junk"
bad_list key "API_KEY: no white space" "proplet $P1 k:ey $T $C"
bad_list channel "CHANNEL_ID: not a topic segment (got \"c/+\")" "proplet $P1 k $T c/+"
bad_list dup "ENTITY_ID $P1 listed twice" "proplet $P1 k $T $C
proplet $P1 k2 $T $C"
bad_list empty "no clients" "# nothing"

"$GEN" "$TMP/clients" "$TMP/broker" 2>/dev/null || fail "generator failed on a good list"
if [ "$(stat -c %a "$TMP/broker/passwd")" = 600 ]; then pass; else fail "passwd not 0600"; fi
if grep -q "p1-key" "$TMP/broker/passwd"; then fail "passwd holds a plaintext key"; else pass; fi

# The shipped config, with the file paths and listener pointed at the test.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e "s|^password_file .*|password_file $TMP/broker/passwd|" \
  -e "s|^acl_file .*|acl_file $TMP/broker/acl|" \
  -e "s|^listener 1883$|listener $port 127.0.0.1|" \
  "$SRC/deploy/mosquitto/propeller.conf" >"$TMP/mosquitto.conf"
# Started as root, mosquitto would switch to user "mosquitto", which cannot
# read the test's 0600 files: stay the invoking user.
echo "user $(id -un)" >>"$TMP/mosquitto.conf"
grep -q "^listener $port 127.0.0.1$" "$TMP/mosquitto.conf" || fail "listener line not found in propeller.conf"
"$MOSQUITTO" -c "$TMP/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 &
BROKER=$!
trap 'kill "$BROKER" 2>/dev/null; wait "$BROKER" 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do
  mosquitto_pub -h 127.0.0.1 -p "$port" -u "$MGR" -P mgr-key -t "m/$T/c/$C/ping" -m x 2>/dev/null && break
  sleep 0.1
done

pub() { # USER KEY TOPIC
  mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -u "$1" -i "$1-pub" -P "$2" -t "$3" -m "{\"from\":\"$1\"}" 2>&1
}
# sees LABEL WANT(yes|no) SUB_USER SUB_KEY TOPIC PUB_USER PUB_KEY: does a
# message published by PUB reach a subscriber SUB on TOPIC?
sees() {
  local label=$1 want=$2 got
  mosquitto_sub -h 127.0.0.1 -p "$port" -q 1 -u "$3" -i "$3-sub" -P "$4" -t "$5" -C 1 -W 3 \
    >"$TMP/sub.out" 2>&1 &
  local s=$!
  sleep 0.5
  pub "$6" "$7" "$5" >/dev/null || true
  wait "$s" 2>/dev/null || true
  if grep -q "\"from\":\"$6\"" "$TMP/sub.out"; then got=yes; else got=no; fi
  if [ "$got" = "$want" ]; then pass; else fail "$label: delivered=$got, expected $want"; fi
}
B=m/$T/c/$C
# Allowed flows.
sees "proplet alive -> manager" yes "$MGR" mgr-key "$B/control/proplet/alive" "$P1" p1-key
sees "proplet results -> manager" yes "$MGR" mgr-key "$B/control/proplet/results" "$P1" p1-key
sees "manager start -> proplet" yes "$P1" p1-key "$B/control/manager/start" "$MGR" mgr-key
sees "proplet -> proxy request" yes "$PRX" prx-key "$B/registry/proplet" "$P1" p1-key
sees "proxy chunks -> proplet" yes "$P1" p1-key "$B/registry/server" "$PRX" prx-key
# Denied: a proplet impersonating the manager, reading others' results,
# reaching another channel; the proxy sending start.
sees "proplet forges start" no "$MGR" mgr-key "$B/control/manager/start" "$P1" p1-key
sees "proplet reads results" no "$P1" p1-key "$B/control/proplet/results" "$MGR" mgr-key
sees "other channel's proplet" no "$MGR" mgr-key "$B/control/proplet/alive" "$P2" p2-key
sees "proxy forges start" no "$P1" p1-key "$B/control/manager/start" "$PRX" prx-key
sees "proplet outside base" no "$MGR" mgr-key "m/$T/c/$C2/control/proplet/alive" "$P1" p1-key
# Credentials.
if pub "$P1" wrong-key "$B/control/proplet/alive" >/dev/null; then
  fail "wrong key accepted"
else
  pass
fi
if mosquitto_pub -h 127.0.0.1 -p "$port" -t "$B/control/proplet/alive" -m x >/dev/null 2>&1; then
  fail "anonymous client accepted"
else
  pass
fi
kill -0 "$BROKER" 2>/dev/null || fail "broker died: $(cat "$TMP/mosquitto.log")"
finish
