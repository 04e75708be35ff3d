#!/usr/bin/env bash
# Vision transformers through `mhaviz run`: PNG images listed in a file (or a .png given
# directly), preprocessed by the model's preprocessor_config.json (none: ViT's defaults),
# JSON with the patch grid and tokens, overlay figures per head and per layer (PNG, SVG,
# PDF; checked against the JSON weights and against reference images), the token x token
# matrix view, --query, --no-resize, errors.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
VIT=tests/fixtures/fam-vit-f32          # 16x16 images, 4x4 patches, 2 layers x 4 heads
DEIT=tests/fixtures/fam-deit-f16
SIG=tests/fixtures/fam-siglip-vision-bf16
IMG=tests/fixtures/images
mkdir -p "$TMP/in"
cp "$IMG/rgb-37x23.png" "$TMP/in/a.png"
cp "$IMG/grey-16x16.png" "$TMP/in/b.png"
printf 'a.png\nb.png\n' >"$TMP/in/list.txt"

"$MHAVIZ" run --model "$VIT" --format json,png --out "$TMP/out" "$TMP/in/list.txt" 2>"$TMP/stderr"
check "two images run" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
check "an overlay per head, a grid per layer and the model's, per image" "[ \$(ls $TMP/out/list | wc -l) = 11 ] && [ \$(ls $TMP/out/list-2 | wc -l) = 11 ] && [ -s $TMP/out/list/L01.png ] && [ -s $TMP/out/list/model.png ]"
check "json: grid, tokens, crop, weights" "perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>);
    my \$i = \$j->{images}; exit 1 unless @\$i == 2;
    my \$a = \$i->[0]; exit 2 unless \$a->{width} == 37 && \$a->{height} == 23 && \$a->{grid}{rows} == 4
        && \$a->{grid}{patch_size} == 4 && \$a->{tokens}[0] eq q([CLS]) && \$a->{tokens}[16] eq q(r3c3)
        && join(q(,), @{\$a->{crop}}) eq q(0,0,16,16) && join(q(,), @{\$a->{crop_in_image}}) eq q(0,0,37,23);
    my \$w = \$a->{attentions}[7]{weights}; exit 3 unless @\$w == 17;
    for my \$r (@\$w) { my \$s = 0; \$s += \$_ for @\$r; exit 4 if abs(\$s - 1) > 1e-5 }
    exit 5 unless \$j->{model}{architecture} eq q(vit)' <$TMP/out/list.json"

# a list's lines without the whitespace around them (a CR, trailing spaces, a leading tab):
# the same images, named by their paths
printf ' a.png  \r\n\tb.png \t\r\n' >"$TMP/in/spaced.txt"
"$MHAVIZ" run --model "$VIT" --format json --out "$TMP/out-ws" "$TMP/in/spaced.txt" 2>"$TMP/stderr"
check "a list's lines with whitespace around them run" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
check "... as the same images, named without the whitespace" "perl -MJSON::PP -e 'local \$/;
    open(my \$f, q(<), shift) or die; my \$a = decode_json(<\$f>); open(\$f, q(<), shift) or die;
    my \$b = decode_json(<\$f>); my \$c = JSON::PP->new->canonical;
    exit 1 unless \$a->{images}[0]{path} eq q($TMP/in/a.png) && \$a->{images}[1]{path} eq q($TMP/in/b.png);
    exit 2 unless \$c->encode(\$a->{images}) eq \$c->encode(\$b->{images})' $TMP/out-ws/spaced.json $TMP/out/list.json"

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
check "--aggregate rollout: one overlay per layer, no grids" "[ \"\$(ls $TMP/agg/b | tr '\\n' ' ')\" = 'L00-rollout.png L01-rollout.png ' ]"
check "--aggregate json names the view" "perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>);
    my \$a = \$j->{images}[0]{attentions}; exit 1 unless @\$a == 2 && \$a->[1]{aggregate} eq q(rollout);
    for my \$r (@{\$a->[1]{weights}}) { my \$s = 0; \$s += \$_ for @\$r; exit 2 if abs(\$s - 1) > 1e-5 }' <$TMP/agg/b.json"

