#!/usr/bin/env bash
# pytorch_model.bin, read without running code (issue 13). The bin-* fixtures are the same
# weights as safetensors fixtures, written by torch.save (tests/gen/gen_torchbin_fixtures.py):
# `run --format json` gives the same bytes for both (but the model path). Hostile checkpoints
# (tests/fixtures/bin-bad/, and truncated or broken copies of the real ones made here) each
# exit 1 with one "mhaviz: DIR/pytorch_model.bin: problem" line, print nothing on stdout (the
# forbidden-global pickle would print "pwned" if anything ran it) and leave no output.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
printf '苹果从树上掉下来，小明把它捡起来了。\n好\n' >"$TMP/s.txt"
printf '1 5 9 33 2\n7 7 300 12\n' >"$TMP/ids.txt"

# same_json NAME BIN_DIR ST_DIR ARGS...: both runs succeed silently and their JSON is the
# same bytes once the model path is blanked
same_json() {
    local name=$1 bin=$2 st=$3
    shift 3
    rm -rf "$TMP/a" "$TMP/b"
    "$MHAVIZ" run --model "$bin" --format json --out "$TMP/a" "$@" >"$TMP/stdout" 2>"$TMP/stderr"
    check "$name: .bin run exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stdout ] && [ ! -s $TMP/stderr ]"
    "$MHAVIZ" run --model "$st" --format json --out "$TMP/b" "$@" >/dev/null 2>&1
    local f
    f=$(ls "$TMP/b")
    check "$name: same JSON as safetensors" \
        "[ -s $TMP/a/$f ] && cmp -s <(sed 's|\"path\": \"[^\"]*\"||' $TMP/a/$f) <(sed 's|\"path\": \"[^\"]*\"||' $TMP/b/$f)"
    check "$name: the JSON names the .bin model" "grep -qF '\"path\": \"$bin\"' $TMP/a/$f"
}

same_json bert-f32 tests/fixtures/bin-bert-f32 tests/fixtures/bert-relu "$TMP/s.txt"
same_json bert-f16 tests/fixtures/bin-bert-f16 tests/fixtures/bert-f16 "$TMP/s.txt"
same_json bert-sharded tests/fixtures/bin-bert-sharded tests/fixtures/bert-relu "$TMP/s.txt"
same_json llama-bf16 tests/fixtures/bin-dec-llama-bf16 tests/fixtures/dec-llama-bf16-gqa2-linear \
    --ids "$TMP/ids.txt"
same_json bert-legacy tests/fixtures/bin-bert-legacy tests/fixtures/bert-relu "$TMP/s.txt"
check "info on a sharded .bin" \
    "[ \"\$(\"$MHAVIZ\" info --model tests/fixtures/bin-bert-sharded | grep '^tensors:')\" = 'tensors: 23' ]"

# ---- hostile checkpoints ----
M=$TMP/m
BIN=$M/pytorch_model.bin
fresh() { rm -rf "$M"; cp -r tests/fixtures/bin-bert-f32 "$M"; }
with_bad() { fresh; cp "tests/fixtures/bin-bad/$1.bin" "$BIN"; }
run() { "$MHAVIZ" run --format json --out "$TMP/out" --model "$M" "$TMP/s.txt"; }

with_bad global-os-system
expect_fail forbidden-global 1 "$BIN: pickle global 'os.system' is not allowed" -- run
with_bad opcode-obj
expect_fail forbidden-opcode 1 "$BIN: pickle opcode 0x6f ('o') at byte 28 is not allowed" -- run
with_bad not-a-tensor
expect_fail not-a-tensor 1 "$BIN: state dict entry 'w' is not a tensor" -- run
with_bad tensor-past-storage
expect_fail tensor-past-storage 1 "$BIN: tensor 'w' needs elements 4..10 of storage '0', which has 6" -- run
with_bad not-contiguous
expect_fail stride-mismatch 1 "$BIN: tensor 'w' is not contiguous (shape [2,3], stride [1,2]); only row-major tensors are supported" -- run
with_bad torch-transposed
expect_fail torch-transposed 1 "$BIN: tensor 'w' is not contiguous (shape [3,2], stride [1,3])" -- run
with_bad record-size
expect_fail record-size 1 "$BIN: storage '0' of 100 x F32 has a 24-byte record" -- run
with_bad no-record
expect_fail no-record 1 "$BIN: storage '7' has no record 'archive/data/7'" -- run
with_bad two-dtypes
expect_fail two-dtypes 1 "$BIN: storage '0' is declared as 6 x F32 and as 6 x F16" -- run
with_bad duplicate-name
expect_fail duplicate-name 1 "$BIN: tensor 'w' appears twice in the state dict" -- run
with_bad big-endian
expect_fail big-endian 1 "$BIN: byteorder record is 'big'; only little-endian checkpoints are supported" -- run
with_bad compressed
expect_fail compressed-entry 1 "$BIN: entry 'archive/data/0' is compressed (method 8); torch.save stores entries uncompressed" -- run
with_bad header-past-end
expect_fail storage-offset-past-end 1 "$BIN: entry 'archive/data/0' has its local header at offset 2147483632, outside the entries" -- run
with_bad legacy-global
expect_fail legacy-forbidden-global 1 "$BIN: pickle global 'os.system' is not allowed" -- run
with_bad legacy-view
expect_fail legacy-storage-view 1 "is a storage view (pre-1.0 torch.save); re-save with torch>=1.6" -- run
with_bad legacy-count
expect_fail legacy-count 1 "$BIN: storage '0' has 5 elements in the file but 6 in the pickle" -- run
with_bad tar
expect_fail tar-format 1 "$BIN: tar-format torch.save checkpoints (torch<0.4) are not supported; re-save with torch>=1.6" -- run
fresh; head -c 150000 tests/fixtures/bin-bert-legacy/pytorch_model.bin >"$BIN"
expect_fail legacy-truncated 1 "runs past the end of the file (file truncated?)" -- run

