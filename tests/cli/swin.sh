#!/usr/bin/env bash
# Swin and Swin V2 through `mhaviz run`: a PNG made by tests/gen/fam_swin.py through the fixtures' own
# image processors and models against transformers (tests/fixtures/goldens/e2e-swin.json:
# every head of every layer, each map over its stage's grid), the JSON's stages, the
# overlays and matrix figures stage by stage, 1 and 2 threads alike, info, and what is
# refused by name.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
FIX=tests/fixtures
IMG=$FIX/images/swin/wide-45x29.png
GOLD=$FIX/goldens/e2e-swin.json

e2e_check() { # CASE JSON: every head's (N, N) map within the golden's tolerance
    perl -MJSON::PP -e 'local $/; open(my $g, q(<), $ARGV[0]) or exit 9; my $gold = decode_json(<$g>);
        my ($c) = grep { $_->{case} eq $ARGV[1] } @{$gold->{cases}}; exit 8 unless $c;
        open(my $f, q(<), $ARGV[2]) or exit 7; my $im = decode_json(<$f>)->{images}[0];
        my ($h, $w) = @{$c->{pixels_hw}};
        exit 6 unless $im->{crop}[2] == $w && $im->{crop}[3] == $h;
        my ($r0, $c0) = @{$c->{grids}[0]};
        exit 5 unless $im->{grid}{rows} == $r0 && $im->{grid}{cols} == $c0 && @{$im->{tokens}} == $r0 * $c0;
        for my $s (@{$im->{stages}}) { my ($r, $cc) = @{$c->{grids}[$s->{layers}[0]]};
            exit 4 unless $s->{rows} == $r && $s->{cols} == $cc && @{$s->{tokens}} == $r * $cc }
        my ($worst, $maps, $want_maps) = (0, 0, 0);
        $want_maps += @$_ for @{$c->{layers}};
        for my $a (@{$im->{attentions}}) { my $want = $c->{layers}[$a->{layer}][$a->{head}]; $maps++;
            my $n = @$want; exit 3 unless @{$a->{weights}} == $n;
            for my $i (0..$n-1) { exit 3 unless @{$a->{weights}[$i]} == $n;
                for my $j (0..$n-1) { my $d = abs($a->{weights}[$i][$j] - $want->[$i][$j]); $worst = $d if $d > $worst } } }
        printf STDERR "%s: %d maps, worst %.3g (tolerance %.3g)\n", $ARGV[1], $maps, $worst, $c->{tolerance};
        exit !($maps == $want_maps && $worst <= $c->{tolerance})' "$GOLD" "$1" "$2"
}

"$MHAVIZ" run --model $FIX/swin-f32 --format json --out "$TMP/resized" "$IMG" 2>"$TMP/stderr"
check "swin: the PNG resized by its processor, every head as transformers" \
    "[ $? = 0 ] && [ ! -s $TMP/stderr ] && e2e_check resized $TMP/resized/wide-45x29.json 2>>$TMP/e2e.log"
"$MHAVIZ" run --model $FIX/swin-cls-f16 --no-resize --format json --threads 1 --out "$TMP/nr1" "$IMG" 2>"$TMP/stderr"
check "swin --no-resize: 45x29 pixels padded to 12x8 patches, windows and merging padded" \
    "[ $? = 0 ] && [ ! -s $TMP/stderr ] && e2e_check no-resize $TMP/nr1/wide-45x29.json 2>>$TMP/e2e.log"
"$MHAVIZ" run --model $FIX/swin-hub-3stage-bf16 --format json --out "$TMP/mt" "$IMG" 2>"$TMP/stderr"
check "swin: a processor naming no class is ViT's (AutoImageProcessor's for swin); 3 stages" \
    "[ $? = 0 ] && [ ! -s $TMP/stderr ] && e2e_check by-model-type $TMP/mt/wide-45x29.json 2>>$TMP/e2e.log"
"$MHAVIZ" run --model $FIX/swinv2-cls-pretrained-bf16 --no-resize --format json --out "$TMP/v2" "$IMG" 2>"$TMP/stderr"
check "swinv2 --no-resize: cosine attention, the continuous position bias, windows by the config's grid" \
    "[ $? = 0 ] && [ ! -s $TMP/stderr ] && e2e_check v2-no-resize $TMP/v2/wide-45x29.json 2>>$TMP/e2e.log"
