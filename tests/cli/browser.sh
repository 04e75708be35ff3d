#!/usr/bin/env bash
# The HTML explorer in a real browser (tests/browser/explorer.py): Debian's chromium,
# headless, with chromium-driver and python3-selenium, opening OUT/<stem>.html from file://
# with the network off. `make test` installs the three packages when it can
# (BROWSER_DEB_PKGS); without them the test is reported as skipped, by name.
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/bert-f32   # 3 layers, 4 heads
PY=/usr/bin/python3
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || \
   ! "$PY" -c 'import selenium' 2>/dev/null; then
    echo "skipped: browser test tests/browser/explorer.py (needs Debian's chromium, chromium-driver, python3-selenium)"
    exit 0
fi
SHOTS=${MHAVIZ_BROWSER_SHOTS:-$TMP/shots}
mkdir -p "$SHOTS"
"$MHAVIZ" run --model "$FIX" --format html,json --out "$TMP/out" samples/sentence.txt
if "$PY" tests/browser/explorer.py "$TMP/out/sentence.html" "$TMP/out/sentence.json" "$SHOTS" >"$TMP/log" 2>&1; then
    ok
else
    bad "browser: $(grep -E '^FAIL|Error|Exception' "$TMP/log" | head -5)"
fi
grep -E '^(ok|FAIL|page ready)' "$TMP/log" | sed 's/^/  /'
# a decoder: the masked triangle hatched, its cells saying so on hover
"$MHAVIZ" run --model tests/fixtures/dec-gpt2-f32 --ids --heads '0:*' --format html,json --out "$TMP/dec" - <<<'5 9 13 2 7 1 8 3 4 11'
if "$PY" tests/browser/explorer.py --decoder "$TMP/dec/stdin.html" "$TMP/dec/stdin.json" "$SHOTS" >"$TMP/log" 2>&1; then
    ok
else
    bad "browser (decoder): $(grep -E '^FAIL|Error|Exception' "$TMP/log" | head -5)"
fi
grep -E '^(ok|FAIL)' "$TMP/log" | sed 's/^/  /'
finish
