#!/usr/bin/env bash
# Slow, opt-in (PROPELLER_SLOW_TESTS=1): builds a Debian 12 guest with
# debootstrap, boots it with hal/qemu.sh under QEMU (TCG, ENABLE_CVM=none,
# direct kernel boot), lets cloud-init build and start the proplet from this
# tree, and waits for the proplet to announce itself (discovery or heartbeat
# carrying its id) on a mosquitto broker on the host's 127.0.0.1, reached
# from the guest as 10.0.2.2. Exit 77 (skipped) when not enabled or when the
# tools are missing and cannot be installed (not root).
#
# Knobs: SLOW_MIRROR (Debian mirror for debootstrap; default: the host's apt
# source), SLOW_WAIT (seconds to wait for the announcement, default 5400),
# SLOW_KEEP=1 (keep the work directory), SLOW_COMPONENTS (default proplet),
# SLOW_ACCEL (tcg; kvm for a quicker run where /dev/kvm is usable),
# SLOW_CACHE (a directory keeping downloaded packages between runs).
# shellcheck source=tests/hal/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "${PROPELLER_SLOW_TESTS:-0}" != 1 ]; then
  echo "skipped: set PROPELLER_SLOW_TESTS=1 to build and boot a guest (takes 30-90 min)"
  exit 77
fi

# Tools: installed here if missing (root), else skip.
need=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
command -v qemu-img >/dev/null 2>&1 || need+=(qemu-utils)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v genisoimage >/dev/null 2>&1 || need+=(genisoimage)
command -v mke2fs >/dev/null 2>&1 || need+=(e2fsprogs)
[ -f /usr/share/OVMF/OVMF_CODE_4M.fd ] || [ -f /usr/share/OVMF/OVMF_CODE.fd ] || need+=(ovmf)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "skipped: missing ${need[*]} and not root to install them"
    exit 77
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" ||
    { echo "cannot install ${need[*]}" >&2; exit 1; }
fi
[ "$(id -u)" -eq 0 ] || { echo "skipped: debootstrap needs root"; exit 77; }

MIRROR=${SLOW_MIRROR:-}
if [ -z "$MIRROR" ]; then
  MIRROR=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
  [ -n "$MIRROR" ] || MIRROR=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' \
    /etc/apt/sources.list 2>/dev/null)
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi

# Identity and broker.
T=4bae1a76-afc4-4054-976c-5427c49fbbf3
C=34a616c3-8817-4995-aade-a383e64766a8
MGR=cdaccb11-7209-4fb9-8df1-3c52e9d64284
P1=0deb859f-973d-4e2e-93cf-ec756f4fc3c8
printf 'manager %s mgr-key %s %s\nproplet %s p1-key %s %s\n' "$MGR" "$T" "$C" "$P1" "$T" "$C" \
  >"$TMP/clients"
"$SRC/deploy/mosquitto/propeller-broker-users.sh" "$TMP/clients" "$TMP/broker"
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
port=$(free_port)
ssh_port=$(free_port)
sed -e "s|^password_file .*|password_file $TMP/broker/passwd|" \
  -e "s|^acl_file .*|acl_file $TMP/broker/acl|" \
  -e "s|^listener 1883$|listener $port 127.0.0.1|" \
  "$SRC/deploy/mosquitto/propeller.conf" >"$TMP/mosquitto.conf"
