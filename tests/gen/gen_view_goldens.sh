#!/usr/bin/env bash
# Regenerates tests/fixtures/views/*.png, the reference images of the line and row views
# that tests/cli/views.sh compares against (with tolerance: tests/cli/png_diff.pl).
# They are mhaviz's own drawings, checked by eye when made: they catch a change in the
# figures, not an error the drawing always had. What they show is checked independently by
# views.sh (the SVG's lines and bars against the JSON weights). Run from the repository
# root after a deliberate change to the figures:
#   MHAVIZ=build/mhaviz bash tests/gen/gen_view_goldens.sh
set -eu
MHAVIZ=${MHAVIZ:-build/mhaviz}
out=tests/fixtures/views
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$MHAVIZ" run --model tests/fixtures/bert-f32 --heads '1:*' --view lines --out "$tmp/lines" samples/sentence.txt
"$MHAVIZ" run --model tests/fixtures/bert-f32 --heads 1:2 --row 它 --values --cell 20 --out "$tmp/row" samples/sentence.txt
cp "$tmp/lines/sentence/L01.png" "$out/lines-L01.png"
cp "$tmp/lines/sentence/L01-H02.png" "$out/lines-L01-H02.png"
cp "$tmp/row/sentence/L01-H02.png" "$out/row-L01-H02.png"
