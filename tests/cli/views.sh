#!/usr/bin/env bash
# The line view (--view lines) and the row view (--row WORD, rank --render --view row): what
# they draw checked against the JSON weights of the same run (one <line> per weight above
# --min-weight; bar heights proportional to the word's row), the pictures against reference
# images with a tolerant pixel comparison (tests/fixtures/views, tests/gen/gen_view_goldens.sh);
# PDF output (fonts embedded, the page renders like the PNG) and SVG --svg-text.
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/bert-f32   # 3 layers, 4 heads
here=$(dirname "$0")
check() { if eval "$2"; then ok; else bad "$1"; fi; }
listing() { (cd "$1" && ls -A | tr '\n' ' '); }
S=samples/sentence.txt

# count of weights of layer L head H in JSON J at or above W (masked zeros never count)
count_ge() {
    perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); my $n = 0;
        for my $a (@{$j->{sentences}[0]{attentions}}) {
            next unless $a->{layer} == $ARGV[0] && ($ARGV[1] < 0 || $a->{head} == $ARGV[1]);
            for my $r (@{$a->{weights}}) { $n += ($_ >= $ARGV[2] && $_ > 0) for @$r } }
        print $n' "$2" "$3" "$4" <"$1"
}

"$MHAVIZ" run --model "$FIX" --heads '1:*' --view lines --format png,svg,json --out "$TMP/l" $S 2>"$TMP/stderr"
check "lines exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
check "lines files: heads and the layer, no overview" "[ \"\$(listing $TMP/l/sentence)\" = 'L01-H00.png L01-H00.svg L01-H01.png L01-H01.svg L01-H02.png L01-H02.svg L01-H03.png L01-H03.svg L01.png L01.svg ' ]"
n_svg=$(grep -c '<line class="link"' "$TMP/l/sentence/L01-H02.svg")
lo=$(count_ge "$TMP/l/sentence.json" 1 2 0.0201); hi=$(count_ge "$TMP/l/sentence.json" 1 2 0.0199)
check "one line per weight >= 0.02 ($n_svg, json $lo..$hi)" "[ $n_svg -ge $lo ] && [ $n_svg -le $hi ] && [ $n_svg -gt 20 ]"
n_all=$(grep -c '<line class="link"' "$TMP/l/sentence/L01.svg")
lo=$(count_ge "$TMP/l/sentence.json" 1 -1 0.0201); hi=$(count_ge "$TMP/l/sentence.json" 1 -1 0.0199)
check "the layer overlays its four heads ($n_all, json $lo..$hi)" "[ $n_all -ge $lo ] && [ $n_all -le $hi ]"
check "overlaid heads in four colours" "[ \$(grep -o '<line class=\"link\"[^>]*stroke=\"#[0-9a-f]*\"' $TMP/l/sentence/L01.svg | grep -o 'stroke=\"#[0-9a-f]*\"' | sort -u | wc -l) = 4 ]"
check "width grows with the weight" "grep -q 'stroke-width=\"3.2\"' $TMP/l/sentence/L01-H02.svg || perl -ne '\$m = \$1 if /class=\"link\".*stroke-width=\"([0-9.]+)\"/ && \$1 > \$m; END { exit(\$m > 1.5 ? 0 : 1) }' $TMP/l/sentence/L01-H02.svg"
"$MHAVIZ" run --model "$FIX" --heads 1:2 --view lines --min-weight 0.1 --format svg,json --out "$TMP/l2" $S
n_svg=$(grep -c '<line class="link"' "$TMP/l2/sentence/L01-H02.svg")
lo=$(count_ge "$TMP/l2/sentence.json" 1 2 0.1001); hi=$(count_ge "$TMP/l2/sentence.json" 1 2 0.0999)
check "--min-weight 0.1 drops faint lines ($n_svg, json $lo..$hi)" "[ $n_svg -ge $lo ] && [ $n_svg -le $hi ]"
for g in lines-L01 lines-L01-H02; do
    f=${g#lines-}
    check "$g like the reference image ($(perl $here/png_diff.pl $TMP/l/sentence/$f.png tests/fixtures/views/$g.png 2>&1))" \
        "perl $here/png_diff.pl $TMP/l/sentence/$f.png tests/fixtures/views/$g.png >/dev/null"
done

# a decoder: no line to a later key
"$MHAVIZ" run --model tests/fixtures/dec-gpt2-f32 --ids --heads 0:0 --view lines --min-weight 0 --format svg,json --out "$TMP/d" - <<<'5 9 13 2 7 1'
n_svg=$(grep -c '<line class="link"' "$TMP/d/stdin/L00-H00.svg")
check "decoder lines: the lower triangle only ($n_svg)" "[ $n_svg = \$(count_ge $TMP/d/stdin.json 0 0 0.000001) ] && [ $n_svg -le 21 ]"

# the row view: the bars are the word's row of the JSON
"$MHAVIZ" run --model "$FIX" --heads 1:2 --row 它 --values --cell 20 --format png,svg,json --out "$TMP/r" $S 2>"$TMP/stderr"
check "row exit 0, silent, head figures only" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ \"\$(listing $TMP/r/sentence)\" = 'L01-H02.png L01-H02.svg ' ]"
check "bars are 它's row (token 13)" "perl -MJSON::PP -e 'local \$/; open(my \$h, \"<\", \$ARGV[0]); my \$j = decode_json(<\$h>); open(\$h, \"<\", \$ARGV[1]); my \$s = <\$h>;
    my @h = \$s =~ /<rect class=\"bar\"[^>]*height=\"([0-9.]+)\"/g; my (\$a) = grep { \$_->{layer} == 1 && \$_->{head} == 2 } @{\$j->{sentences}[0]{attentions}};
    my \$row = \$a->{weights}[13]; exit 1 unless @h == @\$row; for my \$k (0..\$#h) { exit 1 if abs(\$h[\$k] - 180 * \$row->[\$k]) > 0.011 } exit 0' $TMP/r/sentence.json $TMP/r/sentence/L01-H02.svg"
check "row title names the word" "grep -q '<title>bert-f32 — layer 1, head 2 — attention of 它</title>' $TMP/r/sentence/L01-H02.svg"
check "row like the reference image ($(perl $here/png_diff.pl $TMP/r/sentence/L01-H02.png tests/fixtures/views/row-L01-H02.png 2>&1))" \
    "perl $here/png_diff.pl $TMP/r/sentence/L01-H02.png tests/fixtures/views/row-L01-H02.png >/dev/null"
printf '苹果从树上掉下来。\n小明把它捡起来了。\n' >"$TMP/two.txt"
"$MHAVIZ" run --model "$FIX" --heads 0:0 --row 它 --out "$TMP/r2" "$TMP/two.txt" 2>"$TMP/stderr"
check "--row skips sentences without the word, once on stderr" "[ $? = 0 ] && [ \"\$(listing $TMP/r2)\" = 'two-2 ' ] && [ \$(wc -l <$TMP/stderr) = 1 ] && grep -q \"warning: --row '它' does not occur in 1 of 2 sentences\" $TMP/stderr"
# rank --render --view row: --from's row, --to's bars coloured
"$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --top 1 --render --render-format svg --view row --out "$TMP/k" $S >/dev/null 2>"$TMP/stderr"
f=$(ls "$TMP"/k/sentence/*.svg 2>/dev/null | head -1)
check "rank --render --view row" "[ -n '$f' ] && [ \$(grep -c '<rect class=\"bar\"[^>]*fill=\"#dd8452\"' $f) = 2 ] && grep -q 'attention of 它 → 苹果' $f"
expect_fail view-row-needs-word 2 "--view row needs --row WORD" -- "$MHAVIZ" run --model "$FIX" --view row --out "$TMP/out" $S
expect_fail bad-view 2 "unknown view 'arcs'" -- "$MHAVIZ" run --model "$FIX" --view arcs --out "$TMP/out" $S
expect_fail bad-min-weight 2 "--min-weight '2' is not a number from 0 to 1" -- "$MHAVIZ" run --model "$FIX" --view lines --min-weight 2 --out "$TMP/out" $S

# PDF: vector, fonts embedded, renders like the PNG
"$MHAVIZ" run --model "$FIX" --heads 1:2 --format png,pdf --out "$TMP/p" $S 2>"$TMP/stderr"
check "pdf beside png" "[ $? = 0 ] && [ \"\$(listing $TMP/p/sentence)\" = 'L01-H02.pdf L01-H02.png L01.pdf L01.png ' ] && head -c 8 $TMP/p/sentence/L01.pdf | grep -q '%PDF-1.4'"
check "pdf has no raster image" "! grep -aq '/Subtype /Image' $TMP/p/sentence/L01-H02.pdf"
if command -v pdffonts >/dev/null && command -v pdftoppm >/dev/null; then
    pdffonts "$TMP/p/sentence/L01-H02.pdf" >"$TMP/fonts" 2>&1
    check "pdffonts: every font embedded, with a Unicode map" "[ \$(tail -n +3 $TMP/fonts | wc -l) -ge 1 ] && tail -n +3 $TMP/fonts | awk '{ if (\$(NF-4) != \"yes\" || \$(NF-2) != \"yes\") bad = 1 } END { exit bad }'"
    check "pdffonts names the label fonts" "grep -q 'DejaVuSans' $TMP/fonts"
    check "pdf text extracts" "pdftotext $TMP/p/sentence/L01-H02.pdf - | grep -q 'bert-f32 — layer 1, head 2'"
    pdftoppm -r 96 -png "$TMP/p/sentence/L01-H02.pdf" "$TMP/p/page" 2>"$TMP/stderr"
    check "pdftoppm renders the page like the PNG ($(perl $here/png_diff.pl $TMP/p/page-1.png $TMP/p/sentence/L01-H02.png 0.02 2>&1))" \
        "[ ! -s $TMP/stderr ] && perl $here/png_diff.pl $TMP/p/page-1.png $TMP/p/sentence/L01-H02.png 0.02 >/dev/null"
    "$MHAVIZ" run --model "$FIX" --heads 1:2 --view lines --format png,pdf --dpi 192 --out "$TMP/p2" $S
    pdftoppm -r 192 -png "$TMP/p2/sentence/L01-H02.pdf" "$TMP/p2/page" 2>"$TMP/stderr"
    check "pdf lines view at --dpi 192 renders like the PNG ($(perl $here/png_diff.pl $TMP/p2/page-1.png $TMP/p2/sentence/L01-H02.png 0.03 2>&1))" \
        "perl $here/png_diff.pl $TMP/p2/page-1.png $TMP/p2/sentence/L01-H02.png 0.03 >/dev/null"
else
    echo "skipped: PDF checks with pdffonts/pdftoppm (poppler-utils not installed)"
fi

# SVG --svg-text: labels as text naming the fonts, no glyph outlines
"$MHAVIZ" run --model "$FIX" --heads 1:2 --format svg --svg-text --out "$TMP/t" $S
f=$TMP/t/sentence/L01-H02.svg
check "--svg-text: <text> with the fonts named" "[ \$(grep -c '<text class=\"label\"' $f) = 40 ] && grep -q \"font-family=\\\"'[A-Za-z]\" $f && grep -q '>它</text>' $f"
check "--svg-text: no outlines" "! grep -q '<path d=' $f"
finish
