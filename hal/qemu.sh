#!/usr/bin/env bash
# hal/qemu.sh - build and boot a confidential VM (Intel TDX, AMD SEV/SEV-SNP or
# a plain VM) that builds, installs and runs this project's proplet.
#
# Usage: hal/qemu.sh [--dry-run] [build|run|all]     (default: all)
#
# Every setting is an environment variable; see usage() below and
# docs/operations.md. Values are validated before anything is written and a
# bad value is refused with a message naming the variable. The script never
# re-executes itself with sudo: run it as a user that can open /dev/kvm.
set -euo pipefail

PROG=qemu.sh
HAL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_ROOT=$(dirname "$HAL_DIR")

usage() {
  cat <<'EOF'
Usage: qemu.sh [--dry-run] [build|run|all]

Targets:
  build   write cloud-init user-data/meta-data, the seed image and the VM disk
  run     boot the VM (needs a previous build)
  all     build, then run (default)

Options:
  --dry-run  write user-data and meta-data into WORK_DIR, print the QEMU
             command line; create no disk and boot nothing
  -h, --help this text

Proplet identity (newer name, or the older one in brackets; required for build):
  PROPLET_TENANT_ID  [PROPLET_DOMAIN_ID]   tenant
  PROPLET_ENTITY_ID  [PROPLET_CLIENT_ID]   entity id (a UUID), MQTT username
  PROPLET_API_KEY    [PROPLET_CLIENT_KEY]  API key, MQTT password
  PROPLET_CHANNEL_ID                       channel

Guest configuration:
  PROPLET_MQTT_ADDRESS   broker seen from the guest   (tcp://10.0.2.2:1883)
  KBS_URL                KBS seen from the guest      (http://10.0.2.2:8082)
  PROPLET_LOG_LEVEL      debug|info|warn|error        (info)
  PROPLET_LIVELINESS_INTERVAL  heartbeat seconds      (5)
  SOURCE        project source: a directory, a .tar.gz, or a git URL
                (default: the tree holding this script, shipped in the seed)
  SOURCE_REF    branch or tag for a git SOURCE       (main)
  GUEST_PACKAGES    Debian/Ubuntu packages to install in the guest
                    (default: scripts/deps.sh minus test-only tools)
  GUEST_COMPONENTS  programs to build and install    ("proplet propeller")
  GUEST_PASSWORD    password of user "propeller"; empty locks it (propeller)
  SSH_PUBKEY_FILE   public key authorised for user "propeller"

Virtual machine:
  ENABLE_CVM  auto|tdx|sev|none (auto)   SEV_SNP  auto|yes|no (auto)
  RAM  e.g. 4096M or 16G (16384M)   CPU  vCPUs (4)   DISK_SIZE  e.g. 40G (40G)
  VM_NAME (propeller-cvm)   WORK_DIR (./hal-work)   SSH_PORT host port (2222)
  BASE_IMAGE  qcow2/raw cloud image: a path, or an http(s) URL fetched with
              curl into WORK_DIR (required for build)
  ACCEL  kvm|tcg (kvm; tcg only with ENABLE_CVM=none)
  OVMF_CODE, OVMF_VARS  pflash firmware (plain and legacy SEV)
  OVMF_BIOS   firmware for -bios (TDX and SEV-SNP)  (/usr/share/ovmf/OVMF.fd)
  SEV_CBITPOS (47; 51 on Genoa)  SEV_REDUCED_PHYS_BITS (1)  TDX_QGS_PORT (4050)
  KERNEL, INITRD, KERNEL_CMDLINE  optional direct kernel boot
  QEMU  emulator binary (qemu-system-x86_64)
  HOST_SYSFS  sysfs root used for host detection (/sys; for tests)
EOF
}

die() {
  echo "$PROG: $*" >&2
  exit 2
}

warn() {
  echo "$PROG: warning: $*" >&2
}

info() {
  echo "$PROG: $*" >&2
}

# bad NAME VALUE PROBLEM: refuse a variable, naming it.
bad() {
  die "$1: $3 (got \"$2\")"
}

# --- arguments -------------------------------------------------------------

TARGET=""
DRY_RUN=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    build | run | all)
      [ -z "$TARGET" ] || { usage >&2; exit 1; }
      TARGET=$arg
      ;;
    *)
      echo "$PROG: unknown argument \"$arg\"" >&2
      usage >&2
      exit 1
      ;;
  esac
done
TARGET=${TARGET:-all}

# --- settings --------------------------------------------------------------