echo "user $(id -un)" >>"$TMP/mosquitto.conf"
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
"$MOSQUITTO" -c "$TMP/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 &
BROKER=$!
QEMU_PID=""
cleanup() {
  [ -z "$QEMU_PID" ] || kill "$QEMU_PID" 2>/dev/null || true
  kill "$BROKER" 2>/dev/null || true
  wait 2>/dev/null || true
  # debootstrap leaves /proc and /sys mounted in the root if it fails.
  # (|| true: under set -e and pipefail, no mount left means grep fails,
  # which would end this trap, and the test, with status 1.)
  findmnt -rn -o TARGET 2>/dev/null | grep -F "$TMP/" | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done || true
  if [ "${SLOW_KEEP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf --one-file-system "$TMP"; fi
}
trap cleanup EXIT

# The guest: Debian 12 with a kernel, systemd, cloud-init and the HAL's
# build dependencies preinstalled, so the guest needs no package download.
W=$TMP/hal-work
mkdir -p "$W"
pkgs=$(env WORK_DIR="$TMP/probe" PROPLET_TENANT_ID=$T PROPLET_ENTITY_ID=$P1 PROPLET_API_KEY=k \
  PROPLET_CHANNEL_ID=$C BASE_IMAGE=/none ENABLE_CVM=none "$QEMU_SH" --dry-run build >/dev/null 2>&1 &&
  sed -n 's/^      GUEST_PACKAGES="\(.*\)"$/\1/p' "$TMP/probe/user-data")
[ -n "$pkgs" ] || { echo "cannot derive the guest package list" >&2; exit 1; }
ROOT=$TMP/rootfs
echo "== debootstrap bookworm from $MIRROR"
cache=()
if [ -n "${SLOW_CACHE:-}" ]; then
  mkdir -p "$SLOW_CACHE"
  cache=(--cache-dir="$(cd "$SLOW_CACHE" && pwd)")
fi
# python3-cffi-backend: debootstrap does not resolve the virtual packages
# python3-cryptography (via cloud-init) depends on.
debootstrap --variant=minbase "${cache[@]}" \
  --include="systemd-sysv,udev,kmod,linux-image-amd64,cloud-init,python3-cffi-backend,sudo,mount,util-linux,e2fsprogs,iproute2,ca-certificates,${pkgs// /,}" \
  bookworm "$ROOT" "$MIRROR" >"$TMP/debootstrap.log" 2>&1 ||
  { tail -30 "$TMP/debootstrap.log" >&2; exit 1; }
echo "LABEL=propeller-root / ext4 defaults 0 1" >"$ROOT/etc/fstab"
mkdir -p "$ROOT/etc/systemd/network"
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n' >"$ROOT/etc/systemd/network/20-dhcp.network"
chroot "$ROOT" systemctl enable systemd-networkd >/dev/null 2>&1 || true
printf 'datasource_list: [ NoCloud, None ]\n' >"$ROOT/etc/cloud/cloud.cfg.d/90-propeller-test.cfg"
kernel=$(find "$ROOT/boot" -name 'vmlinuz-*' | sort | tail -n1)
initrd=$(find "$ROOT/boot" -name 'initrd.img-*' | sort | tail -n1)
if ! [ -f "$kernel" ] || ! [ -f "$initrd" ]; then
  echo "no kernel/initrd in the guest" >&2
  exit 1
fi
cp "$kernel" "$W/vmlinuz"
cp "$initrd" "$W/initrd.img"
echo "== root file system image"
mke2fs -q -t ext4 -L propeller-root -d "$ROOT" "$TMP/root.raw" 8G
qemu-img convert -O qcow2 "$TMP/root.raw" "$TMP/base.qcow2"
rm -rf "$ROOT" "$TMP/root.raw"

export WORK_DIR=$W BASE_IMAGE=$TMP/base.qcow2 ENABLE_CVM=none ACCEL=${SLOW_ACCEL:-tcg} RAM=3072M CPU=2 \
  DISK_SIZE=12G SSH_PORT=$ssh_port VM_NAME=propeller-slow \
  KERNEL=$W/vmlinuz INITRD=$W/initrd.img \
  KERNEL_CMDLINE="root=LABEL=propeller-root rw console=ttyS0" \
  PROPLET_TENANT_ID=$T PROPLET_ENTITY_ID=$P1 PROPLET_API_KEY=p1-key PROPLET_CHANNEL_ID=$C \
  PROPLET_MQTT_ADDRESS=tcp://10.0.2.2:$port GUEST_COMPONENTS="${SLOW_COMPONENTS:-proplet}" \
  GUEST_PACKAGES="$pkgs"
echo "== hal/qemu.sh build"
"$QEMU_SH" build
echo "== hal/qemu.sh run (serial log: $TMP/console.log)"
"$QEMU_SH" run </dev/null >"$TMP/console.log" 2>&1 &
QEMU_PID=$!

# The proplet's discovery (create) or heartbeat (alive) carrying its id;
# stop waiting early if QEMU exits.
wait_s=${SLOW_WAIT:-5400}
mosquitto_sub -h 127.0.0.1 -p "$port" -u "$MGR" -P mgr-key -i "$MGR" -q 1 -v \
  -t "m/$T/c/$C/control/proplet/create" -t "m/$T/c/$C/control/proplet/alive" \
  -C 1 -W "$wait_s" >"$TMP/announce.txt" 2>&1 &
SUB=$!
while kill -0 "$SUB" 2>/dev/null; do
  if ! kill -0 "$QEMU_PID" 2>/dev/null; then
    echo "QEMU exited before the proplet announced itself" >&2
    kill "$SUB" 2>/dev/null || true
    break
  fi
  # The guest setup failed: no announcement will come.
  if grep -aq " RESULT: [0-9]* step(s) failed" "$TMP/console.log"; then
    sleep 30
    kill "$SUB" 2>/dev/null || true
    break
  fi
  sleep 5
done
wait "$SUB" 2>/dev/null || true
if grep -q "\"proplet_id\":\"$P1\"" "$TMP/announce.txt"; then
  pass
  echo "announced: $(cat "$TMP/announce.txt")"
else
  fail "no announcement from proplet $P1 within ${wait_s}s: $(cat "$TMP/announce.txt")"
  echo "--- guest console (last 60 lines)" >&2
  tail -n 60 "$TMP/console.log" >&2
fi
# The setup prints its summary right after starting the proplet.
for _ in $(seq 120); do
  grep -q " RESULT: " "$TMP/console.log" && break
  sleep 1
done
if grep -q "Propeller HAL verification summary" "$TMP/console.log"; then
  pass
  sed -n '/Propeller HAL verification summary/,/ logs: /p' "$TMP/console.log"
else
  fail "the guest printed no verification summary"
fi
finish
