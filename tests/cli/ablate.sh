#!/usr/bin/env bash
# mhaviz ablate: causal log-probabilities with heads zeroed or mean-replaced against the
# transformers golden (tests/gen/gen_ablation_golden.py), masked-LM probabilities at written
# [MASK]s and at --target words masked on the fly, the three formats, and the errors.
. "$(dirname "$0")/lib.sh"
DEC=tests/fixtures/dec-gpt2-f32
G=tests/fixtures/goldens/ablation.json
check() { if eval "$2"; then ok; else bad "$1"; fi; }
printf '5 17 250 3 99 42 7\n8 9 10\n' >"$TMP/ids.txt"

# causal: every next token's log-probability, before = no ablation, after = the golden's
for spec in "0:1 zero L0H1" "1:0,1:1 mean L1H0-mean"; do
    set -- $spec
    "$MHAVIZ" ablate --model "$DEC" --ids --heads "$1" --mode "$2" --format json "$TMP/ids.txt" >"$TMP/a.json" 2>"$TMP/stderr"
    check "gpt2 $1 $2: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
    check "gpt2 $1 $2: log-probabilities as transformers' (1e-4)" "perl -MJSON::PP -e '
        local \$/; open my \$x, \"<\", \"$TMP/a.json\"; open my \$y, \"<\", \"$G\";
        my \$A = decode_json(<\$x>); my (\$c) = grep { \$_->{fixture} eq \"dec-gpt2-f32\" } @{decode_json(<\$y>)->{cases}};
        my (\$none) = grep { \$_->{name} eq \"none\" } @{\$c->{ablations}};
        my (\$ab) = grep { \$_->{name} eq \"$3\" } @{\$c->{ablations}};
        exit 1 unless \$A->{mode} eq \"$2\" && @{\$A->{sentences}} == 2;
        my \$k = 0;
        for my \$s (0, 1) { my \$S = \$A->{sentences}[\$s]; my \$ids = \$c->{sentences}[\$s];
            exit 1 unless @{\$S->{positions}} == @\$ids - 1;
            for my \$p (@{\$S->{positions}}) { my (\$i, \$t) = (\$p->{index}, \$ids->[\$p->{index}]);
                exit 1 unless \$p->{token} eq \$t;
                exit 1 if abs(\$p->{before} - \$none->{logprobs}[\$s][\$i - 1][\$t]) > 1e-4;
                exit 1 if abs(\$p->{after} - \$ab->{logprobs}[\$s][\$i - 1][\$t]) > 1e-4; \$k++; } }
        exit(\$k == 8 ? 0 : 1)'"
done
"$MHAVIZ" ablate --model "$DEC" --ids --heads 0:1 "$TMP/ids.txt" >"$TMP/t.txt"
check "gpt2 table: a row per line and a summary" "[ \$(grep -c '^   [12] ' $TMP/t.txt) = 2 ] && head -1 $TMP/t.txt | grep -q '^# heads 0:1 removed (zeroed) in dec-gpt2-f32: log-probability of each next token' && tail -1 $TMP/t.txt | grep -q '^# mean over 8 tokens in 2 lines: before '"
"$MHAVIZ" ablate --model "$DEC" --ids --heads 0:1 --format csv "$TMP/ids.txt" >"$TMP/t.csv"
check "gpt2 csv: header and a row per token" "[ \"\$(head -1 $TMP/t.csv)\" = 'line,index,token,before,after,change,top_after' ] && [ \$(wc -l <$TMP/t.csv) = 9 ] && grep -q '^2,2,\"10\",' $TMP/t.csv"

# masked LM (the demo BERT): a written [MASK] scores the model's own prediction; --target
# masks the word on the fly and scores the original token: the same number here
printf '苹果从树上掉下来，小明把[MASK]捡起来了。\n' >"$TMP/m.txt"
printf '苹果从树上掉下来，小明把它捡起来了。\n没有那个字。\n' >"$TMP/s.txt"
"$MHAVIZ" ablate --heads 2:* --format json "$TMP/m.txt" >"$TMP/m.json"
"$MHAVIZ" ablate --heads 2:* --target 它 --format json "$TMP/s.txt" >"$TMP/s.json" 2>"$TMP/stderr"
check "target: the line without it skipped, said once" "[ \$(wc -l <$TMP/stderr) = 1 ] && grep -q 's.txt: skipped 1 of 2 lines without the --target word' $TMP/stderr"
check "mask vs target: same position, token and probabilities; removing layer 2 changes them" "perl -MJSON::PP -e '
    local \$/; open my \$x, \"<\", \"$TMP/m.json\"; open my \$y, \"<\", \"$TMP/s.json\";
    my \$M = decode_json(<\$x>)->{sentences}[0]{positions}; my \$T = decode_json(<\$y>);
    exit 1 unless @{\$T->{sentences}} == 1 && \$T->{sentences}[0]{line} == 1;
    my \$t = \$T->{sentences}[0]{positions};
    exit 1 unless @\$M == 1 && @\$t == 1 && \$M->[0]{index} == 13 && \$t->[0]{index} == 13;
    exit 1 unless \$M->[0]{token} eq \$t->[0]{token} && \$t->[0]{token} eq \$T->{target};
    exit 1 if abs(\$M->[0]{before} - \$t->[0]{before}) > 1e-7 || abs(\$M->[0]{after} - \$t->[0]{after}) > 1e-7;
    exit 1 unless \$t->[0]{before} > 0 && \$t->[0]{before} <= 1 && abs(\$t->[0]{after} - \$t->[0]{before}) > 1e-4;
    exit 0'"
"$MHAVIZ" ablate --heads all --mode mean --target 它 "$TMP/s.txt" >"$TMP/t.txt" 2>/dev/null
check "masked table: one row, the probability line" "head -1 $TMP/t.txt | grep -q 'probability of the token at each masked position' && [ \$(grep -c '^   1    13 它' $TMP/t.txt) = 1 ]"

# rank --by ablation: each head's score is what `ablate --heads L:H --target` says it costs
"$MHAVIZ" rank --by ablation --from 它 --to 苹果 --top 0 --format json "$TMP/s.txt" >"$TMP/r.json" 2>/dev/null
check "rank --by ablation: 16 heads, named in the JSON" "grep -q '\"by\": \"ablation\"' $TMP/r.json && [ \$(grep -o '\"layer\": [0-9]*, \"head\"' $TMP/r.json | wc -l) = 16 ]"
for lh in 2:1 0:3; do
    "$MHAVIZ" ablate --heads $lh --target 它 --format json "$TMP/s.txt" >"$TMP/a.json" 2>/dev/null
    check "rank --by ablation $lh = ablate's before - after" "perl -MJSON::PP -e '
        local \$/; open my \$x, \"<\", \"$TMP/r.json\"; open my \$y, \"<\", \"$TMP/a.json\";
        my \$R = decode_json(<\$x>); my \$p = decode_json(<\$y>)->{sentences}[0]{positions}[0];
        my (\$l, \$h) = split /:/, \"$lh\";
        my (\$e) = grep { \$_->{layer} == \$l && \$_->{head} == \$h } @{\$R->{heads}};
        exit(\$e && abs(\$e->{score} - (\$p->{before} - \$p->{after})) < 1e-6 ? 0 : 1)'"
done
"$MHAVIZ" rank --by ablation --from 它 --to 苹果 "$TMP/s.txt" >"$TMP/r.txt" 2>/dev/null
check "rank --by ablation table header" "head -1 $TMP/r.txt | grep -q \"^# heads ranked by how much removing each lowers the masked probability of '它' over 1 sentence\""
expect_fail "rank --by bad" 2 "--by 'weights' is not attention or ablation" -- "$MHAVIZ" rank --by weights --from 它 --to 苹果 "$TMP/s.txt"
expect_fail "rank --by ablation --weighting" 2 "--weighting is for --by attention" -- "$MHAVIZ" rank --by ablation --weighting norm --from 它 --to 苹果 "$TMP/s.txt"

# errors
expect_fail "no --heads" 2 "--heads SPEC is required" -- "$MHAVIZ" ablate "$TMP/m.txt"
expect_fail "bad mode" 2 "--mode 'half' is not zero or mean" -- "$MHAVIZ" ablate --heads 0:0 --mode half "$TMP/m.txt"
expect_fail "bad format" 2 "--format 'png' is not supported" -- "$MHAVIZ" ablate --heads 0:0 --format png "$TMP/m.txt"
expect_fail "--target with --ids" 2 "--target needs text lines, not --ids" -- "$MHAVIZ" ablate --heads 0:0 --ids --target x "$TMP/ids.txt"
expect_fail "bad heads" 2 "--heads" -- "$MHAVIZ" ablate --heads 9:0 "$TMP/m.txt"
expect_fail "no mask anywhere" 1 "no line holds a mask token (write [MASK] or use --target WORD)" -- "$MHAVIZ" ablate --heads 0:0 "$TMP/s.txt"
expect_fail "target absent" 1 "no line contains the --target word" -- "$MHAVIZ" ablate --heads 0:0 --target 香蕉 "$TMP/s.txt"
expect_fail "encoder without an MLM head" 1 "without a masked-LM head" -- "$MHAVIZ" ablate --model tests/fixtures/bert-f32 --heads 0:0 "$TMP/m.txt"
finish
