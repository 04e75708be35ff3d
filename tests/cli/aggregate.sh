#!/usr/bin/env bash
# mhaviz run --aggregate: one figure and one JSON entry per layer, rows of probabilities;
# file names apart from head figures; usage errors and no partial output.
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/bert-f32   # 3 layers, 4 heads
check() { if eval "$2"; then ok; else bad "$1"; fi; }
listing() { (cd "$1" && ls -A | tr '\n' ' '); }
is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }
printf '苹果从树上掉下来，小明把它捡起来了。\n' >"$TMP/s.txt"

for kind in mean rollout flow; do
    "$MHAVIZ" run --model "$FIX" --aggregate $kind --out "$TMP/$kind" "$TMP/s.txt" >"$TMP/stdout" 2>"$TMP/stderr"
    check "$kind: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stdout ] && [ ! -s $TMP/stderr ]"
    check "$kind: PNG by default, one per layer" "[ \"\$(listing $TMP/$kind)\" = 's ' ] && [ \"\$(listing $TMP/$kind/s)\" = 'L00-$kind.png L01-$kind.png L02-$kind.png ' ]"
    bad_png=0
    for f in "$TMP/$kind"/s/*.png; do is_png "$f" || bad_png=1; done
    check "$kind: files are PNG" "[ $bad_png = 0 ]"
    rm -rf "$TMP/$kind"
    "$MHAVIZ" run --model "$FIX" --aggregate $kind --format json --out "$TMP/$kind" "$TMP/s.txt" 2>"$TMP/stderr"
    check "$kind: --format json alone" "[ $? = 0 ] && [ \"\$(listing $TMP/$kind)\" = 's.json ' ] && [ ! -s $TMP/stderr ]"
    check "$kind: one entry per layer, rows sum to 1" "perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>); my \$a = \$j->{sentences}[0]{attentions}; exit 1 unless @\$a == 3; for my \$l (0..2) { exit 1 unless \$a->[\$l]{layer} == \$l && \$a->[\$l]{aggregate} eq \"$kind\" && !exists \$a->[\$l]{head}; for my \$r (@{\$a->[\$l]{weights}}) { my \$s = 0; \$s += \$_ for @\$r; exit 1 if abs(\$s - 1) > 1e-5 } } exit 0' <$TMP/$kind/s.json"
done

# svg and json together; titles say what each figure averages
rm -rf "$TMP/out"
"$MHAVIZ" run --model "$FIX" --aggregate mean --format svg,json --out "$TMP/out" "$TMP/s.txt"
check "mean svg+json files" "[ \"\$(listing $TMP/out)\" = 's s.json ' ] && [ \"\$(listing $TMP/out/s)\" = 'L00-mean.svg L01-mean.svg L02-mean.svg ' ]"
check "mean title" "grep -q '<title>bert-f32 — layer 1, mean of heads</title>' $TMP/out/s/L01-mean.svg"
rm -rf "$TMP/out"
"$MHAVIZ" run --model "$FIX" --aggregate rollout --format svg --out "$TMP/out" "$TMP/s.txt"
check "rollout title" "grep -q '<title>bert-f32 — rollout of layers 0..2</title>' $TMP/out/s/L02-rollout.svg"
rm -rf "$TMP/out"
"$MHAVIZ" run --model "$FIX" --aggregate flow --format svg,json --out "$TMP/out" "$TMP/s.txt"
check "flow title" "grep -q '<title>bert-f32 — attention flow through layers 0..2</title>' $TMP/out/s/L02-flow.svg"
# layer 0's flow is its mixed attention itself (one edge from each position to each token):
# 0.5 * head mean + 0.5 * I, as the rollout of layer 0; the deeper layers are not rollout
"$MHAVIZ" run --model "$FIX" --aggregate rollout --format json --out "$TMP/roll" "$TMP/s.txt"
check "flow: layer 0 = rollout's, deeper layers differ" "perl -MJSON::PP -e '
    local \$/; open my \$a, \"<\", \"$TMP/out/s.json\"; open my \$b, \"<\", \"$TMP/roll/s.json\";
    my \$f = decode_json(<\$a>)->{sentences}[0]{attentions}; my \$r = decode_json(<\$b>)->{sentences}[0]{attentions};
    my (\$d0, \$d2) = (0, 0);
    for my \$i (0..\$#{\$f->[0]{weights}}) { for my \$j (0..\$#{\$f->[0]{weights}}) {
        my \$x = abs(\$f->[0]{weights}[\$i][\$j] - \$r->[0]{weights}[\$i][\$j]); \$d0 = \$x if \$x > \$d0;
        my \$y = abs(\$f->[2]{weights}[\$i][\$j] - \$r->[2]{weights}[\$i][\$j]); \$d2 = \$y if \$y > \$d2; } }
    exit(\$d0 < 1e-6 && \$d2 > 1e-3 ? 0 : 1)'"
# a plain run into the same directory replaces the sentence's folder, and says so
"$MHAVIZ" run --model "$FIX" --format svg --out "$TMP/out" "$TMP/s.txt" 2>"$TMP/stderr"
check "replaced by head figures" "[ \$(ls $TMP/out/s | wc -l) = 16 ] && [ ! -e $TMP/out/s/L02-rollout.svg ] && [ -s $TMP/out/s/L02.svg ] && grep -q 'replaced s/ of an earlier run' $TMP/stderr"

# a failure after figures were written takes them all back
# (the second line holds a piece the vocabulary has and the model has no embedding for)
rm -rf "$TMP/out" "$TMP/m"
mkdir -p "$TMP/out"
: >"$TMP/out/s-2"
cp -r "$FIX" "$TMP/m"; perl -e 'print "p$_\n" for 1..1000' >>"$TMP/m/vocab.txt"
printf '[CLS] [SEP]\n[CLS] p1000 [SEP]\n' >"$TMP/s.txt"
"$MHAVIZ" run --model "$TMP/m" --pretokenized --aggregate rollout --format png,json --out "$TMP/out" "$TMP/s.txt" >"$TMP/stdout" 2>"$TMP/stderr"
check "late failure exit 2" "[ $? = 2 ] && grep -q '^mhaviz: .*s.txt: line 2: token id 1428 outside' $TMP/stderr && [ \$(wc -l <$TMP/stderr) = 1 ]"
check "late failure leaves only what was there" "[ \"\$(ls -A $TMP/out | tr '\\n' ' ')\" = 's-2 ' ]"

expect_fail "unknown aggregate" 2 "--aggregate 'max' is not mean, rollout or flow" -- "$MHAVIZ" run --model "$FIX" --aggregate max --out "$TMP/out" "$TMP/s.txt"
expect_fail "aggregate needs all heads" 2 "--aggregate needs every head" -- "$MHAVIZ" run --model "$FIX" --aggregate mean --heads 0:1 --out "$TMP/out" "$TMP/s.txt"
check "help: --aggregate draws" "\"$MHAVIZ\" run --help | grep -q 'L05-rollout.png'"
check "help: --aggregate flow" "\"$MHAVIZ\" run --help | grep -q 'L05-flow.png'"
finish
