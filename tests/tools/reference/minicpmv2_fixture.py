#!/usr/bin/python3
"""Reference fixture for the minicpmv family, made by running the OFFICIAL MiniCPM-V 2.0 code.

Writes tests/data/reference/minicpmv2/:
  config.json          the real openbmb/MiniCPM-V-2 config.json with the sizes shrunk (every key kept) plus the
                       "vision_config" object our loader reads for a non-standard timm tower
  model.safetensors    random, bf16-representable weights under the official module's own state-dict names, stored
                       in bf16 like the real checkpoint
  tokenizer.model      a small SentencePiece BPE model with the MiniCPM-V special pieces; tokenizer_config.json and
                       special_tokens_map.json are the real ones with the ids of this model
  image.png            the test image (158x80 -> 3x2 slices at scale_resolution 56)
  reference.safetensors  every stage of the official code, f32 run and bf16 run (see manifest.json "tensors")
  manifest.json        reference repo + commit, package versions, seed, command, what was patched and why

Usage (from anywhere; creates its own venv on first run):
  /usr/bin/python3 tests/tools/reference/minicpmv2_fixture.py [--ref /work/ref/minicpmv2/src] [--out DIR]

The reference source must be the files of HwwwwwwwH/MiniCPM-V-2 (GitHub mirror of Hugging Face
openbmb/MiniCPM-V-2) at commit 3d0e971f6ef6e2029f71202f98f9ba886925f2e4; the script checks every file it uses
against that commit's git blob ids. The venv lives in $XDG_CACHE_HOME/uhdlens-reference/minicpmv2 (default
~/.cache/...), built with --system-site-packages on Debian's python3-torch 1.13 / torchvision 0.14 / Pillow 9.4 and
`pip install --no-deps -r minicpmv2_requirements.txt` beside this file.

Official code runs unchanged. Patched (instrumentation and size only; listed in manifest.json):
  * timm.create_model, as called by MiniCPMV.init_vision_module, gets the tiny tower's embed_dim / depth /
    num_heads / mlp_ratio / img_size from config.json "vision_config" (the real code hard-codes the 400M
    tower through the name "vit_so400m_patch14_siglip_384.webli");
  * forward hooks and pass-through wrappers record intermediates (pixels, vision features, resampler output, prompt
    ids, input embeddings, first logits, generated ids); none changes a value.
Deterministic: fixed seeds, one thread, no randomness outside torch.Generator / the SentencePiece trainer.
"""

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import reference_env  # beside this script (sys.path[0])

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
REQUIREMENTS = HERE / "minicpmv2_requirements.txt"
REF_REPO = "HwwwwwwwH/MiniCPM-V-2"
REF_COMMIT = "3d0e971f6ef6e2029f71202f98f9ba886925f2e4"
# git blob ids of the files used, at REF_COMMIT (git ls-tree REF_COMMIT).
REF_BLOBS = {
    "modeling_minicpmv.py": "ccadece2c825b17bba9fde0a54e2bb3e7ae9c6d5",
    "modeling_minicpm.py": "002df2a6aa9c32533bfd9ff1da2924d399e65e89",
    "resampler.py": "5888ecdf2398ec33086fec692fc6f3fbcbc959e8",
    "configuration_minicpm.py": "9b3646f58684c1da786d15d37523449c9dddc359",
    "config.json": "67915f317f52efbc6a318bf07d44f2e066424e0a",
    "tokenizer_config.json": "54af2b88b6fa46187bc5c435d540caeacb837d9e",
    "special_tokens_map.json": "d6e611919a03d7947f761ee15d6df98bbc3ebaa8",
    "generation_config.json": "cb0c9b6c64cf786052efdd1a4ae597337b2f2708",
}
DEFAULT_REF = Path(os.environ.get("UHDLENS_MINICPMV2_REF", "/work/ref/minicpmv2/src"))
DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "reference" / "minicpmv2"
# The first seed whose 16 greedy tokens are ordinary pieces, all different (so the generation check compares 16
# informative tokens; other seeds loop over a few tokens or stop at </s>).
SEED = 1
IMAGE_SIZE = (158, 80)  # -> grid 3x2, overview 84x42 (6x3 patches), slices 56x42 (4x3) at S=56
QUESTION = "What does the sign say?"
# A second turn (prompt ids only): grounding tags typed in the text are added tokens the tokenizer splits on.
HISTORY_ANSWER = "It says <ref>EXIT 42</ref>."
FOLLOW_UP = "Where is <box>the exit</box>?"
NEW_TOKENS = 16

