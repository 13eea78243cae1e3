# End-to-end tests: manager, proplet, proxy, propeller-kbs with real
# mosquitto and docker-registry on free loopback ports.
if(TARGET propeller-manager AND TARGET proplet AND TARGET propeller-proxy
   AND TARGET propeller-kbs AND TARGET propeller AND TARGET wasm_addition)
  foreach(t plain encrypted)
    propeller_integration_test(e2e.${t}
      COMMAND ${CMAKE_CURRENT_LIST_DIR}/e2e_${t}.sh
      LABELS e2e TIMEOUT 300)
  endforeach()
endif()
