#!/usr/bin/env bash
# --weighting attn|norm|norm-out (Kobayashi et al. 2020) in run, rank and stats: the JSON
# names the weighting and keeps the raw products, the maps' rows sum to 1 and are those
# products normalised, titles say what is drawn, mixing weightings in --merge is refused.
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/bert-f32   # 3 layers, 4 heads
DEC=tests/fixtures/dec-gpt2-f32
check() { if eval "$2"; then ok; else bad "$1"; fi; }
printf '苹果从树上掉下来，小明把它捡起来了。\n' >"$TMP/s.txt"
printf '5 17 250 3 99 42 7\n' >"$TMP/e.txt"   # ids: the decoder has no tokenizer

# attn is the default, byte for byte
"$MHAVIZ" run --model "$FIX" --format json --out "$TMP/a0" "$TMP/s.txt"
"$MHAVIZ" run --model "$FIX" --weighting attn --format json --out "$TMP/a1" "$TMP/s.txt"
check "attn: same bytes as without --weighting" "cmp -s $TMP/a0/s.json $TMP/a1/s.json"
check "attn: no weighting or norms in the JSON" "! grep -q '\"weighting\"\\|\"norms\"' $TMP/a0/s.json"

# norm / norm-out: weights = norms / row sum; norms = attention x value_norms
for w in norm norm-out; do
    for m in "$FIX" "$DEC"; do
        in=$TMP/s.txt; mode=; [ "$m" = "$DEC" ] && in=$TMP/e.txt mode=--ids
        rm -rf "$TMP/w" "$TMP/a"
        "$MHAVIZ" run --model "$m" $mode --format json --out "$TMP/a" "$in"
        "$MHAVIZ" run --model "$m" $mode --weighting $w --format json --out "$TMP/w" "$in" 2>"$TMP/stderr"
        check "$w $(basename $m): exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
        j=$(basename "$in" .txt).json
        check "$w $(basename $m): weights are norms normalised, norms are attention x value_norms" "perl -MJSON::PP -e '
            local \$/; open my \$x, \"<\", \"$TMP/w/$j\"; open my \$y, \"<\", \"$TMP/a/$j\";
            my \$W = decode_json(<\$x>); my \$A = decode_json(<\$y>);
            exit 1 unless \$W->{weighting} eq \"$w\";
            my \$hs = \$W->{sentences}[0]{attentions}; my \$as = \$A->{sentences}[0]{attentions};
            my \$moved = 0;
            for my \$k (0..\$#\$hs) {
                my (\$h, \$a) = (\$hs->[\$k], \$as->[\$k]); my \$vn = \$h->{value_norms};
                my \$n = @\$vn; exit 1 unless \$n == @{\$h->{norms}} && \$n == @{\$h->{weights}};
                for my \$i (0..\$n-1) {
                    my (\$s, \$t) = (0, 0);
                    \$s += \$_ for @{\$h->{norms}[\$i]};
                    for my \$j (0..\$n-1) {
                        my \$p = \$a->{weights}[\$i][\$j] * \$vn->[\$j];
                        exit 1 if abs(\$p - \$h->{norms}[\$i][\$j]) > 1e-6 * (1 + \$p);
                        my \$q = \$s > 0 ? \$h->{norms}[\$i][\$j] / \$s : 0;
                        exit 1 if abs(\$q - \$h->{weights}[\$i][\$j]) > 1e-6;
                        \$t += \$h->{weights}[\$i][\$j];
                        \$moved = 1 if abs(\$h->{weights}[\$i][\$j] - \$a->{weights}[\$i][\$j]) > 1e-3;
                    }
                    exit 1 if abs(\$t - 1) > 1e-5;
                }
            }
            exit(\$moved ? 0 : 1)'"
    done
done
# norm and norm-out differ (||v|| vs ||v W_O||)
rm -rf "$TMP/n1" "$TMP/n2"
"$MHAVIZ" run --model "$FIX" --weighting norm --heads 0:0 --format json --out "$TMP/n1" "$TMP/s.txt"
"$MHAVIZ" run --model "$FIX" --weighting norm-out --heads 0:0 --format json --out "$TMP/n2" "$TMP/s.txt"
check "norm and norm-out value norms differ" "! cmp -s $TMP/n1/s.json $TMP/n2/s.json"

