#!/usr/bin/env bash
# Byte comparison of two mhaviz builds (a kernel change must not move one output byte):
#   bench/compare_outputs.sh OLD_MHAVIZ NEW_MHAVIZ
# runs `run --format json` with both on the decoder and encoder fixtures, for every kernel
# table this CPU has (MHAVIZ_KERNEL=scalar/avx2/avx512) on 1 and 2 threads, and, when `make
# bench` has generated them, on the bert-base-shaped checkpoints in build/bench (128 and 512
# tokens: several chunks of the reduction, several token panels and groups), then `cmp`s
# the files. Prints one line per comparison and exits 1 on any difference.
set -u
OLD=${1:?usage: compare_outputs.sh OLD_MHAVIZ NEW_MHAVIZ}
NEW=${2:?usage: compare_outputs.sh OLD_MHAVIZ NEW_MHAVIZ}
DIR=${MHAVIZ_BENCH_DIR:-build/bench}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mhaviz-cmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

kernels="scalar"
grep -qw avx2 /proc/cpuinfo && kernels="$kernels avx2"
grep -qw avx512f /proc/cpuinfo && kernels="$kernels avx512"
printf '苹果从树上掉下来，小明把它捡起来了。\n\nThe quick brown fox jumps over the lazy dog, twice: the quick brown fox.\n' >"$TMP/s.txt"
perl -e 'print join(" ", map { 1 + $_ * 7 % 23 } 1..7), "\n", join(" ", map { 1 + $_ * 5 % 29 } 1..30), "\n"' >"$TMP/small_ids.txt"
perl -e 'my $x = 7; for my $n (128, 512) { print join(" ", map { $x = ($x * 1103515245 + 12345) % 2**31; 100 + $x % 21000 } 1..$n), "\n" }' >"$TMP/ids.txt"

fail=0 count=0
# compare NAME ARGS...: one run with each binary, then cmp
compare() {
    local name=$1
    shift
    rm -rf "$TMP/a" "$TMP/b"
    if ! "$OLD" run "$@" --format json --out "$TMP/a" >/dev/null 2>"$TMP/err.a" ||
       ! "$NEW" run "$@" --format json --out "$TMP/b" >/dev/null 2>"$TMP/err.b"; then
        echo "FAILED TO RUN $name: $(tail -1 "$TMP/err.a") $(tail -1 "$TMP/err.b")"
        fail=1
        return
    fi
    count=$((count + 1))
    if diff -r -q "$TMP/a" "$TMP/b" >/dev/null; then
        echo "same   $name"
    else
        echo "DIFFER $name"
        fail=1
    fi
}

for k in $kernels; do
    for t in 1 2; do
        for m in bert-f32 bert-bf16 bert-f16; do
            [ -d "tests/fixtures/$m" ] || continue
            MHAVIZ_KERNEL=$k compare "$m $k threads=$t" --model "tests/fixtures/$m" \
                --threads "$t" --heads all "$TMP/s.txt"
        done
        # decoders (GPT-2's transposed weights, GQA, BF16, a sliding window, experts), by ids
        for m in dec-gpt2-f32 dec-gpt2-f16-oldbufs dec-qwen2-f32 dec-qwen2-bf16-gqa4 \
                 dec-llama-bf16-gqa2-linear dec-mistral-f32-sw5 fam-qwen2-moe-f32; do
            [ -d "tests/fixtures/$m" ] || continue
            MHAVIZ_KERNEL=$k compare "$m $k threads=$t" --model "tests/fixtures/$m" --ids \
                --threads "$t" --heads all "$TMP/small_ids.txt"
        done
        for dt in f32 bf16; do
            d=$DIR/bert-base-$dt
            [ -f "$d/config.json" ] || continue
            [ "$k" = scalar ] && continue # minutes per pass at 512 tokens
            MHAVIZ_KERNEL=$k compare "bert-base-$dt 128+512 tokens $k threads=$t" \
                --model "$d" --ids --threads "$t" --heads 0:0,11:* "$TMP/ids.txt"
        done
    done
done
echo "$count comparisons, $([ $fail = 0 ] && echo 'all the same' || echo 'DIFFERENCES')"
exit $fail