WORK_DIR=${WORK_DIR:-./hal-work}
VM_NAME=${VM_NAME:-propeller-cvm}
RAM=${RAM:-16384M}
CPU=${CPU:-4}
DISK_SIZE=${DISK_SIZE:-40G}
ENABLE_CVM=${ENABLE_CVM:-auto}
SEV_SNP=${SEV_SNP:-auto}
SEV_CBITPOS=${SEV_CBITPOS:-47}
SEV_REDUCED_PHYS_BITS=${SEV_REDUCED_PHYS_BITS:-1}
TDX_QGS_PORT=${TDX_QGS_PORT:-4050}
ACCEL=${ACCEL:-kvm}
SSH_PORT=${SSH_PORT:-2222}
QEMU=${QEMU:-qemu-system-x86_64}
HOST_SYSFS=${HOST_SYSFS:-/sys}
BASE_IMAGE=${BASE_IMAGE:-}
SOURCE=${SOURCE:-$SRC_ROOT}
SOURCE_REF=${SOURCE_REF:-main}
GUEST_COMPONENTS=${GUEST_COMPONENTS:-proplet propeller}
GUEST_PASSWORD=${GUEST_PASSWORD-propeller}
SSH_PUBKEY_FILE=${SSH_PUBKEY_FILE:-}
KERNEL=${KERNEL:-}
INITRD=${INITRD:-}
KERNEL_CMDLINE=${KERNEL_CMDLINE:-}
PROPLET_MQTT_ADDRESS=${PROPLET_MQTT_ADDRESS:-tcp://10.0.2.2:1883}
KBS_URL=${KBS_URL:-http://10.0.2.2:8082}
PROPLET_LOG_LEVEL=${PROPLET_LOG_LEVEL:-info}
PROPLET_LIVELINESS_INTERVAL=${PROPLET_LIVELINESS_INTERVAL:-5}

# Packages of scripts/deps.sh that only the host-side tests use.
TEST_ONLY_PACKAGES=" mosquitto docker-registry skopeo postgresql nodejs \
shellcheck clang-format libcmocka-dev cloud-init cloud-image-utils \
qemu-system-x86 qemu-utils ovmf debootstrap genisoimage "

# identity NEW OLD: the value of NEW, else of OLD; both set and different is
# an error. Prints the value.
identity() {
  local new=$1 old=$2 nv ov
  nv=${!new:-}
  ov=${!old:-}
  if [ -n "$nv" ] && [ -n "$ov" ] && [ "$nv" != "$ov" ]; then
    if [[ $new == *KEY ]]; then
      die "$new and $old are both set and differ; set one"
    fi
    die "$new and $old are both set and differ (\"$nv\" vs \"$ov\"); set one"
  fi
  printf '%s' "${nv:-$ov}"
}

TENANT_ID=$(identity PROPLET_TENANT_ID PROPLET_DOMAIN_ID)
ENTITY_ID=$(identity PROPLET_ENTITY_ID PROPLET_CLIENT_ID)
API_KEY=$(identity PROPLET_API_KEY PROPLET_CLIENT_KEY)
CHANNEL_ID=${PROPLET_CHANNEL_ID:-}

# --- validation --------------------------------------------------------------

UUID_RE='^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
HOST_RE='([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])'
PORT_RE='(:[0-9]{1,5})?'

# size_mib NAME VALUE: a size such as 4096M or 16G, printed in MiB.
size_mib() {
  local n=$1 v=$2
  [[ $v =~ ^([1-9][0-9]{0,7})([MGT])$ ]] ||
    bad "$n" "$v" "must be a positive integer followed by M, G or T, e.g. 4096M or 16G"
  case ${BASH_REMATCH[2]} in
    M) echo "${BASH_REMATCH[1]}" ;;
    G) echo $((BASH_REMATCH[1] * 1024)) ;;
    T) echo $((BASH_REMATCH[1] * 1024 * 1024)) ;;
  esac
}

check_port() {
  if ! [[ $2 =~ ^[1-9][0-9]{0,4}$ ]] || [ "$2" -gt 65535 ]; then
    bad "$1" "$2" "must be a TCP port 1-65535"
  fi
}

