# Contract test of `uhdlens-cli eval` on folder sets (app/cli/eval_set.h): a 2-image set cut from
# tests/data/real-screenshots is scored with the bundled model (JSON fields, per-task and per-text-height tallies,
# with and without --image-text); a missing folder, a question without an answer and bad usage fail before any
# model loads; an image that does not decode is skipped with its reason (exit 1, the rest still scored).
set(CLI_SUBCOMMAND eval)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

file(REMOVE_RECURSE ${WORK})
set(real ${DATA}/real-screenshots)
set(tinyDir ${WORK}/tiny)
file(MAKE_DIRECTORY ${tinyDir})
file(COPY_FILE ${real}/dialog-03-zenity-12px.png ${tinyDir}/dialog.png)
file(COPY_FILE ${real}/term-07-ls-14px.png ${tinyDir}/term.png)
set(questions [=[
{"version": 1, "name": "tiny", "not_shown_answer": "not shown", "images": [
 {"file": "dialog.png", "kind": "dialog", "questions": [
  {"question": "What does the button say?", "answer": "OK", "task": "reading", "text_height": 12},
  {"question": "How long until the battery is empty?", "answer": "not shown", "task": "unanswerable", "text_height": 12}]},
 {"file": "term.png", "kind": "terminal", "questions": [
  {"question": "How many files are listed?", "answer": 6, "task": "counting", "text_height": 14},
  {"question": "What colour is the text in the terminal?", "answer": "black", "task": "colour", "text_height": 21}]}
]}
]=])
file(WRITE ${tinyDir}/questions.json "${questions}")

run_cli(out rc err --set-dir ${tinyDir} --json)
expect("rc EQUAL 0" "eval --set-dir exited ${rc}: ${err}")
string(JSON set GET "${out}" set)
string(JSON count GET "${out}" count)
string(JSON nskipped LENGTH "${out}" skipped)
string(JSON text GET "${out}" image_text)
string(JSON n GET "${out}" models 0 overall n)
string(JSON images GET "${out}" models 0 images)
string(JSON reading GET "${out}" models 0 tasks reading n)
string(JSON unanswerable GET "${out}" models 0 tasks unanswerable n)
string(JSON b1 GET "${out}" models 0 buckets "10-14px" n)
string(JSON b2 GET "${out}" models 0 buckets "14-20px" n)
string(JSON b3 GET "${out}" models 0 buckets ">=20px" n)
string(JSON tokens GET "${out}" models 0 visual_tokens_per_image)
expect("set STREQUAL \"tiny\" AND count EQUAL 2 AND nskipped EQUAL 0 AND text STREQUAL \"OFF\" AND n EQUAL 4
        AND images EQUAL 2 AND reading EQUAL 1 AND unanswerable EQUAL 1 AND b1 EQUAL 2 AND b2 EQUAL 1 AND b3 EQUAL 1
        AND tokens GREATER 0"
       "eval --set-dir JSON: set ${set}, ${count} images, ${nskipped} skipped, image_text ${text}, ${n} questions,
        reading ${reading}, unanswerable ${unanswerable}, buckets ${b1}/${b2}/${b3}, ${tokens} tokens:\n${out}")

# The table form, with the image's text given (Tesseract), names the set, the option and the text height buckets.
run_cli(out rc err --set-dir ${tinyDir} --image-text --count 1)
expect("rc EQUAL 0" "eval --image-text exited ${rc}: ${err}")
foreach(want "set tiny" "with the image's text" "per text height:" "10-14px" "ms text layer" "\\(1 images\\)")
  expect("out MATCHES \"${want}\"" "eval --image-text: output lacks '${want}':\n${out}")
endforeach()

# An image that does not decode: skipped with its reason, the other scored, exit 1.
file(WRITE ${tinyDir}/term.png "not a png")
run_cli(out rc err --set-dir ${tinyDir} --json)
string(JSON skippedFile GET "${out}" skipped 0 file)
string(JSON images GET "${out}" models 0 images)
expect("rc EQUAL 1 AND skippedFile STREQUAL \"term.png\" AND images EQUAL 1 AND err MATCHES \"skipped term.png\""
       "undecodable image: rc ${rc}, skipped '${skippedFile}', ${images} images scored:\n${err}")

# A question without an answer, a missing folder, a folder without questions.json: exit 1 naming the fault.
string(REPLACE "\"answer\": \"OK\", " "" noAnswer "${questions}")
file(MAKE_DIRECTORY ${WORK}/broken)
file(WRITE ${WORK}/broken/questions.json "${noAnswer}")
run_cli(out rc err --set-dir ${WORK}/broken)
string(FIND "${err}" "images[0].questions[0] (dialog.png): no \"answer\"" at)
expect("rc EQUAL 1 AND NOT at EQUAL -1" "question without an answer: ${rc} ${err}")
run_cli(out rc err --set-dir ${WORK}/no-such-set)
expect("rc EQUAL 1 AND err MATCHES \"no evaluation set folder .*no-such-set\"" "missing folder: ${rc} ${err}")
run_cli(out rc err --set-dir ${WORK})
expect("rc EQUAL 1 AND err MATCHES \"has no questions.json\"" "folder without questions.json: ${rc} ${err}")

# Bad usage: exit 2.
run_cli(out rc err --set real --set-dir ${tinyDir})
expect("rc EQUAL 2" "--set with --set-dir: ${rc} ${err}")
run_cli(out rc err)
expect("rc EQUAL 2" "no set: ${rc} ${err}")
run_cli(out rc err --set real --families window)
expect("rc EQUAL 2 AND err MATCHES \"synthetic sets only\"" "--families with the real set: ${rc} ${err}")
run_cli(out rc err --set photos)
expect("rc EQUAL 2 AND err MATCHES \"unknown set 'photos'\"" "unknown set: ${rc} ${err}")