check "the golden has its cases" "[ \$(grep -c 'maps, worst' $TMP/e2e.log) = 4 ]"
"$MHAVIZ" run --model $FIX/swin-cls-f16 --no-resize --format json --threads 2 --out "$TMP/nr2" "$IMG" 2>"$TMP/stderr"
check "swin: 1 and 2 threads write the same bytes" "[ $? = 0 ] && cmp -s $TMP/nr1/wide-45x29.json $TMP/nr2/wide-45x29.json"
check "swin's JSON: two stages, their layers, grids, patch sizes and heads" "perl -MJSON::PP -e 'local \$/; my \$i = decode_json(<STDIN>)->{images}[0];
    my (\$a, \$b) = @{\$i->{stages}};
    exit !(@{\$i->{stages}} == 2 && \$a->{stage} == 1 && \"@{\$a->{layers}}\" eq q(0 1) && \$a->{rows} == 8 && \$a->{cols} == 12 &&
        \$a->{patch_size} == 4 && \$a->{heads} == 2 && \$b->{stage} == 2 && \"@{\$b->{layers}}\" eq q(2 3) && \$b->{rows} == 4 &&
        \$b->{cols} == 6 && \$b->{patch_size} == 8 && \$b->{heads} == 3 && \$b->{tokens}[7] eq q(r1c1) && @{\$i->{attentions}} == 10)' <$TMP/nr1/wide-45x29.json"

# figures: each stage in its own directory, over its own grid; the query a patch of the first
"$MHAVIZ" run --model $FIX/swin-f32 --query 3,5 --format png,svg --out "$TMP/ov" "$IMG" 2>"$TMP/stderr"
D=$TMP/ov/wide-45x29
check "swin overlays by stage" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $D/stage1/L00-H01.png ] && [ -s $D/stage1/L01.png ] &&
    [ -s $D/stage1/model.svg ] && [ -s $D/stage2/L03-H03.png ] && [ -s $D/stage2/L02.svg ] && [ -s $D/stage2/model.png ] &&
    [ ! -e $D/stage1/L00-H02.png ] && [ ! -e $D/L00-H00.png ]"
check "swin overlays: the query r3c5, then the merged token r1c2 holding it" \
    "grep -q 'query r3c5' $D/stage1/L00-H00.svg && grep -q 'query r1c2' $D/stage2/L02.svg"
"$MHAVIZ" run --model $FIX/swin-f32 --view matrix --heads 1:1,2:3 --out "$TMP/mx" "$IMG" 2>"$TMP/stderr"
check "swin --view matrix: each layer's token x token maps over its stage's grid" "[ $? = 0 ] && [ ! -s $TMP/stderr ] &&
    [ -s $TMP/mx/wide-45x29/stage1/L01-H01.png ] && [ -s $TMP/mx/wide-45x29/stage2/L02-H03.png ] &&
    [ \$(find $TMP/mx -name 'L*-H*.png' | wc -l) = 2 ]"
"$MHAVIZ" run --model $FIX/swinv2-f32 --heads 3:1 --query 0,0 --format json,png --out "$TMP/one" "$IMG" 2>"$TMP/stderr"
check "swin: one head of a later stage alone (its map only is checked and written)" "[ $? = 0 ] && [ ! -s $TMP/stderr ] &&
    [ -s $TMP/one/wide-45x29/stage2/L03-H01.png ] && grep -c '\"head\": 1' $TMP/one/wide-45x29.json | grep -qx 1"
"$MHAVIZ" run --model $FIX/swin-f32 --heads '*:3' --format json --out "$TMP/st" "$IMG" 2>"$TMP/stderr"
check "swin --heads '*:3': the layers that have a head 3" "[ $? = 0 ] &&
    [ \$(grep -c '\"head\": 3' $TMP/st/wide-45x29.json) = 2 ] && grep -q '\"layer\": 2, \"head\": 3' $TMP/st/wide-45x29.json"

"$MHAVIZ" info --model $FIX/swin-hub-3stage-bf16 >"$TMP/info" 2>"$TMP/stderr"
check "info on swin" "[ $? = 0 ] && grep -qx 'stages: 3 (depths 2 1 2; heads 1 2 4; channels 8 doubling; each stage.s grid half the last.s)' $TMP/info &&
    grep -qx 'windows: 2x2 patches, every other layer.s shifted by 1' $TMP/info && grep -qx 'classifier: 4 labels' $TMP/info"
