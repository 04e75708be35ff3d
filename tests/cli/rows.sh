#!/usr/bin/env bash
# run --rows with every writer (issue 19): figures of the kept rows are rows x tokens maps
# whose cells are the same rows of the whole map's figure, titled with the rows; --aggregate
# over the kept rows (mean from the kept rows, rollout/flow cut from every row) equals the
# same rows of the whole run; pooling keeps the rows and says so in the figure's corner;
# rank scores equal the full run's while keeping only the --from rows.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }

M=samples/model
printf '苹果从树上掉下来，小明把它捡起来了。\nThe cat sat.\n' >"$TMP/s.txt"

# cells FILE: the fill of every matrix cell of an SVG figure, in drawing order (row-major)
cells() { grep -o 'class="cell" [^>]*fill="[^"]*"' "$1" | grep -o 'fill="[^"]*"'; }
# rows_of FULL N ROWS...: the cells of rows ROWS of an N-column figure FULL
rows_of() {
    local f=$1 n=$2
    shift 2
    cells "$f" >"$TMP/all.txt"
    for r in "$@"; do sed -n "$((r * n + 1)),$((r * n + n))p" "$TMP/all.txt"; done
}

"$MHAVIZ" run --model $M --heads 2:1,1:* --format svg --svg-text --out "$TMP/full" "$TMP/s.txt"
"$MHAVIZ" run --model $M --heads 2:1,1:* --rows 'word:它,-2' --format svg,png,pdf,json --svg-text \
    --out "$TMP/r" "$TMP/s.txt"
check "--rows with figures: every figure written" \
    "[ -f $TMP/r/s/L02-H01.svg ] && [ -f $TMP/r/s/L02-H01.png ] && [ -f $TMP/r/s/L02-H01.pdf ] && [ -f $TMP/r/s/L01.svg ] && [ -f $TMP/r/s/model.svg ] && [ -f $TMP/r/s-2/L01-H00.png ]"
# sentence 1: 20 tokens, 它 is token 13, the last two are 18 and 19
check "head figure: 3 x 20 cells" "[ \$(cells $TMP/r/s/L02-H01.svg | wc -l) = 60 ]"
check "head figure: the cells of rows 13, 18, 19 of the whole figure" \
    "[ \"\$(cells $TMP/r/s/L02-H01.svg)\" = \"\$(rows_of $TMP/full/s/L02-H01.svg 20 13 18 19)\" ]"
check "layer figure: 4 heads x 3 x 20 cells" "[ \$(cells $TMP/r/s/L01.svg | wc -l) = 240 ]"
check "model overview: 5 heads x 3 x 20 cells" "[ \$(cells $TMP/r/s/model.svg | wc -l) = 300 ]"
check "titles name the rows" \
    "grep -q '<title>samples/model — layer 2, head 1 — query rows 13, 18-19</title>' $TMP/r/s/L02-H01.svg && grep -q '<title>samples/model — layer 1 — query rows 13, 18-19</title>' $TMP/r/s/L01.svg && grep -q 'all captured heads — query rows 13, 18-19</title>' $TMP/r/s/model.svg"
check "row labels are the kept tokens" \
    "grep -q 'class=\"label\"[^>]*>它</text>' $TMP/r/s/L02-H01.svg && [ \$(grep -c 'class=\"label\"[^>]*>它</text>' $TMP/r/s/L02-H01.svg) = 2 ]"
check "the PNG is a short figure" \
    "perl -e 'open my \$f, \"<:raw\", \$ARGV[0] or die; read \$f, my \$h, 24; exit(unpack(\"N\", substr(\$h, 20, 4)) < 260 ? 0 : 1)' $TMP/r/s/L02-H01.png"
# sentence 2 has no 它: its last two tokens only
check "sentence 2: rows 4-5 only" "grep -q 'query rows 4-5</title>' $TMP/r/s-2/L01-H00.svg"

# decoder: the causal mask of kept rows (row 3 sees keys 0..3)
D=tests/fixtures/dec-gpt2-f32
printf '0 1 2 3 4 5 6 7\n' >"$TMP/ids.txt"
"$MHAVIZ" run --model $D --ids --heads 0:0 --format svg --out "$TMP/dfull" "$TMP/ids.txt"
"$MHAVIZ" run --model $D --ids --heads 0:0 --rows 3,7 --format svg --out "$TMP/drows" "$TMP/ids.txt"
check "decoder: kept rows masked as in the whole figure" \
    "[ \"\$(cells $TMP/drows/ids/L00-H00.svg)\" = \"\$(rows_of $TMP/dfull/ids/L00-H00.svg 8 3 7)\" ] && [ \$(grep -c 'class=\"cell\"' $TMP/drows/ids/L00-H00.svg) = 16 ]"

