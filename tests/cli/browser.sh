#!/usr/bin/env bash
# The HTML explorer in a real browser (tests/browser/explorer.py): Debian's chromium,
# headless, with chromium-driver and python3-selenium, opening OUT/<stem>.html from file://
# with the network off, and a vision run's page (tests/browser/vision.py). `make test`
# installs the three packages when it can (BROWSER_DEB_PKGS); without them the test is
# reported as skipped, by name.
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/bert-f32   # 3 layers, 4 heads
PY=/usr/bin/python3
SHOTS=${MHAVIZ_BROWSER_SHOTS:-$TMP/shots}
mkdir -p "$SHOTS"
"$MHAVIZ" run --model "$FIX" --format html,json --out "$TMP/out" samples/sentence.txt
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || \
   ! "$PY" -c 'import selenium' 2>/dev/null; then
    echo "skipped: browser test tests/browser/explorer.py (needs Debian's chromium, chromium-driver, python3-selenium)"
elif ! getent hosts localhost >/dev/null; then
    # selenium reaches chromedriver at http://localhost:PORT; a chroot without /etc/hosts
    # cannot resolve that name
    echo "skipped: browser test tests/browser/explorer.py (the name localhost does not resolve here)"
elif "$PY" tests/browser/explorer.py "$TMP/out/sentence.html" "$TMP/out/sentence.json" "$SHOTS" >"$TMP/log" 2>&1; then
    ok
else
    bad "browser: $(grep -E '^FAIL|Error|Exception' "$TMP/log" | head -5)"
fi
[ -f "$TMP/log" ] && grep -E '^(ok|FAIL|page ready)' "$TMP/log" | sed 's/^/  /'
# a decoder: the masked triangle hatched, its cells saying so on hover
if [ -f "$TMP/log" ]; then
    "$MHAVIZ" run --model tests/fixtures/dec-gpt2-f32 --ids --heads '0:*' --format html,json --out "$TMP/dec" - <<<'5 9 13 2 7 1 8 3 4 11'
    if "$PY" tests/browser/explorer.py --decoder "$TMP/dec/stdin.html" "$TMP/dec/stdin.json" "$SHOTS" >"$TMP/log" 2>&1; then
        ok
    else
        bad "browser (decoder): $(grep -E '^FAIL|Error|Exception' "$TMP/log" | head -5)"
    fi
    grep -E '^(ok|FAIL)' "$TMP/log" | sed 's/^/  /'
fi
# an encoder-decoder: the stack selector, the cross map target x source, its line view
if [ -f "$TMP/log" ]; then
    "$MHAVIZ" run --model tests/fixtures/s2s-t5-tok-f16 --pairs --format html,json \
        --out "$TMP/s2s" tests/fixtures/s2s-stats.txt
    if "$PY" tests/browser/explorer.py --seq2seq "$TMP/s2s/s2s-stats.html" "$TMP/s2s/s2s-stats.json" "$SHOTS" >"$TMP/log" 2>&1; then
        ok
    else
        bad "browser (encoder-decoder): $(grep -E '^FAIL|Error|Exception' "$TMP/log" | head -5)"
    fi
    grep -E '^(ok|FAIL)' "$TMP/log" | sed 's/^/  /'
fi
# an encoder-decoder with --aggregate mean: each stack's mean views beside its heads
if [ -f "$TMP/log" ]; then
    "$MHAVIZ" run --model tests/fixtures/s2s-t5-tok-f16 --pairs --aggregate mean \
        --format html,json --out "$TMP/s2sa" tests/fixtures/s2s-stats.txt
    if "$PY" tests/browser/explorer.py --seq2seq-agg "$TMP/s2sa/s2s-stats.html" "$TMP/s2sa/s2s-stats.json" "$SHOTS" >"$TMP/log" 2>&1; then
        ok
    else
        bad "browser (encoder-decoder, --aggregate mean): $(grep -E '^FAIL|Error|Exception' "$TMP/log" | head -5)"
    fi
    grep -E '^(ok|FAIL)' "$TMP/log" | sed 's/^/  /'
