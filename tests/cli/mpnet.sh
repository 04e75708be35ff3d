#!/usr/bin/env bash
# MPNet through the command line (tests/gen/fam_mpnet.py): info names it, run on text gives
# transformers' token ids and attentions, ablate reads its masked-LM head, and a relative
# table shorter than the 32 buckets transformers reads is refused by name.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
M=tests/fixtures/fam-mpnet-mlm-f16
G=tests/fixtures/goldens/mpnet-text.json

info=$("$MHAVIZ" info --model $M 2>"$TMP/stderr")
check "info: exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
check "info: architecture" "printf '%s\n' \"\$info\" | grep -q '^architecture: mpnet (model_type mpnet)$'"
check "info: positions after the padding row" "printf '%s\n' \"\$info\" | grep -q '^max_positions: 38$'"
check "info: tokenizer" "printf '%s\n' \"\$info\" | grep -q '^tokenizer: wordpiece, '"

perl -MJSON::PP -e 'local $/; binmode STDOUT, ":utf8";
    print "$_->{text}\n" for @{decode_json(<STDIN>)->{sentences}}' <$G >"$TMP/t.txt"
"$MHAVIZ" run --model $M --format json --out "$TMP/out" "$TMP/t.txt" >"$TMP/stdout" 2>"$TMP/stderr"
check "run: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stdout ] && [ ! -s $TMP/stderr ]"
perl -MJSON::PP -e '
    local $/; open my $a, "<", $ARGV[0] or die; open my $b, "<", $ARGV[1] or die;
    my $x = decode_json(<$a>); my $y = decode_json(<$b>); my $worst = 0;
    exit 2 unless @{$x->{sentences}} == @{$y->{sentences}};
    for my $s (0 .. $#{$y->{sentences}}) {
        my ($xs, $ys) = ($x->{sentences}[$s], $y->{sentences}[$s]);
        exit 3 unless join(" ", @{$xs->{token_ids}}) eq join(" ", @{$ys->{token_ids}});
        exit 4 unless @{$xs->{attentions}} == @{$ys->{attentions}} * @{$ys->{attentions}[0]};
        for my $h (@{$xs->{attentions}}) {
            my $g = $ys->{attentions}[$h->{layer}][$h->{head}];
            for my $i (0 .. $#$g) { for my $j (0 .. $#{$g->[$i]}) {
                my $d = abs($h->{weights}[$i][$j] - $g->[$i][$j]); $worst = $d if $d > $worst; } }
        }
    }
    exit($worst <= 1e-5 ? 0 : 5);' "$TMP/out/t.json" $G
check "run: token ids and attentions as transformers ($?)" "[ $? = 0 ]"

perl -MJSON::PP -e 'local $/; print decode_json(<STDIN>)->{mask_probe}{text}, "\n"' <$G >"$TMP/m.txt"
"$MHAVIZ" ablate --model $M --heads 0:0 --format json "$TMP/m.txt" >"$TMP/a.json" 2>"$TMP/stderr"
check "ablate: exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
perl -MJSON::PP -e '
    local $/; open my $a, "<", $ARGV[0] or die; open my $b, "<", $ARGV[1] or die;
    my $p = decode_json(<$a>)->{sentences}[0]{positions}[0]; my $y = decode_json(<$b>)->{mask_probe};
    exit 2 unless $p->{index} == $y->{index} && $p->{token} eq $y->{token};
    exit(abs($p->{before} - $y->{probability}) < 1e-5 ? 0 : 3);' "$TMP/a.json" $G
check "ablate: the masked-LM head predicts as transformers ($?)" "[ $? = 0 ]"

mkdir -p "$TMP/m16"
cp $M/* "$TMP/m16/"
perl -0pi -e 's/"relative_attention_num_buckets": 32/"relative_attention_num_buckets": 16/' "$TMP/m16/config.json"
expect_fail "fewer than 32 buckets refused" 1 "relative_attention_num_buckets 16 is fewer than the 32 buckets transformers' MPNet reads" -- \
    "$MHAVIZ" info --model "$TMP/m16"
finish