# --aggregate over the kept rows: the same rows of the whole run's aggregate
for kind in mean rollout flow; do
    "$MHAVIZ" run --model $M --aggregate $kind --format json --out "$TMP/a-$kind" "$TMP/s.txt"
    "$MHAVIZ" run --model $M --aggregate $kind --rows 'word:它,-2' --format json,png \
        --out "$TMP/b-$kind" "$TMP/s.txt"
    check "--aggregate $kind --rows: the kept rows of the whole aggregate" "perl -MJSON::PP -e '
        local \$/; open my \$a, \"<\", \$ARGV[0] or die; open my \$b, \"<\", \$ARGV[1] or die;
        my \$A = decode_json(<\$a>)->{sentences}[0]; my \$B = decode_json(<\$b>)->{sentences}[0];
        exit 1 unless \"@{\$B->{rows}}\" eq \"13 18 19\";
        for my \$l (0 .. \$#{\$A->{attentions}}) {
            my (\$x, \$y) = (\$A->{attentions}[\$l], \$B->{attentions}[\$l]);
            exit 2 unless \$y->{aggregate} eq \"$kind\" && @{\$y->{weights}} == 3;
            for my \$k (0 .. 2) { my \$r = \$B->{rows}[\$k];
                for my \$j (0 .. \$#{\$x->{weights}[\$r]}) {
                    exit 3 if abs(\$x->{weights}[\$r][\$j] - \$y->{weights}[\$k][\$j]) > 1e-6 } } }
        exit 0' $TMP/a-$kind/s.json $TMP/b-$kind/s.json"
    check "--aggregate $kind --rows: figures" "[ -f $TMP/b-$kind/s/L02-$kind.png ]"
done

# pooling: the note in the corner of the figure (and its metadata), kept rows stay rows
L="$TMP/long"
mkdir -p "$L"
cp tests/fixtures/dec-llama-f32/model.safetensors "$L/"
sed 's/"max_position_embeddings": 64/"max_position_embeddings": 4096/' \
    tests/fixtures/dec-llama-f32/config.json >"$L/config.json"
seq 0 999 | awk '{ printf "%s%d", (NR > 1 ? " " : ""), $1 % 500 } END { print "" }' >"$TMP/long.txt"
"$MHAVIZ" run --model "$L" --ids --heads 1:0 --max-pixels 800 --format svg --svg-text \
    --out "$TMP/p" "$TMP/long.txt"
check "pooled: the corner note drawn" \
    "grep -q '<text class=\"tick\"[^>]*>pooled 13x13-token blocks: max (tokens 0-999)</text>' $TMP/p/long/L01-H00.svg"
check "pooled: the note in the metadata too" "grep -q 'Comment: colormap viridis, scale fixed; pooled 13x13-token blocks: max' $TMP/p/long/L01-H00.svg"
"$MHAVIZ" run --model "$L" --ids --heads 1:0 --rows 500,-2 --max-pixels 800 --pool mean \
    --format svg,png --svg-text --out "$TMP/q" "$TMP/long.txt"
check "pooled rows: 3 rows x 77 key blocks" "[ \$(cells $TMP/q/long/L01-H00.svg | wc -l) = 231 ]"
check "pooled rows: corner says keys pooled" \
    "grep -q '>keys pooled in 13-token blocks: mean (tokens 0-999)</text>' $TMP/q/long/L01-H00.svg"
# row 500 sees key blocks 0..38 (block 38 starts at token 494), not 39.. (507..)
check "pooled rows: row 500 masked from key block 39 on" \
    "[ \"\$(cells $TMP/q/long/L01-H00.svg | sed -n '1,77p' | grep -c hatch)\" = 38 ] && ! cells $TMP/q/long/L01-H00.svg | sed -n '1,39p' | grep -q hatch && ! cells $TMP/q/long/L01-H00.svg | sed -n '78,\$p' | grep -q hatch"
"$MHAVIZ" run --model "$L" --ids --heads 1:0 --rows 500,-2 --window 490:520 --format svg \
    --svg-text --out "$TMP/w" "$TMP/long.txt"
check "--window with --rows: the kept rows inside it, 30 keys" "[ \$(cells $TMP/w/long/L01-H00.svg | wc -l) = 30 ] && grep -q 'query row 500</title>' $TMP/w/long/L01-H00.svg"
expect_fail "--window without a kept row" 1 "line 1: no --rows row lies in --window 10:20" -- \
    "$MHAVIZ" run --model "$L" --ids --heads 1:0 --rows last --window 10:20 --format png --out "$TMP/out" "$TMP/long.txt"

expect_fail "--rows with --view lines" 2 "--rows draws the matrix view only (not --view lines)" -- \
    "$MHAVIZ" run --model $M --rows last --view lines --format png --out "$TMP/out" "$TMP/s.txt"

# rank keeps only the --from rows: its scores are those of the whole maps (它 is token 13,
# 苹果 tokens 1-2: the score is the sum of row 13 over keys 1 and 2)
"$MHAVIZ" run --model $M --format json --out "$TMP/all" "$TMP/s.txt"
"$MHAVIZ" rank --model $M --from 它 --to 苹果 --top 0 --format json "$TMP/s.txt" >"$TMP/rank.json" 2>/dev/null
check "rank: every head's score from the whole map's row" "perl -MJSON::PP -e '
    local \$/; open my \$a, \"<\", \$ARGV[0] or die; open my \$b, \"<\", \$ARGV[1] or die;
    my \$A = decode_json(<\$a>)->{sentences}[0]{attentions}; my \$R = decode_json(<\$b>)->{heads};
    exit 1 unless @\$R == 16;
    for my \$h (@\$R) { my (\$x) = grep { \$_->{layer} == \$h->{layer} && \$_->{head} == \$h->{head} } @\$A;
        my \$s = \$x->{weights}[13][1] + \$x->{weights}[13][2];
        exit 2 if abs(\$s - \$h->{score}) > 1e-5 }
    exit 0' $TMP/all/s.json $TMP/rank.json"

