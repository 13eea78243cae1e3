# Helpers shared by every module's CMakeLists.txt.

# propeller_module(NAME SOURCES src... [DEPS target...])
# Builds the static library propeller_<NAME>. Headers are included as
# "<module>/<module>.h" from src/.
function(propeller_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(propeller_${name} STATIC ${M_SOURCES})
  target_include_directories(propeller_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  if(M_DEPS)
    target_link_libraries(propeller_${name} PUBLIC ${M_DEPS})
  endif()
  set_property(GLOBAL APPEND PROPERTY PROPELLER_LIBS propeller_${name})
endfunction()

# propeller_unit_test(NAME SOURCES src... [LIBS target...] [LABELS l...]
#                     [TIMEOUT s])
# A cmocka test executable test_<NAME>, registered in CTest as unit.<NAME>.
# Tests get PROPELLER_TESTDATA, PROPELLER_SOURCE_DIR and PROPELLER_BINARY_DIR
# in their environment.
function(propeller_unit_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(test_${name} ${T_SOURCES})
  target_include_directories(test_${name} PRIVATE ${PROJECT_SOURCE_DIR}/src
                             ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(test_${name} PRIVATE ${T_LIBS} cmocka)
  add_test(NAME unit.${name} COMMAND test_${name})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  set_tests_properties(unit.${name} PROPERTIES
    LABELS "unit;${T_LABELS}" TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "PROPELLER_TESTDATA=${PROPELLER_TESTDATA};PROPELLER_SOURCE_DIR=${PROJECT_SOURCE_DIR};PROPELLER_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()

# propeller_integration_test(NAME COMMAND cmd... [LABELS l...] [TIMEOUT s])
# A test that starts real services (broker, registry, KBS) on free loopback
# ports; registered as integration.<NAME>.
function(propeller_integration_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "COMMAND;LABELS" ${ARGN})
  add_test(NAME integration.${name} COMMAND ${T_COMMAND})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(integration.${name} PROPERTIES
    LABELS "integration;${T_LABELS}" TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "PROPELLER_TESTDATA=${PROPELLER_TESTDATA};PROPELLER_SOURCE_DIR=${PROJECT_SOURCE_DIR};PROPELLER_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()

# propeller_wasm_program(NAME SOURCES src... [EXPORTS sym...] [FLAGS f...]
#                        [OUTPUT_DIR dir])
# Compiles C to a wasm32-wasi command module <OUTPUT_DIR>/<NAME>.wasm with
# clang and Debian's wasi-libc (sysroot /usr). EXPORTS adds
# -Wl,--export=<sym> for each symbol. The target is wasm_<NAME> (built by ALL)
# and the path is stored in the global property PROPELLER_WASM_<NAME>.
find_program(PROPELLER_WASM_CC NAMES clang clang-14)
function(propeller_wasm_program name)
  cmake_parse_arguments(W "" "OUTPUT_DIR" "SOURCES;EXPORTS;FLAGS" ${ARGN})
  if(NOT PROPELLER_WASM_CC)
    message(FATAL_ERROR "clang is needed to build wasm32-wasi programs")
  endif()
  if(NOT W_OUTPUT_DIR)
    set(W_OUTPUT_DIR ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  set(out ${W_OUTPUT_DIR}/${name}.wasm)
  set(srcs "")
  foreach(s IN LISTS W_SOURCES)
    if(NOT IS_ABSOLUTE ${s})
      set(s ${CMAKE_CURRENT_SOURCE_DIR}/${s})
    endif()
    list(APPEND srcs ${s})
  endforeach()
  set(exports "")
  foreach(e IN LISTS W_EXPORTS)
    list(APPEND exports "-Wl,--export=${e}")
  endforeach()
  add_custom_command(OUTPUT ${out}
    COMMAND ${PROPELLER_WASM_CC} --target=wasm32-wasi --sysroot=/usr -O2
            ${W_FLAGS} -o ${out} ${srcs} ${exports}
    DEPENDS ${srcs}
    COMMENT "wasm32-wasi ${name}.wasm"
    VERBATIM)
  add_custom_target(wasm_${name} ALL DEPENDS ${out})
  set_property(GLOBAL PROPERTY PROPELLER_WASM_${name} ${out})
endfunction()
