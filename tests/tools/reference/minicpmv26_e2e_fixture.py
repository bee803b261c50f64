#!/usr/bin/python3
"""End-to-end reference fixture for the MiniCPM-V 2.6 family, made by running the OFFICIAL chat path
(MiniCPMV.chat: apply_chat_template, MiniCPMVProcessor, get_vllm_embedding, Qwen2ForCausalLM.generate) on a tiny
random checkpoint written as a complete Hugging Face model folder.

Writes tests/data/reference/minicpmv26-e2e/ (the folder UHD Lens loads through its normal model-folder path):
  config.json              openbmb/MiniCPM-V-2_6's keys ("version": 2.6, Qwen2 LLM keys at the top level,
                           "vision_config", "slice_config", query_num 64, use_image_id) with tiny sizes and every
                           structural property of the real one: LLM 4 query / 2 key-value heads (grouped-query, as
                           28 / 4), q/k/v biases, rope theta 1e6, RMSNorm eps 1e-6, untied lm_head; tower 4 heads,
                           70x70 position table, gelu_pytorch_tanh; resampler width 256 -> 2 heads (hidden // 128)
  preprocessor_config.json the processor's keys (MiniCPMVImageProcessor: norm_mean/std, use_image_id,
                           image_feature_size, slice_mode, max_slice_nums 9, patch_size 14) with scale_resolution 112
                           (not config.json's 448: proves the processor's value is the one used, and keeps the
                           pixel fixture small; the code path is the 448 one)
  tokenizer.json           the byte-level BPE of tests/data/tokenizer-bpe (Qwen2's pre-tokenizer, NFC) plus the
                           MiniCPM-V 2.6 special tokens it lacked (<ref> </ref> <box> </box> <quad> </quad>)
  tokenizer_config.json    added_tokens_decoder, eos <|im_end|>, pad <|endoftext|>, unk <unk>, no bos, and the chat
                           template (CHAT_TEMPLATE below)
  generation_config.json   bos/eos ids
  model.safetensors        random weights under the official module's state-dict names (vpm.*, resampler.*,
                           llm.model.*, llm.lm_head.weight), bf16; biases N(0, 0.1), norm gains 1 + N(0, 0.3)
  image.png                a synthetic image that the 112 px setting slices into a grid
  reference.safetensors    per encoded image: processor pixels (reshape_by_patch layout), vision features, resampler
                           output; prompt ids; first-step logits; generated ids (turn 1), prompt ids (turn 2)
  reference.json           the prompt texts, generated ids and answers as the official code decoded them
  manifest.json            reference repo, commit, blob ids, package versions, seed, glue, command

Usage (creates its own venv on first run):
  /usr/bin/python3 tests/tools/reference/minicpmv26_e2e_fixture.py [--ref /work/ref/minicpmv26] [--out DIR]

The reference source is the same as minicpmv26_fixture.py's (GitHub 404805854/minicpmv2.6-onnx @ 8490e59, Hugging
Face openbmb/MiniCPM-V-2_6's .py files committed verbatim); every file used is checked against that commit's blob ids.

Official code runs unchanged. Glue (listed in the manifest): torch 1.13 lacks F._none_or_dtype (resampler.py's own
copy is made reachable, as in minicpmv26_fixture.py); forward hooks on vpm / resampler / llm.lm_head and wrappers
around processor._convert_images_texts_to_inputs and llm.generate record what flows through, returning it unchanged.

The chat template is not among the fetched .py files (it lives in the model's tokenizer_config.json, which the
GitHub copy does not carry). CHAT_TEMPLATE is Qwen2's ChatML template with its default system message, the one the
MiniCPM-V 2.6 tokenizer_config.json carries: prompts spelled out by code written against the real model agree with
it ("<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n<|im_start|>user\\n(<image>./</image>)\\n..."
in an sglang MiniCPM-V test and the xllm VLM example, GitHub code index ids 23203501062, 4662102525).
"""

import json
import os
import sys
from pathlib import Path

import reference_env  # beside this script (sys.path[0])
import minicpmv26_fixture as vision_fixture  # same reference commit; its test picture
from minicpmv26_fixture import REF_COMMIT, REF_REPO, synthetic_image