# sentence pairs (run --pairs on an encoder) with --rows, --aggregate and safetensors: the
# kept rows of the whole pair run, the boundary drawn in the rows x tokens figures, the
# safetensors metadata carrying the token types and the boundary as the JSON does
B=tests/fixtures/bert-f32
printf 'The cat sat.\tIt was tired.\n' >"$TMP/pair.txt"
"$MHAVIZ" run --model $B --pairs --format json --out "$TMP/pa" "$TMP/pair.txt"
"$MHAVIZ" run --model $B --pairs --rows 2:8 --format svg,json,safetensors --out "$TMP/pb" "$TMP/pair.txt"
check "--pairs --rows: the kept rows of the whole run" "perl -MJSON::PP -e '
    local \$/; open my \$a, \"<\", \$ARGV[0] or die; open my \$b, \"<\", \$ARGV[1] or die;
    my \$A = decode_json(<\$a>)->{sentences}[0]; my \$B = decode_json(<\$b>)->{sentences}[0];
    exit 1 unless \"@{\$B->{rows}}\" eq \"2 3 4 5 6 7\" && \$B->{pair_boundary} == 6;
    for my \$k (0 .. \$#{\$A->{attentions}}) { for my \$r (0 .. 5) { for my \$j (0 .. 10) {
        exit 2 if abs(\$A->{attentions}[\$k]{weights}[\$r + 2][\$j] - \$B->{attentions}[\$k]{weights}[\$r][\$j]) > 1e-6 } } }
    exit 0' $TMP/pa/pair.json $TMP/pb/pair.json"
check "--pairs --rows: the boundary before row 6 and column 6 (white lines)" \
    "[ \$(grep -c 'class=\"highlight\"[^>]*fill=\"#ffffff\"' $TMP/pb/pair/L00-H00.svg) = 2 ]"
check "--pairs safetensors: token types and boundary in the metadata" "perl -MJSON::PP -e '
    local \$/; open my \$h, \"<:raw\", \$ARGV[0] or die; my \$all = <\$h>;
    my \$md = decode_json(substr(\$all, 8, unpack(\"Q<\", substr(\$all, 0, 8))))->{__metadata__};
    open my \$j, \"<\", \$ARGV[1] or die; my \$s = decode_json(<\$j>)->{sentences}[0];
    exit(\$md->{pair_boundary} == 6 && \$md->{token_type_ids} eq encode_json(\$s->{token_type_ids}) =~ s/,/, /gr ? 0 : 1)' $TMP/pb/pair.safetensors $TMP/pb/pair.json"
"$MHAVIZ" run --model $B --rows 2:8 --format safetensors --out "$TMP/pc" "$TMP/s.txt"
check "single sentences: no pair fields in the metadata" "! grep -q pair_boundary $TMP/pc/s.safetensors"
for kind in mean rollout; do
    "$MHAVIZ" run --model $B --pairs --aggregate $kind --format json --out "$TMP/pd-$kind" "$TMP/pair.txt"
    "$MHAVIZ" run --model $B --pairs --aggregate $kind --rows 2:8 --format json,png,safetensors \
        --out "$TMP/pe-$kind" "$TMP/pair.txt"
    check "--pairs --aggregate $kind --rows: the kept rows of the pair's aggregate" "perl -MJSON::PP -e '
        local \$/; open my \$a, \"<\", \$ARGV[0] or die; open my \$b, \"<\", \$ARGV[1] or die;
        my \$A = decode_json(<\$a>)->{sentences}[0]; my \$B = decode_json(<\$b>)->{sentences}[0];
        exit 1 unless \$B->{token_type_ids} && \$A->{attentions}[0]{aggregate} eq \"$kind\";
        for my \$l (0 .. 2) { for my \$r (0 .. 5) { for my \$j (0 .. 10) {
            exit 2 if abs(\$A->{attentions}[\$l]{weights}[\$r + 2][\$j] - \$B->{attentions}[\$l]{weights}[\$r][\$j]) > 1e-6 } } }
        exit 0' $TMP/pd-$kind/pair.json $TMP/pe-$kind/pair.json"
    check "--pairs --aggregate $kind: figures and safetensors" "[ -f $TMP/pe-$kind/pair/L02-$kind.png ] && [ -f $TMP/pe-$kind/pair.safetensors ]"
done
expect_fail "encoder-decoder: --aggregate refused by name" 2 "--aggregate rollout and flow are not available for encoder-decoder models (--aggregate mean is)" -- \
    "$MHAVIZ" run --model tests/fixtures/s2s-marian-f32 --ids --pairs --aggregate rollout --format json --out "$TMP/out" "$TMP/s.txt"

finish
