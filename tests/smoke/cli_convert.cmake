# Contract test of `uhdlens-cli convert`: a release-like folder (config + mm_projector.bin + a training-state
# pickle) converts to a new folder with mm_projector.safetensors (exit 0, --json describes it), the source is left
# as it was; a malicious pickle, the legacy format and an existing output are refused with exit 2, a message
# naming the file, and nothing written; bad usage exits 2. Fixtures: DATA/pickle (tools/make_pickle_fixtures.py).
cmake_policy(SET CMP0053 NEW) # the safetensors header read below holds characters the old rules warn about
set(CLI_SUBCOMMAND convert)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

file(REMOVE_RECURSE ${WORK})
set(src ${WORK}/release)
file(MAKE_DIRECTORY ${src})
file(WRITE ${src}/config.json "{\"model_type\": \"llava\"}\n")
file(COPY_FILE ${DATA}/pickle/mm_projector.bin ${src}/mm_projector.bin)
file(COPY_FILE ${DATA}/pickle/global_eval.pt ${src}/training_args.bin)

run_cli(out rc err --model ${src} --out ${WORK}/converted --json)
expect("rc EQUAL 0" "convert exited ${rc}: ${err}")
string(JSON target GET "${out}" converted 0 target)
string(JSON tensors GET "${out}" converted 0 tensors)
expect("target STREQUAL \"mm_projector.safetensors\" AND tensors EQUAL 14" "unexpected --json result: ${out}")
expect("EXISTS ${WORK}/converted/mm_projector.safetensors AND EXISTS ${WORK}/converted/config.json"
       "converted folder incomplete")
expect("NOT EXISTS ${WORK}/converted/mm_projector.bin AND NOT EXISTS ${WORK}/converted/training_args.bin"
       "pickle files were copied into the converted folder")
expect("EXISTS ${src}/mm_projector.bin" "the source folder was changed")
# The safetensors header names the tensors with their dtype.
file(READ ${WORK}/converted/mm_projector.safetensors head OFFSET 8 LIMIT 4000) # stops at the first NUL
string(REGEX MATCH "\"model.mm_projector.query\":{\"data_offsets\":\\[[0-9]+,[0-9]+\\],\"dtype\":\"BF16\"" query "${head}")
if(NOT query)
  message(FATAL_ERROR "header lacks the bf16 query: ${head}")
endif()

# Plain output names what was converted and what was left out.
run_cli(out rc err --model ${src} --out ${WORK}/converted2)
expect("rc EQUAL 0 AND out MATCHES \"mm_projector.bin -> mm_projector.safetensors: 14 tensors\"" "plain output: ${out}")
expect("out MATCHES \"omitted training_args.bin: training state\"" "training state not reported: ${out}")

# Refusals: exit 2, the file and the reason named, nothing written.
foreach(case "global_os_system.pt;GLOBAL 'posix.system' is not allowed" "legacy.pt;legacy .before PyTorch 1.6."
             "storage_numel_too_big.pt;declares 1000 elements" "truncated.bin;truncated")
  list(GET case 0 file)
  list(GET case 1 phrase)
  set(bad ${WORK}/bad-${file})
  file(MAKE_DIRECTORY ${bad})
  file(COPY_FILE ${DATA}/pickle/${file} ${bad}/pytorch_model.bin)
  run_cli(out rc err --model ${bad} --out ${WORK}/out-${file})
  expect("rc EQUAL 2" "${file}: exit ${rc}, want 2 (${err})")
  expect("err MATCHES \"pytorch_model.bin\" AND err MATCHES \"${phrase}\"" "${file}: unclear message: ${err}")
  expect("NOT EXISTS ${WORK}/out-${file}" "${file}: output written despite the refusal")
endforeach()
file(GLOB leftovers ${WORK}/.*partial*)
list(LENGTH leftovers n_left)
expect("n_left EQUAL 0" "temporary folders left behind: ${leftovers}")

run_cli(out rc err --model ${src} --out ${WORK}/converted)
expect("rc EQUAL 2 AND err MATCHES \"already exists and is not empty\"" "existing output: ${rc} ${err}")

# Bad usage: exit 2.
run_cli(out rc err)
expect("rc EQUAL 2" "no arguments should exit 2, got ${rc}")
run_cli(out rc err --model ${src})
expect("rc EQUAL 2 AND err MATCHES \"--out DIR is required\"" "missing --out: ${rc} ${err}")
run_cli(out rc err --model ${src} --out ${WORK}/x extra)
expect("rc EQUAL 2" "extra argument should exit 2, got ${rc}")

# Listed in the help.
execute_process(COMMAND ${CLI} help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
expect("rc EQUAL 0 AND help MATCHES \"convert +copy a model folder\"" "convert missing from help: ${help}")
