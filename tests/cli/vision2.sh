#!/usr/bin/env bash
# The second round of vision families through `mhaviz run` (ViT-MSN, I-JEPA, BEiT,
# data2vec-vision): an image file end to end against transformers' own image processor and
# model (tests/gen/gen_vision_e2e2.py), and what a model without [CLS] (I-JEPA) draws and
# refuses.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
IMG=tests/fixtures/images
E2E=tests/fixtures/goldens/vision-e2e2.json
mkdir -p "$TMP/in"
cp "$IMG/rgb-37x23.png" "$TMP/in/a.png"

e2e_check() { # CASE JSON: every head's weights within the golden's tolerance
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
        exit !($maps == $want_maps && $worst <= $c->{tolerance})' "$E2E" "$1" "$2"
}

# every case of the golden: the fixture's own preprocessor_config.json, all heads
for c in $(perl -MJSON::PP -e 'local $/; print join(" ", map { "$_->{case}=$_->{fixture}" } @{decode_json(<STDIN>)->{cases}})' <"$E2E"); do
    name=${c%%=*} fix=${c#*=}
    "$MHAVIZ" run --model "tests/fixtures/$fix" --heads all --format json --out "$TMP/$name" \
        "$TMP/in/a.png" 2>"$TMP/stderr"
    check "$name: the image through its processor, as transformers runs it" \
        "[ $? = 0 ] && [ ! -s $TMP/stderr ] && e2e_check $name $TMP/$name/a.json 2>>$TMP/e2e.log"
done
check "the golden has the cases of every family" "[ \$(grep -c 'maps, worst' $TMP/e2e.log) -ge 5 ]"

# I-JEPA has no [CLS]: its tokens are the patches alone; the overlays need a patch query
IJ=tests/fixtures/fam-ijepa-bf16
check "i-jepa tokens: the patches alone" "perl -MJSON::PP -e 'local \$/; my \$i = decode_json(<STDIN>)->{images}[0];
    exit !(\$i->{grid}{extra_tokens} == 0 && \$i->{tokens}[0] eq q(r0c0) && @{\$i->{tokens}} == 16)' <$TMP/ijepa/a.json"
expect_fail "i-jepa overlays without a patch query" 2 "ijepa has no [CLS] token: give --query ROW,COL (a patch) for the overlays, or --view matrix" -- \
    "$MHAVIZ" run --model "$IJ" --format png --out "$TMP/out" "$TMP/in/a.png"
expect_fail "i-jepa --query cls" 2 "--query cls: ijepa has no [CLS] token (give --query ROW,COL)" -- \
    "$MHAVIZ" run --model "$IJ" --query cls --format json --out "$TMP/out" "$TMP/in/a.png"
expect_fail "i-jepa --query pool" 2 "--query pool: ijepa has no attention-pooling head" -- \
    "$MHAVIZ" run --model "$IJ" --query pool --out "$TMP/out" "$TMP/in/a.png"
"$MHAVIZ" run --model "$IJ" --query 1,2 --format png,json,html --out "$TMP/ijq" "$TMP/in/a.png" 2>"$TMP/stderr"
check "i-jepa overlays of a patch query" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/ijq/a/L01-H03.png ] && [ -s $TMP/ijq/a/L01.png ] &&
    grep -q '\"rows\":4,\"cols\":4,\"patch\":4,\"extra\":0,\"query\":6' $TMP/ijq/a.html"
"$MHAVIZ" run --model "$IJ" --view matrix --format png --out "$TMP/ijm" "$TMP/in/a.png" 2>"$TMP/stderr"
check "i-jepa token x token maps" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/ijm/a/L00-H00.png ]"
"$MHAVIZ" run --model "$IJ" --aggregate rollout --query 0,0 --format png,json --out "$TMP/ijr" "$TMP/in/a.png" 2>"$TMP/stderr"
check "i-jepa rollout from a patch" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/ijr/a/L01-rollout.png ]"
"$MHAVIZ" stats --model "$IJ" --format json --out "$TMP/ijst.json" "$TMP/in/a.png" 2>"$TMP/stderr"
check "i-jepa stats: a 4x4 grid, no extra token" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && perl -MJSON::PP -e 'local \$/; my \$s = decode_json(<STDIN>);
    exit !(\$s->{patch_grid} == 4 && \$s->{patch_extra} == 0)' <$TMP/ijst.json"
"$MHAVIZ" info --model "$IJ" >"$TMP/info" 2>"$TMP/stderr"
check "info on i-jepa" "[ $? = 0 ] && grep -qx 'extra_tokens: 0' $TMP/info"

# BEiT and data2vec-vision take any image size (the bias tables and positions resized to its
# grid, as BeitModel does unasked); --interpolate-pos changes nothing for them, as
# interpolate_pos_encoding changes nothing in transformers
BE=tests/fixtures/fam-beit-mim-shared-abs-bf16
"$MHAVIZ" run --model "$BE" --interpolate-pos --heads all --format json --out "$TMP/beip" "$TMP/in/a.png" 2>"$TMP/stderr"
check "beit --interpolate-pos: the same weights" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && cmp -s $TMP/beit-grid/a.json $TMP/beip/a.json"
"$MHAVIZ" run --model "$BE" --no-resize --format json --out "$TMP/benr" "$TMP/in/a.png" 2>"$TMP/stderr"
check "beit --no-resize: 37x23 pixels, a 5x9 grid" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && perl -MJSON::PP -e 'local \$/; my \$i = decode_json(<STDIN>)->{images}[0];
    exit !(\$i->{grid}{rows} == 5 && \$i->{grid}{cols} == 9 && @{\$i->{tokens}} == 46)' <$TMP/benr/a.json"
"$MHAVIZ" run --model tests/fixtures/fam-data2vec-vision-f32 --format png,json --out "$TMP/d2v" "$TMP/in/a.png" 2>"$TMP/stderr"
check "data2vec-vision overlays from [CLS]" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/d2v/a/L01-H03.png ] && [ -s $TMP/d2v/a/model.png ]"
"$MHAVIZ" info --model tests/fixtures/fam-beit-cls-both-f16 >"$TMP/info" 2>"$TMP/stderr"
check "info on beit" "[ $? = 0 ] && grep -qx \"relative_position_bias: each layer's and shared\" $TMP/info &&
    grep -qx 'other_sizes: positions and relative position bias resized to the image'\\''s patch grid' $TMP/info"
finish