REQUIREMENTS = Path(__file__).resolve().parent / "minicpmv26_e2e_requirements.txt"
# The vision fixture's files plus those of the chat path.
REF_BLOBS = dict(vision_fixture.REF_BLOBS,
                 **{"configuration_minicpm.py": "4c33e755d1aedc843af73daf13e10f5c20e4b023",
                    "modeling_minicpmv.py": "d4639462d952289ab06beac53efcc0fbc41ae07f",
                    "processing_minicpmv.py": "ac9f127f943ca769aecb5ce02e5f3223beaa9907",
                    "tokenization_minicpmv_fast.py": "41eb806886b0062e9f52ccd0ec48a606b5e4aac9"})
DEFAULT_REF = Path(os.environ.get("UHDLENS_MINICPMV26_REF", "/work/ref/minicpmv26"))
ROOT = Path(__file__).resolve().parents[3]
DEFAULT_OUT = ROOT / "tests" / "data" / "reference" / "minicpmv26-e2e"
BASE_TOKENIZER = ROOT / "tests" / "data" / "tokenizer-bpe" / "tokenizer.json"
SEED = 2026
EXTRA_SPECIALS = ["<ref>", "</ref>", "<box>", "</box>", "<quad>", "</quad>"]
CHAT_TEMPLATE = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
                 "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
                 "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
                 "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
LLM = dict(hidden_size=256, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=96,
           max_position_embeddings=4096, rope_theta=1000000.0, rms_norm_eps=1e-6, hidden_act="silu",
           tie_word_embeddings=False, use_sliding_window=False)
VISION = dict(hidden_size=32, intermediate_size=40, num_hidden_layers=3, num_attention_heads=4, image_size=980,
              patch_size=14, model_type="siglip")
PROCESSOR = dict(max_slice_nums=9, scale_resolution=112, patch_size=14, use_image_id=True, image_feature_size=64,
                 im_start="<image>", im_end="</image>", slice_start="<slice>", slice_end="</slice>", unk="<unk>",
                 im_id_start="<image_id>", im_id_end="</image_id>", slice_mode=True, norm_mean=[0.5, 0.5, 0.5],
                 norm_std=[0.5, 0.5, 0.5], version=2.6)
IMAGE_SIZE = (230, 150)
QUESTION = "What is written on the sign? 图里有什么？"
FOLLOWUP = "And the colour? 😀"
MAX_NEW_TOKENS = 16


def write_tokenizer(out: Path):
    """tokenizer.json (+ the missing specials) and tokenizer_config.json; returns {token: id} of the added ones."""
    from tokenizers import AddedToken, Tokenizer
    base = json.loads(BASE_TOKENIZER.read_text())
    # tokenizers >= 0.20 writes merges as pairs; the pinned 0.19 (transformers 4.40's) reads "a b" strings.
    base["model"]["merges"] = [m if isinstance(m, str) else " ".join(m) for m in base["model"]["merges"]]
    base["model"].pop("ignore_merges", None)
    tok = Tokenizer.from_str(json.dumps(base))
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in EXTRA_SPECIALS])
    tok.save(str(out / "tokenizer.json"))
    saved = json.loads((out / "tokenizer.json").read_text())
    added = {a["content"]: a["id"] for a in saved["added_tokens"]}
    decoder = {str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                        "special": True} for t, i in sorted(added.items(), key=lambda kv: kv[1])}
    config = {"add_prefix_space": False, "added_tokens_decoder": decoder, "bos_token": None,
              "chat_template": CHAT_TEMPLATE, "clean_up_tokenization_spaces": False, "eos_token": "<|im_end|>",
              "errors": "replace", "model_max_length": 32768, "pad_token": "<|endoftext|>",
              "split_special_tokens": False, "tokenizer_class": "MiniCPMVTokenizerFast", "unk_token": "<unk>"}
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    return added, tok.get_vocab_size(with_added_tokens=True)