fresh; head -c 100000 tests/fixtures/bin-bert-f32/pytorch_model.bin >"$BIN"
expect_fail truncated 1 "$BIN: no zip end-of-central-directory record (file truncated?)" -- run
fresh; : >"$BIN"
expect_fail empty 1 "$BIN: file is empty" -- run
fresh; echo 'not a checkpoint' >"$BIN"
expect_fail not-zip 1 "$BIN: not a PyTorch zip checkpoint (no zip local header at the start)" -- run
# the central directory's offset (in the end record, 6 bytes before the end) past the file
fresh; printf '\xff\xff\xff\x7f' | dd of="$BIN" bs=1 seek=$(($(stat -c %s "$BIN") - 6)) conv=notrunc 2>/dev/null
expect_fail cd-past-end 1 "$BIN: central directory (" -- run

# sharded: a shard cut short, a shard missing, a shard outside the directory
S=$TMP/s
fresh_sharded() { rm -rf "$S"; cp -r tests/fixtures/bin-bert-sharded "$S"; }
fresh_sharded; truncate -s 50000 "$S/pytorch_model-00002-of-00003.bin"
expect_fail shard-truncated 1 "$S/pytorch_model-00002-of-00003.bin: no zip end-of-central-directory record" -- \
    "$MHAVIZ" run --format json --out "$TMP/out" --model "$S" "$TMP/s.txt"
fresh_sharded; rm "$S/pytorch_model-00003-of-00003.bin"
expect_fail shard-missing 1 "$S/pytorch_model.bin.index.json: shard 'pytorch_model-00003-of-00003.bin' is missing" -- \
    "$MHAVIZ" run --format json --out "$TMP/out" --model "$S" "$TMP/s.txt"
fresh_sharded; sed -i 's|"pytorch_model-00001-of-00003.bin"|"../pytorch_model.bin"|' "$S/pytorch_model.bin.index.json"
expect_fail shard-outside 1 "$S/pytorch_model.bin.index.json: shard name '../pytorch_model.bin' is not a plain file name" -- \
    "$MHAVIZ" run --format json --out "$TMP/out" --model "$S" "$TMP/s.txt"

# a tensor the model needs is absent (renamed in place: names live only in data.pkl, which
# is stored, so the archive stays valid): the message names the .bin, or the index
fresh; perl -0777 -pi -e 's/embeddings\.LayerNorm\.bias/embeddings.LayerNorm.bIas/' "$BIN"
expect_fail missing-tensor 1 "$BIN: missing tensor 'embeddings.LayerNorm.bias'" -- run
fresh_sharded
for f in "$S"/pytorch_model*; do perl -0777 -pi -e 's/embeddings\.LayerNorm\.bias/embeddings.LayerNorm.bIas/' "$f"; done
expect_fail missing-tensor-sharded 1 "$S/pytorch_model.bin.index.json: missing tensor 'embeddings.LayerNorm.bias'" -- \
    "$MHAVIZ" run --format json --out "$TMP/out" --model "$S" "$TMP/s.txt"

# a directory with neither format names both
rm -rf "$M"; mkdir "$M"; cp tests/fixtures/bin-bert-f32/config.json "$M/"
expect_fail no-checkpoint 1 "no model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json" -- run
finish
