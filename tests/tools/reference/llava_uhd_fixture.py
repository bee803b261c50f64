#!/usr/bin/env python3
"""Reference fixture for the llava-uhd family: runs the OFFICIAL LLaVA-UHD ECCV code end to end on a small random
checkpoint and writes what every stage gives to tests/data/reference/llava-uhd (tests/parity/
test_reference_llava_uhd.cpp compares the engine against it).

Reference: GitHub thunlp/LLaVA-UHD, branch LLaVA-UHD-v1, commit dd7f6cc22614a1df1b6f4510f83273dcf20ae565
(spec shared/spec/llava-uhd.md §0). Its source is NOT part of this repository; get it with

    git clone --branch LLaVA-UHD-v1 https://github.com/thunlp/LLaVA-UHD /work/ref/llava-uhd/src
    git -C /work/ref/llava-uhd/src checkout dd7f6cc22614a1df1b6f4510f83273dcf20ae565
    # or, from a bare mirror:  git --git-dir=<mirror> archive dd7f6cc2... | tar -x -C /work/ref/llava-uhd/src
    #                          echo dd7f6cc22614a1df1b6f4510f83273dcf20ae565 > /work/ref/llava-uhd/COMMIT

and pass --reference (default $UHDLENS_LLAVA_UHD_SRC or /work/ref/llava-uhd/src). The script checks the commit
(`git rev-parse HEAD` of a checkout, or a COMMIT file beside an exported tree) before running anything.

Run with Debian's interpreter; it makes its own venv (--system-site-packages, so Debian's python3-torch 1.13 and
python3-torchvision 0.14 are used, and `pip install --no-deps` of llava_uhd_requirements.txt) under
$XDG_CACHE_HOME/uhdlens-reference/llava-uhd-venv and re-runs itself there:

    /usr/bin/python3 tests/tools/reference/llava_uhd_fixture.py [--reference DIR] [--out DIR]

What runs unmodified: slice_image_minicpm, CLIPImageProcessor.preprocess, conv_templates['vicuna_v1'],
tokenizer_image_token, load_pretrained_model (LlavaLlamaForCausalLM + CLIPVisionTower.load_model ->
AdaptCLIPVisionModel), encode_images / AdaptSpatialResampler / prepare_inputs_labels_for_multimodal and
LlavaLlamaForCausalLM.generate (greedy). The few monkeypatches (listed in manifest.json) only make it run on a CPU
in float32 with a tiny vocabulary; none changes a formula.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
REQUIREMENTS = HERE / "llava_uhd_requirements.txt"
REF_REPO = "https://github.com/thunlp/LLaVA-UHD"
REF_BRANCH = "LLaVA-UHD-v1"
REF_COMMIT = "dd7f6cc22614a1df1b6f4510f83273dcf20ae565"
DEFAULT_REF = os.environ.get("UHDLENS_LLAVA_UHD_SRC", "/work/ref/llava-uhd/src")
DEFAULT_OUT = REPO / "tests" / "data" / "reference" / "llava-uhd"
SEED = int(os.environ.get("UHDLENS_FIXTURE_SEED", "3"))
QUESTION = "What is written on the sign, and what colour is it?"
IMAGE_SIZE = (510, 300)  # -> grid 2x1 (slices 308x364 = 22x26 patches), overview 434x252 (31x18): both fitted
MAX_NEW_TOKENS = 16
# A second turn (ids only): text right after "</s>" is where the slow LlamaTokenizer's legacy flag matters.
ANSWER1 = "It says EXIT 42, in red letters."
QUESTION2 = "And the shape below it?"


# --- venv ----------------------------------------------------------------------------------------------------------

def venv_dir() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "uhdlens-reference" / "llava-uhd-venv"


def ensure_venv():
    """Re-executes this script inside the venv (made / updated when the requirements changed)."""
    venv = venv_dir()
    if Path(sys.prefix).resolve() == venv.resolve():
        return
    stamp = venv / "requirements.sha256"
    want = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    py = venv / "bin" / "python"
    if not py.exists() or not stamp.exists() or stamp.read_text().strip() != want:
        print(f"[fixture] creating venv {venv}", file=sys.stderr)
        subprocess.check_call(["/usr/bin/python3", "-m", "venv", "--system-site-packages", "--clear", str(venv)])
        subprocess.check_call([str(py), "-m", "pip", "install", "--quiet", "--no-deps", "-r", str(REQUIREMENTS)])
        stamp.write_text(want + "\n")
    os.execv(str(py), [str(py), str(Path(__file__).resolve())] + sys.argv[1:])


def check_reference(src: Path):
    how = (f"Fetch it: git clone --branch {REF_BRANCH} {REF_REPO} {src} && git -C {src} checkout {REF_COMMIT} "
           f"(or export that commit from a mirror into {src} and write the commit id to {src.parent / 'COMMIT'}).")
    if not (src / "llava" / "slice_process.py").is_file():
        sys.exit(f"error: the LLaVA-UHD reference source is not at {src}. {how}")
    commit = None
    if (src / ".git").exists():
        commit = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
    elif (src.parent / "COMMIT").is_file():
        commit = (src.parent / "COMMIT").read_text().strip()
    if commit != REF_COMMIT:
        sys.exit(f"error: {src} is at commit {commit or 'unknown'}, expected {REF_COMMIT}. {how}")
    return commit


# --- the tiny checkpoint ---------------------------------------------------------------------------------------------

def train_tokenizer(out: Path, vocab: int):
    """A Llama-style SentencePiece model (BPE, byte fallback so <0x0A> is id 13, identity normalisation, dummy
    prefix, split digits, <unk>=0 <s>=1 </s>=2, no pad) trained on the repository's tiny corpus."""
    import sentencepiece as spm
    lines = [l for l in (REPO / "resources" / "text" / "tiny-corpus.txt").read_text(encoding="utf-8").splitlines()
             if l and all(ord(c) < 128 for c in l)]
    lines += ["A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, "
              "detailed, and polite answers to the user's questions.", "USER: ASSISTANT:", QUESTION]
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_prefix=str(out / "tokenizer"), model_type="bpe", vocab_size=vocab,
        byte_fallback=True, split_digits=True, normalization_rule_name="identity", remove_extra_whitespaces=False,
        add_dummy_prefix=True, allow_whitespace_only_pieces=True, character_coverage=1.0, unk_id=0, bos_id=1,
        eos_id=2, pad_id=-1, num_threads=1, minloglevel=2)
    (out / "tokenizer.vocab").unlink()
    # As Vicuna v1.5's tokenizer_config.json (slow LlamaTokenizer, BOS added, no EOS, legacy=False).
    (out / "tokenizer_config.json").write_text(json.dumps({
        "add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
        "pad_token": None, "clean_up_tokenization_spaces": False, "legacy": False, "model_max_length": 2048,
        "padding_side": "right", "sp_model_kwargs": {}, "tokenizer_class": "LlamaTokenizer"}, indent=2) + "\n")


