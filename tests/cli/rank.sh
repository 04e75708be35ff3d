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
check "json: every head, sorted by score" "perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>)->{heads}; exit 1 unless @\$j == 12; for my \$i (1..\$#\$j) { exit 1 if \$j->[\$i]{score} > \$j->[\$i-1]{score} } exit 0' <$TMP/rank.json"
check "--top 3" "[ \"\$(\"$MHAVIZ\" rank --model $FIX --from 它 --to 苹果 --format json --top 3 $TMP/one.txt | grep -c layer)\" = 3 ]"
check "--top 0 = all" "[ \"\$(\"$MHAVIZ\" rank --model $FIX --from 它 --to 苹果 --format json --top 0 $TMP/one.txt | grep -c layer)\" = 12 ]"

# the score is run's weights: row of 它 (token 13), summed over 苹 果 (tokens 1, 2)
"$MHAVIZ" run --model "$FIX" --format json --out "$TMP/run" "$TMP/one.txt"
check "scores equal run's weights" "perl -MJSON::PP -e '
    local \$/; open my \$a, \"<\", \"$TMP/run/one.json\"; open my \$b, \"<\", \"$TMP/rank.json\";
    my \$run = decode_json(<\$a>); my \$rank = decode_json(<\$b>);
    my %want; for my \$h (@{\$run->{sentences}[0]{attentions}}) {
        my \$r = \$h->{weights}[13]; \$want{\"\$h->{layer}:\$h->{head}\"} = \$r->[1] + \$r->[2]; }
    for my \$e (@{\$rank->{heads}}) { exit 1 if abs(\$e->{score} - \$want{\"\$e->{layer}:\$e->{head}\"}) > 1e-6 }
    exit 0'"

"$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --format json "$TMP/three.txt" >"$TMP/out3" 2>"$TMP/stderr"
check "many sentences: skipped and counted" "[ $? = 0 ] && grep -q 'skipped 1 of 3 sentences' $TMP/stderr"
check "--nth 2 of 苹果 in line 3" "\"$MHAVIZ\" rank --model $FIX --from 它 --to 苹果 --to-nth 2 $TMP/three.txt 2>&1 >/dev/null | grep -q 'skipped 2 of 3'"

expect_fail "absent word names the sentence" 1 "line 1: '猫' does not occur in \"$S\"" -- "$MHAVIZ" rank --model "$FIX" --from 猫 --to 苹果 "$TMP/one.txt"
expect_fail "nth beyond the occurrences" 1 "line 1 has 1 occurrence of '它'; --nth 2 asked for the second, in \"$S\"" -- "$MHAVIZ" rank --model "$FIX" --from 它 --nth 2 --to 苹果 "$TMP/one.txt"
expect_fail "no sentence has both" 1 "no sentence contains both '狗' and '苹果'" -- "$MHAVIZ" rank --model "$FIX" --from 狗 --to 苹果 "$TMP/three.txt"
expect_fail "--from required" 2 "--from WORD is required" -- "$MHAVIZ" rank --model "$FIX" --to 苹果 "$TMP/one.txt"
expect_fail "bad --top" 2 "--top 'x'" -- "$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --top x "$TMP/one.txt"
expect_fail "bad --nth" 2 "--nth '0'" -- "$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --nth 0 "$TMP/one.txt"
expect_fail "bad --format" 2 "--format 'png'" -- "$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --format png "$TMP/one.txt"
check "help" "\"$MHAVIZ\" rank --help | grep -q '^usage: mhaviz rank'"

# which tokens were matched: a comment line per sentence in the table, "sentences" in JSON
check "table names the tokens matched" "grep -qxF '# line 1: '\''它'\'' = token 13 \"它\"; '\''苹果'\'' = tokens 1 \"苹\", 2 \"果\"' $TMP/table"
check "json names the tokens matched" "perl -Mutf8 -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>); my \$s = \$j->{sentences};
    exit 1 unless \$j->{from} eq \"它\" && \$j->{to} eq \"苹果\" && @\$s == 1 && \$s->[0]{line} == 1;
    exit 1 unless join(\",\", map { \"\$_->{index}=\$_->{text}\" } @{\$s->[0]{from}}, @{\$s->[0]{to}}) eq \"13=它,1=苹,2=果\"; exit 0' <$TMP/rank.json"
"$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --format json "$TMP/three.txt" 2>/dev/null >"$TMP/three.json"
check "json: only the sentences used" "perl -MJSON::PP -e 'local \$/; my \$s = decode_json(<STDIN>)->{sentences};
    exit 1 unless join(\" \", map { \$_->{line} . \":\" . \$_->{from}[0]{index} . \"-\" . \$_->{to}[0]{index} } @\$s) eq \"1:13-1 3:1-3\"; exit 0' <$TMP/three.json"

# --nth past the count says how many there are, also when no sentence is left
printf '苹果掉了，它说它饿了。\n我喜欢小猫。\n' >"$TMP/two.txt"
expect_fail "--nth 3 of two" 1 "line 1 has 2 occurrences of '它'; --nth 3 asked for the third, in \"苹果掉了，它说它饿了。\"" -- "$MHAVIZ" rank --model "$FIX" --from 它 --nth 3 --to 苹果 "$TMP/two.txt"
expect_fail "--to-nth past the count" 1 "line 1 has 1 occurrence of '苹果'; --to-nth 12 asked for the 12th" -- "$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --to-nth 12 "$TMP/two.txt"
check "--nth 2 of two" "\"$MHAVIZ\" rank --model $FIX --from 它 --nth 2 --to 苹果 $TMP/two.txt 2>/dev/null | grep -qF \"# line 1: '它' = token 8 \\\"它\\\"\""

# whole words: the trophy sentence on the MiniLM fixture (fit, trophy, suitcase are [UNK])
MINI=tests/fixtures/minilm-2l
T='The trophy did not fit into the suitcase because it was too big.'
printf '%s\n' "$T" >"$TMP/trophy.txt"
"$MHAVIZ" rank --model "$MINI" --from it --to the --top 0 "$TMP/trophy.txt" >"$TMP/t.table" 2>"$TMP/stderr"
check "it -> the: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
check "'it' is the word, not inside 'fit'" "grep -qxF \"# line 1: 'it' = token 10 \\\"it\\\"; 'the' = token 7 \\\"the\\\"\" $TMP/t.table"
"$MHAVIZ" rank --model "$MINI" --from it --to the --top 0 --format json "$TMP/trophy.txt" >"$TMP/t.json"
"$MHAVIZ" run --model "$MINI" --format json --out "$TMP/trun" "$TMP/trophy.txt"
check "scores are row 10 (it), column 7 (the)" "perl -MJSON::PP -e '
    local \$/; open my \$a, \"<\", \"$TMP/trun/trophy.json\"; open my \$b, \"<\", \"$TMP/t.json\";
    my \$run = decode_json(<\$a>); my \$rank = decode_json(<\$b>); my %want;
    for my \$h (@{\$run->{sentences}[0]{attentions}}) { \$want{\"\$h->{layer}:\$h->{head}\"} = \$h->{weights}[10][7] }
    exit 1 unless @{\$rank->{heads}} == 24;
    for my \$e (@{\$rank->{heads}}) { exit 1 if abs(\$e->{score} - \$want{\"\$e->{layer}:\$e->{head}\"}) > 1e-6 }
    exit 0'"
expect_fail "whole words: one 'it'" 1 "line 1 has 1 occurrence of 'it'; --nth 2 asked for the second (2 more inside other words: --substring counts those)" -- "$MHAVIZ" rank --model "$MINI" --from it --nth 2 --to the "$TMP/trophy.txt"
check "--substring: 'it' of 'fit' first" "\"$MHAVIZ\" rank --model $MINI --from it --to the --substring --allow-unk $TMP/trophy.txt | grep -qF \"# line 1: 'it' = token 5 \\\"[UNK]\\\"\""
check "--substring --nth 3: the word" "\"$MHAVIZ\" rank --model $MINI --from it --nth 3 --to the --substring $TMP/trophy.txt | grep -qF \"# line 1: 'it' = token 10 \\\"it\\\"\""
expect_fail "only inside a word" 1 "line 1: 'it' occurs only inside other words (1 time; --substring counts those)" -- sh -c "printf 'the fit\n' | \"$MHAVIZ\" rank --model $MINI --from it --to the -"
# [UNK]: reported and skipped unless --allow-unk
expect_fail "unk: trophy" 1 "line 1: 'trophy' is only the unknown token [UNK] (token 2): the vocabulary lacks it; --allow-unk ranks it anyway" -- "$MHAVIZ" rank --model "$MINI" --from it --to trophy "$TMP/trophy.txt"
check "--allow-unk: trophy" "\"$MHAVIZ\" rank --model $MINI --from it --to trophy --allow-unk $TMP/trophy.txt | grep -qF \"'trophy' = token 2 \\\"[UNK]\\\"\""
expect_fail "--substring: 'it' of 'fit' is [UNK]" 1 "'it' is only the unknown token [UNK] (token 5)" -- "$MHAVIZ" rank --model "$MINI" --from it --to the --substring "$TMP/trophy.txt"
expect_fail "unk: Chinese on MiniLM" 1 "line 1: '它' is only the unknown token [UNK]" -- "$MHAVIZ" rank --model "$MINI" --from 它 --to 苹果 "$TMP/one.txt"
check "--allow-unk: Chinese on MiniLM" "\"$MHAVIZ\" rank --model $MINI --from 它 --to 苹果 --allow-unk $TMP/one.txt | grep -qF \"# line 1: '它' = token 13 \\\"[UNK]\\\"; '苹果' = tokens 1 \\\"[UNK]\\\", 2 \\\"[UNK]\\\"\""
printf 'it saw the dog\nit saw the hotdog\nno such word\n' >"$TMP/dogs.txt"
"$MHAVIZ" rank --model "$MINI" --from it --to dog --substring --format json "$TMP/dogs.txt" >"$TMP/dogs.json" 2>"$TMP/stderr"
check "unk skipped and counted" "[ $? = 0 ] && [ \$(wc -l <$TMP/stderr) = 2 ] && grep -qxF \"mhaviz: $TMP/dogs.txt: skipped 1 of 3 sentences where 'it' or 'dog' is only the unknown token [UNK] (--allow-unk ranks them)\" $TMP/stderr && grep -qF 'skipped 1 of 3 sentences lacking' $TMP/stderr"
check "unk skipped: listed in JSON" "perl -MJSON::PP -e 'local \$/; my \$s = decode_json(<STDIN>)->{sentences};
    exit 1 unless @\$s == 2 && !exists \$s->[0]{skipped} && \$s->[1]{line} == 2 && \$s->[1]{skipped} eq \"unknown token\" && \$s->[1]{to}[0]{index} == 4 && \$s->[1]{to}[0]{text} eq \"[UNK]\"; exit 0' <$TMP/dogs.json"
check "unk skipped: listed in the table" "\"$MHAVIZ\" rank --model $MINI --from it --to dog --substring $TMP/dogs.txt 2>/dev/null | grep -qxF \"# line 2: skipped, only unknown tokens: 'it' = token 1 \\\"it\\\"; 'dog' = token 4 \\\"[UNK]\\\"\""
check "--allow-unk ranks both" "\"$MHAVIZ\" rank --model $MINI --from it --to dog --substring --allow-unk $TMP/dogs.txt 2>&1 >/dev/null | grep -qx 'mhaviz: .*skipped 1 of 3 sentences lacking .*'"
printf 'it saw the hotdog\nno such word\n' >"$TMP/hotdog.txt"
expect_fail "unk: the only reason left" 1 "line 1: 'dog' is only the unknown token [UNK] (token 4)" -- "$MHAVIZ" rank --model "$MINI" --from it --to dog --substring "$TMP/hotdog.txt"
# German and mixed text, whole words (tokens: [CLS] der hund sah , dass er mude war . [SEP], all [UNK])
printf 'Der Hund sah, dass er müde war.\n' >"$TMP/de.txt"
check "German: 'er' is not in 'Der'" "\"$MHAVIZ\" rank --model $MINI --from er --to Hund --allow-unk $TMP/de.txt | grep -qF \"# line 1: 'er' = token 6\""
check "German --substring: 'er' of 'Der'" "\"$MHAVIZ\" rank --model $MINI --from er --to Hund --allow-unk --substring $TMP/de.txt | grep -qF \"# line 1: 'er' = token 1\""
printf '它是the dog，it吃了苹果。\n' >"$TMP/mixed.txt"
check "mixed: English word beside CJK" "\"$MHAVIZ\" rank --model $MINI --from it --to dog $TMP/mixed.txt | grep -qF \"# line 1: 'it' = token 6 \\\"it\\\"; 'dog' = token 4 \\\"dog\\\"\""
check "help: --substring, --allow-unk, columns" "\"$MHAVIZ\" rank --help | grep -q -- '--substring' && \"$MHAVIZ\" rank --help | grep -q -- '--allow-unk' && \"$MHAVIZ\" rank --help | grep -q -- '-mean (score minus the mean'"

# --render: the listed heads' figures, named like run's, nothing else; stdout unchanged
listing() { (cd "$1" && ls -A | tr '\n' ' '); }
is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }
rm -rf "$TMP/out"
"$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --top 3 --format json --render --out "$TMP/out" "$TMP/one.txt" >"$TMP/r.json" 2>"$TMP/stderr"
check "render exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
want=$(perl -MJSON::PP -e 'local $/; my @n = map { sprintf "L%02d-H%02d.png", $_->{layer}, $_->{head} } @{decode_json(<STDIN>)->{heads}}; print join(" ", sort @n), " "' <"$TMP/r.json")
check "render: one PNG per listed head" "[ \"\$(listing $TMP/out)\" = 'one ' ] && [ \"\$(listing $TMP/out/one)\" = \"$want\" ]"
check "render: stdout is the ranking" "[ \"\$(head -c 1 $TMP/r.json)\" = '{' ] && [ \$(grep -c layer $TMP/r.json) = 3 ]"
bad_png=0
for f in "$TMP"/out/one/*.png; do is_png "$f" || bad_png=1; done
check "render: files are PNG" "[ $bad_png = 0 ]"
top=$(perl -MJSON::PP -e 'local $/; my $e = decode_json(<STDIN>)->{heads}[0]; printf "L%02d-H%02d", $e->{layer}, $e->{head}' <"$TMP/r.json")
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
# (files over 4 KB cannot be written: the first figure fails)
(trap '' XFSZ; ulimit -f 4; exec "$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --render --out "$TMP/out" "$TMP/three.txt") >"$TMP/stdout" 2>"$TMP/stderr"
check "render failure exit 1, one line" "[ $? = 1 ] && grep -q '^mhaviz: $TMP/out/three/.*write failed' $TMP/stderr && [ \$(grep -c '^mhaviz: ' $TMP/stderr) = \$(wc -l <$TMP/stderr) ] && [ ! -s $TMP/stdout ]"
check "render failure leaves only what was there" "[ \"\$(listing $TMP/out)\" = 'three-3 ' ]"
expect_fail "render: absent word writes nothing" 1 "'猫' does not occur" -- "$MHAVIZ" rank --model "$FIX" --from 猫 --to 苹果 --render --out "$TMP/out" "$TMP/one.txt"
expect_fail "bad --render-format" 2 "--render-format 'json'" -- "$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --render-format json --out "$TMP/out" "$TMP/one.txt"
expect_fail "--out without --render" 2 "--out is for --render" -- "$MHAVIZ" rank --model "$FIX" --from 它 --to 苹果 --out "$TMP/out" "$TMP/one.txt"
check "help: --render" "\"$MHAVIZ\" rank --help | grep -q -- '--render '"
finish