FETCH_HELP = f"""The official MiniCPM-V 2.0 code is expected in {{ref}} at commit {REF_COMMIT}.
Get it from the GitHub repository {REF_REPO} (a mirror of Hugging Face openbmb/MiniCPM-V-2), e.g.
  git clone <{REF_REPO}> mcpm && git -C mcpm archive {REF_COMMIT} | tar -x -C {{ref}}
(only the .py/.json files are needed; the LFS weights are not), or pass --ref DIR."""


# --- venv bootstrap ---------------------------------------------------------------------------------------------

def cache_dir() -> Path:
    return reference_env.cache_dir("minicpmv2")


def ensure_venv() -> None:
    """Re-executes this script inside the reference venv, creating or repairing it first."""
    reference_env.ensure_venv("minicpmv2", REQUIREMENTS, __file__)


# --- reference source -------------------------------------------------------------------------------------------

def check_reference(ref: Path) -> None:
    reference_env.check_blobs(ref, REF_BLOBS, REF_COMMIT, FETCH_HELP.format(ref=ref))


def import_reference(ref: Path):
    """The official files use package-relative imports: load them as the package `minicpmv2_ref`."""
    return reference_env.import_package("minicpmv2_ref", ref, "modeling_minicpmv")


# --- tiny checkpoint --------------------------------------------------------------------------------------------

# Tiny sizes. Everything structural is the real model's: 2+ heads everywhere (resampler heads = width // 128, so
# width 256), head_dim 64 in the LLM, MiniCPM scalings (scale_emb, scale_depth / sqrt(layers), hidden /
# dim_model_base), RMSNorm eps 1e-5, SigLIP LayerNorm eps 1e-6, timm's GELU, the last ViT block dropped,
# query_num 64 (8x8 sin-cos query positions), patch 14, a learned position table whose side (img_size // patch) is
# fitted to every encoded image's patch grid, and a slicing scale small enough for a 3x2 grid on a 158x80 image.
LLM = dict(hidden_size=256, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4, intermediate_size=128,
           dim_model_base=32, max_position_embeddings=1024)
VISION = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, image_size=60, patch_size=14,
              mlp_ratio=3.7362)  # timm: mlp hidden = int(64 * 3.7362) = 239, position table 4x4 (60 // 14)
SLICING = dict(scale_resolution=56, image_size=56, max_slice_nums=9)
SPECIALS = ["<image>", "</image>", "<ref>", "</ref>", "<box>", "</box>", "<quad>", "</quad>", "<point>",
            "</point>", "<slice>", "</slice>"]
CHAT_PIECES = ["<用户>", "<AI>"]
VOCAB = 384


def train_tokenizer(out: Path) -> None:
    """Llama-style SentencePiece BPE (identity normalisation, dummy prefix, byte fallback, <unk>/<s>/</s> = 0/1/2)
    as MiniCPM's tokenizer.model, trained on the bundled corpus, with the MiniCPM-V special pieces as user-defined
    symbols (real ids 101..112; here 3..14) and the chat-template markers <用户>, <AI>."""
    import sentencepiece as spm
    lines = [l for l in (REPO_ROOT / "resources" / "text" / "tiny-corpus.txt").read_text().splitlines()
             if l and all(ord(c) < 128 for c in l)]
    # The trainer spec stored in the model records model_prefix: a relative one keeps the bytes independent of
    # the output folder.
    cwd = os.getcwd()
    os.chdir(out)
    try:
        _train_spm(spm, lines)
    finally:
        os.chdir(cwd)
    (out / "tokenizer.vocab").unlink()