def random_weights(model, seed: int, out: Path) -> None:
    """Random weights for every tensor of `model`'s state dict (biases N(0, 0.1), norm gains 1 + N(0, 0.3), the
    rest scaled by fan-in), saved as bf16 to out/model.safetensors and loaded back into `model` as float32.
    Shared with minicpmv45_e2e_fixture.py."""
    import torch
    from safetensors.torch import load_file, save_file
    gen = torch.Generator().manual_seed(seed)
    weights = {}
    for name, p in model.state_dict().items():
        if name.endswith("bias"):
            v = 0.1 * torch.randn(p.shape, generator=gen)
        elif "norm" in name or ".ln_" in name:
            v = 1.0 + 0.3 * torch.randn(p.shape, generator=gen)
        elif name in ("vpm.embeddings.position_embedding.weight", "resampler.query"):
            v = 0.5 * torch.randn(p.shape, generator=gen)
        elif name == "llm.model.embed_tokens.weight":
            v = torch.randn(p.shape, generator=gen)
        elif name == "llm.lm_head.weight":
            # Larger than an initialisation so that greedy decoding on random weights is not one token repeated.
            v = 4.0 * torch.randn(p.shape, generator=gen) / p.shape[1] ** 0.5
        else:
            fan_in = p[0].numel() if p.dim() > 1 else p.numel()
            v = torch.randn(p.shape, generator=gen) / fan_in ** 0.5
        weights[name] = v.to(torch.bfloat16).contiguous()
    save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt"})
    model.load_state_dict({k: v.float() for k, v in load_file(str(out / "model.safetensors")).items()}, strict=True)


def install_recorders(processor, tokenizer, model) -> dict:
    """Wraps processor._convert_images_texts_to_inputs, tokenizer.apply_chat_template and model.llm.generate and
    hooks vpm / resampler / llm.lm_head; each records what flows through (returned unchanged) into the dict it
    returns."""
    rec = {}

    def record(owner, method, key):
        """Replaces owner.method by a wrapper that appends each result to rec[key] and returns it unchanged."""
        original = getattr(owner, method)

        def wrapper(*a, **k):
            result = original(*a, **k)
            rec.setdefault(key, []).append(result)
            return result
        setattr(owner, method, wrapper)
    record(processor, "_convert_images_texts_to_inputs", "inputs")
    record(tokenizer, "apply_chat_template", "prompts")
    record(model.llm, "generate", "generated")
    model.vpm.register_forward_hook(lambda m, a, o: rec.setdefault("vision", []).append(o.last_hidden_state))
    model.resampler.register_forward_hook(lambda m, a, o: rec.setdefault("resampler", []).append(o))
    model.llm.lm_head.register_forward_hook(lambda m, a, o: rec.setdefault("logits", []).append(o[0, -1].clone()))
    return rec


def recorded_tensors(rec: dict, n_logits_turn1: int):
    """The fixture tensors of chat() turns 1 and 2 (per encoded image: pixels, vision, resampler; prompt ids, first
    logits, generated ids) and the tgt_sizes."""
    import torch
    t = {}
    inputs = rec["inputs"][0]
    tgt = inputs["tgt_sizes"][0].to(torch.int64)
    t["input.tgt_sizes"] = tgt.contiguous()
    vision = rec["vision"][0]
    for j, px in enumerate(inputs["pixel_values"][0]):
        rows, cols = tgt[j].tolist()
        t[f"image{j}.pixels"] = px.to(torch.float32).contiguous()  # [3, 14, L*14]
        t[f"image{j}.vision"] = vision[j, :rows * cols].contiguous()
        t[f"image{j}.resampler"] = rec["resampler"][0][j].contiguous()
    t["turn1.prompt_ids"] = inputs["input_ids"][0].to(torch.int64).contiguous()
    t["turn1.first_logits"] = rec["logits"][0].float().contiguous()
    t["turn1.generated_ids"] = rec["generated"][0][0].to(torch.int64).contiguous()
    t["turn2.prompt_ids"] = rec["inputs"][1]["input_ids"][0].to(torch.int64).contiguous()
    t["turn2.first_logits"] = rec["logits"][n_logits_turn1].float().contiguous()
    t["turn2.generated_ids"] = rec["generated"][1][0].to(torch.int64).contiguous()
    return t, tgt


