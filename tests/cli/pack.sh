#!/usr/bin/env bash
# Packed forward passes (several sentences in one pass, MHAVIZ_PACK_TOKENS): `run --format
# json` and `stats` give the same bytes packed as one sentence at a time
# (MHAVIZ_PACK_TOKENS=0), on 1 and 2 threads, for families that pack and models that do not,
# (and `rank`) with kept rows, value-norm weighting, aggregates, sentence pairs, lengths that
# cross the packs' budget, and a bad sentence inside a pack reported as before.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }

# ids: 23 lines of 1..L tokens below vocabulary size V (seeded)
ids_file() { # FILE V L
    perl -e 'my ($v, $l) = @ARGV; my $x = 7; for my $s (0 .. 22) {
        my $n = 1 + ($s * 7 + 3) % $l;
        print join(" ", map { $x = ($x * 1103515245 + 12345) % 2**31; $x % $v } 1 .. $n), "\n" }' \
        "$2" "$3" >"$1"
}

# same NAME -- ARGS...: run ARGS (writing --out $TMP/o) one at a time, then packed at budgets
# 40 and the default, on 1 and 2 threads; every JSON the same bytes
same() {
    local name=$1
    shift 2
    rm -rf "$TMP/o"
    MHAVIZ_PACK_TOKENS=0 "$MHAVIZ" "$@" --threads 1 --out "$TMP/o" 2>"$TMP/err" ||
        { bad "$name: one at a time failed: $(cat "$TMP/err")"; return; }
    mv "$TMP/o" "$TMP/ref"
    for pack in 40 ""; do
        for t in 1 2; do
            MHAVIZ_PACK_TOKENS=$pack "$MHAVIZ" "$@" --threads $t --out "$TMP/o" 2>"$TMP/err" ||
                { bad "$name: packed ($pack, $t threads) failed: $(cat "$TMP/err")"; return; }
            if ! diff -r "$TMP/ref" "$TMP/o" >/dev/null; then
                bad "$name: packed ($pack, $t threads) differs"
                rm -rf "$TMP/ref" "$TMP/o"
                return
            fi
            rm -rf "$TMP/o"
        done
    done
    rm -rf "$TMP/ref"
    ok
}

ids_file "$TMP/ids120.txt" 120 30
for fix in fam-bert-pair fam-xlm-roberta-bf16 fam-camembert-pad5 fam-electra-proj \
           fam-distilbert-f32 fam-albert-shared fam-deberta-v3; do
    same "$fix" -- run --model "tests/fixtures/$fix" --ids --format json --heads all "$TMP/ids120.txt"
done
ids_file "$TMP/ids400.txt" 400 64
F=tests/fixtures/bert-f32
same "bert --rows" -- run --model $F --ids --format json --rows 0,last "$TMP/ids400.txt"
same "bert norm-out" -- run --model $F --ids --format json --heads 0:1,1:* --weighting norm-out "$TMP/ids400.txt"
same "bert aggregate" -- run --model $F --ids --format json --aggregate rollout "$TMP/ids400.txt"
same "bert aggregate --rows" -- run --model $F --ids --format json --aggregate rollout --rows last "$TMP/ids400.txt"
ids_file "$TMP/ids300.txt" 300 32
same "gpt2" -- run --model tests/fixtures/dec-gpt2-f32 --ids --format json "$TMP/ids300.txt"
same "llama" -- run --model tests/fixtures/dec-llama-f32 --ids --format json "$TMP/ids300.txt"
same "bloom" -- run --model tests/fixtures/fam-bloom-f32 --ids --format json "$TMP/ids120.txt"
same "gemma2" -- run --model tests/fixtures/fam-gemma2-f32 --ids --format json "$TMP/ids120.txt"
ids_file "$TMP/ids64.txt" 64 30
same "phi3 longrope (not packed)" -- run --model tests/fixtures/fam-phi3-lm-f32-longrope --ids --format json "$TMP/ids64.txt"
MHAVIZ_KERNEL=scalar same "bert, scalar kernels" -- run --model $F --ids --format json "$TMP/ids400.txt"

