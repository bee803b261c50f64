# Helpers shared by the CLI contract tests (run with cmake -P).
#   run_cli(<out> <rc> <err> args...) runs ${CLI} ${CLI_SUBCOMMAND} args... and captures stdout, exit code, stderr.
#   expect("<if() condition>" "<message>") evaluates the condition as written, in the caller's scope.
function(run_cli out_var rc_var err_var)
  execute_process(COMMAND ${CLI} ${CLI_SUBCOMMAND} ${ARGN} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  set(${out_var} "${out}" PARENT_SCOPE)
  set(${rc_var} "${rc}" PARENT_SCOPE)
  set(${err_var} "${err}" PARENT_SCOPE)
endfunction()

macro(expect cond msg)
  set(_expect_msg "${msg}")
  cmake_language(EVAL CODE "if(NOT (${cond}))\n message(FATAL_ERROR \"\${_expect_msg}\")\nendif()")
endmacro()
