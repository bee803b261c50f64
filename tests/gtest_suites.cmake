# Script mode, run after each GoogleTest executable is linked (see uhdlens_add_gtest in tests/CMakeLists.txt):
# asks the executable for its test list and writes OUT, a CTest file with one entry per suite, so every suite
# of the code is in the suite without a hand-kept list (what CMake's gtest_discover_tests does per case; one
# entry per suite here because each process that links libtorch takes 1-2.5 s to start).
# Inputs: -DEXE=<executable> -DLABEL=<unit|parity|smoke> -DTIMEOUT=<s> -DOUT=<file to write>
cmake_minimum_required(VERSION 3.16)
execute_process(COMMAND ${CMAKE_COMMAND} -E env QT_QPA_PLATFORM=offscreen ${EXE} --gtest_list_tests
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} --gtest_list_tests exited ${rc}: ${err}")
endif()
string(REPLACE "\n" ";" lines "${out}")
set(suites "")
foreach(line IN LISTS lines)
  # Suite lines start in column 0 and end with '.' ("Suite." or "Prefix/Suite." for parameterised ones); the
  # cases below them are indented; gtest_main's banner ("Running main() from ...") has no trailing dot.
  if(line MATCHES "^([A-Za-z_][A-Za-z0-9_/]*)\\.$")
    list(APPEND suites "${CMAKE_MATCH_1}")
  endif()
endforeach()
list(REMOVE_DUPLICATES suites)
list(LENGTH suites n)
if(n EQUAL 0)
  message(FATAL_ERROR "${EXE} lists no test suite:\n${out}")
endif()
set(text "# Written by tests/gtest_suites.cmake from `${EXE} --gtest_list_tests`; do not edit.\n")
foreach(suite IN LISTS suites)
  string(APPEND text "add_test(${LABEL}.${suite} \"${EXE}\" \"--gtest_filter=${suite}.*\")\n"
         "set_tests_properties(${LABEL}.${suite} PROPERTIES LABELS ${LABEL} TIMEOUT ${TIMEOUT} "
         "ENVIRONMENT QT_QPA_PLATFORM=offscreen)\n")
endforeach()
file(WRITE ${OUT}.tmp "${text}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
file(REMOVE ${OUT}.tmp)
