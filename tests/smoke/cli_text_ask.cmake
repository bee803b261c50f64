# A text question to one language-model GGUF file through the CLI (`ask` without --image: uhdlens/text_model.h), on
# the SmolLM2-shaped fixture (tests/data/reference/smollm-gguf): --prompt and the positional question give the same
# answer, --json names the model as a text model with its chat template and tensor types, the prompt has the
# reference's length; vision-only options without --image are usage errors, an mmproj file is refused by name.
set(GGUF ${DATA}/reference/smollm-gguf)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

run_cli(out rc err ask --model ${GGUF}/smollm-q4_1.gguf --prompt "What is the capital of France?" --dtype f32
        --max-new-tokens 6 --json)
expect("rc EQUAL 0" "ask --json on a text model exited ${rc}: ${err}")
# A text model, llama; reference.json: the one-turn prompt of SmolLM2's chat template is 62 ids under the fixture's
# vocabulary; 6 tokens asked for.
set(got "")
foreach(path "model;kind" "model;architecture" "tokens;prompt" "tokens;generated")
  string(JSON value GET "${out}" ${path})
  list(APPEND got "${value}")
endforeach()
if(NOT got STREQUAL "text;llama;62;6")
  message(FATAL_ERROR "model kind, architecture, prompt and generated tokens: ${got} in ${out}")
endif()
if(NOT out MATCHES "Q4_1 x14" OR NOT out MATCHES "SmolLM, trained by Hugging Face")
  message(FATAL_ERROR "the --json model block lacks the tensor types or the template's system message: ${out}")
endif()
string(JSON answer GET "${out}" answer)

run_cli(streamed rc err ask --model ${GGUF}/smollm-q4_1.gguf --dtype f32 --max-new-tokens 6
        "What is the capital of France?")
expect("rc EQUAL 0" "streaming ask exited ${rc}: ${err}")
# (Plain if(): random-model answers may hold characters that expect()'s EVAL cannot carry.)
if(NOT streamed STREQUAL "${answer}\n")
  message(FATAL_ERROR "streamed '${streamed}', --json answered '${answer}'")
endif()

# Bad usage: exit 2.
foreach(bad
    "ask;--model;${GGUF}/smollm-f32.gguf"
    "ask;--model;${GGUF}/smollm-f32.gguf;--prompt;a;b"
    "ask;--model;${GGUF}/smollm-f32.gguf;--mmproj;${GGUF}/smollm-f16.gguf;q"
    "ask;--model;${GGUF}/smollm-f32.gguf;--max-slices;2;q"
    "ask;--model;${GGUF};q")
  run_cli(out rc err ${bad})
  expect("rc EQUAL 2" "bad usage '${bad}' should exit 2, got ${rc}: ${err}")
endforeach()

# Bad files: exit 1 naming the problem.
run_cli(out rc err ask --model ${DATA}/reference/minicpmv26-gguf/mmproj-f16.gguf "q")
expect("rc EQUAL 1 AND err MATCHES \"mmproj\"" "an mmproj file as a text model: rc ${rc}, ${err}")
run_cli(out rc err ask --model ${DATA}/images/vga.png "q")
expect("rc EQUAL 1 AND err MATCHES \"GGUF\"" "a PNG as a text model: rc ${rc}, ${err}")
