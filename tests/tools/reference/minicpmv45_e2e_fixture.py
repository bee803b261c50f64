#!/usr/bin/python3
"""End-to-end reference fixture for the MiniCPM-V 4.5 family, made by running the OFFICIAL chat path
(MiniCPMV.chat: apply_chat_template with enable_thinking, MiniCPMVProcessor, get_vllm_embedding with the 3D
resampler, Qwen3ForCausalLM.generate) on a tiny random checkpoint written as a complete Hugging Face model folder.

Writes tests/data/reference/minicpmv45-e2e/ (the folder UHD Lens loads through its normal model-folder path):
  config.json              openbmb/MiniCPM-V-4_5's keys ("version": 4.5, Qwen3 LLM keys at the top level,
                           "vision_config", "slice_config", query_num 64, batch_3d_resampler) with tiny sizes and
                           every structural property of the real one: LLM 4 query / 2 key-value heads (grouped-query,
                           as 32 / 8), explicit head_dim, q_norm / k_norm, no attention bias (attention_bias false),
                           rope theta 1e6, RMSNorm eps 1e-6, untied lm_head; tower 4 heads, 70x70 position table,
                           gelu_pytorch_tanh; resampler width 256 -> 2 heads (hidden // 128)
  preprocessor_config.json the processor's keys (as the real file, which says "version": 2.6) with scale_resolution
                           112 (not 448: keeps the pixel fixture small; the code path is the same)
  tokenizer.json           the byte-level BPE of tests/data/tokenizer-bpe (Qwen2's pre-tokenizer, NFC; it carries
                           <think> </think> as non-special added tokens, as Qwen3) plus the MiniCPM-V specials it
                           lacked (<ref> </ref> <box> </box> <quad> </quad>)
  tokenizer_config.json    added_tokens_decoder, eos <|im_end|>, pad <|endoftext|>, unk <unk>, no bos, and the REAL
                           MiniCPM-V 4.5 chat template, read from the reference folder's tokenizer_config.json
  generation_config.json   the real file's keys: eos [<|im_end|>, <|endoftext|>], chat_template_kwargs
  model.safetensors        random weights under the official module's state-dict names (vpm.*, resampler.*,
                           llm.model.* with q_norm/k_norm, llm.lm_head.weight), bf16; biases N(0, 0.1), norm gains
                           1 + N(0, 0.3)
  image.png                a synthetic image that the 112 px setting slices into a grid
  reference.safetensors    per encoded image: processor pixels (reshape_by_patch layout), vision features, resampler
                           output; prompt ids, first-step logits, generated ids of turn 1 (thinking off) and turn 2
                           (a follow-up, thinking off); prompt ids and first logits of turn 1 with thinking on
  reference.json           the prompt texts, generated ids and answers as the official code decoded them, and the
                           temporal_ids the processor attached to the image's slices
  manifest.json            reference repo, commit, blob ids, package versions, seed, glue, command

Usage (creates its own standalone venv on first run, ~/.cache/uhdlens-reference/minicpmv45-e2e):
  /usr/bin/python3 tests/tools/reference/minicpmv45_e2e_fixture.py [--ref /work/ref/minicpmv45] [--out DIR]

Reference source: Hugging Face openbmb/MiniCPM-V-4_5 (ModelScope revision b587cfcc, per the snapshot's .msc) as
committed verbatim in GitHub PcOffeeP/FineTune_MLLM @ 67778f2, folder Model/MiniCPM-VL-4.5/ (openbmb's own
repository cannot be fetched here). Put the files in --ref, e.g.
  git --git-dir=<mirror> show 67778f2:Model/MiniCPM-VL-4.5/<file> > /work/ref/minicpmv45/<file>
Every file used is checked against that commit's blob ids. Cross-checked against vllm's MiniCPMV4_5 /
Resampler4_5 (vllm/model_executor/models/minicpmv.py): same tensor names, same 2D sin-cos keys.

Official code runs unchanged. Glue (listed in the manifest): forward hooks on vpm / resampler / llm.lm_head and
wrappers around processor._convert_images_texts_to_inputs, tokenizer.apply_chat_template and llm.generate record
what flows through, returning it unchanged; config._attn_implementation = "eager".
"""

