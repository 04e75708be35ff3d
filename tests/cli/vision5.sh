#!/usr/bin/env bash
# The vision families of tests/gen/fam_dinov3.py ... through `mhaviz run`: the PNG and JPEG
# files of tests/fixtures/images/vis5 end to end against transformers' own image processor
# and model (tests/fixtures/goldens/vision-e2e-*.json, tests/gen/vis5gen.py: every head),
# their overlays, `info`, and what is refused.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
FIX=tests/fixtures

e2e_check() { # GOLDEN CASE JSON: every head's weights within the golden's tolerance
    perl -MJSON::PP -e 'local $/; open(my $g, q(<), $ARGV[0]) or exit 9; my $gold = decode_json(<$g>);
        my ($c) = grep { $_->{case} eq $ARGV[1] } @{$gold->{cases}}; exit 8 unless $c;
        open(my $f, q(<), $ARGV[2]) or exit 7; my $im = decode_json(<$f>)->{images}[0];
        my ($h, $w) = @{$c->{pixels_hw}}; my $n = scalar @{$c->{attentions}[0][0]};
        my $want_maps = @{$c->{attentions}} * @{$c->{attentions}[0]};
        exit 6 unless $im->{crop}[2] == $w && $im->{crop}[3] == $h && @{$im->{tokens}} == $n
            && $im->{grid}{rows} * $im->{grid}{cols} + $im->{grid}{extra_tokens} == $n;
        my ($worst, $maps) = (0, 0);
        for my $a (@{$im->{attentions}}) { my $want = $c->{attentions}[$a->{layer}][$a->{head}]; $maps++;
            for my $i (0..$n-1) { for my $j (0..$n-1) { my $d = abs($a->{weights}[$i][$j] - $want->[$i][$j]); $worst = $d if $d > $worst } } }
        printf STDERR "%s: %d maps, worst %.3g (tolerance %.3g)\n", $ARGV[1], $maps, $worst, $c->{tolerance};
        exit !($maps == $want_maps && $worst <= $c->{tolerance})' "$1" "$2" "$3"
}

# every case of every golden: the fixture's own preprocessor_config.json, all heads
for gold in $FIX/goldens/vision-e2e-*.json; do
    for c in $(perl -MJSON::PP -e 'local $/; print join(" ", map { "$_->{case}=$_->{fixture}=" . ($_->{interpolate_pos} ? "--interpolate-pos" : "-") . "=$_->{image}" } @{decode_json(<STDIN>)->{cases}})' <"$gold"); do
        name=${c%%=*} rest=${c#*=}; fix=${rest%%=*} rest=${rest#*=}; opt=${rest%%=*} img=${rest#*=}
        [ "$opt" = - ] && opt=
        "$MHAVIZ" run --model "$FIX/$fix" --heads all $opt --format json --out "$TMP/$name" \
            "$FIX/$img" 2>"$TMP/stderr"
        stem=$(basename "${img%.*}")
        check "$name: the image through its processor, as transformers runs it" \
            "[ $? = 0 ] && [ ! -s $TMP/stderr ] && e2e_check $gold $name $TMP/$name/$stem.json 2>>$TMP/e2e.log"
    done
done
check "the goldens have their cases" "[ \$(grep -c 'maps, worst' $TMP/e2e.log) -ge 4 ]"

# DINOv3: [CLS], registers, any image size (the rotation follows the grid)
DV=$FIX/fam-dinov3-gated-bf16
"$MHAVIZ" run --model "$DV" --format png,svg,json --out "$TMP/dv" "$FIX/images/vis5/wide-37x23.png" 2>"$TMP/stderr"
check "dinov3 overlays from [CLS]" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/dv/wide-37x23/L01-H03.png ] &&
    [ -s $TMP/dv/wide-37x23/L01.png ] && [ -s $TMP/dv/wide-37x23/model.png ]"
check "dinov3 tokens: [CLS], 4 registers, a 4x6 grid" "perl -MJSON::PP -e 'local \$/; my \$i = decode_json(<STDIN>)->{images}[0];
    exit !(\$i->{grid}{extra_tokens} == 5 && \$i->{tokens}[1] eq q([REG0]) && \$i->{tokens}[5] eq q(r0c0) && \$i->{grid}{rows} == 4 && \$i->{grid}{cols} == 6)' <$TMP/dv/wide-37x23.json"