validate_vm() {
  case "$ENABLE_CVM" in
    auto | tdx | sev | none) ;;
    *) bad ENABLE_CVM "$ENABLE_CVM" "must be one of auto, tdx, sev, none" ;;
  esac
  case "$SEV_SNP" in
    auto | yes | no) ;;
    *) bad SEV_SNP "$SEV_SNP" "must be one of auto, yes, no" ;;
  esac
  case "$ACCEL" in
    kvm | tcg) ;;
    *) bad ACCEL "$ACCEL" "must be kvm or tcg" ;;
  esac
  local mib
  mib=$(size_mib RAM "$RAM")
  [ "$mib" -ge 512 ] || bad RAM "$RAM" "must be at least 512M"
  mib=$(size_mib DISK_SIZE "$DISK_SIZE")
  [ "$mib" -ge 1024 ] || bad DISK_SIZE "$DISK_SIZE" "must be at least 1G"
  if ! [[ $CPU =~ ^[1-9][0-9]{0,2}$ ]] || [ "$CPU" -gt 512 ]; then
    bad CPU "$CPU" "must be a positive integer (at most 512)"
  fi
  [[ $VM_NAME =~ ^[A-Za-z0-9][A-Za-z0-9-]{0,62}$ ]] ||
    bad VM_NAME "$VM_NAME" "must be a host name: letters, digits and -, at most 63"
  check_port SSH_PORT "$SSH_PORT"
  check_port TDX_QGS_PORT "$TDX_QGS_PORT"
  [[ $SEV_CBITPOS =~ ^[0-9]{1,2}$ ]] || bad SEV_CBITPOS "$SEV_CBITPOS" "must be a bit number"
  [[ $SEV_REDUCED_PHYS_BITS =~ ^[0-9]{1,2}$ ]] ||
    bad SEV_REDUCED_PHYS_BITS "$SEV_REDUCED_PHYS_BITS" "must be a small integer"
  [[ $WORK_DIR != *[[:space:]]* ]] || bad WORK_DIR "$WORK_DIR" "must not contain white space"
  if [ -n "$KERNEL_CMDLINE" ] && [ -z "$KERNEL" ]; then
    bad KERNEL_CMDLINE "$KERNEL_CMDLINE" "needs KERNEL"
  fi
  if [ -n "$INITRD" ] && [ -z "$KERNEL" ]; then
    bad INITRD "$INITRD" "needs KERNEL"
  fi
}

# A value written into /etc/default/proplet and the user-data: no white
# space, quotes, backslashes or shell/YAML specials.
SAFE_RE='^[A-Za-z0-9._~+/=:@-]+$'

