"""LLaVA fixtures (LlavaForConditionalGeneration, LlavaModel) and their goldens.

Tiny random checkpoints made with transformers (LlavaConfig of a small
CLIPVisionConfig and a Llama / Qwen2 / Mistral text config, from_config,
save_pretrained), each with a CLIPImageProcessor, a tokenizer built with the
tokenizers library (its "<image>" an added special token) and the
LlavaProcessor, saved beside it as users download them.

Each golden tests/fixtures/goldens/llava-<name>.json holds, for the prompts
below (the LlavaProcessor's expansion of "<image>" into one token per image
feature), the processor's token ids and pixels of tests/fixtures/images/
rgb-37x23.png, the attention of every decoder head and of every vision tower
head from transformers' eager attention (output_attentions=True) in float64 on
the fp32-loaded weights, the tolerance (1e-5, or 1.25x fp32's own error), and
the fp32 logits of the last position. Read by tests/test_llava.c.

    HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/fam_llava.py
"""

import json
import os

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
from transformers import (CLIPImageProcessor, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                          LlavaForConditionalGeneration, LlavaModel, LlavaProcessor,
                          MistralConfig, PreTrainedTokenizerFast, Qwen2Config,
                          SiglipImageProcessor, SiglipVisionConfig)

import famgen

IMAGE = os.path.join(famgen.FIXTURES, "images", "rgb-37x23.png")
PROMPTS = ["USER: <image>\nWhat is this? ASSISTANT:",
           "<image> a red cat on the mat",
           "Describe <image>"]
CORPUS = ["USER: what is this? ASSISTANT: a cat on a mat.",
          "describe the picture: a red cat, a blue dog, the sun and the sea.",
          "USER: ASSISTANT: what is in the image? a house, a tree and a car."] * 4


def tokenizer():
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=120, special_tokens=["<unk>", "<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    from tokenizers import decoders
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                   unk_token="<unk>")
    fast.add_special_tokens({"additional_special_tokens": ["<image>"]})
    return fast


def module_layout(path):
    """The checkpoint's keys renamed to the names of transformers' modules (as checkpoints
    saved between its refactor and its conversion mapping have them; save_pretrained writes
    the older layout): model.language_model., lm_head, model.vision_tower.,
    model.multi_modal_projector., and vision_model. inside the tower as CLIPVisionModel's."""
    f = os.path.join(path, "model.safetensors")
    sd = load_file(f)
    out = {}
    for k, v in sd.items():
        if k.startswith("language_model.model."):
            k = "model.language_model." + k[len("language_model.model."):]
        elif k.startswith("language_model.lm_head."):
            k = k[len("language_model."):]
        elif k.startswith("vision_tower."):
            k = "model.vision_tower.vision_model." + k[len("vision_tower."):]
        elif k.startswith("multi_modal_projector."):
            k = "model." + k
        out[k] = v.contiguous()
    save_file(out, f, metadata={"format": "pt"})


