"""Qwen2-VL and Qwen2.5-VL fixtures (Qwen2VLForConditionalGeneration,
Qwen2_5_VLForConditionalGeneration, their *Model) and their goldens.

Tiny random checkpoints made with transformers (the config classes of a small
vision tower and text model, from_config, save_pretrained), each with a
Qwen2VLImageProcessor (PIL backend; small patches, min_pixels / max_pixels so
smart_resize rounds, shrinks and grows the images), a Qwen2 tokenizer built with
the tokenizers library (<|vision_start|>, <|image_pad|>, <|vision_end|>,
<|video_pad|> added special tokens) and the processor class, saved beside it.
The PNGs tests/fixtures/images/qvl-*.png are made here (a few sizes).

Each golden tests/fixtures/goldens/<name>.json holds, per prompt and image, the
processor's token ids, image_grid_thw and the resized size, the attention of
every decoder head from transformers' eager attention (output_attentions=True),
every vision tower head (recorded from its eager attention, each window's
probabilities written into full rows, zero outside the window, in row-major
patch order), both in float64 on the fp32-loaded weights, the tolerance (1e-5,
or 1.25x fp32's own error), and the fp32 logits of the last position. Read by
tests/test_qwen2_vl.c and tests/cli/qwen2_vl.sh.

    HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/fam_qwen2_vl.py
"""

import json
import os

import numpy as np
import torch
from PIL import Image
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (Qwen2Tokenizer, Qwen2VLImageProcessorPil, Qwen2VLProcessor,
                          Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLModel,
                          Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration,
                          Qwen2_5_VLModel, Qwen2_5_VLProcessor)
from transformers.models.qwen2_vl import modeling_qwen2_vl as mq2
from transformers.models.qwen2_5_vl import modeling_qwen2_5_vl as mq25

import famgen
from transformers import processing_utils

# transformers checks a processor's video processor against a class that needs torchvision,
# absent here: the image-only processors skip that check (nothing else changes)
_check = processing_utils.ProcessorMixin.check_argument_for_proper_class
processing_utils.ProcessorMixin.check_argument_for_proper_class = (
    lambda self, name, arg: None if name == "video_processor" else _check(self, name, arg))

IMAGES = os.path.join(famgen.FIXTURES, "images")
SIZES = [(21, 13), (40, 50), (6, 14)]  # width, height: rounded, shrunk, grown by smart_resize
PROMPTS = ["<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is this?"
           "<|im_end|>\n<|im_start|>assistant\n",
           "<|vision_start|><|image_pad|><|vision_end|> a red cat on the mat"]
CORPUS = ["user: what is this? assistant: a cat on a mat.",
          "describe the picture: a red cat, a blue dog, the sun and the sea.",
          "what is in the image? a house, a tree and a car."] * 4
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>",
            "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]