"$MHAVIZ" run --model "$DV" --no-resize --query 2,3 --format json --out "$TMP/dvnr" "$FIX/images/vis5/tall-29x41.jpg" 2>"$TMP/stderr"
check "dinov3 --no-resize: 29x41 pixels, a 10x7 grid" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && perl -MJSON::PP -e 'local \$/; my \$i = decode_json(<STDIN>)->{images}[0];
    exit !(\$i->{grid}{rows} == 10 && \$i->{grid}{cols} == 7 && @{\$i->{tokens}} == 75)' <$TMP/dvnr/tall-29x41.json"
"$MHAVIZ" info --model "$DV" >"$TMP/info" 2>"$TMP/stderr"
check "info on dinov3" "[ $? = 0 ] && grep -qx 'extra_tokens: 5 (\[CLS\], 4 registers)' $TMP/info &&
    grep -qx 'positions: 2-D rotary over the patch grid' $TMP/info"
expect_fail "dinov3 --query pool" 2 "--query pool: dinov3_vit has no attention-pooling head" -- \
    "$MHAVIZ" run --model "$DV" --query pool --out "$TMP/out" "$FIX/images/vis5/wide-37x23.png"

# AIMv2: no [CLS]; the pooling head's probe drawn by default; a learned table takes the
# model's own grid only (transformers resizes nothing), the native positions any
AM=$FIX/fam-aimv2-f32
"$MHAVIZ" run --model "$AM" --format png,json --out "$TMP/am" "$FIX/images/vis5/wide-37x23.png" 2>"$TMP/stderr"
check "aimv2: the pooling head's overlays by default" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/am/wide-37x23/pool-H03.png ] &&
    [ -s $TMP/am/wide-37x23/pool.png ] && grep -q '\"pool\": ' $TMP/am/wide-37x23.json"
expect_fail "aimv2 --query cls" 2 "--query cls: aimv2_vision_model has no [CLS] token (give --query ROW,COL or pool)" -- \
    "$MHAVIZ" run --model "$AM" --query cls --format json --out "$TMP/out" "$FIX/images/vis5/wide-37x23.png"
expect_fail "aimv2 of another grid" 2 "aimv2_vision_model takes its own 4x4 grid only (transformers resizes no positions for it)" -- \
    "$MHAVIZ" run --model "$AM" --no-resize --format json --out "$TMP/out" "$FIX/images/vis5/wide-37x23.png"
expect_fail "aimv2 of another grid, --interpolate-pos" 2 "takes its own 4x4 grid only" -- \
    "$MHAVIZ" run --model "$AM" --no-resize --interpolate-pos --format json --out "$TMP/out" "$FIX/images/vis5/wide-37x23.png"
expect_fail "aimv2 without a head: --query pool" 2 "--query pool: aimv2_vision_model has no attention-pooling head" -- \
    "$MHAVIZ" run --model "$FIX/fam-aimv2-nohead-f16" --query pool --out "$TMP/out" "$FIX/images/vis5/wide-37x23.png"
"$MHAVIZ" run --model "$FIX/fam-aimv2-native-bias-bf16" --no-resize --query 1,2 --format png,json --out "$TMP/amn" "$FIX/images/vis5/tall-29x41.jpg" 2>"$TMP/stderr"
check "aimv2 native --no-resize: 29x41 pixels, a 10x7 grid, a patch query" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/amn/tall-29x41/L01-H02.png ] &&
    perl -MJSON::PP -e 'local \$/; my \$i = decode_json(<STDIN>)->{images}[0];
    exit !(\$i->{grid}{rows} == 10 && \$i->{grid}{cols} == 7 && @{\$i->{tokens}} == 70 && \$i->{tokens}[0] eq q(r0c0))' <$TMP/amn/tall-29x41.json"
