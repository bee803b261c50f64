# Smoke test of the training pipeline: `uhdlens-train --preset micro` trains a micro uhd-paper model from scratch
# for a few dozen steps and the loss must fall; the folder it writes must load and answer through
# `uhdlens-cli eval` (the engine's own inference path); bad options are refused with exit code 2.
# Variables: TRAIN, CLI (executables), WORK (scratch folder).
macro(expect cond msg)
  set(_expect_msg "${msg}")
  cmake_language(EVAL CODE "if(NOT (${cond}))\n message(FATAL_ERROR \"\${_expect_msg}\")\nendif()")
endmacro()

file(REMOVE_RECURSE ${WORK})
set(model ${WORK}/micro)

# Bad options: usage errors, nothing written.
execute_process(COMMAND ${TRAIN} --out ${model} --steps 0 RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
expect("rc EQUAL 2" "--steps 0 should be a usage error (2), got ${rc}: ${err}")
execute_process(COMMAND ${TRAIN} --out ${model} --policy squeeze RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
expect("rc EQUAL 2" "unknown policy should be a usage error (2), got ${rc}: ${err}")
execute_process(COMMAND ${TRAIN} --out ${model} --families window,spreadsheet RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
expect("rc EQUAL 2" "unknown family should be a usage error (2), got ${rc}: ${err}")
string(FIND "${err}" "spreadsheet" named)
expect("named GREATER -1" "the error should name the unknown family: ${err}")
execute_process(COMMAND ${TRAIN} --out ${model} --resampler local RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
expect("rc EQUAL 2" "an unknown --resampler should be a usage error (2), got ${rc}: ${err}")
execute_process(COMMAND ${TRAIN} --out ${model} --region-loss -1 RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
expect("rc EQUAL 2" "a negative --region-loss should be a usage error (2), got ${rc}: ${err}")
execute_process(COMMAND ${TRAIN} --out ${model} --region-loss lots RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
expect("rc EQUAL 2" "a non-numeric --region-loss should be a usage error (2), got ${rc}: ${err}")
execute_process(COMMAND ${TRAIN} --out ${model} --token-loss -2 RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
expect("rc EQUAL 2" "a negative --token-loss should be a usage error (2), got ${rc}: ${err}")
execute_process(COMMAND ${TRAIN} --out ${model} --token-loss nan RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
expect("rc EQUAL 2" "a NaN --token-loss should be a usage error (2), got ${rc}: ${err}")
execute_process(COMMAND ${TRAIN} --out ${model} --look-loss -1 RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
expect("rc EQUAL 2" "a negative --look-loss should be a usage error (2), got ${rc}: ${err}")
execute_process(COMMAND ${TRAIN} --out ${model} --look-head first RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
expect("rc EQUAL 2" "a non-numeric --look-head should be a usage error (2), got ${rc}: ${err}")
# The decoder's head count comes from the config: a look head past it is refused then, before writing.
execute_process(COMMAND ${TRAIN} --out ${model} --preset micro --look-loss 1 --look-head 40
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
expect("rc EQUAL 1" "a look head past the decoder's heads should fail (1), got ${rc}: ${err}")
string(FIND "${err}" "look head" named)
expect("named GREATER -1" "the error should name the look head: ${err}")
expect("NOT EXISTS ${model}" "a refused look head must not write ${model}")
execute_process(COMMAND ${TRAIN} --out ${model} --glyph-loss -0.5 RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
expect("rc EQUAL 2" "a negative --glyph-loss should be a usage error (2), got ${rc}: ${err}")
string(FIND "${err}" "glyph" named)
expect("named GREATER -1" "the error should name the glyph loss: ${err}")
execute_process(COMMAND ${TRAIN} --out ${model} --glyph-loss nan RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
expect("rc EQUAL 2" "a NaN --glyph-loss should be a usage error (2), got ${rc}: ${err}")
execute_process(COMMAND ${TRAIN} --out ${model} --patch-embed pixels RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
expect("rc EQUAL 2" "an unknown --patch-embed should be a usage error (2), got ${rc}: ${err}")
execute_process(COMMAND ${TRAIN} --out ${model} --encoder-warmup -3 RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
expect("rc EQUAL 2" "a negative --encoder-warmup should be a usage error (2), got ${rc}: ${err}")
execute_process(COMMAND ${TRAIN} --out ${model} --encoder-warmup-batch many RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
expect("rc EQUAL 2" "a non-numeric --encoder-warmup-batch should be a usage error (2), got ${rc}: ${err}")
# A crop off the model's patch grid is known only once the config is read: refused then, before writing.
execute_process(COMMAND ${TRAIN} --out ${model} --preset micro --encoder-warmup 5 --encoder-warmup-crop 100
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
expect("rc EQUAL 1" "a warm-up crop off the patch grid should fail (1), got ${rc}: ${err}")
string(FIND "${err}" "warm-up crop" named)
expect("named GREATER -1" "the error should name the warm-up crop: ${err}")
expect("NOT EXISTS ${model}" "a refused warm-up crop must not write ${model}")
# The second stage's options: refused before anything is written, each naming what is wrong.
foreach(case "--then-steps;-5;then-steps" "--then-max-side;900;then-max-side" "--then-steps;many;then-steps"
             "--steps;20;--then-steps;10;must be more than" "--steps;10;--then-steps;30;--then-max-side;50;second stage")
  list(POP_BACK case want)
  execute_process(COMMAND ${TRAIN} --out ${model} --preset micro ${case} RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
  expect("rc EQUAL 2" "${case} should be a usage error (2), got ${rc}: ${err}")
  string(FIND "${err}" "${want}" named)
  expect("named GREATER -1" "the error for ${case} should say '${want}': ${err}")
endforeach()
expect("NOT EXISTS ${model}" "a refused second stage must not write ${model}")
execute_process(COMMAND ${TRAIN} --steps 10 RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
expect("rc EQUAL 2" "missing --out should be a usage error (2), got ${rc}: ${err}")
expect("NOT EXISTS ${model}" "a refused run must not write ${model}")

# Micro training run: the loss must fall by a clear margin (chance level is ln(vocab) ~ 6).
# With the spatial resampler, the convolutional stem, the region reading loss and the glyph loss, so every
# training path runs end to end (and the eval below loads a stem model).
# Two stages in one command: 50 steps on images up to 400 px, then on to step 60 with images up to 500 px.
execute_process(COMMAND ${TRAIN} --out ${model} --preset micro --steps 50 --batch 4 --warmup 5 --lr 3e-3
                        --max-side 400 --log-every 10 --checkpoint-every 30 --threads 2
                        --then-steps 60 --then-max-side 500
                        --resampler spatial --region-loss 1 --token-loss 1 --look-loss 1 --glyph-loss 1 --patch-embed conv
                        --encoder-warmup 20 --encoder-warmup-batch 4 --encoder-warmup-crop 56
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "${out}")
expect("rc EQUAL 0" "uhdlens-train exited ${rc}: ${err}")
foreach(f config.json model.safetensors tokenizer.model uhdlens.json training_log.json checkpoint/optimizer.safetensors)
  expect("EXISTS ${model}/${f}" "uhdlens-train did not write ${f}")
endforeach()
file(READ ${model}/training_log.json log)
string(JSON first GET "${log}" first_loss)
string(JSON last GET "${log}" last_loss)
string(JSON steps GET "${log}" steps)
expect("steps EQUAL 60" "expected 60 steps, log says ${steps}")
string(FIND "${err}" "second stage: to step 60, images up to 500 px" secondAt)
expect("secondAt GREATER -1" "no second stage announced: ${err}")
string(JSON maxSide GET "${log}" options max_side)
expect("maxSide EQUAL 500" "the second stage's options should be recorded (max_side ${maxSide})")
string(JSON nStages LENGTH "${log}" earlier_stages)
string(JSON firstMaxSide GET "${log}" earlier_stages 0 max_side)
string(JSON firstUntil GET "${log}" earlier_stages 0 until_step)
expect("nStages EQUAL 1 AND firstMaxSide EQUAL 400 AND firstUntil EQUAL 50"
       "earlier_stages should record the first stage (400 px, until step 50): ${log}")
string(REGEX REPLACE "^([0-9]+)\\.([0-9][0-9]).*" "\\1\\2" first100 "${first}")
string(REGEX REPLACE "^([0-9]+)\\.([0-9][0-9]).*" "\\1\\2" last100 "${last}")
math(EXPR limit "${first100} * 7 / 10")
expect("last100 LESS limit" "loss did not fall by 30%: first ${first}, last ${last}")
# Every auxiliary loss asked for is computed and printed (never stuck at zero).
foreach(aux region token look)
  string(REGEX MATCH "${aux} [0-9]+\\.[0-9]+" found "${out}")
  expect("NOT found STREQUAL \"\"" "no ${aux} loss in the progress line: ${out}")
  string(REGEX MATCH "${aux} 0\\.0000" zero "${out}")
  expect("zero STREQUAL \"\"" "the ${aux} loss was never computed: ${out}")
endforeach()
string(REGEX MATCH "look [0-9]+\\.[0-9]+ \\([0-9.]+%\\)" look "${out}")
expect("NOT look STREQUAL \"\"" "no look head attention mass in the progress line: ${out}")
string(JSON tokenWeight GET "${log}" options token_loss_weight)
expect("tokenWeight EQUAL 1" "training_log.json options say token_loss_weight ${tokenWeight}")
string(REGEX MATCH "glyph [0-9]+\\.[0-9]+ \\([0-9.]+%, large [0-9.]+%\\)" glyph "${out}")
expect("NOT glyph STREQUAL \"\"" "no glyph loss and accuracy in the progress line: ${out}")
string(REGEX MATCH "glyph 0\\.0000" glyphZero "${out}")
expect("glyphZero STREQUAL \"\"" "the glyph loss was never computed: ${out}")
# The glyph head is training state: in the checkpoint, never in the shipped weights.
# (file(STRINGS) reads the text runs of a binary file: the JSON header is one.)
file(STRINGS ${model}/checkpoint/model.safetensors ckHeader LIMIT_INPUT 65536 REGEX "glyph_head")
string(FIND "${ckHeader}" "train_only.glyph_head.weight" inCheckpoint)
expect("inCheckpoint GREATER -1" "the checkpoint lacks the glyph head")
file(STRINGS ${model}/model.safetensors modelHeader LIMIT_INPUT 65536 REGEX "vision")
string(FIND "${modelHeader}" "vision.blocks" hasHeader)
expect("hasHeader GREATER -1" "could not read the header of model.safetensors")
string(FIND "${modelHeader}" "train_only" inModel)
expect("inModel EQUAL -1" "model.safetensors holds training-only tensors")
file(READ ${model}/config.json cfgText)
string(JSON attention GET "${cfgText}" resampler_attention)
expect("attention STREQUAL \"spatial\"" "config.json says resampler_attention ${attention}")
string(JSON patchEmbed GET "${cfgText}" vision_config patch_embed)
expect("patchEmbed STREQUAL \"conv\"" "config.json says vision_config.patch_embed ${patchEmbed}")
# The encoder warm-up ran first, with its own progress lines, and is recorded in the log.
string(REGEX MATCH "encoder warm-up +20/20  glyph [0-9]+\\.[0-9]+ \\([0-9.]+%, large [0-9.]+%\\)" warm "${out}")
expect("NOT warm STREQUAL \"\"" "no encoder warm-up progress line: ${out}")
# With the token naming loss on, the warm-up trains the visual tokens to name their boxes too.
string(REGEX MATCH "encoder warm-up +20/20  glyph [^\n]*  token ([0-9]+\\.[0-9]+) \\([0-9.]+%\\)" warmToken "${out}")
expect("NOT warmToken STREQUAL \"\"" "no token naming loss in the warm-up line: ${out}")
expect("NOT CMAKE_MATCH_1 STREQUAL \"0.0000\"" "the warm-up never computed the token naming loss: ${out}")
string(FIND "${out}" "encoder warm-up" warmAt)
string(FIND "${out}" "step     10/50" stepAt)
expect("warmAt LESS stepAt" "the warm-up did not run before the full recipe: ${out}")
string(JSON warmSeconds GET "${log}" encoder_warmup_seconds)
expect("warmSeconds GREATER 0" "training_log.json lacks encoder_warmup_seconds")
string(JSON stemNorm GET "${cfgText}" vision_config stem_norm)
expect("stemNorm STREQUAL \"group\"" "config.json says vision_config.stem_norm ${stemNorm}")
string(REGEX MATCH "ETA" eta "${out}")
expect("eta STREQUAL \"ETA\"" "no progress line with an ETA: ${out}")

# Resume continues from the checkpoint to a later step.
execute_process(COMMAND ${TRAIN} --out ${model} --preset micro --steps 70 --batch 4 --warmup 5 --lr 3e-3
                        --max-side 400 --log-every 10 --threads 2 --resume --glyph-loss 1
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
expect("rc EQUAL 0" "--resume exited ${rc}: ${err}")
string(REGEX MATCH "step +70/70" resumed "${out}")
expect("NOT resumed STREQUAL \"\"" "resume did not reach step 70: ${out}")
string(REGEX MATCH "step +10/70" restarted "${out}")
expect("restarted STREQUAL \"\"" "resume restarted from step 0: ${out}")
string(FIND "${out}" "encoder warm-up" warmAgain)
expect("warmAgain EQUAL -1" "resume ran the encoder warm-up again: ${out}")

# The folder loads in the engine and answers an evaluation set; the JSON has the documented fields.
execute_process(COMMAND ${CLI} eval --model ${model} --set heldout --count 3 --max-side 400 --json
                        --plot ${WORK}/plot.png
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
expect("rc EQUAL 0" "eval exited ${rc}: ${err}")
string(JSON n GET "${out}" models 0 overall n)
string(JSON tokens GET "${out}" models 0 visual_tokens_per_image)
string(JSON policy GET "${out}" models 0 policy)
expect("n GREATER 0 AND tokens GREATER 0" "eval JSON incomplete: ${out}")
expect("policy STREQUAL \"llava-uhd\"" "trained model should use the llava-uhd policy, got ${policy}")
# Reading questions are also counted by the text's height in the encoder's view, against the legibility limit.
string(JSON legible GET "${out}" models 0 legible_view_pixels)
expect("legible EQUAL 6" "eval JSON: legible_view_pixels ${legible}")
string(JSON shrunk GET "${out}" models 0 reading_text_at_least_10px_below_legible_in_view n)
string(JSON atLeast10 GET "${out}" models 0 reading_text_at_least_10px n)
expect("NOT shrunk GREATER atLeast10" "eval JSON: ${shrunk} shrunk of ${atLeast10} questions with text >= 10 px")
string(JSON viewBuckets LENGTH "${out}" models 0 reading_view_buckets)
expect("viewBuckets GREATER 0" "eval JSON lacks reading_view_buckets: ${out}")
expect("EXISTS ${WORK}/plot.png" "eval --plot wrote nothing")
# Per task, how much the answers vary (a model that ignores the image gives one answer to every image).
string(JSON task MEMBER "${out}" models 0 tasks 0)
string(JSON tn GET "${out}" models 0 tasks ${task} n)
string(JSON dn GET "${out}" models 0 tasks ${task} distinct_answers)
string(JSON en GET "${out}" models 0 tasks ${task} distinct_expected)
string(JSON share GET "${out}" models 0 tasks ${task} most_common_share)
expect("dn GREATER 0 AND NOT dn GREATER tn AND en GREATER 0 AND NOT en GREATER tn"
       "task ${task}: ${dn} distinct answers, ${en} expected, of ${tn} questions")
expect("share GREATER 0 AND NOT share GREATER 1" "task ${task}: most common answer share ${share}")

# eval usage errors.
execute_process(COMMAND ${CLI} eval --model ${model} RESULT_VARIABLE rc ERROR_QUIET OUTPUT_QUIET)
expect("rc EQUAL 2" "eval without --set should exit 2, got ${rc}")
execute_process(COMMAND ${CLI} eval --model ${model} --set train RESULT_VARIABLE rc ERROR_QUIET OUTPUT_QUIET)
expect("rc EQUAL 2" "eval on the training split should exit 2, got ${rc}")
execute_process(COMMAND ${CLI} eval --model ${WORK}/nope --set validation --count 1 RESULT_VARIABLE rc ERROR_QUIET OUTPUT_QUIET)
expect("rc EQUAL 1" "eval of a missing model folder should exit 1, got ${rc}")
