#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the demo need.
# Idempotent: installs only what is missing. Run as root on Debian 12.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkg-config clang lld
  libssl-dev libjansson-dev libjose-dev libcurl4-openssl-dev
  libmicrohttpd-dev libmosquitto-dev libsqlite3-dev libpq-dev
  libarchive-dev zlib1g-dev uuid-dev libcmocka-dev
  # the WebAssembly engine and the C -> wasm32-wasi toolchain
  wabt libtcc-dev wasi-libc libclang-rt-14-dev-wasm32 libclang-rt-14-dev
  # real services and peers used by the tests and the demo
  mosquitto mosquitto-clients docker-registry skopeo postgresql
  nodejs openssl curl jq python3
  # checks
  shellcheck clang-format
  # HAL tests: cloud-init schema validation, a real (boot-less) VM image build
  cloud-init qemu-utils genisoimage
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages (${missing[*]}); run as root" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Packaged services must not run from their units: tests start their own.
for svc in mosquitto docker-registry postgresql; do
  systemctl disable --now "$svc" >/dev/null 2>&1 || true
done
