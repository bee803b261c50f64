# Contract tests of `uhdlens-cli batch` with the bundled tiny model: a folder of good, truncated, huge (8000x300),
# decompression-bomb and non-image files into each output format (records and exit code), Ctrl+C as a real SIGINT
# then --resume for every format, and each bad argument a usage error (exit 2).
# Fixture: tests/data/images/wide-8000x300.png, made with Debian's Pillow:
#   /usr/bin/python3 -c "from PIL import Image, ImageDraw; im = Image.new('RGB', (8000, 300), 'white');
#     d = ImageDraw.Draw(im); [d.text((i + 20, 140), 'panorama %d' % (i // 400), fill='black') for i in range(0, 8000, 400)];
#     im.save('tests/data/images/wide-8000x300.png', optimize=True)"
cmake_minimum_required(VERSION 3.24) # policies NEW: IN_LIST, no dereferencing of quoted if() arguments
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
get_filename_component(MODEL ${DATA}/../../resources/models/uhd-lens-tiny ABSOLUTE)
if(NOT EXISTS ${MODEL}/config.json)
  message(FATAL_ERROR "the bundled model ${MODEL} is missing")
endif()
set(IMAGES ${DATA}/images)

# The input folder. Expected records: 4 answered, 2 errors; notes.png and readme.txt are skipped (no image content).
set(IN ${WORK}/in)
file(MAKE_DIRECTORY ${IN}/sub ${IN}/wide)
file(COPY_FILE ${IMAGES}/vga.png ${IN}/good.png)
file(COPY_FILE ${IMAGES}/intake/truncated.png ${IN}/broken.png)  # PNG cut in the middle of IDAT
file(COPY_FILE ${IMAGES}/intake/huge.png ${IN}/bomb.png)         # IHDR claims 100000x100000
file(COPY_FILE ${IMAGES}/wide-8000x300.png ${IN}/wide/huge.png)
file(COPY_FILE ${IMAGES}/intake/rgb8.png ${IN}/sub/small.png)
file(COPY_FILE ${IMAGES}/intake/rgb.jpg ${IN}/sub/photo.dat)     # a JPEG by content, whatever its name
file(COPY_FILE ${IMAGES}/not-an-image.png ${IN}/notes.png)
file(WRITE ${IN}/readme.txt "not an image\n")
set(GOOD "good.png;wide/huge.png;sub/small.png;sub/photo.dat")
set(BAD "broken.png=image-truncated;bomb.png=image-too-large")

# 1. JSON lines, default model and --transcribe by default: one record per image, exit 1 (two failed). At most 2
# slices per image keeps it fast; the wide image is still sliced.
run_cli(out rc err batch --max-new-tokens 6 --max-slices 2 --out ${WORK}/all.jsonl ${IN})
expect("rc EQUAL 1" "batch with broken images should exit 1, got ${rc}: ${err}")
expect("err MATCHES \"2 non-image files skipped\"" "skipped files not reported: ${err}")
expect("err MATCHES \"6 images, 2 failed\"" "summary wrong: ${err}")
file(STRINGS ${WORK}/all.jsonl lines ENCODING UTF-8)
list(LENGTH lines n)
expect("n EQUAL 6" "expected 6 JSON lines, got ${n}")
set(seen "")
foreach(line IN LISTS lines)
  string(JSON file GET "${line}" file)
  string(JSON status GET "${line}" status)
  string(JSON question GET "${line}" run question)
  expect("question STREQUAL \"Read the text.\"" "--transcribe should ask the uhd-paper family's prompt, asked '${question}'")
  file(RELATIVE_PATH rel ${IN} ${file})
  list(APPEND seen ${rel})
  if(rel IN_LIST GOOD)
    expect("status STREQUAL \"ok\"" "${rel} should succeed: ${line}")
    string(JSON vt GET "${line}" plan visual_tokens)
    string(JSON gen GET "${line}" tokens generated)
    string(JSON enc GET "${line}" timings_ms encode)
    string(JSON total GET "${line}" timings_ms total)
    string(JSON answer GET "${line}" answer)
    expect("vt GREATER 0 AND gen GREATER 0 AND gen LESS_EQUAL 6 AND enc GREATER 0 AND total GREATER_EQUAL enc"
           "${rel}: plan, tokens or timings missing: ${line}")
    if(rel STREQUAL "wide/huge.png")
      string(JSON w GET "${line}" width)
      string(JSON h GET "${line}" height)
      string(JSON slices GET "${line}" plan slices)
      string(JSON cols GET "${line}" plan grid 0)
      expect("w EQUAL 8000 AND h EQUAL 300 AND slices EQUAL 2 AND cols EQUAL 2" "the 8000x300 image: ${line}")
    endif()
  else()
    expect("status STREQUAL \"error\"" "${rel} should fail: ${line}")
    string(JSON code GET "${line}" error code)
    expect("\"${rel}=${code}\" IN_LIST BAD" "${rel}: unexpected error ${code}: ${line}")
  endif()
