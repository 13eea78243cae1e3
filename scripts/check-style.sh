#!/usr/bin/env bash
# Machine-checked style: banned functions (STYLE.md rule 16) in code that
# runs on the host. Guest workloads compiled to wasm32-wasi (the progs/ and
# programs/ directories of tests and benchmarks) are inputs, not our code.
set -euo pipefail
cd "$(dirname "$0")/.."
banned='\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|gets)[[:space:]]*\('
if hits=$(grep -rnE "$banned" --include='*.c' --include='*.h' \
	--exclude-dir=progs --exclude-dir=programs \
	src tests bench examples 2>/dev/null); then
  echo "check-style: banned functions used:" >&2
  echo "$hits" >&2
  exit 1
fi
