"""Gemma 3 with an image (Gemma3ForConditionalGeneration) fixtures and their goldens.

Tiny random checkpoints made with transformers (Gemma3Config of a small
SiglipVisionConfig and Gemma3TextConfig, from_config, save_pretrained), each with
a Gemma3ImageProcessor (its Pillow backend: torchvision is not installed here,
as mhaviz's arithmetic is Pillow's), a tokenizer built here with the tokenizers library (its
<start_of_image>, <end_of_image>, <image_soft_token> extra special tokens) and
the Gemma3Processor (image_seq_length = mm_tokens_per_image), saved beside it as
users download them.

Each golden tests/fixtures/goldens/mm-gemma3-<name>.json holds, for the prompts
below (the Gemma3Processor's expansion of <start_of_image> into "\\n\\n", boi,
the image tokens, eoi, "\\n\\n"), the processor's token ids and pixels of the
image, the attention of every decoder head (token_type_ids passed: the tokens
of an image see each other) and of every vision tower head from transformers'
eager attention (output_attentions=True) in float64 on the fp32-loaded
weights, the tolerance (1e-5, or 1.25x fp32's own error), and the fp32 logits
of the last position. Read by tests/test_llava.c and tests/cli/gemma3_image.sh.

    HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/fam_gemma3_vision.py
"""

import json
import os

import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (Gemma3Config, Gemma3ForConditionalGeneration, Gemma3ImageProcessor,
                          Gemma3Processor, Gemma3TextConfig, PreTrainedTokenizerFast,
                          SiglipVisionConfig)

import famgen

PROMPTS = ["<start_of_image> what is this?",
           "Describe <start_of_image> a red cat on the mat",
           "USER: <start_of_image>\nWhat is in the picture? ASSISTANT:"]
CORPUS = ["USER: what is this? ASSISTANT: a cat on a mat.\n\n",
          "describe the picture: a red cat, a blue dog, the sun and the sea.\n\n",
          "USER: ASSISTANT: what is in the image? a house, a tree and a car."] * 4


def tokenizer():
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<pad>", "<eos>", "<bos>",
                                                                  "<unk>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.TemplateProcessing(
        single="<bos> $A", special_tokens=[("<bos>", tok.token_to_id("<bos>"))])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", unk_token="<unk>",
        pad_token="<pad>",
        extra_special_tokens={"boi_token": "<start_of_image>", "eoi_token": "<end_of_image>",
                              "image_token": "<image_soft_token>"})


def module_layout(path):
    """The checkpoint's keys under transformers 5's module names (model.language_model.,
    lm_head, model.vision_tower.vision_model., model.multi_modal_projector.)."""
    f = os.path.join(path, "model.safetensors")
    out = {}
    for k, v in load_file(f).items():
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


