# Contract tests of the engine subcommands of uhdlens-cli (scripts depend on them): make-tiny, ask (--json
# fields), encode --dump (tensor names), exit codes 2 (bad usage) and 1 (bad model folder, with a message).
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
set(IMG ${DATA}/images/vga.png)

# make-tiny: the model folder with its files; llava-uhd also a vision folder.
run_cli(out rc err make-tiny --family minicpmv --out ${WORK}/tiny --seed 3)
expect("rc EQUAL 0" "make-tiny exited ${rc}: ${err}")
foreach(f config.json model.safetensors tokenizer.model uhdlens.json)
  expect("EXISTS ${WORK}/tiny/${f}" "make-tiny did not write ${f}")
endforeach()
file(READ ${WORK}/tiny/config.json cfg)
string(JSON scale_emb GET "${cfg}" scale_emb)
expect("NOT scale_emb STREQUAL \"\"" "minicpmv config lacks scale_emb: ${cfg}")
run_cli(out rc err make-tiny --family llava-uhd --out ${WORK}/tiny-llava)
expect("rc EQUAL 0 AND EXISTS ${WORK}/tiny-llava/vision/model.safetensors AND EXISTS ${WORK}/tiny-llava/vision/config.json"
       "llava-uhd make-tiny should write a vision folder: ${err}")
# Same seed, same bytes.
run_cli(out rc err make-tiny --family minicpmv --out ${WORK}/tiny2 --seed 3)
file(SHA256 ${WORK}/tiny/model.safetensors h1)
file(SHA256 ${WORK}/tiny2/model.safetensors h2)
expect("h1 STREQUAL h2" "make-tiny is not deterministic")

# ask --json: one object with the answer, the plan, token counts and timings.
run_cli(out rc err ask --model ${WORK}/tiny --image ${IMG} --max-new-tokens 5 --temperature 0.7 --seed 4 --json "What is this?")
expect("rc EQUAL 0" "ask --json exited ${rc}: ${err}")
message(STATUS "ask --json: ${out}")
string(JSON answer GET "${out}" answer)
string(JSON tokens_gen GET "${out}" tokens generated)
string(JSON tokens_prompt GET "${out}" tokens prompt)
string(JSON tokens_image GET "${out}" tokens image)
string(JSON vt GET "${out}" plan visual_tokens)
string(JSON ns LENGTH "${out}" plan slices)
string(JSON nenc LENGTH "${out}" timings slice_encode_ms)
string(JSON load_ms GET "${out}" timings load_ms)
string(JSON prefill GET "${out}" timings prefill_tokens_per_s)
string(JSON decode GET "${out}" timings decode_tokens_per_s)
string(JSON stop GET "${out}" stop_reason)
# Where each setting came from (model_folder.cpp): make-tiny writes only config.json and tokenizer.model.
string(JSON nsources LENGTH "${out}" model settings_from)
string(JSON src0 GET "${out}" model settings_from 0 setting)
string(JSON from0 GET "${out}" model settings_from 0 source)
expect("nsources GREATER 3 AND src0 STREQUAL \"slice.scale\"" "settings_from missing or out of order")
expect("from0 MATCHES \"^(config.json|default)$\"" "slice.scale comes from '${from0}'")
math(EXPR images "${ns} + 1")
expect("tokens_gen GREATER 0 AND tokens_gen LESS_EQUAL 5" "generated tokens wrong")
expect("tokens_image EQUAL vt AND tokens_prompt GREATER vt" "token counts wrong")
expect("nenc EQUAL images" "one encode time per encoded image expected")
expect("load_ms GREATER 0 AND prefill GREATER 0" "timings missing")
expect("stop MATCHES \"^(eos|max-tokens|stop-string)$\"" "stop reason wrong")
# Same seed, same answer; the streamed (non-JSON) answer is the same text.
run_cli(out2 rc err ask --model ${WORK}/tiny --image ${IMG} --max-new-tokens 5 --temperature 0.7 --seed 4 --json "What is this?")
string(JSON answer2 GET "${out2}" answer)
# (Plain if(): random-model answers may hold quotes or brackets that expect()'s EVAL cannot carry.)
if(NOT answer STREQUAL answer2)
  message(FATAL_ERROR "same seed gave different answers")
