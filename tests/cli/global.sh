#!/usr/bin/env bash
# run --global SPEC: Longformer's and LED's global tokens (their maps against transformers:
# tests/test_global.c). The JSON names them and its maps have the shape of global attention
# (a global token's row over every key, every other row over its window and the global
# tokens, exact zeros elsewhere); the figures say them; 1 and 2 threads write the same
# bytes; a selection that finds no token gives the maps without global attention. Refused:
# other families, value-norm weighting, malformed lists, `question` without its three sep
# tokens or on LED, global tokens on a checkpoint without the global projections.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }

LF=tests/fixtures/fam-longformer-f32   # attention_window 4: two keys either side
LED=tests/fixtures/s2s-led-f32         # encoder windows 4 and 8
printf '5 6 7 8 9 10 11 12 13 14 15\n9 8 7 6 5\n' >"$TMP/ids.txt"

# shape SENTENCE HALF_WINDOWS...: every map of the JSON's sentence has the shape of global
# attention over its "global" list, layer l with HALF_WINDOWS[l] keys either side
shape() {
    perl -MJSON::PP -e '
        my ($file, $s, @w) = @ARGV;
        local $/; open(my $h, "<", $file) or die; my $d = decode_json(<$h>);
        my $sent = $d->{sentences}[$s]; my %g = map { $_ => 1 } @{$sent->{global}};
        for my $a (@{$sent->{attentions}}) {
            next if defined $a->{stack} && $a->{stack} ne "encoder";
            my $w = $a->{weights}; my $n = @$w; my $half = $w[$a->{layer}];
            for my $i (0 .. $n - 1) {
                my $sum = 0;
                for my $j (0 .. $n - 1) {
                    my $v = $w->[$i][$j]; $sum += $v;
                    my $sees = $g{$i} || $g{$j} || abs($i - $j) <= $half;
                    die "L$a->{layer} H$a->{head}: $i -> $j is $v\n" if !$sees && $v != 0;
                    die "L$a->{layer} H$a->{head}: global $i -> $j is 0\n" if $g{$i} && $v == 0;
                }
                die "row $i sums to $sum\n" if abs($sum - 1) > 1e-5;
            }
        }' "$@"
}

"$MHAVIZ" run --model $LF --ids --global 0,3:5 --format json,svg --out "$TMP/a" "$TMP/ids.txt" 2>"$TMP/err"
check "longformer: --global runs" "[ \$? = 0 ] && [ ! -s \"$TMP/err\" ]"
check "longformer: json names the global tokens" "grep -q '\"global\": \[0, 3, 4\]' \"$TMP/a/ids.json\" && grep -q '\"global\": \[0, 3, 4\]}' \"$TMP/a/ids.json\""
check "longformer: maps of global attention" "shape \"$TMP/a/ids.json\" 0 2 2 && shape \"$TMP/a/ids.json\" 1 2 2"
check "longformer: figures say the global tokens" "grep -q 'global attention: tokens 0, 3-4' \"$TMP/a/ids/L00-H00.svg\" && grep -q 'global attention: tokens 0, 3-4' \"$TMP/a/ids-2/L01.svg\""
"$MHAVIZ" run --model $LF --ids --global 0,3:5 --threads 1 --format json --out "$TMP/t1" "$TMP/ids.txt" 2>/dev/null
"$MHAVIZ" run --model $LF --ids --global 0,3:5 --threads 2 --format json --out "$TMP/t2" "$TMP/ids.txt" 2>/dev/null
check "longformer: 1 and 2 threads, the same bytes" "cmp -s \"$TMP/t1/ids.json\" \"$TMP/t2/ids.json\""
"$MHAVIZ" run --model $LF --ids --global 1: --format json --out "$TMP/every" "$TMP/ids.txt" 2>/dev/null
check "longformer: every token but the first global (1:)" "[ \$? = 0 ] && grep -q '\"global\": \[1, 2, 3, 4, 5, 6, 7, 8, 9, 10\]' \"$TMP/every/ids.json\" && shape \"$TMP/every/ids.json\" 1 2 2"
"$MHAVIZ" run --model $LF --ids --global : --format json --out "$TMP/all" "$TMP/ids.txt" 2>/dev/null
check "longformer: --global : makes every token global" "grep -q '\"global\": \[0, 1, 2, 3, 4\]' \"$TMP/all/ids.json\" && shape \"$TMP/all/ids.json\" 1 2 2"

