#!/usr/bin/env bash
# Every documented variable of hal/qemu.sh changes its output as documented:
# the QEMU command line, the dry-run plan, user-data or meta-data.
# shellcheck source=tests/hal/lib.sh
. "$(dirname "$0")/lib.sh"
export_identity
export ENABLE_CVM=none OVMF_CODE=/fw/CODE.fd OVMF_VARS=/fw/VARS.fd

ud() { cat "$TMP/w/user-data"; }
md() { cat "$TMP/w/meta-data"; }

# Virtual machine variables -> QEMU command line.
c=$(dry_run_cmd RAM=4096M)
contains RAM "$c" " -m 4096M "
c=$(dry_run_cmd RAM=16G ENABLE_CVM=tdx OVMF_BIOS=/fw/OVMF.fd)
contains RAM-tdx "$c" " -m 16G "
contains RAM-tdx "$c" "memory-backend-memfd,id=ram1,size=16G,"
c=$(dry_run_cmd RAM=8G ENABLE_CVM=sev SEV_SNP=yes OVMF_BIOS=/fw/OVMF.fd)
contains RAM-snp "$c" "memory-backend-memfd,id=ram1,size=8G,"
c=$(dry_run_cmd CPU=2)
contains CPU "$c" " -smp 2 "
c=$(dry_run_cmd VM_NAME=worker-7)
contains VM_NAME "$c" " -name worker-7 "
contains VM_NAME "$c" "file=$TMP/w/worker-7.qcow2,if=none"
c=$(dry_run_cmd SSH_PORT=2022)
contains SSH_PORT "$c" "hostfwd=tcp::2022-:22"
c=$(dry_run_cmd ACCEL=tcg)
contains ACCEL "$c" " -accel tcg "
contains ACCEL "$c" " -cpu max "
lacks ACCEL "$c" "-enable-kvm"
c=$(dry_run_cmd QEMU=/opt/qemu/bin/qemu-system-x86_64)
contains QEMU "$c" "/opt/qemu/bin/qemu-system-x86_64 -name"
c=$(dry_run_cmd KERNEL=/k/vmlinuz INITRD=/k/initrd.img "KERNEL_CMDLINE=root=/dev/sda console=ttyS0")
contains KERNEL "$c" " -kernel /k/vmlinuz -initrd /k/initrd.img -append 'root=/dev/sda console=ttyS0' "
c=$(dry_run_cmd ENABLE_CVM=tdx OVMF_BIOS=/fw/OVMF.fd TDX_QGS_PORT=4051)
contains TDX_QGS_PORT "$c" '"port":"4051"'
c=$(dry_run_cmd ENABLE_CVM=sev SEV_SNP=no SEV_REDUCED_PHYS_BITS=5)
contains SEV_REDUCED_PHYS_BITS "$c" "reduced-phys-bits=5"
c=$(dry_run_cmd OVMF_CODE=/other/CODE.fd)
contains OVMF_CODE "$c" "file=/other/CODE.fd,readonly=on"
out=$(env WORK_DIR="$TMP/w" DISK_SIZE=80G "$QEMU_SH" --dry-run build 2>/dev/null)
contains DISK_SIZE "$out" "propeller-cvm.qcow2 80G"
contains BASE_IMAGE "$out" "-b $BASE_IMAGE "
out=$(env WORK_DIR="$TMP/w" BASE_IMAGE=https://images.example/debian.qcow2 \
  "$QEMU_SH" --dry-run build 2>/dev/null)
contains BASE_IMAGE-url "$out" "-b https://images.example/debian.qcow2 "
out=$(WORK_DIR=$TMP/other "$QEMU_SH" --dry-run 2>/dev/null)
contains WORK_DIR "$out" "file=$TMP/other/seed.img"
if [ -f "$TMP/other/user-data" ]; then pass; else fail "WORK_DIR: user-data not in $TMP/other"; fi

# Guest variables -> user-data and meta-data.
dry_run_build
u=$(ud)
contains identity "$u" "PROPLET_TENANT_ID=$PROPLET_TENANT_ID"
contains identity "$u" "PROPLET_DOMAIN_ID=$PROPLET_TENANT_ID"
contains identity "$u" "PROPLET_ENTITY_ID=$PROPLET_ENTITY_ID"
contains identity "$u" "PROPLET_CLIENT_ID=$PROPLET_ENTITY_ID"
contains identity "$u" "PROPLET_API_KEY=$PROPLET_API_KEY"
contains identity "$u" "PROPLET_CLIENT_KEY=$PROPLET_API_KEY"
contains identity "$u" "PROPLET_CHANNEL_ID=$PROPLET_CHANNEL_ID"
contains defaults "$u" "PROPLET_MQTT_ADDRESS=tcp://10.0.2.2:1883"
contains defaults "$u" "PROPLET_KBS_URI=http://10.0.2.2:8082"
contains defaults "$u" "PROPLET_LIVELINESS_INTERVAL=5"
contains defaults "$u" "PROPLET_LOG_LEVEL=info"
contains defaults "$u" "PROPLET_INSTANCE_ID="
contains defaults "$u" "hostname: propeller-cvm"
contains defaults "$u" 'plain_text_passwd: "propeller"'
contains defaults "$u" "ssh_pwauth: true"
contains defaults "$u" 'GUEST_COMPONENTS="proplet propeller"'
contains defaults "$u" "SOURCE_KIND=seed"
contains defaults "$u" "Login: ssh -p 2222 propeller@localhost"
m=$(md)
contains meta-data "$m" "local-hostname: propeller-cvm"
contains meta-data "$m" "instance-id: iid-propeller-cvm-"
# Packages: deps.sh's build list without the test-only tools.
pk=$(grep "^      GUEST_PACKAGES=" <<<"$u" | tr "\"=" "  ")" "
for p in build-essential cmake libmosquitto-dev libssl-dev libjansson-dev libtcc-dev git; do
  contains packages "$pk" " $p "
