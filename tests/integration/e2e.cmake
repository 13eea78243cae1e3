# End-to-end tests: manager, proplet, proxy, propeller-kbs with real
# mosquitto and docker-registry on free loopback ports.
if(TARGET propeller-manager AND TARGET proplet AND TARGET propeller-proxy
   AND TARGET propeller-kbs AND TARGET propeller AND TARGET wasm_addition)
  propeller_wasm_program(sleeper
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/programs/sleeper.c
    OUTPUT_DIR ${CMAKE_CURRENT_BINARY_DIR})
  foreach(t plain encrypted resilience)
    propeller_integration_test(e2e.${t}
      COMMAND ${CMAKE_CURRENT_LIST_DIR}/e2e_${t}.sh
      LABELS e2e TIMEOUT 300)
  endforeach()
endif()
