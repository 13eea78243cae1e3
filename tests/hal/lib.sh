# shellcheck shell=bash
# Helpers shared by the HAL tests (sourced). Each test script runs with
# PROPELLER_SOURCE_DIR set by CTest, or from the tree it sits in.
set -euo pipefail

SRC=${PROPELLER_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
QEMU_SH=$SRC/hal/qemu.sh
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FAILS=0
CHECKS=0

# A valid identity for the proplet.
export_identity() {
  export PROPLET_TENANT_ID=4bae1a76-afc4-4054-976c-5427c49fbbf3
  export PROPLET_ENTITY_ID=0deb859f-973d-4e2e-93cf-ec756f4fc3c8
  export PROPLET_API_KEY=17c03d05-b55d-4a05-88ec-cadecb2130c4
  export PROPLET_CHANNEL_ID=34a616c3-8817-4995-aade-a383e64766a8
  export BASE_IMAGE=/var/lib/images/debian-12-genericcloud-amd64.qcow2
  # The tests must not depend on the host's KVM, TDX or SEV: an empty sysfs.
  mkdir -p "$TMP/sys"
  export HOST_SYSFS=$TMP/sys
}

fail() {
  echo "FAIL: $*" >&2
  FAILS=$((FAILS + 1))
}

pass() {
  CHECKS=$((CHECKS + 1))
}

# contains LABEL HAYSTACK NEEDLE: fixed-string match.
contains() {
  if grep -qF -- "$3" <<<"$2"; then pass; else fail "$1: expected \"$3\" in: $2"; fi
}

lacks() {
  if grep -qF -- "$3" <<<"$2"; then fail "$1: did not expect \"$3\" in: $2"; else pass; fi
}

# dry_run_cmd [VAR=VALUE...]: the QEMU command line printed by a dry run.
dry_run_cmd() {
  local out
  out=$(env "$@" WORK_DIR="$TMP/w" "$QEMU_SH" --dry-run run 2>/dev/null) || {
    fail "dry run with $* exited non-zero"
    return 0
  }
  sed -n '/^qemu command:$/{n;p}' <<<"$out"
}

# dry_run_build [VAR=VALUE...]: writes user-data/meta-data into $TMP/w.
dry_run_build() {
  rm -rf "$TMP/w"
  env "$@" WORK_DIR="$TMP/w" "$QEMU_SH" --dry-run build >/dev/null 2>&1 ||
    fail "dry-run build with $* exited non-zero"
}

# refused LABEL EXPECTED_TEXT ARGS... -- VAR=VALUE...: the script must exit
# non-zero and say EXPECTED_TEXT on stderr.
refused() {
  local label=$1 want=$2 rc=0 err
  shift 2
  local args=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    args+=("$1")
    shift
  done
  [ $# -gt 0 ] && shift
  err=$(env "$@" WORK_DIR="$TMP/w" "$QEMU_SH" "${args[@]}" 2>&1 >/dev/null) || rc=$?
  if [ $rc -eq 0 ]; then
    fail "$label: accepted (exit 0), expected refusal with \"$want\""
  elif ! grep -qF -- "$want" <<<"$err"; then
    fail "$label: exit $rc but message lacks \"$want\": $err"
  else
    pass
  fi
}

finish() {
  if [ $FAILS -gt 0 ]; then
    echo "$FAILS of $((CHECKS + FAILS)) checks failed" >&2
    exit 1
  fi
  [ $CHECKS -gt 0 ] || { echo "no checks ran" >&2; exit 1; }
  echo "ok: $CHECKS checks passed"
}
