# Contract test of `uhdlens-cli tokenize` (scripts depend on it): ids space-separated on one line, --bos
# prepends the BOS id, --model DIR reads DIR/tokenizer.model; exit 1 + message for a missing or invalid
# tokenizer, exit 2 for bad usage. Expected ids come from the reference spm_encode (DATA/tokenizer/golden-ids.txt).
set(CLI_SUBCOMMAND tokenize)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

set(TOK ${DATA}/tokenizer)
file(STRINGS ${TOK}/golden-ids.txt golden ENCODING UTF-8)
list(GET golden 0 hello_ids)
list(GET golden 2 image_ids)
list(GET golden 4 chinese_ids)

run_cli(out rc err --tokenizer ${TOK}/tokenizer.model "Hello world")
expect("rc EQUAL 0" "tokenize exited ${rc}: ${err}")
expect("out STREQUAL \"${hello_ids}\n\"" "Hello world: got '${out}', want '${hello_ids}'")

run_cli(out rc err --model ${TOK} --bos "<image>What is written on the sign?</image>")
expect("rc EQUAL 0" "tokenize --model --bos exited ${rc}: ${err}")
expect("out STREQUAL \"1 ${image_ids}\n\"" "--bos with <image>: got '${out}', want '1 ${image_ids}'")

run_cli(out rc err --tokenizer ${TOK}/tokenizer.model "这张图片里有一只猫。")
expect("rc EQUAL 0 AND out STREQUAL \"${chinese_ids}\n\"" "Chinese: got '${out}' (${rc}), want '${chinese_ids}'")

# Missing tokenizer: exit 1 and a message naming the file.
run_cli(out rc err --model ${WORK}/no-such-model "hi")
expect("rc EQUAL 1" "missing tokenizer should exit 1, got ${rc}")
expect("err MATCHES \"tokenizer not found.*no-such-model/tokenizer.model\"" "unclear message: ${err}")
# Not a SentencePiece model.
run_cli(out rc err --tokenizer ${TOK}/golden-input.txt "hi")
expect("rc EQUAL 1 AND err MATCHES \"not a SentencePiece model\"" "text file as tokenizer: ${rc} ${err}")

# Bad usage: exit 2.
run_cli(out rc err)
expect("rc EQUAL 2" "no arguments should exit 2, got ${rc}")
run_cli(out rc err "just text")
expect("rc EQUAL 2" "no --model/--tokenizer should exit 2, got ${rc}")
run_cli(out rc err --tokenizer ${TOK}/tokenizer.model --model ${TOK} "x")
expect("rc EQUAL 2" "both --model and --tokenizer should exit 2, got ${rc}")
run_cli(out rc err --tokenizer ${TOK}/tokenizer.model)
expect("rc EQUAL 2" "missing text should exit 2, got ${rc}")

# Installed layout (bin/uhdlens-cli + lib/uhdlens/libuhdlens_spm.so): the shim next to the executable is the one
# loaded, not the build tree's (the dynamic loader's own log says which file was opened).
if(SHIM)
  set(inst ${WORK}/inst)
  file(REMOVE_RECURSE ${inst})
  file(COPY ${CLI} DESTINATION ${inst}/bin)
  file(COPY ${SHIM} DESTINATION ${inst}/lib/uhdlens)
  get_filename_component(cli_name ${CLI} NAME)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env LD_DEBUG=files ${inst}/bin/${cli_name} tokenize
                          --tokenizer ${TOK}/tokenizer.model "Hello world"
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  expect("rc EQUAL 0 AND out STREQUAL \"${hello_ids}\n\"" "installed layout: rc ${rc}, out '${out}'")
  string(FIND "${err}" "file=${inst}/lib/uhdlens/libuhdlens_spm.so" at)
  expect("at GREATER -1" "installed layout did not load ${inst}/lib/uhdlens/libuhdlens_spm.so")
endif()