"$MHAVIZ" info --model "$FIX/fam-aimv2-full-f32" >"$TMP/info" 2>"$TMP/stderr"
check "info on a whole aimv2 model" "[ $? = 0 ] && grep -qx 'pooling_head: yes' $TMP/info && grep -qx 'extra_tokens: 0' $TMP/info &&
    grep -qx 'other_sizes: none (transformers resizes no positions for it)' $TMP/info"

# OWL-ViT and OWLv2: CLIP's tower; OWLv2's processor pads to a square (the model sees the
# padding: black below a wide image); the crop box in the image covers the padded square
OW=$FIX/fam-owlv2-vision-f32
"$MHAVIZ" run --model "$OW" --format png,json --out "$TMP/ow" "$FIX/images/vis5/wide-37x23.png" 2>"$TMP/stderr"
check "owlv2 overlays from [CLS]" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/ow/wide-37x23/L01-H03.png ] && [ -s $TMP/ow/wide-37x23/model.png ]"
check "owlv2: a 37x23 image padded to 37x37" "perl -MJSON::PP -e 'local \$/; my \$i = decode_json(<STDIN>)->{images}[0];
    exit !(join(q(,), @{\$i->{crop_in_image}}) eq q(0,0,37,37) && join(q(,), @{\$i->{crop}}) eq q(0,0,16,16))' <$TMP/ow/wide-37x23.json"
"$MHAVIZ" info --model "$FIX/fam-owlvit-det-interp-bf16" >"$TMP/info" 2>"$TMP/stderr"
check "info on an owl-vit detector" "[ $? = 0 ] && grep -qx 'extra_tokens: 1 (\[CLS\])' $TMP/info &&
    grep -qx 'other_sizes: positions resized with --interpolate-pos' $TMP/info"
expect_fail "owl-vit detector of another size without --interpolate-pos" 2 "--interpolate-pos" -- \
    "$MHAVIZ" run --model "$FIX/fam-owlvit-det-interp-bf16" --format json --out "$TMP/out" "$FIX/images/vis5/wide-37x23.png"
mkdir -p "$TMP/ow2" && cp "$OW"/config.json "$OW"/model.safetensors "$TMP/ow2/"
printf '{"image_processor_type": "Owlv2ImageProcessor", "size": {"shortest_edge": 16}}\n' >"$TMP/ow2/preprocessor_config.json"
expect_fail "owlv2 processor with a shortest edge" 1 "size without height and width is not supported for Owlv2ImageProcessor" -- \
    "$MHAVIZ" run --model "$TMP/ow2" --format json --out "$TMP/out" "$FIX/images/vis5/wide-37x23.png"

# SigLIP 2: every image its own grid within the processor's patch budget, the positions
# resized to it; the pooling head by default; whole patches only
SG=$FIX/fam-siglip2-f32
"$MHAVIZ" run --model "$SG" --format png,json,html --out "$TMP/sg" "$FIX/images/vis5/tall-29x41.jpg" 2>"$TMP/stderr"
check "siglip2: the pooling head's overlays, a 6x4 grid" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/sg/tall-29x41/pool.png ] &&
    [ -s $TMP/sg/tall-29x41.html ] && perl -MJSON::PP -e 'local \$/; my \$i = decode_json(<STDIN>)->{images}[0];
    exit !(\$i->{grid}{rows} == 6 && \$i->{grid}{cols} == 4 && @{\$i->{tokens}} == 24)' <$TMP/sg/tall-29x41.json"
expect_fail "siglip2 --no-resize of a 37x23 image" 2 "siglip2_vision_model takes whole 4x4 patches only" -- \
    "$MHAVIZ" run --model "$SG" --no-resize --format json --out "$TMP/out" "$FIX/images/vis5/wide-37x23.png"
"$MHAVIZ" info --model "$FIX/fam-siglip2-full-f16" >"$TMP/info" 2>"$TMP/stderr"
check "info on a whole siglip2 model" "[ $? = 0 ] && grep -qx 'patch_grid: 4x4' $TMP/info && grep -qx 'pooling_head: yes' $TMP/info &&
    grep -qx \"other_sizes: positions resized to the image's patch grid\" $TMP/info"
finish
