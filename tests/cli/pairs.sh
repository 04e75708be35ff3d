#!/usr/bin/env bash
# Sentence pairs on an encoder (`run --pairs`): each line FIRST<TAB>SECOND is encoded as
# transformers' tokenizer(first, second) and run with its token type ids; ids, type ids and
# every head's attention against HF (tests/gen/gen_pairs_golden.py), the JSON fields, errors.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
BERT=tests/fixtures/bert-f32
GOLD=tests/fixtures/goldens/pairs-bert.json

# pairs_as_golden MODEL GOLDEN: run --pairs on pairs-bert.txt; ids, type ids, boundary and every
# head's attention as the golden's (transformers' tokenizer(first, second) and eager attention)
pairs_as_golden() {
    rm -rf "$TMP/p"
    "$MHAVIZ" run --model "$1" --pairs --format json --out "$TMP/p" tests/fixtures/pairs-bert.txt \
        2>"$TMP/stderr"
    check "$1: pairs run" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
    check "$1: ids, type ids, boundary and attentions as HF's" "perl -MJSON::PP -e '
    sub slurp { local \$/; open my \$f, q(<), \$_[0] or die; decode_json(<\$f>) }
    my (\$g, \$j) = (slurp(q($2)), slurp(q($TMP/p/pairs-bert.json)));
    my \$cases = \$g->{cases}; my \$sents = \$j->{sentences};
    exit 1 unless @\$cases == @\$sents;
    for my \$k (0 .. \$#\$cases) {
        my (\$c, \$s) = (\$cases->[\$k], \$sents->[\$k]);
        exit 2 unless join(q(,), @{\$c->{ids}}) eq join(q(,), @{\$s->{token_ids}});
        exit 3 unless join(q(,), @{\$c->{type_ids}}) eq join(q(,), @{\$s->{token_type_ids}});
        my (\$b) = grep { \$c->{type_ids}[\$_] } 0 .. \$#{\$c->{type_ids}};
        exit 4 unless \$s->{pair_boundary} == \$b;
        exit 5 unless \$s->{text} eq \$c->{first} . qq(\t) . \$c->{second};
        for my \$a (@{\$s->{attentions}}) {
            my \$want = \$c->{attentions}[\$a->{layer}][\$a->{head}];
            for my \$i (0 .. \$#\$want) { for my \$t (0 .. \$#{\$want->[\$i]}) {
                exit 6 if abs(\$want->[\$i][\$t] - \$a->{weights}[\$i][\$t]) > \$c->{tolerance} } }
        }
        exit 7 unless @{\$s->{attentions}} == @{\$c->{attentions}} * @{\$c->{attentions}[0]};
    }'"
}
pairs_as_golden "$BERT" "$GOLD"
# ERNIE (tests/gen/fam_ernie.py): BertTokenizer's vocab.txt, token types and the task type
# embedding of task 0
pairs_as_golden tests/fixtures/fam-ernie-tok tests/fixtures/goldens/pairs-ernie.json
check "ernie: info names it and its task types" "\"$MHAVIZ\" info --model tests/fixtures/fam-ernie-tok |
    grep -q '^architecture: ernie (model_type ernie)$' && \"$MHAVIZ\" info --model tests/fixtures/fam-ernie-tok |
    grep -q '^task_types: 3 (task 0 for every token)$'"
# the second sentence's spans count characters of the whole line (after the TAB)
check "second segment spans on the line" "perl -MJSON::PP -e 'local \$/; my \$s = decode_json(<STDIN>)->{sentences}[2];
    exit !(\$s->{spans}[1][0] == 0 && \$s->{spans}[4][0] == 3)' <$TMP/p/pairs-bert.json"
"$MHAVIZ" run --model "$BERT" --pairs --heads 1:0 --out "$TMP/png" tests/fixtures/pairs-bert.txt
check "pairs draw figures" "[ $? = 0 ] && [ -s $TMP/png/pairs-bert/L01-H00.png ]"

# the figures draw the boundary: two white lines (row and column) over the matrix; the same
# ids without the pair draw none
"$MHAVIZ" run --model "$BERT" --pairs --heads 1:0 --format svg --out "$TMP/svg" tests/fixtures/pairs-bert.txt
perl -MJSON::PP -e 'local $/; my $g = decode_json(<STDIN>);
    print join(q( ), @{$_->{ids}}), "\n" for @{$g->{cases}}' <"$GOLD" >"$TMP/ids.txt"
"$MHAVIZ" run --model "$BERT" --ids --heads 1:0 --format svg --out "$TMP/svg" "$TMP/ids.txt"
white() { grep -o 'fill="#ffffff"' "$1" | wc -l; }
check "boundary lines in the pair figure" \
    "[ \$(white $TMP/svg/pairs-bert/L01-H00.svg) = \$((\$(white $TMP/svg/ids/L01-H00.svg) + 2)) ]"

# rank --pairs: 它 in one sentence, 苹果 in the other; the best head and its score as the
# golden's attentions give them (它 = id 78, 苹果 = ids 179 121; line 3 lacks both)
"$MHAVIZ" rank --model "$BERT" --pairs --from 它 --to 苹果 --top 1 tests/fixtures/pairs-bert.txt \
    >"$TMP/rank.txt" 2>"$TMP/rank.err"