def fill_(name, t, g):
    """Deterministic, deliberately non-trivial values: attention logits of a few units (not uniform softmax),
    non-zero biases, norm gains != 1, so a wrong scale, activation or order shows up. Token embeddings, resampler
    queries and the CLIP stem are small, as in the real checkpoints (Llama/Vicuna embeddings ~0.02, the
    resampler's trunc_normal(0.02) queries, CLIP's ~0.02 position table): the norms right after them then see a
    mean square of ~1e-4..1e-3, where their eps (rms 1e-5, CLIP 1e-5, resampler 1e-6) changes the result by
    about 1%, so a wrong eps fails the 1e-4 comparison."""
    import torch
    if name.endswith("mm_projector.pos_embed"):
        return  # the frozen 2D sin-cos table the module computes itself (stored, as in the release)
    shape = t.shape
    if t.dim() == 1 and ("norm" in name or "ln_" in name or "layrnorm" in name or "layer_norm" in name):
        base = 1.0 if name.endswith("weight") else 0.0
        t.copy_(base + 0.2 * torch.randn(shape, generator=g))
    elif "class_embedding" in name or "position_embedding" in name:
        t.copy_(0.02 * torch.randn(shape, generator=g))
    elif t.dim() == 1:  # biases
        t.copy_(0.1 * torch.randn(shape, generator=g))
    elif "embed_tokens" in name or name.endswith("mm_projector.query"):
        t.copy_(0.02 * torch.randn(shape, generator=g))
    elif "patch_embedding" in name:  # [C, 3, 14, 14] on pixels of unit scale -> outputs of ~0.02
        t.copy_(0.02 / t[0].numel() ** 0.5 * torch.randn(shape, generator=g))
    else:  # matrices [out, in]; proj is right-multiplied [in, out]
        fan_in = shape[0] if name.endswith("mm_projector.proj") else t[0].numel()
        gain = 1.5 if any(k in name for k in ("q_proj", "k_proj", "in_proj")) else 1.0
        t.copy_(gain / fan_in ** 0.5 * torch.randn(shape, generator=g))