endforeach()
list(SORT seen)
set(want ${GOOD} broken.png bomb.png)
list(SORT want)
expect("seen STREQUAL want" "records for ${seen}, expected ${want}")

# 2. CSV and Markdown, an explicit --model and --question (overview only, to keep the test fast). Each file is
# checked by --resume reading it back (the resume reader refuses anything that is not a complete file of its
# format): nothing left to do, exit 1 because the file records two failures.
set(opts --model ${MODEL} --question "What is the heading?" --max-new-tokens 6 --max-slices 0)
foreach(ext csv md)
  set(f ${WORK}/all.${ext})
  run_cli(out rc err batch ${opts} --out ${f} ${IN})
  expect("rc EQUAL 1" "${ext}: exit ${rc}: ${err}")
  run_cli(out rc err batch ${opts} --out ${f} --resume ${IN})
  expect("rc EQUAL 1 AND err MATCHES \"0 images to do, 6 already in\" AND err MATCHES \"2 of them failed\""
         "${ext}: resuming a complete file: exit ${rc}: ${err}")
endforeach()
file(READ ${WORK}/all.csv csv)
expect("csv MATCHES \"^file,status,width,height,format,grid,\"" "CSV header missing")
expect("csv MATCHES \"wide/huge.png,ok,8000,300,png,none,0,\"" "CSV record of the wide image (overview only) missing")
string(FIND "${csv}" ",What is the heading?,false,,0,6" pos)
expect("pos GREATER -1" "CSV run_* columns missing or wrong")
expect("csv MATCHES \"broken.png,error,\" AND csv MATCHES \"image-truncated\"" "CSV error record missing")
file(STRINGS ${WORK}/all.md md ENCODING UTF-8)
list(LENGTH md n)
list(GET md 0 comment)
list(GET md 2 header)
expect("n EQUAL 10" "Markdown: settings comment, blank line, header, delimiter and 6 rows expected, got ${n} lines")
expect("comment MATCHES \"^<!-- uhdlens-batch 1 .*What is the heading.* -->$\"" "Markdown settings comment: ${comment}")
string(FIND "${header}" "| file | status | size | grid |" pos)
expect("pos EQUAL 0" "Markdown header: ${header}")

# 3. Ctrl+C: a real SIGINT once the first record is on disk stops the run after the current image (exit 130, a
# message) and leaves a valid file; --resume then does exactly the rest. 6 small images, so the signal lands
# mid-run. `set -m` gives the background job its own process group without SIGINT ignored.
file(MAKE_DIRECTORY ${WORK}/many)
foreach(i RANGE 1 6)
  file(COPY_FILE ${IMAGES}/intake/rgb8.png ${WORK}/many/img${i}.png)
