"""Shared helpers for the scripts that make BERT fixtures and goldens.

Everything numeric here comes from PyTorch + Hugging Face transformers /
tokenizers (the independent implementation); nothing is computed by mhaviz.
Run the generator scripts with HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1.
"""

import json
import math
import os
import shutil

import torch
import transformers
from tokenizers import BertWordPieceTokenizer
from transformers import BertConfig, BertModel, BertTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(REPO, "tests", "fixtures")
GOLDENS = os.path.join(FIXTURES, "goldens")
CHINESE_VOCAB = os.path.join(REPO, "..", "shared", "data", "bert-base-chinese", "vocab.txt")
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

SOURCE = "transformers %s torch %s" % (transformers.__version__, torch.__version__.split("+")[0])


def read_vocab(path):
    # HF reads one token per line, keeping everything but the final newline
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def write_vocab(path, tokens):
    assert len(set(tokens)) == len(tokens), "duplicate vocab entries"
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in tokens))


def reset_dir(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


def wordpiece_tokenize(vocab_path, texts, lowercase):
    """Tokenize with two HF implementations and insist they agree.

    Returns [(ids, tokens)] with [CLS] ... [SEP] added, no padding.
    """
    d = os.path.dirname(vocab_path)
    hf = BertTokenizer.from_pretrained(d, do_lower_case=lowercase)
    wp = BertWordPieceTokenizer(vocab_path, lowercase=lowercase)
    out = []
    for t in texts:
        ids = hf(t)["input_ids"]
        e = wp.encode(t)
        assert ids == e.ids, (t, ids, e.ids)
        toks = hf.convert_ids_to_tokens(ids)
        assert toks == e.tokens, (t, toks, e.tokens)
        out.append((ids, toks))
    return out


def randomize_bert(model, seed, qk_std, emb_std=0.5, other_gain=1.0):
    """Overwrite every parameter of a BertModel with seeded random values.

    q/k weights get qk_std so that attention is far from uniform; the other
    matrices get other_gain/sqrt(fan_in) so activations keep unit scale.
    LayerNorm weights are drawn around 1 and biases around 0, but away from
    them, so that a loader that drops or swaps any tensor changes the result.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            shape = p.shape
            if name.endswith("embeddings.weight"):
                v = torch.randn(shape, generator=g) * emb_std
            elif "LayerNorm.weight" in name:
                v = 0.6 + 0.8 * torch.rand(shape, generator=g)
            elif "LayerNorm.bias" in name:
                v = (torch.rand(shape, generator=g) - 0.5) * 0.4
            elif name.endswith(".bias"):
                v = torch.randn(shape, generator=g) * 0.1
            elif name.endswith(("query.weight", "key.weight")):
                v = torch.randn(shape, generator=g) * qk_std
            elif name.endswith(".weight"):
                v = torch.randn(shape, generator=g) * (other_gain / math.sqrt(shape[1]))
            else:
                raise AssertionError("unexpected parameter " + name)
            p.copy_(v)
    return model


def new_random_bert(config, seed, qk_std, other_gain=1.0):
    torch.manual_seed(seed)
    m = BertModel(config, add_pooling_layer=True)
    randomize_bert(m, seed, qk_std, other_gain=other_gain)
    return m.eval()


def load_bert(path):
    m, info = BertModel.from_pretrained(path, attn_implementation="eager", dtype=torch.float32,
                                        output_loading_info=True)
    m.eval()
    return m, info


def attentions(model, ids):
    """Attention probabilities, (layers, heads, n, n) tensor in the model's dtype."""
    x = torch.tensor([ids], dtype=torch.long)
    with torch.no_grad():
        out = model(input_ids=x, attention_mask=torch.ones_like(x),
                    token_type_ids=torch.zeros_like(x), output_attentions=True)
    return torch.stack([a[0] for a in out.attentions])


def check_conditioning(model, id_lists, limit=1e-6):
    """fp32 vs fp64 forward of the same weights: the golden is only worth
    something if rounding alone moves it by much less than our 1e-5."""
    m64 = BertModel(model.config, add_pooling_layer=model.pooler is not None)
    m64.load_state_dict(model.state_dict())
    m64 = m64.double().eval()
    m64.config._attn_implementation = "eager"
    worst = 0.0
    for ids in id_lists:
        a32 = attentions(model, ids).double()
        a64 = attentions(m64, ids)
        worst = max(worst, (a32 - a64).abs().max().item())
    assert worst < limit, "fp32 vs fp64 attention differ by %g" % worst
    return worst


def peakiness(model, id_lists):
    """Mean over rows (all sentences) of the row's max probability, per layer/head."""
    sums, rows = None, 0
    for ids in id_lists:
        a = attentions(model, ids)                       # (L, H, n, n)
        s = a.max(dim=-1).values.sum(dim=-1)             # (L, H)
        sums = s if sums is None else sums + s
        rows += a.shape[-1]
    return (sums / rows).tolist()


def print_peakiness(tag, pk):
    flat = [v for layer in pk for v in layer]
    print("%s: mean row max per head (layer: heads)" % tag)
    for i, layer in enumerate(pk):
        print("  L%d: %s" % (i, " ".join("%.3f" % v for v in layer)))
    print("  heads with mean row max > 0.5: %d/%d, min %.3f, max %.3f"
          % (sum(v > 0.5 for v in flat), len(flat), min(flat), max(flat)))
    return flat


def _fmt(x):
    # 9 significant digits is enough to carry a float32 exactly
    return repr(float("%.9g" % x))


def _dump(v, depth):
    if isinstance(v, float):
        return _fmt(v)
    if isinstance(v, list) and v and isinstance(v[0], float):
        return "[" + ",".join(_fmt(x) for x in v) + "]"
    if isinstance(v, list) and v and isinstance(v[0], list):
        pad = "\n" + " " * (depth + 1)
        return "[" + pad + ("," + pad).join(_dump(x, depth + 1) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


def write_golden(name, items, layers=None, note=None):
    """items: [(text, ids, tokens, attn (L,H,n,n) tensor)]. One row of a map per line."""
    os.makedirs(GOLDENS, exist_ok=True)
    parts = ['{"fixture": %s,' % json.dumps(name), ' "source": %s,' % json.dumps(SOURCE)]
    if note:
        parts.append(' "note": %s,' % json.dumps(note, ensure_ascii=False))
    if layers is not None:
        parts.append(' "layers": %s,' % json.dumps(layers))
    parts.append(' "sentences": [')
    sents = []
    for text, ids, toks, att in items:
        att = att.float().tolist()
        sents.append('  {"text": %s,\n   "token_ids": %s,\n   "tokens": %s,\n   "attentions": %s}'
                     % (json.dumps(text, ensure_ascii=False), json.dumps(ids),
                        json.dumps(toks, ensure_ascii=False), _dump(att, 3)))
    parts.append(",\n".join(sents))
    parts.append(" ]}")
    path = os.path.join(GOLDENS, name + ".json")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")
    # round trip: the file parses and holds what we computed
    back = json.load(open(path, encoding="utf-8"))
    for (text, ids, toks, att), s in zip(items, back["sentences"]):
        assert s["token_ids"] == ids and s["tokens"] == toks
        assert (torch.tensor(s["attentions"]) - att.float()).abs().max().item() < 1e-8
    return path


def dir_size(path):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)