def official_chat(cfg_mod, modeling, improc, processing, tokmod, config: dict, out: Path, image, settings) -> dict:
    """Builds the official MiniCPMV from `config` (eager attention: torch 1.13 has no sdpa, and MiniCPMV gives its
    tower eager attention anyway) with random_weights, saves `image` to out/image.png, and runs chat() greedily
    (sampling=False with num_beams and repetition_penalty overridden to plain argmax decoding) on the question, then
    on the follow-up with the first answer in the history, recording everything (install_recorders). Returns the
    model, tokenizer, processor, reloaded image, recorder dict, both answers, the logits count after turn 1 and the
    greedy chat() arguments. `settings`: the calling script's module (its SEED, PROCESSOR, QUESTION, FOLLOWUP,
    MAX_NEW_TOKENS). Shared with minicpmv45_e2e_fixture.py."""
    from PIL import Image
    SEED, PROCESSOR, QUESTION, FOLLOWUP, MAX_NEW_TOKENS = (
        settings.SEED, settings.PROCESSOR, settings.QUESTION, settings.FOLLOWUP, settings.MAX_NEW_TOKENS)
    mcfg = cfg_mod.MiniCPMVConfig(**config)
    mcfg._attn_implementation = "eager"
    model = modeling.MiniCPMV(mcfg).eval()
    random_weights(model, SEED, out)
    image.save(out / "image.png", optimize=True)
    img = Image.open(out / "image.png").convert("RGB")
    tokenizer = tokmod.MiniCPMVTokenizerFast.from_pretrained(str(out))
    processor = processing.MiniCPMVProcessor(improc.MiniCPMVImageProcessor(**PROCESSOR), tokenizer)
    rec = install_recorders(processor, tokenizer, model)
    greedy = dict(sampling=False, num_beams=1, repetition_penalty=1.0, max_new_tokens=MAX_NEW_TOKENS)
    msgs = [{"role": "user", "content": QUESTION}]
    answer1 = model.chat(image=img, msgs=msgs, tokenizer=tokenizer, processor=processor, **greedy)
    n_logits_turn1 = len(rec["logits"])
    msgs2 = [{"role": "user", "content": [img, QUESTION]}, {"role": "assistant", "content": answer1},
             {"role": "user", "content": FOLLOWUP}]
    answer2 = model.chat(image=None, msgs=msgs2, tokenizer=tokenizer, processor=processor, **greedy)
    return {"model": model, "tokenizer": tokenizer, "processor": processor, "image": img, "rec": rec,
            "answers": (answer1, answer2), "n_logits_turn1": n_logits_turn1, "greedy": greedy, "msgs": msgs}