# no token found: the maps of a run without --global, and no "global" without the option
"$MHAVIZ" run --model $LF --ids --format json --out "$TMP/none" "$TMP/ids.txt" 2>/dev/null
"$MHAVIZ" run --model $LF --ids --global 20 --format json --out "$TMP/empty" "$TMP/ids.txt" 2>/dev/null
check "longformer: no --global, no \"global\"" "! grep -q '\"global\"' \"$TMP/none/ids.json\""
check "longformer: --global finding no token: \"global\": []" "grep -q '\"global\": \[\]' \"$TMP/empty/ids.json\""
check "longformer: --global finding no token: the maps without it" "perl -MJSON::PP -e 'local \$/; my @d = map { open(my \$h, \"<\", \$_) or die; decode_json(<\$h>) } @ARGV; for my \$s (0, 1) { my (\$x, \$y) = map { JSON::PP->new->canonical->encode(\$_->{sentences}[\$s]{attentions}) } @d; exit 1 if \$x ne \$y }' \"$TMP/none/ids.json\" \"$TMP/empty/ids.json\""

# with --rows, --aggregate and a streamed safetensors file
"$MHAVIZ" run --model $LF --ids --global 0 --rows 0:2 --format json --out "$TMP/rows" "$TMP/ids.txt" 2>/dev/null
check "longformer: --global with --rows" "[ \$? = 0 ] && grep -q '\"rows\": \[0, 1\]' \"$TMP/rows/ids.json\" && grep -q '\"global\": \[0\]' \"$TMP/rows/ids.json\""
"$MHAVIZ" run --model $LF --ids --global 0 --aggregate rollout --format json --out "$TMP/agg" "$TMP/ids.txt" 2>/dev/null
check "longformer: --global with --aggregate" "[ \$? = 0 ] && grep -q '\"aggregate\": \"rollout\"' \"$TMP/agg/ids.json\" && grep -q '\"global\": \[0\]' \"$TMP/agg/ids.json\""
"$MHAVIZ" run --model $LF --ids --global 0 --format safetensors --out "$TMP/st" "$TMP/ids.txt" 2>/dev/null
check "longformer: --global with a streamed safetensors file" "[ \$? = 0 ] && [ -s \"$TMP/st/ids.safetensors\" ] && [ -s \"$TMP/st/ids-2.safetensors\" ]"
check "longformer: safetensors metadata \"global\"" "head -c 4096 \"$TMP/st/ids.safetensors\" | grep -q '\"global\": \"\[0\]\"'"
"$MHAVIZ" run --model $LF --ids --format safetensors --out "$TMP/st0" "$TMP/ids.txt" 2>/dev/null
check "longformer: no \"global\" metadata without --global" "! head -c 4096 \"$TMP/st0/ids.safetensors\" | grep -q '\"global\"'"

# question: the tokens before the first of three sep tokens (id 2), LongformerForQuestionAnswering's
printf '0 5 6 2 2 7 8 9 2\n' >"$TMP/qa.txt"
"$MHAVIZ" run --model $LF --ids --global question --format json --out "$TMP/q" "$TMP/qa.txt" 2>/dev/null
check "longformer: --global question" "[ \$? = 0 ] && grep -q '\"global\": \[0, 1, 2\]' \"$TMP/q/qa.json\" && shape \"$TMP/q/qa.json\" 0 2 2"
expect_fail "longformer: question without its three sep tokens" 1 "ids.txt: line 1: --global question needs the three sep tokens (id 2) of a question-answering input, <s> question </s></s> context </s> (--pairs QUESTION<TAB>CONTEXT): the sentence has 0" \
    -- "$MHAVIZ" run --model $LF --ids --global question --format json --out "$TMP/out" "$TMP/ids.txt"

