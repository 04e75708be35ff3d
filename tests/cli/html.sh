#!/usr/bin/env bash
# run --format html: one self-contained explorer page per input file, nothing fetched from
# the network, the embedded weights those of the JSON within the 8-bit step; decoders store
# only the lower triangle; aggregates ride along; failures leave nothing. (The page in a real
# browser: tests/cli/browser.sh.)
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/bert-f32   # 3 layers, 4 heads
DEC=tests/fixtures/dec-gpt2-f32
check() { if eval "$2"; then ok; else bad "$1"; fi; }
listing() { (cd "$1" && ls -A | tr '\n' ' '); }
here=$(dirname "$0")
printf '苹果从树上掉下来，小明把它捡起来了。\n我喜欢GPT-4。\n' >"$TMP/two.txt"

"$MHAVIZ" run --model "$FIX" --format html,json --out "$TMP/out" "$TMP/two.txt" >"$TMP/stdout" 2>"$TMP/stderr"
check "html+json exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stdout ] && [ ! -s $TMP/stderr ]"
check "one page per input file" "[ \"\$(listing $TMP/out)\" = 'two.html two.json ' ]"
P=$TMP/out/two.html
check "a whole HTML document" "head -c 15 $P | grep -q '<!DOCTYPE html>' && tail -1 $P | grep -q '</html>'"
check "no network resource" "! grep -Eiq 'https?://|src=|<link|@import|url\\(' $P"
check "own script, no framework" "[ \$(grep -c '<script>' $P) = 1 ] && ! grep -q 'require(' $P"
check "two sentences embedded" "[ \$(grep -c 'class=\"mhv-sentence\"' $P) = 2 ]"
check "weights match the JSON" "perl $here/html_decode.pl $P $TMP/out/two.json >$TMP/cmp.txt 2>&1"
check "title names the model" "grep -q '<title>bert-f32 — two.txt</title>' $P"
"$MHAVIZ" run --model "$FIX" --format html --heads 0:0 --title 'Figure 2 & more' --out "$TMP/t" "$TMP/two.txt"
check "--title titles the page" "grep -q '<title>Figure 2 &amp; more</title>' $TMP/t/two.html"
check "rows sum to 1 said, no sinks" "grep -q 'each row sums to 1' $P && ! grep -q '\"sinks\"' $P"
# GPT-OSS's sinks take part of each row: the page says so (its weights: still the JSON's)
printf '3 17 5 9 2\n' >"$TMP/ids.txt"
"$MHAVIZ" run --model tests/fixtures/fam-gpt-oss-lm-f32 --ids --format html,json --out "$TMP/oss" "$TMP/ids.txt"
check "sinks: the page says its rows sum to less than 1" "grep -q '\"sinks\": true' $TMP/oss/ids.html && perl $here/html_decode.pl $TMP/oss/ids.html $TMP/oss/ids.json >$TMP/cmp.txt 2>&1"
# same input, same bytes
"$MHAVIZ" run --model "$FIX" --format html --out "$TMP/out2" "$TMP/two.txt"
check "deterministic" "cmp -s $P $TMP/out2/two.html"
# the initial colormap and scale follow the options
"$MHAVIZ" run --model "$FIX" --format html --colormap magma --scale row --heads 1:2 --out "$TMP/out3" "$TMP/two.txt"
check "options carried" "grep -q '\"cmap\": \"magma\"' $TMP/out3/two.html && grep -q '\"scale\": \"row\"' $TMP/out3/two.html"
check "only the heads asked for" "[ \$(grep -o '\\[1, 2, \"' $TMP/out3/two.html | wc -l) = 2 ] && ! grep -q '\\[0, 0, \"' $TMP/out3/two.html"

# text that could end the script block is escaped
printf 'a </script><script>alert(1)</script> & <!-- b\n' >"$TMP/evil.txt"
"$MHAVIZ" run --model "$FIX" --format html,json --heads 0:0 --out "$TMP/ev" "$TMP/evil.txt" 2>"$TMP/stderr"
check "script end escaped" "[ $? = 0 ] && ! grep -q '</script><script>alert' $TMP/ev/evil.html && grep -qF '\\u003c/script\\u003e' $TMP/ev/evil.html"
check "escaped text decodes back" "perl $here/html_decode.pl $TMP/ev/evil.html $TMP/ev/evil.json >/dev/null 2>&1"

# a decoder: the masked upper triangle is not stored
"$MHAVIZ" run --model "$DEC" --ids --format html,json --heads '0:*' --out "$TMP/dec" - <<<'5 9 13 2 7 1' 2>"$TMP/stderr"
check "decoder page" "[ -s $TMP/dec/stdin.html ] && grep -q '\"causal\": true' $TMP/dec/stdin.html"
check "decoder triangle matches" "perl $here/html_decode.pl $TMP/dec/stdin.html $TMP/dec/stdin.json >/dev/null"

# --aggregate: the page holds the heads and the per-layer views
"$MHAVIZ" run --model "$FIX" --aggregate rollout --format html,json --out "$TMP/agg" "$TMP/two.txt"
check "aggregate views" "grep -q '\"agg\": \"rollout\"' $TMP/agg/two.html && [ \$(grep -c 'class=\"mhv-sentence\"' $TMP/agg/two.html) = 2 ]"
check "aggregate views match" "perl $here/html_decode.pl $TMP/agg/two.html $TMP/agg/two.json >/dev/null"

# a failure takes the page back with everything else
mkdir -p "$TMP/fail"
printf '苹果\n%s\n' "$(printf '字%.0s' $(seq 1 600))" >"$TMP/long.txt"
expect_fail too-long 1 "line 2" -- "$MHAVIZ" run --model "$FIX" --format html --out "$TMP/out" "$TMP/long.txt"
expect_fail bad-format 2 "--format 'htm' is not supported (png, svg, pdf, json, html, safetensors)" -- "$MHAVIZ" run --model "$FIX" --format htm --out "$TMP/out" "$TMP/two.txt"
finish