def main() -> None:
    args = reference_env.ref_and_out_args(DEFAULT_REF, DEFAULT_OUT)
    reference_env.check_blobs(args.ref, REF_BLOBS, REF_COMMIT,
                              f"see minicpmv26_fixture.py's docstring: {REF_REPO} @ {REF_COMMIT}")
    reference_env.ensure_venv("minicpmv26-e2e", REQUIREMENTS, __file__)

    import numpy as np
    import PIL
    import safetensors
    import tokenizers
    import torch
    import transformers
    from safetensors.torch import save_file

    torch.set_num_threads(1)
    pkg = "minicpmv26_ref"
    cfg_mod, improc, modeling, processing, tokmod, resampler_mod = (
        reference_env.import_package(pkg, args.ref, m)
        for m in ("configuration_minicpm", "image_processing_minicpmv", "modeling_minicpmv", "processing_minicpmv",
                  "tokenization_minicpmv_fast", "resampler"))
    if not hasattr(torch.nn.functional, "_none_or_dtype"):  # torch 1.13; see minicpmv26_fixture.py
        torch.nn.functional._none_or_dtype = resampler_mod._none_or_dtype
    out = args.out
    out.mkdir(parents=True, exist_ok=True)

    # --- the model folder ----------------------------------------------------------------------------------------
    added, vocab = write_tokenizer(out)
    config = {"_name_or_path": "uhdlens-reference-minicpmv26", "architectures": ["MiniCPMV"],
              "model_type": "minicpmv", "version": 2.6, **LLM, "vocab_size": vocab, "query_num": 64,
              "image_size": 448, "patch_size": 14, "drop_vision_last_layer": False, "slice_mode": True,
              "use_image_id": True, "batch_vision_input": True, "vision_batch_size": 16,
              "slice_config": {"max_slice_nums": 9, "model_type": "minicpmv", "patch_size": 14,
                               "scale_resolution": 448},
              "vision_config": VISION, "bos_token_id": added["<|endoftext|>"], "eos_token_id": added["<|im_end|>"],
              "torch_dtype": "bfloat16"}
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "preprocessor_config.json").write_text(json.dumps(
        {"image_processor_type": "MiniCPMVImageProcessor", "processor_class": "MiniCPMVProcessor", **PROCESSOR},
        indent=2) + "\n")
    (out / "generation_config.json").write_text(json.dumps(
        {"bos_token_id": added["<|endoftext|>"], "eos_token_id": added["<|im_end|>"]}, indent=2) + "\n")

    run = official_chat(cfg_mod, modeling, improc, processing, tokmod, config, out, synthetic_image(IMAGE_SIZE, 3),
                        sys.modules[__name__])
    rec, processor, img, answer1, answer2 = run["rec"], run["processor"], run["image"], *run["answers"]
    n_logits_turn1 = run["n_logits_turn1"]

    t, tgt = recorded_tensors(rec, n_logits_turn1)
    save_file(t, str(out / "reference.safetensors"), metadata={"format": "pt"})

    gen1 = t["turn1.generated_ids"].tolist()
    if len(set(gen1)) < 4:
        sys.exit(f"error: greedy tokens on the random weights are degenerate ({gen1}); change SEED or the scales")
    reference = {"question": QUESTION, "followup": FOLLOWUP, "image": "image.png",
                 "prompt_text": rec["prompts"], "answers": [answer1, answer2],
                 "generated_ids": [gen1, t["turn2.generated_ids"].tolist()],
                 "tgt_sizes": tgt.tolist(), "grid": processor.image_processor.get_sliced_grid(img.size, 9),
                 "special_token_ids": added, "max_new_tokens": MAX_NEW_TOKENS}
    (out / "reference.json").write_text(json.dumps(reference, indent=1, ensure_ascii=False) + "\n")
    files = ["config.json", "preprocessor_config.json", "generation_config.json", "tokenizer.json",
             "tokenizer_config.json", "model.safetensors", "image.png", "reference.safetensors", "reference.json"]
    manifest = {
        "reference": {"repo": f"github.com/{REF_REPO}", "commit": REF_COMMIT, "blobs": REF_BLOBS,
                      "why_trusted": "as tests/data/reference/minicpmv26/manifest.json"},
        "packages": {"python": sys.version.split()[0], "torch": torch.__version__,
                     "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                     "numpy": np.__version__, "Pillow": PIL.__version__, "safetensors": safetensors.__version__},
        "seed": SEED, "llm": LLM, "vision": VISION, "processor": PROCESSOR, "chat_template": CHAT_TEMPLATE,
        "base_tokenizer": "tests/data/tokenizer-bpe/tokenizer.json + " + " ".join(EXTRA_SPECIALS),
        "shims": ["torch.nn.functional._none_or_dtype = resampler._none_or_dtype (torch 1.13)"],
        "glue": ["recorders: processor._convert_images_texts_to_inputs, tokenizer.apply_chat_template, "
                 "model.llm.generate wrapped (results returned unchanged); forward hooks on vpm, resampler, "
                 "llm.lm_head", "config._attn_implementation = 'eager' (torch 1.13 has no sdpa)",
                 "chat(sampling=False, num_beams=1, repetition_penalty=1.0): greedy decoding"],
        "command": "/usr/bin/python3 tests/tools/reference/minicpmv26_e2e_fixture.py",
        "bytes": {f: (out / f).stat().st_size for f in files},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out}: {sum(manifest['bytes'].values())} bytes; answer 1 {answer1!r}; tokens {gen1}")


if __name__ == "__main__":
    main()
