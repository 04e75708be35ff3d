#!/usr/bin/env bash
# Gemma 3 with an image through `mhaviz run --image`: the prompts of
# tests/gen/fam_gemma3_vision.py end to end against transformers' Gemma3Processor and model
# (tests/fixtures/goldens/mm-gemma3-*.json: its ids, every decoder head), the image tokens'
# labels and the json's "image"; the same bytes on 1 and 2 threads; the text path without
# --image unchanged; what is refused.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
FIX=tests/fixtures
IMG=$FIX/images/rgb-37x23.png

# every sentence of JSON against GOLDEN: the processor's ids, each head within its tolerance
golden_check() { # GOLDEN JSON
    perl -MJSON::PP -e 'local $/; open(my $g, q(<), $ARGV[0]) or exit 9; my $gold = decode_json(<$g>);
        open(my $r, q(<), $ARGV[1]) or exit 9; my $run = decode_json(<$r>);
        my @gs = @{$gold->{sentences}}; my @rs = @{$run->{sentences}};
        exit 8 unless @gs == @rs;
        for my $k (0 .. $#gs) {
            my ($g, $s) = ($gs[$k], $rs[$k]);
            exit 7 unless join(",", @{$g->{token_ids}}) eq join(",", @{$s->{token_ids}});
            exit 5 unless @{$s->{attentions}} > 0;
            for my $a (@{$s->{attentions}}) {
                my $w = $g->{attentions}[$a->{layer}][$a->{head}];
                for my $i (0 .. $#$w) { for my $j (0 .. $#{$w->[$i]}) {
                    exit 6 if abs($w->[$i][$j] - $a->{weights}[$i][$j]) > $gold->{tolerance};
                } }
            }
        }
        exit 0' "$1" "$2"
}

printf '<start_of_image> what is this?\nDescribe <start_of_image> a red cat on the mat\nUSER: <start_of_image>\\nWhat is in the picture? ASSISTANT:\n' >"$TMP/p.txt"
"$MHAVIZ" run --model "$FIX/mm-gemma3-f32" --image "$IMG" --format json,png,html --out "$TMP/a" \
    --threads 1 "$TMP/p.txt" 2>"$TMP/stderr"
check "mm-gemma3-f32: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
check "mm-gemma3-f32: ids and every head as transformers'" "golden_check $FIX/goldens/mm-gemma3-f32.json $TMP/a/p.json"
check "mm-gemma3-f32: figures and page" "[ -s $TMP/a/p/L02-H03.png ] && [ -s $TMP/a/p-3/L00-H00.png ] && [ -s $TMP/a/p.html ]"
check "mm-gemma3-f32: the pooled image tokens, their blocks and labels" "perl -MJSON::PP -e 'local \$/;
    my \$s = decode_json(<STDIN>)->{sentences}[1]; my \$im = \$s->{image};
    exit !(\$im->{first_token} == 9 && \$im->{tokens} == 4 && \$im->{grid}[0] == 2 &&
        \$im->{grid}[1] == 2 && \$im->{width} == 16 && \$s->{tokens}[8] eq q(<start_of_image>) &&
        \$s->{tokens}[9] eq q(img 0,0) && \$s->{tokens}[12] eq q(img 1,1) &&
        \$s->{tokens}[13] eq q(<end_of_image>) && \$im->{patches}[2][0] == 1 &&
        \$im->{patches}[2][1] == 0 && \$s->{spans}[13][0] == 9 && \$s->{spans}[13][1] == 25 &&
        \$s->{spans}[15][0] == 25)' <$TMP/a/p.json"
# an image token sees the later tokens of its image, not the text after it
check "mm-gemma3-f32: the image's tokens see each other" "perl -MJSON::PP -e 'local \$/;
    my \$s = decode_json(<STDIN>)->{sentences}[0];
    my (\$a) = grep { \$_->{layer} == 1 && \$_->{head} == 0 } @{\$s->{attentions}};
    my \$w = \$a->{weights};
    exit !(\$w->[3][6] > 0 && \$w->[6][7] == 0 && \$w->[7][8] == 0)' <$TMP/a/p.json"
"$MHAVIZ" run --model "$FIX/mm-gemma3-f32" --image "$IMG" --format json --out "$TMP/b" \
    --threads 2 "$TMP/p.txt" 2>"$TMP/stderr"
check "mm-gemma3-f32: 1 and 2 threads, the same bytes" "[ $? = 0 ] && cmp -s $TMP/a/p.json $TMP/b/p.json"

# BF16, untied, no pooling, a palette image; F16 under the modules' names
sed -n 2p "$TMP/p.txt" >"$TMP/q.txt"
"$MHAVIZ" run --model "$FIX/mm-gemma3-nopool-bf16" --image "$FIX/images/palette-24x18.png" \
    --format json --out "$TMP/c" "$TMP/q.txt" 2>"$TMP/stderr"
check "mm-gemma3-nopool-bf16: every head as transformers'" "[ $? = 0 ] && golden_check $FIX/goldens/mm-gemma3-nopool-bf16.json $TMP/c/q.json"
sed -n 3p "$TMP/p.txt" >"$TMP/r.txt"
"$MHAVIZ" run --model "$FIX/mm-gemma3-modnames-f16" --image "$IMG" --format json \
    --out "$TMP/d" "$TMP/r.txt" 2>"$TMP/stderr"
check "mm-gemma3-modnames-f16: every head as transformers'" "[ $? = 0 ] && golden_check $FIX/goldens/mm-gemma3-modnames-f16.json $TMP/d/r.json"