validate_guest() {
  local missing=()
  [ -n "$TENANT_ID" ] || missing+=("PROPLET_TENANT_ID (or PROPLET_DOMAIN_ID)")
  [ -n "$ENTITY_ID" ] || missing+=("PROPLET_ENTITY_ID (or PROPLET_CLIENT_ID)")
  [ -n "$API_KEY" ] || missing+=("PROPLET_API_KEY (or PROPLET_CLIENT_KEY)")
  [ -n "$CHANNEL_ID" ] || missing+=("PROPLET_CHANNEL_ID")
  [ -n "$BASE_IMAGE" ] || missing+=("BASE_IMAGE (a cloud image path or URL)")
  if [ ${#missing[@]} -gt 0 ]; then
    local m
    for m in "${missing[@]}"; do
      echo "$PROG: $m: required for build, not set" >&2
    done
    exit 2
  fi
  [[ $ENTITY_ID =~ $UUID_RE ]] ||
    bad PROPLET_ENTITY_ID "$ENTITY_ID" "must be a UUID (the proplet id)"
  [[ $TENANT_ID =~ ^[A-Za-z0-9._:-]{1,128}$ ]] ||
    bad PROPLET_TENANT_ID "$TENANT_ID" "letters, digits and . _ : - only (a topic segment)"
  [[ $CHANNEL_ID =~ ^[A-Za-z0-9._:-]{1,128}$ ]] ||
    bad PROPLET_CHANNEL_ID "$CHANNEL_ID" "letters, digits and . _ : - only (a topic segment)"
  if ! [[ $API_KEY =~ $SAFE_RE ]] || [ ${#API_KEY} -gt 512 ]; then
    bad PROPLET_API_KEY "<hidden>" "at most 512 characters; no white space, quotes, backslashes or \$"
  fi
  [[ $PROPLET_MQTT_ADDRESS =~ ^(tcp|mqtt|ssl|tls|mqtts)://${HOST_RE}${PORT_RE}$ ]] ||
    bad PROPLET_MQTT_ADDRESS "$PROPLET_MQTT_ADDRESS" \
      "must be tcp|mqtt|ssl|tls|mqtts://HOST[:PORT]"
  [[ $KBS_URL =~ ^https?://${HOST_RE}${PORT_RE}(/[A-Za-z0-9._~/-]*)?$ ]] ||
    bad KBS_URL "$KBS_URL" "must be http(s)://HOST[:PORT][/PATH]"
  case "$PROPLET_LOG_LEVEL" in
    debug | info | warn | error) ;;
    *) bad PROPLET_LOG_LEVEL "$PROPLET_LOG_LEVEL" "must be debug, info, warn or error" ;;
  esac
  [[ $PROPLET_LIVELINESS_INTERVAL =~ ^[1-9][0-9]{0,4}$ ]] ||
    bad PROPLET_LIVELINESS_INTERVAL "$PROPLET_LIVELINESS_INTERVAL" \
      "must be a positive integer number of seconds"
  [[ $BASE_IMAGE =~ ^https?:// ]] || [[ $BASE_IMAGE != *[[:space:]]* ]] ||
    bad BASE_IMAGE "$BASE_IMAGE" "must not contain white space"
  [[ $SOURCE_REF =~ ^[A-Za-z0-9._/-]+$ ]] ||
    bad SOURCE_REF "$SOURCE_REF" "must be a branch or tag name"
  [[ $GUEST_COMPONENTS =~ ^[A-Za-z0-9_\ -]+$ ]] ||
    bad GUEST_COMPONENTS "$GUEST_COMPONENTS" "must be space-separated target names"
  if [ -n "${GUEST_PACKAGES:-}" ]; then
    [[ $GUEST_PACKAGES =~ ^[a-z0-9.+\ -]+$ ]] ||
      bad GUEST_PACKAGES "$GUEST_PACKAGES" "must be space-separated package names"
  fi
  if [ -n "$GUEST_PASSWORD" ]; then
    [[ $GUEST_PASSWORD =~ $SAFE_RE ]] ||
      bad GUEST_PASSWORD "<hidden>" "no white space, quotes, backslashes or \$ allowed"
  fi
  if [ -n "$SSH_PUBKEY_FILE" ]; then
    [ -r "$SSH_PUBKEY_FILE" ] || bad SSH_PUBKEY_FILE "$SSH_PUBKEY_FILE" "not a readable file"
    grep -qE '^(ssh-|ecdsa-|sk-)[A-Za-z0-9@.-]+ [A-Za-z0-9+/=]+' "$SSH_PUBKEY_FILE" ||
      bad SSH_PUBKEY_FILE "$SSH_PUBKEY_FILE" "does not hold an OpenSSH public key"
  fi
  case "$SOURCE" in
    https://* | http://* | git://* | ssh://* | git@*)
      SOURCE_KIND=git
      [[ $SOURCE =~ $SAFE_RE ]] || bad SOURCE "$SOURCE" "not a valid git URL"
      ;;
    *)
      SOURCE_KIND=seed
      if [ -d "$SOURCE" ]; then
        [ -f "$SOURCE/CMakeLists.txt" ] ||
          bad SOURCE "$SOURCE" "directory without a CMakeLists.txt"
      elif [ -f "$SOURCE" ]; then
        case "$SOURCE" in
          *.tar.gz | *.tgz) ;;
          *) bad SOURCE "$SOURCE" "a file must be a .tar.gz or .tgz tarball" ;;
        esac
      else
        bad SOURCE "$SOURCE" "neither a directory, a tarball nor a git URL"
      fi
      ;;
  esac
}

# --- host detection ----------------------------------------------------------

# sysfs_yes FILE: true if a kvm module parameter reads Y or 1.
sysfs_yes() {
  local v
  [ -r "$1" ] || return 1
  v=$(head -c 8 "$1" 2>/dev/null || true)
  [ "${v:0:1}" = Y ] || [ "${v:0:1}" = 1 ]
}

# host_dmesg_has PATTERN: dmesg mentions PATTERN; only for the real /sys and
# only when the kernel log is readable.
host_dmesg_has() {
  [ "$HOST_SYSFS" = /sys ] || return 1
  command -v dmesg >/dev/null 2>&1 || return 1
  local log
  log=$(dmesg 2>/dev/null) || return 1
  grep -qF "$1" <<<"$log"
}

HOST_TDX=0
HOST_SEV=0
HOST_SNP=0
HOST_TDX_WHY="kvm_intel has no tdx=Y parameter"
HOST_SEV_WHY="kvm_amd has no sev=Y parameter"
HOST_SNP_WHY="kvm_amd has no sev_snp=Y parameter"

detect_host() {
  local p=$HOST_SYSFS/module
  if sysfs_yes "$p/kvm_intel/parameters/tdx"; then
    HOST_TDX=1 HOST_TDX_WHY="$p/kvm_intel/parameters/tdx is Y"
  elif host_dmesg_has "virt/tdx: module initialized"; then
    HOST_TDX=1 HOST_TDX_WHY="dmesg: virt/tdx: module initialized"
  fi
  if sysfs_yes "$p/kvm_amd/parameters/sev_snp"; then
    HOST_SNP=1 HOST_SNP_WHY="$p/kvm_amd/parameters/sev_snp is Y"
  fi
  if sysfs_yes "$p/kvm_amd/parameters/sev"; then
    HOST_SEV=1 HOST_SEV_WHY="$p/kvm_amd/parameters/sev is Y"
  elif host_dmesg_has "SEV supported"; then
    HOST_SEV=1 HOST_SEV_WHY="dmesg: SEV supported"
  fi
}

# Decide MODE (tdx|sev|snp|none) from ENABLE_CVM, SEV_SNP and the host.
resolve_mode() {
  detect_host
  case "$ENABLE_CVM" in
    auto)
      if [ $HOST_TDX = 1 ]; then
        MODE=tdx
        info "ENABLE_CVM=auto: TDX host ($HOST_TDX_WHY)"
      elif [ $HOST_SEV = 1 ] || [ $HOST_SNP = 1 ]; then
        MODE=sev
        info "ENABLE_CVM=auto: SEV host ($HOST_SEV_WHY; $HOST_SNP_WHY)"
      else
        MODE=none
        info "ENABLE_CVM=auto: no confidential host support found" \
          "($HOST_TDX_WHY; $HOST_SEV_WHY); booting a plain VM"
      fi
      ;;
    tdx)
      MODE=tdx
      [ $HOST_TDX = 1 ] || warn "ENABLE_CVM=tdx but $HOST_TDX_WHY; QEMU may refuse to start"
      ;;
    sev)
      MODE=sev
      [ $HOST_SEV = 1 ] || [ $HOST_SNP = 1 ] ||
        warn "ENABLE_CVM=sev but $HOST_SEV_WHY; QEMU may refuse to start"
      ;;
    none) MODE=none ;;
  esac
  if [ "$MODE" = sev ]; then
    case "$SEV_SNP" in
      yes) MODE=snp ;;
      no) ;;
      auto)
        if [ $HOST_SNP = 1 ]; then
          MODE=snp
          info "SEV_SNP=auto: SEV-SNP host ($HOST_SNP_WHY)"
        else
          info "SEV_SNP=auto: legacy SEV ($HOST_SNP_WHY); the guest has no attestation report"
        fi
        ;;
    esac
  fi
  if [ "$ACCEL" = tcg ] && [ "$MODE" != none ]; then
    bad ACCEL "$ACCEL" "tcg cannot run a confidential guest; use ENABLE_CVM=none or ACCEL=kvm"
  fi
}

