#!/usr/bin/env bash
# Encoder-decoder models under the options every text model takes: --max-memory (the
# estimate covers both stacks and the cross maps, refused before anything runs) and
# --max-pixels (each side's tokens pooled in blocks: encoder, decoder and cross figures)
# and --rows (the encoder's rows are source tokens, the decoder's and the cross-attention's
# target tokens: every writer keeps those rows of the full run's maps).
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
T5=tests/fixtures/s2s-t5-f32   # 2 encoder and 3 decoder layers of 4 heads

# 512 source and 256 target tokens: the maps of every head are encoder 2x4x512x512, decoder
# 3x4x256x256 and cross 3x4x256x512 floats: 8 + 3 + 6 = 17 MiB
perl -e 'print join(" ", map { $_ % 90 + 2 } 0..511), "\t", join(" ", map { $_ % 80 + 3 } 0..255), "\n"' >"$TMP/long.txt"
expect_fail "--max-memory: every stack's maps" 1 \
    "long.txt: line 1: 512 source and 256 target tokens need about " -- \
    "$MHAVIZ" run --model "$T5" --ids --pairs --max-memory 1M --format json --out "$TMP/out" "$TMP/long.txt"
check "--max-memory: 17 MiB of maps, the limit named" "grep -qF 'attention maps 17.0 MiB), more than --max-memory 1.0 MiB: keep fewer heads' $TMP/stderr"
for s in 'enc 8.0' 'dec 3.0' 'cross 6.0'; do
    set -- $s
    expect_fail "--max-memory: $1 heads only" 1 "attention maps $2 MiB), more than --max-memory 1.0 MiB" -- \
        "$MHAVIZ" run --model "$T5" --ids --pairs --heads "$1:*:*" --max-memory 1M --format json --out "$TMP/out" "$TMP/long.txt"
done
# what the run makes from the maps counts too: --weighting's raw norms for the JSON, one
# float per weight (17 MiB; none for figures alone), --aggregate mean's map and double sums
# per stack and layer ((2x512x512 + 3x256x256 + 3x256x512) x 12 bytes: 12.8 MiB)
expect_fail "--max-memory: --weighting's raw norms" 1 "attention maps 17.1 MiB, raw norms 17.0 MiB), more than" -- \
    "$MHAVIZ" run --model "$T5" --ids --pairs --weighting norm --max-memory 1M --format json --out "$TMP/out" "$TMP/long.txt"
expect_fail "--max-memory: no raw norms without json" 1 "attention maps 17.1 MiB), more than" -- \
    "$MHAVIZ" run --model "$T5" --ids --pairs --weighting norm --max-memory 1M --format png --out "$TMP/out" "$TMP/long.txt"
expect_fail "--max-memory: --aggregate mean's maps" 1 "attention maps 17.0 MiB, layer aggregates 12.8 MiB), more than" -- \
    "$MHAVIZ" run --model "$T5" --ids --pairs --aggregate mean --max-memory 1M --format json --out "$TMP/out" "$TMP/long.txt"
{ printf '5 6 7\t0 8 9\n'; cat "$TMP/long.txt"; } >"$TMP/two.txt"
expect_fail "--max-memory: a later line refused, nothing written" 1 "two.txt: line 2: 512 source" -- \
    "$MHAVIZ" run --model "$T5" --ids --pairs --max-memory 2M --format png --out "$TMP/out" "$TMP/two.txt"
expect_fail "--max-memory: --generate counts the longest target" 1 \
    "line 1: 768 source and up to 41 target tokens need about" -- \
    "$MHAVIZ" run --model tests/fixtures/s2s-mt5-f32 --ids --generate 40 --max-memory 2M --format json --out "$TMP/out" "$TMP/long.txt"
rm -rf "$TMP/a" "$TMP/b"
"$MHAVIZ" run --model "$T5" --ids --pairs --max-memory 40M --format json --out "$TMP/a" "$TMP/long.txt" 2>"$TMP/stderr"
check "--max-memory 40M: runs, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/a/long.json ]"
"$MHAVIZ" run --model "$T5" --ids --pairs --max-memory 0 --format json --out "$TMP/b" "$TMP/long.txt"
check "--max-memory 0: no limit, the same bytes" "cmp -s $TMP/a/long.json $TMP/b/long.json"
perl -e 'print "5 6 7\t", join(" ", map { $_ + 3 } 0..49), "\n"' >"$TMP/tl.txt"
expect_fail "a target past the positions: an input error, before the memory check" 1 \
    "tl.txt: line 1: 50 target tokens exceed the model's 40 positions (use --truncate)" -- \
    "$MHAVIZ" run --model tests/fixtures/s2s-mbart-lang --ids --pairs --max-memory 1G --format json --out "$TMP/out" "$TMP/tl.txt"
