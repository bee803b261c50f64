# The fuzz targets: one line each. A target <name> has its entry function in entries/<name>.cpp
# (`bool fuzz_<name>(const uint8_t *data, size_t size)`), its seeds in <name>/corpus/, an optional libFuzzer
# dictionary <name>/dict and crash reproducers in <name>/regressions/. SOURCES are the torch-free core files the
# fuzz build compiles for it (tests/fuzz/CMakeLists.txt); the normal build's replay test
# (tests/unit/test_fuzz_regressions.cpp) links uhdlens_core instead and runs every entry on every committed input.
# NEEDS_SPM: the target loads the SentencePiece shim (core/spm), built once in the fuzz build.
#
# A pickle-checkpoint target, once that reader is merged, is one more line here, e.g.
#   uhdlens_fuzz_target(pickle SOURCES core/src/pickle_reader.cpp core/src/errors.cpp)
uhdlens_fuzz_target(safetensors_header SOURCES core/src/safetensors_header.cpp core/src/errors.cpp)
uhdlens_fuzz_target(safetensors_index SOURCES core/src/safetensors_header.cpp core/src/errors.cpp)
uhdlens_fuzz_target(model_folder NEEDS_SPM SOURCES core/src/model_folder.cpp core/src/json_file.cpp core/src/tokenizer.cpp
                    core/src/bpe_tokenizer.cpp core/src/utf8_stream.cpp core/src/errors.cpp)
uhdlens_fuzz_target(image SOURCES core/src/image_io.cpp core/src/errors.cpp)
uhdlens_fuzz_target(batch_resume SOURCES core/src/batch.cpp core/src/errors.cpp)
uhdlens_fuzz_target(plan_json SOURCES core/src/plan_json.cpp core/src/slice_planner.cpp core/src/image_span.cpp
                    core/src/errors.cpp)
uhdlens_fuzz_target(bpe_tokenizer SOURCES core/src/bpe_tokenizer.cpp core/src/utf8_stream.cpp
                    core/src/json_file.cpp core/src/errors.cpp)
uhdlens_fuzz_target(tokenizer NEEDS_SPM SOURCES core/src/tokenizer.cpp core/src/bpe_tokenizer.cpp core/src/utf8_stream.cpp
                    core/src/json_file.cpp core/src/errors.cpp)
uhdlens_fuzz_target(gguf_header SOURCES core/src/gguf/gguf_file.cpp core/src/gguf/gguf_model.cpp core/src/file_map.cpp
                    core/src/bpe_tokenizer.cpp core/src/utf8_stream.cpp core/src/json_file.cpp core/src/errors.cpp)
uhdlens_fuzz_target(onnx_model SOURCES core/src/onnx/onnx_file.cpp core/src/onnx/onnx_dinov2.cpp core/src/file_map.cpp
                    core/src/errors.cpp)