def make_images():
    rng = np.random.default_rng(5)
    paths = []
    for w, h in SIZES:
        y, x = np.mgrid[0:h, 0:w]
        px = np.stack([(x * 255 // max(w - 1, 1)), (y * 255 // max(h - 1, 1)),
                       rng.integers(0, 256, (h, w))], -1).astype(np.uint8)
        p = os.path.join(IMAGES, "qvl-%dx%d.png" % (w, h))
        Image.fromarray(px, "RGB").save(p)
        paths.append(p)
    return paths


def tokenizer():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=120, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    tok.decoder = decoders.ByteLevel()
    return Qwen2Tokenizer(tokenizer_object=tok, eos_token="<|endoftext|>",
                          pad_token="<|endoftext|>", unk_token=None,
                          extra_special_tokens={"image_token": "<|image_pad|>",
                                                "video_token": "<|video_pad|>",
                                                "vision_bos_token": "<|vision_start|>",
                                                "vision_eos_token": "<|vision_end|>"})


class Recorder:
    """The probabilities of every vision attention call, by module, in call order."""

    def __init__(self):
        self.calls = []
        self.orig = (mq2.eager_attention_forward, mq25.eager_attention_forward)

    def __enter__(self):
        def hook(orig):
            def f(module, *a, **kw):
                out, w = orig(module, *a, **kw)
                if isinstance(module, (mq2.VisionAttention, mq25.Qwen2_5_VLVisionAttention)):
                    self.calls.append((module, w[0].detach()))
                return out, w
            return f
        mq2.eager_attention_forward = hook(self.orig[0])
        mq25.eager_attention_forward = hook(self.orig[1])
        return self

    def __exit__(self, *a):
        mq2.eager_attention_forward, mq25.eager_attention_forward = self.orig


def hf_order(gh, gw, merge, window_index):
    """HF's token k -> its row-major patch index: 2x2 (merge) blocks, blocks in row-major
    order (Qwen2.5-VL: the blocks reordered by window_index)."""
    mw = gw // merge
    out = []
    groups = window_index if window_index is not None else range((gh // merge) * mw)
    for g in groups:
        br, bc = divmod(int(g), mw)
        for u in range(merge * merge):
            mr, mc = divmod(u, merge)
            out.append((br * merge + mr) * gw + bc * merge + mc)
    return out


def unpatchify(pv, gh, gw, P, T, order):
    """The processor's (C, H, W) image from its patches (HF order; each repeated T times)."""
    C = pv.shape[1] // (T * P * P)
    out = torch.zeros(C, gh * P, gw * P, dtype=pv.dtype)
    x = pv.reshape(-1, C, T, P, P)
    for k, idx in enumerate(order):
        r, c = divmod(idx, gw)
        for t in range(T):
            assert torch.equal(x[k, :, t], x[k, :, 0])
        out[:, r * P:(r + 1) * P, c * P:(c + 1) * P] = x[k, :, 0]
    return out


def vision_maps(calls, blocks, n, order):
    """(layers, heads, n, n) in row-major patch order from the chunks of each layer."""
    per = {id(b.attn): [] for b in blocks}
    for mod, w in calls:
        per[id(mod)].append(w)
    layers = []
    for b in blocks:
        chunks = per[id(b.attn)]
        heads = chunks[0].shape[0]
        full = torch.zeros(heads, n, n, dtype=chunks[0].dtype)
        at = 0
        for w in chunks:
            k = w.shape[-1]
            full[:, at:at + k, at:at + k] = w
            at += k
        assert at == n
        idx = torch.tensor(order)
        rm = torch.zeros_like(full)
        rm[:, idx[:, None], idx[None, :]] = full
        layers.append(rm)
    return torch.stack(layers)


def flat_config(path):
    """config.json as the hub's Qwen2-VL files have it: the text settings at the top level
    (no text_config), rope_scaling {type: mrope, mrope_section} and rope_theta beside them."""
    f = os.path.join(path, "config.json")
    cfg = json.load(open(f))
    text = cfg.pop("text_config")
    rope = text.pop("rope_parameters")
    for k in ("model_type", "layer_types", "dtype"):
        text.pop(k, None)
    cfg.update(text)
    cfg["rope_theta"] = rope["rope_theta"]
    cfg["rope_scaling"] = {"type": "mrope", "mrope_section": rope["mrope_section"]}
    json.dump(cfg, open(f, "w"), indent=2)


def module_layout(path):
    """The checkpoint under transformers 5's module names (model.language_model.,
    model.visual., lm_head) instead of save_pretrained's (model., visual., lm_head)."""
    from safetensors.torch import load_file, save_file
    f = os.path.join(path, "model.safetensors")
    out = {}
    for k, t in load_file(f).items():
        if k.startswith("model."):
            k = "model.language_model." + k[len("model."):]
        elif k.startswith("visual."):
            k = "model." + k
        out[k] = t.contiguous()
    save_file(out, f, metadata={"format": "pt"})


def tower(model):
    return model.model.visual if hasattr(model, "lm_head") else model.visual


def build(name, cls, cfg, proc_cls, seed, note, dtype=torch.float32, images=None, prompts=PROMPTS,
          proc_kw=None, post=None):
    path = os.path.join(famgen.FIXTURES, name)
    famgen.reset_dir(path)
    tok = tokenizer()
    v = cfg.vision_config
    ip = Qwen2VLImageProcessorPil(patch_size=v.patch_size, merge_size=v.spatial_merge_size,
                                  temporal_patch_size=v.temporal_patch_size,
                                  **(proc_kw or {"min_pixels": 8 * 8 * 4,
                                                 "max_pixels": 8 * 8 * 8}))
    proc = proc_cls(image_processor=ip, tokenizer=tok)
    cfg.text_config.vocab_size = len(tok)
    cfg.text_config.bos_token_id = cfg.text_config.eos_token_id = tok.eos_token_id
    cfg.image_token_id = tok.convert_tokens_to_ids("<|image_pad|>")
    cfg.video_token_id = tok.convert_tokens_to_ids("<|video_pad|>")
    cfg.vision_start_token_id = tok.convert_tokens_to_ids("<|vision_start|>")
    cfg.vision_end_token_id = tok.convert_tokens_to_ids("<|vision_end|>")
    torch.manual_seed(seed)
    model = famgen.randomize(cls(cfg), seed, 0.4).eval().to(dtype)
    model.save_pretrained(path)
    # the processor's parts through their classes (its own save_pretrained needs the video
    # processor, which needs torchvision)
    ip.save_pretrained(path)
    tok.save_pretrained(path)
    if post:
        post(path)
    for f in os.listdir(path):
        os.chmod(os.path.join(path, f), 0o644)

    ref = cls.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
    r64 = cls.from_pretrained(path, dtype=torch.float64, attn_implementation="eager").eval()
    proc = proc_cls(image_processor=Qwen2VLImageProcessorPil.from_pretrained(path),
                    tokenizer=Qwen2Tokenizer.from_pretrained(path))
    items, worst = [], 0.0
    for img_path, prompt in zip(images, prompts):
        image = Image.open(img_path)
        inp = proc(images=image, text=prompt, return_tensors="pt")
        ids = inp["input_ids"]
        thw = inp["image_grid_thw"][0].tolist()
        gh, gw = thw[1], thw[2]
        n = gh * gw
        visual = tower(ref)
        window_index = None
        if hasattr(visual, "window_size"):
            from transformers.vision_utils import get_vision_window_index
            window_index, _ = get_vision_window_index(
                inp["image_grid_thw"], visual.spatial_merge_size, visual.window_size,
                visual.patch_size)
            window_index = window_index.tolist()
        order = hf_order(gh, gw, v.spatial_merge_size, None)  # the processor's order
        pixels = unpatchify(inp["pixel_values"], gh, gw, v.patch_size, v.temporal_patch_size,
                            order)
        order = hf_order(gh, gw, v.spatial_merge_size, window_index)
        outs = []
        for m, dt in ((ref, torch.float32), (r64, torch.float64)):
            vis_blocks = tower(m).blocks
            with Recorder() as rec, torch.no_grad():
                o = m(input_ids=ids, pixel_values=inp["pixel_values"].to(dt),
                      image_grid_thw=inp["image_grid_thw"],
                      mm_token_type_ids=inp["mm_token_type_ids"],
                      attention_mask=torch.ones_like(ids), output_attentions=True)
            dec = torch.stack([a[0] for a in o.attentions])
            vis = vision_maps(rec.calls, vis_blocks, n, order)
            logits = o.logits[0, -1] if getattr(o, "logits", None) is not None else None
            outs.append((dec, vis, logits))
        (d32, v32, l32), (d64, v64, _) = outs
        worst = max(worst, (d32.double() - d64).abs().max().item(),
                    (v32.double() - v64).abs().max().item())
        items.append((prompt, os.path.basename(img_path), ids[0].tolist(), thw, pixels, d64, v64,
                      l32))
    tol = max(1e-5, 1.25 * worst)
    parts = ['{"fixture": %s,' % json.dumps(name), ' "source": %s,' % json.dumps(famgen.SOURCE),
             ' "class": %s,' % json.dumps(cls.__name__), ' "note": %s,' % json.dumps(note),
             ' "image_token_id": %d,' % cfg.image_token_id,
             ' "patch_size": %d, "merge_size": %d,' % (v.patch_size, v.spatial_merge_size),
             ' "fp32_vs_fp64": %.3g,' % worst, ' "tolerance": %.3g,' % tol, ' "sentences": [']
    sents = []
    for prompt, img, ids, thw, px, dec, vis, logits in items:
        s = '  {"text": %s,\n   "image": %s,\n' % (json.dumps(prompt), json.dumps("images/" + img))
        s += '   "image_grid_thw": %s,\n' % json.dumps(thw)
        s += '   "pixels": %s,\n' % famgen._dump(px.tolist(), 3)
        s += '   "token_ids": %s,\n' % json.dumps(ids)
        s += '   "attentions": %s,\n' % famgen._dump(dec.tolist(), 4)
        s += '   "vision_attentions": %s' % famgen._dump(vis.tolist(), 4)
        if logits is not None:
            s += ',\n   "logits_last": %s' % famgen._dump(logits.float().tolist(), 1)
        sents.append(s + "}")
    parts.append(",\n".join(sents))
    parts.append(" ]}")
    with open(os.path.join(famgen.GOLDENS, name + ".json"), "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")
    print("%s: %s, tokens %s, fp32 vs fp64 %.2g, tolerance %.2g" %
          (name, cls.__name__, [len(it[2]) for it in items], worst, tol))
    return tol


def build_tower(name, cfg, seed, note, images):
    """A vision tower saved alone (Qwen2VisionTransformerPretrainedModel,
    Qwen2_5_VisionTransformerPretrainedModel) with its image processor; the golden holds
    every head over each image's patches (row-major), fp64 on the fp32 weights."""
    path = os.path.join(famgen.FIXTURES, name)
    famgen.reset_dir(path)
    v = cfg.vision_config
    cls = (mq25.Qwen2_5_VisionTransformerPretrainedModel if hasattr(v, "window_size")
           else mq2.Qwen2VisionTransformerPretrainedModel)
    torch.manual_seed(seed)
    model = famgen.randomize(cls._from_config(v), seed, 0.4).eval()
    model.save_pretrained(path)
    ip = Qwen2VLImageProcessorPil(patch_size=v.patch_size, merge_size=v.spatial_merge_size,
                                  temporal_patch_size=v.temporal_patch_size,
                                  min_pixels=8 * 8 * 4, max_pixels=8 * 8 * 8)
    ip.save_pretrained(path)
    for f in os.listdir(path):
        os.chmod(os.path.join(path, f), 0o644)
    ref = cls.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
    r64 = cls.from_pretrained(path, dtype=torch.float64, attn_implementation="eager").eval()
    ip = Qwen2VLImageProcessorPil.from_pretrained(path)
    items, worst = [], 0.0
    for img_path in images:
        inp = ip(images=Image.open(img_path), return_tensors="pt")
        gh, gw = inp["image_grid_thw"][0].tolist()[1:]
        window_index = None
        if hasattr(ref, "window_size"):
            from transformers.vision_utils import get_vision_window_index
            window_index = get_vision_window_index(inp["image_grid_thw"], ref.spatial_merge_size,
                                                   ref.window_size, ref.patch_size)[0].tolist()
        order = hf_order(gh, gw, v.spatial_merge_size, window_index)
        outs = []
        for m, dt in ((ref, torch.float32), (r64, torch.float64)):
            with Recorder() as rec, torch.no_grad():
                m(inp["pixel_values"].to(dt), grid_thw=inp["image_grid_thw"])
            outs.append(vision_maps(rec.calls, m.blocks, gh * gw, order))
        worst = max(worst, (outs[0].double() - outs[1]).abs().max().item())
        items.append((os.path.basename(img_path), [gh, gw], outs[1]))
    tol = max(1e-5, 1.25 * worst)
    parts = ['{"fixture": %s,' % json.dumps(name), ' "source": %s,' % json.dumps(famgen.SOURCE),
             ' "class": %s,' % json.dumps(cls.__name__), ' "note": %s,' % json.dumps(note),
             ' "fp32_vs_fp64": %.3g,' % worst, ' "tolerance": %.3g,' % tol, ' "images": [']
    parts.append(",\n".join('  {"image": %s, "grid": %s,\n   "attentions": %s}' %
                            (json.dumps("images/" + img), json.dumps(grid), famgen._dump(a.tolist(), 4))
                            for img, grid, a in items))
    parts.append(" ]}")
    with open(os.path.join(famgen.GOLDENS, name + ".json"), "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")
    print("%s: %s, fp32 vs fp64 %.2g, tolerance %.2g" % (name, cls.__name__, worst, tol))


def text(**kw):
    base = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                 "mrope_section": [1, 1, 2]})
    base.update(kw)
    return base


def qwen2_vl(text_kw=None, **vkw):
    vision = dict(depth=3, embed_dim=32, hidden_size=32, num_heads=4, mlp_ratio=2,
                  patch_size=4, spatial_merge_size=2, temporal_patch_size=2)
    vision.update(vkw)
    return Qwen2VLConfig(text_config=text(**(text_kw or {})), vision_config=vision)


def qwen2_5_vl(text_kw=None, **vkw):
    vision = dict(depth=3, hidden_size=32, out_hidden_size=32, intermediate_size=40,
                  num_heads=4, patch_size=4, spatial_merge_size=2, temporal_patch_size=2,
                  window_size=16, fullatt_block_indexes=[1])
    vision.update(vkw)
    return Qwen2_5_VLConfig(text_config=text(**(text_kw or {})), vision_config=vision)


if __name__ == "__main__":
    import sys
    only = sys.argv[1:]
    imgs = make_images()
    todo = [
        ("qwen2-vl-f32", Qwen2VLForConditionalGeneration, lambda: qwen2_vl(), Qwen2VLProcessor, 81,
         "Qwen2VLForConditionalGeneration: vision tower 3 layers (4x4 patches, merge 2, "
         "quick_gelu), text model 2 layers (GQA, mrope_section [1, 1, 2]); images 21x13 and "
         "40x50 (smart_resize rounds and shrinks)", torch.float32, [imgs[0], imgs[1]], None),
        ("qwen2-vl-bf16", Qwen2VLForConditionalGeneration,
         lambda: qwen2_vl(text_kw=dict(num_key_value_heads=4, tie_word_embeddings=True)),
         Qwen2VLProcessor, 82,
         "Qwen2VLForConditionalGeneration, BF16, tied embeddings, config.json as the hub's "
         "(text settings at the top, rope_scaling type mrope); image 6x14 (smart_resize "
         "grows it to min_pixels)", torch.bfloat16, [imgs[2]], flat_config),
        ("qwen2-vl-model-f16", Qwen2VLModel, lambda: qwen2_vl(), Qwen2VLProcessor, 83,
         "Qwen2VLModel (no LM head), F16", torch.float16, [imgs[0]], None),
        ("qwen2.5-vl-f32", Qwen2_5_VLForConditionalGeneration, lambda: qwen2_5_vl(),
         Qwen2_5_VLProcessor, 84,
         "Qwen2_5_VLForConditionalGeneration: vision tower 3 layers (RMSNorm, gated SiLU MLP, "
         "windows of 16 pixels: 2x2 merged blocks, full attention in layer 1), text model 2 "
         "layers (GQA, mrope_section [1, 1, 2]); images 21x13 and 40x50 (partial windows)",
         torch.float32, [imgs[0], imgs[1]], None),
        ("qwen2.5-vl-bf16", Qwen2_5_VLForConditionalGeneration,
         lambda: qwen2_5_vl(text_kw=dict(num_key_value_heads=4, tie_word_embeddings=True,
                                         rope_parameters={"rope_type": "default",
                                                          "rope_theta": 1000000.0,
                                                          "mrope_section": [2, 1, 1]}),
                            window_size=24, fullatt_block_indexes=[0, 2], hidden_act="gelu"),
         Qwen2_5_VLProcessor, 85,
         "Qwen2_5_VLForConditionalGeneration, BF16, tied: windows of 24 pixels (3x3 merged "
         "blocks), full attention in layers 0 and 2, GELU MLP, mrope_section [2, 1, 1], theta "
         "1e6; under transformers 5's module names (model.language_model., model.visual.); "
         "image 6x14", torch.bfloat16, [imgs[2]], module_layout),
        ("qwen2.5-vl-model-f16", Qwen2_5_VLModel, lambda: qwen2_5_vl(), Qwen2_5_VLProcessor, 86,
         "Qwen2_5_VLModel (no LM head), F16", torch.float16, [imgs[1]], None),
    ]
    towers = [
        ("qwen2-vl-vision-f32", qwen2_vl, 87, "Qwen2VisionTransformerPretrainedModel saved alone"),
        ("qwen2.5-vl-vision-f32", qwen2_5_vl, 88,
         "Qwen2_5_VisionTransformerPretrainedModel saved alone (windows of 16 pixels)"),
    ]
    for name, cfg, seed, note in towers:
        if not only or name in only:
            build_tower(name, cfg(), seed, note, [imgs[0], imgs[1]])
    for name, cls, cfg, pc, seed, note, dt, im, post in todo:
        if only and name not in only:
            continue
        build(name, cls, cfg(), pc, seed, note, dtype=dt, images=im,
              prompts=PROMPTS[:len(im)] if len(im) > 1 else PROMPTS[1:], post=post)
