#!/usr/bin/env bash
# stats over a corpus in shards, as the man page and README run it: under GNU parallel (3
# shards locally, and through --sshlogin ':' , parallel's name for this machine) and as
# the Slurm job array of docs/stats-slurm.sh (array tasks simulated by their environment);
# stats --merge of the parts equals the single run byte for byte. Skipped, by name, without
# GNU parallel (Debian package parallel, installed by `make deps`).
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/bert-f32
check() { if eval "$2"; then ok; else bad "$1"; fi; }
printf '苹果从树上掉下来，小明把它捡起来了。\n好\n我喜欢GPT-4。\n他说：“我们明天去北京看长城吧。”\n你好！\nThe cat sat.\n小明把它捡起来了。\n' >"$TMP/c.txt"
"$MHAVIZ" stats --model "$FIX" --format json --out "$TMP/full.json" "$TMP/c.txt"

if command -v parallel >/dev/null 2>&1 && parallel --version 2>/dev/null | grep -q 'GNU parallel'; then
    mkdir -p "$TMP/gp"
    parallel --will-cite --halt now,fail=1 \
        "$MHAVIZ" stats --model "$FIX" --format json --shard {}/3 --out "$TMP/gp/part-{}.json" \
        "$TMP/c.txt" ::: 0 1 2
    check "GNU parallel: exit 0, 3 parts" "[ $? = 0 ] && [ \$(ls $TMP/gp | wc -l) = 3 ]"
    "$MHAVIZ" stats --merge --format json --out "$TMP/gp.json" "$TMP"/gp/part-*.json
    check "GNU parallel: merge = single run, exactly" "cmp -s $TMP/full.json $TMP/gp.json"
    mkdir -p "$TMP/ssh"
    parallel --will-cite --sshlogin : --halt now,fail=1 \
        "$MHAVIZ" stats --model "$FIX" --format json --shard {}/3 --out "$TMP/ssh/part-{}.json" \
        "$TMP/c.txt" ::: 0 1 2
    "$MHAVIZ" stats --merge --format json --out "$TMP/ssh.json" "$TMP"/ssh/part-*.json
    check "GNU parallel --sshlogin ':': merge = single run" "cmp -s $TMP/full.json $TMP/ssh.json"
    # a failing shard fails the whole command
    parallel --will-cite --halt now,fail=1 \
        "$MHAVIZ" stats --model "$FIX" --format json --shard {}/3 --out "$TMP/gp/bad-{}.json" \
        "$TMP/missing.txt" ::: 0 1 2 2>/dev/null
    check "GNU parallel: a failing shard is an exit status" "[ $? != 0 ]"
else
    echo "skipped: GNU parallel is not installed (Debian package parallel)" >&2
fi

for i in 0 1 2; do
    SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_COUNT=3 SLURM_CPUS_PER_TASK=2 MHAVIZ="$MHAVIZ" \
        bash docs/stats-slurm.sh "$TMP/c.txt" "$FIX" "$TMP/slurm"
done
"$MHAVIZ" stats --merge --format json --out "$TMP/slurm.json" "$TMP"/slurm/part-*.json
check "Slurm job array script: merge = single run, exactly" "cmp -s $TMP/full.json $TMP/slurm.json"
check "the parts are shards, not copies" "! cmp -s $TMP/slurm/part-0.json $TMP/slurm/part-1.json"

# --rows: shards of one SPEC merge exactly; parts of another SPEC (or all rows) are refused
"$MHAVIZ" stats --model "$FIX" --rows last,word:它 --format json --out "$TMP/r.json" "$TMP/c.txt"
for i in 0 1 2; do
    "$MHAVIZ" stats --model "$FIX" --rows last,word:它 --format json --shard $i/3 \
        --out "$TMP/r$i.json" "$TMP/c.txt"
done
"$MHAVIZ" stats --merge --format json --out "$TMP/rm.json" "$TMP"/r[0-2].json
check "--rows: merge = single run" "cmp -s $TMP/r.json $TMP/rm.json"
check "--rows: recorded" "grep -qF '\"rows\": \"last,word:它\"' $TMP/r.json"
check "--rows: other numbers than every row" "! cmp -s $TMP/r.json $TMP/full.json"
expect_fail "--rows: parts of other rows refused" 1 "cannot merge statistics of rows 'last,word:它' into rows 'all'" -- \
    "$MHAVIZ" stats --merge --format json "$TMP/full.json" "$TMP/r0.json"
expect_fail "--rows: bad SPEC" 2 "--rows item 'x' is not last" -- \
    "$MHAVIZ" stats --model "$FIX" --rows x "$TMP/c.txt"

finish