# --no-resize takes images at the model's size as they are, and refuses others
"$MHAVIZ" run --model "$VIT" --no-resize --format json --out "$TMP/nr" "$TMP/in/b.png"
check "--no-resize at the model's size" "[ $? = 0 ] && [ -s $TMP/nr/b.json ]"
expect_fail "no-resize wrong size" 2 "a.png: the image comes to 37x23 pixels after preprocessing; vit takes 16x16 unless its position embeddings are interpolated (--interpolate-pos, as transformers' interpolate_pos_encoding)" -- \
    "$MHAVIZ" run --model "$VIT" --no-resize --format json --out "$TMP/out" "$TMP/in/a.png"
# an image_size (18) that patch_size (4) does not divide: resized to 18x18 by ViT's default
# processor, a 4x4 grid (the last 2 pixels of each side dropped), no --interpolate-pos needed
"$MHAVIZ" run --model tests/fixtures/fam-vit-rem-f32 --format json --out "$TMP/rem" "$TMP/in/a.png" 2>"$TMP/stderr"
check "image_size not a multiple of patch_size" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && perl -MJSON::PP -e 'local \$/; my \$a = decode_json(<STDIN>)->{images}[0];
    exit !(join(q(,), @{\$a->{crop}}) eq q(0,0,18,18) && \$a->{grid}{rows} == 4 && \$a->{grid}{cols} == 4 && @{\$a->{tokens}} == 17)' <$TMP/rem/a.json"
expect_fail "--interpolate-pos on a text model" 2 "--no-resize, --interpolate-pos and --query are for vision models" -- \
    "$MHAVIZ" run --model tests/fixtures/bert-f32 --interpolate-pos --out "$TMP/out" samples/sentence.txt

