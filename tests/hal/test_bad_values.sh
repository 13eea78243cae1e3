#!/usr/bin/env bash
# hal/qemu.sh refuses bad values, missing variables and missing tools with a
# message naming the variable or tool, and a non-zero exit.
# shellcheck source=tests/hal/lib.sh
. "$(dirname "$0")/lib.sh"
export_identity
export ENABLE_CVM=none OVMF_CODE=/fw/CODE.fd OVMF_VARS=/fw/VARS.fd

# Arguments.
refused target 'unknown argument "boot"' boot --
refused two-targets "Usage:" build run --
out=$("$QEMU_SH" --help)
contains help "$out" "ENABLE_CVM"

# ENABLE_CVM: only the four values (upstream silently boots a plain VM).
for v in snp se cca TDX "" ; do
  [ -n "$v" ] || continue
  refused "ENABLE_CVM=$v" "ENABLE_CVM: must be one of auto, tdx, sev, none (got \"$v\")" \
    --dry-run -- ENABLE_CVM="$v"
done
refused SEV_SNP "SEV_SNP: must be one of auto, yes, no" --dry-run -- SEV_SNP=maybe
refused ACCEL "ACCEL: must be kvm or tcg" --dry-run -- ACCEL=hvf
refused ACCEL-tcg-tdx "ACCEL: tcg cannot run a confidential guest" --dry-run -- ACCEL=tcg ENABLE_CVM=tdx

for v in 4096 4096MB 16g -1G 0M 1.5G lots; do
  refused "RAM=$v" "RAM: must be a positive integer followed by M, G or T" --dry-run -- RAM="$v"
done
refused RAM-small "RAM: must be at least 512M (got \"256M\")" --dry-run -- RAM=256M
for v in 0 -2 two 1.5 4x 9999; do
  refused "CPU=$v" "CPU: must be a positive integer" --dry-run -- CPU="$v"
done
for v in 40 40GB big 0G; do
  refused "DISK_SIZE=$v" "DISK_SIZE: must be a positive integer followed by M, G or T" \
    --dry-run -- DISK_SIZE="$v"
done
refused DISK_SIZE-small "DISK_SIZE: must be at least 1G" --dry-run -- DISK_SIZE=100M
refused VM_NAME "VM_NAME: must be a host name" --dry-run -- "VM_NAME=my vm"
refused SSH_PORT "SSH_PORT: must be a TCP port" --dry-run -- SSH_PORT=70000
refused SSH_PORT0 "SSH_PORT: must be a TCP port" --dry-run -- SSH_PORT=0
refused SEV_CBITPOS "SEV_CBITPOS: must be a bit number" --dry-run -- SEV_CBITPOS=x
refused KERNEL_CMDLINE "KERNEL_CMDLINE: needs KERNEL" --dry-run -- KERNEL_CMDLINE=quiet

# Missing variables: each named.
out=$(env -u PROPLET_TENANT_ID -u PROPLET_ENTITY_ID -u PROPLET_API_KEY -u PROPLET_CHANNEL_ID \
  -u BASE_IMAGE WORK_DIR="$TMP/w" "$QEMU_SH" --dry-run build 2>&1) && fail "missing vars accepted"
for v in "PROPLET_TENANT_ID (or PROPLET_DOMAIN_ID)" "PROPLET_ENTITY_ID (or PROPLET_CLIENT_ID)" \
  "PROPLET_API_KEY (or PROPLET_CLIENT_KEY)" PROPLET_CHANNEL_ID BASE_IMAGE; do
  contains missing "$out" "$v"
done
contains missing "$out" "required for build, not set"
refused missing-channel "PROPLET_CHANNEL_ID: required for build" --dry-run build -- PROPLET_CHANNEL_ID=
# run alone needs no identity.
out=$(env -u PROPLET_TENANT_ID WORK_DIR="$TMP/w" "$QEMU_SH" --dry-run run 2>/dev/null) ||
  fail "run without identity refused"

# Identity values.
refused entity-uuid "PROPLET_ENTITY_ID: must be a UUID" --dry-run -- PROPLET_ENTITY_ID=proplet-1
refused client-uuid "PROPLET_ENTITY_ID: must be a UUID" --dry-run -- \
  PROPLET_ENTITY_ID= PROPLET_CLIENT_ID=not-a-uuid
refused tenant "PROPLET_TENANT_ID: letters, digits" --dry-run -- "PROPLET_TENANT_ID=a/b"
refused channel "PROPLET_CHANNEL_ID: letters, digits" --dry-run -- "PROPLET_CHANNEL_ID=c#1"
refused api-key "PROPLET_API_KEY:" --dry-run -- 'PROPLET_API_KEY=a b"c'
err=$(PROPLET_API_KEY='se cret' WORK_DIR=$TMP/w "$QEMU_SH" --dry-run 2>&1) || true
lacks api-key-hidden "$err" "se cret"
refused both-names "PROPLET_TENANT_ID and PROPLET_DOMAIN_ID are both set and differ" --dry-run -- \
  PROPLET_DOMAIN_ID=other