# --rows keeps some query rows: weighted and normalised the same way
rm -rf "$TMP/rw"
"$MHAVIZ" run --model "$FIX" --rows word:它,last --weighting norm --format json --out "$TMP/rw" "$TMP/s.txt"
check "--rows: weighted rows are the full run's rows" "perl -MJSON::PP -e '
    local \$/; open my \$x, \"<\", \"$TMP/rw/s.json\"; open my \$y, \"<\", \"$TMP/n1/s.json\";
    my \$R = decode_json(<\$x>)->{sentences}[0]; my \$F = decode_json(<\$y>)->{sentences}[0];
    exit 1 unless \"@{\$R->{rows}}\" eq \"13 19\" && @{\$R->{attentions}[0]{norms}} == 2;
    for my \$r (0, 1) { my \$i = \$R->{rows}[\$r]; for my \$j (0..19) {
        exit 1 if abs(\$R->{attentions}[0]{weights}[\$r][\$j] - \$F->{attentions}[0]{weights}[\$i][\$j]) > 1e-7;
        exit 1 if abs(\$R->{attentions}[0]{norms}[\$r][\$j] - \$F->{attentions}[0]{norms}[\$i][\$j]) > 1e-7; } }
    exit 0'"

# titles
rm -rf "$TMP/f"
"$MHAVIZ" run --model "$FIX" --weighting norm --heads 1:2 --format svg --out "$TMP/f" "$TMP/s.txt"
check "head title names the weighting" "grep -q '<title>bert-f32, norm-weighted — layer 1, head 2</title>' $TMP/f/s/L01-H02.svg"
"$MHAVIZ" run --model "$FIX" --weighting norm --heads 1:2 --format svg --svg-text --out "$TMP/ft" "$TMP/s.txt"
check "colourbar caption names the weighting" "grep -q '>norm-weighted attention<' $TMP/ft/s/L01-H02.svg && ! grep -q '>attention weight<' $TMP/ft/s/L01-H02.svg"

# aggregates run on the weighted maps and say so
for agg in mean rollout flow; do
    rm -rf "$TMP/g" "$TMP/g0"
    "$MHAVIZ" run --model "$FIX" --aggregate $agg --weighting norm-out --format json,svg --out "$TMP/g" "$TMP/s.txt"
    "$MHAVIZ" run --model "$FIX" --aggregate $agg --format json --out "$TMP/g0" "$TMP/s.txt"
    check "$agg: weighting named, rows sum to 1, differs from attn" "perl -MJSON::PP -e '
        local \$/; open my \$x, \"<\", \"$TMP/g/s.json\"; open my \$y, \"<\", \"$TMP/g0/s.json\";
        my \$W = decode_json(<\$x>); my \$A = decode_json(<\$y>);
        exit 1 unless \$W->{weighting} eq \"norm-out\" && !exists \$A->{weighting};
        my \$d = 0;
        for my \$l (0..2) { my \$h = \$W->{sentences}[0]{attentions}[\$l];
            exit 1 if exists \$h->{norms} || \$h->{aggregate} ne \"$agg\";
            for my \$i (0..\$#{\$h->{weights}}) { my \$s = 0;
                for my \$j (0..\$#{\$h->{weights}}) { \$s += \$h->{weights}[\$i][\$j];
                    my \$e = abs(\$h->{weights}[\$i][\$j] - \$A->{sentences}[0]{attentions}[\$l]{weights}[\$i][\$j]); \$d = \$e if \$e > \$d; }
                exit 1 if abs(\$s - 1) > 1e-5; } }
        exit(\$d > 1e-3 ? 0 : 1)'"
    check "$agg: title names the weighting" "grep -q '<title>bert-f32, norm-out-weighted — ' $TMP/g/s/L02-$agg.svg"
done

