#!/usr/bin/env bash
# Qwen2-VL through `mhaviz run --image`: the prompts of tests/gen/fam_qwen2_vl.py with its
# PNGs tests/fixtures/images/qvl-*.png, end to end against transformers' processor and model
# (tests/fixtures/goldens/qwen2-vl-*.json: its ids, every decoder head), the image tokens'
# labels (merged blocks) and the json's "image"; the same bytes on 1 and 2 threads; the
# vision tower alone (--vision-tower); what is refused.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
FIX=tests/fixtures
IMG=$FIX/images/qvl-21x13.png

# every sentence of JSON against GOLDEN (sentence K on): the processor's ids, each head
# within its tolerance
golden_check() { # GOLDEN JSON K
    perl -MJSON::PP -e 'local $/; open(my $g, q(<), $ARGV[0]) or exit 9; my $gold = decode_json(<$g>);
        open(my $r, q(<), $ARGV[1]) or exit 9; my $run = decode_json(<$r>);
        my @gs = @{$gold->{sentences}}[$ARGV[2] .. $#{$gold->{sentences}}]; my @rs = @{$run->{sentences}};
        for my $k (0 .. $#rs) {
            my ($g, $s) = ($gs[$k], $rs[$k]);
            exit 7 unless join(",", @{$g->{token_ids}}) eq join(",", @{$s->{token_ids}});
            exit 5 unless @{$s->{attentions}} == 8;
            for my $a (@{$s->{attentions}}) {
                my $w = $g->{attentions}[$a->{layer}][$a->{head}];
                for my $i (0 .. $#$w) { for my $j (0 .. $#{$w->[$i]}) {
                    exit 6 if abs($w->[$i][$j] - $a->{weights}[$i][$j]) > $gold->{tolerance};
                } }
            }
        }
        exit 0' "$1" "$2" "${3:-0}"
}

# the generator's prompts, "\n" written as a backslash and n
printf '<|im_start|>user\\n<|vision_start|><|image_pad|><|vision_end|>What is this?<|im_end|>\\n<|im_start|>assistant\\n\n' >"$TMP/p.txt"
printf '<|vision_start|><|image_pad|><|vision_end|> a red cat on the mat\n' >"$TMP/q.txt"
"$MHAVIZ" run --model "$FIX/qwen2-vl-f32" --image "$IMG" --format json,png,html --out "$TMP/a" \
    --threads 1 "$TMP/p.txt" 2>"$TMP/stderr"
check "qwen2-vl-f32: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
check "qwen2-vl-f32: ids and every head as transformers'" "golden_check $FIX/goldens/qwen2-vl-f32.json $TMP/a/p.json"
check "qwen2-vl-f32: figures and page" "[ -s $TMP/a/p/L01-H03.png ] && [ -s $TMP/a/p.html ]"
check "qwen2-vl-f32: the image's tokens, merged blocks and labels" "perl -MJSON::PP -e 'local \$/;
    my \$s = decode_json(<STDIN>)->{sentences}[0]; my \$im = \$s->{image};
    exit !(\$im->{first_token} == 7 && \$im->{tokens} == 6 && \$im->{grid}[0] == 2 &&
        \$im->{grid}[1] == 3 && \$im->{width} == 24 && \$im->{height} == 16 &&
        \$s->{tokens}[6] eq q(<|vision_start|>) && \$s->{tokens}[7] eq q(img 0,0) &&
        \$s->{tokens}[12] eq q(img 1,2) && \$s->{tokens}[13] eq q(<|vision_end|>) &&
        \$im->{patches}[4][0] == 1 && \$im->{patches}[4][1] == 1)' <$TMP/a/p.json"
"$MHAVIZ" run --model "$FIX/qwen2-vl-f32" --image "$IMG" --format json --out "$TMP/b" \
    --threads 2 "$TMP/p.txt" 2>"$TMP/stderr"
check "qwen2-vl-f32: 1 and 2 threads, the same bytes" "[ $? = 0 ] && cmp -s $TMP/a/p.json $TMP/b/p.json"
# a portrait image shrunk by max_pixels; BF16 grown to min_pixels; F16 base model
"$MHAVIZ" run --model "$FIX/qwen2-vl-f32" --image "$FIX/images/qvl-40x50.png" --format json \
    --out "$TMP/c" "$TMP/q.txt" 2>"$TMP/stderr"
