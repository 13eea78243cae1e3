# OCI images and ocicrypt: skopeo 1.9.3 interop, a real docker-registry, and
# registry error paths. Each script starts what it needs on free loopback
# ports and stops it on exit.
foreach(t interop registry faults)
  propeller_integration_test(oci_${t}
    COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/oci_${t}.sh
    LABELS oci TIMEOUT 120)
endforeach()
