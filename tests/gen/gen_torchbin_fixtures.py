#!/usr/bin/env python3
"""Make the PyTorch-checkpoint fixtures: tests/fixtures/bin-*/ and tests/fuzz/corpus/torchbin/.

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 python3 tests/gen/gen_torchbin_fixtures.py

transformers 5 no longer writes pytorch_model.bin (save_pretrained always writes
safetensors), so the checkpoints are written as transformers 4.x did, with torch.save:
the model's state dict (loaded from an existing safetensors fixture made by
save_pretrained) saved whole, or cut into shards of plain dicts with
pytorch_model.bin.index.json beside them (transformers 4.x's shard_checkpoint). Each is
the same model as its safetensors twin, so the tests compare the two:

  bin-bert-f32/      bert-relu's weights, one plain dict (transformers 4.x save_pretrained)
  bin-bert-f16/      bert-f16's weights, torch.save(model.state_dict()): an OrderedDict
                     with its _metadata attribute (what users save by hand)
  bin-bert-sharded/  bert-relu's weights in 3 shards + pytorch_model.bin.index.json
  bin-dec-llama-bf16/ dec-llama-bf16-gqa2-linear's weights, torch.save(model.state_dict())
  bin-bert-legacy/   bert-relu's weights in the legacy (pre-1.6) format
                     (_use_new_zipfile_serialization=False), as 2019-2020 checkpoints are

bin-views/ holds small torch.save files of views, dtypes and pickle protocols (read by
tests/test_torchbin.c), and bin-bad/ the hostile files tests/cli/torchbin.sh feeds to
mhaviz: they are written as bytes by the small zip and pickle writers below and are never
loaded (the forbidden-global pickle would run `echo pwned` if a real unpickler loaded it).
The well-formed crafted files are checked to load in torch.load(weights_only=True), so
the writers match what torch reads. Deterministic; overwrites its outputs.
"""

import collections
import json
import os
import shutil
import struct
import sys
import zipfile
import zlib

import torch
from safetensors.torch import load_file
from transformers import BertConfig, BertModel, LlamaConfig, LlamaModel

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIX = os.path.join(REPO, "tests", "fixtures")
CORPUS = os.path.join(REPO, "tests", "fuzz", "corpus", "torchbin")
TOKEN_FILES = ["config.json", "vocab.txt", "tokenizer_config.json", "generation_config.json"]


