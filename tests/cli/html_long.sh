#!/usr/bin/env bash
# The HTML explorer for long inputs, kept rows and sentence pairs (issues 19, 13): a sentence
# past 512 tokens is stored as an overview pooled to at most 128 blocks a side plus a zoom
# window at full resolution (the page's size bound, fig/html.h), --window picks the zoom,
# --rows keeps rows on the page, pairs carry their boundary; then the pages in a real browser
# (tests/browser/long_inputs.py: hover against the JSON) when Debian's chromium is there.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
PY=/usr/bin/python3

L="$TMP/long"
mkdir -p "$L"
cp tests/fixtures/dec-llama-f32/model.safetensors "$L/"
sed 's/"max_position_embeddings": 64/"max_position_embeddings": 4096/' \
    tests/fixtures/dec-llama-f32/config.json >"$L/config.json"
ids() { seq 0 $(($1 - 1)) | awk '{ printf "%s%d", (NR > 1 ? " " : ""), $1 % 500 } END { print "" }'; }
ids 1000 >"$TMP/l1000.txt"
ids 2048 >"$TMP/l2048.txt"
ids 512 >"$TMP/l512.txt"

# sent FILE KEY: the first sentence block's JSON value of KEY, as JSON
sent() { perl -MJSON::PP -e 'local $/; my $s = <STDIN>; $s =~ m{<script type="application/json" class="mhv-sentence">(.*?)</script>}s or exit 1; my $v = decode_json($1)->{$ARGV[0]}; print ref $v ? JSON::PP->new->canonical->encode($v) : defined $v ? $v : "null"' "$2" <"$1"; }

"$MHAVIZ" run --model "$L" --ids --heads '1:*' --format html,json --out "$TMP/a" "$TMP/l1000.txt"
P=$TMP/a/l1000.html
check "1000 tokens: overview of 125 blocks of 8" "[ \"\$(sent $P pool | grep -o '\"block\":8,\"kind\":\"max\",\"labels\":\[[^]]*\],\"m\":125')\" != '' ]"
check "1000 tokens: zoom on the last 256 tokens" "[ \"\$(sent $P zoom)\" = '{\"t0\":744,\"t1\":1000}' ]"
check "1000 tokens: every head in the overview and the zoom" "perl -MJSON::PP -e 'local \$/; <STDIN> =~ m{class=\"mhv-sentence\">(.*?)</script>}s; my \$s = decode_json(\$1); exit(@{\$s->{heads}} == 4 && @{\$s->{zheads}} == 4 ? 0 : 1)' <$P"
# causal: the overview stores 125*126/2 cells, the zoom 256*257/2, one byte each in base64
check "1000 tokens: only the unmasked cells stored" "perl -MJSON::PP -MMIME::Base64 -e 'local \$/; <STDIN> =~ m{class=\"mhv-sentence\">(.*?)</script>}s; my \$s = decode_json(\$1); exit(length(decode_base64(\$s->{heads}[0][2])) == 125 * 126 / 2 && length(decode_base64(\$s->{zheads}[0][2])) == 256 * 257 / 2 ? 0 : 1)' <$P"
"$MHAVIZ" run --model "$L" --ids --heads '1:*' --format html --out "$TMP/b" "$TMP/l2048.txt"
# the bound: 4 heads x 4/3 x (128^2 + 512^2) bytes + the page (~60 KB)
check "2048 tokens: the page stays within the bound ($(stat -c %s $TMP/b/l2048.html) bytes)" \
    "[ \$(stat -c %s $TMP/b/l2048.html) -lt \$((4 * 4 * (128 * 128 + 512 * 512) / 3 + 100000)) ]"
check "2048 tokens: 128 blocks of 16" "sent $TMP/b/l2048.html pool | grep -q '\"block\":16,.*\"m\":128'"
"$MHAVIZ" run --model "$L" --ids --heads '1:0' --window 100:900 --format html --out "$TMP/c" "$TMP/l2048.txt"
check "--window is the zoom, cut to 512 tokens" "[ \"\$(sent $TMP/c/l2048.html zoom)\" = '{\"t0\":100,\"t1\":612}' ]"
"$MHAVIZ" run --model "$L" --ids --heads '1:0' --format html --out "$TMP/d" "$TMP/l512.txt"
check "512 tokens: stored whole, as before" "[ \"\$(sent $TMP/d/l512.html pool)\" = null ]"
"$MHAVIZ" run --model "$L" --ids --rows 500,-2 --aggregate mean --format html,json --out "$TMP/e" "$TMP/l1000.txt"
check "long + --rows: the rows kept, zoom up to the last row" "[ \"\$(sent $TMP/e/l1000.html rows)\" = '[500,998,999]' ] && [ \"\$(sent $TMP/e/l1000.html zoom)\" = '{\"rows\":[998,999],\"t0\":744,\"t1\":1000}' ]"
expect_fail "long + --rows: a zoom without a kept row (as the figures: exit 1, the line)" 1 "l1000.txt: line 1: no --rows row lies in the page's zoom window 0:256" -- \
    "$MHAVIZ" run --model "$L" --ids --rows 500 --window 0:256 --format html --out "$TMP/out" "$TMP/l1000.txt"

M=samples/model
printf '苹果从树上掉下来，小明把它捡起来了。\nThe cat sat.\n' >"$TMP/s.txt"
"$MHAVIZ" run --model $M --rows 'word:它,-2' --format html,json --out "$TMP/r" "$TMP/s.txt"
check "--rows html: the rows" "[ \"\$(sent $TMP/r/s.html rows)\" = '[13,18,19]' ]"
printf 'The cat sat.\tIt was tired.\n' >"$TMP/pair.txt"
"$MHAVIZ" run --model tests/fixtures/bert-f32 --pairs --format html,json --out "$TMP/p" "$TMP/pair.txt"
check "--pairs html: the boundary" "[ \"\$(sent $TMP/p/pair.html boundary)\" = 6 ]"

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || \
   ! "$PY" -c 'import selenium' 2>/dev/null || ! getent hosts localhost >/dev/null; then
    echo "skipped: browser checks of tests/browser/long_inputs.py (needs Debian's chromium, chromium-driver, python3-selenium, localhost)"
else
    for run in "long $TMP/a/l1000.html $TMP/a/l1000.json" "rows $TMP/e/l1000.html $TMP/e/l1000.json" \
               "rows $TMP/r/s.html $TMP/r/s.json" "pair $TMP/p/pair.html $TMP/p/pair.json"; do
        set -- $run
        if "$PY" tests/browser/long_inputs.py "$@" >"$TMP/log" 2>&1; then ok; else bad "browser $1 $2: $(grep -E '^FAIL|Error' "$TMP/log" | head -3)"; fi
        grep -E '^(ok|FAIL)' "$TMP/log" | sed 's/^/  /'
    done
fi
finish
