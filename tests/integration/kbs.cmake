# Key Broker Service: the seed walkthrough with real processes (openssl,
# propeller-kbs on a free loopback port, `propeller kbs`), restart,
# configuration errors and 200 concurrent clients.
if(TARGET propeller-kbs AND TARGET propeller)
  propeller_integration_test(kbs_walkthrough
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/kbs_walkthrough.sh
    LABELS kbs TIMEOUT 120)
endif()
