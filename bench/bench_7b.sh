#!/usr/bin/env bash
# make bench-7b: time and peak RSS of `mhaviz run` on a Qwen2-7B-shaped random BF16 sharded
# checkpoint (~15 GB, generated once by bench/gen_qwen2_7b.py) for one 32-token sentence
# given as ids, every head of every layer captured (--format json).
#
#   MHAVIZ=build/mhaviz                   binary under test
#   MHAVIZ_BENCH_7B_DIR=DIR               checkpoint directory (default build/bench/qwen2-7b-bf16);
#                                         generated when DIR/config.json is missing
#   MHAVIZ_BENCH_PYTHON=python3           a Python with numpy, for the generator
#   MHAVIZ_BENCH_7B_LAYERS=28             fewer layers for a quick run (same layer shapes)
#   MHAVIZ_BENCH_7B_DELETE=1              delete the checkpoint afterwards
#   MHAVIZ_BENCH_THREADS=N                --threads (default: all online CPUs)
set -eu
MHAVIZ=${MHAVIZ:-build/mhaviz}
DIR=${MHAVIZ_BENCH_7B_DIR:-build/bench/qwen2-7b-bf16}
PY=${MHAVIZ_BENCH_PYTHON:-python3}
LAYERS=${MHAVIZ_BENCH_7B_LAYERS:-28}
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -f "$DIR/config.json" ]; then
    echo "bench-7b: generating $DIR ($LAYERS layers; ~15 GB for 28, needs numpy)" >&2
    "$PY" "$here/gen_qwen2_7b.py" "$DIR" --layers "$LAYERS" >&2
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mhaviz-bench7b.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# 32 ids spread over the vocabulary, deterministic
perl -e 'my $x = 12345; print join(" ", map { $x = ($x * 1103515245 + 12345) % 2**31; $x % 152064 } 1..32), "\n"' >"$TMP/ids.txt"
threads=()
[ -n "${MHAVIZ_BENCH_THREADS:-}" ] && threads=(--threads "$MHAVIZ_BENCH_THREADS")

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo) RAM"
echo "checkpoint: $DIR, $(du -sh "$DIR" | cut -f1), $(grep -o '"num_hidden_layers": [0-9]*' "$DIR/config.json")"
echo "kernel: ${MHAVIZ_KERNEL:-auto}, threads: ${MHAVIZ_BENCH_THREADS:-all}"
for run in 1 2; do
    /usr/bin/time -v "$MHAVIZ" run --model "$DIR" --ids --format json "${threads[@]}" \
        --out "$TMP/out" "$TMP/ids.txt" 2>"$TMP/time.txt" >/dev/null || { cat "$TMP/time.txt" >&2; exit 1; }
    wall=$(grep 'Elapsed (wall clock)' "$TMP/time.txt" | awk '{print $NF}')
    rss=$(grep 'Maximum resident set size' "$TMP/time.txt" | awk '{printf "%.2f GB", $NF/1048576}')
    user=$(grep 'User time' "$TMP/time.txt" | awk '{print $NF}')
    majflt=$(grep 'Major' "$TMP/time.txt" | awk '{print $NF}')
    echo "run $run: 32 tokens, all heads: wall $wall, user ${user}s, peak RSS $rss, major page faults $majflt"
done
heads=$(perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); print scalar @{$j->{sentences}[0]{attentions}}' <"$TMP/out/ids.json")
echo "captured heads: $heads"
if [ "${MHAVIZ_BENCH_7B_DELETE:-0}" = 1 ]; then rm -rf "$DIR"; echo "deleted $DIR"; fi
