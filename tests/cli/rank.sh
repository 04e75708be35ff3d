#!/usr/bin/env bash
# mhaviz rank: table and JSON output, the score against `run`'s own weights, skipping and errors.
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/bert-f32
check() { if eval "$2"; then ok; else bad "$1"; fi; }
S='苹果从树上掉下来，小明把它捡起来了。'
printf '%s\n' "$S" >"$TMP/one.txt"
printf '%s\n我喜欢小猫。\n它是苹果吗？苹果！\n' "$S" >"$TMP/three.txt"

"$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 "$TMP/one.txt" >"$TMP/table" 2>"$TMP/stderr"
check "table exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
check "table: header + 10 rows" "[ \$(grep -c '^ *[0-9]' $TMP/table) = 10 ] && head -1 $TMP/table | grep -q \"from '它' to '苹果'\""

"$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --format json --top 100 "$TMP/one.txt" >"$TMP/rank.json"
check "json: every head, sorted by score" "perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>); exit 1 unless @\$j == 12; for my \$i (1..\$#\$j) { exit 1 if \$j->[\$i]{score} > \$j->[\$i-1]{score} } exit 0' <$TMP/rank.json"
check "--top 3" "[ \"\$(\"$MHAVIZ\" rank --model $FIX --from 它 --to 苹果 --format json --top 3 $TMP/one.txt | grep -c layer)\" = 3 ]"
check "--top 0 = all" "[ \"\$(\"$MHAVIZ\" rank --model $FIX --from 它 --to 苹果 --format json --top 0 $TMP/one.txt | grep -c layer)\" = 12 ]"

