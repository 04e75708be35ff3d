#!/usr/bin/env bash
# Figures from `run`: file names, formats, options, and no partial output when a run fails.
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/bert-f32   # 3 layers, 4 heads
printf '苹果从树上掉下来，小明把它捡起来了。\n\n我喜欢GPT-4。\n' >"$TMP/two.txt"

check() { if eval "$2"; then ok; else bad "$1"; fi; }
is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }
listing() { (cd "$1" && ls | tr '\n' ' '); }

all_heads="L00-H00 L00-H01 L00-H02 L00-H03 L00 L01-H00 L01-H01 L01-H02 L01-H03 L01 L02-H00 L02-H01 L02-H02 L02-H03 L02 model"
want_png=$(for f in $all_heads; do echo "$f.png"; done | sort | tr '\n' ' ')

# PNG is the default format: one directory per sentence, every figure, nothing else
"$MHAVIZ" run --model "$FIX" --out "$TMP/out" "$TMP/two.txt" >"$TMP/stdout" 2>"$TMP/stderr"
check "default run exit 0" "[ $? = 0 ]"
check "default run silent" "[ ! -s $TMP/stdout ] && [ ! -s $TMP/stderr ]"
check "one directory per sentence" "[ \"\$(listing $TMP/out)\" = 'two two-2 ' ]"
check "every head, layer and model figure" "[ \"\$(listing $TMP/out/two)\" = \"$want_png\" ]"
check "second sentence too" "[ \"\$(listing $TMP/out/two-2)\" = \"$want_png\" ]"
bad_png=0
for f in "$TMP"/out/two/*.png; do is_png "$f" || bad_png=1; done
check "files are PNG" "[ $bad_png = 0 ]"
check "no temporary files left" "! ls -a $TMP/out/two | grep -q tmp"

# one head: its figure and its layer's grid, no overview for a single layer
rm -rf "$TMP/out"
"$MHAVIZ" run --model "$FIX" --heads 1:2 --out "$TMP/out" - <"$TMP/two.txt"
check "single head files" "[ \"\$(listing $TMP/out/stdin)\" = 'L01-H02.png L01.png ' ]"

# svg and json together, with every figure option
rm -rf "$TMP/out"
"$MHAVIZ" run --model "$FIX" --heads '0:*,2:1' --format svg,json --colormap magma --scale row \
    --cell 24 --values --dpi 150 --out "$TMP/out" "$TMP/two.txt" 2>"$TMP/stderr"
check "svg+json exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
check "svg+json files" "[ \"\$(listing $TMP/out)\" = 'two two-2 two.json ' ]"
check "svg names" "[ \"\$(listing $TMP/out/two)\" = 'L00-H00.svg L00-H01.svg L00-H02.svg L00-H03.svg L00.svg L02-H01.svg L02.svg model.svg ' ]"
check "svg is vector" "grep -q '<svg xmlns=\"http://www.w3.org/2000/svg\"' $TMP/out/two/L00-H00.svg && ! grep -q '<image' $TMP/out/two/L00-H00.svg && ! grep -q '<text' $TMP/out/two/L00-H00.svg"
check "svg has cells and glyphs" "[ \$(grep -c '<rect class=\"cell\"' $TMP/out/two/L00-H00.svg) = 400 ] && grep -q '<g class=\"label\"' $TMP/out/two/L00-H00.svg"

# same input, same bytes
rm -rf "$TMP/out" "$TMP/out2"
"$MHAVIZ" run --model "$FIX" --heads 2:3 --out "$TMP/out" "$TMP/two.txt"
"$MHAVIZ" run --model "$FIX" --heads 2:3 --out "$TMP/out2" "$TMP/two.txt"
check "deterministic PNG" "cmp -s $TMP/out/two/L02-H03.png $TMP/out2/two/L02-H03.png"
check "sentence recorded in iTXt" "grep -qa 'iTXtSentence' $TMP/out/two/L02-H03.png"
rm -rf "$TMP/out2"

# usage errors write nothing
expect_fail bad-format 2 "--format 'gif' is not supported (png, svg, pdf, json, html, safetensors)" -- "$MHAVIZ" run --model "$FIX" --format png,gif --out "$TMP/out" "$TMP/two.txt"
expect_fail empty-format 2 "--format needs at least one" -- "$MHAVIZ" run --model "$FIX" --format '' --out "$TMP/out" "$TMP/two.txt"
expect_fail bad-colormap 2 "unknown colormap 'jet'" -- "$MHAVIZ" run --model "$FIX" --colormap jet --out "$TMP/out" "$TMP/two.txt"
expect_fail bad-scale 2 "unknown scale 'log'" -- "$MHAVIZ" run --model "$FIX" --scale log --out "$TMP/out" "$TMP/two.txt"
expect_fail bad-cell 2 "--cell '0' is not a whole number from 2 to 200" -- "$MHAVIZ" run --model "$FIX" --cell 0 --out "$TMP/out" "$TMP/two.txt"
expect_fail bad-dpi 2 "--dpi '72x'" -- "$MHAVIZ" run --model "$FIX" --dpi 72x --out "$TMP/out" "$TMP/two.txt"

# fonts: a font asked for that is missing is an error, never a silent fallback
expect_fail font-missing 1 "/nonexistent/font.ttf: cannot open font" -- "$MHAVIZ" run --model "$FIX" --font /nonexistent/font.ttf --out "$TMP/out" "$TMP/two.txt"
expect_fail font-not-a-font 1 "not a TrueType/OpenType font" -- "$MHAVIZ" run --model "$FIX" --font "$TMP/two.txt" --out "$TMP/out" "$TMP/two.txt"
expect_fail env-font-missing 1 "MHAVIZ_FONT: cannot open font" -- env MHAVIZ_FONT=/nonexistent/font.ttf "$MHAVIZ" run --model "$FIX" --out "$TMP/out" "$TMP/two.txt"
rm -rf "$TMP/out"
MHAVIZ_FONT=/nonexistent/font.ttf "$MHAVIZ" run --model "$FIX" --format json --out "$TMP/out" "$TMP/two.txt"
check "json needs no font" "[ $? = 0 ] && [ -s $TMP/out/two.json ]"

# a character no font has: drawn as a box, named once on stderr, the run succeeds
cp -r "$FIX" "$TMP/model"
sed -i '$ s/.*/\xF0\x93\x80\x80/' "$TMP/model/vocab.txt" # U+13000 replaces the last piece
printf '[CLS] \xF0\x93\x80\x80 苹 \xF0\x93\x80\x80 [SEP]\n' >"$TMP/glyph.txt"
rm -rf "$TMP/out"
"$MHAVIZ" run --model "$TMP/model" --pretokenized --heads '0:0,1:0' --format png,svg --out "$TMP/out" "$TMP/glyph.txt" 2>"$TMP/stderr"
check "missing glyph run exit 0" "[ $? = 0 ] && [ -s $TMP/out/glyph/L00-H00.png ]"
check "missing glyph reported once" "[ \"\$(cat $TMP/stderr)\" = 'mhaviz: warning: no font has U+13000; drawn as boxes (see --font and fonts/README.md)' ]"

