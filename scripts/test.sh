#!/usr/bin/env bash
# Builds everything and runs every test: a normal -Werror build, then the
# same suite under AddressSanitizer + UBSan, then the fuzz targets' replay.
# Usage: scripts/test.sh            (what CI runs)
#        SKIP_ASAN=1 scripts/test.sh (quicker local loop)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)

"$root/scripts/deps.sh"
"$root/scripts/check-style.sh"

run_suite() {
  local dir=$1; shift
  cmake -S "$root" -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 600)
}

echo "== build and test (gcc, -Werror)"
run_suite "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "${SKIP_ASAN:-0}" != 1 ]; then
  echo "== build and test under ASan + UBSan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DPROPELLER_SANITIZE=ON
fi
echo "== all suites passed"
