#!/usr/bin/env bash
# Part of `make bench`: the whole `mhaviz run` process on a bert-base-chinese-shaped checkpoint
# (12 layers, 768 hidden, 12 heads, FFN 3072, vocab 21128; random weights written once by
# bench/gen_bert_base.py), page cache warm:
#   1. wall time from process start to exit of `run --format json --heads 0:0` on one
#      32-token sentence (load + tokenize + forward + write), F32 and BF16, best and median
#      of $REPS runs, with the CPU time of one run;
#   2. peak RSS of `run --heads all --format json` on 128 tokens (every layer's weights
#      touched) against the checkpoint's size, F32 and BF16.
#
#   MHAVIZ=build/mhaviz                binary under test
#   MHAVIZ_BENCH_DIR=build/bench       where the checkpoints are generated (800 MB for both)
#   MHAVIZ_BENCH_PYTHON=python3        a Python with numpy, for the generator
#   MHAVIZ_BENCH_REPS=15               runs per timing
set -u
MHAVIZ=${MHAVIZ:-build/mhaviz}
DIR=${MHAVIZ_BENCH_DIR:-build/bench}
PY=${MHAVIZ_BENCH_PYTHON:-python3}
REPS=${MHAVIZ_BENCH_REPS:-15}
here=$(cd "$(dirname "$0")" && pwd)

echo
echo "6. whole process: mhaviz run on a bert-base-chinese-shaped checkpoint (page cache warm)"
for dt in f32 bf16; do
    d=$DIR/bert-base-$dt
    if [ ! -f "$d/config.json" ] || [ ! -f "$d/model.safetensors" ]; then
        mkdir -p "$DIR"
        if ! "$PY" "$here/gen_bert_base.py" "$d" --dtype "${dt^^}" >/dev/null 2>"$DIR/gen.err"; then
            echo "   not measured: $PY bench/gen_bert_base.py failed (needs numpy;" \
                 "set MHAVIZ_BENCH_PYTHON): $(tail -1 "$DIR/gen.err")"
            exit 0
        fi
    fi
done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mhaviz-benchrun.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# 30 characters, one token each, + [CLS] [SEP] = 32 tokens
printf '苹果从树上掉下来，小明把它捡起来了。我昨天在图书馆借了三本书\n' >"$TMP/s32.txt"
# 128 ids spread over the vocabulary, deterministic
perl -e 'my $x = 7; print join(" ", map { $x = ($x * 1103515245 + 12345) % 2**31; 100 + $x % 21000 } 1..128), "\n"' >"$TMP/ids128.txt"
ntok=$("$MHAVIZ" tokenize --model "$DIR/bert-base-f32" "$TMP/s32.txt" | awk -F'\t' '{print split($2, a, " ")}')

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
for dt in f32 bf16; do
    d=$DIR/bert-base-$dt
    cat "$d/model.safetensors" >/dev/null # warm the page cache
    args=(run --model "$d" --format json --heads 0:0 --out "$TMP/out" "$TMP/s32.txt")
    "$MHAVIZ" "${args[@]}" || { echo "   $dt: mhaviz run failed"; exit 1; }
    times=()
    for ((r = 0; r < REPS; r++)); do
        t0=$(date +%s%N)
        "$MHAVIZ" "${args[@]}"
        t1=$(date +%s%N)
        times+=("$(ms "$t0" "$t1")")
    done
    sorted=$(printf '%s\n' "${times[@]}" | sort -g)
    best=$(echo "$sorted" | head -1)
    med=$(echo "$sorted" | sed -n "$(((REPS + 1) / 2))p")
    # CPU time (user + sys) per run, over 10 runs: one run is below time's 10 ms resolution
    MHAVIZ="$MHAVIZ" /usr/bin/time -f '%U %S' -o "$TMP/cpu.txt" bash -c \
        'for i in 1 2 3 4 5 6 7 8 9 10; do "$MHAVIZ" "$@" || exit 1; done' _ "${args[@]}"
    read -r user sys <"$TMP/cpu.txt"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", (u + s) * 100 }')
    /usr/bin/time -f '%M' -o "$TMP/time.txt" "$MHAVIZ" "${args[@]}"
    read -r rss <"$TMP/time.txt"
    verdict=$(awk -v b="$best" 'BEGIN { print (b < 200 ? "under" : "OVER") }')
    printf '   %-4s %d tokens, --heads 0:0, json: best %6.1f ms, median %6.1f ms of %d runs' \
        "${dt^^}" "$ntok" "$best" "$med" "$REPS"
    printf ' (CPU %s ms, RSS %.0f MB): %s the 200 ms target\n' "$cpu" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$verdict"
done

echo
echo "7. peak RSS against the checkpoint: run --heads all --format json, 128 tokens (--ids)"
for dt in f32 bf16; do
    d=$DIR/bert-base-$dt
    size=$(stat -c %s "$d/model.safetensors")
    /usr/bin/time -f '%e %M' -o "$TMP/time.txt" \
        "$MHAVIZ" run --model "$d" --ids --format json --heads all --out "$TMP/out" "$TMP/ids128.txt" ||
        { echo "   $dt: mhaviz run failed"; exit 1; }
    read -r wall rss <"$TMP/time.txt"
    json=$(stat -c %s "$TMP/out/ids128.json")
    awk -v dt="${dt^^}" -v s="$size" -v r="$rss" -v w="$wall" -v j="$json" 'BEGIN {
        printf "   %-4s file %6.1f MB, peak RSS %6.1f MB (%.2fx the file, %+.1f MB), %s s, JSON %.1f MB\n",
            dt, s / 1048576, r / 1024, r * 1024 / s, r / 1024 - s / 1048576, w, j / 1048576 }'
done
