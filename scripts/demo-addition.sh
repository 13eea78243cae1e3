#!/usr/bin/env bash
# Builds (if needed) and runs the addition example through the engine:
#   propeller wasm run --invoke add build/examples/addition/addition.wasm 10 20
# prints 30. Usage: scripts/demo-addition.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${1:-"$root/build"}

if [ ! -x "$build/src/cli/propeller" ] || [ ! -f "$build/examples/addition/addition.wasm" ]; then
  cmake -S "$root" -B "$build" >/dev/null
  cmake --build "$build" -j "$(nproc)" --target propeller wasm_addition
fi
wasm="$build/examples/addition/addition.wasm"
for tier in 1 2; do
  echo "+ propeller wasm run --tier $tier --invoke add $wasm 10 20"
  result=$("$build/src/cli/propeller" wasm run --tier "$tier" --invoke add "$wasm" 10 20)
  echo "$result"
  if [ "$result" != "30" ]; then
    echo "demo-addition: tier $tier: expected 30, got \"$result\"" >&2
    exit 1
  fi
done
echo "demo-addition: ok"
