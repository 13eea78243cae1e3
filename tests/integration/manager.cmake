# Manager and MQTT integration tests: real mosquitto (password file + ACL)
# and PostgreSQL on free loopback ports, stopped on exit.
if(TARGET propeller-manager)
  set(_mgr ${PROJECT_SOURCE_DIR}/tests/integration)
  propeller_integration_test(manager.e2e
    COMMAND ${_mgr}/manager_e2e.sh $<TARGET_FILE:propeller-manager>
    LABELS manager TIMEOUT 120)
endif()
if(TARGET propeller-manager AND TARGET test_manager_store)
  propeller_integration_test(manager.store_pg
    COMMAND ${PROJECT_SOURCE_DIR}/tests/integration/manager_store_pg.sh
            $<TARGET_FILE:test_manager_store> $<TARGET_FILE:propeller-manager>
    LABELS manager TIMEOUT 120)
endif()
if(TARGET propeller-manager AND TARGET propeller)
  propeller_integration_test(manager.provision_cli
    COMMAND ${PROJECT_SOURCE_DIR}/tests/integration/manager_provision.sh
            $<TARGET_FILE:propeller> $<TARGET_FILE:propeller-manager>
    LABELS manager TIMEOUT 120)
endif()
if(TARGET propeller-manager)
  propeller_integration_test(manager.tls
    COMMAND ${PROJECT_SOURCE_DIR}/tests/integration/manager_tls.sh
            $<TARGET_FILE:propeller-manager>
    LABELS manager TIMEOUT 120)
endif()
