#!/usr/bin/env bash
# propeller-hal-setup - runs once inside the guest, from cloud-init's runcmd
# (hal/qemu.sh embeds it in user-data as /usr/local/sbin/propeller-hal-setup).
#
# Installs the build dependencies from the distribution, fetches this
# project's source (from the seed image or a git URL), builds and installs
# the programs named in GUEST_COMPONENTS, loads the TEE guest drivers,
# enables proplet.service and prints a verification summary. Settings come
# from /etc/propeller-hal/setup.env; the proplet's own environment is
# /etc/default/proplet. Exits non-zero if any step failed.
set -uo pipefail

SETUP_ENV=${SETUP_ENV:-/etc/propeller-hal/setup.env}
LOG=/var/log/propeller-hal-setup.log
SRC_DIR=/usr/local/src/propeller
BUILD_DIR=/var/tmp/propeller-build
PREFIX=/usr/local

exec > >(tee -a "$LOG") 2>&1

step() { echo "=== propeller-hal: $*"; }
fail() {
  echo "!!! propeller-hal: $*"
  FAILED+=("$*")
}
FAILED=()

# shellcheck source=/dev/null
. "$SETUP_ENV" || { echo "cannot read $SETUP_ENV"; exit 1; }
: "${SOURCE_KIND:?}" "${GUEST_COMPONENTS:?}"

install_packages() {
  local p missing=()
  for p in $GUEST_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    step "build dependencies already installed"
    return 0
  fi
  step "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  local try
  for try in 1 2 3; do
    if apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; then
      return 0
    fi
    echo "apt-get failed (attempt $try), retrying in 10 s"
    sleep 10
  done
  fail "package installation failed"
  return 1
}

# TEE guest drivers: /dev/tdx_guest, /dev/sev-guest and configfs-tsm.
load_tee_drivers() {
  step "loading TEE guest drivers"
  local m loaded=()
  if ! modinfo tdx_guest >/dev/null 2>&1 && grep -qi ubuntu /etc/os-release; then
    apt-get install -y -q "linux-modules-extra-$(uname -r)" >/dev/null 2>&1 || true
  fi
  mkdir -p /etc/modules-load.d
  : >/etc/modules-load.d/propeller-tee.conf
  for m in tdx_guest sev-guest tsm_report tsm; do
    if modinfo "$m" >/dev/null 2>&1; then
      echo "$m" >>/etc/modules-load.d/propeller-tee.conf
      modprobe "$m" 2>/dev/null && loaded+=("$m")
    fi
  done
  mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config 2>/dev/null || true
  echo "loaded: ${loaded[*]:-none} (a driver binds only inside a matching TEE)"
}

fetch_source() {
  rm -rf "$SRC_DIR"
  mkdir -p "$SRC_DIR"
  if [ "$SOURCE_KIND" = git ]; then
    step "cloning $SOURCE_URL ($SOURCE_REF)"
    git clone --depth 1 --branch "$SOURCE_REF" "$SOURCE_URL" "$SRC_DIR" ||
      { fail "git clone $SOURCE_URL failed"; return 1; }
    return 0
  fi
  step "unpacking the source tarball from the seed image"
  local dev mnt=/run/propeller-hal/seed
  dev=$(blkid -t LABEL=cidata -o device 2>/dev/null | head -n1)
  [ -n "$dev" ] || dev=$(blkid -t LABEL=CIDATA -o device 2>/dev/null | head -n1)
  [ -n "$dev" ] || { fail "no cidata seed device found"; return 1; }
  mkdir -p "$mnt"
  mount -o ro "$dev" "$mnt" || { fail "cannot mount $dev"; return 1; }
  local rc=0
  tar -xzf "$mnt/propeller-src.tar.gz" -C "$SRC_DIR" || rc=1
  umount "$mnt" || true
  [ $rc = 0 ] || fail "cannot unpack propeller-src.tar.gz from $dev"
  return $rc
}

build_install() {
  step "configuring"
  cmake -S "$SRC_DIR" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
    -DPROPELLER_TESTS=OFF -DPROPELLER_WERROR=OFF -DCMAKE_INSTALL_PREFIX="$PREFIX" ||
    { fail "cmake configure failed"; return 1; }
  local c
  step "building $GUEST_COMPONENTS"
  # shellcheck disable=SC2086 # GUEST_COMPONENTS is a word list
  cmake --build "$BUILD_DIR" -j "$(nproc)" --target $GUEST_COMPONENTS ||
    { fail "build of $GUEST_COMPONENTS failed"; return 1; }
  for c in $GUEST_COMPONENTS; do
    step "installing $c"
    cmake --install "$BUILD_DIR" --component "$c" || fail "install of $c failed"
  done
  ldconfig || true
}

enable_units() {
  step "enabling proplet.service"
  systemctl daemon-reload
  if [ -e "$PREFIX/lib/systemd/system/proplet.service" ] ||
    [ -e /etc/systemd/system/proplet.service ] || [ -e /lib/systemd/system/proplet.service ]; then
    systemctl enable --now proplet.service || fail "proplet.service did not start"
  else
    fail "proplet.service is not installed"
  fi
}

summary() {
  local ok="[ok]" no="[--]" b s
  echo "==================================================================="
  echo " Propeller HAL verification summary ($VM_NAME)"
  echo "==================================================================="
  for b in $GUEST_COMPONENTS; do
    if [ -x "$PREFIX/bin/$b" ]; then echo " $ok $PREFIX/bin/$b"; else echo " $no $PREFIX/bin/$b missing"; fi
  done
  s=$(systemctl is-active proplet.service 2>/dev/null || true)
  if [ "$s" = active ]; then echo " $ok proplet.service active"; else echo " $no proplet.service ${s:-unknown}"; fi
  if [ -f /etc/default/proplet ]; then echo " $ok /etc/default/proplet"; else echo " $no /etc/default/proplet missing"; fi
  local tee=none
  [ -e /dev/tdx_guest ] && tee="TDX (/dev/tdx_guest)"
  [ -e /dev/sev-guest ] && tee="SEV-SNP (/dev/sev-guest)"
  echo " TEE device: $tee; configfs-tsm: $([ -d /sys/kernel/config/tsm/report ] && echo present || echo absent)"
  local addr host port
  addr=$(sed -n 's/^PROPLET_MQTT_ADDRESS=//p' /etc/default/proplet 2>/dev/null)
  host=${addr#*://}
  port=${host##*:}
  host=${host%:*}
  [ "$port" != "$host" ] || port=1883
  if timeout 5 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then
    echo " $ok broker $host:$port reachable"
  else
    echo " $no broker $host:$port not reachable"
  fi
  if [ ${#FAILED[@]} -eq 0 ]; then
    echo " RESULT: ok"
  else
    echo " RESULT: ${#FAILED[@]} step(s) failed: ${FAILED[*]}"
  fi
  echo " logs: $LOG, journalctl -u proplet"
  echo "==================================================================="
}

step "start $(date -u +%FT%TZ)"
install_packages
load_tee_drivers
if fetch_source && build_install; then
  enable_units
fi
summary
[ ${#FAILED[@]} -eq 0 ]
