#!/bin/sh
# Builds tests/data/tokenizer/: a small SentencePiece BPE model trained with Debian's reference `spm_train` on the
# bundled corpus (same flags as uhdlens::Tokenizer::train, which mirror Llama's tokenizer.model), and golden ids
# from the reference `spm_encode` for golden-input.txt, so our dlopen'ed tokenizer is checked against the
# upstream command-line tools. Needs the `sentencepiece` package. Rerun after changing the corpus or inputs.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/tests/data/tokenizer
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
spm_train --input="$root/resources/text/tiny-corpus.txt" --model_prefix="$tmp/m" --model_type=bpe \
  --vocab_size=1000 --byte_fallback=true --split_digits=true --normalization_rule_name=identity \
  --remove_extra_whitespaces=false --add_dummy_prefix=true --allow_whitespace_only_pieces=true \
  --character_coverage=0.9995 --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 \
  --user_defined_symbols='<image>,</image>,<slice>,</slice>' --num_threads=1 --minloglevel=2 >/dev/null 2>&1
cp "$tmp/m.model" "$out/tokenizer.model"
spm_encode --model="$out/tokenizer.model" --output_format=id <"$out/golden-input.txt" >"$out/golden-ids.txt"
echo "wrote $out/tokenizer.model ($(wc -c <"$out/tokenizer.model") bytes) and golden-ids.txt ($(wc -l <"$out/golden-ids.txt") lines)"
