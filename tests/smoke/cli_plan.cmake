# Contract test of `uhdlens-cli plan` (scripts depend on its output): JSON lines in input order, exit codes
# 0 / 1 (a bad file among good ones still prints the others) / 2 (bad usage), readable table without --json.
set(CLI_SUBCOMMAND plan)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

# Sizes and files mixed, order kept.
run_cli(out rc err --json --size 1920x1080 ${DATA}/images/vga.png --size 1024x1024)
expect("rc EQUAL 0" "plan --json exited ${rc}: ${err}")
string(REGEX REPLACE "\n$" "" out "${out}")
string(REPLACE "\n" ";" lines "${out}")
list(LENGTH lines n)
expect("n EQUAL 3" "expected 3 JSON lines, got ${n}: ${out}")
list(GET lines 0 l0)
list(GET lines 1 l1)
list(GET lines 2 l2)
string(JSON w GET "${l0}" width)
string(JSON g0 GET "${l0}" grid 0)
string(JSON g1 GET "${l0}" grid 1)
string(JSON tok GET "${l0}" visual_tokens)
string(JSON sw GET "${l0}" slice width)
string(JSON ns LENGTH "${l0}" slices)
# 9 x (64 + <image></image>) + <slice></slice> + the "\n" between the two rows, which MiniCPM-V's tokenizer spells
# "▁" "<0x0A>": 598 (the planner's own count said 597 before the count came from the prompt layout).
expect("w EQUAL 1920 AND g0 EQUAL 4 AND g1 EQUAL 2 AND sw EQUAL 420 AND ns EQUAL 8 AND tok EQUAL 598"
       "1920x1080 plan wrong: ${l0}")
string(JSON w1 GET "${l1}" width)
string(JSON h1 GET "${l1}" height)
string(JSON ov GET "${l1}" overview width)
expect("w1 EQUAL 640 AND h1 EQUAL 480 AND ov EQUAL 518" "vga.png plan wrong: ${l1}")
string(JSON tg0 GET "${l2}" grid 0)
string(JSON tg1 GET "${l2}" grid 1)
expect("tg0 EQUAL 3 AND tg1 EQUAL 2" "1024x1024 tie case wrong: ${l2}")

# Unsliced plan: grid / refine / slice are JSON null.
run_cli(out rc err --json --size 300x200)
string(JSON gt TYPE "${out}" grid)
string(JSON rt TYPE "${out}" refine)
string(JSON st TYPE "${out}" slice)
expect("gt STREQUAL NULL AND rt STREQUAL NULL AND st STREQUAL NULL" "unsliced plan should have nulls: ${out}")

# Policies and overrides.
run_cli(out rc err --json --policy llava-uhd --size 672x1088)
string(JSON tok GET "${out}" visual_tokens)
expect("tok EQUAL 1014" "llava-uhd 672x1088 should be 1014 tokens: ${out}")
run_cli(out rc err --json --policy llava15 --size 1920x1080)
string(JSON tok GET "${out}" visual_tokens)
expect("tok EQUAL 576" "llava15 should be 576 tokens: ${out}")
run_cli(out rc err --json --max-slices 4 --size 3840x2160)
string(JSON ns LENGTH "${out}" slices)
expect("ns LESS_EQUAL 4" "--max-slices 4 ignored: ${out}")
run_cli(out rc err --json --never-split --size 3840x2160)
string(JSON gt TYPE "${out}" grid)
expect("gt STREQUAL NULL" "--never-split ignored: ${out}")

# One bad file among good ones: the others still print, exit 1, message on stderr.
run_cli(out rc err --json ${DATA}/images/vga.png ${DATA}/images/not-an-image.png ${DATA}/missing.png ${DATA}/images/fhd.png)
expect("rc EQUAL 1" "bad file should give exit 1, got ${rc}")
string(REGEX MATCHALL "\"width\":" hits "${out}")
list(LENGTH hits nh)
expect("nh GREATER_EQUAL 2" "good files should still print: ${out}")
expect("err MATCHES \"not an image\" AND err MATCHES \"not found\"" "stderr should explain: ${err}")

# Bad usage: exit 2.
foreach(bad "--policy;bogus;--size;10x10" "--size;10by10" "--max-slices;zero;--size;10x10" "--patch;0;--size;10x10" "")
  run_cli(out rc err ${bad})
  expect("rc EQUAL 2" "bad usage '${bad}' should exit 2, got ${rc}")
endforeach()
# Impossible sizes are input errors (exit 1), not crashes.
run_cli(out rc err --json --size 0x100 --size 200000x10 --size 10x10)
expect("rc EQUAL 1" "0x100 should exit 1, got ${rc}")
string(JSON w GET "${out}" width)
expect("w EQUAL 10" "the valid size should still print: ${out}")

# Readable table.
run_cli(out rc err --size 1920x1080)
expect("rc EQUAL 0 AND out MATCHES \"4x2\" AND out MATCHES \"420x476\"" "table output wrong: ${out}")