done
for p in shellcheck docker-registry skopeo postgresql nodejs libcmocka-dev; do
  lacks packages "$pk" " $p "
done
# A fresh instance id per build.
id1=$(grep -o 'PROPLET_INSTANCE_ID=.*' <<<"$u")
dry_run_build
id2=$(grep -o 'PROPLET_INSTANCE_ID=.*' "$TMP/w/user-data")
if [ "$id1" != "$id2" ]; then pass; else fail "PROPLET_INSTANCE_ID not fresh per build"; fi

# Older identity names alone.
dry_run_build PROPLET_TENANT_ID= PROPLET_ENTITY_ID= PROPLET_API_KEY= \
  PROPLET_DOMAIN_ID=dom-1 PROPLET_CLIENT_ID=c902e51c-5eac-4a2d-a489-660b5f7ab461 \
  PROPLET_CLIENT_KEY=old-key
u=$(ud)
contains old-names "$u" "PROPLET_TENANT_ID=dom-1"
contains old-names "$u" "PROPLET_ENTITY_ID=c902e51c-5eac-4a2d-a489-660b5f7ab461"
contains old-names "$u" "PROPLET_API_KEY=old-key"
contains old-names "$u" "PROPLET_CLIENT_KEY=old-key"

dry_run_build PROPLET_MQTT_ADDRESS=mqtts://broker.example:8883 KBS_URL=https://kbs.example:8443/ \
  PROPLET_LOG_LEVEL=debug PROPLET_LIVELINESS_INTERVAL=3 VM_NAME=tdx-worker-2 SSH_PORT=2200
u=$(ud)
contains PROPLET_MQTT_ADDRESS "$u" "PROPLET_MQTT_ADDRESS=mqtts://broker.example:8883"
contains KBS_URL "$u" "PROPLET_KBS_URI=https://kbs.example:8443/"
contains PROPLET_LOG_LEVEL "$u" "PROPLET_LOG_LEVEL=debug"
contains PROPLET_LIVELINESS_INTERVAL "$u" "PROPLET_LIVELINESS_INTERVAL=3"
contains VM_NAME "$u" "hostname: tdx-worker-2"
contains VM_NAME "$(md)" "local-hostname: tdx-worker-2"
contains SSH_PORT "$u" "ssh -p 2200 "

dry_run_build SOURCE=https://git.example/propeller.git SOURCE_REF=v0.2 \
  "GUEST_PACKAGES=build-essential cmake libfoo-dev" GUEST_COMPONENTS=proplet
u=$(ud)
contains SOURCE "$u" "SOURCE_KIND=git"
contains SOURCE "$u" "SOURCE_URL=https://git.example/propeller.git"
contains SOURCE_REF "$u" "SOURCE_REF=v0.2"
contains GUEST_PACKAGES "$u" 'GUEST_PACKAGES="build-essential cmake libfoo-dev"'
contains GUEST_COMPONENTS "$u" 'GUEST_COMPONENTS="proplet"'

tar -C "$SRC" -czf "$TMP/src.tar.gz" CMakeLists.txt
dry_run_build SOURCE="$TMP/src.tar.gz"
contains SOURCE-tarball "$(ud)" "SOURCE_KIND=seed"

echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhalTestKeyOnlyForTests0000000000000000 t@h" >"$TMP/k.pub"
dry_run_build GUEST_PASSWORD= SSH_PUBKEY_FILE="$TMP/k.pub"
u=$(ud)
contains GUEST_PASSWORD "$u" "lock_passwd: true"
contains GUEST_PASSWORD "$u" "ssh_pwauth: false"
lacks GUEST_PASSWORD "$u" "plain_text_passwd"
contains SSH_PUBKEY_FILE "$u" "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhalTestKeyOnlyForTests"
dry_run_build GUEST_PASSWORD=s3cret-Pw
contains GUEST_PASSWORD "$(ud)" 'plain_text_passwd: "s3cret-Pw"'

# The embedded setup script is hal/cloud-init/propeller-hal-setup.sh verbatim.
dry_run_build
b64=$(sed -n '/path: \/usr\/local\/sbin\/propeller-hal-setup/,/content:/p' "$TMP/w/user-data" |
  sed -n 's/^    content: //p')
if [ -n "$b64" ] && base64 -d <<<"$b64" | cmp -s - "$SRC/hal/cloud-init/propeller-hal-setup.sh"; then
  pass
else
  fail "embedded setup script differs from hal/cloud-init/propeller-hal-setup.sh"
fi

finish