# --- firmware ----------------------------------------------------------------

first_file() {
  local f
  for f in "$@"; do
    if [ -f "$f" ]; then
      echo "$f"
      return 0
    fi
  done
  echo "$1"
  return 1
}

find_firmware() {
  local need_pflash=0 need_bios=0 ok=1
  case $MODE in
    none | sev) need_pflash=1 ;;
    tdx | snp) need_bios=1 ;;
  esac
  if [ $need_pflash = 1 ]; then
    if [ -z "${OVMF_CODE:-}" ]; then
      OVMF_CODE=$(first_file /usr/share/OVMF/OVMF_CODE_4M.fd /usr/share/OVMF/OVMF_CODE.fd \
        /usr/share/ovmf/OVMF_CODE.fd) || ok=0
    fi
    if [ -z "${OVMF_VARS:-}" ]; then
      case "$OVMF_CODE" in
        *_4M.fd) OVMF_VARS=$(first_file /usr/share/OVMF/OVMF_VARS_4M.fd) || ok=0 ;;
        *) OVMF_VARS=$(first_file "$(dirname "$OVMF_CODE")/OVMF_VARS.fd") || ok=0 ;;
      esac
    fi
    [ -f "$OVMF_CODE" ] || ok=0
    [ -f "$OVMF_VARS" ] || ok=0
    if [ $ok = 0 ]; then
      FIRMWARE_MISSING="OVMF firmware not found (OVMF_CODE=$OVMF_CODE, OVMF_VARS=$OVMF_VARS);"
      FIRMWARE_MISSING+=" install the ovmf package or set OVMF_CODE and OVMF_VARS"
    fi
  fi
  if [ $need_bios = 1 ]; then
    if [ -z "${OVMF_BIOS:-}" ]; then
      OVMF_BIOS=$(first_file /usr/share/ovmf/OVMF.fd /usr/share/OVMF/OVMF.fd) || ok=0
    fi
    [ -f "$OVMF_BIOS" ] || ok=0
    if [ $ok = 0 ]; then
      FIRMWARE_MISSING="OVMF firmware not found (OVMF_BIOS=$OVMF_BIOS); install a TDX/SNP-capable"
      FIRMWARE_MISSING+=" OVMF (the ovmf package of your distribution) or set OVMF_BIOS"
    fi
  fi
}

# --- QEMU command line ---------------------------------------------------------

QCMD=()
q() { QCMD+=("$@"); }