def _train_spm(spm, lines) -> None:
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_prefix="tokenizer", model_type="bpe", vocab_size=VOCAB,
        byte_fallback=True, split_digits=True, normalization_rule_name="identity", remove_extra_whitespaces=False,
        add_dummy_prefix=True, allow_whitespace_only_pieces=True, character_coverage=0.9995, unk_id=0, bos_id=1,
        eos_id=2, pad_id=-1, user_defined_symbols=SPECIALS + CHAT_PIECES, num_threads=1, minloglevel=2)


def write_tokenizer_configs(ref: Path, out: Path) -> None:
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=str(out / "tokenizer.model"))
    tc = json.loads((ref / "tokenizer_config.json").read_text())
    decoder = {}
    for _, entry in tc["added_tokens_decoder"].items():
        decoder[str(sp.piece_to_id(entry["content"]))] = entry
    tc["added_tokens_decoder"] = decoder
    (out / "tokenizer_config.json").write_text(json.dumps(tc, indent=2, ensure_ascii=False) + "\n")
    (out / "special_tokens_map.json").write_bytes((ref / "special_tokens_map.json").read_bytes())


def tiny_config(ref: Path) -> dict:
    cfg = json.loads((ref / "config.json").read_text())
    cfg.update(LLM)
    cfg.update(SLICING)
    cfg["vocab_size"] = VOCAB
    cfg["_name_or_path"] = "uhdlens-reference-minicpmv2-tiny"
    cfg["initializer_range"] = 0.1
    v = VISION
    cfg["vision_config"] = {
        "hidden_size": v["hidden_size"], "num_hidden_layers": v["num_hidden_layers"],
        "num_attention_heads": v["num_attention_heads"],
        "intermediate_size": int(v["hidden_size"] * v["mlp_ratio"]),
        "image_size": v["image_size"], "patch_size": v["patch_size"], "layer_norm_eps": 1e-6,
        "hidden_act": "gelu",  # timm 0.9.10 VisionTransformer default nn.GELU (erf), no act_layer for siglip
        "mlp_ratio": v["mlp_ratio"],
    }
    return cfg


def patch_timm(vision_config: dict):
    """MiniCPMV.init_vision_module calls timm.create_model(name, pretrained=False, num_classes=0,
    dynamic_img_size=True, dynamic_img_pad=True); the tiny tower's sizes are added as overrides of the model
    function's own arguments (timm merges them with dict(model_args, **kwargs))."""
    import timm
    original = timm.create_model

    def create_model(name, **kwargs):
        kwargs.update(embed_dim=vision_config["hidden_size"], depth=vision_config["num_hidden_layers"],
                      num_heads=vision_config["num_attention_heads"], mlp_ratio=vision_config["mlp_ratio"],
                      img_size=vision_config["image_size"])
        return original(name, **kwargs)

    timm.create_model = create_model


# Weight scales. Every norm sees a SMALL input (residual streams, kv_proj / query / attention outputs of std
# ~0.01-0.1, as MiniCPM's own embed_tokens * scale_emb of ~0.1), so the norms' eps is visible in the outputs
# (MiniCPM RMSNorm 1e-5 vs 1e-6 moves the logits by ~1e-3 here, 4e-6 with unit-scale activations); projections
# that read a normed input have gains near 1.5, so q.k spreads attention far from uniform and fc1 / gate_proj
# outputs sit in GELU's / SiLU's curved range; branches that write into a residual stream are small (gain 0.05)
# so the stream stays small; norm gains are 1 +- 0.15, biases +- 0.1 (+- 0.02 into residual streams).
READS_NORMED = ("qkv", "q_proj", "k_proj", "fc1", "gate_proj")
WRITES_RESIDUAL = ("attn.proj", "mlp.fc2", "o_proj", "down_proj", "attn.out_proj")


