# Manager and MQTT integration tests: real mosquitto (password file + ACL)
# and PostgreSQL on free loopback ports, stopped on exit.
if(TARGET propeller-manager)
  set(_mgr ${PROJECT_SOURCE_DIR}/tests/integration)
  propeller_integration_test(manager.e2e
    COMMAND ${_mgr}/manager_e2e.sh $<TARGET_FILE:propeller-manager>
    LABELS manager TIMEOUT 120)
endif()
