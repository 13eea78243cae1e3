# `propeller wasm run` end to end through the real binary: outputs and the
# documented exit codes (docs/wasm.md), both tiers.
propeller_integration_test(wasm_cli
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/wasm_cli.sh
  LABELS wasm TIMEOUT 180)