import json
import os
import sys
from pathlib import Path

import reference_env  # beside this script (sys.path[0])
# The 2.6 script's stages and its tower / processor / question settings (4.5 changes neither).
from minicpmv26_e2e_fixture import (FOLLOWUP, IMAGE_SIZE, MAX_NEW_TOKENS, PROCESSOR, QUESTION, VISION,  # noqa: F401
                                    official_chat, recorded_tensors)

REQUIREMENTS = Path(__file__).resolve().parent / "minicpmv45_e2e_requirements.txt"
REF_REPO = "PcOffeeP/FineTune_MLLM"
REF_COMMIT = "67778f256b5b30de5715de23207fcd8ca73d0b63"
REF_FOLDER = "Model/MiniCPM-VL-4.5"
REF_BLOBS = {"configuration_minicpm.py": "5bfd3f4d7c2a00ded7f8c7d40e9433ea0dbd6370",
             "image_processing_minicpmv.py": "7ae14cf95bda781e178f9543a1635b02e3605939",
             "modeling_minicpmv.py": "4715a8553adfc0e515af5c7e7da7f504f45ce68b",
             "modeling_navit_siglip.py": "6fe732cf0d5884613003c00bccea0c5ae64a1905",
             "processing_minicpmv.py": "cefc24566249cd47da7b3d2ee3f936941455f4e4",
             "resampler.py": "d7d1756294deb0f5a9e083a086392c786eda6f5a",
             "tokenization_minicpmv_fast.py": "c8411fa70c616474142442f883fc88b40363e0f2",
             "tokenizer_config.json": "aaf1d40a5ce6edc302b3c5f8de9e6074b643ce59",
             "config.json": "126378bbec97e713ebbb7d2bb2b389543107fff1",
             "generation_config.json": "233aece9d4f5ae3a524de27c8bab1bf74d25c1dc"}
DEFAULT_REF = Path(os.environ.get("UHDLENS_MINICPMV45_REF", "/work/ref/minicpmv45"))
ROOT = Path(__file__).resolve().parents[3]
DEFAULT_OUT = ROOT / "tests" / "data" / "reference" / "minicpmv45-e2e"
BASE_TOKENIZER = ROOT / "tests" / "data" / "tokenizer-bpe" / "tokenizer.json"
SEED = 2045
EXTRA_SPECIALS = ["<ref>", "</ref>", "<box>", "</box>", "<quad>", "</quad>"]
LLM = dict(hidden_size=256, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=64,
           intermediate_size=96, max_position_embeddings=4096, max_window_layers=2, rope_theta=1000000.0,
           rope_scaling=None, rms_norm_eps=1e-6, hidden_act="silu", attention_bias=False, attention_dropout=0.0,
           tie_word_embeddings=False, use_sliding_window=False, sliding_window=None)
# The tower, processor settings, picture and questions are the 2.6 fixture's (imported above).


def synthetic_image(size, seed):
    """A deterministic picture with edges and colour regions (as minicpmv26_fixture.py's, drawn with numpy here
    because this venv is standalone)."""
    import numpy as np
    from PIL import Image
    w, h = size
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([255 * x / (w - 1), 255 * y / (h - 1), 127 + 120 * np.sin(x / 9.0) * np.cos(y / 7.0)], -1)
    for _ in range(6):
        x0, y0 = rng.integers(0, w - 20), rng.integers(0, h - 20)
        img[y0:y0 + rng.integers(8, 40), x0:x0 + rng.integers(8, 60)] = rng.integers(0, 256, 3)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def write_tokenizer(out: Path, chat_template: str):
    """tokenizer.json (+ the missing specials) and tokenizer_config.json; returns ({token: id}, vocab size)."""
    from tokenizers import AddedToken, Tokenizer
    base = json.loads(BASE_TOKENIZER.read_text())
    tok = Tokenizer.from_str(json.dumps(base))
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in EXTRA_SPECIALS])
    tok.save(str(out / "tokenizer.json"))
    saved = json.loads((out / "tokenizer.json").read_text())
    added = {a["content"]: (a["id"], a["special"]) for a in saved["added_tokens"]}
    decoder = {str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                        "special": special} for t, (i, special) in sorted(added.items(), key=lambda kv: kv[1][0])}
    config = {"add_bos_token": False, "add_prefix_space": False, "added_tokens_decoder": decoder,
              "bos_token": None, "chat_template": chat_template, "clean_up_tokenization_spaces": False,
              "eos_token": "<|im_end|>", "errors": "replace", "model_max_length": 131072,
              "pad_token": "<|endoftext|>", "split_special_tokens": False,
              "tokenizer_class": "MiniCPMVTokenizerFast", "unk_token": "<unk>"}
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    return {t: i for t, (i, _) in added.items()}, tok.get_vocab_size(with_added_tokens=True)


