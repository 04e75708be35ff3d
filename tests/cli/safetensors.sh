#!/usr/bin/env bash
# run --format safetensors and --rows: the file per sentence read with Perl alone (header,
# offsets, F32 values bit for bit against the JSON of the same run, F16/BF16 sizes); a
# streamed run (safetensors alone) writes the same bytes as a run that also writes JSON;
# --rows keeps the same rows in both; bad options are usage errors; a failed run leaves
# nothing.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }

M=samples/model
printf '苹果从树上掉下来，小明把它捡起来了。\nThe cat sat.\n' >"$TMP/s.txt"

# stcheck FILE JSON INDEX: the safetensors FILE against sentence INDEX of the report JSON
stcheck() {
    perl -MJSON::PP -e '
        my ($f, $jf, $s) = @ARGV; local $/;
        open my $h, "<:raw", $f or die; my $all = <$h>;
        open my $g, "<", $jf or die; my $top = decode_json(<$g>); my $j = $top->{sentences}[$s];
        my $n = unpack("Q<", substr($all, 0, 8));
        exit 11 if (8 + $n) % 8;
        my $hdr = decode_json(substr($all, 8, $n)); my $data = substr($all, 8 + $n);
        my $md = delete $hdr->{__metadata__}; my $J = JSON::PP->new; # values: character strings
        exit 12 unless $md->{format} eq "mhaviz-attention";
        exit 21 unless ($md->{weighting} // "none") eq ($top->{weighting} // "none");
        my $tok = $J->decode($md->{tokens});
        exit 13 unless join("\x01", @$tok) eq join("\x01", @{$j->{tokens}});
        my $rows = $J->decode($md->{rows});
        my $want = $j->{rows} // [0 .. $#{$j->{tokens}}];
        exit 14 unless "@$rows" eq "@$want";
        my $heads = $J->decode($md->{heads}); my $end = 0;
        for my $a (@{$j->{attentions}}) {
            my $name = sprintf("attn.L%02d", $a->{layer});
            my $t = $hdr->{$name} or exit 15;
            exit 16 unless $t->{dtype} eq "F32";
            my ($H, $R, $S) = @{$t->{shape}};
            exit 17 unless $R == @$rows && $S == @$tok;
            # --aggregate: one map per layer, head -1, named as each JSON entry names it
            exit 22 unless ($md->{aggregate} // "none") eq ($a->{aggregate} // "none");
            my ($k) = grep { $heads->{$name}[$_] == ($a->{head} // -1) } 0 .. $H - 1;
            exit 18 unless defined $k;
            my ($b, $e) = @{$t->{data_offsets}};
            $end = $e if $e > $end;
            for my $r (0 .. $R - 1) {
                my $got = substr($data, $b + (($k * $R + $r) * $S) * 4, $S * 4);
                exit 19 unless $got eq pack("f<*", @{$a->{weights}[$r]});
            }
        }
        exit 20 unless $end == length $data;
        exit 0;' "$1" "$2" "$3"
}

"$MHAVIZ" run --model $M --format json,safetensors --out "$TMP/a" "$TMP/s.txt" 2>"$TMP/stderr"
check "json+safetensors: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
check "one file per sentence" "[ -f $TMP/a/s.safetensors ] && [ -f $TMP/a/s-2.safetensors ]"
check "sentence 1 equals the JSON" "stcheck $TMP/a/s.safetensors $TMP/a/s.json 0"
check "sentence 2 equals the JSON" "stcheck $TMP/a/s-2.safetensors $TMP/a/s.json 1"

check "attention weights: no weighting in the metadata" "! grep -aq '\"weighting\"' $TMP/a/s.safetensors"

# --weighting: the files hold the JSON's weighted rows, normalised, and name the weighting
for w in norm norm-out; do
    "$MHAVIZ" run --model $M --weighting $w --heads 0:*,2:1 --format json,safetensors --out "$TMP/w$w" "$TMP/s.txt"
    check "--weighting $w: both sentences equal the JSON" "stcheck $TMP/w$w/s.safetensors $TMP/w$w/s.json 0 && stcheck $TMP/w$w/s-2.safetensors $TMP/w$w/s.json 1"
    check "--weighting $w: named in the metadata" "grep -aqF '\"weighting\": \"$w\"' $TMP/w$w/s.safetensors"
done

"$MHAVIZ" run --model $M --format safetensors --threads 1 --out "$TMP/b" "$TMP/s.txt"
check "streamed: same bytes" "cmp -s $TMP/a/s.safetensors $TMP/b/s.safetensors && cmp -s $TMP/a/s-2.safetensors $TMP/b/s-2.safetensors"
check "streamed: nothing else" "[ \"\$(ls $TMP/b)\" = \"s-2.safetensors
s.safetensors\" ]"

for spec in last -3 '2:4,word:它' 'word:cat'; do
    rm -rf "$TMP/c" "$TMP/d"
    "$MHAVIZ" run --model $M --rows "$spec" --heads 1:*,3:2 --format json,safetensors --out "$TMP/c" "$TMP/s.txt"
    "$MHAVIZ" run --model $M --rows "$spec" --heads 1:*,3:2 --format safetensors --out "$TMP/d" "$TMP/s.txt"
    check "--rows $spec: sentence 1 equals the JSON" "stcheck $TMP/c/s.safetensors $TMP/c/s.json 0"
    check "--rows $spec: sentence 2 equals the JSON" "stcheck $TMP/c/s-2.safetensors $TMP/c/s.json 1"
    check "--rows $spec: streamed, same bytes" "cmp -s $TMP/c/s.safetensors $TMP/d/s.safetensors"
done
# --aggregate: the files hold the layers' aggregates, as the JSON does (attn.L05 [1, rows,
# S], head -1, metadata "aggregate"), streamed or not, with --rows too (rollout and flow
# computed from every row, then cut)
for kind in mean rollout flow; do
    for rows in "" "--rows 2:5"; do
        rm -rf "$TMP/g1" "$TMP/g2"
        "$MHAVIZ" run --model $M --aggregate $kind $rows --format json,safetensors --out "$TMP/g1" "$TMP/s.txt" 2>"$TMP/stderr"
        check "--aggregate $kind $rows: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
        check "--aggregate $kind $rows: both sentences equal the JSON" "stcheck $TMP/g1/s.safetensors $TMP/g1/s.json 0 && stcheck $TMP/g1/s-2.safetensors $TMP/g1/s.json 1"
        check "--aggregate $kind $rows: named in the metadata" "grep -aqF '\"aggregate\": \"$kind\"' $TMP/g1/s.safetensors"
        "$MHAVIZ" run --model $M --aggregate $kind $rows --format safetensors --out "$TMP/g2" "$TMP/s.txt" 2>"$TMP/stderr"
        check "--aggregate $kind $rows, safetensors alone: the same bytes" "[ $? = 0 ] && cmp -s $TMP/g1/s.safetensors $TMP/g2/s.safetensors && cmp -s $TMP/g1/s-2.safetensors $TMP/g2/s-2.safetensors"
    done
done
"$MHAVIZ" run --model $M --aggregate mean --dtype bf16 --format safetensors --out "$TMP/g3" "$TMP/s.txt"
check "--aggregate mean --dtype bf16: a map per layer" "perl -MJSON::PP -e '
    local \$/; my \$all = <STDIN>; my \$n = unpack(\"Q<\", substr(\$all, 0, 8));
    my \$h = decode_json(substr(\$all, 8, \$n)); my \$md = delete \$h->{__metadata__};
    my \$t = \$h->{\"attn.L03\"};
    exit(keys(%\$h) == 4 && \$t->{dtype} eq \"BF16\" &&
         \"@{\$t->{shape}}\" eq \"1 20 20\" && \$md->{heads} =~ /\\[-1\\]/ &&
         length(\$all) - 8 - \$n == 4 * 800 ? 0 : 1)' <$TMP/g3/s.safetensors"

"$MHAVIZ" run --model $M --rows last --format json --out "$TMP/e" "$TMP/s.txt"
check "--rows last: JSON rows [19], one weight row" "perl -MJSON::PP -e 'local \$/; my \$s = decode_json(<STDIN>)->{sentences}[0]; exit(\"@{\$s->{rows}}\" eq \"19\" && @{\$s->{attentions}[0]{weights}} == 1 ? 0 : 1)' <$TMP/e/s.json"
"$MHAVIZ" run --model $M --format json --out "$TMP/f" "$TMP/s.txt"
check "no --rows: no rows key (JSON unchanged)" "! grep -q '\"rows\"' $TMP/f/s.json"

# element types: the same header shapes, 2 bytes a weight
for dt in f16 bf16; do
    "$MHAVIZ" run --model $M --dtype $dt --heads 2:1 --format safetensors --out "$TMP/$dt" "$TMP/s.txt"
    check "--dtype $dt: header and size" "perl -MJSON::PP -e '
        local \$/; my \$all = <STDIN>; my \$n = unpack(\"Q<\", substr(\$all, 0, 8));
        my \$t = decode_json(substr(\$all, 8, \$n))->{\"attn.L02\"};
        exit(\$t->{dtype} eq uc(\"$dt\") && \"@{\$t->{shape}}\" eq \"1 20 20\" &&
             length(\$all) - 8 - \$n == 800 ? 0 : 1)' <$TMP/$dt/s.safetensors"
done

expect_fail "--dtype bad" 2 "--dtype 'f64' is not f32, f16 or bf16" -- \
    "$MHAVIZ" run --model $M --dtype f64 --format safetensors --out "$TMP/out" "$TMP/s.txt"
expect_fail "--rows bad" 2 "--rows item '4:2' is not last, -K, I, A:B or word:W" -- \
    "$MHAVIZ" run --model $M --rows 4:2 --format safetensors --out "$TMP/out" "$TMP/s.txt"
expect_fail "--format unknown" 2 "--format 'safetensor' is not supported" -- \
    "$MHAVIZ" run --model $M --format safetensor --out "$TMP/out" "$TMP/s.txt"
# a failing sentence (too many ids) after a good one: nothing is left
printf '1 2 3\n%s\n' "$(seq -s ' ' 1 600)" >"$TMP/ids.txt"
expect_fail "failed run leaves nothing" 1 "line 2" -- \
    "$MHAVIZ" run --model $M --ids --format safetensors --out "$TMP/out" "$TMP/ids.txt"

# Long inputs: a decoder fixture allowed 4096 positions (rotary: nothing in the weights
# depends on it), 2048 tokens. Every head of both layers is 128 MiB of maps, one layer 64 MiB.
L="$TMP/long"
mkdir -p "$L"
cp tests/fixtures/dec-llama-f32/model.safetensors "$L/"
sed 's/"max_position_embeddings": 64/"max_position_embeddings": 4096/' \
    tests/fixtures/dec-llama-f32/config.json >"$L/config.json"
seq 0 2047 | awk '{ printf "%s%d", (NR > 1 ? " " : ""), $1 % 500 } END { print "" }' >"$TMP/long.txt"
expect_fail "--max-memory: json refused with the numbers" 1 \
    "line 1: 2048 tokens need about 134.8 MiB (weights 525.3 KiB" -- \
    "$MHAVIZ" run --model "$L" --ids --format json --max-memory 100M --out "$TMP/out" "$TMP/long.txt"
check "--max-memory: the maps of every layer" "grep -qF 'attention maps 128.0 MiB), more than --max-memory 100.0 MiB' $TMP/stderr"
expect_fail "--max-memory: streamed, one map per thread" 1 "attention maps 16.0 MiB), more than --max-memory 20.0 MiB: keep fewer heads or rows (--rows last)" -- \
    "$MHAVIZ" run --model "$L" --ids --format safetensors --threads 1 --max-memory 20M --out "$TMP/out" "$TMP/long.txt"
expect_fail "--max-memory: bad size" 2 "--max-memory '12Q' is not a size" -- \
    "$MHAVIZ" run --model "$L" --ids --format safetensors --max-memory 12Q --out "$TMP/out" "$TMP/long.txt"
"$MHAVIZ" run --model "$L" --ids --format safetensors --rows last --max-memory 100M --out "$TMP/g" "$TMP/long.txt"
check "--rows last fits in 100M" "[ \$? = 0 ] && [ -f $TMP/g/long.safetensors ]"
# --weighting's raw norms (kept for the JSON) and --aggregate's layer maps (with their sums in
# double) count too: 256 tokens, rows 0-63 of 8 heads are 512 KiB of either. The limit is
# taken 1 KiB either side of the need the refusal lists (each part under 1 MiB, so printed to
# 0.1 KiB; activations vary with the kernels): refused just below it, where the count
# without them (512 KiB less) would have let it run, and run just above it.
seq 0 255 | awk '{ printf "%s%d", (NR > 1 ? " " : ""), $1 % 500 } END { print "" }' >"$TMP/t256.txt"
need_kib() { perl -ne 'next unless /need about .* \((weights [^)]*)\), more than/;
    my $s = 0; for (split /, /, $1) { /([\d.]+) KiB$/ or die "not in KiB: $_\n"; $s += $1 } print int($s)' "$1"; }
for extra in "--weighting norm:raw norms 512.0 KiB" "--aggregate mean:layer aggregates 512.3 KiB"; do
    opt=${extra%%:*} part=${extra#*:}
    args="--model $L --ids --threads 1 --rows 0:64 $opt --format json"
    "$MHAVIZ" run $args --max-memory 1K --out "$TMP/out" "$TMP/t256.txt" 2>"$TMP/need"
    check "$opt: the refusal lists $part" "grep -qF ', $part), more than --max-memory 1.0 KiB' $TMP/need"
    k=$(need_kib "$TMP/need")
    expect_fail "$opt: refused 1 KiB below the need" 1 "$part), more than --max-memory" -- \
        "$MHAVIZ" run $args --max-memory $((k - 1))K --out "$TMP/out" "$TMP/t256.txt"
    rm -rf "$TMP/mm"
    "$MHAVIZ" run $args --max-memory $((k + 2))K --out "$TMP/mm" "$TMP/t256.txt" 2>"$TMP/stderr"
    check "$opt: runs 1 KiB above the need" "[ \$? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/mm/t256.json ]"
done
# peak RSS of a streamed run on 2 threads: a map per thread (2 x 16 MiB) plus weights and
# activations, not the 128 MiB of every map nor the 64 MiB of a layer's (measured only
# without ASan, whose shadow memory inflates RSS)
if [ -x /usr/bin/time ] && { (ulimit -v 4000000 && "$MHAVIZ" --version) >/dev/null 2>&1; } 2>/dev/null; then
    /usr/bin/time -f '%M' -o "$TMP/rss" "$MHAVIZ" run --model "$L" --ids --format safetensors \
        --threads 2 --max-memory 0 --out "$TMP/h" "$TMP/long.txt"
    check "streamed: peak RSS $(cat "$TMP/rss") KiB below 60 MiB" "[ \$(tail -1 $TMP/rss) -lt 61440 ]"
    "$MHAVIZ" run --model "$L" --ids --format json,safetensors --max-memory 0 --out "$TMP/i" \
        --heads 1:1 "$TMP/long.txt"
    "$MHAVIZ" run --model "$L" --ids --format safetensors --threads 2 --max-memory 0 --out "$TMP/j" \
        --heads 1:1 "$TMP/long.txt"
    check "streamed by head = whole run, 2048 tokens" "cmp -s $TMP/i/long.safetensors $TMP/j/long.safetensors"
    check "streamed: 128 MiB written" "[ \$(stat -c %s $TMP/h/long.safetensors) -gt 134217728 ]"
fi

# long-sequence figures: pooled to --max-pixels (a 2048-token map would be 20480 px wide),
# and a --window at full size
pngw() { perl -e 'open my $f, "<:raw", $ARGV[0] or die; read $f, my $h, 24; print unpack("N", substr($h, 16, 4))' "$1"; }
"$MHAVIZ" run --model "$L" --ids --heads 1:0 --max-pixels 800 --format png --out "$TMP/k" "$TMP/long.txt"
check "--max-pixels 800: map pooled, figure under 1100 px" "[ -f $TMP/k/long/L01-H00.png ] && [ \$(pngw $TMP/k/long/L01-H00.png) -lt 1100 ]"
"$MHAVIZ" run --model "$L" --ids --heads 1:0 --max-pixels 800 --pool mean --format svg --out "$TMP/k2" "$TMP/long.txt"
check "--pool mean: said in the figure's sentence" "grep -q 'mean of 26x26-token blocks, tokens 0-2047' $TMP/k2/long/L01-H00.svg"
"$MHAVIZ" run --model "$L" --ids --heads 1:0 --window 100:140 --format png --out "$TMP/w" "$TMP/long.txt"
check "--window 100:140: 40 cells at full size" "[ \$(pngw $TMP/w/long/L01-H00.png) -lt 800 ]"
expect_fail "--window past the sentence" 1 "line 1: --window 3000:3100 is past its 2048 tokens" -- \
    "$MHAVIZ" run --model "$L" --ids --heads 1:0 --window 3000:3100 --format png --out "$TMP/out" "$TMP/long.txt"
expect_fail "--pool bad" 2 "--pool 'median' is not max or mean" -- \
    "$MHAVIZ" run --model "$L" --ids --pool median --max-pixels 800 --out "$TMP/out" "$TMP/long.txt"
expect_fail "vision models: refused, not ignored" 2 "--format safetensors, --rows, --window, --max-pixels and --max-memory are not available for vision models yet" -- \
    "$MHAVIZ" run --model tests/fixtures/fam-vit-f32 --format safetensors --out "$TMP/out" "$TMP/s.txt"
expect_fail "encoder-decoder models: refused, not ignored" 2 "not available for encoder-decoder models yet" -- \
    "$MHAVIZ" run --model tests/fixtures/s2s-marian-f32 --ids --pairs --rows last --format html --out "$TMP/out" "$TMP/s.txt"

finish