endif()
run_cli(out rc err ask --model ${WORK}/tiny --image ${IMG} --max-new-tokens 5 --temperature 0.7 --seed 4 "What is this?")
expect("rc EQUAL 0" "streaming ask exited ${rc}: ${err}")
string(REGEX REPLACE "\n$" "" out "${out}")
if(NOT out STREQUAL answer)
  message(FATAL_ERROR "the streamed answer differs from the JSON answer")
endif()
# --vision, --policy, --max-slices
run_cli(out rc err ask --model ${WORK}/tiny-llava --vision ${WORK}/tiny-llava/vision --image ${IMG} --max-new-tokens 2 --policy llava-uhd --max-slices 2 --json "Hi")
expect("rc EQUAL 0" "ask --vision exited ${rc}: ${err}")
message(STATUS "ask --vision --json: ${out}")
string(JSON ns LENGTH "${out}" plan slices)
string(JSON pol GET "${out}" plan policy)
expect("ns LESS_EQUAL 2 AND pol STREQUAL \"llava-uhd\"" "--policy/--max-slices ignored")

# encode --dump: named intermediates.
run_cli(out rc err encode --model ${WORK}/tiny --image ${IMG} --dump ${WORK}/dump.safetensors)
expect("rc EQUAL 0 AND EXISTS ${WORK}/dump.safetensors" "encode exited ${rc}: ${err}")
foreach(name "image0.pixels \\[1,3," "image0.tokens \\[64," "image1.pixels" "prompt.embeds \\[")
  if(NOT out MATCHES "${name}")
    message(FATAL_ERROR "encode output lacks ${name}:\n${out}")
  endif()
endforeach()

# Bad usage: exit 2.
foreach(bad
    "ask;--model;${WORK}/tiny;What?"
    "ask;--model;${WORK}/tiny;--image;${IMG}"
    "ask;--model;${WORK}/tiny;--image;${IMG};--temperature;9;q"
    "ask;--model;${WORK}/tiny;--image;${IMG};--max-new-tokens;x;q"
    "ask;--model;${WORK}/tiny;--image;${IMG};--device;tpu;q"
    "ask;--model;${WORK}/tiny;--image;${IMG};--policy;bogus;q"
    "ask;--model;${WORK}/tiny;--image;${IMG};--bogus-option;q"
    "encode;--model;${WORK}/tiny;--image;${IMG}"
    "make-tiny;--family;gpt2;--out;${WORK}/x"
    "make-tiny;--family;minicpmv")
  run_cli(out rc err ${bad})
  expect("rc EQUAL 2" "bad usage '${bad}' should exit 2, got ${rc}: ${err}")
endforeach()

# Bad model folder / image: exit 1 with a message.
run_cli(out rc err ask --model ${WORK}/missing-model --image ${IMG} "q")
expect("rc EQUAL 1 AND err MATCHES \"not found\"" "missing model folder: rc ${rc}, ${err}")
file(MAKE_DIRECTORY ${WORK}/gpt2)
file(WRITE ${WORK}/gpt2/config.json "{\"model_type\": \"gpt2\"}")
run_cli(out rc err ask --model ${WORK}/gpt2 --image ${IMG} "q")
expect("rc EQUAL 1 AND err MATCHES \"gpt2\"" "unknown family: rc ${rc}, ${err}")
run_cli(out rc err ask --model ${WORK}/tiny --image ${DATA}/images/not-an-image.png "q")
expect("rc EQUAL 1 AND err MATCHES \"not an image\"" "bad image: rc ${rc}, ${err}")
run_cli(out rc err ask --model ${WORK}/tiny --image ${IMG} --device cuda "q")
expect("rc EQUAL 0 OR (rc EQUAL 1 AND err MATCHES \"cuda\")" "cuda on a CPU-only build should fail clearly: rc ${rc}, ${err}")

# Without --model, ask uses the bundled default model; while it is not built (issue 5), a clear error (exit 1).
get_filename_component(RESOURCES ${DATA}/../../resources ABSOLUTE)
run_cli(out rc err ask --image ${IMG} --max-new-tokens 2 "What?")
if(EXISTS ${RESOURCES}/models/uhd-lens-tiny/config.json)
  expect("rc EQUAL 0" "ask with the bundled default model exited ${rc}: ${err}")
else()
  expect("rc EQUAL 1 AND err MATCHES \"default model\"" "ask without --model and no default model: rc ${rc}, ${err}")
endif()
