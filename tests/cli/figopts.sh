#!/usr/bin/env bash
# Figure control in every command that draws (run, rank --render, stats --format png):
# titles (default: the model directory, never config.json's _name_or_path; --model-name,
# --title, --no-title), --dpi, --colormap, --font-size, --values too small said on stderr,
# thinned labels with a corner note, and the options refused where they mean nothing.
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/bert-f32   # 3 layers, 4 heads
check() { if eval "$2"; then ok; else bad "$1"; fi; }
png_w() { od -An -tu1 -j16 -N4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'; }
S=samples/sentence.txt

# a fine-tuned model keeps its parent's _name_or_path: the title names the directory
cp -r "$FIX" "$TMP/all-MiniLM-L6-v2"
perl -0pi -e 's/\{/{"_name_or_path": "nreimers\/MiniLM-L6-H384-uncased", /' "$TMP/all-MiniLM-L6-v2/config.json"
"$MHAVIZ" run --model "$TMP/all-MiniLM-L6-v2" --heads 1:2 --format svg --out "$TMP/a" $S
check "title names the directory" "grep -q '<title>all-MiniLM-L6-v2 — layer 1, head 2</title>' $TMP/a/sentence/L01-H02.svg && ! grep -q nreimers $TMP/a/sentence/L01-H02.svg"
"$MHAVIZ" run --model "$TMP/all-MiniLM-L6-v2" --heads 1:2 --format svg --model-name 'MiniLM (ft)' --out "$TMP/b" $S
check "--model-name" "grep -q '<title>MiniLM (ft) — layer 1, head 2</title>' $TMP/b/sentence/L01-H02.svg && grep -q '<title>MiniLM (ft) — layer 1</title>' $TMP/b/sentence/L01.svg"
"$MHAVIZ" run --model "$FIX" --heads 1:2 --format svg --title 'Figure 3: a head' --out "$TMP/c" $S
check "--title on every figure" "grep -q '<title>Figure 3: a head</title>' $TMP/c/sentence/L01-H02.svg && grep -q '<title>Figure 3: a head</title>' $TMP/c/sentence/L01.svg && [ \$(grep -c '<g class=\"title\"' $TMP/c/sentence/L01-H02.svg) = 1 ]"
"$MHAVIZ" run --model "$FIX" --heads 1:2 --format svg,png --no-title --out "$TMP/d" $S
"$MHAVIZ" run --model "$FIX" --heads 1:2 --format png --out "$TMP/e" $S
check "--no-title: no title line, a shorter figure" "[ \$(grep -c '<g class=\"title\"' $TMP/d/sentence/L01-H02.svg) = 0 ] && [ \$(od -An -tu1 -j20 -N4 $TMP/d/sentence/L01-H02.png | awk '{print \$3 * 256 + \$4}') -lt \$(od -An -tu1 -j20 -N4 $TMP/e/sentence/L01-H02.png | awk '{print \$3 * 256 + \$4}') ]"
"$MHAVIZ" run --model "$FIX" --heads 1:2 --format png --font-size 20 --out "$TMP/f" $S
check "--font-size 20: wider label column" "[ \$(png_w $TMP/f/sentence/L01-H02.png) -gt \$(png_w $TMP/e/sentence/L01-H02.png) ]"
expect_fail title-control 2 "--title holds a control character" -- "$MHAVIZ" run --model "$FIX" --title "$(printf 'a\tb')" --out "$TMP/out" $S
expect_fail font-size 2 "--font-size '3' is not a whole number from 4 to 72" -- "$MHAVIZ" run --model "$FIX" --font-size 3 --out "$TMP/out" $S

# --values where cells are too small: said once on stderr, with the --cell that works
"$MHAVIZ" run --model "$FIX" --heads 1:2 --values --cell 12 --out "$TMP/g" $S 2>"$TMP/stderr"
check "--values too small warns" "[ $? = 0 ] && [ \$(wc -l <$TMP/stderr) = 1 ] && grep -q 'warning: --values: cells of 12 px are too small to print the weights; use --cell 18 or more' $TMP/stderr"
"$MHAVIZ" run --model "$FIX" --heads 1:2 --values --out "$TMP/h" $S 2>"$TMP/stderr"
check "--values with room: silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"

# labels that do not fit are thinned, and the figure says so
"$MHAVIZ" run --model "$FIX" --heads 1:2 --format svg --cell 4 --out "$TMP/i" $S
f=$TMP/i/sentence/L01-H02.svg
check "thinned labels with a corner note" "grep -q '<title>labels: every 2nd token' $f && [ \$(grep -c '<g class=\"label\"' $f) = 20 ]"
"$MHAVIZ" run --model "$FIX" --heads 1:2 --format svg --out "$TMP/j" $S
check "labels that fit are all drawn, no note" "[ \$(grep -c '<g class=\"label\"' $TMP/j/sentence/L01-H02.svg) = 40 ] && ! grep -q 'labels: every' $TMP/j/sentence/L01-H02.svg"

# rank --render takes the figure options
"$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --top 1 --render --render-format png,svg --dpi 192 \
    --colormap magma --title 'T' --out "$TMP/k" $S >/dev/null 2>"$TMP/stderr"
f=$(ls "$TMP"/k/sentence/*.svg | head -1)
check "rank --render: colormap, title, dpi" "[ ! -s $TMP/stderr ] && grep -q 'colormap magma' $f && grep -q '<title>T</title>' $f && [ \$(png_w \${f%.svg}.png) -gt 1000 ]"
"$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --top 1 --render --values --cell 10 --out "$TMP/k2" $S >/dev/null 2>"$TMP/stderr"
check "rank --render --values too small warns" "[ \$(wc -l <$TMP/stderr) = 1 ] && grep -q 'use --cell 18 or more' $TMP/stderr"
expect_fail rank-fig-needs-render 2 "--colormap is for --render's figures" -- "$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --colormap magma $S

# stats --format png takes them too
"$MHAVIZ" stats --model "$FIX" --format png --out "$TMP/s1.png" $S
"$MHAVIZ" stats --model "$FIX" --format png --dpi 192 --colormap magma --title 'Heads' --out "$TMP/s2.png" $S
check "stats --dpi 192 doubles the figure" "[ \$(png_w $TMP/s2.png) -ge \$((2 * \$(png_w $TMP/s1.png) - 2)) ] && [ \$(png_w $TMP/s2.png) -le \$((2 * \$(png_w $TMP/s1.png) + 2)) ]"
check "stats --title" "grep -qa 'Heads' $TMP/s2.png && ! grep -qa 'mhaviz stats:' $TMP/s2.png"
"$MHAVIZ" stats --model "$FIX" --format png --values --cell 12 --out "$TMP/s3.png" $S 2>"$TMP/stderr"
check "stats --values too small warns" "grep -q 'use --cell 22 or more' $TMP/stderr"
expect_fail stats-fig-needs-png 2 "--colormap is for --format png" -- "$MHAVIZ" stats --model "$FIX" --colormap magma $S
expect_fail stats-no-view 2 "--view is not for stats figures" -- "$MHAVIZ" stats --model "$FIX" --format png --view lines --out "$TMP/out/x.png" $S
finish