def build(name, text_cfg, vision_kw, seed, note, cls=LlavaForConditionalGeneration,
          dtype=torch.float32, layer=-2, strategy="default", proj_bias=True, act="gelu",
          post=None, prompts=PROMPTS, siglip=False):
    path = os.path.join(famgen.FIXTURES, name)
    famgen.reset_dir(path)
    tok = tokenizer()
    image_id = tok.convert_tokens_to_ids("<image>")
    text_cfg.vocab_size = len(tok)
    vcfg = (SiglipVisionConfig if siglip else CLIPVisionConfig)(**vision_kw)
    cfg = LlavaConfig(vision_config=vcfg, text_config=text_cfg, image_token_index=image_id,
                      vision_feature_layer=layer, vision_feature_select_strategy=strategy,
                      multimodal_projector_bias=proj_bias, projector_hidden_act=act,
                      image_seq_length=(vcfg.image_size // vcfg.patch_size) ** 2)
    torch.manual_seed(seed)
    model = famgen.randomize(cls(cfg), seed, 0.4).eval().to(dtype)
    model.save_pretrained(path)
    side = vcfg.image_size
    if siglip:
        proc = SiglipImageProcessor(size={"height": side, "width": side})
    else:
        proc = CLIPImageProcessor(size={"shortest_edge": side},
                                  crop_size={"height": side, "width": side})
    lp = LlavaProcessor(image_processor=proc, tokenizer=tok, patch_size=vcfg.patch_size,
                        vision_feature_select_strategy=strategy,
                        num_additional_image_tokens=0 if siglip else 1)
    lp.save_pretrained(path)
    if post:
        post(path)
    for f in os.listdir(path):
        os.chmod(os.path.join(path, f), 0o644)

    ref = cls.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
    r64 = cls.from_pretrained(path, dtype=torch.float64, attn_implementation="eager").eval()
    lp = LlavaProcessor.from_pretrained(path)
    image = Image.open(IMAGE)
    items, worst = [], 0.0
    for prompt in prompts:
        inp = lp(images=image, text=prompt, return_tensors="pt")
        ids = inp["input_ids"]
        outs = []
        for m, dt in ((ref, torch.float32), (r64, torch.float64)):
            with torch.no_grad():
                o = m(input_ids=ids, pixel_values=inp["pixel_values"].to(dt),
                      attention_mask=torch.ones_like(ids), output_attentions=True)
            dec = torch.stack([a[0] for a in o.attentions])
            vis = torch.stack([a[0] for a in o.image_outputs.attentions])
            logits = o.logits[0, -1] if getattr(o, "logits", None) is not None else None
            outs.append((dec, vis, logits))
        (d32, v32, l32), (d64, v64, _) = outs
        worst = max(worst, (d32.double() - d64).abs().max().item(),
                    (v32.double() - v64).abs().max().item())
        items.append((prompt, ids[0].tolist(), inp["pixel_values"][0], d64, v64, l32))
    tol = max(1e-5, 1.25 * worst)
    parts = ['{"fixture": %s,' % json.dumps(name), ' "source": %s,' % json.dumps(famgen.SOURCE),
             ' "class": %s,' % json.dumps(cls.__name__), ' "note": %s,' % json.dumps(note),
             ' "image": "images/rgb-37x23.png",',
             ' "image_token_id": %d,' % image_id,
             ' "fp32_vs_fp64": %.3g,' % worst, ' "tolerance": %.3g,' % tol, ' "sentences": [']
    sents = []
    for prompt, ids, px, dec, vis, logits in items:
        s = '  {"text": %s,\n   "token_ids": %s,\n' % (json.dumps(prompt), json.dumps(ids))
        s += '   "pixels": %s,\n' % famgen._dump(px.tolist(), 3)
        s += '   "attentions": %s,\n' % famgen._dump(dec.tolist(), 4)
        s += '   "vision_attentions": %s' % famgen._dump(vis.tolist(), 4)
        if logits is not None:
            s += ',\n   "logits_last": %s' % famgen._dump(logits.float().tolist(), 1)
        sents.append(s + "}")
    parts.append(",\n".join(sents))
    parts.append(" ]}")
    with open(os.path.join(famgen.GOLDENS, name + ".json"), "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")
    print("%s: %s, %d tokens, fp32 vs fp64 %.2g, tolerance %.2g" %
          (name, cls.__name__, len(items[0][1]), worst, tol))


VISION = dict(hidden_size=32, intermediate_size=48, num_hidden_layers=3, num_attention_heads=4,
              image_size=16, patch_size=4, projection_dim=16)


def llama():
    return LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                       tie_word_embeddings=False)


build("llava-f32", llama(), VISION, 71,
      "LlavaForConditionalGeneration: CLIP vision tower (3 layers, 16x16 image, 4x4 patches), "
      "Llama text model (GQA); vision_feature_layer -2, strategy default (16 image tokens), "
      "projector with biases, GELU")
build("llava-list-full-bf16",
      Qwen2Config(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=128,
                  tie_word_embeddings=True),
      dict(VISION, hidden_act="gelu"), 72,
      "LlavaForConditionalGeneration, BF16: Qwen2 text model (q/k/v biases, tied), "
      "vision_feature_layer [-3, 0] concatenated, strategy full (17 image tokens with [CLS]), "
      "projector without biases, SiLU", dtype=torch.bfloat16, layer=[-3, 0], strategy="full",
      proj_bias=False, act="silu", prompts=PROMPTS[:1])
build("llava-modnames-f16",
      MistralConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                    sliding_window=8),
      VISION, 73,
      "LlavaForConditionalGeneration, F16, under its modules' names (model.language_model., "
      "lm_head, model.vision_tower.vision_model., model.multi_modal_projector.): Mistral text model "
      "(sliding window 8), vision_feature_layer -1, strategy default",
      dtype=torch.float16, layer=-1, post=module_layout, prompts=PROMPTS[1:2])
build("llava-model-f32", llama(), VISION, 74,
      "LlavaModel (no LM head): vision_feature_layer [-2, -1], strategy default", cls=LlavaModel,
      layer=[-2, -1], prompts=PROMPTS[2:])
build("llava-siglip-f16", llama(),
      dict(hidden_size=32, intermediate_size=48, num_hidden_layers=3, num_attention_heads=4,
           image_size=16, patch_size=4), 75,
      "LlavaForConditionalGeneration, F16: SigLIP vision tower (no [CLS]; its pooling head "
      "unused), vision_feature_layer -1 (before post_layernorm), strategy default (its first "
      "patch dropped: 15 image tokens)", dtype=torch.float16, layer=-1, siglip=True,
      prompts=PROMPTS[:1])