def main() -> None:
    args = reference_env.ref_and_out_args(DEFAULT_REF, DEFAULT_OUT)
    reference_env.check_blobs(args.ref, REF_BLOBS, REF_COMMIT,
                              f"see this script's docstring: {REF_REPO} @ {REF_COMMIT[:7]}, {REF_FOLDER}/")
    reference_env.ensure_venv("minicpmv45-e2e", REQUIREMENTS, __file__, system_site_packages=False)

    import numpy as np
    import PIL
    import safetensors
    import tokenizers
    import torch
    import transformers
    from safetensors.torch import save_file

    torch.set_num_threads(2)
    pkg = "minicpmv45_ref"
    cfg_mod, improc, modeling, processing, tokmod = (
        reference_env.import_package(pkg, args.ref, m)
        for m in ("configuration_minicpm", "image_processing_minicpmv", "modeling_minicpmv", "processing_minicpmv",
                  "tokenization_minicpmv_fast"))
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    real_tok_cfg = json.loads((args.ref / "tokenizer_config.json").read_text())
    real_gen_cfg = json.loads((args.ref / "generation_config.json").read_text())

    # --- the model folder ----------------------------------------------------------------------------------------
    added, vocab = write_tokenizer(out, real_tok_cfg["chat_template"])
    config = {"_name_or_path": "uhdlens-reference-minicpmv45", "architectures": ["MiniCPMV"],
              "model_type": "minicpmv", "version": 4.5, **LLM, "vocab_size": vocab, "query_num": 64,
              "image_size": 448, "patch_size": 14, "drop_vision_last_layer": False, "slice_mode": True,
              "batch_vision_input": True, "batch_3d_resampler": True,
              "slice_config": {"max_slice_nums": 9, "patch_size": 14, "model_type": "minicpmv"},
              "vision_config": VISION, "bos_token_id": added["<|endoftext|>"], "eos_token_id": added["<|im_end|>"],
              "torch_dtype": "bfloat16"}
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "preprocessor_config.json").write_text(json.dumps(
        {"image_processor_type": "MiniCPMVImageProcessor", "processor_class": "MiniCPMVProcessor", **PROCESSOR},
        indent=2) + "\n")
    generation = {"bos_token_id": added["<|endoftext|>"],
                  "eos_token_id": [added["<|im_end|>"], added["<|endoftext|>"]],
                  "pad_token_id": added["<|endoftext|>"],
                  "chat_template_kwargs": real_gen_cfg["chat_template_kwargs"]}
    (out / "generation_config.json").write_text(json.dumps(generation, indent=2) + "\n")

    # The official model, image and two greedy chat() turns with thinking off (chat()'s default), as for 2.6, with
    # this script's SEED, processor settings and questions.
    run = official_chat(cfg_mod, modeling, improc, processing, tokmod, config, out, synthetic_image(IMAGE_SIZE, 3),
                        sys.modules[__name__])
    model, tokenizer, processor, img, rec = (run[k] for k in ("model", "tokenizer", "processor", "image", "rec"))
    answer1, answer2 = run["answers"]
    n1, greedy, msgs = run["n_logits_turn1"], run["greedy"], run["msgs"]
    n2 = len(rec["logits"])
    answer_think = model.chat(image=img, msgs=msgs, tokenizer=tokenizer, processor=processor, enable_thinking=True,
                              **greedy)

    t, tgt = recorded_tensors(rec, n1)
    inputs = rec["inputs"][0]
    t["think.prompt_ids"] = rec["inputs"][2]["input_ids"][0].to(torch.int64).contiguous()
    t["think.first_logits"] = rec["logits"][n2].float().contiguous()
    t["think.generated_ids"] = rec["generated"][2][0].to(torch.int64).contiguous()
    save_file(t, str(out / "reference.safetensors"), metadata={"format": "pt"})

    gen1 = t["turn1.generated_ids"].tolist()
    if len(set(gen1)) < 4:
        sys.exit(f"error: greedy tokens on the random weights are degenerate ({gen1}); change SEED or the scales")
    def plain(v):  # temporal_ids as the processor returned them (lists, possibly of tensors) -> JSON
        return v.tolist() if hasattr(v, "tolist") else [plain(x) for x in v] if isinstance(v, (list, tuple)) else v
    temporal = plain(inputs.get("temporal_ids"))
    reference = {"question": QUESTION, "followup": FOLLOWUP, "image": "image.png",
                 "prompt_text": rec["prompts"], "answers": [answer1, answer2], "answer_thinking": answer_think,
                 "generated_ids": [gen1, t["turn2.generated_ids"].tolist()],
                 "generated_ids_thinking": t["think.generated_ids"].tolist(),
                 "temporal_ids": temporal, "tgt_sizes": tgt.tolist(),
                 "grid": processor.image_processor.get_sliced_grid(img.size, 9),
                 "special_token_ids": added, "max_new_tokens": MAX_NEW_TOKENS}
    (out / "reference.json").write_text(json.dumps(reference, indent=1, ensure_ascii=False) + "\n")
    files = ["config.json", "preprocessor_config.json", "generation_config.json", "tokenizer.json",
             "tokenizer_config.json", "model.safetensors", "image.png", "reference.safetensors", "reference.json"]
    manifest = {
        "reference": {"repo": f"github.com/{REF_REPO}", "commit": REF_COMMIT, "folder": REF_FOLDER,
                      "blobs": REF_BLOBS,
                      "why_trusted": "a verbatim snapshot of openbmb/MiniCPM-V-4_5 (ModelScope revision "
                                     "b587cfcc712142b3cbe7c0b3a38556cd1a329283 per its .msc), config.json "
                                     "_name_or_path openbmb/MiniCPM-V-4_5; modeling_navit_siglip.py is byte-identical "
                                     "to MiniCPM-V 2.6's; cross-checked against vllm's MiniCPMV4_5"},
        "packages": {"python": sys.version.split()[0], "torch": torch.__version__,
                     "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                     "numpy": np.__version__, "Pillow": PIL.__version__, "safetensors": safetensors.__version__},
        "seed": SEED, "llm": LLM, "vision": VISION, "processor": PROCESSOR,
        "chat_template": "the reference folder's tokenizer_config.json chat_template, verbatim",
        "base_tokenizer": "tests/data/tokenizer-bpe/tokenizer.json + " + " ".join(EXTRA_SPECIALS),
        "shims": [],
        "glue": ["recorders: processor._convert_images_texts_to_inputs, tokenizer.apply_chat_template, "
                 "model.llm.generate wrapped (results returned unchanged); forward hooks on vpm, resampler, "
                 "llm.lm_head", "config._attn_implementation = 'eager'",
                 "chat(sampling=False, num_beams=1, repetition_penalty=1.0): greedy decoding"],
        "command": "/usr/bin/python3 tests/tools/reference/minicpmv45_e2e_fixture.py",
        "bytes": {f: (out / f).stat().st_size for f in files},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out}: {sum(manifest['bytes'].values())} bytes; answer 1 {answer1!r}; tokens {gen1}; "
          f"thinking {answer_think!r}")


if __name__ == "__main__":
    main()
