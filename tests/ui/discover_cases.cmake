cmake_minimum_required(VERSION 3.16) # script mode
# Run after each build of a Qt Test executable (POST_BUILD, as CMake's gtest_discover_tests does): asks TESTS for
# its test functions (`TESTS -functions`) and writes OUT, a CTest include file with one entry per function,
# named <PREFIX><function>. So every test function is registered without a hand-kept list.
# Arguments: -DTESTS=<executable> -DOUT=<file> -DPREFIX=<ctest name prefix> -DLABEL=<label> -DTIMEOUT=<s>
execute_process(COMMAND ${CMAKE_COMMAND} -E env QT_QPA_PLATFORM=offscreen ${TESTS} -functions
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${TESTS} -functions exited ${rc}: ${err}")
endif()
string(REGEX MATCHALL "[A-Za-z_][A-Za-z0-9_]*\\(\\)" functions "${out}")
list(LENGTH functions count)
if(count EQUAL 0)
  message(FATAL_ERROR "${TESTS} -functions listed no test function: ${out}")
endif()
set(content "# Written by tests/ui/discover_cases.cmake from `${TESTS} -functions`; do not edit.\n")
foreach(f IN LISTS functions)
  string(REPLACE "()" "" name "${f}")
  string(APPEND content
    "add_test([=[${PREFIX}${name}]=] [=[${TESTS}]=] [=[${name}]=])\n"
    "set_tests_properties([=[${PREFIX}${name}]=] PROPERTIES LABELS [=[${LABEL}]=] TIMEOUT ${TIMEOUT} "
    "ENVIRONMENT [=[QT_QPA_PLATFORM=offscreen;QT_LOGGING_RULES=qt.qpa.*=false]=])\n")
endforeach()
file(WRITE "${OUT}.tmp" "${content}")
# Rewritten only when the list changed, so CTest files stay stable across rebuilds.
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
file(REMOVE "${OUT}.tmp")
