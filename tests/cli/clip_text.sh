#!/usr/bin/env bash
# The text towers of dual image-text models through `mhaviz run --text-tower`
# (tests/gen/fam_clip_text.py): CLIP's tokenizer.json (byte-level BPE with the "</w>"
# suffix) gives transformers' ids, every head of the text tower within the golden's
# tolerance, 1 and 2 threads the same bytes, truncation as the tokenizer's, refusals.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
FIX=tests/fixtures
G=$FIX/goldens

golden_check() { # GOLDEN JSON: every sentence's ids and every head within the tolerance
    perl -MJSON::PP -e 'local $/; open(my $g, q(<), $ARGV[0]) or exit 9; my $gold = decode_json(<$g>);
        open(my $f, q(<), $ARGV[1]) or exit 7; my $out = decode_json(<$f>);
        my ($worst, $maps, $want_maps) = (0, 0, 0); my @s = @{$out->{sentences}};
        exit 6 unless @s == @{$gold->{sentences}};
        for my $k (0..$#s) { my $w = $gold->{sentences}[$k];
            exit 5 unless join(" ", @{$s[$k]{token_ids}}) eq join(" ", @{$w->{token_ids}});
            $want_maps += @{$w->{attentions}} * @{$w->{attentions}[0]};
            for my $a (@{$s[$k]{attentions}}) { $maps++; my $want = $w->{attentions}[$a->{layer}][$a->{head}];
                for my $i (0..$#$want) { for my $j (0..$#$want) {
                    my $d = abs($a->{weights}[$i][$j] - $want->[$i][$j]); $worst = $d if $d > $worst } } } }
        printf STDERR "%d maps, worst %.3g (tolerance %.3g)\n", $maps, $worst, $gold->{tolerance};
        exit !($maps == $want_maps && $worst <= $gold->{tolerance})' "$1" "$2"
}

# CLIP: a whole CLIPModel's text tower with its tokenizer
CT=$FIX/fam-clip-text-tok-f32
"$MHAVIZ" tokenize --model "$CT" "$G/clip-text-tok.txt" >"$TMP/tok" 2>"$TMP/stderr"
check "clip tokenizer.json: transformers' ids" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && cut -f2 $TMP/tok | diff -q - $G/clip-text-tok.ids >/dev/null"
"$MHAVIZ" run --model "$CT" --text-tower --threads 1 --format json --out "$TMP/c1" "$G/clip-text-tok.txt" 2>"$TMP/stderr"
check "clip --text-tower: every head as transformers" "[ $? = 0 ] && [ ! -s $TMP/stderr ] &&
    golden_check $G/fam-clip-text-tok-f32.json $TMP/c1/clip-text-tok.json 2>>$TMP/golden.log"
check "clip --text-tower: the text tower, causal" "grep -q '\"architecture\": \"clip_text_model\", .*\"causal\": true' $TMP/c1/clip-text-tok.json"
"$MHAVIZ" run --model "$CT" --text-tower --threads 2 --format json --out "$TMP/c2" "$G/clip-text-tok.txt" 2>"$TMP/stderr"
check "clip --text-tower: 1 and 2 threads the same bytes" "[ $? = 0 ] && cmp -s $TMP/c1/clip-text-tok.json $TMP/c2/clip-text-tok.json"
"$MHAVIZ" run --model "$CT" --text-tower --format png --out "$TMP/cp" "$G/clip-text-tok.txt" 2>"$TMP/stderr"
check "clip --text-tower: figures" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && ls $TMP/cp | grep -q ."

# past max_position_embeddings (40 here, 77 in CLIP's checkpoints): refused, or cut as
# transformers' truncation=True cuts it (<|startoftext|>, 38 tokens, <|endoftext|>)
for i in $(seq 30); do printf 'the cat '; done >"$TMP/long.txt"; echo >>"$TMP/long.txt"
expect_fail "clip text past its positions" 1 "62 tokens exceed the model's 40 positions (use --truncate)" -- \
    "$MHAVIZ" run --model "$CT" --text-tower --out "$TMP/out" "$TMP/long.txt"
"$MHAVIZ" run --model "$CT" --text-tower --truncate --format json --out "$TMP/tr" "$TMP/long.txt" 2>"$TMP/stderr"
want="527$(for i in $(seq 19); do printf ', 513, 515'; done), 528"
check "clip --truncate: the tokenizer's truncation" "[ $? = 0 ] && grep -qF '\"token_ids\": [$want]' $TMP/tr/long.json"

# SigLIP: a whole SiglipModel's text tower over ids (SiglipTokenizer's spiece.model is not
# read), bidirectional; the last sentence padded to max_length, its pads attended
ST=$FIX/fam-siglip-text-full-bf16
perl -MJSON::PP -e 'local $/; print map { join(" ", @{$_->{token_ids}}) . "\n" } @{decode_json(<STDIN>)->{sentences}}' \
    <$G/fam-siglip-text-full-bf16.json >"$TMP/sig.ids"