def write_checkpoint(out: Path):
    import torch
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig
    from llava.model.language_model.llava_llama import LlavaConfig, LlavaLlamaForCausalLM
    from llava.model.multimodal_encoder.adapt_clip_vision_model import AdaptCLIPVisionModel

    vocab = 400
    train_tokenizer(out, vocab)
    g = torch.Generator().manual_seed(SEED)

    # CLIP ViT-L/14-336 shrunk: width 64, 4 heads, 3 layers (features of layer -2 = after layer 2), same 336 px
    # input and 24x24 (+CLS) position table, quick_gelu, eps 1e-5, pre_layrnorm.
    vcfg = CLIPVisionConfig(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_hidden_layers=3,
                            image_size=336, patch_size=14, projection_dim=64, hidden_act="quick_gelu",
                            layer_norm_eps=1e-5, num_channels=3)
    vcfg.architectures = ["CLIPVisionModel"]
    vdir = out / "vision"
    vdir.mkdir(parents=True, exist_ok=True)
    vcfg.save_pretrained(vdir)
    # openai/clip-vit-large-patch14-336's preprocessor_config.json (CLIPImageProcessor.from_pretrained reads it).
    (vdir / "preprocessor_config.json").write_text(json.dumps({
        "crop_size": 336, "do_center_crop": True, "do_normalize": True, "do_resize": True,
        "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3, "size": 336}, indent=2) + "\n")
    vision = AdaptCLIPVisionModel(vcfg)
    vsd = vision.state_dict()
    for k in sorted(vsd):
        fill_(k, vsd[k], g)
    save_file({k: v.to(torch.bfloat16).contiguous() for k, v in vsd.items()}, str(vdir / "model.safetensors"),
              metadata={"format": "pt"})

    # Vicuna shrunk: width 256 (so the resampler, built with hidden_size // 128 heads, has 2 heads of 128),
    # 4 heads of 64, 2 layers, SwiGLU 512, rms eps 1e-5; projector adapt_spatial_resampler (144 queries).
    cfg = LlavaConfig(vocab_size=vocab, hidden_size=256, intermediate_size=512, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=4096,
                      rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    cfg.architectures = ["LlavaLlamaForCausalLM"]
    cfg.mm_vision_tower = "./vision"  # relative: the script runs the reference with this folder as cwd
    cfg.mm_projector_type = "adapt_spatial_resampler"
    cfg.mm_hidden_size = vcfg.hidden_size
    cfg.mm_vision_select_layer = -2
    cfg.mm_vision_select_feature = "patch"
    cfg.mm_patch_merge_type = "flat"
    cfg.mm_use_im_start_end = False
    cfg.mm_use_im_patch_token = False
    cfg.image_aspect_ratio = "pad"
    cfg.tokenizer_model_max_length = 2048
    cfg.tokenizer_padding_side = "right"
    cfg.use_mm_proj = True
    cfg.torch_dtype = "bfloat16"
    cfg.save_pretrained(out)
    model = LlavaLlamaForCausalLM(cfg)  # vision tower delay-loaded: no vision parameters here
    sd = model.state_dict()
    for k in sorted(sd):
        fill_(k, sd[k], g)
    tensors = {k: v.to(torch.bfloat16).contiguous() for k, v in sd.items()}
    assert not any(k.startswith("model.vision_tower") for k in tensors), "vision tower weights in the LLM folder"
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    # The stage-1 adapter file as the release ships it (torch.save'd dict of model.mm_projector.* tensors).
    torch.save({k: v for k, v in tensors.items() if k.startswith("model.mm_projector.")}, out / "mm_projector.bin")


def make_image(path: Path):
    """A smooth synthetic screenshot-like image (compresses well, has structure at several scales)."""
    import numpy as np
    from PIL import Image, ImageDraw
    w, h = IMAGE_SIZE
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 37.0) * np.cos(y / 23.0)
    gch = 60 + 150 * (x / w)
    b = 200 - 150 * (y / h)
    img = Image.fromarray(np.stack([r, gch, b], -1).clip(0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    d.rectangle([40, 30, 220, 120], fill=(240, 240, 240), outline=(20, 20, 20), width=3)
    d.text((55, 60), "EXIT 42", fill=(200, 0, 0))
    d.ellipse([300, 150, 470, 280], fill=(30, 90, 200))
    for i in range(8):
        d.line([(0, 200 + 10 * i), (250, 140 + 10 * i)], fill=(10 * i, 255 - 20 * i, 40), width=2)
    img.save(path, optimize=False)


# --- running the reference -------------------------------------------------------------------------------------------

def install_patches(patches):
    import torch
    # 1. slice_process.py imports imgaug for aug_image (training augmentation only, never called at inference);
    #    imgaug pulls in opencv/scikit-image/shapely, so a stub stands in for it.
    m = types.ModuleType("imgaug")
    m.augmenters = types.ModuleType("imgaug.augmenters")
    sys.modules["imgaug"] = m
    sys.modules["imgaug.augmenters"] = m.augmenters
    patches.append("sys.modules['imgaug'] stub: llava/slice_process.py imports it at module level for aug_image "
                   "(training augmentation), which inference never calls")

    import llava.model.builder as builder

    class _TorchF32:  # torch as builder.py sees it, with float16 meaning float32
        def __getattr__(self, name):
            return torch.float32 if name == "float16" else getattr(torch, name)

    builder.torch = _TorchF32()
    patches.append("llava.model.builder.torch.float16 -> torch.float32: load_pretrained_model hard-codes "
                   "torch_dtype=float16 (CUDA inference); the fixture runs it on the CPU in float32")


def run_reference(out: Path, patches):
    import numpy as np
    import torch
    from PIL import Image
    import llava.slice_process as slice_process
    from llava.constants import IMAGE_TOKEN_INDEX, DEFAULT_IMAGE_TOKEN
    from llava.conversation import conv_templates
    from llava.mm_utils import tokenizer_image_token, get_model_name_from_path
    from llava.model.builder import load_pretrained_model
    from llava.utils import disable_torch_init

    torch.manual_seed(SEED)
    os.chdir(out)  # config.json's mm_vision_tower is "./vision"
    disable_torch_init()
    model_path = str(out)
    model_name = get_model_name_from_path(model_path)
    assert "llava" in model_name.lower(), model_name
    tokenizer, model, image_processor, context_len = load_pretrained_model(model_path, None, model_name,
                                                                           device="cpu")
    model.eval()
    assert model.dtype == torch.float32 and model.get_vision_tower().dtype == torch.float32

    # The release hard-codes the separators as ids of the 32000-piece Llama vocabulary (slice_process.py:
    # DOT_TOKEN = 29892 ',', NEWLINE_TOKEN = 13 '<0x0A>'). In the tiny vocabulary <0x0A> is also 13 (byte pieces
    # start at 3); ',' gets its own id, so DOT_TOKEN is set to the id of the same piece.
    comma = tokenizer.convert_tokens_to_ids(",")
    newline = tokenizer.convert_tokens_to_ids("<0x0A>")
    assert newline == slice_process.NEWLINE_TOKEN == 13, newline
    assert comma != tokenizer.unk_token_id
    slice_process.DOT_TOKEN = comma
    patches.append(f"llava.slice_process.DOT_TOKEN 29892 -> {comma}: the id of ',' in the tiny vocabulary "
                   f"(NEWLINE_TOKEN 13 = '<0x0A>' is unchanged: it is 13 here too)")

    # --- llava/eval/model_vqa_mmbench.py, one question (no 1024 pre-resize: that is model_vqa_loader's) ---------
    image = Image.open(out / "image.png").convert("RGB")
    qs = DEFAULT_IMAGE_TOKEN + "\n" + QUESTION
    conv = conv_templates["vicuna_v1"].copy()  # the eval scripts' --conv-mode vicuna_v1; train.sh --version v1
    conv.append_message(conv.roles[0], qs)
    conv.append_message(conv.roles[1], None)
    prompt = conv.get_prompt()
    input_ids = tokenizer_image_token(prompt, tokenizer, IMAGE_TOKEN_INDEX, return_tensors="pt").unsqueeze(0)
    # A follow-up turn as llava/serve/cli.py builds it (the answer stored as text in conv.messages).
    conv2 = conv_templates["vicuna_v1"].copy()
    conv2.append_message(conv2.roles[0], qs)
    conv2.append_message(conv2.roles[1], ANSWER1)
    conv2.append_message(conv2.roles[0], QUESTION2)
    conv2.append_message(conv2.roles[1], None)
    prompt2 = conv2.get_prompt()
    input_ids2 = tokenizer_image_token(prompt2, tokenizer, IMAGE_TOKEN_INDEX, return_tensors="pt")
    source_image, patches_img, best_grid, ind_tokens = slice_process.slice_image_minicpm(
        image, max_slice_nums=7, scale_resolution=336, patch_size=14, never_split=False)
    assert best_grid is not None, "the test image must be sliced"
    processor = image_processor
    source_tensors = processor.preprocess(source_image, do_resize=False, do_center_crop=False, do_rescale=True,
                                          do_normalize=True, return_tensors="pt")["pixel_values"]
    patch_tensors = processor.preprocess(patches_img, do_resize=False, do_center_crop=False, do_rescale=True,
                                         do_normalize=True, return_tensors="pt")["pixel_values"]
    images = [source_tensors[0]]  # the script's .half().cuda() dropped: float32 on the CPU
    patch_images = [patch_tensors]

    # --- capture every stage ----------------------------------------------------------------------------------
    cap = {"vision": [], "resampler": []}
    tower = model.get_vision_tower()
    h1 = tower.register_forward_hook(lambda m, i, o: cap["vision"].extend(f.detach().clone() for f in o))
    h2 = model.get_model().mm_projector.register_forward_hook(
        lambda m, i, o: cap["resampler"].append(o.detach().clone()))
    orig = model.prepare_inputs_labels_for_multimodal

    def prepare(*a, **k):
        r = orig(*a, **k)
        if r[4] is not None:
            cap.setdefault("embeds", r[4].detach().clone())
        return r

    model.prepare_inputs_labels_for_multimodal = prepare
    with torch.inference_mode():
        gen = model.generate(input_ids, images=images, image_sizes=[source_image.size], patch_images=patch_images,
                             ind_tokens=[ind_tokens], do_sample=False, temperature=0, top_p=None, num_beams=1,
                             max_new_tokens=MAX_NEW_TOKENS, use_cache=True, output_scores=True,
                             return_dict_in_generate=True)
        # The same logits without the KV-cache path, as a consistency check of the capture.
        direct = model(inputs_embeds=cap["embeds"]).logits[0, -1].float()
    h1.remove()
    h2.remove()
    patches.append("model.generate(..., max_new_tokens=16, output_scores=True, return_dict_in_generate=True) "
                   "instead of max_new_tokens=1024: the scores are the first position's logits (greedy, no "
                   "processors); forward hooks on the vision tower and mm_projector and a wrapper around "
                   "prepare_inputs_labels_for_multimodal only copy their outputs")
    # With inputs_embeds only, generate() starts the sequence with a BOS it never fed: the new ids are the tail.
    ids = gen.sequences[0, -len(gen.scores):].tolist()
    logits = gen.scores[0][0].float()
    assert torch.allclose(logits, direct, atol=1e-5, rtol=1e-5), (logits - direct).abs().max()
    assert len(ids) == MAX_NEW_TOKENS and tokenizer.eos_token_id not in ids, ids

    # --- pixels: the 8-bit images the processor normalised, and proof that normalising them as
    #     CLIPImageProcessor does (x*(1/255) in float64 -> float32, then (x-mean)/std in float32) gives its
    #     pixel_values bit for bit, so the C++ test can rebuild the exact tensors from the PNGs.
    order = list(patches_img) + [source_image]  # encoding order of concat_src_patch_images: slices, then overview
    tensors = list(patch_tensors) + [source_tensors[0]]
    mean = np.array(processor.image_mean, dtype=np.float32)
    std = np.array(processor.image_std, dtype=np.float32)
    names = []
    for k, (img, ref) in enumerate(zip(order, tensors)):
        name = "overview.png" if k == len(order) - 1 else f"slice{k}.png"
        img.save(out / name, optimize=False)
        u8 = np.asarray(Image.open(out / name).convert("RGB"))
        rebuilt = (((u8 * (1 / 255)).astype(np.float32) - mean) / std).transpose(2, 0, 1)
        assert np.array_equal(rebuilt, ref.numpy()), f"{name}: pixel rebuild differs"
        names.append(name)

    n = len(order)
    assert len(cap["vision"]) == n and len(cap["resampler"]) == n
    t = {"prompt_ids": input_ids[0].to(torch.int64), "prompt_ids_turn2": input_ids2.to(torch.int64), "ind_tokens": torch.tensor(ind_tokens, dtype=torch.int64),
         "embeds": cap["embeds"][0].float(), "logits": logits, "greedy_ids": torch.tensor(ids, dtype=torch.int64)}
    for k in range(n):
        t[f"image{k}.vision"] = cap["vision"][k][0].float()
        t[f"image{k}.resampler"] = cap["resampler"][k][0].float()
    info = {
        "prompt": prompt, "question": QUESTION, "answer1": ANSWER1, "question2": QUESTION2, "prompt_turn2": prompt2,
        "tokenizer_legacy": bool(tokenizer.legacy), "conv_template": "vicuna_v1", "grid": best_grid,
        "ind_tokens": ind_tokens, "encoded_images": [
            {"file": nm, "size": list(img.size), "patch_grid": [img.size[1] // 14, img.size[0] // 14],
             "role": "overview" if k == n - 1 else "slice"} for k, (nm, img) in enumerate(zip(names, order))],
        "encoding_order": "slices row-major, then the overview (concat_src_patch_images); image<k> tensors follow it",
        "greedy_ids": ids, "greedy_text": tokenizer.decode(ids, skip_special_tokens=True),
        "comma_id": comma, "newline_id": newline, "positions": int(cap["embeds"].shape[1]),
        "max_abs_logit_vs_direct_forward": float((logits - direct).abs().max()),
    }
    return t, info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reference", default=DEFAULT_REF, help="LLaVA-UHD source tree at %s" % REF_COMMIT)
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    args = ap.parse_args()
    src = Path(args.reference).resolve()
    commit = check_reference(src)
    ensure_venv()
    sys.path.insert(0, str(src))
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    # Only a folder this script wrote before (it has our manifest) is cleared; anything else must be empty.
    if any(out.iterdir()):
        try:
            ours = json.loads((out / "manifest.json").read_text())["reference"]["commit"] == REF_COMMIT
        except (OSError, ValueError, KeyError, TypeError):
            ours = False
        if not ours:
            sys.exit(f"error: {out} is not empty and holds no fixture manifest: refusing to overwrite it")
        for f in sorted(out.rglob("*"), reverse=True):
            f.unlink() if f.is_file() else f.rmdir()

    import torch
    torch.set_num_threads(1)  # reproducible reductions
    patches = []
    install_patches(patches)
    os.chdir(out)  # config.json's mm_vision_tower "./vision" is resolved against the working directory
    write_checkpoint(out)
    make_image(out / "image.png")
    tensors, info = run_reference(out, patches)
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in sorted(tensors.items())}, str(out / "reference.safetensors"),
              metadata={"format": "pt"})

    import importlib.metadata as md
    import numpy
    import PIL
    import torchvision
    versions = {p: md.version(p) for p in ("transformers", "tokenizers", "sentencepiece", "accelerate",
                                           "safetensors", "huggingface_hub")}
    versions.update(torch=torch.__version__, torchvision=torchvision.__version__, pillow=PIL.__version__,
                    numpy=numpy.__version__, python=sys.version.split()[0])
    files = sorted(str(f.relative_to(out)) for f in out.rglob("*") if f.is_file())
    manifest = {
        "reference": {"repo": REF_REPO, "branch": REF_BRANCH, "commit": commit,
                      "files": ["llava/slice_process.py", "llava/model/llava_arch.py",
                                "llava/model/language_model/llava_llama.py", "llava/model/builder.py",
                                "llava/model/multimodal_encoder/clip_encoder.py",
                                "llava/model/multimodal_encoder/adapt_clip_vision_model.py",
                                "llava/model/multimodal_projector/adapt_spatial_resampler.py",
                                "llava/model/multimodal_projector/builder.py", "llava/conversation.py",
                                "llava/mm_utils.py", "llava/eval/model_vqa_mmbench.py"]},
        "packages": versions, "seed": SEED, "monkeypatches": patches,
        "checkpoint": {"model": ".", "vision": "vision", "dtype": "bfloat16 (as stored; the reference upcasts "
                       "to float32 on load)", "adapter": "mm_projector.bin (torch.save by the official code; converted and checked by PickledProjectorConvertsAndAnswersAsTheReference)"},
        "run": info, "dtype": "float32, CPU, torch.set_num_threads(1)",
        "regenerate": "/usr/bin/python3 tests/tools/reference/llava_uhd_fixture.py --reference " + DEFAULT_REF,
        "sha256": {f: hashlib.sha256((out / f).read_bytes()).hexdigest() for f in files},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    total = sum((out / f).stat().st_size for f in files)
    print(f"[fixture] wrote {len(files) + 1} files, {total / 1e6:.2f} MB, to {out}")
    print(json.dumps(info, indent=1)[:2000])


if __name__ == "__main__":
    main()
