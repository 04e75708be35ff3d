#!/usr/bin/env bash
# The encoders data2vec-text, XLM-RoBERTa-XL, Megatron-BERT and RoFormer through the command
# line (their attentions and logits against transformers: tests/test_families.c; their
# tokenizers: tests/test_tok_families.c): listed, described, run; RoFormerTokenizer's text
# refused by name (its jieba pre-tokenization is in no tokenizer file) while --pretokenized
# and --ids work; data2vec-text's vocab.json + merges.txt without tokenizer.json refused as
# the RobertaTokenizer its model_type implies.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }

families=$("$MHAVIZ" info --families)
for t in data2vec-text xlm-roberta-xl megatron-bert roformer mobilebert longformer squeezebert big_bird; do
    check "info --families lists $t" "printf '%s\n' \"\$families\" | grep -qx $t"
done
# info and run --ids on each family's fixture (no tokenizer: tokens labelled by their ids)
printf '5 6 7 8\n' >"$TMP/ids4.txt"
for t in data2vec-text xlm-roberta-xl megatron-bert mobilebert longformer squeezebert; do
    rm -rf "$TMP/o"
    "$MHAVIZ" run --model tests/fixtures/fam-$t-f32 --ids --format json --out "$TMP/o" \
        "$TMP/ids4.txt" 2>"$TMP/err"
    check "$t: run --ids" "[ \$? = 0 ] && grep -q '\"architecture\": \"$t\"' \"$TMP/o/ids4.json\""
done

