"""PaliGemma fixtures (PaliGemmaForConditionalGeneration) and their goldens.

Tiny random checkpoints made with transformers (PaliGemmaConfig of a small
SiglipVisionConfig and a Gemma or Gemma 2 text config, from_config,
save_pretrained), each with a SiglipImageProcessor (image_seq_length set), a
tokenizer built here with the tokenizers library (its <image> an extra special
token) and the PaliGemmaProcessor (which adds its <loc....> and <seg...> tokens
and turns the tokenizer's bos off), saved beside it as users download them.

Each golden tests/fixtures/goldens/mm-paligemma-<name>.json holds, for the
prompts below (PaliGemmaProcessor's: the image tokens, bos, the prompt, "\\n";
a prefix alone, as at inference: token_type_ids all 0, so every token sees
every other; or a (prefix, suffix) pair, as in training: the suffix and eos
with token type 1, causal; written "PREFIX<TAB>SUFFIX" as mhaviz reads it),
the processor's token ids, token types and pixels, the attention of every decoder
head and of every vision tower head from transformers' eager attention
(output_attentions=True) in float64 on the fp32-loaded weights, the tolerance
(1e-5, or 1.25x fp32's own error), and the fp32 logits of the last position.
Read by tests/test_llava.c and tests/cli/paligemma.sh.

    HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/fam_paligemma.py
"""

import json
import os

import torch
from PIL import Image
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (Gemma2Config, GemmaConfig, PaliGemmaConfig,
                          PaliGemmaForConditionalGeneration, PaliGemmaProcessor,
                          PreTrainedTokenizerFast, SiglipImageProcessor, SiglipVisionConfig)

import famgen

PROMPTS = ["what is this?", "<image>describe the cat", "caption en",
           ("what is this?", "a red cat on a mat")]
CORPUS = ["what is this? a cat on a mat.\n", "describe the picture: a red cat, a blue dog.\n",
          "caption en: a house, a tree and a car.\n"] * 4


def tokenizer():
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=280, special_tokens=["<pad>", "<eos>", "<bos>",
                                                                  "<unk>", "<image>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.TemplateProcessing(
        single="<bos> $A", special_tokens=[("<bos>", tok.token_to_id("<bos>"))])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>",
                                   unk_token="<unk>", pad_token="<pad>",
                                   extra_special_tokens={"image_token": "<image>"})


def build(name, text_cfg, vision_kw, seed, note, image, dtype=torch.float32, prompts=PROMPTS,
          tie=True):
    path = os.path.join(famgen.FIXTURES, name)
    famgen.reset_dir(path)
    side = vision_kw["image_size"]
    ip = SiglipImageProcessor(size={"height": side, "width": side})
    ip.image_seq_length = (side // vision_kw["patch_size"]) ** 2
    proc = PaliGemmaProcessor(image_processor=ip, tokenizer=tokenizer())
    tok = proc.tokenizer
    text_cfg.vocab_size = len(tok)
    vcfg = SiglipVisionConfig(vision_use_head=False, **vision_kw)
    cfg = PaliGemmaConfig(vision_config=vcfg.to_dict(), text_config=text_cfg.to_dict(),
                          image_token_index=tok.image_token_id,
                          projection_dim=text_cfg.hidden_size, hidden_size=text_cfg.hidden_size,
                          tie_word_embeddings=tie)
    torch.manual_seed(seed)
    cls = PaliGemmaForConditionalGeneration
    model = famgen.randomize(cls(cfg), seed, 0.4).eval().to(dtype)
    model.save_pretrained(path)
    proc.save_pretrained(path)
    for f in os.listdir(path):
        os.chmod(os.path.join(path, f), 0o644)

    ref = cls.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
    r64 = cls.from_pretrained(path, dtype=torch.float64, attn_implementation="eager").eval()
    proc = PaliGemmaProcessor.from_pretrained(path)
    img = Image.open(os.path.join(famgen.FIXTURES, "images", image))
    items, worst = [], 0.0
    for prompt in prompts:
        if isinstance(prompt, tuple):
            inp = proc(images=img, text=prompt[0], suffix=prompt[1], return_tensors="pt")
            prompt = prompt[0] + "\t" + prompt[1]
        else:
            inp = proc(images=img, text=prompt, return_tensors="pt")
            assert not inp["token_type_ids"].any()  # a prefix alone
        ids = inp["input_ids"]
        outs = []
        for m, dt in ((ref, torch.float32), (r64, torch.float64)):
            px = inp["pixel_values"].to(dt)
            with torch.no_grad():
                o = m(input_ids=ids, pixel_values=px, token_type_ids=inp["token_type_ids"],
                      attention_mask=torch.ones_like(ids), output_attentions=True)
                vo = m.model.vision_tower(pixel_values=px, output_attentions=True)
            dec = torch.stack([a[0] for a in o.attentions])
            vis = torch.stack([a[0] for a in vo.attentions])
            outs.append((dec, vis, o.logits[0, -1]))
        (d32, v32, l32), (d64, v64, _) = outs
        worst = max(worst, (d32.double() - d64).abs().max().item(),
                    (v32.double() - v64).abs().max().item())
        items.append((prompt, ids[0].tolist(), inp["token_type_ids"][0].tolist(),
                      inp["pixel_values"][0], d64, v64, l32))
    tol = max(1e-5, 1.25 * worst)
    parts = ['{"fixture": %s,' % json.dumps(name), ' "source": %s,' % json.dumps(famgen.SOURCE),
             ' "class": "PaliGemmaForConditionalGeneration",', ' "model_type": "paligemma",',
             ' "note": %s,' % json.dumps(note), ' "image": %s,' % json.dumps("images/" + image),
             ' "image_token_id": %d,' % tok.image_token_id,
             ' "fp32_vs_fp64": %.3g,' % worst, ' "tolerance": %.3g,' % tol, ' "sentences": [']
    sents = []
    for prompt, ids, types, px, dec, vis, logits in items:
        s = '  {"text": %s,\n   "token_ids": %s,\n' % (json.dumps(prompt), json.dumps(ids))
        if any(types):
            s += '   "token_type_ids": %s,\n' % json.dumps(types)
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

build("mm-paligemma-f32",
      GemmaConfig(hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=1, head_dim=8,
                  max_position_embeddings=128),
      VISION, 95,
      "PaliGemmaForConditionalGeneration F32, tied: SigLIP tower (3 layers, 16x16 image, 4x4 "
      "patches: 16 image tokens), Gemma text model (MQA); positions from 1, the prefix "
      "bidirectional", "rgb-37x23.png")
build("mm-paligemma2-bf16",
      Gemma2Config(hidden_size=32, intermediate_size=48, num_hidden_layers=3,
                   num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                   query_pre_attn_scalar=8, max_position_embeddings=128, sliding_window=4,
                   final_logit_softcapping=3.0, attn_logit_softcapping=5.0),
      dict(VISION, num_hidden_layers=2, image_size=12), 96,
      "PaliGemmaForConditionalGeneration BF16, untied: PaliGemma 2 (Gemma 2 text: sliding "
      "window 4 on every other layer, the prefix seeing itself past it; attention and final "
      "soft-capping), 12x12 image (9 image tokens); a suffix longer than the window",
      "palette-24x18.png",
      dtype=torch.bfloat16, tie=False,
      prompts=[PROMPTS[1], ("caption en", "a red cat on the mat, a blue dog")])
