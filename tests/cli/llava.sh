#!/usr/bin/env bash
# LLaVA through `mhaviz run --image`: the prompts of tests/gen/fam_llava.py with the PNG
# tests/fixtures/images/rgb-37x23.png, end to end against transformers' LlavaProcessor and
# model (tests/fixtures/goldens/llava-*.json: its ids, every decoder head), the image tokens'
# labels and the json's "image"; the same bytes on 1 and 2 threads; what is refused.
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
            for my $a (@{$s->{attentions}}) {
                my $w = $g->{attentions}[$a->{layer}][$a->{head}];
                for my $i (0 .. $#$w) { for my $j (0 .. $#{$w->[$i]}) {
                    exit 6 if abs($w->[$i][$j] - $a->{weights}[$i][$j]) > $gold->{tolerance};
                } }
            }
        }
        exit 0' "$1" "$2"
}

# the three prompts of the generator, "\n" written as a backslash and n
printf 'USER: <image>\\nWhat is this? ASSISTANT:\n<image> a red cat on the mat\nDescribe <image>\n' >"$TMP/p.txt"
"$MHAVIZ" run --model "$FIX/llava-f32" --image "$IMG" --format json,png,html --out "$TMP/a" \
    --threads 1 "$TMP/p.txt" 2>"$TMP/stderr"
check "llava-f32: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
check "llava-f32: ids and every head as transformers'" "golden_check $FIX/goldens/llava-f32.json $TMP/a/p.json"
check "llava-f32: figures and page" "[ -s $TMP/a/p/L01-H03.png ] && [ -s $TMP/a/p-3/L00-H00.png ] && [ -s $TMP/a/p.html ]"
check "llava-f32: the image's tokens, patches and labels" "perl -MJSON::PP -e 'local \$/;
    my \$s = decode_json(<STDIN>)->{sentences}[0]; my \$im = \$s->{image};
    exit !(\$im->{first_token} == 7 && \$im->{tokens} == 16 && \$im->{grid}[0] == 4 &&
        \$im->{grid}[1] == 4 && \$im->{width} == 16 && \$s->{tokens}[7] eq q(img 0,0) &&
        \$s->{tokens}[22] eq q(img 3,3) && \$im->{patches}[5][0] == 1 &&
        \$im->{patches}[5][1] == 1 && \$s->{text} =~ /<image>\nWhat/)' <$TMP/a/p.json"
"$MHAVIZ" run --model "$FIX/llava-f32" --image "$IMG" --format json --out "$TMP/b" \
    --threads 2 "$TMP/p.txt" 2>"$TMP/stderr"
check "llava-f32: 1 and 2 threads, the same bytes" "[ $? = 0 ] && cmp -s $TMP/a/p.json $TMP/b/p.json"

# the full strategy: the tower's [CLS] first; BF16, Qwen2, two feature layers
head -1 "$TMP/p.txt" >"$TMP/q.txt"
"$MHAVIZ" run --model "$FIX/llava-list-full-bf16" --image "$IMG" --format json --out "$TMP/c" \
    "$TMP/q.txt" 2>"$TMP/stderr"
check "llava-list-full-bf16: every head as transformers'" "[ $? = 0 ] && golden_check $FIX/goldens/llava-list-full-bf16.json $TMP/c/q.json"
check "llava-list-full-bf16: [CLS] labelled, no patch" "perl -MJSON::PP -e 'local \$/;
    my \$s = decode_json(<STDIN>)->{sentences}[0]; my \$im = \$s->{image};
    exit !(\$im->{tokens} == 17 && !defined \$im->{patches}[0] && \$s->{tokens}[7] eq q(img cls) &&
        \$s->{tokens}[8] eq q(img 0,0))' <$TMP/c/q.json"
# a SigLIP tower: no [CLS], so the default strategy drops its first patch
"$MHAVIZ" run --model "$FIX/llava-siglip-f16" --image "$IMG" --format json --out "$TMP/s" \
    "$TMP/q.txt" 2>"$TMP/stderr"
