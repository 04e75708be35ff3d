#!/usr/bin/env bash
# CPU time (user + sys, which a shared machine does not inflate as it does wall time) of
# `run --generate N --greedy` under two builds, alternating, ROUNDS rounds, and the two JSON
# outputs byte-compared each round (the key/value cache must not change a byte).
#
#   bench/bench_generate.sh MODEL PROMPTS OLD_MHAVIZ NEW_MHAVIZ [N] [ROUNDS]
#
# MODEL: e.g. bench/gen_qwen2_05b_hf.py's checkpoint; PROMPTS: one prompt a line.
set -eu
model=$1 prompts=$2 old=$3 new=$4 n=${5:-64} rounds=${6:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq "$rounds"); do
    for b in old new; do
        bin=$([ $b = old ] && echo "$old" || echo "$new")
        /usr/bin/time -f "$b round $r: user %U s, sys %S s, wall %e s" "$bin" run \
            --model "$model" --generate "$n" --greedy --heads 0:0 --format json \
            --out "$tmp/$b" "$prompts" 2>&1 | tail -1
    done
    stem=$(basename "${prompts%.*}")
    cmp "$tmp/old/$stem.json" "$tmp/new/$stem.json" && echo "round $r: JSON identical"
    rm -rf "$tmp/old" "$tmp/new"
done
