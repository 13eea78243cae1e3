#!/usr/bin/env bash
# Checks that shellcheck is clean on every shell script of the HAL, deploy/ and these
# tests (all severities).
# shellcheck source=tests/hal/lib.sh
. "$(dirname "$0")/lib.sh"
command -v shellcheck >/dev/null 2>&1 || { echo "shellcheck not installed" >&2; exit 1; }
mapfile -t scripts < <(cd "$SRC" && find hal deploy tests/hal -type f \
  \( -name '*.sh' -o -name '*.bash' \) | sort)
[ ${#scripts[@]} -ge 5 ] || fail "found only ${#scripts[@]} scripts: ${scripts[*]}"
for s in "${scripts[@]}"; do
  if out=$(cd "$SRC" && shellcheck -x -s bash "$s" 2>&1); then
    pass
  else
    fail "shellcheck $s:
$out"
  fi
done
echo "checked: ${scripts[*]}"
finish
