#!/usr/bin/env bash
# Long inputs (make bench-long; make bench runs it with MHAVIZ_BENCH_LONG_LENGTHS=1024):
# wall time, peak RSS and output size of `mhaviz run --format safetensors` on a
# Qwen2-0.5B-shaped random BF16 checkpoint (0.99 GB, generated once by
# bench/gen_qwen2_7b.py --shape 0.5b) at 1k, 4k and 8k tokens, two ways:
#   last      --rows last --heads all: the next-token row of every head of every layer
#   layer     --heads L:* (L = the middle layer), every row: one layer's full maps, streamed
# and, with MHAVIZ_BENCH_LONG_7B=1, the Qwen2-7B-shaped checkpoint of bench-7b with
# --rows last --heads all (only at the lengths in MHAVIZ_BENCH_LONG_7B_LENGTHS, default 1024:
# a 7B forward pass over 8k tokens takes tens of minutes on 2 cores).
#
#   MHAVIZ=build/mhaviz                   binary under test
#   MHAVIZ_BENCH_PYTHON=python3           a Python with numpy, for the generator
#   MHAVIZ_BENCH_LONG_LENGTHS="1024 4096 8192"
#   MHAVIZ_BENCH_LONG_DIR=build/bench/qwen2-0.5b-bf16
#   MHAVIZ_BENCH_7B_DIR=build/bench/qwen2-7b-bf16
#   MHAVIZ_BENCH_THREADS=N                --threads (default: all online CPUs)
set -eu
MHAVIZ=${MHAVIZ:-build/mhaviz}
PY=${MHAVIZ_BENCH_PYTHON:-python3}
LENGTHS=${MHAVIZ_BENCH_LONG_LENGTHS:-1024 4096 8192}
DIR=${MHAVIZ_BENCH_LONG_DIR:-build/bench/qwen2-0.5b-bf16}
DIR7=${MHAVIZ_BENCH_7B_DIR:-build/bench/qwen2-7b-bf16}
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -f "$DIR/config.json" ]; then
    echo "bench-long: generating $DIR (0.99 GB, needs numpy)" >&2
    "$PY" "$here/gen_qwen2_7b.py" "$DIR" --shape 0.5b --shards 1 >&2
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mhaviz-benchlong.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
threads=()
[ -n "${MHAVIZ_BENCH_THREADS:-}" ] && threads=(--threads "$MHAVIZ_BENCH_THREADS")

# ids: n deterministic ids spread over the vocabulary
ids() {
    perl -e 'my $x = 12345; print join(" ", map { $x = ($x * 1103515245 + 12345) % 2**31;
             $x % 151936 } 1..$ARGV[0]), "\n"' "$1" >"$TMP/ids-$1.txt"
}

# one LABEL MODEL N ARGS...: a run, its figures on one line
one() {
    local label=$1 model=$2 n=$3
    shift 3
    rm -rf "$TMP/out"
    /usr/bin/time -v "$MHAVIZ" run --model "$model" --ids --format safetensors --max-memory 0 \
        "${threads[@]}" --out "$TMP/out" "$@" "$TMP/ids-$n.txt" 2>"$TMP/time.txt" >/dev/null ||
        { cat "$TMP/time.txt" >&2; exit 1; }
    local wall rss size
    wall=$(grep 'Elapsed (wall clock)' "$TMP/time.txt" | awk '{print $NF}')
    rss=$(grep 'Maximum resident set size' "$TMP/time.txt" | awk '{printf "%.2f GB", $NF/1048576}')
    size=$(stat -c %s "$TMP/out/ids-$n.safetensors" | awk '{printf "%.1f MB", $1/1e6}')
    printf '  %-8s %5d tokens  wall %9s  peak RSS %8s  output %9s\n' "$label" "$n" "$wall" "$rss" "$size"
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
weights=$(du -sb "$DIR" | awk '{printf "%.2f GB", $1/1e9}')
layers=$(grep -o '"num_hidden_layers": [0-9]*' "$DIR/config.json" | grep -o '[0-9]*$')
mid=$((layers / 2))
echo "Qwen2-0.5B-shaped BF16 ($weights, $layers layers x 14 heads), kernel ${MHAVIZ_KERNEL:-auto}:"
for n in $LENGTHS; do
    ids "$n"
    one last "$DIR" "$n" --rows last --heads all
    one "layer $mid" "$DIR" "$n" --heads "$mid:*"
done
if [ "${MHAVIZ_BENCH_LONG_7B:-0}" = 1 ]; then
    if [ ! -f "$DIR7/config.json" ]; then
        echo "bench-long: generating $DIR7 (~15 GB, needs numpy)" >&2
        "$PY" "$here/gen_qwen2_7b.py" "$DIR7" >&2
    fi
    echo "Qwen2-7B-shaped BF16 ($(du -sb "$DIR7" | awk '{printf "%.2f GB", $1/1e9}')):"
    for n in ${MHAVIZ_BENCH_LONG_7B_LENGTHS:-1024}; do
        ids "$n"
        one last "$DIR7" "$n" --rows last --heads all
    done
fi
