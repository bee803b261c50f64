# A GGUF pair through the CLI as a user runs it: `ask --model LLM.gguf --mmproj MMPROJ.gguf` answers exactly as
# `ask --model <the HF folder>` the pair was converted from (tests/data/reference/minicpmv26-gguf, F16), the
# --json model block names the family and the files' tensor types; an LLM without its mmproj exits 1 naming it.
set(E2E ${DATA}/reference/minicpmv26-e2e)
set(GGUF ${DATA}/reference/minicpmv26-gguf)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

run_cli(folder rc err ask --model ${E2E} --image ${E2E}/image.png --dtype f32 --max-new-tokens 12 "What is written?")
expect("rc EQUAL 0" "ask on the HF folder exited ${rc}: ${err}")
run_cli(pair rc err ask --model ${GGUF}/llm-f16.gguf --mmproj ${GGUF}/mmproj-f16.gguf --image ${E2E}/image.png
        --dtype f32 --max-new-tokens 12 "What is written?")
expect("rc EQUAL 0" "ask on the GGUF pair exited ${rc}: ${err}")
# (Plain if(): random-model answers may hold characters that expect()'s EVAL cannot carry.)
if(NOT pair STREQUAL folder)
  message(FATAL_ERROR "GGUF pair answered '${pair}', the HF folder '${folder}'")
endif()

run_cli(out rc err ask --model ${GGUF}/llm-q4_0.gguf --mmproj ${GGUF}/mmproj-f16.gguf --image ${E2E}/image.png
        --max-new-tokens 3 --json "Hi")
expect("rc EQUAL 0" "ask --json on the Q4_0 pair exited ${rc}: ${err}")
string(JSON family GET "${out}" model family)
expect("family STREQUAL \"minicpmv26\"" "family ${family}")
if(NOT out MATCHES "Q4_0")
  message(FATAL_ERROR "the --json model block does not name the Q4_0 tensors: ${out}")
endif()

file(COPY ${GGUF}/llm-q4_0.gguf DESTINATION ${WORK}/alone)
run_cli(out rc err ask --model ${WORK}/alone/llm-q4_0.gguf --image ${E2E}/image.png "q")
expect("rc EQUAL 1 AND err MATCHES \"mmproj\"" "LLM without its mmproj: rc ${rc}, ${err}")
