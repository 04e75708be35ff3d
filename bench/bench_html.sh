#!/usr/bin/env bash
# Part of `make bench`: the HTML explorer's size and speed. Targets (issue 16): BERT-base
# (12 x 12 heads) at 128 tokens <= 5 MB and the first view drawn <= 1 s in headless Chromium;
# a Qwen2-0.5B-shaped decoder (24 x 14 heads) at 256 tokens usable (heads decoded lazily).
#   BENCH_HTML=build/bench/bench_html   the page writer under test
set -u
BIN=${BENCH_HTML:-build/bench/bench_html}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mhaviz-benchhtml.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
here=$(cd "$(dirname "$0")" && pwd)
echo
echo "7. HTML explorer (run --format html): page size and time in headless Chromium"
browser=1
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || ! /usr/bin/python3 -c 'import selenium' 2>/dev/null; then
    browser=0
    echo "   browser timings not measured: needs Debian's chromium, chromium-driver, python3-selenium"
fi
for shape in "12 12 128 0 bert-base" "24 14 256 1 qwen2-0.5b"; do
    set -- $shape
    echo "   $5-shaped: $("$BIN" "$1" "$2" "$3" "$4" "$TMP/$5.html")"
    size=$(stat -c %s "$TMP/$5.html")
    if [ "$5" = bert-base ]; then
        [ "$size" -le 5000000 ] && echo "   size target (<= 5 MB): met" || echo "   size target (<= 5 MB): MISSED"
    fi
    if [ $browser = 1 ]; then
        /usr/bin/python3 "$here/bench_html.py" "$TMP/$5.html" | tee "$TMP/$5.times"
        if [ "$5" = bert-base ]; then
            ms=$(awk '/first view drawn after navigation/ { print $(NF-1) }' "$TMP/$5.times")
            [ -n "$ms" ] && [ "$ms" -le 1000 ] && echo "   first view target (<= 1 s): met" || echo "   first view target (<= 1 s): MISSED"
        fi
    fi
done