expect_fail "--max-memory: bad size" 2 "--max-memory '3X' is not a size" -- \
    "$MHAVIZ" run --model "$T5" --ids --pairs --max-memory 3X --out "$TMP/out" "$TMP/long.txt"

# --max-pixels: a 512 x 256 pair pooled (source in 7-token, target in 4-token blocks at
# 800 px); the JSON is not pooled
pngw() { perl -e 'open my $f, "<:raw", $ARGV[0] or die; read $f, my $h, 24; print unpack("N", substr($h, 16, 4))' "$1"; }
rm -rf "$TMP/p"
"$MHAVIZ" run --model "$T5" --ids --pairs --max-pixels 800 --format png,svg,json --out "$TMP/p" "$TMP/long.txt" 2>"$TMP/stderr"
check "--max-pixels: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
check "--max-pixels: the JSON as without it" "cmp -s $TMP/p/long.json $TMP/a/long.json"
for f in E01-H03 D02-H00 X01-H02 X00 align; do
    check "--max-pixels: $f.png under 1100 px wide" "[ \$(pngw $TMP/p/long/$f.png) -lt 1100 ]"
    check "--max-pixels: $f.svg says how it pooled" "grep -q 'pooled: source in 7-token blocks, target in 4-token blocks: max' $TMP/p/long/$f.svg"
done
check "--max-pixels: the encoder's sentence note" "grep -q 'max of 7-token blocks, tokens 0-511, labels every 28\] 2 3 4' $TMP/p/long/E00-H00.svg"
check "--max-pixels: the decoder's sentence note" "grep -q 'max of 4-token blocks, tokens 0-255, labels every 16\] 3 4 5' $TMP/p/long/D00-H00.svg"
check "--max-pixels: 74 x 64 pooled cells in a cross figure" "[ \$(grep -c '<rect' $TMP/p/long/X01-H02.svg) -ge 4736 ]"
"$MHAVIZ" run --model "$T5" --ids --pairs --heads cross:1:2 --max-pixels 800 --pool mean --format svg --out "$TMP/pm" "$TMP/long.txt"
check "--pool mean: said" "grep -q 'target in 4-token blocks: mean' $TMP/pm/long/X01-H02.svg && ! cmp -s $TMP/pm/long/X01-H02.svg $TMP/p/long/X01-H02.svg"
# a pair that fits draws the same bytes as without --max-pixels
printf '5 6 7 8\t0 8 9\n' >"$TMP/short.txt"
"$MHAVIZ" run --model "$T5" --ids --pairs --format png,svg --out "$TMP/s0" "$TMP/short.txt"
"$MHAVIZ" run --model "$T5" --ids --pairs --max-pixels 800 --format png,svg --out "$TMP/s1" "$TMP/short.txt"
check "--max-pixels on a short pair: the same figures" "diff -r $TMP/s0 $TMP/s1 >/dev/null"

# --rows: resolved on each side; the kept rows are the full run's rows, weighted or not
B=tests/fixtures/s2s-bart-f32   # 2 encoder and 3 decoder layers of 4 heads
printf '5 6 7 8 9 10\t2 8 9 10 11\n11 12 13\t2 14\n' >"$TMP/p.txt"
for w in attn norm-out; do
    rm -rf "$TMP/rf" "$TMP/rk"
    "$MHAVIZ" run --model "$B" --ids --pairs --weighting $w --format json --out "$TMP/rf" "$TMP/p.txt"
    "$MHAVIZ" run --model "$B" --ids --pairs --weighting $w --rows last,1 --format json,safetensors --out "$TMP/rk" "$TMP/p.txt" 2>"$TMP/stderr"
    check "--rows $w: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
    check "--rows $w: safetensors metadata names the weighting" "if [ $w = attn ]; then ! grep -aq '\"weighting\"' $TMP/rk/p.safetensors; else grep -aqF '\"weighting\": \"$w\"' $TMP/rk/p.safetensors; fi"
    check "--rows $w: source and target rows, each the full run's" "perl -MJSON::PP -e '
        local \$/; open my \$x, \"<\", \"$TMP/rk/p.json\"; open my \$y, \"<\", \"$TMP/rf/p.json\";
        my \$K = decode_json(<\$x>); my \$F = decode_json(<\$y>);
        my @want = ([[1, 5], [1, 4]], [[1, 2], [1]]);
        for my \$s (0, 1) {
            my (\$k, \$f) = (\$K->{sentences}[\$s], \$F->{sentences}[\$s]);
            exit 1 unless \"@{\$k->{rows}}\" eq \"@{\$want[\$s][0]}\" && \"@{\$k->{target_rows}}\" eq \"@{\$want[\$s][1]}\";
            exit 2 if exists \$f->{rows} || exists \$f->{target_rows} || @{\$k->{attentions}} != 32;
            for my \$h (0 .. 31) {
                my (\$a, \$b) = (\$k->{attentions}[\$h], \$f->{attentions}[\$h]);
                my \$rows = \$a->{stack} eq \"encoder\" ? \$k->{rows} : \$k->{target_rows};
                exit 3 unless @{\$a->{weights}} == @\$rows && \$a->{stack} eq \$b->{stack};
                for my \$r (0 .. \$#\$rows) { for my \$j (0 .. \$#{\$b->{weights}[0]}) {
                    for my \$key (\"weights\", \"$w\" eq \"attn\" ? () : \"norms\") {
                        exit 4 if abs(\$a->{\$key}[\$r][\$j] - \$b->{\$key}[\$rows->[\$r]][\$j]) > 1e-7; } } }
            }
        }
        exit 0'"
