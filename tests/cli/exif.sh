#!/usr/bin/env bash
# EXIF orientation through `mhaviz run` on a vision model: a JPEG stored sideways with
# orientation 6 gives the same JSON (size, crop boxes, tokens, every attention weight) as the
# upright picture transformers' load_image makes of it (tests/gen/gen_exif_goldens.py saved
# it as a PNG), with ViT's square resize and with a shortest-edge resize + centre crop; the
# same JPEG through DINOv2 without a crop against transformers' own run of it (load_image,
# processor, model: tests/gen/gen_exif_e2e.py), whose patch grid is the upright image's (5x4,
# not the stored 4x5); EXIF that PIL refuses is refused in one line.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
VIT=tests/fixtures/fam-vit-f32          # 16x16 images, 4x4 patches, 2 layers x 4 heads
EX=tests/fixtures/images/exif
mkdir -p "$TMP/in" "$TMP/cropm"
cp "$EX/vision/sideways.jpg" "$EX/vision/upright.png" "$TMP/in/"
cp "$VIT"/* "$TMP/cropm/" && cp tests/fixtures/images/crop-bicubic/preprocessor_config.json "$TMP/cropm/"

# the two runs' JSON equal but for the image's path; the upright image is 20 wide, 29 tall
same_json() {
    perl -MJSON::PP -e '
        sub slurp { local $/; open(my $f, "<", $_[0]) or exit 9; decode_json(<$f>) }
        my ($a, $b) = (slurp($ARGV[0])->{images}[0], slurp($ARGV[1])->{images}[0]);
        exit 2 unless $a->{width} == 20 && $a->{height} == 29;
        delete $a->{path}; delete $b->{path};
        my $js = JSON::PP->new->canonical;
        exit 3 unless @{$a->{attentions}} == 8;
        exit !($js->encode($a) eq $js->encode($b))' "$1" "$2"
}
for m in "$VIT" "$TMP/cropm"; do
    rm -rf "$TMP/side" "$TMP/up"
    "$MHAVIZ" run --model "$m" --heads all --format json --out "$TMP/side" "$TMP/in/sideways.jpg" 2>"$TMP/stderr"
    check "$m: a JPEG with orientation 6 runs" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
    "$MHAVIZ" run --model "$m" --heads all --format json --out "$TMP/up" "$TMP/in/upright.png"
    check "$m: its attentions, size and crop boxes are the upright picture's" \
        "same_json $TMP/side/sideways.json $TMP/up/upright.json"
done
check "crop_in_image is in the upright image: 20x29, shortest edge 20 -> 20x29, centre 16x16" \
    "perl -MJSON::PP -e 'local \$/; my \$i = decode_json(<STDIN>)->{images}[0];
        exit !(join(q(,), @{\$i->{crop}}) eq q(2,6,16,16) && join(q(,), @{\$i->{crop_in_image}}) eq q(2,6,16,16))' <$TMP/side/sideways.json"

# end to end against transformers: every head's weights within the golden's tolerance
mkdir -p "$TMP/dvnc" && cp tests/fixtures/fam-dinov2-interp-f32/* "$TMP/dvnc/" &&
    cp tests/fixtures/images/dinov2-noncrop/preprocessor_config.json "$TMP/dvnc/"
"$MHAVIZ" run --model "$TMP/dvnc" --heads all --format json --out "$TMP/dv" "$TMP/in/sideways.jpg" 2>"$TMP/stderr"
check "dinov2 on the sideways JPEG: a 5x4 grid, the weights transformers gives" "[ $? = 0 ] && [ ! -s $TMP/stderr ] &&
    perl -MJSON::PP -e 'local \$/; open(my \$g, q(<), \$ARGV[0]) or exit 9; my \$c = decode_json(<\$g>)->{cases}[0];
        open(my \$f, q(<), \$ARGV[1]) or exit 7; my \$im = decode_json(<\$f>)->{images}[0];
        my (\$h, \$w) = @{\$c->{pixels_hw}}; my \$n = scalar @{\$c->{attentions}[0][0]};
        exit 6 unless \$im->{width} == 20 && \$im->{height} == 29 && \$im->{crop}[2] == \$w && \$im->{crop}[3] == \$h
            && \$im->{grid}{rows} == 5 && \$im->{grid}{cols} == 4 && @{\$im->{tokens}} == \$n;
        my (\$worst, \$maps) = (0, 0);
        for my \$a (@{\$im->{attentions}}) { my \$want = \$c->{attentions}[\$a->{layer}][\$a->{head}]; \$maps++;
            for my \$i (0..\$n-1) { for my \$j (0..\$n-1) { my \$d = abs(\$a->{weights}[\$i][\$j] - \$want->[\$i][\$j]); \$worst = \$d if \$d > \$worst } } }
        printf STDERR qq(dinov2-sideways: %d maps, worst %.3g (tolerance %.3g)\n), \$maps, \$worst, \$c->{tolerance};
        exit !(\$maps == 8 && \$worst <= \$c->{tolerance})' $EX/vision/e2e.json $TMP/dv/sideways.json"

cp "$EX/png-exif-nottiff.png" "$EX/jpeg-nottiff-dpi.jpg" "$TMP/in/"
expect_fail "PNG EXIF without a TIFF header" 1 "png-exif-nottiff.png: unreadable EXIF: no TIFF header" -- \
    "$MHAVIZ" run --model "$VIT" --format json,png --out "$TMP/out" "$TMP/in/png-exif-nottiff.png"
expect_fail "JPEG EXIF without a TIFF header, JFIF with a dpi" 1 "jpeg-nottiff-dpi.jpg: unreadable EXIF: no TIFF header" -- \
    "$MHAVIZ" run --model "$VIT" --format json,png --out "$TMP/out" "$TMP/in/jpeg-nottiff-dpi.jpg"
finish
