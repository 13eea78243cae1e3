#!/usr/bin/env bash
# The user-data hal/qemu.sh generates passes `cloud-init schema` in several
# configurations, parses as YAML with the expected structure, and the
# embedded guest setup script is valid bash.
# shellcheck source=tests/hal/lib.sh
. "$(dirname "$0")/lib.sh"
export_identity
export ENABLE_CVM=none

command -v cloud-init >/dev/null 2>&1 || {
  echo "cloud-init not installed (scripts/deps.sh installs it)" >&2
  exit 1
}
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhalTestKeyOnlyForTests0000000000000000 t@h" >"$TMP/k.pub"

check_config() {
  local label=$1
  shift
  dry_run_build "$@"
  local out
  if out=$(cloud-init schema --config-file "$TMP/w/user-data" 2>&1); then
    pass
  else
    fail "$label: cloud-init schema: $out"
  fi
  # Structure: YAML with the expected keys; /etc/default/proplet complete.
  if out=$(python3 - "$TMP/w/user-data" "$TMP/w/meta-data" <<'PY' 2>&1
import sys, yaml, base64
ud = yaml.safe_load(open(sys.argv[1]))
md = yaml.safe_load(open(sys.argv[2]))
assert open(sys.argv[1]).readline().strip() == "#cloud-config", "first line"
for k in ("users", "write_files", "runcmd", "final_message", "hostname"):
    assert k in ud, "missing key " + k
files = {f["path"]: f for f in ud["write_files"]}
env = files["/etc/default/proplet"]
assert env["permissions"] == "0600", "proplet env must be 0600"
kv = dict(l.split("=", 1) for l in env["content"].splitlines() if l and not l.startswith("#"))
for k in ("PROPLET_TENANT_ID", "PROPLET_ENTITY_ID", "PROPLET_API_KEY", "PROPLET_CHANNEL_ID",
          "PROPLET_DOMAIN_ID", "PROPLET_CLIENT_ID", "PROPLET_CLIENT_KEY",
          "PROPLET_MQTT_ADDRESS", "PROPLET_KBS_URI", "PROPLET_LIVELINESS_INTERVAL",
          "PROPLET_INSTANCE_ID"):
    assert kv.get(k), "empty or missing " + k
assert kv["PROPLET_TENANT_ID"] == kv["PROPLET_DOMAIN_ID"]
assert kv["PROPLET_ENTITY_ID"] == kv["PROPLET_CLIENT_ID"]
assert kv["PROPLET_API_KEY"] == kv["PROPLET_CLIENT_KEY"]
setup = files["/usr/local/sbin/propeller-hal-setup"]
assert setup["encoding"] == "b64" and setup["permissions"] == "0755"
open(sys.argv[1] + ".setup.sh", "wb").write(base64.b64decode(setup["content"]))
assert ud["runcmd"] == [["/usr/local/sbin/propeller-hal-setup"]], ud["runcmd"]
names = [u["name"] for u in ud["users"] if isinstance(u, dict)]
assert "propeller" in names
assert md["local-hostname"] == ud["hostname"]
assert md["instance-id"].startswith("iid-")
PY
  ); then
    pass
  else
    fail "$label: structure: $out"
  fi
  if bash -n "$TMP/w/user-data.setup.sh"; then pass; else fail "$label: setup script syntax"; fi
}

check_config defaults
check_config old-names PROPLET_TENANT_ID= PROPLET_ENTITY_ID= PROPLET_API_KEY= \
  PROPLET_DOMAIN_ID=d1 PROPLET_CLIENT_ID=c902e51c-5eac-4a2d-a489-660b5f7ab461 PROPLET_CLIENT_KEY=k1
check_config git-source SOURCE=https://git.example/propeller.git SOURCE_REF=main \
  PROPLET_MQTT_ADDRESS=mqtts://broker.example:8883 KBS_URL=https://kbs.example/
check_config key-only GUEST_PASSWORD= SSH_PUBKEY_FILE="$TMP/k.pub" VM_NAME=w2
check_config custom-packages "GUEST_PACKAGES=build-essential cmake" GUEST_COMPONENTS=proplet

# The validator itself rejects a broken document, so a pass above means something.
printf '#cloud-config\nusers: 5\nwrite_files: {}\n' >"$TMP/bad"
if cloud-init schema --config-file "$TMP/bad" >/dev/null 2>&1; then
  fail "cloud-init schema accepted an invalid document"
else
  pass
fi
finish
