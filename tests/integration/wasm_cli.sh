#!/usr/bin/env bash
# `propeller wasm run` through the real binary: results, argv/env, exit
# codes (program's own, 1 failure, 2 usage, 124 timeout, 134 trap), both
# tiers, the memory limit, and the addition example.
set -euo pipefail
bin="$PROPELLER_BINARY_DIR/src/cli/propeller"
add="$PROPELLER_BINARY_DIR/examples/addition/addition.wasm"
progs="$PROPELLER_BINARY_DIR/tests/unit/wasm/progs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PROPELLER_WASM_CACHE="$tmp/cache"

fail() {
  echo "wasm_cli: $*" >&2
  exit 1
}

# expect_rc CODE CMD... : runs CMD with stdout/stderr in $tmp/out, $tmp/err.
expect_rc() {
  local want=$1 rc
  shift
  set +e
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  rc=$?
  set -e
  [ "$rc" = "$want" ] || fail "$* exited $rc, want $want; stderr: $(cat "$tmp/err")"
}

for tier in 1 2; do
  expect_rc 0 "$bin" wasm run --tier "$tier" --invoke add "$add" 10 20
  [ "$(cat "$tmp/out")" = "30" ] || fail "tier $tier: add printed \"$(cat "$tmp/out")\""
  expect_rc 0 "$bin" wasm run --tier "$tier" "$add" 1 2 39
  [ "$(cat "$tmp/out")" = "42" ] || fail "tier $tier: _start printed \"$(cat "$tmp/out")\""
  expect_rc 7 "$bin" wasm run --tier "$tier" --env GREETING=hi "$progs/wt_echoargs.wasm" 7 "a b"
  grep -qx 'GREETING=hi' "$tmp/out" || fail "env not passed"
  grep -qx 'argv\[0\]=wt_echoargs.wasm' "$tmp/out" || fail "argv[0]"
  grep -qx 'argv\[2\]=a b' "$tmp/out" || fail "argv[2]"
  grep -qx 'to stderr' "$tmp/err" || fail "stderr not forwarded"
  expect_rc 134 "$bin" wasm run --tier "$tier" --invoke t_div0 "$progs/wt_traps.wasm" 1
  grep -q 'wasm trap: integer divide by zero' "$tmp/err" || fail "trap kind: $(cat "$tmp/err")"
done

# Exports with i64/f64/f32 parameters and results.
expect_rc 0 "$bin" wasm run --tier 1 --invoke mix "$progs/wt_compute.wasm" 5 1.5 0.25
[ "$(cat "$tmp/out")" = "55" ] || fail "mix printed \"$(cat "$tmp/out")\""
expect_rc 0 "$bin" wasm run --tier 1 --invoke hyp "$progs/wt_compute.wasm" 3 4
[ "$(cat "$tmp/out")" = "5" ] || fail "hyp printed \"$(cat "$tmp/out")\""

expect_rc 124 "$bin" wasm run --tier 1 --timeout 1 --invoke spin "$progs/wt_spin.wasm"
expect_rc 134 "$bin" wasm run --tier 1 --max-memory 64K "$progs/wt_alloc.wasm"
grep -q 'out of memory' "$tmp/err" || fail "memory limit: $(cat "$tmp/err")"
expect_rc 0 "$bin" wasm run --tier 1 --max-memory 8M "$progs/wt_alloc.wasm"
grep -q '^allocated [0-7] MiB$' "$tmp/out" || fail "memory limit: $(cat "$tmp/out")"

# Failures: usage (2) and load/argument errors (1) say what was wrong.
expect_rc 2 "$bin" wasm run --tier 9 "$add"
grep -q -- '--tier' "$tmp/err" || fail "usage message"
expect_rc 2 "$bin" wasm run
printf 'not wasm' >"$tmp/bad.wasm"
expect_rc 1 "$bin" wasm run "$tmp/bad.wasm"
grep -q 'bad magic' "$tmp/err" || fail "bad module message: $(cat "$tmp/err")"
expect_rc 1 "$bin" wasm run --invoke add "$add" ten 20
grep -q '"ten"' "$tmp/err" || fail "bad argument message: $(cat "$tmp/err")"
expect_rc 1 "$bin" wasm run --invoke nope "$add"
grep -q '"nope"' "$tmp/err" || fail "missing export message"
expect_rc 1 "$bin" wasm run "$tmp/does-not-exist.wasm"

# The addition demo script.
bash "$PROPELLER_SOURCE_DIR/scripts/demo-addition.sh" "$PROPELLER_BINARY_DIR" >"$tmp/out"
grep -qx 'demo-addition: ok' "$tmp/out" || fail "demo-addition"
echo "wasm_cli: ok"