"$MHAVIZ" info --model $FIX/swinv2-cls-pretrained-bf16 >"$TMP/info" 2>"$TMP/stderr"
check "info on swinv2" "[ $? = 0 ] && grep -q '^windows: 3x3 patches, every other layer.s shifted by 1 (by the config.s grid' $TMP/info &&
    grep -qx 'pretrained_windows: 4 2' $TMP/info"
"$MHAVIZ" info --families >"$TMP/fam" 2>"$TMP/stderr"
check "info --families lists swin and swinv2" "[ $? = 0 ] && grep -qx swin $TMP/fam && grep -qx swinv2 $TMP/fam"

expect_fail "swin: a head past its stage's" 2 "--heads: 0:2: layer 0 of swin has 2 heads (stage 1)" -- \
    "$MHAVIZ" run --model $FIX/swin-f32 --heads 1:0,0:2 --format json --out "$TMP/out" "$IMG"
expect_fail "swin: overlays need a patch query" 2 "swin has no [CLS] token: give --query ROW,COL" -- \
    "$MHAVIZ" run --model $FIX/swin-f32 --out "$TMP/out" "$IMG"
expect_fail "swin: html" 1 "--format html is not available for swin yet (its stages have token grids of their own" -- \
    "$MHAVIZ" run --model $FIX/swin-f32 --query 1,1 --format html --out "$TMP/out" "$IMG"
expect_fail "swin: --aggregate" 1 "--aggregate is not available for swin yet" -- \
    "$MHAVIZ" run --model $FIX/swin-f32 --query 1,1 --aggregate mean --out "$TMP/out" "$IMG"
expect_fail "swin: stats" 1 "stats is not available for swin yet" -- \
    "$MHAVIZ" stats --model $FIX/swin-f32 "$IMG"
# the refusals name the model_type, and only html's suggests other formats
expect_fail "swinv2: html" 1 "--format html is not available for swinv2 yet" -- \
    "$MHAVIZ" run --model $FIX/swinv2-f32 --query 1,1 --format html --out "$TMP/out" "$IMG"
expect_fail "donut-swin: --aggregate" 1 "--aggregate is not available for donut-swin yet (its stages have token grids of their own)" -- \
    "$MHAVIZ" run --model $FIX/donut-swin-f32 --query 1,1 --aggregate mean --out "$TMP/out" "$IMG"
expect_fail "donut-swin: stats" 1 "stats is not available for donut-swin yet" -- \
    "$MHAVIZ" stats --model $FIX/donut-swin-f32 "$IMG"
mkdir -p "$TMP/donut" && cp $FIX/donut-swin-f32/* "$TMP/donut/" &&
    printf '{"image_processor_type": "DonutImageProcessor", "size": {"height": 32, "width": 32}}\n' >"$TMP/donut/preprocessor_config.json"
expect_fail "donut-swin: Donut's image processor" 1 "image processor 'DonutImageProcessor' is not supported" -- \
    "$MHAVIZ" run --model "$TMP/donut" --query 1,1 --out "$TMP/out" "$IMG"
"$MHAVIZ" run --model $FIX/donut-swin-f32 --query 1,1 --format json --out "$TMP/dn" "$IMG" 2>"$TMP/stderr"
check "donut-swin runs as swin (its stages in the JSON)" "[ $? = 0 ] && [ ! -s $TMP/stderr ] &&
    grep -q '\"architecture\": \"donut-swin\"' $TMP/dn/wide-45x29.json && grep -q '\"stage\": 2' $TMP/dn/wide-45x29.json"
expect_fail "swin: a query outside the grid" 2 "--query 8,0 is outside the 8x8 patch grid" -- \
    "$MHAVIZ" run --model $FIX/swin-f32 --query 8,0 --out "$TMP/out" "$IMG"
# maps too large for memory (a 4096 x 4096 processor size: 1048576 patches) are refused
# naming how many (the count read after the maps were freed said 0); within 4 GB of address
# space when not under ASan
rm -rf "$TMP/big" && cp -r $FIX/swin-f32 "$TMP/big"
perl -0pi -e 's/"height": \d+/"height": 4096/; s/"width": \d+/"width": 4096/' "$TMP/big/preprocessor_config.json"
if { (ulimit -v 4000000 && "$MHAVIZ" --version) >/dev/null 2>&1; } 2>/dev/null; then
    expect_fail "swin: maps past memory, counted" 1 "out of memory for 12 attention maps of 1048576 tokens" -- \
        bash -c 'ulimit -v 4000000; exec "$@"' _ "$MHAVIZ" run --model "$TMP/big" --format json --out "$TMP/out" "$IMG"
fi
finish
