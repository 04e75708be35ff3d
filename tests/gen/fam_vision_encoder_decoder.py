#!/usr/bin/env python3
"""VisionEncoderDecoderModel fixtures (tests/fixtures/ved-*/) and their goldens
(tests/fixtures/goldens/ved-*.json), made with transformers here:

- a byte-level BPE tokenizer trained with `tokenizers` on a few lines (RoBERTa's <s> TEXT
  </s> template, as TrOCR's RobertaTokenizer), saved as PreTrainedTokenizerFast;
- a small test image (tests/fixtures/ved/line.png: dark strokes on a light band, 40x24,
  drawn with PIL) and ViTImageProcessor / DeiTImageProcessor configs that resize it to the
  encoder's 32x32;
- small random checkpoints: VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder,
  TrOCRConfig), VisionEncoderDecoderModel(config) randomised, save_pretrained:
    ved-vit-trocr (F32): ViT 32 wide, 4 heads; TrOCR 48 wide, 6 heads (enc_to_dec_proj),
        learned positions, layernorm_embedding, scale_embedding, tied output projection;
    ved-deit-trocr (F16): DeiT ([CLS], [DIST]); TrOCR 32 wide, 4 heads (no projection),
        sinusoidal positions, no layernorm_embedding, untied output projection;
    ved-beit-trocr (BF16): BEiT (relative position bias, layer scales, use_mean_pooling:
        no final norm); TrOCR 48 wide with cross_attention_hidden_size 32 (keys and values
        read the encoder's width, no projection);
    ved-vit-gpt2 (F32): ViT; GPT-2 (GPT2LMHeadModel with add_cross_attention) 48 wide, 6
        heads (enc_to_dec_proj), its start token bos (0);
    ved-deit-bert (F16): DeiT; BERT (BertLMHeadModel, is_decoder, add_cross_attention) 32
        wide with 2 heads (fewer than the encoder's 4), its masked-LM head;
  each with a generation_config.json (greedy; one with beams);
- per fixture and target text: the pixel values (the processor's, PIL backend), the decoder
  input ([decoder_start_token_id] + tokenizer(text)), transformers' eager encoder / decoder
  / cross attentions in float64 (weights loaded in float64), the fp32 error as tolerance
  (1e-5 or 1.25x, the house rule), the last position's fp32 logits; generate()'s ids
  (greedy, and beam search) with max_new_tokens.

    HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/fam_vision_encoder_decoder.py
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image, ImageDraw
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (BeitConfig, BertConfig, DeiTConfig, DeiTImageProcessor, GenerationConfig, GPT2Config,
                          PreTrainedTokenizerFast, TrOCRConfig, ViTConfig, ViTImageProcessor,
                          VisionEncoderDecoderConfig, VisionEncoderDecoderModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

IMGDIR = os.path.join(fg.FIXTURES, "ved")
IMAGE = os.path.join(IMGDIR, "line.png")
CORPUS = ["the cat sat on the mat", "handwritten text recognition", "a quick brown fox",
          "Mr. Brown commented icily", "industry, said he", "0123456789 lines"] * 20
TEXTS = ["the cat sat", "Mr. Brown, icily."]


def make_tokenizer():
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    tr = trainers.BpeTrainer(vocab_size=200, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tk.train_from_iterator(CORPUS, tr)
    tk.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0),
                                                     add_prefix_space=False, trim_offsets=True)
    return PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>",
                                   pad_token="<pad>", unk_token="<unk>")


def make_image():
    os.makedirs(IMGDIR, exist_ok=True)
    im = Image.new("RGB", (40, 24), (236, 232, 220))
    d = ImageDraw.Draw(im)
    d.line([(3, 18), (8, 5), (12, 18)], fill=(20, 20, 60), width=2)
    d.line([(16, 6), (16, 18), (22, 12), (16, 6)], fill=(40, 10, 10), width=2)
    d.ellipse([(25, 8), (33, 18)], outline=(10, 60, 20), width=2)
    d.point([(36, 20), (37, 20)], fill=(0, 0, 0))
    im.save(IMAGE)
    os.chmod(IMAGE, 0o644)


def fix_sinusoidal(model):
    """transformers 5.25 builds TrOCR's sinusoidal table (not a parameter or buffer) on the
    meta device under from_pretrained and then cannot read it: built again here, as
    TrOCRSinusoidalPositionalEmbedding.__init__ builds it."""
    if not hasattr(model.decoder, "model"):  # not TrOCR
        return
    emb = model.decoder.model.decoder.embed_positions
    if hasattr(emb, "get_embedding"):
        c = model.config.decoder
        emb.weights = emb.get_embedding(c.max_position_embeddings + c.pad_token_id + 1,
                                        c.d_model, c.pad_token_id)


def run(model, px, dec):
    with torch.no_grad():
        out = model(pixel_values=px, decoder_input_ids=torch.tensor([dec]), use_cache=False,
                    output_attentions=True)
    stacks = [torch.stack([a[0] for a in getattr(out, k)])
              for k in ("encoder_attentions", "decoder_attentions", "cross_attentions")]
    return stacks, out.logits[0, -1]


def trocr(tok, **kw):
    return TrOCRConfig(vocab_size=len(tok), decoder_start_token_id=2, pad_token_id=1,
                       bos_token_id=0, eos_token_id=2, max_position_embeddings=40, **kw)


def make(name, enc_cfg, dec_cfg, proc, dtype, seed, tok, gen_kw, gens, start=2):
    path = os.path.join(fg.FIXTURES, name)
    fg.reset_dir(path)
    cfg = VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc_cfg, dec_cfg)
    cfg.decoder_start_token_id = start
    cfg.pad_token_id = 1
    cfg.eos_token_id = 2
    torch.manual_seed(seed)
    model = VisionEncoderDecoderModel(config=cfg)
    model = fg.randomize(model, seed, qk_std=0.35, gain=0.5).eval()
    if not dec_cfg.tie_word_embeddings:
        with torch.no_grad():  # untied: a projection of its own
            g = torch.Generator().manual_seed(seed + 1)
            w = model.decoder.get_output_embeddings().weight
            w.copy_(torch.randn(w.shape, generator=g) * 0.3)
    model = model.to(dtype)
    model.save_pretrained(path)
    GenerationConfig(decoder_start_token_id=start, eos_token_id=2, pad_token_id=1, bos_token_id=0,
                     **gen_kw).save_pretrained(path)
    proc.save_pretrained(path)
    tok.save_pretrained(path)
    for f in os.listdir(path):
        os.chmod(os.path.join(path, f), 0o644)
    ref = VisionEncoderDecoderModel.from_pretrained(path, dtype=torch.float32,
                                                    attn_implementation="eager").eval()
    r64 = VisionEncoderDecoderModel.from_pretrained(path, dtype=torch.float64,
                                                    attn_implementation="eager").eval()
    for mdl in (ref, r64):
        fix_sinusoidal(mdl)
    px = proc(Image.open(IMAGE).convert("RGB"), return_tensors="pt")["pixel_values"].float()
    worst, sents = 0.0, []
    for text in TEXTS:
        dec = [start] + tok(text)["input_ids"]
        s32, l32 = run(ref, px, dec)
        s64, _ = run(r64, px.double(), dec)
        for a, b in zip(s32, s64):
            worst = max(worst, (a.double() - b).abs().max().item())
        sents.append((text, dec, s64, l32))
    tol = max(1e-5, 1.25 * worst)
    parts = ['{"fixture": %s,' % json.dumps(name), ' "source": %s,' % json.dumps(fg.SOURCE),
             ' "image": "ved/line.png",',
             ' "fp32_vs_fp64": %.3g,' % worst, ' "tolerance": %.3g,' % tol,
             ' "pixels": %s,' % fg._dump(px[0].tolist(), 3), ' "sentences": [']
    items = []
    for text, dec, stacks, logits in sents:
        s = '  {"text": %s,\n   "tgt_ids": %s' % (json.dumps(text), json.dumps(dec))
        for key, att in zip(("encoder", "decoder", "cross"), stacks):
            s += ',\n   "%s": %s' % (key, fg._dump(att.tolist(), 4))
        s += ',\n   "logits_last": %s' % fg._dump(logits.float().tolist(), 1)
        items.append(s + "}")
    parts.append(",\n".join(items))
    parts.append(" ],")
    out = []
    for max_new, beams in gens:
        with torch.no_grad():
            res = ref.generate(px, max_new_tokens=max_new, num_beams=beams,
                               return_dict_in_generate=True, output_scores=True)
        seq = res.sequences[0].tolist()
        out.append('{"max_new": %d, "num_beams": %d, "ids": %s}' % (max_new, beams,
                                                                   json.dumps(seq)))
        print("  generate %d beams %d: %s" % (max_new, beams, seq))
    parts.append(' "generate": [%s]}' % ",\n  ".join(out))
    gpath = os.path.join(fg.GOLDENS, name + ".json")
    with open(gpath, "w", encoding="utf-8") as fo:
        fo.write("\n".join(parts) + "\n")
    json.load(open(gpath))
    print("%s: fp32 vs fp64 %.2g, tolerance %.2g" % (name, worst, tol))


def main():
    torch.set_num_threads(1)
    make_image()
    tok = make_tokenizer()
    enc = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
               intermediate_size=40, image_size=32, patch_size=8)
    vit_proc = ViTImageProcessor(size={"height": 32, "width": 32})
    deit_proc = DeiTImageProcessor(size={"height": 32, "width": 32}, do_center_crop=False,
                                   resample=2)
    make("ved-vit-trocr", ViTConfig(**enc),
         trocr(tok, d_model=48, decoder_layers=2, decoder_attention_heads=6, decoder_ffn_dim=56,
               scale_embedding=True, use_learned_position_embeddings=True,
               layernorm_embedding=True),
         vit_proc, torch.float32, 11, tok, {"min_new_tokens": 4, "no_repeat_ngram_size": 2}, [(8, 1), (8, 3)])
    make("ved-deit-trocr", DeiTConfig(**enc),
         trocr(tok, d_model=32, decoder_layers=2, decoder_attention_heads=4, decoder_ffn_dim=40,
               use_learned_position_embeddings=False, layernorm_embedding=False,
               tie_word_embeddings=False, activation_function="relu"),
         deit_proc, torch.float16, 12, tok, {"num_beams": 2}, [(6, 2)])
    make("ved-beit-trocr", BeitConfig(**enc, use_relative_position_bias=True,
                                      layer_scale_init_value=0.5),
         trocr(tok, d_model=48, decoder_layers=1, decoder_attention_heads=4, decoder_ffn_dim=40,
               cross_attention_hidden_size=32),
         vit_proc, torch.bfloat16, 13, tok, {"repetition_penalty": 1.5}, [(6, 1)])
    make("ved-vit-gpt2", ViTConfig(**enc),
         GPT2Config(vocab_size=len(tok), n_embd=48, n_layer=2, n_head=6, n_positions=40,
                    bos_token_id=0, eos_token_id=2, pad_token_id=1),
         vit_proc, torch.float32, 14, tok, {"no_repeat_ngram_size": 2}, [(8, 1), (8, 2)],
         start=0)
    make("ved-deit-bert", DeiTConfig(**enc),
         BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2,
                    num_attention_heads=2, intermediate_size=40, max_position_embeddings=40,
                    pad_token_id=1, bos_token_id=0, eos_token_id=2),
         deit_proc, torch.float16, 15, tok, {"no_repeat_ngram_size": 2}, [(8, 1), (8, 2)],
         start=0)


if __name__ == "__main__":
    main()
