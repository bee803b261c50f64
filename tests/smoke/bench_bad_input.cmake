# `uhdlens-bench` refuses bad options with a usage error (exit 2) naming the option, before doing any work.
# Variables: BENCH (executable).
macro(expect_usage_error what)
  execute_process(COMMAND ${BENCH} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "uhdlens-bench ${ARGN}: expected exit 2, got ${rc}: ${out}${err}")
  endif()
  string(FIND "${out}${err}" "${what}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "uhdlens-bench ${ARGN}: the message should mention '${what}': ${out}${err}")
  endif()
endmacro()

expect_usage_error("--dtype" engine --shapes tiny --dtype f64)
expect_usage_error("--dtype" engine --shapes tiny --dtype "")
expect_usage_error("--shapes" engine --shapes huge)
expect_usage_error("--threads" engine --shapes tiny --threads -1) # 0 means all cores
expect_usage_error("--repeats" engine --shapes tiny --repeats many)
expect_usage_error("--questions" soak --questions 0)
expect_usage_error("--questions" soak --questions many)
expect_usage_error("--threads" soak --threads -1)
expect_usage_error("--threads" soak --threads all)
expect_usage_error("unexpected argument" soak extra)