def reset_dir(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


def copy_side_files(src, dst):
    for f in TOKEN_FILES:
        if os.path.exists(os.path.join(src, f)):
            shutil.copy(os.path.join(src, f), os.path.join(dst, f))


def model_state_dict(model_cls, config_cls, src, dtype):
    """The source fixture's weights as the model's own state_dict (module order, with the
    OrderedDict _metadata torch adds), checked equal to the safetensors file."""
    sd = load_file(os.path.join(FIX, src, "model.safetensors"))
    config = config_cls.from_pretrained(os.path.join(FIX, src))
    model = model_cls(config).to(dtype)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    state = model.state_dict()
    assert set(state) == set(sd), set(state) ^ set(sd)
    for k, v in sd.items():
        assert state[k].dtype == v.dtype and torch.equal(state[k], v), k
    return state


def check_load(path, expect, weights_only=True):
    got = torch.load(path, weights_only=weights_only)
    assert list(got) == list(expect), path
    for k in expect:
        assert got[k].dtype == expect[k].dtype and torch.equal(got[k], expect[k]), (path, k)


def shard(state, max_bytes, prefix):
    """transformers 4.x shard_checkpoint: plain dicts, a new shard when the next tensor would
    pass max_bytes."""
    blocks, cur, size = [], {}, 0
    for k, v in state.items():
        nb = v.numel() * v.element_size()
        if cur and size + nb > max_bytes:
            blocks.append(cur)
            cur, size = {}, 0
        cur[k] = v
        size += nb
    blocks.append(cur)
    n = len(blocks)
    names = ["%s-%05d-of-%05d.bin" % (prefix, i + 1, n) for i in range(n)]
    total = sum(v.numel() * v.element_size() for v in state.values())
    index = {"metadata": {"total_size": total},
             "weight_map": {k: names[i] for i, b in enumerate(blocks) for k in b}}
    return list(zip(names, blocks)), index


def real_checkpoints():
    # bert-relu (F32) as transformers 4.x saved it: a plain dict
    d = os.path.join(FIX, "bin-bert-f32")
    reset_dir(d)
    copy_side_files(os.path.join(FIX, "bert-relu"), d)
    state = model_state_dict(BertModel, BertConfig, "bert-relu", torch.float32)
    plain = {k: v for k, v in state.items()}
    torch.save(plain, os.path.join(d, "pytorch_model.bin"))
    check_load(os.path.join(d, "pytorch_model.bin"), plain)

    d = os.path.join(FIX, "bin-bert-sharded")
    reset_dir(d)
    copy_side_files(os.path.join(FIX, "bert-relu"), d)
    shards, index = shard(state, 70000, "pytorch_model")
    assert len(shards) == 3, len(shards)
    for name, block in shards:
        torch.save(block, os.path.join(d, name))
        check_load(os.path.join(d, name), block)
    with open(os.path.join(d, "pytorch_model.bin.index.json"), "w") as f:
        f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")

    d = os.path.join(FIX, "bin-bert-legacy")
    reset_dir(d)
    copy_side_files(os.path.join(FIX, "bert-relu"), d)
    torch.save(plain, os.path.join(d, "pytorch_model.bin"), _use_new_zipfile_serialization=False)
    check_load(os.path.join(d, "pytorch_model.bin"), plain)

    # bert-f16 and the BF16 Llama as users save them: torch.save(model.state_dict())
    for dst, src, cls, ccls, dt in [
            ("bin-bert-f16", "bert-f16", BertModel, BertConfig, torch.float16),
            ("bin-dec-llama-bf16", "dec-llama-bf16-gqa2-linear", LlamaModel, LlamaConfig,
             torch.bfloat16)]:
        d = os.path.join(FIX, dst)
        reset_dir(d)
        copy_side_files(os.path.join(FIX, src), d)
        state = model_state_dict(cls, ccls, src, dt)
        assert isinstance(state, collections.OrderedDict) and hasattr(state, "_metadata")
        torch.save(state, os.path.join(d, "pytorch_model.bin"))
        check_load(os.path.join(d, "pytorch_model.bin"), state)


# ---- crafted files: a stored-zip writer and a pickle writer in torch.save's layout ----

def zip_bytes(records, method=0, zip64=False, lho_patch=None):
    """records: [(name, data)]. Entries are stored (method 0) with their data aligned to 64
    bytes by an extra field, as PyTorch writes them; method 8 deflates the data records."""
    out, central = bytearray(), []
    for name, data in records:
        nb = name.encode()
        off = len(out)
        pad = (-(off + 30 + len(nb) + 4)) % 64
        extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
        m = method if "/data/" in name else 0
        body = data
        if m == 8:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            body = c.compress(data) + c.flush()
        crc = zlib.crc32(data)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, m, 0, 0, crc, len(body), len(data),
                           len(nb), len(extra)) + nb + extra + body
        central.append((nb, crc, len(body), len(data), off, m))
    cd_off = len(out)
    for nb, crc, cs, us, off, m in central:
        if lho_patch is not None and nb.endswith(b"/data/0"):
            off = lho_patch
        x = b""
        if zip64:
            x = struct.pack("<HHQQQ", 1, 24, us, cs, off)
            us = cs = off = 0xFFFFFFFF
        out += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, m, 0, 0, crc, cs, us,
                           len(nb), len(x), 0, 0, 0, 0, off) + nb + x
    cd_size = len(out) - cd_off
    n = len(central)
    if zip64:
        z64 = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, cd_size, cd_off)
        out += struct.pack("<IIQI", 0x07064B50, 0, z64, 1)
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, cd_size, cd_off, 0)
    return bytes(out)