def random_weights(model, seed: int) -> dict:
    """Deterministic, non-trivial weights, rounded to bf16 (so the f32 and bf16 runs and our f32/mixed/bf16 modes
    all start from the same numbers). resampler.pos_embed keeps the official frozen 8x8 sin-cos table (the real
    checkpoint stores it, in bf16)."""
    import torch
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, p in sorted(model.state_dict().items()):
        shape = p.shape

        def randn(std):
            return torch.randn(shape, generator=g) * std

        def linear(gain):
            return randn(gain / shape[1] ** 0.5)

        if name == "resampler.pos_embed":
            t = p.detach().clone()
        elif p.dim() == 1 and name.endswith("bias"):
            t = randn(0.02 if any(k in name for k in WRITES_RESIDUAL) or "patch_embed" in name else 0.1)
        elif p.dim() == 1:  # LayerNorm / RMSNorm gains
            t = 1.0 + randn(0.15)
        elif name == "vpm.patch_embed.proj.weight":  # pixels (std ~0.5) -> tokens of std ~0.05
            t = randn(0.1 / (shape[1] * shape[2] * shape[3]) ** 0.5)
        elif name == "vpm.pos_embed":  # as large as the patch tokens, so its per-image fit matters
            t = randn(0.05)
        elif name == "resampler.query":
            t = randn(0.05)
        elif name == "resampler.kv_proj.weight":  # vision features (std ~1) -> ln_kv input of std ~0.05
            t = linear(0.05)
        elif name == "resampler.attn.in_proj_weight":  # rows q, k (spread attention), then v
            d = shape[1]
            t = torch.cat([torch.randn((2 * d, d), generator=g) * (1.5 / d ** 0.5),
                           torch.randn((d, d), generator=g) * (1.0 / d ** 0.5)])
        elif name == "resampler.proj":  # ln_post output -> image tokens of std ~0.1 (text tokens: 0.12)
            t = randn(0.1 / shape[0] ** 0.5)
        elif name == "llm.model.embed_tokens.weight":  # * scale_emb 12 -> ~0.12
            t = randn(0.01)
        elif name == "llm.lm_head.weight":  # logits of std ~3
            t = randn(1.5)
        elif p.dim() == 2 and any(k in name for k in WRITES_RESIDUAL):
            t = linear(0.05)
        elif p.dim() == 2:
            t = linear(1.5 if any(k in name for k in READS_NORMED) else 1.0)
        else:
            raise RuntimeError(f"no rule for {name} {tuple(shape)}")
        out[name] = t.to(torch.bfloat16)
    return out