endforeach()
foreach(ext jsonl csv md)
  set(f ${WORK}/int.${ext})
  if(ext STREQUAL "jsonl")
    set(first_record "wc -l < '${f}'")     # one line per record
  elseif(ext STREQUAL "csv")
    set(first_record "grep -c '^/' '${f}'") # records start with the absolute path
  else()
    set(first_record "grep -c '^| /' '${f}'")
  endif()
  execute_process(COMMAND bash -c "
set -m
'${CLI}' batch --model '${MODEL}' --question 'What colour?' --max-new-tokens 24 --out '${f}' '${WORK}/many' 2> '${f}.err' &
pid=$!
for i in $(seq 1 600); do
  n=$(${first_record} 2>/dev/null)
  if [ \"$n\" -ge 1 ] 2>/dev/null; then break; fi
  sleep 0.02
done
kill -INT $pid
wait $pid
echo $?" OUTPUT_VARIABLE rc ERROR_VARIABLE shell_err OUTPUT_STRIP_TRAILING_WHITESPACE)
  file(READ ${f}.err err)
  expect("rc EQUAL 130 AND err MATCHES \"interrupted after [0-9]+ of 6 images\"" "${ext}: SIGINT should end with 130 and a message: rc ${rc}: ${err} ${shell_err}")
  string(REGEX MATCH "interrupted after ([0-9]+) of" m "${err}")
  set(done_before ${CMAKE_MATCH_1})
  expect("done_before GREATER 0 AND done_before LESS 6" "${ext}: ${done_before} records before the interrupt")
  run_cli(out rc err batch --model ${MODEL} --question "What colour?" --max-new-tokens 24 --out ${f} --resume ${WORK}/many)
  math(EXPR rest "6 - ${done_before}")
  expect("rc EQUAL 0 AND err MATCHES \"${rest} images? to do, ${done_before} already in\"" "${ext}: resume: rc ${rc}: ${err}")
  # Now complete: a second resume finds every image recorded exactly once.
  run_cli(out rc err batch --model ${MODEL} --question "What colour?" --max-new-tokens 24 --out ${f} --resume ${WORK}/many)
  expect("rc EQUAL 0 AND err MATCHES \"0 images to do, 6 already in\"" "${ext}: after resume: rc ${rc}: ${err}")
  execute_process(COMMAND bash -c "${first_record}" OUTPUT_VARIABLE count OUTPUT_STRIP_TRAILING_WHITESPACE)
  expect("count EQUAL 6" "${ext}: ${count} records after resume, expected 6 (no duplicates, none lost)")
endforeach()

# 4. Bad usage: exit 2 with a message naming the problem.
file(WRITE ${WORK}/foreign.csv "name,value\r\nx,1\r\n")
set(q --question "What?")
foreach(case
    "no paths|--out;${WORK}/x.jsonl|at least one image"
    "no --out|${IN}|--out FILE is required"
    "unknown format|--out;${WORK}/x.txt;${IN}|name it .jsonl, .csv or .md"
    "both modes|--question;q;--transcribe;--out;${WORK}/x.jsonl;${IN}|exclude each other"
    "missing model|--model;${WORK}/no-such-model;--out;${WORK}/x.jsonl;${IN}|no such folder"
    "bad policy|--policy;bogus;--out;${WORK}/x.jsonl;${IN}|unknown policy"
    "output exists|--out;${WORK}/all.jsonl;${IN}|exists: --resume continues it"
    "resume foreign|--resume;--out;${WORK}/foreign.csv;${IN}|is not a UHD Lens batch CSV file"
    "resume other question|--model;${MODEL};--question;Other?;--resume;--out;${WORK}/all.csv;${IN}|other settings .question"
    "resume and force|--resume;--force;--out;${WORK}/x.jsonl;${IN}|exclude each other")
  string(REPLACE "|" ";" parts "${case}")
  list(GET parts 0 what)
  list(GET parts -1 pattern)
  list(SUBLIST parts 1 -1 args)
  list(REMOVE_AT args -1)
  run_cli(out rc err batch ${args})
  expect("rc EQUAL 2 AND err MATCHES \"${pattern}\"" "${what}: expected exit 2 and '${pattern}', got ${rc}: ${err}")
endforeach()
expect("NOT EXISTS ${WORK}/x.jsonl AND NOT EXISTS ${WORK}/x.txt" "a refused run must not create its output")

# 5. Nothing to do: a folder without images is a failure (exit 1) that says so; a named non-image is a record.
file(MAKE_DIRECTORY ${WORK}/text-only)
file(WRITE ${WORK}/text-only/a.txt "text")
run_cli(out rc err batch --out ${WORK}/none.jsonl ${WORK}/text-only)
expect("rc EQUAL 1 AND err MATCHES \"no image found\"" "no images: rc ${rc}: ${err}")
run_cli(out rc err batch --max-new-tokens 2 --out ${WORK}/named.jsonl ${IN}/notes.png ${IN}/good.png)
file(STRINGS ${WORK}/named.jsonl lines)
list(GET lines 0 first)
string(JSON code GET "${first}" error code)
expect("rc EQUAL 1 AND code STREQUAL \"not-an-image\"" "a named non-image should be an error record: rc ${rc}: ${first}")