build_qemu_cmd() {
  local disk=$WORK_DIR/$VM_NAME.qcow2 seed=$WORK_DIR/seed.img
  local cvm_virtio=""
  [ "$MODE" = none ] || cvm_virtio=",disable-legacy=on,iommu_platform=true"
  QCMD=("$QEMU")
  if [ "$MODE" = tdx ]; then
    q -name "$VM_NAME,process=$VM_NAME,debug-threads=on"
  else
    q -name "$VM_NAME"
  fi
  q -m "$RAM" -smp "$CPU"
  if [ "$ACCEL" = kvm ]; then q -enable-kvm; else q -accel tcg; fi
  q -nographic -no-reboot
  case $MODE in
    tdx)
      q -object "memory-backend-memfd,id=ram1,size=$RAM,share=true,prealloc=false"
      q -cpu host,pmu=off
      q -object "{\"qom-type\":\"tdx-guest\",\"id\":\"tdx0\",\"quote-generation-socket\":{\"type\":\"vsock\",\"cid\":\"2\",\"port\":\"$TDX_QGS_PORT\"}}"
      q -machine q35,confidential-guest-support=tdx0,memory-backend=ram1,kernel-irqchip=split,hpet=off
      q -bios "$OVMF_BIOS"
      q -nodefaults -serial mon:stdio -monitor pty
      ;;
    snp)
      q -object "memory-backend-memfd,id=ram1,size=$RAM,share=true,prealloc=false"
      q -cpu EPYC-v4
      q -machine q35,confidential-guest-support=sev0,memory-backend=ram1
      q -object "sev-snp-guest,id=sev0,cbitpos=$SEV_CBITPOS,reduced-phys-bits=$SEV_REDUCED_PHYS_BITS"
      q -bios "$OVMF_BIOS"
      ;;
    sev)
      q -machine q35 -cpu EPYC
      q -object "sev-guest,id=sev0,cbitpos=$SEV_CBITPOS,reduced-phys-bits=$SEV_REDUCED_PHYS_BITS"
      q -machine memory-encryption=sev0
      ;;
    none)
      if [ "$ACCEL" = kvm ]; then q -cpu host; else q -cpu max; fi
      q -machine q35
      ;;
  esac
  if [ "$MODE" = none ] || [ "$MODE" = sev ]; then
    q -drive "if=pflash,format=raw,unit=0,file=$OVMF_CODE,readonly=on"
    q -drive "if=pflash,format=raw,unit=1,file=$WORK_DIR/OVMF_VARS.fd"
  fi
  if [ -n "$KERNEL" ]; then
    q -kernel "$KERNEL"
    [ -z "$INITRD" ] || q -initrd "$INITRD"
    [ -z "$KERNEL_CMDLINE" ] || q -append "$KERNEL_CMDLINE"
  fi
  # Only SSH is forwarded: the proplet attests in-process, so there is no
  # Attestation Agent (50010) or CoCo keyprovider (50011) to reach.
  q -netdev "user,id=vmnic,hostfwd=tcp::$SSH_PORT-:22"
  q -device "virtio-net-pci${cvm_virtio},netdev=vmnic,romfile="
  q -drive "file=$seed,media=cdrom,readonly=on"
  q -drive "file=$disk,if=none,id=disk0,format=qcow2"
  q -device "virtio-scsi-pci,id=scsi,disable-legacy=on${cvm_virtio:+,iommu_platform=true}"
  q -device scsi-hd,drive=disk0
}

