# Contract test of `uhdlens-cli gguf-info`: the architecture, hyper-parameters, tensor count, type histogram and
# tokenizer of llama.cpp-converted files (tests/data/reference/gguf, tools/reference/gguf_fixture.py), the
# problems of a file UHD Lens cannot use, exit 1 + message for a missing or malformed file, exit 2 for bad usage.
set(CLI_SUBCOMMAND gguf-info)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

set(G ${DATA}/reference/gguf)

run_cli(out rc err ${G}/qwen2-bf16.gguf)
expect("rc EQUAL 0" "gguf-info qwen2 exited ${rc}: ${err}")
foreach(want "architecture:  qwen2" "(llm)" "num_key_value_heads +2" "vocab_size +512" "tensors: +39"
             "rms_norm_eps +1e-06" "BF16 +23 tensors" "F32 +16 tensors" "tokenizer: +gpt2, pre qwen2, 512 tokens")
  expect("out MATCHES \"${want}\"" "qwen2: output lacks '${want}':\n${out}")
endforeach()
expect("NOT out MATCHES \"problem:\"" "qwen2: unexpected problem:\n${out}")

run_cli(out rc err --json ${G}/llama-f32.gguf)
expect("rc EQUAL 0" "gguf-info --json llama exited ${rc}: ${err}")
string(JSON arch GET "${out}" architecture)
string(JSON tied GET "${out}" hparams tie_word_embeddings)
string(JSON ntypes LENGTH "${out}" types)
string(JSON t0 GET "${out}" types 0 type)
expect("arch STREQUAL \"llama\" AND tied STREQUAL \"true\" AND ntypes EQUAL 1 AND t0 STREQUAL \"F32\""
       "llama json: arch ${arch}, tied ${tied}, ${ntypes} types (${t0}):\n${out}")

run_cli(out rc err ${G}/mmproj-minicpmv.gguf)
expect("rc EQUAL 0 AND out MATCHES \"\\\\(mmproj\\\\)\" AND out MATCHES \"query_num +16\"" "mmproj: ${rc}\n${out}${err}")

# A valid GGUF file UHD Lens cannot run: no tokenizer, an I32 tensor, architecture 'test'.
run_cli(out rc err ${G}/metadata-all.gguf)
expect("rc EQUAL 0" "metadata-all exited ${rc}: ${err}")
expect("out MATCHES \"I32 .*not supported\" AND out MATCHES \"problem: +tensor type I32\""
       "metadata-all: the I32 tensor should be flagged:\n${out}")

# Not readable / not GGUF: exit 1 naming the file.
run_cli(out rc err ${WORK}/no-such.gguf)
expect("rc EQUAL 1 AND err MATCHES \"no-such.gguf\"" "missing file: ${rc} ${err}")
run_cli(out rc err ${G}/manifest.json)
expect("rc EQUAL 1 AND err MATCHES \"not a GGUF file\"" "JSON file as GGUF: ${rc} ${err}")

# Bad usage: exit 2.
run_cli(out rc err)
expect("rc EQUAL 2" "no arguments should exit 2, got ${rc}")
run_cli(out rc err ${G}/qwen2-bf16.gguf ${G}/qwen3-f16.gguf)
expect("rc EQUAL 2" "two files should exit 2, got ${rc}")
