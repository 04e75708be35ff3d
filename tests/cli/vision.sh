#!/usr/bin/env bash
# Vision transformers through `mhaviz run`: PNG images listed in a file (or a .png given
# directly), preprocessed by the model's preprocessor_config.json (none: ViT's defaults),
# JSON with the patch grid and tokens, overlay PNGs per head, --query, --no-resize, errors.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
VIT=tests/fixtures/fam-vit-f32          # 16x16 images, 4x4 patches, 2 layers x 4 heads
DEIT=tests/fixtures/fam-deit-f16
IMG=tests/fixtures/images
mkdir -p "$TMP/in"
cp "$IMG/rgb-37x23.png" "$TMP/in/a.png"
cp "$IMG/grey-16x16.png" "$TMP/in/b.png"
printf 'a.png\nb.png\n' >"$TMP/in/list.txt"

"$MHAVIZ" run --model "$VIT" --format json,png --out "$TMP/out" "$TMP/in/list.txt" 2>"$TMP/stderr"
check "two images run" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
check "one overlay per head and image" "[ \$(ls $TMP/out/list | wc -l) = 8 ] && [ \$(ls $TMP/out/list-2 | wc -l) = 8 ]"
check "json: grid, tokens, crop, weights" "perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>);
    my \$i = \$j->{images}; exit 1 unless @\$i == 2;
    my \$a = \$i->[0]; exit 2 unless \$a->{width} == 37 && \$a->{height} == 23 && \$a->{grid}{rows} == 4
        && \$a->{grid}{patch_size} == 4 && \$a->{tokens}[0] eq q([CLS]) && \$a->{tokens}[16] eq q(r3c3)
        && join(q(,), @{\$a->{crop}}) eq q(0,0,16,16);
    my \$w = \$a->{attentions}[7]{weights}; exit 3 unless @\$w == 17;
    for my \$r (@\$w) { my \$s = 0; \$s += \$_ for @\$r; exit 4 if abs(\$s - 1) > 1e-5 }
    exit 5 unless \$j->{model}{architecture} eq q(vit)' <$TMP/out/list.json"

# a .png given directly; DeiT has two tokens before the patches
"$MHAVIZ" run --model "$DEIT" --format json --heads 1:0 --out "$TMP/out2" "$TMP/in/b.png"
check "deit: [CLS] [DIST] then patches" "perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>);
    my \$t = \$j->{images}[0]{tokens}; exit !(@\$t == 18 && \$t->[1] eq q([DIST]) && \$t->[2] eq q(r0c0))' <$TMP/out2/b.json"

# the query of the overlays: another patch draws another picture
"$MHAVIZ" run --model "$VIT" --heads 1:2 --out "$TMP/q1" "$TMP/in/b.png"
"$MHAVIZ" run --model "$VIT" --heads 1:2 --query 2,3 --out "$TMP/q2" "$TMP/in/b.png"
check "--query changes the overlay" "! cmp -s $TMP/q1/b/L01-H02.png $TMP/q2/b/L01-H02.png"

# --aggregate: one overlay per layer; rollout's last layer rows still sum to one
"$MHAVIZ" run --model "$VIT" --aggregate rollout --format json,png --out "$TMP/agg" "$TMP/in/b.png"
check "--aggregate rollout: one overlay per layer" "[ \"\$(ls $TMP/agg/b | tr '\\n' ' ')\" = 'L00-rollout.png L01-rollout.png ' ]"
check "--aggregate json names the view" "perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>);
    my \$a = \$j->{images}[0]{attentions}; exit 1 unless @\$a == 2 && \$a->[1]{aggregate} eq q(rollout);
    for my \$r (@{\$a->[1]{weights}}) { my \$s = 0; \$s += \$_ for @\$r; exit 2 if abs(\$s - 1) > 1e-5 }' <$TMP/agg/b.json"

# --no-resize takes images at the model's size as they are, and refuses others
"$MHAVIZ" run --model "$VIT" --no-resize --format json --out "$TMP/nr" "$TMP/in/b.png"
check "--no-resize at the model's size" "[ $? = 0 ] && [ -s $TMP/nr/b.json ]"
expect_fail "no-resize wrong size" 2 "the model takes 16x16" -- \
    "$MHAVIZ" run --model "$VIT" --no-resize --format json --out "$TMP/out" "$TMP/in/a.png"
expect_fail "query outside the grid" 2 "outside the 4x4 patch grid" -- \
    "$MHAVIZ" run --model "$VIT" --query 4,0 --out "$TMP/out" "$TMP/in/b.png"
expect_fail "query not a patch" 2 "--query 'x' is not cls or ROW,COL" -- \
    "$MHAVIZ" run --model "$VIT" --query x --out "$TMP/out" "$TMP/in/b.png"
printf 'not a png' >"$TMP/in/bad.png"
expect_fail "not a PNG" 1 "bad.png: not a PNG image" -- \
    "$MHAVIZ" run --model "$VIT" --out "$TMP/out" "$TMP/in/bad.png"
printf 'a.png\nmissing.png\n' >"$TMP/in/list2.txt"
expect_fail "missing image, nothing left" 1 "missing.png" -- \
    "$MHAVIZ" run --model "$VIT" --format json,png --out "$TMP/out" "$TMP/in/list2.txt"
expect_fail "vision options on a text model" 2 "for vision models" -- \
    "$MHAVIZ" run --model tests/fixtures/bert-f32 --no-resize --out "$TMP/out" samples/sentence.txt
finish