# shell_quote ARG: ARG as a copy-pasteable shell word.
shell_quote() {
  if [[ $1 =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

print_qemu_cmd() {
  local a out=""
  for a in "${QCMD[@]}"; do
    out+="$(shell_quote "$a") "
  done
  echo "${out% }"
}

# --- cloud-init ----------------------------------------------------------------

# guest_packages: GUEST_PACKAGES, or the PACKAGES list of scripts/deps.sh
# without the test-only tools, plus what the guest setup itself uses.
guest_packages() {
  if [ -n "${GUEST_PACKAGES:-}" ]; then
    echo "$GUEST_PACKAGES"
    return
  fi
  local deps=$SRC_ROOT/scripts/deps.sh line p out=""
  [ -r "$deps" ] || die "GUEST_PACKAGES: not set and $deps is missing"
  local in=0
  while IFS= read -r line; do
    if [ $in = 0 ]; then
      [[ $line =~ ^PACKAGES=\( ]] && in=1
      continue
    fi
    [[ $line =~ ^\) ]] && break
    line=${line%%#*}
    for p in $line; do
      [[ $TEST_ONLY_PACKAGES == *" $p "* ]] || out+="$p "
    done
  done <"$deps"
  echo "${out}git ca-certificates"
}

write_cloud_init() {
  local ud=$WORK_DIR/user-data md=$WORK_DIR/meta-data instance_id packages setup_b64
  instance_id=$(cat /proc/sys/kernel/random/uuid)
  packages=$(guest_packages)
  setup_b64=$(base64 -w0 "$HAL_DIR/cloud-init/propeller-hal-setup.sh")
  local source_url=""
  [ "$SOURCE_KIND" = git ] && source_url=$SOURCE
  local pw_lines ssh_lines=""
  if [ -n "$GUEST_PASSWORD" ]; then
    pw_lines="    lock_passwd: false
    plain_text_passwd: \"$GUEST_PASSWORD\""
  else
    pw_lines="    lock_passwd: true"
  fi
  if [ -n "$SSH_PUBKEY_FILE" ]; then
    ssh_lines="    ssh_authorized_keys:
      - \"$(head -n1 "$SSH_PUBKEY_FILE")\""
  fi
  local pwauth=false
  [ -z "$GUEST_PASSWORD" ] || pwauth=true

  cat >"$ud" <<EOF
#cloud-config
# Generated by hal/qemu.sh; edit the variables and run it again instead.
# Builds and installs the Propeller proplet from source and starts it.
hostname: $VM_NAME
users:
  - default
  - name: propeller
    gecos: Propeller operator
    shell: /bin/bash
    sudo: "ALL=(ALL) NOPASSWD:ALL"
$pw_lines
$ssh_lines
ssh_pwauth: $pwauth
write_files:
  - path: /etc/default/proplet
    owner: root:root
    permissions: "0600"
    content: |
      # Proplet environment, written by hal/qemu.sh. Read by proplet.service.
      PROPLET_LOG_LEVEL=$PROPLET_LOG_LEVEL
      PROPLET_INSTANCE_ID=$instance_id
      PROPLET_TENANT_ID=$TENANT_ID
      PROPLET_ENTITY_ID=$ENTITY_ID
      PROPLET_API_KEY=$API_KEY
      PROPLET_CHANNEL_ID=$CHANNEL_ID
      # The same identity under the older (SuperMQ-era) names.
      PROPLET_DOMAIN_ID=$TENANT_ID
      PROPLET_CLIENT_ID=$ENTITY_ID
      PROPLET_CLIENT_KEY=$API_KEY
      PROPLET_MQTT_ADDRESS=$PROPLET_MQTT_ADDRESS
      PROPLET_MQTT_TIMEOUT=30
      PROPLET_MQTT_QOS=2
      PROPLET_LIVELINESS_INTERVAL=$PROPLET_LIVELINESS_INTERVAL
      PROPLET_ENABLE_MONITORING=true
      PROPLET_MANAGER_K8S_NAMESPACE=default
      PROPLET_KBS_URI=$KBS_URL
      PROPLET_LAYER_STORE_PATH=/var/cache/proplet/layers
  - path: /etc/propeller-hal/setup.env
    owner: root:root
    permissions: "0644"
    content: |
      SOURCE_KIND=$SOURCE_KIND
      SOURCE_URL=$source_url
      SOURCE_REF=$SOURCE_REF
      GUEST_PACKAGES="$packages"
      GUEST_COMPONENTS="$GUEST_COMPONENTS"
      VM_NAME=$VM_NAME
  - path: /usr/local/sbin/propeller-hal-setup
    owner: root:root
    permissions: "0755"
    encoding: b64
    content: $setup_b64
runcmd:
  - [/usr/local/sbin/propeller-hal-setup]
final_message: |
  Propeller HAL: cloud-init finished after \$UPTIME s.
  Summary: /var/log/propeller-hal-setup.log (printed above).
  Login: ssh -p $SSH_PORT propeller@localhost
  Logs: journalctl -u proplet
EOF
  # An empty line left by unset optional blocks is harmless YAML, but drop it.
  sed -i '/^$/d' "$ud"

  cat >"$md" <<EOF
instance-id: iid-$VM_NAME-$instance_id
local-hostname: $VM_NAME
EOF
  info "wrote $ud and $md"
}

# --- build and run ---------------------------------------------------------------

need_tool() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"
}

fetch_base_image() {
  case "$BASE_IMAGE" in
    http://* | https://*)
      BASE_PATH=$(cd "$WORK_DIR" && pwd)/base-image
      if [ -f "$BASE_PATH" ]; then
        info "using $BASE_PATH downloaded earlier from $BASE_IMAGE (delete it to fetch again)"
        return
      fi
      need_tool curl "needed to fetch BASE_IMAGE=$BASE_IMAGE"
      info "fetching $BASE_IMAGE"
      curl -fL --retry 3 -o "$BASE_PATH.part" "$BASE_IMAGE" ||
        die "BASE_IMAGE: download of $BASE_IMAGE failed; give a local path instead"
      mv "$BASE_PATH.part" "$BASE_PATH"
      ;;
    *)
      if ! [ -f "$BASE_IMAGE" ] || ! [ -r "$BASE_IMAGE" ]; then
        bad BASE_IMAGE "$BASE_IMAGE" "not a readable file"
      fi
      BASE_PATH=$(cd "$(dirname "$BASE_IMAGE")" && pwd)/$(basename "$BASE_IMAGE")
      ;;
  esac
}

make_source_tarball() {
  local out=$1
  if [ -d "$SOURCE" ]; then
    tar -C "$SOURCE" -czf "$out" --exclude=.git --exclude='./build*' \
      --exclude='./hal-work' --exclude="./$(basename "$WORK_DIR")" .
  else
    cp "$SOURCE" "$out"
  fi
}

make_seed() {
  local seed=$WORK_DIR/seed.img files=("$WORK_DIR/user-data" "$WORK_DIR/meta-data")
  if [ "$SOURCE_KIND" = seed ]; then
    make_source_tarball "$WORK_DIR/propeller-src.tar.gz"
    files+=("$WORK_DIR/propeller-src.tar.gz")
  fi
  local iso=""
  if command -v genisoimage >/dev/null 2>&1; then
    iso=genisoimage
  elif command -v mkisofs >/dev/null 2>&1; then
    iso=mkisofs
  elif command -v xorriso >/dev/null 2>&1; then
    iso="xorriso -as mkisofs"
  fi
  if [ -n "$iso" ]; then
    # The NoCloud seed: an ISO labelled cidata. Extra files (the source
    # tarball) ride along; cloud-localds cannot add them.
    $iso -quiet -output "$seed" -volid cidata -joliet -rock "${files[@]}" ||
      die "writing the seed image with $iso failed"
  elif [ "$SOURCE_KIND" = git ] && command -v cloud-localds >/dev/null 2>&1; then
    cloud-localds "$seed" "$WORK_DIR/user-data" "$WORK_DIR/meta-data"
  else
    die "cloud-localds/genisoimage not found: install cloud-image-utils (or genisoimage/xorriso)"
  fi
  info "wrote $seed"
}

do_build() {
  validate_guest
  mkdir -p "$WORK_DIR"
  if [ $DRY_RUN = 1 ]; then
    write_cloud_init
    local src="the git repository $SOURCE ($SOURCE_REF)"
    [ "$SOURCE_KIND" = git ] || src="$SOURCE, packed into the seed as propeller-src.tar.gz"
    echo "dry run: would write $WORK_DIR/seed.img (cidata: user-data, meta-data)"
    echo "dry run: guest source: $src"
    echo "dry run: would run: qemu-img create -f qcow2 -b $BASE_IMAGE $WORK_DIR/$VM_NAME.qcow2 $DISK_SIZE"
    return
  fi
  need_tool qemu-img "install qemu-utils"
  if ! command -v genisoimage >/dev/null 2>&1 && ! command -v mkisofs >/dev/null 2>&1 &&
    ! command -v xorriso >/dev/null 2>&1 && ! command -v cloud-localds >/dev/null 2>&1; then
    die "cloud-localds not found: install cloud-image-utils (or genisoimage) to write the seed"
  fi
  [ -z "$FIRMWARE_MISSING" ] || die "$FIRMWARE_MISSING"
  fetch_base_image
  write_cloud_init
  make_seed
  local disk=$WORK_DIR/$VM_NAME.qcow2 fmt
  fmt=$(qemu-img info "$BASE_PATH" 2>/dev/null | sed -n 's/^file format: //p')
  [ -n "$fmt" ] || bad BASE_IMAGE "$BASE_IMAGE" "qemu-img cannot read it as a disk image"
  [ ! -f "$disk" ] || info "replacing $disk (the VM's previous state is discarded)"
  rm -f "$disk"
  qemu-img create -q -f qcow2 -F "$fmt" -b "$BASE_PATH" "$disk" "$DISK_SIZE" ||
    die "qemu-img create $disk failed (is DISK_SIZE=$DISK_SIZE smaller than the base image?)"
  if [ "$MODE" = none ] || [ "$MODE" = sev ]; then
    cp "$OVMF_VARS" "$WORK_DIR/OVMF_VARS.fd"
  fi
  info "built $disk ($DISK_SIZE over $BASE_PATH)"
}

do_run() {
  build_qemu_cmd
  if [ $DRY_RUN = 1 ]; then
    [ -z "$FIRMWARE_MISSING" ] || warn "$FIRMWARE_MISSING"
    echo "qemu command:"
    print_qemu_cmd
    return
  fi
  need_tool "$QEMU" "install qemu-system-x86 (or set QEMU)"
  [ -z "$FIRMWARE_MISSING" ] || die "$FIRMWARE_MISSING"
  local f
  for f in "$WORK_DIR/$VM_NAME.qcow2" "$WORK_DIR/seed.img"; do
    [ -f "$f" ] || die "$f missing: run \"qemu.sh build\" first (same WORK_DIR and VM_NAME)"
  done
  if [ "$MODE" = none ] || [ "$MODE" = sev ]; then
    [ -f "$WORK_DIR/OVMF_VARS.fd" ] || cp "$OVMF_VARS" "$WORK_DIR/OVMF_VARS.fd"
  fi
  if [ "$ACCEL" = kvm ] && ! { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then
    die "/dev/kvm is missing or not accessible to $(id -un): load kvm, join the kvm" \
      "group or run as root (this script never re-runs itself with sudo);" \
      "ACCEL=tcg works for ENABLE_CVM=none"
  fi
  info "booting $VM_NAME ($MODE); SSH: ssh -p $SSH_PORT propeller@localhost"
  print_qemu_cmd >&2
  exec "${QCMD[@]}"
}

validate_vm
resolve_mode
FIRMWARE_MISSING=""
find_firmware
case "$TARGET" in
  build) do_build ;;
  run) do_run ;;
  all)
    do_build
    do_run
    ;;
esac
