# Smoke test of `uhdlens-cli preprocess IMAGE --out DIR`: the overview and every slice are written as PNG at the
# plan's model input sizes with the documented names; bad inputs exit 1 (input/output failures) or 2 (usage)
# with a message on stderr.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

# 1920x1080 under minicpmv: overview 602x336, grid 4 cols x 2 rows of 420x476 (spec §1.2 step 8).
run_cli(out rc err preprocess ${DATA}/images/fhd.png --out ${WORK}/fhd)
expect("rc EQUAL 0" "preprocess fhd.png exited ${rc}: ${err}")
expect("out MATCHES \"overview.png 602x336\"" "overview line missing: ${out}")
file(GLOB written RELATIVE ${WORK}/fhd ${WORK}/fhd/*.png)
list(SORT written)
set(expected overview.png)
foreach(r 0 1)
  foreach(c 0 1 2 3)
    list(APPEND expected slice-r${r}-c${c}.png)
  endforeach()
endforeach()
list(SORT expected)
expect("\"${written}\" STREQUAL \"${expected}\"" "wrong files: ${written} (expected ${expected})")
# The written PNGs have the model input sizes (IHDR width/height, bytes 16..23).
file(READ ${WORK}/fhd/slice-r1-c3.png ihdr OFFSET 16 LIMIT 8 HEX)
expect("ihdr STREQUAL \"000001a4000001dc\"" "slice-r1-c3.png is not 420x476: ${ihdr}")
file(READ ${WORK}/fhd/overview.png ihdr OFFSET 16 LIMIT 8 HEX)
expect("ihdr STREQUAL \"0000025a00000150\"" "overview.png is not 602x336: ${ihdr}")

# llava15: one 336x336 padded view, no slices; --max-slices and --never-split are honoured.
run_cli(out rc err preprocess ${DATA}/images/fhd.png --out ${WORK}/l15 --policy llava15)
expect("rc EQUAL 0" "llava15 exited ${rc}: ${err}")
file(GLOB written ${WORK}/l15/*.png)
list(LENGTH written n)
expect("n EQUAL 1 AND out MATCHES \"336x336\"" "llava15 should write one 336x336 overview: ${out}")
run_cli(out rc err preprocess ${DATA}/images/fhd.png --out ${WORK}/max2 --max-slices 2)
file(GLOB written ${WORK}/max2/slice-*.png)
list(LENGTH written n)
expect("rc EQUAL 0 AND n LESS_EQUAL 2 AND n GREATER 0" "--max-slices 2 gave ${n} slices: ${out} ${err}")
run_cli(out rc err preprocess ${DATA}/images/fhd.png --out ${WORK}/never --never-split)
file(GLOB written ${WORK}/never/slice-*.png)
list(LENGTH written n)
expect("rc EQUAL 0 AND n EQUAL 0" "--never-split wrote slices: ${out}")

# Bad inputs: exit 1 with a message.
run_cli(out rc err preprocess ${DATA}/images/missing.png --out ${WORK}/missing)
expect("rc EQUAL 1 AND err MATCHES \"not found\"" "missing image: rc ${rc}, stderr ${err}")
run_cli(out rc err preprocess ${DATA}/images/not-an-image.png --out ${WORK}/text)
expect("rc EQUAL 1 AND err MATCHES \"not an image\"" "text file: rc ${rc}, stderr ${err}")
run_cli(out rc err preprocess ${DATA}/images/intake/truncated.jpg --out ${WORK}/trunc)
expect("rc EQUAL 1 AND err MATCHES \"truncated\"" "truncated jpeg: rc ${rc}, stderr ${err}")
# Unwritable output: a path under a regular file cannot be created (holds even when the tests run as root,
# where permission bits would not stop a write).
file(WRITE ${WORK}/a-file "x")
run_cli(out rc err preprocess ${DATA}/images/fhd.png --out ${WORK}/a-file/sub)
expect("rc EQUAL 1 AND err MATCHES \"cannot create\"" "unwritable out dir: rc ${rc}, stderr ${err}")
run_cli(out rc err preprocess ${DATA}/images/fhd.png --out ${WORK}/a-file)
expect("rc EQUAL 1 AND err MATCHES \"not a folder\"" "out is a file: rc ${rc}, stderr ${err}")

# Bad usage: exit 2.
foreach(bad "${DATA}/images/fhd.png" "--out;${WORK}/x" "${DATA}/images/fhd.png;--out;${WORK}/x;--policy;bogus"
            "${DATA}/images/fhd.png;--out;${WORK}/x;--max-slices;many" "a.png;b.png;--out;${WORK}/x")
  run_cli(out rc err preprocess ${bad})
  expect("rc EQUAL 2" "bad usage '${bad}' should exit 2, got ${rc}: ${err}")
endforeach()