check "llava-siglip-f16: every head as transformers'" "[ $? = 0 ] && golden_check $FIX/goldens/llava-siglip-f16.json $TMP/s/q.json"
check "llava-siglip-f16: the features start at patch 0,1" "perl -MJSON::PP -e 'local \$/;
    my \$s = decode_json(<STDIN>)->{sentences}[0]; my \$im = \$s->{image};
    exit !(\$im->{tokens} == 15 && \$im->{patches}[0][0] == 0 && \$im->{patches}[0][1] == 1 &&
        \$s->{tokens}[7] eq q(img 0,1) && \$s->{tokens}[21] eq q(img 3,3))' <$TMP/s/q.json"
# long prompts: pooled figures
"$MHAVIZ" run --model "$FIX/llava-f32" --image "$IMG" --max-pixels 200 --out "$TMP/d" "$TMP/q.txt" 2>"$TMP/stderr"
check "llava: --max-pixels" "[ $? = 0 ] && [ -s $TMP/d/q/L00-H00.png ]"

"$MHAVIZ" info --model "$FIX/llava-list-full-bf16" >"$TMP/info" 2>"$TMP/stderr"
check "info on llava" "[ $? = 0 ] && grep -qx 'language_model: qwen2' $TMP/info &&
    grep -qx 'vision_tower: clip_vision_model, 3 layers, 4 heads, hidden_size 32' $TMP/info &&
    grep -qx 'image_tokens: 17 (full: \[CLS\] and the patches)' $TMP/info &&
    grep -qx 'vision_feature_layer: 1 0 (hidden states 0-3, 0: the embeddings)' $TMP/info &&
    grep -qx 'projector: silu, without biases' $TMP/info && grep -qx 'layers: 2' $TMP/info"

# the vision tower alone, as the vision model it is: its heads as in llava's own run
"$MHAVIZ" run --model "$FIX/llava-f32" --vision-tower --format json,png --out "$TMP/t" "$IMG" 2>"$TMP/stderr"
check "llava --vision-tower: exit 0, overlays" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/t/rgb-37x23/L02-H03.png ]"
check "llava --vision-tower: every tower head as transformers' llava" "perl -MJSON::PP -e 'local \$/;
    open(my \$g, q(<), \$ARGV[0]) or exit 9; my \$gold = decode_json(<\$g>);
    my \$want = \$gold->{sentences}[0]{vision_attentions}; my \$run = decode_json(<STDIN>);
    exit 8 unless \$run->{model}{architecture} eq q(clip_vision_model);
    my \$im = \$run->{images}[0]; exit 7 unless @{\$im->{attentions}} == 12;
    for my \$a (@{\$im->{attentions}}) { my \$w = \$want->[\$a->{layer}][\$a->{head}];
        for my \$i (0 .. 16) { for my \$j (0 .. 16) {
            exit 6 if abs(\$w->[\$i][\$j] - \$a->{weights}[\$i][\$j]) > \$gold->{tolerance} } } }
    exit 0' $FIX/goldens/llava-f32.json <$TMP/t/rgb-37x23.json"
expect_fail "--vision-tower with --image" 2 "--vision-tower reads the images FILE lists, not --image" -- \
    "$MHAVIZ" run --model "$FIX/llava-f32" --vision-tower --image "$IMG" --out "$TMP/out" "$IMG"
expect_fail "--vision-tower on a text model" 2 "--vision-tower is for models with a vision tower (llava, gemma3, paligemma, qwen2_vl, qwen2_5_vl); bert has none" -- \
    "$MHAVIZ" run --model "$FIX/bert-f32" --vision-tower --out "$TMP/out" "$IMG"

printf 'no image here\n' >"$TMP/none.txt"
printf '<image> and <image>\n' >"$TMP/two.txt"
expect_fail "llava: no image token" 1 "none.txt: line 1: the prompt holds 0 image tokens (<image>, id 259); llava reads one image a line (--image): write it exactly once" -- \
    "$MHAVIZ" run --model "$FIX/llava-f32" --image "$IMG" --out "$TMP/out" "$TMP/none.txt"
expect_fail "llava: two image tokens" 1 "line 1: the prompt holds 2 image tokens" -- \
    "$MHAVIZ" run --model "$FIX/llava-f32" --image "$IMG" --out "$TMP/out" "$TMP/two.txt"