fi

# a vision model's page: click a patch to make it the query (tests/browser/vision.py)
if [ -f "$TMP/log" ]; then
    mkdir -p "$TMP/vin"
    cp tests/fixtures/images/rgb-37x23.png "$TMP/vin/a.png"
    cp tests/fixtures/images/jpeg/baseline-420.jpg "$TMP/vin/b.jpg"
    printf 'a.png\nb.jpg\n' >"$TMP/vin/two.txt"
    "$MHAVIZ" run --model tests/fixtures/fam-deit-f16 --format html,json --out "$TMP/vis" "$TMP/vin/two.txt"
    if "$PY" tests/browser/vision.py "$TMP/vis/two.html" "$TMP/vis/two.json" "$SHOTS" >"$TMP/log" 2>&1; then
        ok
    else
        bad "browser (vision): $(grep -E '^FAIL|Error|Exception' "$TMP/log" | head -5)"
    fi
    grep -E '^(ok|FAIL)' "$TMP/log" | sed 's/^/  /'
    # SigLIP: no [CLS]; its attention-pooling head as the layer "pool"
    "$MHAVIZ" run --model tests/fixtures/fam-siglip-vision-bf16 --format html,json --out "$TMP/sig" "$TMP/vin/two.txt"
    if "$PY" tests/browser/vision.py "$TMP/sig/two.html" "$TMP/sig/two.json" "$SHOTS" >"$TMP/log" 2>&1; then
        ok
    else
        bad "browser (vision, SigLIP): $(grep -E '^FAIL|Error|Exception' "$TMP/log" | head -5)"
    fi
    grep -E '^(ok|FAIL)' "$TMP/log" | sed 's/^/  /'
    # DINOv2 on an image of its own size: 25x16 pixels, a 4x6 grid (a last partial column)
    mkdir -p "$TMP/dvnc" && cp tests/fixtures/fam-dinov2-interp-f32/* "$TMP/dvnc/" &&
        cp tests/fixtures/images/dinov2-noncrop/preprocessor_config.json "$TMP/dvnc/"
    "$MHAVIZ" run --model "$TMP/dvnc" --format html,json --out "$TMP/dv" "$TMP/vin/two.txt"
    if "$PY" tests/browser/vision.py "$TMP/dv/two.html" "$TMP/dv/two.json" "$SHOTS" >"$TMP/log" 2>&1; then
        ok
    else
        bad "browser (vision, a 4x6 grid): $(grep -E '^FAIL|Error|Exception' "$TMP/log" | head -5)"
    fi
    grep -E '^(ok|FAIL)' "$TMP/log" | sed 's/^/  /'
fi

# Firefox (Debian's firefox-esr, no driver): the page opened from file:// paints its heatmap
# (the canvas is drawn by the page's script: many colours means the script ran)
if command -v firefox-esr >/dev/null; then
    mkdir -p "$TMP/ff"
    HOME=$TMP/ff timeout 120 firefox-esr --headless --no-remote --profile "$TMP/ff" \
        --window-size=1400,1000 --screenshot "$SHOTS/firefox.png" \
        "file://$(cd "$TMP/out" && pwd)/sentence.html" >"$TMP/fflog" 2>&1
    read -r colours ink < <(perl tests/cli/png_diff.pl --ink "$SHOTS/firefox.png" 2>/dev/null || echo "0 0")
    if [ "${colours:-0}" -ge 50 ] && awk -v i="${ink:-0}" 'BEGIN { exit !(i > 0.1) }'; then
        ok; echo "  ok: firefox paints the page ($colours colours)"
    else
        bad "firefox: screenshot blank ($colours colours, ink $ink): $(tail -2 "$TMP/fflog")"
    fi
else
    echo "skipped: the Firefox check of tests/cli/browser.sh (Debian's firefox-esr not installed)"
fi
finish
