# HAL (hal/qemu.sh, cloud-init) and deploy/ (units, env files, broker) tests.
# All run without KVM, QEMU or network. The slow VM boot test is opt-in:
# PROPELLER_SLOW_TESTS=1 ctest -R hal.slow_boot (skipped otherwise).
set(_hal ${PROJECT_SOURCE_DIR}/tests/hal)
propeller_integration_test(hal.shellcheck COMMAND ${_hal}/test_shellcheck.sh
  LABELS hal TIMEOUT 120)
propeller_integration_test(hal.cloud_init_schema COMMAND ${_hal}/test_cloud_init.sh
  LABELS hal TIMEOUT 180)
propeller_integration_test(hal.dry_run COMMAND ${_hal}/test_dry_run.sh
  LABELS hal TIMEOUT 120)
propeller_integration_test(hal.variables COMMAND ${_hal}/test_variables.sh
  LABELS hal TIMEOUT 120)
propeller_integration_test(hal.bad_values COMMAND ${_hal}/test_bad_values.sh
  LABELS hal TIMEOUT 120)
propeller_integration_test(hal.install COMMAND ${_hal}/test_install.sh
  LABELS hal TIMEOUT 120)
propeller_integration_test(hal.build COMMAND ${_hal}/test_build.sh
  LABELS hal TIMEOUT 120)
propeller_integration_test(hal.broker_acl COMMAND ${_hal}/test_broker_acl.sh
  LABELS hal TIMEOUT 120)
# Opt-in: PROPELLER_SLOW_TESTS=1; exit code 77 means skipped.
propeller_integration_test(hal.slow_boot COMMAND ${_hal}/test_slow_boot.sh
  LABELS "hal;slow" TIMEOUT 7200)
set_tests_properties(integration.hal.slow_boot PROPERTIES SKIP_RETURN_CODE 77)
