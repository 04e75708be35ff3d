#!/usr/bin/env bash
# BigBird-Pegasus through the command line (its attentions, logits and greedy generation
# against transformers: tests/test_seq2seq.c's s2s-bigbird-pegasus-* goldens): listed; a
# source past (5 + 2 num_random_blocks) block_size tokens runs its encoder block-sparse
# (zeros outside each row's blocks, the padding to whole blocks left out), with --pairs and
# with --generate; a block-sparse source without random blocks refused by name; its
# PegasusTokenizer implied by model_type.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }

BP=tests/fixtures/s2s-bigbird-pegasus-f32   # block_size 2, 1 random block: full up to 14
check "info --families lists bigbird_pegasus" "\"$MHAVIZ\" info --families | grep -qx bigbird_pegasus"

# the encoder's maps of a 15-token source (padded by transformers to 16: 8 blocks of 2):
# query block 2 (tokens 4-5) sees key blocks 0, 1-3 (tokens 2-7) and 7 (token 14) only
sparse_ok() {
    perl -MJSON::PP -0777 -ne '$s = decode_json($_)->{sentences}[0]; $enc = 0;
        for $a (@{$s->{attentions}}) { next unless $a->{stack} eq "encoder"; $enc++;
            $w = $a->{weights};
            exit 1 unless @$w == 15 && @{$w->[0]} == 15 && $w->[4][8] == 0 && $w->[4][1] > 0 &&
                $w->[4][7] > 0 && $w->[4][14] > 0 && $w->[4][13] == 0 && $w->[0][9] > 0 &&
                $w->[14][9] > 0 }
        exit($enc ? 0 : 1)' "$1"
}
printf '5 6 7 8 9 10 11 12 13 14 15 16 17 18 19\t0 5 6\n' >"$TMP/pairs.txt"
rm -rf "$TMP/p"
"$MHAVIZ" run --model $BP --ids --pairs --format json --out "$TMP/p" "$TMP/pairs.txt" 2>"$TMP/err"
check "bigbird_pegasus: a 15-token source runs block-sparse" "[ \$? = 0 ] && sparse_ok \"$TMP/p/pairs.json\""
printf '5 6 7 8 9 10 11 12 13 14 15 16 17 18 19\n' >"$TMP/src.txt"
rm -rf "$TMP/g"
"$MHAVIZ" run --model $BP --ids --generate 3 --format json --out "$TMP/g" "$TMP/src.txt" 2>"$TMP/err"
check "bigbird_pegasus: --generate over a block-sparse source" "[ \$? = 0 ] && sparse_ok \"$TMP/g/src.json\""
# 1 and 2 threads: the same bytes
rm -rf "$TMP/t1" "$TMP/t2"
"$MHAVIZ" run --model $BP --ids --pairs --threads 1 --format json --out "$TMP/t1" "$TMP/pairs.txt" 2>/dev/null
"$MHAVIZ" run --model $BP --ids --pairs --threads 2 --format json --out "$TMP/t2" "$TMP/pairs.txt" 2>/dev/null
check "bigbird_pegasus: 1 and 2 threads the same bytes" "cmp -s \"$TMP/t1/pairs.json\" \"$TMP/t2/pairs.json\""

M=$TMP/bp-norandom
mkdir -p "$M"
cp $BP/* "$M/"
sed -i 's/"num_random_blocks": 1/"num_random_blocks": 0/' "$M/config.json"
printf '5 6 7 8 9 10 11 12 13 14 15\t0 5\n' >"$TMP/p11.txt"
expect_fail "bigbird_pegasus: block_sparse without random blocks" 1 "block_sparse attention with num_random_blocks 0 is not supported (transformers fails on it): a sentence of 11 tokens is longer than the 10 run as original_full" \
    -- "$MHAVIZ" run --model "$M" --ids --pairs --format json --out "$TMP/out" "$TMP/p11.txt"

# its tokenizer is PegasusTokenizer's: a spiece.model without tokenizer.json refused by name,
# the class implied by model_type bigbird_pegasus when tokenizer_config.json names none
mkdir -p "$TMP/bpt"
cp $BP/config.json $BP/model.safetensors "$TMP/bpt/"
cp tests/fixtures/tok-t5-spm/spiece.model "$TMP/bpt/"
printf 'a\tb\n' >"$TMP/bpt.txt"
expect_fail "bigbird_pegasus: spiece.model refused by model_type" 1 "PegasusTokenizer's spiece.model" -- \
    "$MHAVIZ" run --model "$TMP/bpt" --pairs --out "$TMP/out" "$TMP/bpt.txt"

finish
