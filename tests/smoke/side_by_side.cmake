# tests/tools/llama_cpp_side_by_side.py without llama.cpp: its GGUF writer (gguf-py) makes a MiniCPM-V 2.6 pair at
# the real widths (1 language-model layer, 1 vision layer, a 2048-token vocabulary to keep it at 0.75 GB), and its
# compare step runs `uhdlens-bench engine --gguf ... --json` on it and prints the table with the llama.cpp column
# "not run". Proves the files load through Model::load, the JSON carries every figure the table needs, and the
# scripts refuse bad input with exit 2 naming the problem. Skipped (SKIPPED: ...) when no Python with gguf-py is
# found: $UHDLENS_GGUF_PY (a gguf-py folder, e.g. <llama.cpp>/gguf-py), the gguf_fixture.py venv, or an
# installed gguf package. Asserts nothing about speed.
# Variables: BENCH (uhdlens-bench), TOOLS (tests/tools), WORK (scratch folder).
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

set(py /usr/bin/python3)
set(gguf_args)
set(cache "$ENV{XDG_CACHE_HOME}")
if(cache STREQUAL "")
  set(cache "$ENV{HOME}/.cache")
endif()
if(NOT "$ENV{UHDLENS_GGUF_PY}" STREQUAL "")
  set(gguf_args --gguf-py "$ENV{UHDLENS_GGUF_PY}")
  set(probe "import sys; sys.path.insert(0, '$ENV{UHDLENS_GGUF_PY}'); import gguf, numpy")
elseif(EXISTS "${cache}/uhdlens-reference/gguf/venv/bin/python")
  set(py "${cache}/uhdlens-reference/gguf/venv/bin/python")
  set(probe "import gguf, numpy")
else()
  set(probe "import gguf, numpy")
endif()
execute_process(COMMAND ${py} -c "${probe}" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message("SKIPPED: no Python with gguf-py and numpy (${py}: ${err}); set UHDLENS_GGUF_PY=<llama.cpp>/gguf-py")
  return()
endif()

set(helper ${TOOLS}/llama_cpp_side_by_side.py)
file(REMOVE_RECURSE ${WORK})
set(CLI ${py}) # run_cli (common.cmake) runs ${CLI} ${CLI_SUBCOMMAND} args...
set(CLI_SUBCOMMAND ${helper})
macro(expect_refused what)
  run_cli(out rc err ${ARGN})
  expect("rc EQUAL 2" "llama_cpp_side_by_side.py ${ARGN}: expected exit 2, got ${rc}: ${out}${err}")
  string(FIND "${err}" "${what}" at)
  expect("NOT at EQUAL -1" "llama_cpp_side_by_side.py ${ARGN}: the message should name '${what}': ${err}")
endmacro()

# Bad input first (no work done).
expect_refused("--llm-layers" write --out ${WORK}/bad ${gguf_args} --llm-layers 0)
expect_refused("--vision-layers" write --out ${WORK}/bad ${gguf_args} --vision-layers 28)
expect_refused("--types" write --out ${WORK}/bad ${gguf_args} --types q4_0)
expect_refused("--quantize" write --out ${WORK}/bad ${gguf_args} --types f16,q4_0)
expect_refused("manifest.json" compare --dir ${WORK}/none --bench ${BENCH})

# The pair, then the compare step on it (UHD Lens only).
set(dir ${WORK}/files)
run_cli(out rc err write --out ${dir} ${gguf_args} --llm-layers 1 --vision-layers 1 --vocab 2048 --types f16)
expect("rc EQUAL 0" "write failed (${rc}): ${out}${err}")
foreach(f llm-f16.gguf mmproj-f16.gguf manifest.json)
  expect("EXISTS ${dir}/${f}" "write made no ${f}: ${err}")
endforeach()
expect_refused("llm-q4_0.gguf" compare --dir ${dir} --bench ${BENCH} --types f16,q4_0)
expect_refused("not found" compare --dir ${dir} --bench ${WORK}/no-such-bench --types f16)
run_cli(out rc err compare --dir ${dir} --bench ${BENCH} --types f16 --prompt 16 --gen 2 --repeats 1
  --json ${WORK}/results.json)
expect("rc EQUAL 0" "compare failed (${rc}): ${out}${err}")
foreach(text "| figure" "per-slice encode incl. resampler" "prefill 16 tokens" "decode 2 tokens after 16"
        "not run" "vision tower 1 of 27 layers")
  string(FIND "${out}" "${text}" at)
  expect("NOT at EQUAL -1" "the table lacks '${text}':\n${out}")
endforeach()
file(READ ${WORK}/results.json json)
foreach(key encode_ms_per_slice prefill_tok_s decode_tok_s gemm_gflops)
  string(JSON v GET "${json}" uhdlens f16 ${key})
  expect("v GREATER 0" "results.json: uhdlens.f16.${key} is ${v}, expected > 0")
endforeach()
string(JSON v GET "${json}" uhdlens f16 weight_types llm)
expect("v MATCHES \"F16 x\"" "results.json: the LLM weights should be F16 tensors, got '${v}'")
string(JSON v GET "${json}" uhdlens f16 vision_layers)
expect("v EQUAL 1" "results.json: uhdlens.f16.vision_layers is ${v}, expected the file's 1")
string(JSON v GET "${json}" uhdlens f16 decode_context)
expect("v EQUAL 16" "results.json: uhdlens.f16.decode_context is ${v}, expected the 16 prompt tokens")
file(REMOVE_RECURSE ${dir}) # 0.75 GB

# The driver script refuses bad arguments and names a missing prerequisite before building anything.
execute_process(COMMAND bash ${TOOLS}/llama_cpp_side_by_side.sh --threads x RESULT_VARIABLE rc ERROR_VARIABLE err)
expect("rc EQUAL 2 AND err MATCHES \"--threads\"" "llama_cpp_side_by_side.sh --threads x: got ${rc}: ${err}")
execute_process(COMMAND bash ${TOOLS}/llama_cpp_side_by_side.sh --bench ${WORK}/no-such-bench
  RESULT_VARIABLE rc ERROR_VARIABLE err)
expect("rc EQUAL 2 AND err MATCHES \"no-such-bench\"" "llama_cpp_side_by_side.sh --bench <missing>: got ${rc}: ${err}")
