#!/usr/bin/env bash
# Part of `make bench` (issue 17, corpus throughput): `mhaviz stats` and `mhaviz run --format
# json` over a corpus of short sentences against PyTorch run in batches, on 1 and 2 threads.
#   corpus: $SENTENCES sentences of 8..64 tokens (bench/corpus_torch.py gen, seeded) under a
#     bert-base-chinese-shaped checkpoint (random F32 weights, bench/gen_bert_base.py)
#   mhaviz stats --threads T: sentences in parallel, consecutive ones packed into passes of up
#     to 512 tokens (MHAVIZ_PACK_TOKENS); also unpacked (MHAVIZ_PACK_TOKENS=0), for the gain
#   mhaviz run --format json --heads 11:0 --threads T: every layer computed, one map written
#     per sentence (every head of every sentence would be a 2 GB JSON)
#   PyTorch: transformers' BertModel, batches of 32 padded in file order, eager attention,
#     output_attentions=True, the statistics of `stats` computed on the attentions
#     (bench/corpus_torch.py run)
# Sentences per second from the best wall time of $REPS runs, the ratio mhaviz / PyTorch
# (target >= 1.5), and the same from CPU time (user + sys), steadier on a shared machine.
#
#   MHAVIZ=build/mhaviz                binary under test
#   MHAVIZ_BENCH_DIR=build/bench       where the checkpoint and corpus are generated
#   MHAVIZ_BENCH_PYTHON=python3        a Python with numpy, torch and transformers
#   MHAVIZ_BENCH_CORPUS_SENTENCES=1000 sentences in the corpus
#   MHAVIZ_BENCH_REPS=2                runs per timing
set -u
MHAVIZ=${MHAVIZ:-build/mhaviz}
DIR=${MHAVIZ_BENCH_DIR:-build/bench}
PY=${MHAVIZ_BENCH_PYTHON:-python3}
SENTENCES=${MHAVIZ_BENCH_CORPUS_SENTENCES:-1000}
REPS=${MHAVIZ_BENCH_REPS:-2}
here=$(cd "$(dirname "$0")" && pwd)

echo
echo "9. corpus throughput: $SENTENCES sentences of 8-64 tokens, BERT-base shape (F32)," \
     "against PyTorch batched"
d=$DIR/bert-base-f32
if [ ! -f "$d/config.json" ] || [ ! -f "$d/model.safetensors" ]; then
    mkdir -p "$DIR"
    if ! "$PY" "$here/gen_bert_base.py" "$d" --dtype F32 >/dev/null 2>"$DIR/gen.err"; then
        echo "   not measured: $PY bench/gen_bert_base.py failed (needs numpy;" \
             "set MHAVIZ_BENCH_PYTHON): $(tail -1 "$DIR/gen.err")"
        exit 0
    fi
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mhaviz-benchcorpus.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
corpus=$TMP/corpus.txt
"$PY" "$here/corpus_torch.py" gen "$corpus" --sentences "$SENTENCES" --vocab "$d/vocab.txt" ||
    { echo "   not measured: the corpus generator failed"; exit 0; }
"$MHAVIZ" tokenize --model "$d" "$corpus" | cut -f2 >"$TMP/ids.txt" ||
    { echo "   mhaviz tokenize failed"; exit 1; }
tokens=$(wc -w <"$TMP/ids.txt")
echo "   $(wc -l <"$TMP/ids.txt") sentences, $tokens tokens; $(nproc) CPUs, load average" \
     "$(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: rates vary from run to run)"
cat "$d/model.safetensors" >/dev/null # warm the page cache

# "W C": the best wall and the least CPU seconds of REPS runs of the command
best_of() {
    local r
    : >"$TMP/runs"
    for ((r = 0; r < REPS; r++)); do
        /usr/bin/time -f '%e %U %S' -o "$TMP/time.txt" "$@" >/dev/null 2>"$TMP/err" ||
            { echo "FAILED: $(tail -1 "$TMP/err")"; return 1; }
        awk '{ print $1, $2 + $3 }' "$TMP/time.txt" >>"$TMP/runs"
    done
    echo "$(sort -g -k1,1 "$TMP/runs" | head -1 | cut -d' ' -f1) $(sort -g -k2,2 "$TMP/runs" | head -1 | cut -d' ' -f2)"
}

declare -A WALL CPU
for t in 1 2; do
    r=$(best_of "$MHAVIZ" stats --model "$d" --threads $t --format json "$corpus") || { echo "   stats: $r"; exit 1; }
    WALL[stats$t]=${r% *} CPU[stats$t]=${r#* }
    r=$(MHAVIZ_PACK_TOKENS=0 best_of "$MHAVIZ" stats --model "$d" --threads $t --format json "$corpus") || { echo "   stats: $r"; exit 1; }
    WALL[one$t]=${r% *} CPU[one$t]=${r#* }
    r=$(best_of "$MHAVIZ" run --model "$d" --threads $t --format json --heads 11:0 --out "$TMP/out" "$corpus") || { echo "   run: $r"; exit 1; }
    WALL[run$t]=${r% *} CPU[run$t]=${r#* }
done
"$PY" "$here/corpus_torch.py" run "$TMP/ids.txt" --threads 1,2 --reps "$REPS" >"$TMP/torch.txt" 2>&1
rc=$?
sed -n '/^torch /s/^/   PyTorch: /p' "$TMP/torch.txt"
rate() { awk -v n="$SENTENCES" -v s="$1" 'BEGIN { printf "%.1f", n / s }'; }
for t in 1 2; do
    line=$(grep "^RESULT threads=$t " "$TMP/torch.txt")
    tw=$(echo "$line" | sed -n 's/.*sentences_per_s=\([0-9.]*\).*/\1/p')
    tc=$(echo "$line" | sed -n 's/.*cpu_s=\([0-9.]*\).*/\1/p')
    printf '   %d thread%s  sentences/s (wall)  stats %6s  unpacked %6s  run json %6s' $t \
        "$([ $t = 2 ] && echo s || echo ' ')" "$(rate "${WALL[stats$t]}")" "$(rate "${WALL[one$t]}")" \
        "$(rate "${WALL[run$t]}")"
    if [ -n "$tw" ]; then
        awk -v a="$(rate "${WALL[stats$t]}")" -v r="$(rate "${WALL[run$t]}")" -v p="$tw" \
            'BEGIN { printf "  PyTorch %6.1f  stats/PyTorch %.2fx  run/PyTorch %.2fx (target >= 1.5x)\n", p, a / p, r / p }'
        awk -v n="$SENTENCES" -v a="${CPU[stats$t]}" -v o="${CPU[one$t]}" -v p="$tc" \
            'BEGIN { printf "             sentences per CPU-second   stats %6.1f  unpacked %6.1f  PyTorch %6.1f  stats/PyTorch %.2fx\n", n / a, n / o, n / p, p / a }'
    else
        echo "  PyTorch not measured"
    fi
done
[ $rc = 0 ] || echo "   PyTorch not measured (exit $rc): $(tail -1 "$TMP/torch.txt")"