check "rank --pairs: best head and score from HF's attentions" "perl -MJSON::PP -e '
    local \$/; open my \$f, q(<), q($GOLD) or die; my \$g = decode_json(<\$f>);
    my (%sum, \$used);
    for my \$c (@{\$g->{cases}}) { my @id = @{\$c->{ids}};
        my (\$f0) = grep { \$id[\$_] == 78 } 0 .. \$#id; my (\$t0) = grep { \$id[\$_] == 179 } 0 .. \$#id;
        next unless defined \$f0 && defined \$t0; \$used++;
        for my \$l (0 .. \$#{\$c->{attentions}}) { for my \$h (0 .. \$#{\$c->{attentions}[\$l]}) {
            my \$row = \$c->{attentions}[\$l][\$h][\$f0]; \$sum{qq(\$l \$h)} += \$row->[\$t0] + \$row->[\$t0 + 1] } } }
    my (\$best) = sort { \$sum{\$b} <=> \$sum{\$a} } keys %sum;
    open my \$r, q(<), q($TMP/rank.txt) or die; my (\$line) = grep { /^ +1 / } split /\n/, <\$r>;
    my (undef, undef, \$l, \$h, \$score) = split / +/, \$line;
    exit !(qq(\$l \$h) eq \$best && abs(\$score - \$sum{\$best} / \$used) < 1e-4)'"
expect_fail "rank --pairs --stack on an encoder" 2 "--stack is for encoder-decoder models" -- \
    "$MHAVIZ" rank --model "$BERT" --pairs --stack enc --from 它 --to 苹果 tests/fixtures/pairs-bert.txt

# stats --pairs: first, self and sep (both [SEP]s, id 6) as the golden's attentions give them
"$MHAVIZ" stats --model "$BERT" --pairs --format json tests/fixtures/pairs-bert.txt >"$TMP/stats.json"
check "stats --pairs: first, self and sep from HF's attentions" "perl -MJSON::PP -e '
    sub slurp { local \$/; open my \$f, q(<), \$_[0] or die; decode_json(<\$f>) }
    my (\$g, \$st) = (slurp(q($GOLD)), slurp(q($TMP/stats.json)));
    my \$cases = \$g->{cases}; exit 1 unless \$st->{sentences} == @\$cases;
    for my \$hd (@{\$st->{heads}}) { my (\$first, \$self, \$sep) = (0, 0, 0);
        for my \$c (@\$cases) { my \$w = \$c->{attentions}[\$hd->{layer}][\$hd->{head}]; my \$n = @\$w;
            my @seps = grep { \$_ > 0 && \$c->{ids}[\$_] == 6 } 0 .. \$n - 1;
            for my \$i (0 .. \$n - 1) { \$first += \$w->[\$i][0] / \$n / @\$cases;
                \$self += \$w->[\$i][\$i] / \$n / @\$cases;
                \$sep += \$w->[\$i][\$_] / \$n / @\$cases for @seps } }
        exit 2 if abs(\$hd->{first} - \$first) > 1e-5 || abs(\$hd->{self} - \$self) > 1e-5
            || abs(\$hd->{sep} - \$sep) > 1e-5 }'"
expect_fail "stats --pairs --stack on an encoder" 2 "--stack is for encoder-decoder models" -- \
    "$MHAVIZ" stats --model "$BERT" --pairs --stack enc tests/fixtures/pairs-bert.txt

printf '苹果从树上掉下来。\n' >"$TMP/notab.txt"
expect_fail "pair without a TAB" 1 "line 1: no TAB between the two sentences" -- \
    "$MHAVIZ" run --model "$BERT" --pairs --format json --out "$TMP/out" "$TMP/notab.txt"
expect_fail "pairs on a decoder" 2 "--pairs needs a text encoder or an encoder-decoder" -- \
    "$MHAVIZ" run --model tests/fixtures/dec-gpt2-f32 --pairs --ids --format json --out "$TMP/out" \
    tests/fixtures/pairs-bert.txt
expect_fail "pairs of ids on an encoder" 2 "takes text, not --ids" -- \
    "$MHAVIZ" run --model "$BERT" --pairs --ids --format json --out "$TMP/out" \
    tests/fixtures/pairs-bert.txt
# tokenize --pairs: pieces, ids and type ids as HF's tokenizer(first, second)
"$MHAVIZ" tokenize --model "$BERT" --pairs tests/fixtures/pairs-bert.txt >"$TMP/tok.txt"
check "tokenize --pairs: ids and type ids" "perl -MJSON::PP -e '
    local \$/; open my \$f, q(<), q($GOLD) or die; my \$g = decode_json(<\$f>);
    open my \$t, q(<), q($TMP/tok.txt) or die; my @l = split /\n/, <\$t>;
    exit 1 unless @l == @{\$g->{cases}};
    for my \$k (0 .. \$#l) { my (undef, \$ids, \$types) = split /\t/, \$l[\$k];
        my \$c = \$g->{cases}[\$k];
        exit 2 unless \$ids eq join(q( ), @{\$c->{ids}}) && \$types eq join(q( ), @{\$c->{type_ids}}) }'"
expect_fail "tokenize --pairs --ids" 2 "--pairs takes text" -- \
    "$MHAVIZ" tokenize --model "$BERT" --pairs --ids tests/fixtures/pairs-bert.txt
finish
