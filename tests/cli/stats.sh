#!/usr/bin/env bash
# mhaviz stats: formats, threads and shards give the same numbers, --merge is exact, errors.
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/bert-f32
check() { if eval "$2"; then ok; else bad "$1"; fi; }
printf '苹果从树上掉下来，小明把它捡起来了。\n好\n我喜欢GPT-4。\n他说：“我们明天去北京看长城吧。”\n你好！\n' >"$TMP/c.txt"

"$MHAVIZ" stats --model "$FIX" "$TMP/c.txt" >"$TMP/table" 2>"$TMP/stderr"
check "table exit 0, quiet" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
check "table: header + 12 heads" "[ \$(wc -l <$TMP/table) = 13 ] && head -1 $TMP/table | grep -q 'entropy distance'"
check "csv" "\"$MHAVIZ\" stats --model $FIX --format csv $TMP/c.txt | head -1 | grep -q '^layer,head,entropy,distance,first,sep,prev,next,self,kind,sentences$'"

"$MHAVIZ" stats --model "$FIX" --format json --threads 1 "$TMP/c.txt" >"$TMP/full.json"
check "json valid, 12 heads, 5 sentences" "perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>); exit !(@{\$j->{heads}} == 12 && \$j->{sentences} == 5)' <$TMP/full.json"
"$MHAVIZ" stats --model "$FIX" --format json --threads 3 "$TMP/c.txt" >"$TMP/t3.json"
check "threads give the same bytes" "cmp -s $TMP/full.json $TMP/t3.json"
for i in 0 1 2; do
    "$MHAVIZ" stats --model "$FIX" --format json --shard $i/3 --out "$TMP/p$i.json" "$TMP/c.txt"
done
check "shards written, no temp files" "[ \"\$(ls $TMP | grep -c tmp)\" = 0 ] && [ -s $TMP/p0.json ]"
"$MHAVIZ" stats --merge --format json "$TMP/p2.json" "$TMP/p0.json" "$TMP/p1.json" >"$TMP/merged.json"
check "merge of shards = unsharded, exactly" "cmp -s $TMP/full.json $TMP/merged.json"
check "merge to table" "\"$MHAVIZ\" stats --merge $TMP/p0.json $TMP/p1.json $TMP/p2.json | cmp -s - $TMP/table"

expect_fail "bad shard" 2 "--shard '3/3'" -- "$MHAVIZ" stats --model "$FIX" --shard 3/3 "$TMP/c.txt"
expect_fail "merge needs files" 2 "--merge needs at least one JSON file" -- "$MHAVIZ" stats --merge
expect_fail "merge takes no --model" 2 "--merge takes no --model" -- "$MHAVIZ" stats --merge --model "$FIX" "$TMP/p0.json"
printf '{"x": 1}\n' >"$TMP/other.json"
expect_fail "merge of foreign JSON" 1 "other.json: not the JSON output of 'mhaviz stats'" -- "$MHAVIZ" stats --merge "$TMP/p0.json" "$TMP/other.json"
expect_fail "bad format" 2 "--format 'xml'" -- "$MHAVIZ" stats --model "$FIX" --format xml "$TMP/c.txt"
mkdir -p "$TMP/out"
perl -e 'print "好\n", "果" x 100, "\n"' >"$TMP/long.txt"
expect_fail "failed run leaves no --out file" 1 "long.txt: line 2: 102 tokens exceed the model's 64 positions" -- "$MHAVIZ" stats --model "$FIX" --out "$TMP/out/s.txt" "$TMP/long.txt"
check "--truncate" "\"$MHAVIZ\" stats --model $FIX --truncate $TMP/long.txt >/dev/null"
"$MHAVIZ" stats --merge --format png --out "$TMP/s.png" "$TMP/p0.json" "$TMP/p1.json" "$TMP/p2.json"
check "png written" "[ \"\$(head -c 8 $TMP/s.png | od -An -c | tr -d ' ')\" = '211PNG\\r\\n032\\n' ]"
expect_fail "png needs --out" 2 "--format png needs --out FILE" -- "$MHAVIZ" stats --model "$FIX" --format png "$TMP/c.txt"
check "help" "\"$MHAVIZ\" stats --help | grep -q '^usage: mhaviz stats'"
finish