"$MHAVIZ" run --model "$ST" --text-tower --ids --threads 1 --format json --out "$TMP/s1" "$TMP/sig.ids" 2>"$TMP/stderr"
check "siglip --text-tower --ids: every head as transformers" "[ $? = 0 ] && [ ! -s $TMP/stderr ] &&
    golden_check $G/fam-siglip-text-full-bf16.json $TMP/s1/sig.json 2>>$TMP/golden.log"
check "siglip --text-tower: the text tower, bidirectional" "grep -q '\"architecture\": \"siglip_text_model\", .*\"causal\": false' $TMP/s1/sig.json"
"$MHAVIZ" run --model "$ST" --text-tower --ids --threads 2 --format json --out "$TMP/s2" "$TMP/sig.ids" 2>"$TMP/stderr"
check "siglip --text-tower: 1 and 2 threads the same bytes" "[ $? = 0 ] && cmp -s $TMP/s1/sig.json $TMP/s2/sig.json"

# Chinese-CLIP: a whole ChineseCLIPModel; its BERT text tower with the BertTokenizer of its
# vocab.txt (Chinese characters one token each) and its CLIP vision tower on an image
CC=$FIX/fam-chinese-clip-tok-f32
"$MHAVIZ" tokenize --model "$CC" "$G/chinese-clip-tok.txt" >"$TMP/ctok" 2>"$TMP/stderr"
check "chinese_clip vocab.txt: transformers' ids" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && cut -f2 $TMP/ctok | diff -q - $G/chinese-clip-tok.ids >/dev/null"
"$MHAVIZ" run --model "$CC" --text-tower --threads 1 --format json --out "$TMP/cc1" "$G/chinese-clip-tok.txt" 2>"$TMP/stderr"
check "chinese_clip --text-tower: every head as transformers" "[ $? = 0 ] && [ ! -s $TMP/stderr ] &&
    golden_check $G/fam-chinese-clip-tok-f32.json $TMP/cc1/chinese-clip-tok.json 2>>$TMP/golden.log"
check "chinese_clip --text-tower: BERT, bidirectional" "grep -q '\"architecture\": \"chinese_clip_text_model\", .*\"causal\": false' $TMP/cc1/chinese-clip-tok.json"
"$MHAVIZ" run --model "$CC" --text-tower --threads 2 --format json --out "$TMP/cc2" "$G/chinese-clip-tok.txt" 2>"$TMP/stderr"
check "chinese_clip --text-tower: 1 and 2 threads the same bytes" "[ $? = 0 ] && cmp -s $TMP/cc1/chinese-clip-tok.json $TMP/cc2/chinese-clip-tok.json"
"$MHAVIZ" run --model "$FIX/fam-chinese-clip-vision-bf16" --format json --out "$TMP/cv" "$FIX/images/grey-16x16.png" 2>"$TMP/stderr"
check "chinese_clip: the vision tower on an image ([CLS] and 4x4 patches)" "[ $? = 0 ] && [ ! -s $TMP/stderr ] &&
    perl -MJSON::PP -e 'local \$/; my \$i = decode_json(<STDIN>)->{images}[0]; exit !(@{\$i->{tokens}} == 17)' <$TMP/cv/grey-16x16.json"

# refusals
# sentences given to a whole clip checkpoint without --text-tower: its vision tower reads the
# lines as image paths; the refusal says so (not for an image named directly)
printf 'a photo of a cat\n' >"$TMP/captions.txt"
expect_fail "clip: sentences without --text-tower" 1 "a photo of a cat: cannot open: No such file or directory (clip reads images; --text-tower runs its text tower on sentences)" -- \
    "$MHAVIZ" run --model "$CT" --out "$TMP/out" "$TMP/captions.txt"
expect_fail "--text-tower on a vision model" 2 "clip_vision_model has no text tower (clip, siglip and chinese_clip have)" -- \
    "$MHAVIZ" run --model "$FIX/fam-clip-vision-f32" --text-tower --out "$TMP/out" "$G/clip-text-tok.txt"
expect_fail "--text-tower with --vision-tower" 2 "--text-tower takes neither --vision-tower nor --image" -- \
    "$MHAVIZ" run --model "$CT" --text-tower --vision-tower --out "$TMP/out" "$G/clip-text-tok.txt"
expect_fail "clip text tower: no logits" 1 "a base model has" -- \
    "$MHAVIZ" run --model "$CT" --text-tower --generate 2 --out "$TMP/out" "$G/clip-text-tok.txt"
finish