check "qwen2-vl-f32, 40x50: every head as transformers'" "[ $? = 0 ] && golden_check $FIX/goldens/qwen2-vl-f32.json $TMP/c/q.json 1"
"$MHAVIZ" run --model "$FIX/qwen2-vl-bf16" --image "$FIX/images/qvl-6x14.png" --format json \
    --out "$TMP/d" "$TMP/q.txt" 2>"$TMP/stderr"
check "qwen2-vl-bf16, 6x14: every head as transformers'" "[ $? = 0 ] && golden_check $FIX/goldens/qwen2-vl-bf16.json $TMP/d/q.json"
"$MHAVIZ" run --model "$FIX/qwen2-vl-model-f16" --image "$IMG" --format json \
    --out "$TMP/e" "$TMP/q.txt" 2>"$TMP/stderr"
check "qwen2-vl-model-f16: every head as transformers'" "[ $? = 0 ] && golden_check $FIX/goldens/qwen2-vl-model-f16.json $TMP/e/q.json"

"$MHAVIZ" info --model "$FIX/qwen2-vl-f32" >"$TMP/info" 2>"$TMP/stderr"
check "info on qwen2_vl" "[ $? = 0 ] && grep -qx 'language_model: qwen2' $TMP/info &&
    grep -qx 'vision_tower: qwen2_vl_vision, 3 layers, 4 heads, hidden_size 32' $TMP/info &&
    grep -qx 'merge_size: 2' $TMP/info && grep -qx 'mrope_section: 1 1 2 (time, height, width)' $TMP/info"
"$MHAVIZ" info --families >"$TMP/fam"
check "info --families lists qwen2_vl" "grep -qx qwen2_vl $TMP/fam && grep -qx qwen2_5_vl $TMP/fam"

# the vision tower alone: its heads over the image's patches, row by row
printf '%s\n%s\n' "$IMG" "$FIX/images/qvl-40x50.png" >"$TMP/images.txt"
"$MHAVIZ" run --model "$FIX/qwen2-vl-f32" --vision-tower --query 1,1 --format json,png --out "$TMP/t" "$TMP/images.txt" 2>"$TMP/stderr"
check "qwen2-vl --vision-tower: exit 0, overlays" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/t/images/L02-H03.png ]"
check "qwen2-vl --vision-tower: every tower head as transformers'" "perl -MJSON::PP -e 'local \$/;
    open(my \$g, q(<), \$ARGV[0]) or exit 9; my \$gold = decode_json(<\$g>); my \$run = decode_json(<STDIN>);
    exit 8 unless \$run->{model}{architecture} eq q(qwen2_vl_vision);
    for my \$k (0, 1) { my \$want = \$gold->{sentences}[\$k]{vision_attentions};
        my \$im = \$run->{images}[\$k]; exit 7 unless @{\$im->{attentions}} == 12 && \$im->{grid}{rows} * \$im->{grid}{cols} == 24;
        for my \$a (@{\$im->{attentions}}) { my \$w = \$want->[\$a->{layer}][\$a->{head}];
            for my \$i (0 .. 23) { for my \$j (0 .. 23) {
                exit 6 if abs(\$w->[\$i][\$j] - \$a->{weights}[\$i][\$j]) > \$gold->{tolerance} } } } }
    exit 0' $FIX/goldens/qwen2-vl-f32.json <$TMP/t/images.json"

# Qwen2.5-VL: window attention in the tower, RMSNorms, gated MLP
"$MHAVIZ" run --model "$FIX/qwen2.5-vl-f32" --image "$IMG" --format json --out "$TMP/f" \
    --threads 2 "$TMP/p.txt" 2>"$TMP/stderr"
check "qwen2.5-vl-f32: ids and every head as transformers'" "[ $? = 0 ] && golden_check $FIX/goldens/qwen2.5-vl-f32.json $TMP/f/p.json"
"$MHAVIZ" run --model "$FIX/qwen2.5-vl-bf16" --image "$FIX/images/qvl-6x14.png" --format json \
    --out "$TMP/g" "$TMP/q.txt" 2>"$TMP/stderr"