# Images whose size after preprocessing is not the model's image_size, end to end against
# transformers' own image processor and model (tests/gen/gen_vision_e2e.py): DINOv2 resizes
# its positions to the image's patch grid always (its crop 16 is not its image_size 28, as
# DINOv2's 224 is not its 518; a processor without crop gives 25x16 pixels: a 4x6 grid);
# ViT with --interpolate-pos (37x23 pixels as they are: a 5x9 grid)
E2E=tests/fixtures/goldens/vision-e2e.json
e2e_check() { # CASE JSON: every head's weights within the golden's tolerance
    perl -MJSON::PP -e 'local $/; open(my $g, q(<), $ARGV[0]) or exit 9; my $gold = decode_json(<$g>);
        my ($c) = grep { $_->{case} eq $ARGV[1] } @{$gold->{cases}}; exit 8 unless $c;
        open(my $f, q(<), $ARGV[2]) or exit 7; my $im = decode_json(<$f>)->{images}[0];
        my ($h, $w) = @{$c->{pixels_hw}}; my $n = scalar @{$c->{attentions}[0][0]};
        exit 6 unless $im->{crop}[2] == $w && $im->{crop}[3] == $h && @{$im->{tokens}} == $n
            && $im->{grid}{rows} * $im->{grid}{cols} + $im->{grid}{extra_tokens} == $n;
        my ($worst, $maps) = (0, 0);
        for my $a (@{$im->{attentions}}) { my $want = $c->{attentions}[$a->{layer}][$a->{head}]; $maps++;
            for my $i (0..$n-1) { for my $j (0..$n-1) { my $d = abs($a->{weights}[$i][$j] - $want->[$i][$j]); $worst = $d if $d > $worst } } }
        printf STDERR "%s: %d maps, worst %.3g (tolerance %.3g)\n", $ARGV[1], $maps, $worst, $c->{tolerance};
        exit !($maps == 8 && $worst <= $c->{tolerance})' "$E2E" "$1" "$2"
}
DV=tests/fixtures/fam-dinov2-interp-f32
"$MHAVIZ" run --model "$DV" --format json --out "$TMP/e2e1" "$TMP/in/a.png" 2>"$TMP/stderr"
check "dinov2: its 16x16 crop of a 28x28 model, as transformers runs it" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && e2e_check dinov2-crop $TMP/e2e1/a.json"
mkdir -p "$TMP/dvnc" && cp "$DV"/* "$TMP/dvnc/" && cp "$IMG/dinov2-noncrop/preprocessor_config.json" "$TMP/dvnc/"
"$MHAVIZ" run --model "$TMP/dvnc" --format json,png,svg,html --heads '0:*,1:1' --query 3,5 --out "$TMP/e2e2" "$TMP/in/a.png" 2>"$TMP/stderr"
check "dinov2 without a crop: 25x16 pixels, a 4x6 grid, as transformers runs it" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && perl -MJSON::PP -e 'local \$/; my \$i = decode_json(<STDIN>)->{images}[0];
    exit !(\$i->{grid}{rows} == 4 && \$i->{grid}{cols} == 6 && \$i->{tokens}[24] eq q(r3c5))' <$TMP/e2e2/a.json"
"$MHAVIZ" run --model "$TMP/dvnc" --format json --out "$TMP/e2e2j" "$TMP/in/a.png"
check "dinov2 without a crop: the weights" "e2e_check dinov2-noncrop $TMP/e2e2j/a.json"
check "a 4x6 grid's overlays: a 25x16 picture drawn 9x (225x144)" "[ -s $TMP/e2e2/a/L01-H01.png ] && [ -s $TMP/e2e2/a/model.png ] &&
    grep -q '<image class=\"picture\" x=\"12\" y=\"[0-9.]*\" width=\"225\" height=\"144\"' $TMP/e2e2/a/L01-H01.svg"
check "a 4x6 grid's page: rows, cols and patch of the picture" "grep -q '\"w\":25,\"h\":16,\"rows\":4,\"cols\":6,\"patch\":4,\"extra\":1,\"query\":24' $TMP/e2e2/a.html"
expect_fail "a query outside the image's grid" 2 "a.png: --query 4,0 is outside the 4x6 patch grid" -- \
    "$MHAVIZ" run --model "$TMP/dvnc" --query 4,0 --out "$TMP/out" "$TMP/in/a.png"
"$MHAVIZ" run --model "$VIT" --no-resize --interpolate-pos --format json --out "$TMP/e2e3" "$TMP/in/a.png" 2>"$TMP/stderr"
check "vit --interpolate-pos: 37x23 pixels, a 5x9 grid, as transformers runs it" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && e2e_check vit-noresize $TMP/e2e3/a.json"
"$MHAVIZ" stats --model "$TMP/dvnc" --format json --out "$TMP/dvst.json" "$TMP/in/a.png" 2>"$TMP/stderr"
check "stats over an image of another grid: distance on its own 4x6 grid" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && perl -MJSON::PP -e '
    local \$/; open(my \$f, q(<), \$ARGV[0]) or exit 9; my \$i = decode_json(<\$f>)->{images}[0];
    my (\$t, \$k) = (0, 0);
    for my \$a (@{\$i->{attentions}}) { next unless \$a->{layer} == 1 && \$a->{head} == 1; my \$w = \$a->{weights};
        for my \$p (0..23) { for my \$q (0..23) { \$t += \$w->[\$p + 1][\$q + 1] * sqrt((int(\$p / 6) - int(\$q / 6)) ** 2 + (\$p % 6 - \$q % 6) ** 2) } } \$k++ }
    open(my \$s, q(<), \$ARGV[1]) or exit 8; my \$st = decode_json(<\$s>);
    exit 1 unless \$k == 1 && \$st->{patch_grid} == 7;
    my (\$row) = grep { \$_->{layer} == 1 && \$_->{head} == 1 } @{\$st->{heads}}; exit 2 unless \$row;
    exit !(abs(\$row->{distance} - \$t / 24) < 3e-5)' $TMP/e2e2j/a.json $TMP/dvst.json"
expect_fail "query outside the grid" 2 "outside the 4x4 patch grid" -- \
    "$MHAVIZ" run --model "$VIT" --query 4,0 --out "$TMP/out" "$TMP/in/b.png"
expect_fail "query not a patch" 2 "--query 'x' is not cls, pool or ROW,COL" -- \
    "$MHAVIZ" run --model "$VIT" --query x --out "$TMP/out" "$TMP/in/b.png"
printf 'not a png' >"$TMP/in/bad.png"
expect_fail "not an image" 1 "bad.png: not a PNG or JPEG image" -- \
    "$MHAVIZ" run --model "$VIT" --out "$TMP/out" "$TMP/in/bad.png"
# the crop box carried back to the original image: 37x23, shortest edge to 20 -> 32x20,
# centre crop 16x16 from (8, 2); in the original x 37/32, y x 23/20
mkdir -p "$TMP/cropm" && cp "$VIT"/* "$TMP/cropm/" && cp tests/fixtures/images/crop-bicubic/preprocessor_config.json "$TMP/cropm/"
"$MHAVIZ" run --model "$TMP/cropm" --format json --out "$TMP/crop" "$TMP/in/a.png"
check "crop and crop_in_image of a shortest-edge resize and centre crop" "perl -MJSON::PP -e 'local \$/; my \$i = decode_json(<STDIN>)->{images}[0];
    exit !(join(q(,), @{\$i->{crop}}) eq q(8,2,16,16) && join(q(,), map { sprintf q(%.4f), \$_ } @{\$i->{crop_in_image}}) eq q(9.2500,2.3000,18.5000,18.4000))' <$TMP/crop/a.json"
# JPEG: given directly or in a list; a damaged one is one line naming it
cp tests/fixtures/images/jpeg/baseline-420.jpg "$TMP/in/c.jpg"
"$MHAVIZ" run --model "$VIT" --format json --out "$TMP/jpg" "$TMP/in/c.jpg" 2>"$TMP/stderr"
check "a .jpg runs like a .png" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>);
    my \$i = \$j->{images}[0]; exit !(\$i->{width} == 37 && \$i->{height} == 23)' <$TMP/jpg/c.json"
printf 'a.png\nc.jpg\n' >"$TMP/in/mixed.txt"
"$MHAVIZ" run --model "$VIT" --format json --out "$TMP/mixed" "$TMP/in/mixed.txt"
check "a list of PNG and JPEG images" "[ \$(perl -MJSON::PP -e 'local \$/; print scalar @{decode_json(<STDIN>)->{images}}' <$TMP/mixed/mixed.json) = 2 ]"
head -c 700 tests/fixtures/images/jpeg/baseline-420.jpg >"$TMP/in/cut.jpg"
expect_fail "a JPEG cut short" 1 "cut.jpg: damaged JPEG: the file ends early" -- \
    "$MHAVIZ" run --model "$VIT" --format json,png --out "$TMP/out" "$TMP/in/cut.jpg"
# stats over images: distance is the mean 2-D distance in patches between a patch query and
# the patch keys (weights on [CLS]/[DIST] add none), recomputed here from run's JSON weights
# (within the 2^-16 step of the exact fixed-point sums)
printf 'a.png\nb.png\nc.jpg\n' >"$TMP/in/three.txt"
"$MHAVIZ" stats --model "$DEIT" --format json --threads 2 --out "$TMP/st.json" "$TMP/in/three.txt" 2>"$TMP/stderr"
check "stats on a vision model" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>);
    exit !(\$j->{patch_grid} == 4 && \$j->{patch_extra} == 2 && \$j->{sentences} == 3)' <$TMP/st.json"
"$MHAVIZ" run --model "$DEIT" --format json --out "$TMP/stj" "$TMP/in/three.txt"
"$MHAVIZ" stats --model "$DEIT" --format csv "$TMP/in/three.txt" >"$TMP/st.csv"
check "stats distance = the 2-D patch distance of the weights" "perl -MJSON::PP -e '
    local \$/; open(my \$f, q(<), \$ARGV[0]) or exit 9; my \$j = decode_json(<\$f>); my (%sum, %csv);
    for my \$im (@{\$j->{images}}) { for my \$a (@{\$im->{attentions}}) { my \$w = \$a->{weights}; my \$t = 0;
        for my \$i (2..17) { for my \$k (2..17) { my (\$p, \$q) = (\$i - 2, \$k - 2);
            \$t += \$w->[\$i][\$k] * sqrt((int(\$p / 4) - int(\$q / 4)) ** 2 + (\$p % 4 - \$q % 4) ** 2) } }
        \$sum{\$a->{layer} . q(,) . \$a->{head}} += \$t / 16 / 3 } }
    open(my \$c, q(<), \$ARGV[1]) or exit 8; local \$/ = qq(\n); <\$c>;
    my \$n = 0; while (<\$c>) { my @f = split /,/; \$n++; exit 1 if abs(\$f[3] - \$sum{\$f[0] . q(,) . \$f[1]}) > 3e-5 }
    exit !(\$n == 8)' $TMP/stj/three.json $TMP/st.csv"
"$MHAVIZ" stats --model "$SIG" --format csv "$TMP/in/b.png" >"$TMP/sig.csv"
check "stats on SigLIP: no [CLS], so no first" "awk -F, 'NR > 1 && \$5 != \"\" { bad = 1 } END { exit bad || NR != 9 }' $TMP/sig.csv"
"$MHAVIZ" stats --model "$VIT" --format json --out "$TMP/vit.json" "$TMP/in/b.png"
"$MHAVIZ" stats --model "$DEIT" --format json --shard 0/2 --out "$TMP/s0.json" "$TMP/in/three.txt"
"$MHAVIZ" stats --model "$DEIT" --format json --shard 1/2 --out "$TMP/s1.json" "$TMP/in/three.txt"
check "stats shards of images merge to the whole" "\"$MHAVIZ\" stats --merge --format json $TMP/s1.json $TMP/s0.json | cmp -s - $TMP/st.json"
# info: the patch grid and the tokens before it
"$MHAVIZ" info --model tests/fixtures/fam-dinov2-reg-f32 >"$TMP/info" 2>"$TMP/stderr"
check "info on a vision model" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && grep -qx 'patch_grid: 4x4' $TMP/info &&
    grep -qx 'extra_tokens: 4 (\[CLS\], 3 registers)' $TMP/info && grep -qx 'pooling_head: no' $TMP/info &&
    grep -qx 'tokenizer: none (an image model)' $TMP/info"
check "info: SigLIP's pooling head" "\"$MHAVIZ\" info --model $SIG | grep -qx 'pooling_head: yes'"
check "info: how other image sizes are taken" "grep -qx \"other_sizes: positions resized to the image's patch grid\" $TMP/info &&
    \"$MHAVIZ\" info --model $SIG | grep -qx 'other_sizes: positions resized with --interpolate-pos'"
"$MHAVIZ" stats --model "$DEIT" --format png --out "$TMP/st.png" "$TMP/in/three.txt"
check "stats png of images: titled in images" "grep -aq 'fam-deit-f16, 3 images (rows: layers' $TMP/st.png"
expect_fail "stats: --rows on a vision model" 2 "are for text models, not deit" -- \
    "$MHAVIZ" stats --model "$DEIT" --rows last "$TMP/in/three.txt"
printf 'a.png\nmissing.png\n' >"$TMP/in/list2.txt"
expect_fail "missing image, nothing left" 1 "missing.png" -- \
    "$MHAVIZ" run --model "$VIT" --format json,png --out "$TMP/out" "$TMP/in/list2.txt"
expect_fail "vision options on a text model" 2 "for vision models" -- \
    "$MHAVIZ" run --model tests/fixtures/bert-f32 --no-resize --out "$TMP/out" samples/sentence.txt
# The overlay draws the JSON's weights: on a uniform grey picture a patch's brightness
# grows with its weight (viridis is monotonic in lightness), so the brightest patch of
# L01-H02 is the [CLS] row's largest patch weight and the darkest its smallest. The picture
# is written here (a PNG of one grey), the overlay's pixels read back (no filter: mhaviz's).
here=$(dirname "$0")
perl -MCompress::Zlib -e 'my ($w, $h) = (16, 16); my $raw = join("", map { "\0" . ("\x80" x (3 * $w)) } 1..$h);
    sub chunk { my ($t, $d) = @_; pack("N", length $d) . $t . $d . pack("N", crc32($t . $d)) }
    binmode STDOUT; print "\x89PNG\r\n\x1a\n", chunk("IHDR", pack("NNCCCCC", $w, $h, 8, 2, 0, 0, 0)),
        chunk("IDAT", compress($raw)), chunk("IEND", "")' >"$TMP/in/grey.png"
"$MHAVIZ" run --model "$VIT" --no-resize --heads 1:2 --format png,json --out "$TMP/ov" "$TMP/in/grey.png"
check "overlay: brightest and darkest patches are the largest and smallest weights" "perl -MJSON::PP -MCompress::Zlib -e '
    local \$/; open(my \$jf, q(<), \$ARGV[0]) or exit 9; my \$j = decode_json(<\$jf>);
    my @row = @{\$j->{images}[0]{attentions}[0]{weights}[0]}; shift @row;
    open(my \$h, q(<:raw), \$ARGV[1]) or exit 8; my \$d = <\$h>; my (\$pos, \$idat, \$w, \$ht) = (8, q(), 0, 0);
    while (\$pos < length \$d) { my (\$n, \$t) = unpack(q(Na4), substr(\$d, \$pos, 8));
        (\$w, \$ht) = unpack(q(NN), substr(\$d, \$pos + 8, 8)) if \$t eq q(IHDR);
        \$idat .= substr(\$d, \$pos + 8, \$n) if \$t eq q(IDAT); \$pos += 12 + \$n }
    my \$raw = uncompress(\$idat); my \$stride = 3 * \$w + 1;
    # the picture: 224 px square from (12, top); its top is the first row whose pixel 20 is not white
    my \$top = 0; for my \$y (0..\$ht-1) { my \$o = \$y * \$stride + 1 + 3 * 20; if (substr(\$raw, \$o, 3) ne qq(\xff\xff\xff)) { \$top = \$y; last } }
    my @lum; for my \$p (0..15) { my (\$x, \$y) = (12 + 28 + 56 * (\$p % 4), \$top + 28 + 56 * int(\$p / 4));
        my (\$r, \$g, \$b) = unpack(q(CCC), substr(\$raw, \$y * \$stride + 1 + 3 * \$x, 3)); push @lum, \$r + 2 * \$g + \$b }
    my (\$bw, \$dw, \$bl, \$dl) = (0, 0, 0, 0);
    for my \$p (0..15) { \$bw = \$p if \$row[\$p] > \$row[\$bw]; \$dw = \$p if \$row[\$p] < \$row[\$dw];
        \$bl = \$p if \$lum[\$p] > \$lum[\$bl]; \$dl = \$p if \$lum[\$p] < \$lum[\$dl] }
    exit !(\$bw == \$bl && \$dw == \$dl)' $TMP/ov/grey.json $TMP/ov/grey/L01-H02.png"

# every format draws the same figure; the PDF's picture is an image XObject, the SVG's an <image>
"$MHAVIZ" run --model "$VIT" --heads 1:2 --query 2,1 --format png,svg,pdf --out "$TMP/fmt" "$TMP/in/a.png" 2>"$TMP/stderr"
check "png, svg and pdf of heads and layers" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ \"\$(ls $TMP/fmt/a | tr '\\n' ' ')\" = 'L01-H02.pdf L01-H02.png L01-H02.svg L01.pdf L01.png L01.svg ' ]"
check "svg embeds the picture as a PNG" "grep -q '<image class=\"picture\" x=\"12\" y=\"[0-9.]*\" width=\"224\" height=\"224\" preserveAspectRatio=\"none\"' $TMP/fmt/a/L01-H02.svg && grep -q 'xlink:href=\"data:image/png;base64,iVBORw0KGgo' $TMP/fmt/a/L01-H02.svg"
check "svg title names the layer and head" "grep -q '<title>fam-vit-f32 — layer 1, head 2</title>' $TMP/fmt/a/L01-H02.svg"
check "pdf: one image XObject per picture" "[ \$(grep -ac '/Subtype /Image /Width 16 /Height 16' $TMP/fmt/a/L01-H02.pdf) = 1 ] && [ \$(grep -ac '/Subtype /Image' $TMP/fmt/a/L01.pdf) = 1 ]"
if command -v pdftoppm >/dev/null; then
    for f in L01-H02 L01; do
        pdftoppm -r 96 -png "$TMP/fmt/a/$f.pdf" "$TMP/fmt/$f" 2>"$TMP/stderr"
        check "pdftoppm renders $f.pdf like the PNG ($(perl $here/png_diff.pl $TMP/fmt/$f-1.png $TMP/fmt/a/$f.png 0.02 2>&1))" \
            "perl $here/png_diff.pl $TMP/fmt/$f-1.png $TMP/fmt/a/$f.png 0.02 >/dev/null 2>&1"
    done
else
    echo "skipped: pdftoppm not installed (the PDF overlay rendering check)" >&2
fi
# the reference images (tests/gen/gen_view_goldens.sh), with the tolerance of tests/cli/views.sh
"$MHAVIZ" run --model "$VIT" --heads '1:*' --query 2,1 --out "$TMP/gold" "$TMP/in/a.png"
for f in L01-H02 L01; do
    check "overlay $f like the reference image ($(perl $here/png_diff.pl $TMP/gold/a/$f.png tests/fixtures/views/overlay-$f.png 2>&1))" \
        "perl $here/png_diff.pl $TMP/gold/a/$f.png tests/fixtures/views/overlay-$f.png >/dev/null 2>&1"
done
"$MHAVIZ" run --model "$VIT" --out "$TMP/goldm" "$TMP/in/a.png"
check "overlay model figure like the reference image ($(perl $here/png_diff.pl $TMP/goldm/a/model.png tests/fixtures/views/overlay-model.png 2>&1))" \
    "perl $here/png_diff.pl $TMP/goldm/a/model.png tests/fixtures/views/overlay-model.png >/dev/null 2>&1"
"$MHAVIZ" run --model "$VIT" --heads 1:2 --scale fixed --out "$TMP/fix" "$TMP/in/a.png"
check "--scale fixed draws another overlay" "! cmp -s $TMP/fix/a/L01-H02.png $TMP/gold/a/L01-H02.png"

# --format html: one page for the input file, the pictures and every head's map inside
# (clicking a patch is tested in a browser by tests/cli/browser.sh)
"$MHAVIZ" run --model "$DEIT" --format html --out "$TMP/html" "$TMP/in/list.txt" 2>"$TMP/stderr"
check "html: one self-contained page, two pictures, 8 maps each" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ \"\$(ls $TMP/html)\" = list.html ] &&
    [ \$(grep -o 'data:image/png;base64,' $TMP/html/list.html | wc -l) = 2 ] && [ \$(grep -c '^{\"l\":' $TMP/html/list.html) = 16 ] &&
    ! grep -q 'src=\"http\|href=\"http' $TMP/html/list.html"

# --view matrix: the token x token heatmaps with the tokens named
"$MHAVIZ" run --model "$DEIT" --heads 1:0 --view matrix --format svg --svg-text --out "$TMP/mat" "$TMP/in/b.png"
check "--view matrix: head and layer heatmaps" "[ \"\$(ls $TMP/mat/b | tr '\\n' ' ')\" = 'L01-H00.svg L01.svg ' ] && [ \$(grep -c '<rect class=\"cell\"' $TMP/mat/b/L01-H00.svg) = 324 ]"
check "--view matrix: tokens [CLS] [DIST] r0c0 .. r3c3" "grep -q '>\[DIST\]</text>' $TMP/mat/b/L01-H00.svg && grep -q '>r3c3</text>' $TMP/mat/b/L01-H00.svg"
# DINOv2 with registers: [CLS], [REG0] .. [REG2], then the patches; the overlay's note
# gives the query's weight on each register
REG=tests/fixtures/fam-dinov2-reg-f32
"$MHAVIZ" run --model "$REG" --heads 0:1 --format json,svg --svg-text --out "$TMP/reg" "$TMP/in/b.png"
check "registers: tokens [CLS] [REG0] [REG1] [REG2] r0c0 .. r3c3" "perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>);
    my \$i = \$j->{images}[0]; my \$t = \$i->{tokens};
    exit !(@\$t == 20 && join(q( ), @\$t[0..4]) eq q([CLS] [REG0] [REG1] [REG2] r0c0) && \$i->{grid}{extra_tokens} == 4)' <$TMP/reg/b.json"
w=$(perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); printf "%.3f", $j->{images}[0]{attentions}[0]{weights}[0][3]' <"$TMP/reg/b.json")
check "registers: the overlay notes [REG2]'s weight ($w)" "grep -qF '[REG2] $w</text>' $TMP/reg/b/L00-H01.svg"
# SigLIP: no [CLS]; its attention-pooling head's probe is the default query (--query pool)

"$MHAVIZ" run --model "$SIG" --format png,json --heads 0:0 --out "$TMP/sig" "$TMP/in/b.png" 2>"$TMP/stderr"
check "siglip: the pooling head's figures by default" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ \"\$(ls $TMP/sig/b | tr '\\n' ' ')\" = 'pool-H00.png pool-H01.png pool-H02.png pool-H03.png pool.png ' ]"
check "siglip: json pool rows, one per head, sum to one over the 16 patches" "perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>);
    my \$p = \$j->{images}[0]{pool}; exit 1 unless @\$p == 4 && \$p->[3]{head} == 3;
    for my \$h (@\$p) { my \$w = \$h->{weights}; exit 2 unless @\$w == 16; my \$s = 0; \$s += \$_ for @\$w; exit 3 if abs(\$s - 1) > 1e-5 }
    exit 4 unless @{\$j->{images}[0]{attentions}} == 1' <$TMP/sig/b.json"
"$MHAVIZ" run --model "$SIG" --query 1,1 --heads 1:0 --out "$TMP/sig2" "$TMP/in/b.png"
check "siglip: --query ROW,COL draws the layers' heads" "[ \"\$(ls $TMP/sig2/b | tr '\\n' ' ')\" = 'L01-H00.png L01.png ' ]"
expect_fail "--query pool without a pooling head" 2 "--query pool: vit has no attention-pooling head" -- \
    "$MHAVIZ" run --model "$VIT" --query pool --out "$TMP/out" "$TMP/in/b.png"
expect_fail "--values on overlays" 2 "--values prints weights in matrix cells" -- \
    "$MHAVIZ" run --model "$VIT" --values --out "$TMP/out" "$TMP/in/b.png"
expect_fail "lines view on a vision model" 2 "--view lines is for text models" -- \
    "$MHAVIZ" run --model "$VIT" --view lines --out "$TMP/out" "$TMP/in/b.png"
# rank and ablate read sentences: an image model (no tokenizer) refused by name, not a crash
printf 'hello world\n' >"$TMP/in/s.txt"
expect_fail "rank on a vision model" 1 "rank is not available for vit (image) models yet: run is" -- \
    "$MHAVIZ" rank --model "$VIT" --from hello --to world "$TMP/in/s.txt"
expect_fail "ablate on a vision model" 1 "ablate is not available for vit (image) models yet: run is" -- \
    "$MHAVIZ" ablate --model "$VIT" --heads 0:0 "$TMP/in/s.txt"
finish