# the score is run's weights: row of 它 (token 13), summed over 苹 果 (tokens 1, 2)
"$MHAVIZ" run --model "$FIX" --format json --out "$TMP/run" "$TMP/one.txt"
check "scores equal run's weights" "perl -MJSON::PP -e '
    local \$/; open my \$a, \"<\", \"$TMP/run/one.json\"; open my \$b, \"<\", \"$TMP/rank.json\";
    my \$run = decode_json(<\$a>); my \$rank = decode_json(<\$b>);
    my %want; for my \$h (@{\$run->{sentences}[0]{attentions}}) {
        my \$r = \$h->{weights}[13]; \$want{\"\$h->{layer}:\$h->{head}\"} = \$r->[1] + \$r->[2]; }
    for my \$e (@\$rank) { exit 1 if abs(\$e->{score} - \$want{\"\$e->{layer}:\$e->{head}\"}) > 1e-6 }
    exit 0'"

"$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --format json "$TMP/three.txt" >"$TMP/out3" 2>"$TMP/stderr"
check "many sentences: skipped and counted" "[ $? = 0 ] && grep -q 'skipped 1 of 3 sentences' $TMP/stderr"
check "--nth 2 of 苹果 in line 3" "\"$MHAVIZ\" rank --model $FIX --from 它 --to 苹果 --to-nth 2 $TMP/three.txt 2>&1 >/dev/null | grep -q 'skipped 2 of 3'"

expect_fail "absent word names the sentence" 1 "line 1: '猫' does not occur in \"$S\"" -- "$MHAVIZ" rank --model "$FIX" --from 猫 --to 苹果 "$TMP/one.txt"
expect_fail "nth beyond the occurrences" 1 "'它' occurs 1 time, occurrence 2 asked" -- "$MHAVIZ" rank --model "$FIX" --from 它 --nth 2 --to 苹果 "$TMP/one.txt"
expect_fail "no sentence has both" 1 "no sentence contains both '狗' and '苹果'" -- "$MHAVIZ" rank --model "$FIX" --from 狗 --to 苹果 "$TMP/three.txt"
expect_fail "--from required" 2 "--from WORD is required" -- "$MHAVIZ" rank --model "$FIX" --to 苹果 "$TMP/one.txt"
expect_fail "bad --top" 2 "--top 'x'" -- "$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --top x "$TMP/one.txt"
expect_fail "bad --nth" 2 "--nth '0'" -- "$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --nth 0 "$TMP/one.txt"
expect_fail "bad --format" 2 "--format 'png'" -- "$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --format png "$TMP/one.txt"
check "help" "\"$MHAVIZ\" rank --help | grep -q '^usage: mhaviz rank'"

# --render: the listed heads' figures, named like run's, nothing else; stdout unchanged
listing() { (cd "$1" && ls -A | tr '\n' ' '); }
is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }
rm -rf "$TMP/out"
"$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --top 3 --format json --render --out "$TMP/out" "$TMP/one.txt" >"$TMP/r.json" 2>"$TMP/stderr"
check "render exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
want=$(perl -MJSON::PP -e 'local $/; my @n = map { sprintf "L%02d-H%02d.png", $_->{layer}, $_->{head} } @{decode_json(<STDIN>)}; print join(" ", sort @n), " "' <"$TMP/r.json")
check "render: one PNG per listed head" "[ \"\$(listing $TMP/out)\" = 'one ' ] && [ \"\$(listing $TMP/out/one)\" = \"$want\" ]"
check "render: stdout is the ranking" "[ \"\$(head -c 1 $TMP/r.json)\" = '[' ] && [ \$(grep -c layer $TMP/r.json) = 3 ]"
bad_png=0
for f in "$TMP"/out/one/*.png; do is_png "$f" || bad_png=1; done
check "render: files are PNG" "[ $bad_png = 0 ]"
top=$(perl -MJSON::PP -e 'local $/; my $e = decode_json(<STDIN>)->[0]; printf "L%02d-H%02d", $e->{layer}, $e->{head}' <"$TMP/r.json")
rm -rf "$TMP/out"
"$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --top 1 --render-format svg,png --out "$TMP/out" "$TMP/one.txt" >/dev/null
check "render-format svg,png" "[ \"\$(listing $TMP/out/one)\" = \"$top.png $top.svg \" ]"
check "svg: row and column boxes, ticks" "[ \$(grep -c '<rect class=\"highlight\"' $TMP/out/one/$top.svg) = 18 ]"
check "svg: title says what is outlined" "grep -q '<title>bert-f32 .* outlined: 它 → 苹果</title>' $TMP/out/one/$top.svg"
# several sentences: a directory per sentence used, numbered as run numbers them
rm -rf "$TMP/out"
"$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --top 2 --render --out "$TMP/out" "$TMP/three.txt" >/dev/null 2>&1
check "render: skipped sentence has no directory" "[ \"\$(listing $TMP/out)\" = 'three three-3 ' ] && [ \$(ls $TMP/out/three-3 | wc -l) = 2 ]"
# a failure while drawing takes back every figure and prints no ranking
rm -rf "$TMP/out"
mkdir -p "$TMP/out"
: >"$TMP/out/three-3"
"$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --render --out "$TMP/out" "$TMP/three.txt" >"$TMP/stdout" 2>"$TMP/stderr"
check "render failure exit 1, one line" "[ $? = 1 ] && grep -q '^mhaviz: .*three-3: not a directory' $TMP/stderr && [ \$(grep -c '^mhaviz: ' $TMP/stderr) = \$(wc -l <$TMP/stderr) ] && [ ! -s $TMP/stdout ]"
check "render failure leaves only what was there" "[ \"\$(listing $TMP/out)\" = 'three-3 ' ]"
expect_fail "render: absent word writes nothing" 1 "'猫' does not occur" -- "$MHAVIZ" rank --model "$FIX" --from 猫 --to 苹果 --render --out "$TMP/out" "$TMP/one.txt"
expect_fail "bad --render-format" 2 "--render-format 'json'" -- "$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --render-format json --out "$TMP/out" "$TMP/one.txt"
expect_fail "--out without --render" 2 "--out is for --render" -- "$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --out "$TMP/out" "$TMP/one.txt"
check "help: --render" "\"$MHAVIZ\" rank --help | grep -q -- '--render '"
finish