done
st_header() { perl -e 'open my $f, "<:raw", $ARGV[0] or die; read $f, my $n, 8; read $f, my $h, unpack("Q<", $n); print $h' "$1"; }
st_header "$TMP/rk/p.safetensors" >"$TMP/h.json"
check "--rows safetensors: rows in the metadata, [heads, rows, keys] tensors" "grep -q '\"rows\": \"\[1, 5\]\"' $TMP/h.json && grep -q '\"target_rows\": \"\[1, 4\]\"' $TMP/h.json && grep -q '\"attn.encoder.L01\": {\"dtype\": \"F32\", \"shape\": \[4, 2, 6\]' $TMP/h.json && grep -q '\"attn.cross.L02\": {\"dtype\": \"F32\", \"shape\": \[4, 2, 6\]' $TMP/h.json && grep -q '\"attn.decoder.L00\": {\"dtype\": \"F32\", \"shape\": \[4, 2, 5\]' $TMP/h.json"
rm -rf "$TMP/rs"
"$MHAVIZ" run --model "$B" --ids --pairs --rows last,1 --format svg --out "$TMP/rs" "$TMP/p.txt"
check "--rows figures: the decoder's rows named, 2 x 5 cells" "grep -q 'decoder — layer 2, head 1 — query rows 1, 4</title>' $TMP/rs/p/D02-H01.svg"
check "--rows figures: cross and alignment titles name the target rows" "grep -q 'cross-attention — layer 1, head 2 — query rows 1, 4</title>' $TMP/rs/p/X01-H02.svg && grep -q 'alignment: layer 2, mean of 4 heads — query rows 1, 4</title>' $TMP/rs/p/align.svg"
check "--rows figures: a cross head's 2 rows x 6 source columns" "[ \$(grep -c '<rect class=\"cell\"' $TMP/rs/p/X01-H02.svg) = 12 ] && [ \$(grep -c '<rect class=\"cell\"' $TMP/rs/p/align.svg) = 12 ]"
check "--rows figures: an encoder head's 2 rows x 6 columns" "[ \$(grep -c '<rect class=\"cell\"' $TMP/rs/p/E01-H00.svg) = 12 ]"
rm -rf "$TMP/rw"
T=tests/fixtures/s2s-t5-tok-f16
printf 'Hello world\tHallo Welt\n' >"$TMP/r.txt"
"$MHAVIZ" run --model $T --pairs --rows word:Welt --format svg,json --out "$TMP/rw" "$TMP/r.txt" 2>"$TMP/stderr"
check "--rows word in the target only: no encoder figures, decoder and cross ones" "[ -z \"\$(ls $TMP/rw/r | grep '^E')\" ] && [ -s $TMP/rw/r/X01-H02.svg ] && grep -q '\"rows\": \[\]' $TMP/rw/r.json && grep -q '\"target_rows\": \[8, 9, 10, 11\]' $TMP/rw/r.json"
check "--rows word in the target only: the encoder figures left out, said" "[ \"\$(cat $TMP/stderr)\" = 'mhaviz: warning: --rows keeps no source row of 1 sentence: no encoder figures for it' ]"
rm -rf "$TMP/rv"
printf 'Hello world\tHallo Welt\nHello there\tHallo da\n' >"$TMP/r2.txt"
"$MHAVIZ" run --model $T --pairs --rows word:Hello --heads 'enc:*:*,cross:1:*' --format svg --out "$TMP/rv" "$TMP/r2.txt" 2>"$TMP/stderr"
check "--rows word in the source only: encoder figures, no cross ones, said once" "[ -s $TMP/rv/r2/E01-H02.svg ] && [ -s $TMP/rv/r2-2/E01-H02.svg ] && [ -z \"\$(ls $TMP/rv/r2 $TMP/rv/r2-2 | grep '^[XD]')\" ] && [ \"\$(cat $TMP/stderr)\" = 'mhaviz: warning: --rows keeps no target row of 2 sentences: no cross-attention figures for them' ]"
"$MHAVIZ" run --model $T --pairs --rows word:Hello --heads 'enc:*:*' --format svg --out "$TMP/rv2" "$TMP/r2.txt" 2>"$TMP/stderr"
check "--rows word in the source only, encoder heads only: nothing left out, nothing said" "[ ! -s $TMP/stderr ] && [ -s $TMP/rv2/r2/E01-H02.svg ]"
"$MHAVIZ" run --model $T --pairs --rows word:Welt --format json --out "$TMP/rv3" "$TMP/r.txt" 2>"$TMP/stderr"
check "--rows on one side, no figures asked: nothing said" "[ ! -s $TMP/stderr ] && [ -s $TMP/rv3/r.json ]"
rm -rf "$TMP/rn"
"$MHAVIZ" run --model $T --pairs --rows word:Katze --format png --out "$TMP/rn" "$TMP/r.txt" 2>"$TMP/stderr"
check "--rows matching nothing: said once" "grep -q 'warning: --rows keeps no row of 1 sentence' $TMP/stderr"
rm -rf "$TMP/rq"
"$MHAVIZ" run --model "$T5" --ids --pairs --rows last,100 --max-pixels 800 --format svg --out "$TMP/rq" "$TMP/long.txt"
check "--rows with --max-pixels: rows stay rows, keys pooled" "grep -q 'target in 4-token blocks: max (kept rows stay rows)' $TMP/rq/long/X01-H02.svg && grep -q 'query rows 100, 255</title>' $TMP/rq/long/D01-H00.svg"
expect_fail "--rows with html refused by name" 2 "--rows with --format html is not available for encoder-decoder models yet" -- \
    "$MHAVIZ" run --model "$B" --ids --pairs --rows last --format html --out "$TMP/out" "$TMP/p.txt"
