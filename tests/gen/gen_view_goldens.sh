#!/usr/bin/env bash
# Regenerates tests/fixtures/views/*.png, the reference images of the line and row views
# and of the vision overlays
# that tests/cli/views.sh and vision.sh compare against (with tolerance: tests/cli/png_diff.pl).
# They are mhaviz's own drawings, checked by eye when made: they catch a change in the
# figures, not an error the drawing always had. What they show is checked independently by
# views.sh (the SVG's lines and bars against the JSON weights). Run from the repository
# root after a deliberate change to the figures:
#   MHAVIZ=build/mhaviz bash tests/gen/gen_view_goldens.sh
#
# Pinned so that a rerun reproduces the committed bytes: the reference (scalar) kernel table,
# whatever the CPU (the AVX2 table rounds the last bits of some weights otherwise, which moves
# a line's opacity by one level in a few pixels of lines-L01.png; AVX-512 happens to agree
# with scalar today, but nothing promises it), and the label fonts in the order fontconfig
# picks them on Debian 12 (DejaVu Sans, then WenQuanYi Micro Hei for the Chinese), as
# `make deps` installs them. Not pinned, as they are the system's: stb_truetype's
# rasteriser, libm, libpng and zlib (the compressed bytes); another version of one of them
# can give other bytes of the same picture, which the tolerant comparison accepts.
set -eu
MHAVIZ=${MHAVIZ:-build/mhaviz}
export MHAVIZ_KERNEL=scalar
export MHAVIZ_FONT=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
font=(--font /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf)
out=tests/fixtures/views
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$MHAVIZ" run "${font[@]}" --model tests/fixtures/bert-f32 --heads '1:*' --view lines --out "$tmp/lines" samples/sentence.txt
"$MHAVIZ" run "${font[@]}" --model tests/fixtures/bert-f32 --heads 1:2 --row 它 --values --cell 20 --out "$tmp/row" samples/sentence.txt
cp "$tmp/lines/sentence/L01.png" "$out/lines-L01.png"
cp "$tmp/lines/sentence/L01-H02.png" "$out/lines-L01-H02.png"
cp "$tmp/row/sentence/L01-H02.png" "$out/row-L01-H02.png"
# the vision overlays: a head's figure with the query patch framed, and its layer's grid
"$MHAVIZ" run "${font[@]}" --model tests/fixtures/fam-vit-f32 --heads '1:*' --query 2,1 --out "$tmp/ov" tests/fixtures/images/rgb-37x23.png
cp "$tmp/ov/rgb-37x23/L01-H02.png" "$out/overlay-L01-H02.png"
cp "$tmp/ov/rgb-37x23/L01.png" "$out/overlay-L01.png"
# and the model's figure: every head of every layer
"$MHAVIZ" run "${font[@]}" --model tests/fixtures/fam-vit-f32 --out "$tmp/ovm" tests/fixtures/images/rgb-37x23.png
cp "$tmp/ovm/rgb-37x23/model.png" "$out/overlay-model.png"