# without --image: the language model on the text alone, every token causal
printf 'what is this?\n' >"$TMP/t.txt"
"$MHAVIZ" run --model "$FIX/mm-gemma3-f32" --format json --out "$TMP/e" "$TMP/t.txt" 2>"$TMP/stderr"
check "mm-gemma3-f32 without --image: the text alone" "[ $? = 0 ] && perl -MJSON::PP -e 'local \$/;
    my \$s = decode_json(<STDIN>)->{sentences}[0]; exit 1 if \$s->{image};
    for my \$a (@{\$s->{attentions}}) { my \$w = \$a->{weights};
        for my \$i (0 .. \$#\$w) { for my \$j (\$i + 1 .. \$#\$w) { exit 1 if \$w->[\$i][\$j] != 0 } } }
    exit 0' <$TMP/e/t.json"
"$MHAVIZ" stats --model "$FIX/mm-gemma3-f32" "$TMP/t.txt" >"$TMP/stats" 2>"$TMP/stderr"
check "mm-gemma3-f32: stats on text" "[ $? = 0 ] && [ -s $TMP/stats ]"

"$MHAVIZ" info --model "$FIX/mm-gemma3-f32" >"$TMP/info" 2>"$TMP/stderr"
check "info on gemma3 with its tower" "[ $? = 0 ] && grep -qx 'vision_tower: siglip_vision_model, 3 layers, 4 heads, hidden_size 32' $TMP/info &&
    grep -qx 'image_tokens: 4 (2x2 patches averaged into each)' $TMP/info &&
    grep -qx 'image_marks: 300 301 (begin and end of image)' $TMP/info"

"$MHAVIZ" run --model "$FIX/mm-gemma3-f32" --vision-tower --format json --out "$TMP/v" "$IMG" 2>"$TMP/stderr"
check "gemma3 --vision-tower: its SigLIP tower" "[ $? = 0 ] && perl -MJSON::PP -e 'local \$/;
    my \$r = decode_json(<STDIN>); exit !(\$r->{model}{architecture} eq q(siglip_vision_model))' <$TMP/v/rgb-37x23.json"

printf 'no image here\n' >"$TMP/none.txt"
printf '<start_of_image> and <start_of_image>\n' >"$TMP/two.txt"
printf '<start_of_image> <image_soft_token>\n' >"$TMP/soft.txt"
expect_fail "gemma3: no image token" 1 "none.txt: line 1: the prompt holds 0 image tokens (<start_of_image>, id 300); gemma3 reads one image a line (--image): write it exactly once" -- \
    "$MHAVIZ" run --model "$FIX/mm-gemma3-f32" --image "$IMG" --out "$TMP/out" "$TMP/none.txt"
expect_fail "gemma3: two image tokens" 1 "line 1: the prompt holds 2 image tokens" -- \
    "$MHAVIZ" run --model "$FIX/mm-gemma3-f32" --image "$IMG" --out "$TMP/out" "$TMP/two.txt"
expect_fail "gemma3: an image token written as text" 1 "line 1: the prompt holds 1 image tokens (<image_soft_token>) besides the image's" -- \
    "$MHAVIZ" run --model "$FIX/mm-gemma3-f32" --image "$IMG" --out "$TMP/out" "$TMP/soft.txt"
expect_fail "gemma3: --ids with --image" 2 "gemma3 reads its prompts as text with --image (--ids and --pretokenized do not apply)" -- \
    "$MHAVIZ" run --model "$FIX/mm-gemma3-f32" --image "$IMG" --ids --out "$TMP/out" "$TMP/t.txt"
expect_fail "gemma3: --generate with --image" 2 "--generate is not available for gemma3 with --image yet" -- \
    "$MHAVIZ" run --model "$FIX/mm-gemma3-f32" --image "$IMG" --generate 2 --out "$TMP/out" "$TMP/p.txt"
# pan and scan: its crops add images to the prompt
cp -r "$FIX/mm-gemma3-f32" "$TMP/pas"
perl -0pi -e 's/"do_convert_rgb": true/"do_convert_rgb": true, "do_pan_and_scan": true/' "$TMP/pas/processor_config.json"
expect_fail "gemma3: do_pan_and_scan" 1 "processor_config.json: do_pan_and_scan is not supported for Gemma3ImageProcessor (its crops add images to the prompt)" -- \
    "$MHAVIZ" run --model "$TMP/pas" --image "$IMG" --out "$TMP/out" "$TMP/p.txt"
# a patch grid that does not pool into mm_tokens_per_image: the text path only
cp -r "$FIX/mm-gemma3-f32" "$TMP/nopool"
perl -0pi -e 's/"mm_tokens_per_image": 4/"mm_tokens_per_image": 5/' "$TMP/nopool/config.json"
expect_fail "gemma3: mm_tokens_per_image the grid does not make" 1 "does not make mm_tokens_per_image 5 features: its image path is not available" -- \
    "$MHAVIZ" run --model "$TMP/nopool" --image "$IMG" --out "$TMP/out" "$TMP/p.txt"
"$MHAVIZ" run --model "$TMP/nopool" --format json --out "$TMP/f" "$TMP/t.txt" 2>"$TMP/stderr"
check "gemma3 without an image path: the text still runs" "[ $? = 0 ] && perl -MJSON::PP -e 'local \$/;
    open(my \$a, q(<), \$ARGV[0]) or exit 9; open(my \$b, q(<), \$ARGV[1]) or exit 9;
    exit !(JSON::PP->new->canonical->encode(decode_json(<\$a>)->{sentences}) eq
           JSON::PP->new->canonical->encode(decode_json(<\$b>)->{sentences}))' $TMP/e/t.json $TMP/f/t.json"

finish
