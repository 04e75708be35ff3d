#!/usr/bin/env bash
# EXIF orientation through `mhaviz run` on a vision model: a JPEG stored sideways with
# orientation 6 gives the same JSON (size, crop boxes, tokens, every attention weight) as the
# upright picture transformers' load_image makes of it (tests/gen/gen_exif_goldens.py saved
# it as a PNG), with ViT's square resize and with a shortest-edge resize + centre crop;
# EXIF that PIL refuses is refused in one line.
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

cp "$EX/png-exif-nottiff.png" "$EX/jpeg-nottiff-dpi.jpg" "$TMP/in/"
expect_fail "PNG EXIF without a TIFF header" 1 "png-exif-nottiff.png: unreadable EXIF: no TIFF header" -- \
    "$MHAVIZ" run --model "$VIT" --format json,png --out "$TMP/out" "$TMP/in/png-exif-nottiff.png"
expect_fail "JPEG EXIF without a TIFF header, JFIF with a dpi" 1 "jpeg-nottiff-dpi.jpg: unreadable EXIF: no TIFF header" -- \
    "$MHAVIZ" run --model "$VIT" --format json,png --out "$TMP/out" "$TMP/in/jpeg-nottiff-dpi.jpg"
finish