expect_fail "--rows with --generate refused" 2 "--generate works with" -- \
    "$MHAVIZ" run --model "$B" --ids --generate 3 --rows last --out "$TMP/out" "$TMP/p.txt"

# --window A:B zooms on the source: the encoder's maps A..B-1 square, the cross-attention's
# every target row x those source columns; the decoder's whole; the JSON as without it
cells() { grep -c '<rect class="cell"' "$1"; }
rm -rf "$TMP/w1"
"$MHAVIZ" run --model "$T5" --ids --pairs --window 100:140 --format svg,json --out "$TMP/w1" "$TMP/long.txt" 2>"$TMP/stderr"
check "--window: exit 0, silent, the JSON unchanged" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && cmp -s $TMP/w1/long.json $TMP/a/long.json"
check "--window: encoder 40 x 40, cross 256 x 40, decoder 256 x 256 cells" "[ \$(cells $TMP/w1/long/E01-H02.svg) = 1600 ] && [ \$(cells $TMP/w1/long/X02-H01.svg) = 10240 ] && [ \$(cells $TMP/w1/long/align.svg) = 10240 ] && [ \$(cells $TMP/w1/long/D00-H00.svg) = 65536 ]"
"$MHAVIZ" run --model "$T5" --ids --pairs --window 100:140 --heads enc:1:2 --svg-text --format svg --out "$TMP/w4" "$TMP/long.txt"
check "--window: the source's tokens 100-139 (ids 12-51) label rows and columns" "[ \"\$(grep -o 'class=\"label\"[^>]*>[^<]*<' $TMP/w4/long/E01-H02.svg | sed 's/.*>//; s/<//' | tr '\\n' ' ')\" = \"\$(seq 12 51 | tr '\\n' ' ')\$(seq 12 51 | tr '\\n' ' ')\" ]"
rm -rf "$TMP/w2"
"$MHAVIZ" run --model "$T5" --ids --pairs --window 100:400 --rows last,110 --max-pixels 800 --format svg --out "$TMP/w2" "$TMP/long.txt"
check "--window with --rows and --max-pixels: the encoder's kept row in the window, 75 key blocks" "[ \$(cells $TMP/w2/long/E00-H00.svg) = 75 ] && grep -q 'query row 110</title>' $TMP/w2/long/E00-H00.svg && grep -q 'tokens 100-399, labels every 16\\] ' $TMP/w2/long/E00-H00.svg"
check "--window with --rows: the cross-attention's 2 target rows x 75 source blocks" "[ \$(cells $TMP/w2/long/X00-H00.svg) = 150 ]"
expect_fail "--window past the source" 1 "long.txt: line 1: --window 600:700 is past its 512 source tokens" -- \
    "$MHAVIZ" run --model "$T5" --ids --pairs --window 600:700 --format svg --out "$TMP/out" "$TMP/long.txt"

finish
