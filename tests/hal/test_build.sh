#!/usr/bin/env bash
# `hal/qemu.sh build` for real (no boot): the VM disk is a qcow2 overlay of
# BASE_IMAGE with DISK_SIZE, the seed is a cidata ISO carrying user-data,
# meta-data and the source tarball, and the OVMF variables are copied.
# shellcheck source=tests/hal/lib.sh
. "$(dirname "$0")/lib.sh"
for t in qemu-img genisoimage isoinfo; do
  command -v "$t" >/dev/null 2>&1 ||
    { echo "$t not installed (scripts/deps.sh installs qemu-utils, genisoimage)" >&2; exit 1; }
done
export_identity
W=$TMP/w
head -c 65536 /dev/urandom >"$TMP/CODE.fd"
head -c 65536 /dev/urandom >"$TMP/VARS.fd"
qemu-img create -q -f qcow2 "$TMP/base.qcow2" 2G
export ENABLE_CVM=none OVMF_CODE=$TMP/CODE.fd OVMF_VARS=$TMP/VARS.fd \
  BASE_IMAGE=$TMP/base.qcow2 DISK_SIZE=5G WORK_DIR=$W

if out=$("$QEMU_SH" build 2>&1); then pass; else fail "build failed: $out"; fi
info=$(qemu-img info "$W/propeller-cvm.qcow2" 2>&1)
contains disk "$info" "file format: qcow2"
contains DISK_SIZE "$info" "virtual size: 5 GiB"
contains BASE_IMAGE "$info" "backing file: $TMP/base.qcow2"
if cmp -s "$TMP/VARS.fd" "$W/OVMF_VARS.fd"; then pass; else fail "OVMF_VARS.fd not copied"; fi

# The seed: a cidata volume with the three files.
contains seed "$(isoinfo -d -i "$W/seed.img")" "Volume id: cidata"
for f in user-data meta-data; do
  if isoinfo -R -i "$W/seed.img" -x "/$f" >"$TMP/$f" && cmp -s "$TMP/$f" "$W/$f"; then
    pass
  else
    fail "seed $f differs from $W/$f"
  fi
done
isoinfo -R -i "$W/seed.img" -x /propeller-src.tar.gz >"$TMP/src.tgz"
listing=$(tar -tzf "$TMP/src.tgz" 2>&1)
contains tarball "$listing" "./CMakeLists.txt"
contains tarball "$listing" "./hal/qemu.sh"
contains tarball "$listing" "./scripts/deps.sh"
if grep -qE '^\./(\.git|build[^/]*|hal-work)/' <<<"$listing"; then
  fail "tarball holds .git, build or hal-work directories"
else
  pass
fi

# A second build replaces the disk and says so.
out=$(DISK_SIZE=6G "$QEMU_SH" build 2>&1) || fail "second build failed: $out"
contains rebuild "$out" "replacing $W/propeller-cvm.qcow2"
contains rebuild "$(qemu-img info "$W/propeller-cvm.qcow2")" "virtual size: 6 GiB"

# A git SOURCE ships no tarball.
rm -rf "$W"
SOURCE=https://git.example/propeller.git "$QEMU_SH" build >/dev/null 2>&1 || fail "git build failed"
files=$(isoinfo -R -i "$W/seed.img" -f 2>&1)
lacks git-source "$files" "propeller-src.tar.gz"
contains git-source "$files" "/user-data"

# BASE_IMAGE as a URL (served on 127.0.0.1), with a relative WORK_DIR: fetched
# once with curl into WORK_DIR, and the overlay's backing path resolves.
mkdir -p "$TMP/www"
cp "$TMP/base.qcow2" "$TMP/www/base.qcow2"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$TMP/www" >"$TMP/http.log" 2>&1 &
HTTP=$!
trap 'kill "$HTTP" 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/base.qcow2" 2>/dev/null && break
  sleep 0.1
done
out=$(cd "$TMP" && WORK_DIR=rel BASE_IMAGE="http://127.0.0.1:$port/base.qcow2" "$QEMU_SH" build 2>&1) ||
  fail "build from a URL failed: $out"
contains url "$out" "fetching http://127.0.0.1:$port/base.qcow2"
chain=$(qemu-img info --backing-chain "$TMP/rel/propeller-cvm.qcow2" 2>&1) ||
  fail "overlay backing chain broken: $chain"
contains url "$chain" "backing file: $TMP/rel/base-image"
out=$(cd "$TMP" && WORK_DIR=rel BASE_IMAGE="http://127.0.0.1:$port/base.qcow2" "$QEMU_SH" build 2>&1) ||
  fail "second build from a URL failed: $out"
contains url-cached "$out" "downloaded earlier"
rm -rf "$W"
refused url-404 "BASE_IMAGE: download of http://127.0.0.1:$port/none.qcow2 failed" build -- \
  BASE_IMAGE="http://127.0.0.1:$port/none.qcow2"

# A missing base image is refused before anything is written.
rm -rf "$W"
refused base-missing "BASE_IMAGE: not a readable file (got \"$TMP/none.qcow2\")" build -- \
  BASE_IMAGE="$TMP/none.qcow2"
if [ -e "$W/propeller-cvm.qcow2" ]; then fail "disk written despite a missing base"; else pass; fi
finish
