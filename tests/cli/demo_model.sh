#!/usr/bin/env bash
# The bundled demo model (samples/model) shows what its README says: on the seed sentence
# the head that rank puts first for 它 -> 苹果 gives 苹果 at least half of 它's attention, and
# the link is the work of a few heads, not of most of them.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
"$MHAVIZ" rank --model samples/model --from 它 --to 苹果 --top 0 --format json samples/sentence.txt >"$TMP/r.json" 2>"$TMP/stderr"
check "rank on the seed sentence: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
check "top head for 它 -> 苹果 >= 0.5" "perl -MJSON::PP -e '
    local \$/; my \$h = decode_json(<STDIN>)->{heads}[0];
    print STDERR \"top head \$h->{layer}:\$h->{head} score \$h->{score}\\n\" if \$h->{score} < 0.5;
    exit(\$h->{score} >= 0.5 ? 0 : 1)' <$TMP/r.json"
check "at most 3 of the 16 heads give 苹果 half of 它's attention" "perl -MJSON::PP -e '
    local \$/; my \$H = decode_json(<STDIN>)->{heads};
    my \$n = grep { \$_->{score} >= 0.5 } @\$H;
    print STDERR \"\$n heads >= 0.5\\n\" if \$n > 3;
    exit(@\$H == 16 && \$n <= 3 ? 0 : 1)' <$TMP/r.json"
# the same figure from run's JSON: the weights of that head from 它 (token 13) to 苹 and 果
"$MHAVIZ" run --model samples/model --format json --out "$TMP/o" samples/sentence.txt
check "run's weights agree" "perl -MJSON::PP -e '
    local \$/; open my \$x, \"<\", \"$TMP/r.json\"; open my \$y, \"<\", \"$TMP/o/sentence.json\";
    my \$h = decode_json(<\$x>)->{heads}[0]; my \$s = decode_json(<\$y>)->{sentences}[0];
    my (\$a) = grep { \$_->{layer} == \$h->{layer} && \$_->{head} == \$h->{head} } @{\$s->{attentions}};
    my \$w = \$a->{weights}[13][1] + \$a->{weights}[13][2];
    exit(abs(\$w - \$h->{score}) < 1e-6 && \$w >= 0.5 ? 0 : 1)'"
finish