# LED: the source's global tokens, with --pairs and --generate
printf '5 6 7 8 9 10 11 12 13\t2 5 6\n' >"$TMP/pairs.txt"
"$MHAVIZ" run --model $LED --ids --pairs --global 0 --format json,svg --out "$TMP/led" "$TMP/pairs.txt" 2>/dev/null
check "led: --global with --pairs" "[ \$? = 0 ] && grep -q '\"global\": \[0\]' \"$TMP/led/pairs.json\" && shape \"$TMP/led/pairs.json\" 0 2 4"
check "led: figures say the global tokens" "grep -q 'global attention: tokens 0' \"$TMP/led/pairs/E00-H00.svg\""
"$MHAVIZ" run --model $LED --ids --pairs --global 0,2 --format safetensors --out "$TMP/ledst" "$TMP/pairs.txt" 2>/dev/null
check "led: safetensors metadata \"global\"" "[ \$? = 0 ] && head -c 8192 \"$TMP/ledst/pairs.safetensors\" | grep -q '\"global\": \"\[0, 2\]\"'"
"$MHAVIZ" run --model $LED --ids --generate 3 --global 0 --format json --out "$TMP/gen" "$TMP/ids.txt" 2>/dev/null
check "led: --global with --generate" "[ \$? = 0 ] && grep -q '\"global\": \[0\]' \"$TMP/gen/ids.json\""

# refusals
expect_fail "another family" 2 "--global is for Longformer's attention (longformer, led); bert has no global tokens" \
    -- "$MHAVIZ" run --model tests/fixtures/fam-bert-pair --ids --global 0 --format json --out "$TMP/out" "$TMP/ids.txt"
expect_fail "a decoder" 2 "--global is for Longformer's attention (longformer, led); gpt2 has no global tokens" \
    -- "$MHAVIZ" run --model tests/fixtures/dec-gpt2-f32 --ids --global 0 --format json --out "$TMP/out" "$TMP/ids.txt"
expect_fail "another encoder-decoder" 2 "bart has no global tokens" \
    -- "$MHAVIZ" run --model tests/fixtures/s2s-bart-f32 --ids --pairs --global 0 --format json --out "$TMP/out" "$TMP/pairs.txt"
expect_fail "value-norm weighting" 2 "--global with --weighting norm-out is not supported" \
    -- "$MHAVIZ" run --model $LF --ids --global 0 --weighting norm-out --format json --out "$TMP/out" "$TMP/ids.txt"
expect_fail "an empty item" 2 "--global item '' is not last, -K, I, A:B or word:W (or question)" \
    -- "$MHAVIZ" run --model $LF --ids --global 0,,1 --format json --out "$TMP/out" "$TMP/ids.txt"
expect_fail "an empty list" 2 "--global selection is empty" \
    -- "$MHAVIZ" run --model $LF --ids --global '' --format json --out "$TMP/out" "$TMP/ids.txt"
# a checkpoint without the global projections runs, but not with global tokens
mkdir -p "$TMP/noglobal"
cp $LF/* "$TMP/noglobal/"
st_edit "$TMP/noglobal/model.safetensors" 's/query_global/query_globaX/g'
"$MHAVIZ" run --model "$TMP/noglobal" --ids --format json --out "$TMP/ng" "$TMP/ids.txt" 2>/dev/null
check "no global projections: runs without --global" "[ \$? = 0 ] && [ -s \"$TMP/ng/ids.json\" ]"
# the lines view says them too (as text, not only in the metadata), under its caption; its
# "query" caption, wider than the ids' labels, starts inside the figure
"$MHAVIZ" run --model $LF --ids --global 0,3:5 --view lines --heads 0:0 --format svg --svg-text \
    --out "$TMP/lines" "$TMP/ids.txt" 2>/dev/null
check "longformer: lines view says the global tokens" "grep -q '>global attention: tokens 0, 3-4<' \"$TMP/lines/ids/L00-H00.svg\""
check "lines view: the query caption is not clipped" "grep -o '<text[^>]* x=\"[-0-9.]*\"[^>]*>query<' \"$TMP/lines/ids/L00-H00.svg\" | grep -q ' x=\"1[2-9]'"
expect_fail "no global projections: --global refused" 1 "global attention needs layer 0's query_global, key_global and value_global: the checkpoint has none" \
    -- "$MHAVIZ" run --model "$TMP/noglobal" --ids --global 0 --format json --out "$TMP/out" "$TMP/ids.txt"
expect_fail "led: question" 2 "--global question is LongformerForQuestionAnswering's default (longformer), not led's" \
    -- "$MHAVIZ" run --model $LED --ids --pairs --global question --format json --out "$TMP/out" "$TMP/pairs.txt"
finish
