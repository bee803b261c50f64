# Script mode, run after each test executable is linked (POST_BUILD, see uhdlens_discover_tests in
# tests/CMakeLists.txt), as CMake's gtest_discover_tests does: asks the executable what it holds and writes OUT, a
# CTest include file with one entry per test, so nothing is registered from a hand-kept list.
#   KIND=gtest: one entry <LABEL>.<Suite> per GoogleTest suite (`--gtest_list_tests`); per suite, not per case,
#               because each process that links libtorch takes 1-2.5 s to start.
#   KIND=qtest: one entry <LABEL>.<function> per Qt Test function (`-functions`).
# Arguments: -DEXE=<executable> -DKIND=gtest|qtest -DLABEL=<label> -DTIMEOUT=<s> -DOUT=<file to write>
#            [-DEXTRA_ENV=VAR=value: one more variable for the tests' environment]
cmake_minimum_required(VERSION 3.16)
if(KIND STREQUAL "gtest")
  set(list_arg --gtest_list_tests)
elseif(KIND STREQUAL "qtest")
  set(list_arg -functions)
else()
  message(FATAL_ERROR "KIND must be gtest or qtest, not '${KIND}'")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env QT_QPA_PLATFORM=offscreen ${EXE} ${list_arg}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} ${list_arg} exited ${rc}: ${err}")
endif()
set(names "")
if(KIND STREQUAL "gtest")
  # Suite lines start in column 0 and end with '.' ("Suite." or "Prefix/Suite." for parameterised ones); the
  # cases below them are indented; gtest_main's banner ("Running main() from ...") has no trailing dot.
  string(REPLACE "\n" ";" lines "${out}")
  foreach(line IN LISTS lines)
    if(line MATCHES "^([A-Za-z_][A-Za-z0-9_/]*)\\.$")
      list(APPEND names "${CMAKE_MATCH_1}")
    endif()
  endforeach()
else()
  string(REGEX MATCHALL "[A-Za-z_][A-Za-z0-9_]*\\(\\)" functions "${out}")
  foreach(f IN LISTS functions)
    string(REPLACE "()" "" name "${f}")
    list(APPEND names "${name}")
  endforeach()
endif()
list(REMOVE_DUPLICATES names)
list(LENGTH names count)
if(count EQUAL 0)
  message(FATAL_ERROR "${EXE} ${list_arg} listed no test:\n${out}")
endif()
set(text "# Written by tests/discover_tests.cmake from `${EXE} ${list_arg}`; do not edit.\n")
set(env "QT_QPA_PLATFORM=offscreen")
if(KIND STREQUAL "qtest")
  string(APPEND env ";QT_LOGGING_RULES=qt.qpa.*=false")
endif()
if(EXTRA_ENV)
  string(APPEND env ";${EXTRA_ENV}")
endif()
foreach(name IN LISTS names)
  if(KIND STREQUAL "gtest")
    set(args "[=[--gtest_filter=${name}.*]=]")
  else()
    set(args "[=[${name}]=]")
  endif()
  string(APPEND text "add_test([=[${LABEL}.${name}]=] [=[${EXE}]=] ${args})\n"
         "set_tests_properties([=[${LABEL}.${name}]=] PROPERTIES LABELS [=[${LABEL}]=] TIMEOUT ${TIMEOUT} "
         "ENVIRONMENT [=[${env}]=])\n")
endforeach()
# Rewritten only when the list changed, so CTest's files stay stable across rebuilds.
file(WRITE ${OUT}.tmp "${text}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
file(REMOVE ${OUT}.tmp)