def p_str(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def p_int(i):
    if 0 <= i < 256:
        return b"K" + bytes([i])
    if 0 <= i < 65536:
        return b"M" + struct.pack("<H", i)
    if -2**31 <= i < 2**31:
        return b"J" + struct.pack("<i", i)
    return b"\x8a\x08" + struct.pack("<q", i)


def p_tuple(items):
    if not items:
        return b")"
    if len(items) <= 3:
        return b"".join(items) + bytes([0x84 + len(items)])
    return b"(" + b"".join(items) + b"t"


def p_tensor(stype, key, numel, offset, shape, stride):
    pid = p_tuple([p_str("storage"), b"ctorch\n%s\n" % stype.encode(), p_str(key), p_str("cpu"),
                   p_int(numel)])
    args = [pid + b"Q", p_int(offset), p_tuple([p_int(x) for x in shape]),
            p_tuple([p_int(x) for x in stride]), b"\x89", b"ccollections\nOrderedDict\n)R"]
    return b"ctorch._utils\n_rebuild_tensor_v2\n" + p_tuple(args) + b"R"


def p_state_dict(entries):
    return b"\x80\x02}(" + b"".join(p_str(k) + v for k, v in entries) + b"u."


def p_legacy_tensor(stype, key, numel, offset, shape, stride, view=None):
    """A tensor of the legacy format: its persistent id has a 6th element, view_metadata."""
    pid = p_tuple([p_str("storage"), b"ctorch\n%s\n" % stype.encode(), p_str(key), p_str("cpu"),
                   p_int(numel), view if view is not None else b"N"])
    args = [pid + b"Q", p_int(offset), p_tuple([p_int(x) for x in shape]),
            p_tuple([p_int(x) for x in stride]), b"\x89", b"ccollections\nOrderedDict\n)R"]
    return b"ctorch._utils\n_rebuild_tensor_v2\n" + p_tuple(args) + b"R"


def legacy_bytes(entries, keys, data, little=True):
    """The legacy stream: magic, protocol 1001, sys_info, state dict, key list, then for each
    key its element count and bytes (data: [(count, bytes)])."""
    magic = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."
    proto = b"\x80\x02M\xe9\x03."
    sys_info = (b"\x80\x02}(" + p_str("protocol_version") + p_int(1001) + p_str("little_endian")
                + (b"\x88" if little else b"\x89") + p_str("type_sizes") + b"}("
                + p_str("short") + p_int(2) + p_str("int") + p_int(4) + p_str("long") + p_int(4)
                + b"uu.")
    key_list = b"\x80\x02](" + b"".join(p_str(k) for k in keys) + b"e."
    tail = b"".join(struct.pack("<q", n) + b for n, b in data)
    return magic + proto + sys_info + p_state_dict(entries) + key_list + tail


def lw_tensor(**kw):
    a = dict(stype="FloatStorage", key="0", numel=6, offset=0, shape=(2, 3), stride=(3, 1))
    a.update(kw)
    return p_legacy_tensor(**a)


def archive(pkl, storages, prefix="archive", byteorder=b"little", **kw):
    recs = [(prefix + "/data.pkl", pkl), (prefix + "/byteorder", byteorder)]
    recs += [(prefix + "/data/" + k, v) for k, v in storages]
    recs.append((prefix + "/version", b"3\n"))
    return zip_bytes(recs, **kw)


SIX = struct.pack("<6f", 0.5, -1.0, 2.0, 3.25, -4.5, 6.0)


def w_tensor(**kw):
    a = dict(stype="FloatStorage", key="0", numel=6, offset=0, shape=(2, 3), stride=(3, 1))
    a.update(kw)
    return p_tensor(**a)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def crafted_ok():
    """Well-formed crafted files: they must load in torch (weights_only) and in mhaviz."""
    files = {
        "crafted.bin": archive(p_state_dict([("w", w_tensor())]), [("0", SIX)]),
        "crafted-zip64.bin": archive(p_state_dict([("w", w_tensor())]), [("0", SIX)], zip64=True),
        "crafted-legacy.bin": legacy_bytes([("w", lw_tensor())], ["0"], [(6, SIX)]),
    }
    for name, data in files.items():
        write(os.path.join(FIX, "bin-views", name), data)
        got = torch.load(os.path.join(FIX, "bin-views", name), weights_only=True)
        assert got["w"].tolist() == [[0.5, -1.0, 2.0], [3.25, -4.5, 6.0]], name
        if "legacy" not in name:
            assert zipfile.ZipFile(os.path.join(FIX, "bin-views", name)).testzip() is None


def views():
    d = os.path.join(FIX, "bin-views")
    reset_dir(d)
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 4
    sd = collections.OrderedDict()
    sd["full"] = base
    sd["rows"] = base[1:3]                 # storage offset 6, shares storage with full
    sd["row"] = base[2]                    # offset 12
    sd["unsq"] = base[3].unsqueeze(0)      # a size-1 dimension
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["ids"] = torch.tensor([-3, 0, 1 << 40], dtype=torch.int64)
    sd["mask"] = torch.tensor([True, False, True])
    sd["half"] = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float16)
    sd["bf"] = torch.tensor([1.0, 3.0], dtype=torch.bfloat16)
    sd["f64"] = torch.tensor([0.25], dtype=torch.float64)
    sd["i32"] = torch.tensor([-7], dtype=torch.int32)
    sd["i16"] = torch.tensor([300], dtype=torch.int16)
    sd["i8"] = torch.tensor([-1, 2], dtype=torch.int8)
    sd["u8"] = torch.tensor([255], dtype=torch.uint8)
    sd["param"] = torch.nn.Parameter(torch.ones(2, 2))
    sd["名字"] = torch.tensor([1.0])
    sd._metadata = {"": {"version": 1}}
    torch.save(sd, os.path.join(d, "views.bin"))
    torch.save(sd, os.path.join(d, "views-p4.bin"), pickle_protocol=4)
    torch.save(sd, os.path.join(d, "views-legacy.bin"), _use_new_zipfile_serialization=False)
    check_load(os.path.join(d, "views-legacy.bin"), sd)
    check_load(os.path.join(d, "views.bin"), sd)
    # torch's weights_only reader lacks protocol 4's FRAME; this file is our own torch.save
    check_load(os.path.join(d, "views-p4.bin"), sd, weights_only=False)
    crafted_ok()