# rank: the score is the weighted map's from -> to mass; named in table and JSON
"$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --weighting norm --top 0 --format json "$TMP/s.txt" >"$TMP/r.json"
rm -rf "$TMP/w"
"$MHAVIZ" run --model "$FIX" --weighting norm --format json --out "$TMP/w" "$TMP/s.txt"
check "rank --weighting norm: json names it, scores from the weighted maps" "perl -MJSON::PP -e '
    local \$/; open my \$x, \"<\", \"$TMP/r.json\"; open my \$y, \"<\", \"$TMP/w/s.json\";
    my \$R = decode_json(<\$x>); my \$W = decode_json(<\$y>);
    exit 1 unless \$R->{weighting} eq \"norm\" && @{\$R->{heads}} == 12;
    my %h = map { (\$_->{layer}.\":\".\$_->{head}) => \$_ } @{\$W->{sentences}[0]{attentions}};
    for my \$e (@{\$R->{heads}}) { my \$w = \$h{\$e->{layer}.\":\".\$e->{head}}{weights};
        my \$s = \$w->[13][1] + \$w->[13][2]; exit 1 if abs(\$s - \$e->{score}) > 1e-6; }
    exit 0'"
"$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --weighting norm-out "$TMP/s.txt" >"$TMP/r.txt"
check "rank table names the weighting" "head -1 $TMP/r.txt | grep -q \"^# heads ranked by norm-out-weighted attention from '它' to '苹果'\""
"$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 "$TMP/s.txt" >"$TMP/r0.txt"
check "rank table without --weighting as before" "head -1 $TMP/r0.txt | grep -q \"^# heads ranked by attention from\""

# stats: JSON names the weighting, --merge refuses to mix
"$MHAVIZ" stats --model "$FIX" --weighting norm --format json --out "$TMP/s1.json" "$TMP/s.txt"
"$MHAVIZ" stats --model "$FIX" --format json --out "$TMP/s0.json" "$TMP/s.txt"
check "stats json names the weighting" "grep -q '\"weighting\": \"norm\"' $TMP/s1.json && ! grep -q weighting $TMP/s0.json"
check "stats: norm statistics differ" "! cmp -s <(\"$MHAVIZ\" stats --merge $TMP/s1.json) <(\"$MHAVIZ\" stats --merge $TMP/s0.json)"
"$MHAVIZ" stats --merge "$TMP/s1.json" --format json --out "$TMP/s2.json"
check "stats --merge keeps the weighting" "grep -q '\"weighting\": \"norm\"' $TMP/s2.json"
expect_fail "stats --merge mixing weightings" 1 "s0.json: cannot merge statistics of attn weighting into norm weighting" -- "$MHAVIZ" stats --merge "$TMP/s1.json" "$TMP/s0.json"
sed 's/"weighting": "norm"/"weighting": "value"/' "$TMP/s1.json" >"$TMP/s3.json"
expect_fail "stats --merge bad weighting" 1 "s3.json: weighting is not attn, norm or norm-out" -- "$MHAVIZ" stats --merge "$TMP/s3.json"

# encoder-decoders: every stack weighted (the cross-attention by the source's value vectors
# through its own projections: tests/test_vnorm_seq2seq.c checks them against transformers);
# weights = norms / row sum, norms = attention x value_norms of the stack's keys
S2S=tests/fixtures/s2s-bart-f32
printf '5 6 7 8 9 10\t2 8 9 10 11\n11 12 13\t2 14\n' >"$TMP/p.txt"
rm -rf "$TMP/sa" "$TMP/sa0"
"$MHAVIZ" run --model "$S2S" --ids --pairs --format json --out "$TMP/sa" "$TMP/p.txt"
"$MHAVIZ" run --model "$S2S" --ids --pairs --weighting attn --format json --out "$TMP/sa0" "$TMP/p.txt"
check "encoder-decoder attn: same bytes as without --weighting" "cmp -s $TMP/sa/p.json $TMP/sa0/p.json"
for w in norm norm-out; do
    rm -rf "$TMP/sw"
    "$MHAVIZ" run --model "$S2S" --ids --pairs --weighting $w --format json,svg --out "$TMP/sw" "$TMP/p.txt" 2>"$TMP/stderr"
    check "encoder-decoder $w: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
    check "encoder-decoder $w: every stack, norms and weights as the attention says" "perl -MJSON::PP -e '
        local \$/; open my \$x, \"<\", \"$TMP/sw/p.json\"; open my \$y, \"<\", \"$TMP/sa/p.json\";
        my \$W = decode_json(<\$x>); my \$A = decode_json(<\$y>);
        exit 1 unless \$W->{weighting} eq \"$w\";
        for my \$s (0, 1) {
            my \$hs = \$W->{sentences}[\$s]{attentions}; my \$as = \$A->{sentences}[\$s]{attentions};
            my %stacks; my \$moved = 0;
            exit 2 unless @\$hs == 32 && @\$as == 32;
            for my \$k (0..\$#\$hs) {
                my (\$h, \$a) = (\$hs->[\$k], \$as->[\$k]); my \$vn = \$h->{value_norms};
                exit 3 unless \$h->{stack} eq \$a->{stack} && \$h->{head} == \$a->{head};
                \$stacks{\$h->{stack}}++;
                my \$cols = @{\$a->{weights}[0]};
                exit 4 unless @\$vn == \$cols && @{\$h->{norms}} == @{\$a->{weights}};
                for my \$i (0..\$#{\$a->{weights}}) {
                    my (\$s1, \$t) = (0, 0);
                    \$s1 += \$_ for @{\$h->{norms}[\$i]};
                    for my \$j (0..\$cols-1) {
                        my \$p = \$a->{weights}[\$i][\$j] * \$vn->[\$j];
                        exit 5 if abs(\$p - \$h->{norms}[\$i][\$j]) > 1e-6 * (1 + \$p);
                        my \$q = \$s1 > 0 ? \$h->{norms}[\$i][\$j] / \$s1 : 0;
                        exit 6 if abs(\$q - \$h->{weights}[\$i][\$j]) > 1e-6;
                        \$t += \$h->{weights}[\$i][\$j];
                        \$moved = 1 if abs(\$h->{weights}[\$i][\$j] - \$a->{weights}[\$i][\$j]) > 1e-3;
                    }
                    exit 7 if abs(\$t - 1) > 1e-5;
                }
            }
            exit 8 unless \$stacks{encoder} == 8 && \$stacks{decoder} == 12 && \$stacks{cross} == 12 && \$moved;
        }
        exit 0'"
    check "encoder-decoder $w: titles name the weighting" "grep -q '<title>s2s-bart-f32, $w-weighted · cross-attention — layer 1, head 2</title>' $TMP/sw/p/X01-H02.svg && grep -q '<title>s2s-bart-f32, $w-weighted · encoder — layer 0, head 1</title>' $TMP/sw/p/E00-H01.svg"
done
rm -rf "$TMP/sm" "$TMP/sm0"
"$MHAVIZ" run --model "$S2S" --ids --pairs --aggregate mean --weighting norm-out --format json --out "$TMP/sm" "$TMP/p.txt"
"$MHAVIZ" run --model "$S2S" --ids --pairs --heads 'cross:*:*' --weighting norm-out --format json --out "$TMP/sm0" "$TMP/p.txt"
check "encoder-decoder --aggregate mean of the weighted maps" "perl -MJSON::PP -e '
    local \$/; open my \$x, \"<\", \"$TMP/sm/p.json\"; open my \$y, \"<\", \"$TMP/sm0/p.json\";
    my \$M = decode_json(<\$x>); my \$H = decode_json(<\$y>);
    exit 1 unless \$M->{weighting} eq \"norm-out\";
    my @x = grep { \$_->{stack} eq \"cross\" && \$_->{layer} == 2 } @{\$M->{sentences}[0]{attentions}};
    my @h = grep { \$_->{layer} == 2 } @{\$H->{sentences}[0]{attentions}};
    exit 2 unless @x == 1 && @h == 4 && !exists \$x[0]{norms};
    for my \$i (0..4) { for my \$j (0..5) { my \$m = 0; \$m += \$_->{weights}[\$i][\$j] / 4 for @h;
        exit 3 if abs(\$m - \$x[0]{weights}[\$i][\$j]) > 1e-6; } }
    exit 0'"
rm -rf "$TMP/sg"
printf "5 17 25 3 9\n" >"$TMP/g.txt"
"$MHAVIZ" run --model tests/fixtures/s2s-bart-f32 --ids --generate 4 --weighting norm --heads 'cross:*:*' --format json --out "$TMP/sg" "$TMP/g.txt"
check "encoder-decoder --generate with --weighting" "[ $? = 0 ] && grep -q '\"weighting\": \"norm\"' $TMP/sg/g.json && grep -q '\"value_norms\"' $TMP/sg/g.json"

# rank and stats --pairs --stack on the weighted maps: scores and entropies from run's
# (Hallo: target tokens 1-6, Hello: source tokens 0-5)
T=tests/fixtures/s2s-t5-tok-f16
printf 'Hello world\tHallo Welt\n' >"$TMP/r.txt"
rm -rf "$TMP/rw2"
"$MHAVIZ" run --model $T --pairs --weighting norm-out --format json --out "$TMP/rw2" "$TMP/r.txt" 2>/dev/null
"$MHAVIZ" rank --model $T --pairs --stack cross --from Hallo --to Hello --weighting norm-out --top 0 \
    --format json "$TMP/r.txt" >"$TMP/rank.json" 2>"$TMP/stderr"
check "rank --stack cross --weighting: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
check "rank --stack cross --weighting: named, scores from run's weighted maps" "perl -MJSON::PP -e '
    local \$/; open my \$a, \"<\", \"$TMP/rw2/r.json\"; open my \$b, \"<\", \"$TMP/rank.json\";
    my \$run = decode_json(<\$a>)->{sentences}[0]; my \$rk = decode_json(<\$b>);
    exit 1 unless \$rk->{weighting} eq \"norm-out\" && @{\$rk->{heads}} == 8;
    my %w = map { (\$_->{layer}.\":\".\$_->{head}) => \$_->{weights} } grep { \$_->{stack} eq \"cross\" } @{\$run->{attentions}};
    for my \$e (@{\$rk->{heads}}) { my \$m = \$w{\$e->{layer}.\":\".\$e->{head}};
        my \$sc = 0; for my \$r (1 .. 6) { \$sc += \$m->[\$r][\$_] for 0 .. 5; }
        exit 2 if abs(\$sc / 6 - \$e->{score}) > 1e-6; }
    exit 0'"
"$MHAVIZ" rank --model $T --pairs --stack cross --from Hallo --to Hello --weighting norm "$TMP/r.txt" >"$TMP/rank.txt"
check "rank --stack table names the weighting" "head -1 $TMP/rank.txt | grep -q \"^# cross heads ranked by norm-weighted attention from 'Hallo'\""
"$MHAVIZ" stats --model $T --pairs --stack cross --weighting norm-out --format csv "$TMP/r.txt" >"$TMP/st.csv" 2>"$TMP/stderr"
check "stats --stack cross --weighting: entropy of run's weighted maps" "[ $? = 0 ] && perl -MJSON::PP -e '
    local \$/; open my \$a, \"<\", \"$TMP/rw2/r.json\"; my \$run = decode_json(<\$a>)->{sentences}[0];
    open my \$c, \"<\", \"$TMP/st.csv\"; my @lines = split /\n/, <\$c>; shift @lines;
    my %csv = map { my @f = split /,/; (\"\$f[0]:\$f[1]\" => \\@f) } @lines;
    my \$seen = 0;
    for my \$h (grep { \$_->{stack} eq \"cross\" } @{\$run->{attentions}}) {
        my \$w = \$h->{weights}; my \$ent = 0; \$seen++;
        for my \$i (0 .. \$#\$w) { for my \$p (@{\$w->[\$i]}) { \$ent -= \$p * log(\$p) / log(2) if \$p > 0; } }
        my \$f = \$csv{\"\$h->{layer}:\$h->{head}\"} or exit 2;
        exit 3 if abs(\$f->[2] - \$ent / @\$w) > 1e-5;
    }
    exit(\$seen == @lines && \$seen == 8 ? 0 : 4)'"
"$MHAVIZ" stats --model $T --pairs --stack cross --weighting norm --format json "$TMP/r.txt" >"$TMP/st.json"
check "stats --stack --weighting: json names it" "grep -q '\"weighting\": \"norm\"' $TMP/st.json"
expect_fail "rank --weighting on an encoder's pairs" 2 "--weighting with --pairs is for encoder-decoder models" -- \
    "$MHAVIZ" rank --model "$FIX" --pairs --from 它 --to 苹果 --weighting norm <(printf '苹果\t它\n')
expect_fail "stats --weighting on an encoder's pairs" 2 "on encoders without --weighting and --truncate" -- \
    "$MHAVIZ" stats --model "$FIX" --pairs --weighting norm "$TMP/s.txt"

# usage errors
expect_fail "run --weighting bad" 2 "--weighting 'value' is not attn, norm or norm-out" -- "$MHAVIZ" run --model "$FIX" --weighting value --out "$TMP/out" "$TMP/s.txt"
expect_fail "rank --weighting bad" 2 "--weighting 'Norm' is not attn, norm or norm-out" -- "$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --weighting Norm "$TMP/s.txt"
expect_fail "stats --weighting bad" 2 "--weighting '' is not attn, norm or norm-out" -- "$MHAVIZ" stats --model "$FIX" --weighting '' "$TMP/s.txt"
expect_fail "stats --merge --weighting" 2 "--merge takes no --model, --shard, --truncate or --weighting" -- "$MHAVIZ" stats --merge --weighting norm "$TMP/s1.json"
finish
