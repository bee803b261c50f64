#!/usr/bin/python3
"""Parity fixture for the byte-level BPE tokenizer (Qwen2 / Qwen3, MiniCPM-V 2.6 / 4.5), made by Hugging Face
`tokenizers` (pinned in bpe_requirements.txt).

Writes tests/data/tokenizer-bpe/:
  tokenizer.json          a small byte-level BPE trained here with Qwen2's exact normalizer (NFC), pre-tokenizer
                          (Split with Qwen2's regex, behaviour Isolated, then ByteLevel without prefix space or
                          regex), post-processor and decoder; the added tokens are Qwen2's ChatML specials, MiniCPM-V
                          2.6's image tags and Qwen2.5/Qwen3-style non-special added tokens, after the learned vocab
  tokenizer_config.json   transformers' Qwen2Tokenizer config (eos <|im_end|>, pad <|endoftext|>, unk <unk>,
                          added_tokens_decoder), as a Qwen2 folder has it
  legacy/vocab.json, legacy/merges.txt, legacy/added_tokens.json, legacy/tokenizer_config.json
                          the same model in the older slow-tokenizer layout (Qwen2Tokenizer)
  cases.json              >= 200 strings with the ids `tokenizers` gives (encode, add_special_tokens=False),
                          its decode with and without skip_special_tokens, and the token strings

Usage (creates its own venv on first run):
  /usr/bin/python3 tests/tools/reference/bpe_fixture.py [--out DIR]
The venv lives in $XDG_CACHE_HOME/uhdlens-reference/bpe (default ~/.cache/...; reference_env.py beside this file).
Deterministic: the trainer and every generated string come from fixed seeds and fixed text.
"""

import argparse
import json
import random
import sys
from pathlib import Path

import reference_env  # beside this script (sys.path[0])

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
REQUIREMENTS = HERE / "bpe_requirements.txt"
DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "tokenizer-bpe"

