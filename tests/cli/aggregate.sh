#!/usr/bin/env bash
# mhaviz run --aggregate: one JSON entry per layer, rows of probabilities; usage errors.
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/bert-f32
check() { if eval "$2"; then ok; else bad "$1"; fi; }
printf '苹果从树上掉下来，小明把它捡起来了。\n' >"$TMP/s.txt"

for kind in mean rollout; do
    "$MHAVIZ" run --model "$FIX" --aggregate $kind --out "$TMP/$kind" "$TMP/s.txt" 2>"$TMP/stderr"
    check "$kind: exit 0, json by default" "[ $? = 0 ] && [ -s $TMP/$kind/s.json ] && [ ! -s $TMP/stderr ]"
    check "$kind: one entry per layer, rows sum to 1" "perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>); my \$a = \$j->{sentences}[0]{attentions}; exit 1 unless @\$a == 3; for my \$l (0..2) { exit 1 unless \$a->[\$l]{layer} == \$l && \$a->[\$l]{aggregate} eq \"$kind\" && !exists \$a->[\$l]{head}; for my \$r (@{\$a->[\$l]{weights}}) { my \$s = 0; \$s += \$_ for @\$r; exit 1 if abs(\$s - 1) > 1e-5 } } exit 0' <$TMP/$kind/s.json"
done
expect_fail "unknown aggregate" 2 "--aggregate 'max' is not mean or rollout" -- "$MHAVIZ" run --model "$FIX" --aggregate max --out "$TMP/out" "$TMP/s.txt"
expect_fail "aggregate is JSON only" 2 "--aggregate writes JSON only" -- "$MHAVIZ" run --model "$FIX" --aggregate mean --format png --out "$TMP/out" "$TMP/s.txt"
expect_fail "aggregate needs all heads" 2 "--aggregate needs every head" -- "$MHAVIZ" run --model "$FIX" --aggregate mean --heads 0:1 --out "$TMP/out" "$TMP/s.txt"
finish
