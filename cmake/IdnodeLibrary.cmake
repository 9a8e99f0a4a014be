# idnode_library(NAME name SOURCES ... DEPS ...)
# Declares one component library `idnode_<name>` with the alias `idnode::<name>`. The repository
# root is the include root, so headers are included by their path (`registry/store/store.h`).
function(idnode_library)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_library(idnode_${ARG_NAME} ${ARG_SOURCES})
  add_library(idnode::${ARG_NAME} ALIAS idnode_${ARG_NAME})
  target_include_directories(idnode_${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(idnode_${ARG_NAME} PUBLIC ${ARG_DEPS})
  idnode_warnings(idnode_${ARG_NAME})
endfunction()

# Our own code builds with a strict warning set; CI turns warnings into errors.
function(idnode_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor)
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    # Checks the ABSL_GUARDED_BY / ABSL_EXCLUSIVE_LOCKS_REQUIRED annotations on absl::Mutex.
    target_compile_options(${target} PRIVATE -Wthread-safety)
  endif()
  if(IDNODE_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC's sanitizer instrumentation makes -Wmaybe-uninitialized fire inside Boost.Beast; the
    # Release build keeps the warning.
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
  if(IDNODE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# idnode_test(NAME name SOURCES ... DEPS ... [LABELS ...])
function(idnode_test)
  # SERIAL: CTest runs the target's tests alone, for load tests whose timing another test on
  # the same two cores would decide (tcp_bounds_test floods the node while a client must still
  # get answers within its deadline).
  cmake_parse_arguments(ARG "SERIAL" "NAME" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  idnode_warnings(${ARG_NAME})
  set(serial "")
  if(ARG_SERIAL)
    set(serial RUN_SERIAL TRUE)
  endif()
  # One label per test target: gtest_discover_tests passes properties on as a flat list.
  gtest_discover_tests(${ARG_NAME} DISCOVERY_MODE PRE_TEST
    PROPERTIES LABELS "${ARG_LABELS}" ${serial})
endfunction()