def bad_files():
    d = os.path.join(FIX, "bin-bad")
    reset_dir(d)
    good = w_tensor()

    def put(name, data):
        write(os.path.join(d, name + ".bin"), data)

    # reduce(os.system, ('echo pwned',)), as pickle.dumps writes it, in a torch archive
    evil = b"\x80\x02cos\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03."
    put("global-os-system", archive(evil, []))
    put("opcode-obj", archive(b"\x80\x02(ccollections\nOrderedDict\no.", []))
    put("tensor-past-storage", archive(p_state_dict([("w", w_tensor(offset=4))]), [("0", SIX)]))
    put("not-contiguous", archive(p_state_dict([("w", w_tensor(stride=(1, 2)))]), [("0", SIX)]))
    put("record-size", archive(p_state_dict([("w", w_tensor(numel=100))]), [("0", SIX)]))
    put("no-record", archive(p_state_dict([("w", w_tensor(key="7"))]), [("0", SIX)]))
    put("two-dtypes", archive(p_state_dict([("w", good), ("v", w_tensor(stype="HalfStorage"))]),
                              [("0", SIX)]))
    put("duplicate-name", archive(p_state_dict([("w", good), ("w", good)]), [("0", SIX)]))
    put("not-a-tensor", archive(p_state_dict([("w", p_int(5))]), []))
    put("big-endian", archive(p_state_dict([("w", good)]), [("0", SIX)], byteorder=b"big"))
    put("compressed", archive(p_state_dict([("w", good)]), [("0", SIX)], method=8))
    put("header-past-end", archive(p_state_dict([("w", good)]), [("0", SIX)],
                                   lho_patch=0x7FFFFFF0))
    # a real torch.save of a transposed tensor
    torch.save({"w": torch.arange(6.0).reshape(2, 3).t()}, os.path.join(d, "torch-transposed.bin"))
    # the legacy format
    lw = [("w", lw_tensor())]
    put("legacy-count", legacy_bytes(lw, ["0"], [(5, SIX)]))
    put("legacy-short", legacy_bytes(lw, ["0"], [(6, SIX[:20])]))
    put("legacy-trailing", legacy_bytes(lw, ["0"], [(6, SIX + b"xx")]))
    put("legacy-unused-key", legacy_bytes(lw, ["0", "1"], [(6, SIX), (6, SIX)]))
    put("legacy-unlisted", legacy_bytes(lw, [], []))
    put("legacy-view", legacy_bytes([("w", lw_tensor(view=p_tuple([p_str("1"), p_int(0),
                                                                  p_int(6)])))], ["0"], [(6, SIX)]))
    put("legacy-big-endian", legacy_bytes(lw, ["0"], [(6, SIX)], little=False))
    put("legacy-global", legacy_bytes([("w", b"cos\nsystem\nX\x02\x00\x00\x00id\x85R")], [], []))
    put("tar", b"\0" * 257 + b"ustar\x0000" + b"\0" * 248)


def corpus():
    reset_dir(CORPUS)
    for f in ["crafted.bin", "crafted-zip64.bin", "crafted-legacy.bin", "views.bin",
              "views-p4.bin", "views-legacy.bin"]:
        shutil.copy(os.path.join(FIX, "bin-views", f), os.path.join(CORPUS, f))
    for f in sorted(os.listdir(os.path.join(FIX, "bin-bad"))):
        shutil.copy(os.path.join(FIX, "bin-bad", f), os.path.join(CORPUS, "bad-" + f))
    # the bare pickles, for the harness's pickle-only pass
    for f in ["views.bin", "views-p4.bin"]:
        z = zipfile.ZipFile(os.path.join(FIX, "bin-views", f))
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        write(os.path.join(CORPUS, f.replace(".bin", ".pkl")), z.read(pkl))
    z = zipfile.ZipFile(os.path.join(FIX, "bin-bert-f16", "pytorch_model.bin"))
    write(os.path.join(CORPUS, "bert-f16.pkl"), z.read("pytorch_model/data.pkl"))
    # a real checkpoint's layout with the weights cut to a few elements
    small = {k: v.flatten()[:3].clone() for k, v in list(
        load_file(os.path.join(FIX, "bert-relu", "model.safetensors")).items())[:6]}
    torch.save(small, os.path.join(CORPUS, "bert-small.bin"))


def main():
    torch.manual_seed(0)
    real_checkpoints()
    views()
    bad_files()
    corpus()
    print("wrote bin-* fixtures and the torchbin fuzz corpus", file=sys.stderr)


if __name__ == "__main__":
    main()