def build(name, text_kw, vision_kw, mm_tokens, seed, note, image, dtype=torch.float32,
          post=None, prompts=PROMPTS, tie=True):
    path = os.path.join(famgen.FIXTURES, name)
    famgen.reset_dir(path)
    tok = tokenizer()
    ids = {t: tok.convert_tokens_to_ids(t)
           for t in ("<start_of_image>", "<end_of_image>", "<image_soft_token>")}
    tcfg = Gemma3TextConfig(vocab_size=len(tok), tie_word_embeddings=tie, **text_kw)
    vcfg = SiglipVisionConfig(**vision_kw)
    cfg = Gemma3Config(text_config=tcfg.to_dict(), vision_config=vcfg.to_dict(),
                       mm_tokens_per_image=mm_tokens, boi_token_index=ids["<start_of_image>"],
                       eoi_token_index=ids["<end_of_image>"],
                       image_token_index=ids["<image_soft_token>"], tie_word_embeddings=tie)
    torch.manual_seed(seed)
    model = famgen.randomize(Gemma3ForConditionalGeneration(cfg), seed, 0.4).eval().to(dtype)
    model.save_pretrained(path)
    side = vcfg.image_size
    proc = Gemma3Processor(image_processor=Gemma3ImageProcessor(
        size={"height": side, "width": side}), tokenizer=tok, image_seq_length=mm_tokens)
    proc.save_pretrained(path)
    if post:
        post(path)
    for f in os.listdir(path):
        os.chmod(os.path.join(path, f), 0o644)

    cls = Gemma3ForConditionalGeneration
    ref = cls.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
    r64 = cls.from_pretrained(path, dtype=torch.float64, attn_implementation="eager").eval()
    proc = Gemma3Processor.from_pretrained(path)
    img = Image.open(os.path.join(famgen.FIXTURES, "images", image))
    items, worst = [], 0.0
    for prompt in prompts:
        inp = proc(images=img, text=prompt, return_tensors="pt")
        ids_ = inp["input_ids"]
        outs = []
        for m, dt in ((ref, torch.float32), (r64, torch.float64)):
            px = inp["pixel_values"].to(dt)
            with torch.no_grad():
                o = m(input_ids=ids_, pixel_values=px, token_type_ids=inp["token_type_ids"],
                      attention_mask=torch.ones_like(ids_), output_attentions=True)
                vo = m.model.vision_tower(pixel_values=px, output_attentions=True)
            dec = torch.stack([a[0] for a in o.attentions])
            vis = torch.stack([a[0] for a in vo.attentions])
            outs.append((dec, vis, o.logits[0, -1]))
        (d32, v32, l32), (d64, v64, _) = outs
        worst = max(worst, (d32.double() - d64).abs().max().item(),
                    (v32.double() - v64).abs().max().item())
        items.append((prompt, ids_[0].tolist(), inp["pixel_values"][0], d64, v64, l32))
    tol = max(1e-5, 1.25 * worst)
    parts = ['{"fixture": %s,' % json.dumps(name), ' "source": %s,' % json.dumps(famgen.SOURCE),
             ' "class": "Gemma3ForConditionalGeneration",', ' "model_type": "gemma3",',
             ' "note": %s,' % json.dumps(note), ' "image": %s,' % json.dumps("images/" + image),
             ' "image_token_id": %d,' % ids["<image_soft_token>"],
             ' "fp32_vs_fp64": %.3g,' % worst, ' "tolerance": %.3g,' % tol, ' "sentences": [']
    sents = []
    for prompt, ids_, px, dec, vis, logits in items:
        s = '  {"text": %s,\n   "token_ids": %s,\n' % (json.dumps(prompt), json.dumps(ids_))
        s += '   "pixels": %s,\n' % famgen._dump(px.tolist(), 3)
        s += '   "attentions": %s,\n' % famgen._dump(dec.tolist(), 4)
        s += '   "vision_attentions": %s,\n' % famgen._dump(vis.tolist(), 4)
        s += '   "logits_last": %s}' % famgen._dump(logits.float().tolist(), 1)
        sents.append(s)
    parts.append(",\n".join(sents))
    parts.append(" ]}")
    with open(os.path.join(famgen.GOLDENS, name + ".json"), "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")
    print("%s: %d tokens, fp32 vs fp64 %.2g, tolerance %.2g" %
          (name, len(items[0][1]), worst, tol))


VISION = dict(hidden_size=32, intermediate_size=48, num_hidden_layers=3, num_attention_heads=4,
              image_size=16, patch_size=4)
TEXT = dict(hidden_size=32, intermediate_size=48, num_hidden_layers=3, num_attention_heads=4,
            num_key_value_heads=2, head_dim=8, query_pre_attn_scalar=8, max_position_embeddings=128,
            sliding_window=3, layer_types=["sliding_attention", "full_attention",
                                           "sliding_attention"])

build("mm-gemma3-f32", TEXT, VISION, 4, 91,
      "Gemma3ForConditionalGeneration F32, tied: SigLIP tower (3 layers, 16x16 image, 4x4 "
      "patches), mm_tokens_per_image 4 (2x2 average pooling), text layers sliding (window 3, "
      "narrower than an image's 4 tokens), full, sliding", "rgb-37x23.png")
build("mm-gemma3-nopool-bf16",
      dict(TEXT, num_hidden_layers=2, num_key_value_heads=1, sliding_window=8,
           layer_types=["full_attention", "sliding_attention"]),
      dict(VISION, num_hidden_layers=2, vision_use_head=False), 16, 92,
      "Gemma3ForConditionalGeneration BF16, untied, MQA: SigLIP tower without its head, "
      "mm_tokens_per_image 16 (no pooling), text layers full, sliding (window 8)",
      "palette-24x18.png", dtype=torch.bfloat16, tie=False, prompts=PROMPTS[1:2])
build("mm-gemma3-modnames-f16", TEXT, dict(VISION, image_size=24), 4, 93,
      "Gemma3ForConditionalGeneration F16 under its modules' names (model.language_model., "
      "model.vision_tower.vision_model., model.multi_modal_projector.): 24x24 image (6x6 "
      "patches, 3x3 pooling into 4 tokens)", "rgb-37x23.png", dtype=torch.float16,
      post=module_layout, prompts=PROMPTS[2:])