# stats over text, and over encoder sentence pairs
perl -CS -Mutf8 -e 'my $x = 3; my @c = split //, "苹果从树上掉下来小明把它捡起了我喜欢北京看长城吧你好";
    for my $s (0 .. 40) { my $n = 1 + ($s * 11) % 60;
        print join("", map { $x = ($x * 1103515245 + 12345) % 2**31; $c[$x % @c] } 1 .. $n), "\n" }' \
    >"$TMP/c.txt"
perl -CSD -ne 'chomp; push @l, substr($_, 0, 25); END { print "$l[$_]\t$l[-1 - $_]\n" for 0 .. $#l }' \
    "$TMP/c.txt" >"$TMP/pairs.txt"
stats_same() { # NAME -- ARGS...
    local name=$1
    shift 2
    MHAVIZ_PACK_TOKENS=0 "$MHAVIZ" stats --model $F --format json --threads 1 "$@" >"$TMP/s0.json" ||
        { bad "$name: one at a time failed"; return; }
    for pack in 48 ""; do
        for t in 1 2; do
            MHAVIZ_PACK_TOKENS=$pack "$MHAVIZ" stats --model $F --format json --threads $t "$@" \
                >"$TMP/s1.json" && cmp -s "$TMP/s0.json" "$TMP/s1.json" ||
                { bad "$name: packed ($pack, $t threads) differs"; return; }
        done
    done
    ok
}
stats_same "stats" -- --truncate "$TMP/c.txt"
stats_same "stats --rows" -- --truncate --rows last "$TMP/c.txt"
stats_same "stats norm" -- --truncate --weighting norm "$TMP/c.txt"
stats_same "stats pairs" -- --pairs "$TMP/pairs.txt"

# rank over a corpus: the same table and JSON packed or not
perl -CS -Mutf8 -e 'my $x = 5; my @c = split //, "从树上掉下来小明把捡起了我喜欢北京看长城吧你好";
    my $w = sub { join "", map { $x = ($x * 1103515245 + 12345) % 2**31; $c[$x % @c] } 1 .. $_[0] };
    for my $s (0 .. 30) { print $w->(1 + $s * 7 % 25), "它", $w->(1 + $s % 9), "苹果",
        $w->($s * 5 % 23), "\n" }' >"$TMP/rank.txt"
for fmt in table json; do
    MHAVIZ_PACK_TOKENS=0 "$MHAVIZ" rank --model $F --from 它 --to 苹果 --top 0 --format $fmt \
        "$TMP/rank.txt" >"$TMP/r0.txt" 2>"$TMP/r0.err" || bad "rank $fmt one at a time failed: $(cat "$TMP/r0.err")"
    ok_rank=1
    for pack in 48 ""; do
        MHAVIZ_PACK_TOKENS=$pack "$MHAVIZ" rank --model $F --from 它 --to 苹果 --top 0 --format $fmt \
            "$TMP/rank.txt" >"$TMP/r1.txt" 2>"$TMP/r1.err" &&
            cmp -s "$TMP/r0.txt" "$TMP/r1.txt" && cmp -s "$TMP/r0.err" "$TMP/r1.err" || ok_rank=0
    done
    check "rank $fmt packed = one at a time" "[ $ok_rank = 1 ] && [ \$(wc -l <$TMP/r0.txt) -gt 12 ]"
done

# a bad id in line 9: the same error, and nothing written, packed or not (mhv_forward_run_pack's
# own failures inside a pack: tests/test_pack.c)
ids_file "$TMP/bad.txt" 400 20
sed -i '9s/^[0-9]*/999/' "$TMP/bad.txt"
for pack in 0 ""; do
    MHAVIZ_PACK_TOKENS=$pack expect_fail "bad id ($pack)" 1 "bad.txt: line 9: token id 999 is outside the vocabulary" -- \
        "$MHAVIZ" run --model $F --ids --format json --out "$TMP/out" "$TMP/bad.txt"
done
finish