# BigBird block_sparse: run as original_full up to (5 + 2 * 1) * 4 = 28 tokens, as transformers
rm -rf "$TMP/bb"
seq 5 32 | tr '\n' ' ' >"$TMP/ids28.txt"; echo >>"$TMP/ids28.txt"
check "big_bird: block_sparse as original_full at 28 tokens" "\"$MHAVIZ\" run --model tests/fixtures/fam-big-bird-mlm-f16 --ids --format json --out \"$TMP/bb\" \"$TMP/ids28.txt\" 2>/dev/null && grep -q '\"architecture\": \"big_bird\"' \"$TMP/bb/ids28.json\""
# past 28 tokens block-sparse (29 tokens: padded by transformers to 32, 8 blocks of 4): query
# block 2 (tokens 8-11) sees key blocks 0, 1-3 (tokens 4-15) and 7 only, the global blocks 0 and 7 every key
seq 5 33 | tr '\n' ' ' >"$TMP/ids29.txt"; echo >>"$TMP/ids29.txt"
rm -rf "$TMP/bb"
sparse_ok() {
    perl -MJSON::PP -0777 -ne '$s = decode_json($_)->{sentences}[0];
        for $a (@{$s->{attentions}}) { $w = $a->{weights};
            exit 1 unless @$w == 29 && @{$w->[0]} == 29 && $w->[8][20] == 0 && $w->[8][3] > 0 &&
                $w->[8][28] > 0 && $w->[8][16] == 0 && $w->[8][15] > 0 && $w->[0][20] > 0 && $w->[28][20] > 0 }' "$1"
}
check "big_bird: block_sparse past 28 tokens runs block-sparse" "\"$MHAVIZ\" run --model tests/fixtures/fam-big-bird-mlm-f16 --ids --format json --out \"$TMP/bb\" \"$TMP/ids29.txt\" 2>/dev/null && sparse_ok \"$TMP/bb/ids29.json\""
# --rows keeps those rows of the full maps, the same bytes (block 0's copies divided back in
# the kept rows)
rm -rf "$TMP/bbr"
same_rows() {
    perl -MJSON::PP -e 'local $/; open(my $f, "<", $ARGV[0]) or die; open(my $r, "<", $ARGV[1]) or die;
        my $F = decode_json(<$f>)->{sentences}[0]; my $R = decode_json(<$r>)->{sentences}[0];
        my @rows = @{$R->{rows}}; exit 1 unless "@rows" eq "5 9 10 11 12 28";
        for my $k (0 .. $#{$F->{attentions}}) { my $fw = $F->{attentions}[$k]{weights};
            my $rw = $R->{attentions}[$k]{weights};
            for my $t (0 .. $#rows) { exit 1 unless "@{$fw->[$rows[$t]]}" eq "@{$rw->[$t]}" } }' "$1" "$2"
}
check "big_bird: block-sparse --rows gives the full maps' rows" "\"$MHAVIZ\" run --model tests/fixtures/fam-big-bird-mlm-f16 --ids --rows 5,9:13,28 --format json --out \"$TMP/bbr\" \"$TMP/ids29.txt\" 2>/dev/null && same_rows \"$TMP/bb/ids29.json\" \"$TMP/bbr/ids29.json\""
# what transformers cannot run: no random blocks; a padded length past the positions
M=$TMP/bb-norandom
mkdir -p "$M"
cp tests/fixtures/fam-big-bird-mlm-f16/* "$M/"
sed -i 's/"num_random_blocks": 1/"num_random_blocks": 0/' "$M/config.json"
seq 5 25 | tr '\n' ' ' >"$TMP/ids21.txt"; echo >>"$TMP/ids21.txt"
expect_fail "big_bird: block_sparse without random blocks" 1 "block_sparse attention with num_random_blocks 0 is not supported (transformers fails on it): a sentence of 21 tokens is longer than the 20 run as original_full" \
    -- "$MHAVIZ" run --model "$M" --ids --format json --out "$TMP/out" "$TMP/ids21.txt"
seq 5 24 | tr '\n' ' ' >"$TMP/ids20.txt"; echo >>"$TMP/ids20.txt"
check "big_bird: no random blocks, 20 tokens as original_full" "\"$MHAVIZ\" run --model \"$M\" --ids --format json --out \"$TMP/bb20\" \"$TMP/ids20.txt\" 2>/dev/null"
seq 5 59 | tr '\n' ' ' >"$TMP/ids55.txt"; echo >>"$TMP/ids55.txt"
expect_fail "big_bird: padded past max_position_embeddings" 1 "a sentence of 55 tokens padded to 57 (a multiple of block_size 3) exceeds max_position_embeddings 56" \
    -- "$MHAVIZ" run --model tests/fixtures/fam-big-bird-sparse-mlm-bf16 --ids --format json --out "$TMP/out" "$TMP/ids55.txt"

# SqueezeBERT: norm-out needs one output matrix, which grouped post-attention convolutions are not
check "squeezebert: norm-out with one post-attention group" "\"$MHAVIZ\" run --model tests/fixtures/fam-squeezebert-f32 --ids --weighting norm-out --format json --out \"$TMP/sq\" \"$TMP/ids4.txt\" 2>/dev/null && grep -q value_norms \"$TMP/sq/ids4.json\""
expect_fail "squeezebert: norm-out with grouped post-attention" 1 "norm-out) are not supported with post_attention_groups 2" \
    -- "$MHAVIZ" run --model tests/fixtures/fam-squeezebert-mlm-f16 --ids --weighting norm-out --format json --out "$TMP/out" "$TMP/ids4.txt"

# MobileBERT's tokenizer_class MobileBertTokenizer is BertTokenizer; a base model has no logits
M=$TMP/mobilebert
mkdir -p "$M"
cp tests/fixtures/fam-mobilebert-f32/* "$M/"
{ printf '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n'; for i in $(seq 5 119); do printf 'w%d\n' "$i"; done; } >"$M/vocab.txt"
printf '{"tokenizer_class": "MobileBertTokenizer", "do_lower_case": true}\n' >"$M/tokenizer_config.json"
printf 'W5 w6\tw7\n' >"$TMP/mb.txt"
check "mobilebert: tokenize as BertTokenizer" "[ \"\$(\"$MHAVIZ\" tokenize --model \"$M\" --pairs \"$TMP/mb.txt\" | cut -f2)\" = '2 5 6 3 7 3' ]"
printf 'w5 [MASK] w7\n' >"$TMP/mask.txt"
expect_fail "mobilebert: a base model has no masked-LM head" 1 "mobilebert checkpoint without a masked-LM head" \
    -- "$MHAVIZ" ablate --model "$M" --heads 0:0 "$TMP/mask.txt"

M2=$TMP/mobilebert-mlm
mkdir -p "$M2"
cp tests/fixtures/fam-mobilebert-mlm-f16/* "$M/vocab.txt" "$M/tokenizer_config.json" "$M2/"
check "mobilebert: ablate through its masked-LM head" "\"$MHAVIZ\" ablate --model \"$M2\" --heads 0:0 --format json \"$TMP/mask.txt\" 2>/dev/null | grep -q '\"mean_after\"'"

# RoFormer with a vocab.txt: tokenizer_config.json names RoFormerTokenizer
R=$TMP/roformer
mkdir -p "$R"
cp tests/fixtures/fam-roformer-f32/* "$R/"
{ printf '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n'; for i in $(seq 5 119); do printf 'w%d\n' "$i"; done; } >"$R/vocab.txt"
printf '{"tokenizer_class": "RoFormerTokenizer", "do_lower_case": false}\n' >"$R/tokenizer_config.json"
printf 'w5 w6 w7\n' >"$TMP/text.txt"
printf '[CLS] w5 w6 w7 [SEP]\n' >"$TMP/pieces.txt"
printf '2 5 6 7 3\n' >"$TMP/ids.txt"
printf 'w5\tw6\n' >"$TMP/pairs.txt"
expect_fail "roformer: text refused" 1 \
    "tokenizer_class 'RoFormerTokenizer' is not supported (its jieba pre-tokenization is in no tokenizer file): use --pretokenized or --ids" \
    -- "$MHAVIZ" run --model "$R" --format json --out "$TMP/out" "$TMP/text.txt"
expect_fail "roformer: pairs refused" 1 "tokenizer_class 'RoFormerTokenizer' is not supported" \
    -- "$MHAVIZ" run --model "$R" --pairs --format json --out "$TMP/out" "$TMP/pairs.txt"
expect_fail "roformer: tokenize refused" 1 "tokenizer_class 'RoFormerTokenizer' is not supported" \
    -- "$MHAVIZ" tokenize --model "$R" "$TMP/text.txt"
check "roformer: info" "\"$MHAVIZ\" info --model \"$R\" | grep -q '^architecture: roformer (model_type roformer)$'"
check "roformer: tokenize --pretokenized" "[ \"\$(\"$MHAVIZ\" tokenize --model \"$R\" --pretokenized \"$TMP/pieces.txt\" | cut -f2)\" = '2 5 6 7 3' ]"
rm -rf "$TMP/p" "$TMP/i"
"$MHAVIZ" run --model "$R" --pretokenized --format json --out "$TMP/p" "$TMP/pieces.txt" 2>"$TMP/err1"
check "roformer: run --pretokenized" "[ \$? = 0 ] && [ -s \"$TMP/p/pieces.json\" ]"
"$MHAVIZ" run --model "$R" --ids --format json --out "$TMP/i" "$TMP/ids.txt" 2>"$TMP/err2"
check "roformer: run --ids" "[ \$? = 0 ] && [ -s \"$TMP/i/ids.json\" ]"
check "roformer: the same attentions from pieces and ids" "perl -MJSON::PP -e '
    sub slurp { local \$/; open my \$f, q(<), \$_[0] or die; decode_json(<\$f>) }
    my (\$a, \$b) = (slurp(q($TMP/p/pieces.json)), slurp(q($TMP/i/ids.json)));
    my \$js = JSON::PP->new->canonical;
    exit 1 unless \$js->encode(\$a->{sentences}[0]{attentions}) eq \$js->encode(\$b->{sentences}[0]{attentions});
    exit 2 unless join(q(,), @{\$a->{sentences}[0]{token_ids}}) eq q(2,5,6,7,3)'"
# no class named: config.json's model_type roformer implies RoFormerTokenizer
rm "$R/tokenizer_config.json"
expect_fail "roformer: the class config.json implies" 1 \
    "tokenizer_class 'RoFormerTokenizer' (config.json's model_type) is not supported" \
    -- "$MHAVIZ" run --model "$R" --format json --out "$TMP/out" "$TMP/text.txt"

# data2vec-text's vocab.json + merges.txt alone: RobertaTokenizer, not GPT2Tokenizer
D=$TMP/d2v
mkdir -p "$D"
cp tests/fixtures/fam-data2vec-text-f32/* "$D/"
printf '{"a": 0, "b": 1, "ab": 2}\n' >"$D/vocab.json"
printf '#version: 0.2\na b\n' >"$D/merges.txt"
expect_fail "data2vec-text: vocab.json + merges.txt without tokenizer.json" 1 \
    "tokenizer_class 'RobertaTokenizer' (config.json's model_type) without a tokenizer.json is not supported" \
    -- "$MHAVIZ" run --model "$D" --format json --out "$TMP/out" "$TMP/text.txt"
# Longformer's likewise
L=$TMP/lf
mkdir -p "$L"
cp tests/fixtures/fam-longformer-f32/* "$D/vocab.json" "$D/merges.txt" "$L/"
expect_fail "longformer: vocab.json + merges.txt without tokenizer.json" 1 \
    "tokenizer_class 'RobertaTokenizer' (config.json's model_type) without a tokenizer.json is not supported" \
    -- "$MHAVIZ" run --model "$L" --format json --out "$TMP/out" "$TMP/text.txt"
finish