# Qwen2's pre-tokenizer regex exactly as Qwen/Qwen2-7B-Instruct's tokenizer.json gives it (Qwen2.5 and Qwen3 use
# the same one).
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                 r"\s*[\r\n]+|\s+(?!\S)|\s+")
# (content, special): Qwen2's three ChatML specials, MiniCPM-V 2.6's image tags and <unk>, and added tokens that
# Qwen2.5 (<tool_call>) and Qwen3 (<think>) mark special=false.
ADDED = [
    ("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True),
    ("<image>", True), ("</image>", True), ("<slice>", True), ("</slice>", True),
    ("<image_id>", True), ("</image_id>", True), ("<unk>", True),
    ("<tool_call>", False), ("</tool_call>", False), ("<think>", False), ("</think>", False),
]
VOCAB_SIZE = 1200


# --- text -------------------------------------------------------------------------------------------------------

TRAIN_TEXT = [
    "The quick brown fox jumps over the lazy dog. It's what we'll do, they're sure, I'm told, you've seen, he'd go.",
    "Images are cut into slices; each slice is encoded by the vision tower and compressed by the resampler.",
    "LLaVA-UHD organises slices with a spatial schema: rows are separated by a newline token.",
    "In 2024, MiniCPM-V 2.6 reached 8 billion parameters; version 4.5 followed in 2025 with 8.7B.",
    "def encode(self, text: str) -> list[int]:\n    return [self.vocab[t] for t in text.split()]\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\n}\r\n",
    "if x == 1 and y != 2: print('ok')  # comment\n\n\n",
    "今天天气很好，我们去公园散步吧。这张图片里有一只猫。",
    "高分辨率图像被切分成多个切片，每个切片由视觉编码器处理。",
    "日本語のテキストも少し含めます。東京は大きな都市です。",
    "한국어 문장도 포함합니다. 서울은 큰 도시입니다.",
    "Русский текст: привет, мир! Это тест токенизатора.",
    "Ελληνικά: γειά σου κόσμε. العربية: مرحبا بالعالم. עברית: שלום עולם.",
    "हिन्दी: नमस्ते दुनिया। ไทย: สวัสดีชาวโลก",
    "Emoji 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇨🇳🇺🇸 ❤️ ✨",
    "Numbers 0123456789 3.14159 1,000,000 ¥100 €20 $5.99 ½ ² ①",
    "   leading spaces and trailing   \t\ttabs\t and\r\nwindows\r\n\r\nlines",
    "<|im_start|>user\nWhat is in the image?<|im_end|>\n<|im_start|>assistant\n",
] * 20


def handwritten_cases():
    s = [
        "", " ", "  ", "\n", "\r\n", "\t", " \t\n", "a", "A", "hello", " hello", "Hello world", "hello  world",
        "hello   world  ", "HELLO WORLD!!!", "It's", "it's", "IT'S", "we'll", "they're", "I'M", "you've", "he'd",
        "don't", "'s'S's", "x's y't z're", "café", "cafe\u0301", "Cafe\u0301 na\u0308ive", "Å", "A\u030a", "ﬁ ligature",
        "中文", "你好，世界！", "这是一个测试。", "图像切片", "混合mixed文本text123", "日本語テキスト", "한국어",
        "Привет мир", "γειά σου", "مرحبا", "שלום", "नमस्ते", "สวัสดี", "Ünïcödé ßtraße",
        "0", "7", "42", "123", "1234567890", "3.14159", "1,000,000", "-17", "+3e-5", "0x1F", "v2.6", "4.5B", "²³½①",
        "٠١٢٣", "１２３", "abc123def", "a1b2c3",
        "def f(x):\n    return x * 2\n", "int main() { return 0; }", "for (i=0;i<n;i++) {\n\ta[i]=0;\n}",
        "x = {'a': [1, 2, 3]}", "#include <stdio.h>", "/* comment */ // line", "std::vector<int> v;",
        "if (a && b || !c) {}", "path/to/file.txt", "https://example.com/a?b=c&d=e", "user@example.com",
        "$HOME ~/.cache", "<div class=\"x\">text</div>", "```python\nprint(1)\n```", "a==b!=c<=d>=e",
        "    indented", "\t\ttabbed", "trailing   ", "a  b   c    d", "line1\nline2", "line1\r\nline2",
        "line1\n\nline2", "line1\r\n\r\nline2", "\n\n\n", "\r\n\r\n", " \n \n ", "\t\n\t", "a\rb", "\r", "\r\r\n",
        "end.\n", "  \n  x", "x\n  ", "x \n", "x  \n\n  y", "\u00a0nbsp", "a\u3000b", "\u2028sep", "zero\u200bwidth",
        "😀", "👍🏽", "👨‍👩‍👧‍👦", "🇨🇳", "❤️", "✨✨", "emoji 😀 in text", "😀😃😄", "👩🏽‍💻 codes", "#️⃣ 1️⃣",
        "🏳️‍🌈", "a😀b", "中文😀English", "!!!", "...", "?!", "—", "–-", "«quotes»", "“smart” ‘quotes’",
        "()[]{}", "@#$%^&*", "~`|\\", "\\n literal", "'", "''", "'''", "' s", "a'b", "1's", "é's",
    ]
    specials = [c for c, _ in ADDED]
    for tok in specials:
        s += [tok, f"x{tok}y", f" {tok} ", f"{tok}{tok}", f"\n{tok}\n", f"中{tok}文"]
    s += [
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n",
        "<|im_start|>user\n<image_id>0</image_id><image><unk><unk></image>\n<slice><unk></slice><slice><unk></slice>\n"
        "What is this?<|im_end|>\n<|im_start|>assistant\n",
        "<think>\n\n</think>\n\nAnswer", "<tool_call>{\"name\": \"f\"}</tool_call>", "<|im_end|><|endoftext|>",
        "<|im_end", "<|im_", "|im_end|>", "<image", "image>", "</ image>", "<IMAGE>", "< image>", "<<image>>",
        "<|im_start|><|im_start|>", "<slice></slice>", "<image_id>12</image_id>", "a<|endoftext|>",
        "<|endoftext|>b", " <|endoftext|>", "<|endoftext|> ", "text\n<|im_end|>", "<think>reasoning</think>",
    ]
    return s


def generated_cases(n: int):
    rng = random.Random(20241207)
    pieces = ["the", " cat", " sat", "Hello", "WORLD", "'s", "'ll", "it", "中", "文", "图像", "切片", "テキスト", "한",
              "мир", "γ", "0", "12", "345", "6789", " ", "  ", "\t", "\n", "\r\n", "\n\n", ".", ",", "!", "?", "()",
              "{", "}", ";", "->", "==", "😀", "👍🏽", "👨‍👩‍👧", "🇯🇵", "❤️", "é", "e\u0301", "\u00a0", "<|im_end|>",
              "<image>", "</slice>", "<think>", "_", "-", "/", "'", "\"", "#", "$", "%"]
    out = []
    for _ in range(n):
        k = rng.randint(1, 12)
        out.append("".join(rng.choice(pieces) for _ in range(k)))
    # Long words and runs: the merge loop and the regex on long inputs.
    out.append("a" * 300)
    out.append("ab" * 200)
    out.append(" " * 100 + "x")
    out.append("\n" * 50)
    out.append("中" * 200)
    out.append("supercalifragilisticexpialidocious" * 5)
    out.append("1234567890" * 20)
    out.append(" ".join(TRAIN_TEXT[:18]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    reference_env.ensure_venv("bpe", REQUIREMENTS, __file__)
    import tokenizers
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from tokenizers import AddedToken

    tok = Tokenizer(models.BPE(unk_token=None, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tok.train_from_iterator(TRAIN_TEXT, trainer=trainer)
    for content, special in ADDED:
        t = AddedToken(content, single_word=False, lstrip=False, rstrip=False, normalized=False, special=special)
        if special:
            tok.add_special_tokens([t])
        else:
            tok.add_tokens([t])

    out: Path = args.out
    (out / "legacy").mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"), pretty=True)
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))  # everything below from the committed file

    # The slow-tokenizer layout of the same model.
    data = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = data["model"]["vocab"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in data["model"]["merges"]]
    (out / "legacy" / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (out / "legacy" / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    added = {a["content"]: a["id"] for a in data["added_tokens"]}
    (out / "legacy" / "added_tokens.json").write_text(json.dumps(added, ensure_ascii=False, indent=2) + "\n",
                                                      encoding="utf-8")
    config = {
        "tokenizer_class": "Qwen2Tokenizer",
        "added_tokens_decoder": {str(a["id"]): {k: a[k] for k in
                                                ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
                                 for a in data["added_tokens"]},
        "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "unk_token": "<unk>",
        "errors": "replace", "model_max_length": 32768,
    }
    for folder in (out, out / "legacy"):  # a Hugging Face folder has it beside either layout
        (folder / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n",
                                                      encoding="utf-8")

    strings = handwritten_cases()
    strings += generated_cases(max(0, 260 - len(strings)))
    cases = []
    for text in strings:
        enc = tok.encode(text, add_special_tokens=False)
        cases.append({
            "text": text,
            "ids": enc.ids,
            "tokens": enc.tokens,
            "decode": tok.decode(enc.ids, skip_special_tokens=True),
            "decode_with_specials": tok.decode(enc.ids, skip_special_tokens=False),
        })
    # Decoding id sequences that cut UTF-8 characters (a prefix of each multi-token case), as a stream stops.
    partial = []
    for c in cases:
        if len(c["ids"]) >= 3:
            ids = c["ids"][: len(c["ids"]) // 2]
            partial.append({"ids": ids, "decode": tok.decode(ids, skip_special_tokens=True)})
    manifest = {
        "made_by": "tests/tools/reference/bpe_fixture.py",
        "tokenizers": tokenizers.__version__,
        "vocab_size": tok.get_vocab_size(with_added_tokens=True),
        "pattern": QWEN2_PATTERN,
        "cases": cases,
        "partial_decodes": partial,
    }
    (out / "cases.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}: {len(cases)} strings, {len(partial)} partial decodes, vocab {manifest['vocab_size']}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