# a decoder without tokenizer files: causal maps labelled by ids, GQA group in the title
echo "1 203 207 261 178 195 260 211" >"$TMP/ids.txt"
rm -rf "$TMP/out"
"$MHAVIZ" run --model tests/fixtures/dec-llama-f16-gqa4-llama3 --ids --heads '1:7' --format png,svg --out "$TMP/out" "$TMP/ids.txt" 2>"$TMP/stderr"
check "decoder figures" "[ $? = 0 ] && [ \"\$(listing $TMP/out/ids)\" = 'L01-H07.png L01-H07.svg L01.png L01.svg ' ]"
check "decoder masked cells" "[ \$(grep -c 'url(#hatch' $TMP/out/ids/L01-H07.svg) = 28 ]"
check "decoder kv head in title" "grep -q '<title>dec-llama-f16-gqa4-llama3 .* layer 1, head 7 (kv head 1)</title>' $TMP/out/ids/L01-H07.svg"

# a failure after figures were written takes them all back: the second line holds a piece
# the vocabulary has and the model has no embedding for, found by the forward pass
rm -rf "$TMP/out" "$TMP/m"
mkdir -p "$TMP/out"
: >"$TMP/out/late-2"
cp -r "$FIX" "$TMP/m"; perl -e 'print "p$_\n" for 1..1000' >>"$TMP/m/vocab.txt"
printf '[CLS] [SEP]\n[CLS] p1000 [SEP]\n' >"$TMP/late.txt"
"$MHAVIZ" run --model "$TMP/m" --pretokenized --format png,svg,json --out "$TMP/out" "$TMP/late.txt" >"$TMP/stdout" 2>"$TMP/stderr"
check "late failure exit 2" "[ $? = 2 ] && grep -q '^mhaviz: .*late.txt: line 2: token id 1428 outside' $TMP/stderr && [ \$(wc -l <$TMP/stderr) = 1 ]"
check "late failure leaves only what was there" "[ \"\$(ls -A $TMP/out | tr '\\n' ' ')\" = 'late-2 ' ]"
rm -rf "$TMP/out"
expect_fail too-large 2 "$TMP/out/two: figure of" -- "$MHAVIZ" run --model "$FIX" --cell 200 --dpi 1200 --out "$TMP/out" "$TMP/two.txt"
finish
