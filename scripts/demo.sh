#!/usr/bin/env bash
# The main job. Installs what it needs, builds, and runs the demo.
# Today: the addition example through the WebAssembly engine. The
# manager/proplet work turns this into the full encrypted-workload demo
# (mosquitto, registry, propeller-kbs, manager, proplet on one machine).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

"$root/scripts/deps.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" -j "$(nproc)"

wasm="$root/build/examples/addition/addition.wasm"
echo "+ propeller wasm run --invoke add $wasm 10 20"
result=$("$root/build/src/cli/propeller" wasm run --invoke add "$wasm" 10 20)
echo "$result"
if [ "$result" != "30" ]; then
  echo "demo: expected 30, got \"$result\"" >&2
  exit 1
fi
echo "demo: ok"