check "qwen2.5-vl-bf16, 6x14: every head as transformers'" "[ $? = 0 ] && golden_check $FIX/goldens/qwen2.5-vl-bf16.json $TMP/g/q.json"
"$MHAVIZ" info --model "$FIX/qwen2.5-vl-bf16" >"$TMP/info25" 2>"$TMP/stderr"
check "info on qwen2_5_vl" "[ $? = 0 ] && grep -qx 'vision_tower: qwen2_5_vl_vision, 3 layers, 4 heads, hidden_size 32' $TMP/info25 &&
    grep -qx 'window_attention: 24 pixels, full attention in layers 0 2' $TMP/info25"
"$MHAVIZ" run --model "$FIX/qwen2.5-vl-f32" --vision-tower --query 0,0 --format json --out "$TMP/w" "$TMP/images.txt" 2>"$TMP/stderr"
check "qwen2.5-vl --vision-tower: every tower head as transformers', zero outside the windows" "perl -MJSON::PP -e 'local \$/;
    open(my \$g, q(<), \$ARGV[0]) or exit 9; my \$gold = decode_json(<\$g>); my \$run = decode_json(<STDIN>);
    exit 8 unless \$run->{model}{architecture} eq q(qwen2_5_vl_vision);
    for my \$k (0, 1) { my \$want = \$gold->{sentences}[\$k]{vision_attentions}; my \$zeros = 0;
        my \$im = \$run->{images}[\$k]; exit 7 unless @{\$im->{attentions}} == 12;
        for my \$a (@{\$im->{attentions}}) { my \$w = \$want->[\$a->{layer}][\$a->{head}];
            for my \$i (0 .. 23) { for my \$j (0 .. 23) { \$zeros++ if \$a->{weights}[\$i][\$j] == 0;
                exit 6 if abs(\$w->[\$i][\$j] - \$a->{weights}[\$i][\$j]) > \$gold->{tolerance} } } }
        exit 5 unless \$zeros == 8 * 256 }
    exit 0' $FIX/goldens/qwen2.5-vl-f32.json <$TMP/w/images.json"

# the towers saved alone (qwen2_vl_vision, qwen2_5_vl_vision): vision models of their own
for tw in qwen2-vl-vision-f32 qwen2.5-vl-vision-f32; do
    "$MHAVIZ" run --model "$FIX/$tw" --query 1,2 --format json,png --out "$TMP/$tw" "$TMP/images.txt" 2>"$TMP/stderr"
    check "$tw: exit 0, overlays" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/$tw/images/L02-H03.png ]"
    check "$tw: every head as transformers'" "perl -MJSON::PP -e 'local \$/;
        open(my \$g, q(<), \$ARGV[0]) or exit 9; my \$gold = decode_json(<\$g>); my \$run = decode_json(<STDIN>);
        for my \$k (0, 1) { my \$want = \$gold->{images}[\$k]{attentions}; my \$im = \$run->{images}[\$k];
            exit 7 unless @{\$im->{attentions}} == 12;
            for my \$a (@{\$im->{attentions}}) { my \$w = \$want->[\$a->{layer}][\$a->{head}];
                for my \$i (0 .. 23) { for my \$j (0 .. 23) {
                    exit 6 if abs(\$w->[\$i][\$j] - \$a->{weights}[\$i][\$j]) > \$gold->{tolerance} } } } }
        exit 0' $FIX/goldens/$tw.json <$TMP/$tw/images.json"
done

printf '<|vision_start|><|image_pad|><|vision_end|> and <|image_pad|>\n' >"$TMP/two.txt"
printf '<|vision_start|><|image_pad|><|vision_end|> and <|video_pad|>\n' >"$TMP/video.txt"
expect_fail "qwen2_vl: two images" 1 "two.txt: line 1: the prompt holds 2 image tokens (<|image_pad|>, id 5); qwen2_vl reads one image a line (--image): write it exactly once" -- \
    "$MHAVIZ" run --model "$FIX/qwen2-vl-f32" --image "$IMG" --out "$TMP/out" "$TMP/two.txt"
expect_fail "qwen2_vl: video" 1 "video is not supported for qwen2_vl (the prompt holds the video token, id 6)" -- \
    "$MHAVIZ" run --model "$FIX/qwen2-vl-f32" --image "$IMG" --out "$TMP/out" "$TMP/video.txt"
expect_fail "qwen2_vl: no --image" 2 "qwen2_vl reads an image with each prompt: give it with --image FILE" -- \
    "$MHAVIZ" run --model "$FIX/qwen2-vl-f32" --out "$TMP/out" "$TMP/q.txt"
finish