def make_image(path: Path) -> None:
    """A small synthetic photo-like scene: smooth gradients, soft and hard shapes, thin lines and a few glyphs,
    so the resize sees both smooth areas and edges."""
    from PIL import Image, ImageDraw, ImageFilter
    import numpy as np
    w, h = IMAGE_SIZE
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 90 + 120 * x / w
    gch = 60 + 150 * y / h
    b = 140 + 80 * np.sin(x / 11.0) * np.cos(y / 7.0)
    img = Image.fromarray(np.clip(np.stack([r, gch, b], -1), 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    d.ellipse((10, 8, 58, 50), fill=(230, 200, 40))
    d.rectangle((70, 20, 140, 60), fill=(30, 40, 70), outline=(250, 250, 250))
    d.line((0, 75, 157, 62), fill=(200, 30, 30), width=2)
    d.text((76, 30), "EXIT 42", fill=(255, 255, 255))
    soft = img.filter(ImageFilter.GaussianBlur(1.2))
    img.paste(soft.crop((0, 0, 60, 80)), (0, 0))
    img.save(path, optimize=False, compress_level=9)


# --- running the official code ----------------------------------------------------------------------------------

class Recorder:
    """Pass-through hooks on the official modules; none changes a value."""

    def __init__(self, model):
        self.pixels, self.vision, self.resampler = [], [], []
        self.layer0_inputs, self.lm_head_outputs, self.process_list, self.generated = [], [], [], []
        self.handles = [
            model.vpm.patch_embed.register_forward_pre_hook(lambda m, a: self.pixels.append(a[0].detach().clone())),
            # forward_features ends with `norm`; its output is the vision feature map the resampler receives
            model.vpm.norm.register_forward_hook(lambda m, a, o: self.vision.append(o.detach().clone())),
            model.resampler.register_forward_hook(lambda m, a, o: self.resampler.append(o.detach().clone())),
            model.llm.model.layers[0].register_forward_pre_hook(
                lambda m, a: self.layer0_inputs.append(a[0].detach().clone())),
            model.llm.lm_head.register_forward_hook(lambda m, a, o: self.lm_head_outputs.append(o.detach().clone())),
        ]
        orig_process, orig_generate = model._process_list, model.llm.generate

        def process_list(*a, **k):
            r = orig_process(*a, **k)
            self.process_list.append(r)
            return r

        def generate(*a, **k):
            r = orig_generate(*a, **k)
            self.generated.append(r.detach().clone())
            return r

        model._process_list = process_list
        model.llm.generate = generate

    def close(self, model):
        for h in self.handles:
            h.remove()
        del model._process_list  # the instance attributes shadowed the class's methods
        del model.llm.generate


def run_official(model, tokenizer, image, dtype):
    model = model.to(dtype)
    rec = Recorder(model)
    msgs = [{"role": "user", "content": QUESTION}]
    # chat(sampling=False) is beam search (num_beams 3, repetition_penalty 1.2); these two keys are the ones chat()
    # lets the caller override, giving plain greedy decoding.
    answer, _, gen_cfg = model.chat(image, msgs, None, tokenizer, sampling=False, max_new_tokens=NEW_TOKENS,
                                    num_beams=1, repetition_penalty=1.0)
    rec.close(model)
    assert len(rec.process_list) == 1 and len(rec.generated) == 1
    ids = rec.process_list[0]["input_ids"][0]
    bounds = rec.process_list[0]["image_bound"][0]
    embeds = rec.layer0_inputs[0][0]
    first_logits = rec.lm_head_outputs[0][0, -1].float()
    # transformers 4.36 starts generate(inputs_embeds=...)'s output with a BOS placeholder (the official
    # _decode_text strips it); the generated tokens follow.
    out_ids = rec.generated[0][0]
    assert int(out_ids[0]) == tokenizer.bos_id, out_ids
    generated = out_ids[1:]
    assert len(generated) == NEW_TOKENS, f"generation stopped early: {generated.tolist()}"
    assert int(first_logits.argmax()) == int(generated[0])
    return dict(answer=answer, gen_cfg=gen_cfg, ids=ids, bounds=bounds, embeds=embeds, logits=first_logits,
                generated=generated, pixels=rec.pixels, vision=rec.vision, resampler=rec.resampler)


def history_prompt_ids(model, tokenizer, image):
    """Prompt ids of a two-turn chat (the image in the first user message), from the official chat()."""
    rec = Recorder(model)
    msgs = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": HISTORY_ANSWER},
            {"role": "user", "content": FOLLOW_UP}]
    model.chat(image, msgs, None, tokenizer, sampling=False, max_new_tokens=1, num_beams=1, repetition_penalty=1.0)
    rec.close(model)
    return rec.process_list[0]["input_ids"][0].to(dtype=rec.process_list[0]["input_ids"].dtype)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", type=Path, default=DEFAULT_REF, help="official MiniCPM-V-2 files at %s" % REF_COMMIT)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=SEED, help="weight seed (default %(default)s, the committed one)")
    args = ap.parse_args()
    check_reference(args.ref)  # before the (slow) venv, so a missing checkout is reported at once
    ensure_venv()

    import numpy as np
    import torch
    import transformers
    import timm
    import PIL
    import safetensors
    import sentencepiece
    import tokenizers
    from PIL import Image
    from safetensors.torch import save_file, load_file

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)

    mcpmv = import_reference(args.ref)
    from minicpmv2_ref.configuration_minicpm import MiniCPMVConfig

    train_tokenizer(out)
    write_tokenizer_configs(args.ref, out)
    cfg_dict = tiny_config(args.ref)
    (out / "config.json").write_text(json.dumps(cfg_dict, indent=2, ensure_ascii=False) + "\n")
    make_image(out / "image.png")

    patch_timm(cfg_dict["vision_config"])
    config = MiniCPMVConfig(**{k: v for k, v in cfg_dict.items() if k not in ("architectures", "auto_map")})
    model = mcpmv.MiniCPMV(config).eval()
    weights = random_weights(model, args.seed)
    save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt"})
    # Load exactly what was written (strict: every state-dict name is in the file and nothing else).
    model.load_state_dict({k: v.float() for k, v in load_file(str(out / "model.safetensors")).items()}, strict=True)

    tokenizer = mcpmv.LlamaTokenizerWrapper.from_pretrained(str(out))
    image = Image.open(out / "image.png").convert("RGB")
    with torch.inference_mode():
        f32 = run_official(model, tokenizer, image, torch.float32)
        history_ids = history_prompt_ids(model, tokenizer, image)
        bf16 = run_official(model, tokenizer, image, torch.bfloat16)

    n_img = len(f32["pixels"])
    source, patches, grid = mcpmv.slice_image(image, config.max_slice_nums, config.scale_resolution,
                                              config.patch_size)
    crops = [source] + [p for row in patches for p in row]
    assert len(crops) == n_img == len(f32["resampler"]) == len(f32["bounds"])
    tensors = {}
    for k, crop in enumerate(crops):
        u8 = torch.from_numpy(np.asarray(crop, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()
        # The normalised pixels are ToTensor + Normalize(0.5, 0.5) of these bytes, in float32: check that
        # reconstruction bit for bit so the test may rebuild them from the bytes.
        rebuilt = ((u8.float() / 255.0) - 0.5) / 0.5
        assert torch.equal(rebuilt, f32["pixels"][k][0]), f"pixel reconstruction of image {k}"
        tensors[f"image{k}.pixels_u8"] = u8
        for tag, run in (("f32", f32), ("bf16", bf16)):
            tensors[f"{tag}.image{k}.vision"] = run["vision"][k][0].to(run_dtype(tag))
            tensors[f"{tag}.image{k}.resampler"] = run["resampler"][k][0].to(run_dtype(tag))
    ids = f32["ids"].to(torch.int64)
    assert torch.equal(ids, bf16["ids"].to(torch.int64))
    tensors["prompt.ids"] = ids
    tensors["prompt.image_bound"] = f32["bounds"].to(torch.int64)
    tensors["prompt.history_ids"] = history_ids.to(torch.int64)
    in_image = torch.zeros(len(ids), dtype=torch.bool)
    for s, e in f32["bounds"].tolist():
        in_image[s:e] = True
    text_pos = torch.nonzero(~in_image).flatten()
    tensors["prompt.text_positions"] = text_pos.to(torch.int64)
    for tag, run in (("f32", f32), ("bf16", bf16)):
        emb = run["embeds"]
        # image rows of the input embeddings are the resampler outputs verbatim (scatter_): stored once, above.
        stacked = torch.cat([r[0] for r in run["resampler"]], 0).to(emb.dtype)
        assert torch.equal(emb[in_image], stacked), f"{tag}: image rows are not the resampler outputs"
        tensors[f"{tag}.embeds.text_rows"] = emb[text_pos].to(run_dtype(tag))
        tensors[f"{tag}.logits.first"] = run["logits"].float()
        tensors[f"{tag}.generated"] = run["generated"].to(torch.int64)
    tensors = {k: v.contiguous() for k, v in sorted(tensors.items())}
    save_file(tensors, str(out / "reference.safetensors"), metadata={"format": "pt"})

    files = ["config.json", "model.safetensors", "tokenizer.model", "tokenizer_config.json",
             "special_tokens_map.json", "image.png", "reference.safetensors"]
    manifest = {
        "what": "MiniCPM-V 2.0 reference stages from the official code on a tiny random checkpoint",
        "reference": {"repo": REF_REPO, "mirror_of": "huggingface.co openbmb/MiniCPM-V-2", "commit": REF_COMMIT,
                      "files": REF_BLOBS},
        "regenerate": "/usr/bin/python3 tests/tools/reference/minicpmv2_fixture.py --ref /work/ref/minicpmv2/src",
        "packages": {"python": sys.version.split()[0], "torch": torch.__version__,
                     "transformers": transformers.__version__, "timm": timm.__version__, "pillow": PIL.__version__,
                     "numpy": np.__version__, "safetensors": safetensors.__version__,
                     "sentencepiece": sentencepiece.__version__, "tokenizers": tokenizers.__version__},
        "seed": args.seed,
        "torch_threads": 1,
        "patched": [
            "timm.create_model (called by MiniCPMV.init_vision_module): embed_dim, depth, num_heads, mlp_ratio, "
            "img_size from config.json vision_config, so the tiny tower replaces the hard-coded 400M one",
            "forward hooks on vpm.patch_embed (pixels), vpm.norm (vision features), resampler, "
            "llm.model.layers[0] (input embeddings), llm.lm_head (first logits); pass-through wrappers on "
            "MiniCPMV._process_list (prompt ids, image_bound) and llm.generate (generated ids): record only",
        ],
        "run": {"entry": "MiniCPMV.chat(image, [{'role': 'user', 'content': question}], None, tokenizer, "
                         "sampling=False, max_new_tokens=16, num_beams=1, repetition_penalty=1.0)",
                "question": QUESTION, "generation_config": f32["gen_cfg"],
                "history": {"answer": HISTORY_ANSWER, "follow_up": FOLLOW_UP},
                "answer_f32": f32["answer"], "answer_bf16": bf16["answer"],
                "dtypes": {"f32": "model.to(torch.float32) with the bf16 weights widened",
                           "bf16": "model.to(torch.bfloat16), as the real checkpoint runs"}},
        "plan": {"image": list(IMAGE_SIZE), "grid": grid, "overview": list(source.size),
                 "slice": list(crops[1].size) if len(crops) > 1 else None, "encoded_images": n_img},
        "tensors": {
            "image<k>.pixels_u8": "U8 [3,H,W]: the bytes of encoded image k (0 overview, then slices row-major) "
                                  "as the official PIL slicing made them; the model input is "
                                  "((x/255) - 0.5)/0.5 in float32 (checked bit-exact when generated)",
            "<dtype>.image<k>.vision": "vpm.forward_features output [h*w, C] (after vpm.norm, last block dropped)",
            "<dtype>.image<k>.resampler": "resampler output [query_num, D]; also the image rows of the input "
                                          "embeddings, scattered verbatim",
            "prompt.ids": "I64 [T]: input_ids of the prompt (BOS first; <unk> in image slots)",
            "prompt.history_ids": "I64: prompt ids of the chat [user question (with the image), assistant "
                                  "run.history.answer, user run.history.follow_up]",
            "prompt.image_bound": "I64 [n,2]: [start, end) of each image slot (after <image>, up to </image>)",
            "prompt.text_positions": "I64 [T - n*query_num]: the positions outside image slots",
            "<dtype>.embeds.text_rows": "input embeddings at prompt.text_positions (embed_tokens * scale_emb)",
            "<dtype>.logits.first": "F32 [vocab]: logits of the first generated position",
            "<dtype>.generated": "I64 [16]: the greedy token ids (generate()'s leading BOS placeholder removed)",
        },
        "sha256": {f: hashlib.sha256((out / f).read_bytes()).hexdigest() for f in files},
        "bytes": {f: (out / f).stat().st_size for f in files},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    total = sum(manifest["bytes"].values())
    print(f"wrote {out}: {len(files) + 1} files, {total / 1e6:.2f} MB; grid {grid}, {n_img} encoded images, "
          f"{len(ids)} prompt positions")
    print(f"f32 answer ids {f32['generated'].tolist()}")
    print(f"bf16 answer ids {bf16['generated'].tolist()}")


def run_dtype(tag):
    import torch
    return torch.float32 if tag == "f32" else torch.bfloat16


if __name__ == "__main__":
    main()
