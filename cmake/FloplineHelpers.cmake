# File: flopline_add_library / flopline_add_test, after Abseil's absl_cc_library: one place that says
# how a module is built, so warnings and sanitizers cannot differ between modules.

function(flopline_apply_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                           -Wno-sign-conversion -Werror)
  # GCC 12 at -O2 reports std::optional<std::string> members as maybe-uninitialized where they
  # cannot be (a known GCC 12 false positive); the ASan build at -O0 still checks real ones.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
  if(FLOPLINE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-sanitize-recover=all
                                             -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# flopline_add_library(NAME SRCS ... DEPS ...): a static library flopline_NAME whose public headers
# live in include/flopline/NAME/.
function(flopline_add_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_library(flopline_${name} STATIC ${ARG_SRCS})
  target_include_directories(flopline_${name} PUBLIC "${PROJECT_SOURCE_DIR}/include"
                                              PRIVATE "${PROJECT_SOURCE_DIR}/src")
  target_link_libraries(flopline_${name} PUBLIC ${ARG_DEPS})
  flopline_apply_warnings(flopline_${name})
endfunction()

# flopline_add_test(NAME SRCS ... DEPS ... [PROPERTIES ...]): one GoogleTest binary registered with
# CTest; PROPERTIES are extra CTest properties of every test in it (a fixture, an environment).
function(flopline_add_test name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;PROPERTIES" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_include_directories(${name} PRIVATE "${PROJECT_SOURCE_DIR}/src")
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    FLOPLINE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  flopline_apply_warnings(${name})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
                       PROPERTIES ENVIRONMENT "FLOPLINE_SOURCE_DIR=${PROJECT_SOURCE_DIR}" ${ARG_PROPERTIES})
endfunction()