expect_fail "llava: no --image" 2 "llava reads an image with each prompt: give it with --image FILE" -- \
    "$MHAVIZ" run --model "$FIX/llava-f32" --out "$TMP/out" "$TMP/q.txt"
expect_fail "--image on a text model" 2 "--image is for models that read an image with their prompt (llava, gemma3, paligemma, qwen2_vl, qwen2_5_vl); bert does not" -- \
    "$MHAVIZ" run --model "$FIX/bert-f32" --image "$IMG" --out "$TMP/out" "$TMP/q.txt"
expect_fail "llava: --truncate" 2 "--truncate is not available for llava" -- \
    "$MHAVIZ" run --model "$FIX/llava-f32" --image "$IMG" --truncate --out "$TMP/out" "$TMP/q.txt"
expect_fail "llava: a missing image" 1 "nothere.png: cannot open" -- \
    "$MHAVIZ" run --model "$FIX/llava-f32" --image "$TMP/nothere.png" --out "$TMP/out" "$TMP/q.txt"
expect_fail "llava: stats" 1 "stats is not available for llava (an image with each prompt) yet: run --image is" -- \
    "$MHAVIZ" stats --model "$FIX/llava-f32" "$TMP/q.txt"
expect_fail "llava: rank" 1 "llava reads an image with each prompt: run --image takes it; this command does not yet" -- \
    "$MHAVIZ" rank --model "$FIX/llava-f32" --from What --to img "$TMP/q.txt"
# --generate: the three prompts continued as transformers' generate() continues them with
# the image (goldens/lgen-llava.json, tests/gen/gen_llava_generate.py), greedy; the maps of
# the whole sequences, the continuation marked
rm -rf "$TMP/gen"
"$MHAVIZ" run --model "$FIX/llava-f32" --image "$IMG" --generate 8 --greedy --heads 0:0 \
    --format json --out "$TMP/gen" "$TMP/p.txt" 2>"$TMP/stderr"
check "llava --generate: transformers' tokens, the continuation marked" "perl -MJSON::PP -e '
    local \$/; open(my \$g, q(<), \$ARGV[0]) or exit 9; my \$gold = decode_json(<\$g>);
    open(my \$r, q(<), \$ARGV[1]) or exit 9; my \$run = decode_json(<\$r>);
    my @c = @{\$gold->{fixtures}[0]{cases}}; my @s = @{\$run->{sentences}};
    exit 8 unless @c == @s && \$run->{generation}{strategy} eq q(greedy);
    for my \$k (0 .. \$#c) {
        my \$want = \$c[\$k]{greedy}; my \$p = \$s[\$k]{prompt_length};
        exit 7 unless join(q(,), @\$want) eq join(q(,), @{\$s[\$k]{token_ids}});
        exit 6 unless \$p > 0 && \$p < @\$want && !\$s[\$k]{generated}[\$p - 1] &&
                      \$s[\$k]{generated}[\$p];
        exit 5 unless @{\$s[\$k]{attentions}[0]{weights}} == @\$want;
    }
    exit 0' $FIX/goldens/lgen-llava.json $TMP/gen/p.json"
expect_fail "Qwen2-VL: --generate refused by name" 2 "--generate is not available for qwen2_vl with --image yet (llava generates)" -- \
    "$MHAVIZ" run --model "$FIX/qwen2-vl-f32" --image "$IMG" --generate 3 --out "$TMP/out" \
    "$TMP/p.txt"
expect_fail "Qwen2-VL: --pairs refused by name" 2 "--pairs is not available for qwen2_vl with --image" -- \
    "$MHAVIZ" run --model "$FIX/qwen2-vl-f32" --image "$IMG" --pairs --out "$TMP/out" \
    "$TMP/p.txt"

# an empty --image names no file: a usage error, not "mhaviz: cannot open"
expect_fail "--image ''" 2 "--image needs a file" -- \
    "$MHAVIZ" run --model "$FIX/llava-f32" --image '' --out "$TMP/out" "$TMP/p.txt"

finish