refused both-keys "PROPLET_API_KEY and PROPLET_CLIENT_KEY are both set and differ; set one" \
  --dry-run -- PROPLET_CLIENT_KEY=other
refused mqtt "PROPLET_MQTT_ADDRESS: must be tcp|mqtt|ssl|tls|mqtts://HOST[:PORT]" --dry-run -- \
  PROPLET_MQTT_ADDRESS=http://broker:1883
refused mqtt2 "PROPLET_MQTT_ADDRESS:" --dry-run -- "PROPLET_MQTT_ADDRESS=tcp://bro ker:1883"
refused kbs "KBS_URL: must be http(s)://HOST[:PORT][/PATH]" --dry-run -- KBS_URL=kbs.example:8080
# shellcheck disable=SC2016 # a literal command substitution is the bad value
refused kbs2 "KBS_URL:" --dry-run -- 'KBS_URL=http://kbs/$(reboot)'
refused loglevel "PROPLET_LOG_LEVEL: must be debug, info, warn or error" --dry-run -- \
  PROPLET_LOG_LEVEL=loud
refused liveliness "PROPLET_LIVELINESS_INTERVAL: must be a positive integer" --dry-run -- \
  PROPLET_LIVELINESS_INTERVAL=10s
refused source "SOURCE: neither a directory, a tarball nor a git URL" --dry-run -- \
  SOURCE=/nonexistent/src
echo x >"$TMP/src.zip"
refused source-zip "SOURCE: a file must be a .tar.gz or .tgz tarball" --dry-run -- SOURCE="$TMP/src.zip"
mkdir -p "$TMP/empty"
refused source-dir "SOURCE: directory without a CMakeLists.txt" --dry-run -- SOURCE="$TMP/empty"
refused source-ref "SOURCE_REF: must be a branch or tag name" --dry-run -- 'SOURCE_REF=main;rm'
refused packages "GUEST_PACKAGES: must be space-separated package names" --dry-run -- \
  'GUEST_PACKAGES=cmake;curl'
# shellcheck disable=SC2016
refused components "GUEST_COMPONENTS:" --dry-run -- 'GUEST_COMPONENTS=proplet$(id)'
refused password "GUEST_PASSWORD:" --dry-run -- 'GUEST_PASSWORD=a b'
refused pubkey "SSH_PUBKEY_FILE: not a readable file" --dry-run -- SSH_PUBKEY_FILE=/nonexistent.pub
echo "not a key" >"$TMP/bad.pub"
refused pubkey2 "SSH_PUBKEY_FILE: does not hold an OpenSSH public key" --dry-run -- \
  SSH_PUBKEY_FILE="$TMP/bad.pub"

# Refusals happen before anything is written.
rm -rf "$TMP/w"
refused nothing-written "CPU:" --dry-run -- CPU=0
if [ -e "$TMP/w" ]; then fail "a refused run wrote $TMP/w"; else pass; fi

# Missing tools and files outside dry-run, each named. PATH holds only the
# basic tools the script needs, so qemu-img, genisoimage and QEMU are absent.
bin=$TMP/bin
mkdir -p "$bin"
for t in bash env cat head sed grep dirname basename mkdir rm cp mv tr id base64 \
  date uname tar gzip; do
  p=$(command -v "$t") && ln -sf "$p" "$bin/$t"
done
refused no-qemu-img "qemu-img not found: install qemu-utils" build -- PATH="$bin"
touch "$TMP/qemu-img" && chmod +x "$TMP/qemu-img" && ln -sf "$TMP/qemu-img" "$bin/qemu-img"
refused no-localds "cloud-localds not found: install cloud-image-utils" build -- PATH="$bin"
refused no-qemu "qemu-system-x86_64 not found: install qemu-system-x86" run -- PATH="$bin"
refused no-qemu2 "/opt/none/qemu not found" run -- PATH="$bin" QEMU=/opt/none/qemu
# Firmware: the defaults do not exist under a fake path.
touch "$TMP/qemu" && chmod +x "$TMP/qemu"
refused no-ovmf "OVMF firmware not found (OVMF_CODE=/fw/CODE.fd, OVMF_VARS=/fw/VARS.fd)" run -- \
  QEMU="$TMP/qemu"
refused no-ovmf-bios "OVMF firmware not found (OVMF_BIOS=/fw/none.fd)" run -- \
  QEMU="$TMP/qemu" ENABLE_CVM=tdx OVMF_BIOS=/fw/none.fd
# run before build.
touch "$TMP/CODE.fd" "$TMP/VARS.fd"
refused no-disk "propeller-cvm.qcow2 missing: run \"qemu.sh build\" first" run -- \
  QEMU="$TMP/qemu" OVMF_CODE="$TMP/CODE.fd" OVMF_VARS="$TMP/VARS.fd"
finish
