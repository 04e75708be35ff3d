#!/usr/bin/env bash
# Encoder-decoder models (tests/fixtures/s2s-*): run --pairs with ids and with text (the
# repository's T5 tokenizer), --generate, the JSON's stacks against the transformers
# goldens, the figure names, --heads by stack, and the refusals.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
G=tests/fixtures/goldens

# pairs of every golden sentence: SRC_IDS<TAB>TGT_IDS
golden_pairs() {
    perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>);
        print join(" ", @{$_->{src_ids}}), "\t", join(" ", @{$_->{tgt_ids}}), "\n"
            for @{$j->{sentences}}' <"$G/$1.json"
}

# compare OUT_JSON GOLDEN: every entry within the golden's tolerance, shapes as the stacks
# have them, zeros above the diagonal of the decoder, every head of every stack present
compare() {
    perl -MJSON::PP -e '
        local $/; open my $a, "<", $ARGV[0] or die; open my $b, "<", $ARGV[1] or die;
        my $x = decode_json(<$a>); my $y = decode_json(<$b>); my $worst = 0; my $count = 0;
        exit 4 unless $x->{model}{encoder_decoder};
        for my $s (0 .. $#{$y->{sentences}}) {
            my $xs = $x->{sentences}[$s]; my $ys = $y->{sentences}[$s];
            exit 5 unless join(" ", @{$xs->{token_ids}}) eq join(" ", @{$ys->{src_ids}});
            exit 5 unless join(" ", @{$xs->{target_token_ids}}) eq join(" ", @{$ys->{tgt_ids}});
            for my $h (@{$xs->{attentions}}) {
                my $g = $ys->{$h->{stack}}[$h->{layer}][$h->{head}] or exit 6;
                my $w = $h->{weights}; $count++;
                exit 7 unless @$w == @$g && @{$w->[0]} == @{$g->[0]};
                for my $i (0 .. $#$g) { for my $j (0 .. $#{$g->[$i]}) {
                    my $d = abs($w->[$i][$j] - $g->[$i][$j]); $worst = $d if $d > $worst;
                    exit 3 if $h->{stack} eq "decoder" && $j > $i && $w->[$i][$j] != 0;
                } }
            }
            my $want = 0; $want += @{$ys->{$_}} * @{$ys->{$_}[0]} for qw(encoder decoder cross);
            exit 8 unless $count == $want; $count = 0;
        }
        exit($worst <= $y->{tolerance} ? 0 : 2);' "$1" "$G/$2.json"
}

for name in s2s-t5-f32 s2s-bart-f32 s2s-mbart-bf16 s2s-marian-separate-f32 s2s-umt5-bf16 \
    s2s-mbart-lang s2s-nllb-f32 s2s-m2m100-model-bf16 s2s-mbart50-f32 s2s-pegasus-f32 \
    s2s-pegasus-model-f16 s2s-pegasus-untied-bf16 s2s-blenderbot-f32 s2s-blenderbot-model-bf16 \
    s2s-blenderbot-small-f16 s2s-blenderbot-small-untied-f32 s2s-blenderbot-small-model-bf16; do
    golden_pairs "$name" >"$TMP/p.txt"
    rm -rf "$TMP/out"
    "$MHAVIZ" run --model "tests/fixtures/$name" --ids --pairs --format json --out "$TMP/out" \
        "$TMP/p.txt" >"$TMP/stdout" 2>"$TMP/stderr"
    check "$name: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stdout ] && [ ! -s $TMP/stderr ]"
    compare "$TMP/out/p.json" "$name"
    check "$name: matches the golden ($?)" "[ $? = 0 ]"
done

# text pairs through the tokenizer: source ids and decoder input as transformers makes them
# (T5's Unigram tokenizer.json; Pegasus's, converted by transformers from its spiece.model;
# Blenderbot's byte-level BPE)
for T in s2s-t5-tok-f16 s2s-pegasus-f32 s2s-blenderbot-f32; do
perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); binmode STDOUT, ":utf8";
    print "$_->{source}\t$_->{target}\n" for @{$j->{text_pairs}}' <"$G/$T.json" >"$TMP/t.txt"
rm -rf "$TMP/out"
"$MHAVIZ" run --model "tests/fixtures/$T" --pairs --format json,png --out "$TMP/out" "$TMP/t.txt" \
    >"$TMP/stdout" 2>"$TMP/stderr"
check "$T text pairs: exit 0 ($(head -c 200 "$TMP/stderr"))" "[ $? = 0 ]"
perl -MJSON::PP -e '
    local $/; open my $a, "<", $ARGV[0] or die; open my $b, "<", $ARGV[1] or die;
    my $x = decode_json(<$a>); my $y = decode_json(<$b>);
    for my $s (0 .. $#{$y->{text_pairs}}) {
        my ($xs, $ys) = ($x->{sentences}[$s], $y->{text_pairs}[$s]);
        exit 2 unless join(" ", @{$xs->{token_ids}}) eq join(" ", @{$ys->{src_ids}});
        exit 3 unless join(" ", @{$xs->{target_token_ids}}) eq join(" ", @{$ys->{tgt_ids}});
        exit 4 unless $xs->{target_text} eq $ys->{target} && $xs->{text} eq $ys->{source};
        exit 5 unless @{$xs->{target_tokens}} == @{$ys->{tgt_ids}};
        exit 6 if defined $xs->{target_spans}[0];   # the start token covers no text
    }' "$TMP/out/t.json" "$G/$T.json"
check "$T text pairs: token ids as transformers ($?)" "[ $? = 0 ]"
for f in E00-H00 E01 D01-H03 D00 X01-H02 X01 align; do
    check "$T text pairs: figure $f.png" "[ -s $TMP/out/t/$f.png ]"
done
check "$T text pairs: second sentence's figures" "[ -s $TMP/out/t-2/align.png ]"
done
check "no L-named figures" "[ -z \"\$(ls $TMP/out/t | grep '^L')\" ]"

# --generate N: the target is transformers' generate(max_new_tokens=N) under the fixture's
# own generation_config.json (tests/gen/gen_generate.py's "own" variant)
for name in s2s-mt5-f32 s2s-marian-f32 s2s-pegasus-f32 s2s-blenderbot-f32 \
    s2s-blenderbot-small-f16 s2s-bart-f32; do
    perl -MJSON::PP -e 'local $/; my ($v) = grep { $_->{name} eq "own" } @{decode_json(<STDIN>)->{variants}};
        print join(" ", @{$_->{src_ids}}), "\n" for @{$v->{cases}}' <"$G/gen-$name.json" >"$TMP/g.txt"
    rm -rf "$TMP/out"
    "$MHAVIZ" run --model "tests/fixtures/$name" --ids --generate 8 --heads cross:0:0 \
        --format json --out "$TMP/out" "$TMP/g.txt" >"$TMP/stdout" 2>"$TMP/stderr"
    check "$name --generate: exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
    perl -MJSON::PP -e '
        local $/; open my $a, "<", $ARGV[0] or die; open my $b, "<", $ARGV[1] or die;
        my $x = decode_json(<$a>); my ($v) = grep { $_->{name} eq "own" } @{decode_json(<$b>)->{variants}};
        exit 5 unless $x->{generation}{from} eq "generation_config.json" && $x->{generation}{max_new_tokens} == 8;
        for my $s (0 .. $#{$v->{cases}}) {
            my $xs = $x->{sentences}[$s];
            exit 2 unless join(" ", @{$xs->{target_token_ids}}) eq join(" ", @{$v->{cases}[$s]{ids}});
            exit 3 if defined $xs->{target_text};
            exit 4 unless @{$xs->{attentions}} == 1 && $xs->{attentions}[0]{stack} eq "cross";
        }' "$TMP/out/g.json" "$G/gen-$name.json"
    check "$name --generate: tokens as transformers' generate() ($?)" "[ $? = 0 ]"
done

# Marian's own files (tests/gen/fam_marian_tok.py): source.spm + vocab.json for the source,
# target.spm + target_vocab.json (separate_vocabs) for the target, as MarianTokenizer gives
# them: ids, a piece vocab.json lacks as <unk>, target tokens named in the target vocabulary
M=tests/fixtures/s2s-marian-tok
perl -MJSON::PP -e 'local $/; binmode STDOUT, ":utf8";
    print "$_->{source}\t$_->{target}\n" for @{decode_json(<STDIN>)->{marian_pairs}}' \
    <"$G/s2s-marian-tok.json" >"$TMP/mp.txt"
cut -f1 "$TMP/mp.txt" >"$TMP/mg.txt"
rm -rf "$TMP/out"
"$MHAVIZ" run --model $M --pairs --heads cross:1:2 --format json --out "$TMP/out" "$TMP/mp.txt" \
    2>"$TMP/stderr"
check "marian text pairs: exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
"$MHAVIZ" run --model $M --generate 6 --heads cross:1:2 --format json --out "$TMP/out" \
    "$TMP/mg.txt" 2>"$TMP/stderr"
check "marian --generate from text: exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
perl -MJSON::PP -e '
    local $/; open my $a, "<", $ARGV[0] or die; open my $b, "<", $ARGV[1] or die;
    open my $c, "<", $ARGV[2] or die;
    my $x = decode_json(<$a>); my $y = decode_json(<$b>); my $g = decode_json(<$c>);
    open my $d, "<", $ARGV[3] or die; my $t = decode_json(<$d>);
    my $n = 0;
    for my $s (0 .. $#{$y->{marian_pairs}}) {
        my ($xs, $ys, $gs) = ($x->{sentences}[$s], $y->{marian_pairs}[$s], $g->{sentences}[$s]);
        exit 2 unless join(" ", @{$xs->{token_ids}}) eq join(" ", @{$ys->{src_ids}});
        exit 3 unless join(" ", @{$xs->{tokens}}) eq join(" ", @{$ys->{src_tokens}});
        exit 4 unless join(" ", @{$xs->{target_token_ids}}) eq join(" ", @{$ys->{tgt_ids}});
        exit 5 unless join(" ", @{$xs->{target_tokens}}) eq join(" ", @{$ys->{tgt_tokens}});
        exit 6 unless join(" ", @{$gs->{target_token_ids}}) eq join(" ", @{$t->{text_cases}[$s]{ids}});
        $n += grep { $_ eq "<unk>" } @{$xs->{tokens}};
    }
    exit 7 unless $n > 0;' "$TMP/out/mp.json" "$G/s2s-marian-tok.json" "$TMP/out/mg.json" \
    "$G/gen-s2s-marian-tok.json"
check "marian: source and target tokens and ids as MarianTokenizer, generation as HF ($?)" "[ $? = 0 ]"
"$MHAVIZ" rank --model $M --pairs --from Katze --to cat --format json "$TMP/mp.txt" \
    >"$TMP/rank.json" 2>"$TMP/stderr"
check "marian: rank --pairs on text" "[ $? = 0 ] && grep -q '\"sentences_used\": 1' $TMP/rank.json"
"$MHAVIZ" stats --model $M --pairs --stack dec "$TMP/mp.txt" >/dev/null 2>"$TMP/stderr"
check "marian: stats --pairs --stack dec on text" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"

# --format safetensors: a tensor per stack and layer, attn.encoder.L01 [H, S, S],
# attn.decoder.L01 [H, T, T], attn.cross.L01 [H, T, S], bit for bit the JSON's weights; the
# metadata names the source's and the target's tokens
rm -rf "$TMP/out"
"$MHAVIZ" run --model $M --pairs --heads 'enc:1:*,dec:0:1,cross:*:2' --format json,safetensors \
    --out "$TMP/out" "$TMP/mp.txt" 2>"$TMP/stderr"
check "marian safetensors: exit 0, one file per line" \
    "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/out/mp.safetensors ] && [ -s $TMP/out/mp-3.safetensors ]"
for k in 0 2; do
    f=$TMP/out/mp.safetensors; [ $k = 0 ] || f=$TMP/out/mp-$((k + 1)).safetensors
    perl -MJSON::PP -e '
        my ($f, $jf, $s) = @ARGV; local $/;
        open my $h, "<:raw", $f or die; my $all = <$h>;
        open my $g, "<", $jf or die; my $j = decode_json(<$g>)->{sentences}[$s];
        my $n = unpack("Q<", substr($all, 0, 8));
        exit 11 if (8 + $n) % 8;
        my $hdr = decode_json(substr($all, 8, $n)); my $data = substr($all, 8 + $n);
        my $md = delete $hdr->{__metadata__}; my $J = JSON::PP->new;
        exit 12 unless join("\x01", @{$J->decode($md->{tokens})}) eq join("\x01", @{$j->{tokens}});
        exit 13 unless join("\x01", @{$J->decode($md->{target_tokens})}) eq join("\x01", @{$j->{target_tokens}});
        exit 14 unless $md->{target_text} eq $j->{target_text};
        my $heads = $J->decode($md->{heads}); my $end = 0; my $count = 0;
        for my $a (@{$j->{attentions}}) {
            my $name = sprintf("attn.%s.L%02d", $a->{stack}, $a->{layer});
            my $t = $hdr->{$name} or exit 15;
            my ($H, $R, $S) = @{$t->{shape}};
            exit 16 unless $R == @{$a->{weights}} && $S == @{$a->{weights}[0]};
            my ($k) = grep { $heads->{$name}[$_] == $a->{head} } 0 .. $H - 1;
            exit 17 unless defined $k;
            my ($b, $e) = @{$t->{data_offsets}};
            $end = $e if $e > $end; $count++;
            for my $r (0 .. $R - 1) {
                exit 18 unless substr($data, $b + (($k * $R + $r) * $S) * 4, $S * 4) eq
                               pack("f<*", @{$a->{weights}[$r]});
            }
        }
        exit 19 unless $end == length($data) && $count == 4 + 1 + 2 && keys(%$hdr) == 4;
        exit 0;' "$f" "$TMP/out/mp.json" $k
    check "marian safetensors, line $((k + 1)): the JSON's weights bit for bit ($?)" "[ $? = 0 ]"
done

# --view lines: encoder and decoder as for other models, cross-attention target tokens left,
# source tokens right: one line per weight >= --min-weight, the alignment still a matrix
rm -rf "$TMP/out"
"$MHAVIZ" run --model $M --pairs --view lines --min-weight 0.05 --heads 'dec:0:1,cross:1:*' \
    --format svg,json --out "$TMP/out" "$TMP/mp.txt" 2>"$TMP/stderr"
check "--view lines: exit 0, figures" \
    "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/out/mp/D00-H01.svg ] && [ -s $TMP/out/mp/X01.svg ] && [ -s $TMP/out/mp/align.svg ]"
perl -MJSON::PP -e '
    local $/; open my $a, "<", $ARGV[0] or die; my $x = decode_json(<$a>)->{sentences}[0];
    my ($h) = grep { $_->{stack} eq "cross" && $_->{layer} == 1 && $_->{head} == 2 } @{$x->{attentions}};
    my $want = 0; for my $r (@{$h->{weights}}) { $want += grep { $_ >= 0.05 } @$r; }
    open my $s, "<", $ARGV[1] or die; my $svg = <$s>;
    my $got = () = $svg =~ /<line class="link"/g;
    exit($got == $want && $want > 0 ? 0 : 1);' \
    "$TMP/out/mp.json" "$TMP/out/mp/X01-H02.svg"
check "--view lines: a cross line per weight >= 0.05" "[ $? = 0 ]"
check "--view lines: the alignment stays a matrix" "! grep -q 'class=\"link\"' $TMP/out/mp/align.svg"
# --row WORD: the word in the target draws the decoder's and the cross-attention's rows
# (cross: bars over the source tokens, the mean of the word's rows), in the source the
# encoder's; a line with the word on neither side draws nothing, said once
rm -rf "$TMP/out"
"$MHAVIZ" run --model tests/fixtures/s2s-t5-tok-f16 --pairs --row Katze \
    --heads 'enc:0:0,dec:1:1,cross:1:2' --format svg,json --out "$TMP/out" \
    tests/fixtures/s2s-stats.txt 2>"$TMP/stderr"
check "--row: exit 0, said once for the 3 lines without the word" \
    "[ $? = 0 ] && [ \$(wc -l <$TMP/stderr) = 1 ] && grep -q \"'Katze' does not occur in 3 of 4 sentences\" $TMP/stderr"
check "--row: target-side figures only, no grids" \
    "[ \"\$(ls $TMP/out/s2s-stats | tr '\n' ' ')\" = 'D01-H01.svg X01-H02.svg ' ] && [ ! -e $TMP/out/s2s-stats-2 ]"
perl -MJSON::PP -e '
    local $/; open my $a, "<", $ARGV[0] or die; my $x = decode_json(<$a>)->{sentences}[0];
    my ($h) = grep { $_->{stack} eq "cross" } @{$x->{attentions}};
    my $at = index($x->{target_text}, "Katze"); my @rows;
    for my $i (0 .. $#{$x->{target_spans}}) { my $sp = $x->{target_spans}[$i]; next unless $sp;
        push @rows, $i if $sp->[0] < $at + 5 && $sp->[1] > $at; }
    open my $s, "<", $ARGV[1] or die; my @bars = <$s> =~ /<rect class="bar"[^>]* height="([0-9.]+)"/g;
    exit 2 unless @rows && @bars == @{$x->{tokens}};
    for my $j (0 .. $#bars) { my $m = 0; $m += $h->{weights}[$_][$j] for @rows; $m /= @rows;
        exit 3 if abs($bars[$j] / 180 - $m) > 1e-3; }' "$TMP/out/s2s-stats.json" "$TMP/out/s2s-stats/X01-H02.svg"
check "--row: cross bars are the word's mean row over the source ($?)" "[ $? = 0 ]"

# --aggregate mean: per stack and layer the mean of the heads, in place of the heads (JSON
# "aggregate": "mean", figures E01-mean, D01-mean, X01-mean and the alignment)
rm -rf "$TMP/out" "$TMP/all"
"$MHAVIZ" run --model $M --pairs --aggregate mean --format json,png --out "$TMP/out" \
    "$TMP/mp.txt" 2>"$TMP/stderr"
check "--aggregate mean: exit 0, figures" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ \"\$(ls $TMP/out/mp | tr '\n' ' ')\" = 'D00-mean.png D01-mean.png E00-mean.png E01-mean.png X00-mean.png X01-mean.png align.png ' ]"
"$MHAVIZ" run --model $M --pairs --format json --out "$TMP/all" "$TMP/mp.txt"
perl -MJSON::PP -e '
    local $/; open my $a, "<", $ARGV[0] or die; open my $b, "<", $ARGV[1] or die;
    my $x = decode_json(<$a>); my $y = decode_json(<$b>);
    for my $s (0 .. $#{$y->{sentences}}) {
        my %sum; my %cnt;
        for my $h (@{$y->{sentences}[$s]{attentions}}) {
            my $key = "$h->{stack}:$h->{layer}"; $cnt{$key}++;
            for my $i (0 .. $#{$h->{weights}}) { for my $j (0 .. $#{$h->{weights}[$i]}) {
                $sum{$key}[$i][$j] += $h->{weights}[$i][$j]; } }
        }
        my @agg = @{$x->{sentences}[$s]{attentions}};
        exit 2 unless @agg == keys %cnt;
        for my $g (@agg) {
            exit 3 unless $g->{aggregate} eq "mean" && !exists $g->{head};
            my $key = "$g->{stack}:$g->{layer}";
            for my $i (0 .. $#{$g->{weights}}) { for my $j (0 .. $#{$g->{weights}[$i]}) {
                exit 4 if abs($g->{weights}[$i][$j] - $sum{$key}[$i][$j] / $cnt{$key}) > 1e-6; } }
        }
    }' "$TMP/out/mp.json" "$TMP/all/mp.json"
check "--aggregate mean: the mean of the heads of each stack and layer ($?)" "[ $? = 0 ]"
# with safetensors: the file holds the JSON's means bit for bit, a map per stack and layer
# (head -1), and names the aggregate
rm -rf "$TMP/out"
"$MHAVIZ" run --model $M --pairs --aggregate mean --format json,safetensors --out "$TMP/out" \
    "$TMP/mp.txt" 2>"$TMP/stderr"
check "--aggregate mean, safetensors: exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
perl -MJSON::PP -e '
    my ($f, $jf) = @ARGV; local $/;
    open my $h, "<:raw", $f or die; my $all = <$h>;
    open my $g, "<", $jf or die; my $j = decode_json(<$g>)->{sentences}[0];
    my $n = unpack("Q<", substr($all, 0, 8));
    my $hdr = decode_json(substr($all, 8, $n)); my $data = substr($all, 8 + $n);
    my $md = delete $hdr->{__metadata__}; my $heads = JSON::PP->new->decode($md->{heads});
    exit 2 unless ($md->{aggregate} // "") eq "mean" && keys(%$hdr) == @{$j->{attentions}};
    for my $a (@{$j->{attentions}}) {
        my $name = sprintf("attn.%s.L%02d", $a->{stack}, $a->{layer});
        my $t = $hdr->{$name} or exit 3;
        my ($H, $R, $S) = @{$t->{shape}};
        exit 4 unless $H == 1 && "@{$heads->{$name}}" eq "-1" && $a->{aggregate} eq "mean";
        my ($b) = @{$t->{data_offsets}};
        exit 5 unless substr($data, $b, $R * $S * 4) eq pack("f<*", map { @$_ } @{$a->{weights}});
    }
    exit 0;' "$TMP/out/mp.safetensors" "$TMP/out/mp.json"
check "--aggregate mean, safetensors: the JSON's means, named ($?)" "[ $? = 0 ]"
expect_fail "--aggregate rollout refused by name" 2 "--aggregate rollout and flow are not available for encoder-decoder models" -- \
    "$MHAVIZ" run --model $M --pairs --aggregate rollout --out "$TMP/out" "$TMP/mp.txt"

# --truncate and --pretokenized on encoder-decoders
printf 'The cat sat on the mat.\tDie Katze sass auf der Matte.\n' >"$TMP/tr.txt"
rm -rf "$TMP/out"
"$MHAVIZ" run --model tests/fixtures/s2s-t5-tok-f16 --pairs --truncate --heads cross:0:0 \
    --format json --out "$TMP/out" "$TMP/tr.txt" 2>"$TMP/stderr"
check "--truncate: within the positions, nothing said" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
perl -e 'print "a " x 40, "\tb\n"' >"$TMP/long.txt"
rm -rf "$TMP/out"
"$MHAVIZ" run --model tests/fixtures/s2s-bart-f32 --ids --pairs --truncate --heads cross:0:0 \
    --format json --out "$TMP/out" <(perl -e 'print join(" ", (5) x 30), "\t2 7 8\n"') 2>"$TMP/stderr"
check "--truncate: source cut to the 24 positions, said" \
    "[ $? = 0 ] && grep -q 'source truncated from 30 to 24 tokens' $TMP/stderr && grep -q '\"token_ids\": \[5, 5' $TMP/out/*.json"
expect_fail "without --truncate: refused" 1 "exceed the model's 24 positions (use --truncate)" -- \
    "$MHAVIZ" run --model tests/fixtures/s2s-bart-f32 --ids --pairs --format json --out "$TMP/out" \
    <(perl -e 'print join(" ", (5) x 30), "\t2 7 8\n"')
# stats --truncate: the same cut as run --truncate (mBART: 40 positions)
perl -e 'print join(" ", ("cat") x 60), "\tPisica\n"' >"$TMP/long2.txt"
rm -rf "$TMP/out"
"$MHAVIZ" run --model tests/fixtures/s2s-mbart-lang --pairs --truncate --heads cross:0:0 \
    --format json --out "$TMP/out" "$TMP/long2.txt" 2>/dev/null
"$MHAVIZ" stats --model tests/fixtures/s2s-mbart-lang --pairs --stack cross --truncate \
    --format json "$TMP/long2.txt" >"$TMP/st.json" 2>"$TMP/stderr"
check "stats --truncate: exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
perl -MJSON::PP -e '
    local $/; open my $a, "<", $ARGV[0] or die; open my $b, "<", $ARGV[1] or die;
    my $w = decode_json(<$a>)->{sentences}[0]{attentions}[0]{weights};
    my ($h) = grep { $_->{layer} == 0 && $_->{head} == 0 } @{decode_json(<$b>)->{heads}};
    my $e = 0; for my $r (@$w) { for (@$r) { $e -= $_ * log($_) / log(2) if $_ > 0 } }
    exit(@{$w->[0]} == 40 && abs($e / @$w - $h->{entropy}) < 1e-5 ? 0 : 1);' \
    "$TMP/out/long2.json" "$TMP/st.json"
check "stats --truncate: the maps of run --truncate" "[ $? = 0 ]"
rm -rf "$TMP/out"
printf '\xe2\x96\x81 c at\t\xe2\x96\x81D ie\n' >"$TMP/pt.txt"
"$MHAVIZ" run --model $M --pretokenized --pairs --heads cross:0:0 --format json \
    --out "$TMP/out" "$TMP/pt.txt" 2>"$TMP/stderr"
check "--pretokenized pairs: pieces as given, the start token first" \
    "[ $? = 0 ] && grep -q '\"target_tokens\": \[\"<pad>\", \"▁D\", \"ie\"\]' $TMP/out/pt.json && grep -q '\"tokens\": \[\"▁\", \"c\", \"at\"\]' $TMP/out/pt.json"

# mBART's language codes (tests/gen/fam_mbart_lang.py): sources TEXT </s> src_lang, the
# decoder's input tgt_lang TEXT </s> (HF's shift_tokens_right of the labels), generation
# started from the target's code; as MBartTokenizer with src_lang / tgt_lang gives them
M=tests/fixtures/s2s-mbart-lang
n=$(perl -MJSON::PP -e 'local $/; print scalar @{decode_json(<STDIN>)->{lang_pairs}}' <"$G/s2s-mbart-lang.json")
for k in $(seq 0 $((n - 1))); do
    IFS=$'\t' read -r sl tl src tgt < <(perl -MJSON::PP -e 'local $/; binmode STDOUT, ":utf8";
        my $p = decode_json(<STDIN>)->{lang_pairs}[$ARGV[0]];
        print join("\t", @$p{qw(src_lang tgt_lang source target)}), "\n"' $k <"$G/s2s-mbart-lang.json")
    printf '%s\t%s\n' "$src" "$tgt" >"$TMP/lp.txt"
    rm -rf "$TMP/out"
    "$MHAVIZ" run --model $M --pairs --src-lang "$sl" --tgt-lang "$tl" --heads cross:0:0 \
        --format json --out "$TMP/out" "$TMP/lp.txt" 2>"$TMP/stderr"
    check "mbart $sl -> $tl: exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
    printf '%s\n' "$src" >"$TMP/lg.txt"
    "$MHAVIZ" run --model $M --generate 6 --src-lang "$sl" --tgt-lang "$tl" --heads cross:0:0 \
        --format json --out "$TMP/out" "$TMP/lg.txt" 2>"$TMP/stderr"
    check "mbart $sl -> $tl --generate: exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
    perl -MJSON::PP -e '
        local $/; open my $a, "<", $ARGV[0] or die; open my $b, "<", $ARGV[1] or die;
        open my $c, "<", $ARGV[2] or die;
        my $x = decode_json(<$a>)->{sentences}[0]; my $g = decode_json(<$c>)->{sentences}[0];
        my $y = decode_json(<$b>)->{lang_pairs}[$ARGV[3]];
        exit 2 unless join(" ", @{$x->{token_ids}}) eq join(" ", @{$y->{src_ids}});
        exit 3 unless join(" ", @{$x->{target_token_ids}}) eq join(" ", @{$y->{tgt_ids}});
        exit 4 unless $x->{target_tokens}[0] eq $y->{tgt_lang} && $x->{tokens}[-1] eq $y->{src_lang};
        exit 5 unless join(" ", @{$g->{token_ids}}) eq join(" ", @{$y->{src_ids}});
        open my $d, "<", $ARGV[4] or die; my $l = decode_json(<$d>)->{lang_cases}[$ARGV[3]];
        exit 6 unless join(" ", @{$g->{target_token_ids}}) eq join(" ", @{$l->{ids}});' \
        "$TMP/out/lp.json" "$G/s2s-mbart-lang.json" "$TMP/out/lg.json" $k "$G/gen-s2s-mbart-lang.json"
    check "mbart $sl -> $tl: source, decoder input and generation as transformers ($?)" "[ $? = 0 ]"
done
# the defaults: tokenizer_config.json's src_lang en_XX and tgt_lang ro_RO (the first pair)
perl -MJSON::PP -e 'local $/; binmode STDOUT, ":utf8"; my $p = decode_json(<STDIN>)->{lang_pairs}[0];
    print "$p->{source}\t$p->{target}\n"' <"$G/s2s-mbart-lang.json" >"$TMP/lp.txt"
rm -rf "$TMP/out"
"$MHAVIZ" run --model $M --pairs --heads cross:0:0 --format json --out "$TMP/out" "$TMP/lp.txt"
check "mbart: default codes from tokenizer_config.json" "perl -MJSON::PP -e '
    local \$/; open my \$a, \"<\", q($TMP/out/lp.json) or die; open my \$b, \"<\", q($G/s2s-mbart-lang.json) or die;
    my \$x = decode_json(<\$a>)->{sentences}[0]; my \$y = decode_json(<\$b>)->{lang_pairs}[0];
    exit !(join(q( ), @{\$x->{target_token_ids}}) eq join(q( ), @{\$y->{tgt_ids}}))'"
"$MHAVIZ" rank --model $M --pairs --src-lang de_DE --tgt-lang en_XX --from Hello --to Welt \
    --format json <(printf 'Hallo Welt\tHello world\n') >"$TMP/rank.json" 2>"$TMP/stderr"
check "mbart: rank --src-lang --tgt-lang" "[ $? = 0 ] && grep -q '\"sentences_used\": 1' $TMP/rank.json"
"$MHAVIZ" stats --model $M --pairs --stack cross --src-lang de_DE --tgt-lang en_XX \
    <(printf 'Hallo Welt\tHello world\n') >"$TMP/st.txt" 2>"$TMP/stderr"
check "mbart: stats --src-lang --tgt-lang" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
expect_fail "--src-lang without codes" 2 "--src-lang is for models whose tokenizer marks sources with a language code" -- \
    "$MHAVIZ" run --model tests/fixtures/s2s-t5-tok-f16 --pairs --src-lang de_DE --out "$TMP/out" "$TMP/lp.txt"
expect_fail "--tgt-lang not a code" 2 "--tgt-lang 'Hallo' is not a language code" -- \
    "$MHAVIZ" run --model $M --pairs --tgt-lang Hallo --out "$TMP/out" "$TMP/lp.txt"
expect_fail "--src-lang without --pairs" 2 "are for encoder-decoder models" -- \
    "$MHAVIZ" run --model $M --src-lang de_DE --out "$TMP/out" "$TMP/lp.txt"
expect_fail "stats --tgt-lang without --stack" 2 "need --pairs and --stack" -- \
    "$MHAVIZ" stats --model $M --tgt-lang de_DE "$TMP/lp.txt"

# NLLB's language codes (tests/gen/fam_nllb.py): sources src_lang TEXT </s>, the decoder's
# input decoder_start_token_id, then tgt_lang TEXT </s> (tokenizer(text_target=...)),
# generation with the target's code forced after the start; as NllbTokenizer and
# generate(forced_bos_token_id=...) give them
M=tests/fixtures/s2s-nllb-f32
n=$(perl -MJSON::PP -e 'local $/; print scalar @{decode_json(<STDIN>)->{lang_pairs}}' <"$G/s2s-nllb-f32.json")
for k in $(seq 0 $((n - 1))); do
    IFS=$'\t' read -r sl tl src tgt < <(perl -MJSON::PP -e 'local $/; binmode STDOUT, ":utf8";
        my $p = decode_json(<STDIN>)->{lang_pairs}[$ARGV[0]];
        print join("\t", @$p{qw(src_lang tgt_lang source target)}), "\n"' $k <"$G/s2s-nllb-f32.json")
    printf '%s\t%s\n' "$src" "$tgt" >"$TMP/lp.txt"
    rm -rf "$TMP/out"
    "$MHAVIZ" run --model $M --pairs --src-lang "$sl" --tgt-lang "$tl" --heads cross:0:0 \
        --format json --out "$TMP/out" "$TMP/lp.txt" 2>"$TMP/stderr"
    check "nllb $sl -> $tl: exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
    printf '%s\n' "$src" >"$TMP/lg.txt"
    "$MHAVIZ" run --model $M --generate 6 --src-lang "$sl" --tgt-lang "$tl" --heads cross:0:0 \
        --format json --out "$TMP/out" "$TMP/lg.txt" 2>"$TMP/stderr"
    check "nllb $sl -> $tl --generate: exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
    perl -MJSON::PP -e '
        local $/; open my $a, "<", $ARGV[0] or die; open my $b, "<", $ARGV[1] or die;
        open my $c, "<", $ARGV[2] or die;
        my $x = decode_json(<$a>)->{sentences}[0]; my $g = decode_json(<$c>)->{sentences}[0];
        my $y = decode_json(<$b>)->{lang_pairs}[$ARGV[3]];
        exit 2 unless join(" ", @{$x->{token_ids}}) eq join(" ", @{$y->{src_ids}});
        exit 3 unless join(" ", @{$x->{target_token_ids}}) eq join(" ", @{$y->{tgt_ids}});
        exit 4 unless $x->{target_tokens}[1] eq $y->{tgt_lang} && $x->{tokens}[0] eq $y->{src_lang};
        exit 5 unless join(" ", @{$g->{token_ids}}) eq join(" ", @{$y->{src_ids}});
        open my $d, "<", $ARGV[4] or die; my $l = decode_json(<$d>)->{lang_cases}[$ARGV[3]];
        exit 6 unless join(" ", @{$g->{target_token_ids}}) eq join(" ", @{$l->{ids}});' \
        "$TMP/out/lp.json" "$G/s2s-nllb-f32.json" "$TMP/out/lg.json" $k "$G/gen-s2s-nllb-f32.json"
    check "nllb $sl -> $tl: source, decoder input and generation as transformers ($?)" "[ $? = 0 ]"
done
# the defaults: tokenizer_config.json's src_lang eng_Latn and tgt_lang fra_Latn (the first pair)
perl -MJSON::PP -e 'local $/; binmode STDOUT, ":utf8"; my $p = decode_json(<STDIN>)->{lang_pairs}[0];
    print "$p->{source}\t$p->{target}\n"' <"$G/s2s-nllb-f32.json" >"$TMP/lp.txt"
rm -rf "$TMP/out"
"$MHAVIZ" run --model $M --pairs --heads cross:0:0 --format json --out "$TMP/out" "$TMP/lp.txt"
check "nllb: default codes from tokenizer_config.json" "perl -MJSON::PP -e '
    local \$/; open my \$a, \"<\", q($TMP/out/lp.json) or die; open my \$b, \"<\", q($G/s2s-nllb-f32.json) or die;
    my \$x = decode_json(<\$a>)->{sentences}[0]; my \$y = decode_json(<\$b>)->{lang_pairs}[0];
    exit !(join(q( ), @{\$x->{target_token_ids}}) eq join(q( ), @{\$y->{tgt_ids}}) &&
           join(q( ), @{\$x->{token_ids}}) eq join(q( ), @{\$y->{src_ids}}))'"
"$MHAVIZ" rank --model $M --pairs --src-lang deu_Latn --tgt-lang eng_Latn --from Hello --to Welt \
    --format json <(printf 'Hallo Welt\tHello world\n') >"$TMP/rank.json" 2>"$TMP/stderr"
check "nllb: rank --src-lang --tgt-lang" "[ $? = 0 ] && grep -q '\"sentences_used\": 1' $TMP/rank.json"
"$MHAVIZ" stats --model $M --pairs --stack cross --src-lang deu_Latn --tgt-lang eng_Latn \
    <(printf 'Hallo Welt\tHello world\n') >"$TMP/st.txt" 2>"$TMP/stderr"
check "nllb: stats --src-lang --tgt-lang" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
perl -e 'print join(" ", ("cat") x 60), "\tchat\n"' >"$TMP/long3.txt"
rm -rf "$TMP/out"
"$MHAVIZ" run --model $M --pairs --truncate --heads cross:0:0 --format json --out "$TMP/out" \
    "$TMP/long3.txt" 2>/dev/null
check "nllb: --truncate keeps the code first and </s> last" "perl -MJSON::PP -e '
    local \$/; my \$t = decode_json(<STDIN>)->{sentences}[0]{tokens};
    exit !(@\$t == 40 && \$t->[0] eq q(eng_Latn) && \$t->[-1] eq q(</s>))' <$TMP/out/long3.json"
info=$("$MHAVIZ" info --model $M)
check "nllb: info names m2m_100" "printf '%s\n' \"\$info\" | grep -q '^architecture: m2m_100 (model_type m2m_100)$'"
expect_fail "nllb: --tgt-lang not a code" 2 "--tgt-lang 'fra_latn' is not a language code" -- \
    "$MHAVIZ" run --model $M --pairs --tgt-lang fra_latn --out "$TMP/out" "$TMP/lp.txt"
mkdir -p "$TMP/nocfg"
cp $M/config.json $M/model.safetensors $M/tokenizer.json "$TMP/nocfg/"
expect_fail "nllb: no tgt_lang anywhere asks for --tgt-lang" 2 "give the target's with --tgt-lang" -- \
    "$MHAVIZ" run --model "$TMP/nocfg" --pairs --out "$TMP/out" "$TMP/lp.txt"
# M2M100's own tokenizer files: tests/cli/m2m100.sh

# Pegasus's spiece.model without tokenizer.json is refused by name, whether tokenizer_config.json
# names PegasusTokenizer or config.json's model_type alone implies it
P=tests/fixtures/s2s-pegasus-f32
mkdir -p "$TMP/peg"
cp $P/config.json $P/model.safetensors "$TMP/peg/"
cp tests/fixtures/tok-t5-spm/spiece.model "$TMP/peg/"
printf '{"tokenizer_class": "PegasusTokenizer"}' >"$TMP/peg/tokenizer_config.json"
printf 'a\tb\n' >"$TMP/peg.txt"
expect_fail "pegasus: spiece.model refused" 1 "PegasusTokenizer's spiece.model (its pieces numbered after <mask_1>, <mask_2> and <unk_2> .. <unk_102>) is not read: make tokenizer.json" -- \
    "$MHAVIZ" run --model "$TMP/peg" --pairs --out "$TMP/out" "$TMP/peg.txt"
rm "$TMP/peg/tokenizer_config.json"
expect_fail "pegasus: spiece.model refused by model_type" 1 "PegasusTokenizer's spiece.model" -- \
    "$MHAVIZ" run --model "$TMP/peg" --pairs --out "$TMP/out" "$TMP/peg.txt"
# BlenderbotSmallTokenizer (a BPE of its own, no tokenizer.json) is refused by name, named by
# tokenizer_config.json or implied by model_type blenderbot-small
B=tests/fixtures/s2s-blenderbot-small-f16
mkdir -p "$TMP/bbs"
cp $B/config.json $B/model.safetensors "$TMP/bbs/"
printf '{"__null__": 0, "a": 1}' >"$TMP/bbs/vocab.json"
printf '#version: 0.2\n' >"$TMP/bbs/merges.txt"
printf '{"tokenizer_class": "BlenderbotSmallTokenizer"}' >"$TMP/bbs/tokenizer_config.json"
expect_fail "blenderbot-small: its tokenizer refused" 1 "tokenizer_class 'BlenderbotSmallTokenizer' without a tokenizer.json is not supported" -- \
    "$MHAVIZ" run --model "$TMP/bbs" --pairs --out "$TMP/out" "$TMP/peg.txt"
rm "$TMP/bbs/tokenizer_config.json"
expect_fail "blenderbot-small: its tokenizer refused by model_type" 1 "tokenizer_class 'BlenderbotSmallTokenizer' (config.json's model_type) without a tokenizer.json is not supported" -- \
    "$MHAVIZ" run --model "$TMP/bbs" --pairs --out "$TMP/out" "$TMP/peg.txt"
# so is Blenderbot's vocab.json + merges.txt without tokenizer.json: read as GPT-2's they
# would lack BlenderbotTokenizer's prefix space
mkdir -p "$TMP/bb"
cp tests/fixtures/s2s-blenderbot-model-bf16/config.json "$TMP/bb/"
cp "$TMP/bbs/vocab.json" "$TMP/bbs/merges.txt" "$TMP/bb/"
expect_fail "blenderbot: vocab.json + merges.txt refused by model_type" 1 "tokenizer_class 'BlenderbotTokenizer' (config.json's model_type) without a tokenizer.json is not supported" -- \
    "$MHAVIZ" tokenize --model "$TMP/bb" "$TMP/peg.txt"
check "blenderbot-small: info names it" "$MHAVIZ info --model $B | grep -q '^architecture: blenderbot-small (model_type blenderbot-small)$'"
check "pegasus: info names pegasus" "$MHAVIZ info --model $P | grep -q '^architecture: pegasus (model_type pegasus)$'"

# mBART-50's language codes (tests/gen/fam_mbart50.py): MBart50TokenizerFast's sources
# src_lang TEXT </s>; the decoder's input decoder_start_token_id (</s>), then the labels
# tgt_lang TEXT </s>, whose first tokens are shift_tokens_right(labels) as transformers
# trains with; --generate as generate(forced_bos_token_id=tgt_lang); every head of the
# three stacks of the text pair as transformers' eager attentions
M=tests/fixtures/s2s-mbart50-f32
n=$(perl -MJSON::PP -e 'local $/; print scalar @{decode_json(<STDIN>)->{lang_pairs}}' <"$G/s2s-mbart50-f32.json")
for k in $(seq 0 $((n - 1))); do
    IFS=$'\t' read -r sl tl src tgt < <(perl -MJSON::PP -e 'local $/; binmode STDOUT, ":utf8";
        my $p = decode_json(<STDIN>)->{lang_pairs}[$ARGV[0]];
        print join("\t", @$p{qw(src_lang tgt_lang source target)}), "\n"' $k <"$G/s2s-mbart50-f32.json")
    printf '%s\t%s\n' "$src" "$tgt" >"$TMP/lp.txt"
    rm -rf "$TMP/out"
    "$MHAVIZ" run --model $M --pairs --src-lang "$sl" --tgt-lang "$tl" --format json \
        --out "$TMP/out" "$TMP/lp.txt" 2>"$TMP/stderr"
    check "mbart50 $sl -> $tl: exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
    printf '%s\n' "$src" >"$TMP/lg.txt"
    "$MHAVIZ" run --model $M --generate 6 --src-lang "$sl" --tgt-lang "$tl" --heads cross:0:0 \
        --format json --out "$TMP/out" "$TMP/lg.txt" 2>"$TMP/stderr"
    check "mbart50 $sl -> $tl --generate: exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
    perl -MJSON::PP -e '
        local $/; open my $a, "<", $ARGV[0] or die; open my $b, "<", $ARGV[1] or die;
        open my $c, "<", $ARGV[2] or die;
        my $x = decode_json(<$a>)->{sentences}[0]; my $g = decode_json(<$c>)->{sentences}[0];
        my $j = decode_json(<$b>); my $y = $j->{lang_pairs}[$ARGV[3]];
        my @t = @{$x->{target_token_ids}};
        exit 2 unless join(" ", @{$x->{token_ids}}) eq join(" ", @{$y->{src_ids}});
        exit 3 unless join(" ", @t) eq join(" ", @{$y->{tgt_ids}});
        exit 3 unless join(" ", @t[0 .. $#t - 1]) eq join(" ", @{$y->{shifted}});
        exit 4 unless $x->{target_tokens}[1] eq $y->{tgt_lang} && $x->{tokens}[0] eq $y->{src_lang};
        exit 5 unless join(" ", @{$g->{token_ids}}) eq join(" ", @{$y->{src_ids}});
        open my $d, "<", $ARGV[4] or die; my $l = decode_json(<$d>)->{lang_cases}[$ARGV[3]];
        exit 6 unless join(" ", @{$g->{target_token_ids}}) eq join(" ", @{$l->{ids}});
        my ($worst, $count) = (0, 0);
        for my $h (@{$x->{attentions}}) {
            my $r = $y->{$h->{stack}}[$h->{layer}][$h->{head}] or exit 7;
            my $w = $h->{weights}; $count++;
            exit 7 unless @$w == @$r && @{$w->[0]} == @{$r->[0]};
            for my $i (0 .. $#$r) { for my $k (0 .. $#{$r->[$i]}) {
                my $d = abs($w->[$i][$k] - $r->[$i][$k]); $worst = $d if $d > $worst;
            } }
        }
        my $want = 0; $want += @{$y->{$_}} * @{$y->{$_}[0]} for qw(encoder decoder cross);
        exit 8 unless $count == $want;
        exit($worst <= $j->{lang_tolerance} ? 0 : 9);' \
        "$TMP/out/lp.json" "$G/s2s-mbart50-f32.json" "$TMP/out/lg.json" $k "$G/gen-s2s-mbart50-f32.json"
    check "mbart50 $sl -> $tl: source, decoder input, generation and attentions as transformers ($?)" "[ $? = 0 ]"
done
# the defaults: tokenizer_config.json's src_lang en_XX and tgt_lang ro_RO (the first pair)
perl -MJSON::PP -e 'local $/; binmode STDOUT, ":utf8"; my $p = decode_json(<STDIN>)->{lang_pairs}[0];
    print "$p->{source}\t$p->{target}\n"' <"$G/s2s-mbart50-f32.json" >"$TMP/lp.txt"
rm -rf "$TMP/out"
"$MHAVIZ" run --model $M --pairs --heads cross:0:0 --format json --out "$TMP/out" "$TMP/lp.txt"
check "mbart50: default codes from tokenizer_config.json" "perl -MJSON::PP -e '
    local \$/; open my \$a, \"<\", q($TMP/out/lp.json) or die; open my \$b, \"<\", q($G/s2s-mbart50-f32.json) or die;
    my \$x = decode_json(<\$a>)->{sentences}[0]; my \$y = decode_json(<\$b>)->{lang_pairs}[0];
    exit !(join(q( ), @{\$x->{target_token_ids}}) eq join(q( ), @{\$y->{tgt_ids}}) &&
           join(q( ), @{\$x->{token_ids}}) eq join(q( ), @{\$y->{src_ids}}))'"
info=$("$MHAVIZ" info --model $M)
check "mbart50: info names mbart" "printf '%s\n' \"\$info\" | grep -q '^architecture: mbart (model_type mbart)$'"

# --format html: one page with the three stacks, each head tagged with its stack (the page
# itself is driven in Chromium by tests/cli/browser.sh)
rm -rf "$TMP/out"
"$MHAVIZ" run --model tests/fixtures/s2s-bart-f32 --ids --generate 4 --heads 'enc:0:1,cross:1:*' \
    --format html --out "$TMP/out" <(printf '5 9 11\n') >"$TMP/stdout" 2>"$TMP/stderr"
check "html: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/out/*.html ]"
check "html: the stacks and their layers" \
    "grep -q '\"stacks\": {\"encoder\": 2, \"decoder\": 3, \"cross\": 3}' $TMP/out/*.html"
check "html: 1 encoder and 4 cross heads" \
    "[ \$(grep -c '\"encoder\"\]' $TMP/out/*.html) = 1 ] && [ \$(grep -c '\"cross\"\]' $TMP/out/*.html) = 4 ]"
check "html: nothing from the network" "! grep -q 'https\?://' $TMP/out/*.html"

# --heads by stack and the other refusals
M=tests/fixtures/s2s-t5-f32
printf '5 9 11\t0 7\n' >"$TMP/p.txt"
rm -rf "$TMP/out"
"$MHAVIZ" run --model $M --ids --pairs --heads 'enc:1:2,dec:*:0' --format json --out "$TMP/out" \
    "$TMP/p.txt" 2>/dev/null
check "--heads enc:1:2,dec:*:0 keeps 4 entries" \
    "[ \"\$(grep -c '\"stack\"' $TMP/out/p.json)\" = 4 ]"
expect_fail "bad stack spec" 2 "enc:LAYER:HEAD" -- "$MHAVIZ" run --model $M --ids --pairs \
    --heads 1:2 --out "$TMP/out" "$TMP/p.txt"
expect_fail "layer out of range" 2 "out of range" -- "$MHAVIZ" run --model $M --ids --pairs \
    --heads cross:3:0 --out "$TMP/out" "$TMP/p.txt"
expect_fail "no --pairs" 2 "give --pairs" -- "$MHAVIZ" run --model $M --ids --out "$TMP/out" \
    "$TMP/p.txt"
printf '5 9 11\n' >"$TMP/nt.txt"
expect_fail "no TAB" 1 "line 1: no TAB" -- "$MHAVIZ" run --model $M --ids --pairs \
    --out "$TMP/out" "$TMP/nt.txt"
expect_fail "pairs and generate" 2 "exclude each other" -- "$MHAVIZ" run --model $M --ids \
    --pairs --generate 3 --out "$TMP/out" "$TMP/p.txt"
expect_fail "target id out of range" 2 "line 1: target token id 96 outside" -- "$MHAVIZ" run --model $M --ids --pairs \
    --out "$TMP/out" <(printf '5 9\t0 96\n')
expect_fail "align layer" 2 "align-layer" -- "$MHAVIZ" run --model $M --ids --pairs \
    --align-layer 3 --out "$TMP/out" "$TMP/p.txt"
expect_fail "pairs on a decoder" 2 "needs a text encoder or an encoder-decoder" -- "$MHAVIZ" run \
    --model tests/fixtures/dec-gpt2-f32 --ids --pairs --out "$TMP/out" "$TMP/p.txt"

# rank --pairs --stack: the scores are the run's maps summed over the --to tokens, averaged
# over the --from tokens (words found by character spans: both at characters 0-5 here)
printf 'Hello world\tHallo Welt\n' >"$TMP/r.txt"
T=tests/fixtures/s2s-t5-tok-f16
rm -rf "$TMP/out"
"$MHAVIZ" run --model $T --pairs --format json --out "$TMP/out" "$TMP/r.txt" 2>/dev/null
for st in cross:Hallo:Hello enc:Hello:world dec:Welt:Hallo; do
    IFS=: read -r stack from to <<<"$st"
    "$MHAVIZ" rank --model $T --pairs --stack $stack --from $from --to $to --top 0 \
        --format json "$TMP/r.txt" >"$TMP/rank.json" 2>"$TMP/stderr"
    check "rank --stack $stack: exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
    perl -MJSON::PP -e '
        local $/; open my $a, "<", $ARGV[0] or die; open my $b, "<", $ARGV[1] or die;
        my $run = decode_json(<$a>)->{sentences}[0]; my $rk = decode_json(<$b>);
        my ($stack, $from, $to) = @ARGV[2 .. 4];
        my %name = (cross => "cross", enc => "encoder", dec => "decoder");
        # the tokens whose spans overlap the word (its first occurrence) in a text
        sub toks { my ($text, $spans, $w) = @_; my $at = index($text, $w); my @t;
            for my $i (0 .. $#$spans) { my $s = $spans->[$i]; next unless $s;
                push @t, $i if $s->[0] < $at + length($w) && $s->[1] > $at; } return @t; }
        my @f = $stack eq "enc" ? toks($run->{text}, $run->{spans}, $from)
                                : toks($run->{target_text}, $run->{target_spans}, $from);
        my @t = $stack eq "dec" ? toks($run->{target_text}, $run->{target_spans}, $to)
                                : toks($run->{text}, $run->{spans}, $to);
        exit 2 unless @f && @t;
        my %want;
        for my $h (@{$run->{attentions}}) {
            next unless $h->{stack} eq $name{$stack}; my $sc = 0;
            for my $r (@f) { $sc += $h->{weights}[$r][$_] for @t; }
            $want{"$h->{layer}:$h->{head}"} = $sc / @f;
        }
        exit 3 unless keys(%want) == @{$rk->{heads}};
        my $prev = 1e9;
        for my $e (@{$rk->{heads}}) {
            exit 4 unless $e->{stack} eq $name{$stack};
            exit 5 if abs($e->{score} - $want{"$e->{layer}:$e->{head}"}) > 1e-6;
            exit 6 if $e->{score} > $prev; $prev = $e->{score};
        }' "$TMP/out/r.json" "$TMP/rank.json" $stack $from $to
    check "rank --stack $stack: scores from the maps ($?)" "[ $? = 0 ]"
done
expect_fail "rank without --pairs" 2 "rank it with --pairs" -- "$MHAVIZ" rank --model $T \
    --from Hallo --to Hello "$TMP/r.txt"
expect_fail "rank --stack without --pairs" 2 "--stack needs --pairs" -- "$MHAVIZ" rank \
    --model $T --stack cross --from Hallo --to Hello "$TMP/r.txt"
expect_fail "rank: word absent" 1 "no sentence pair has" -- "$MHAVIZ" rank --model $T --pairs \
    --from Katze --to Hello "$TMP/r.txt"
# stats --pairs --stack: the statistics of the stack's maps as run writes them
rm -rf "$TMP/out"
"$MHAVIZ" run --model $T --pairs --format json --out "$TMP/out" "$TMP/r.txt" 2>/dev/null
for stack in enc dec; do
    "$MHAVIZ" stats --model $T --pairs --stack $stack --format csv --threads 2 "$TMP/r.txt" \
        >"$TMP/stats.csv" 2>"$TMP/stderr"
    check "stats --stack $stack: exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
    perl -MJSON::PP -e '
        local $/; open my $a, "<", $ARGV[0] or die; my $run = decode_json(<$a>)->{sentences}[0];
        my $name = $ARGV[2] eq "enc" ? "encoder" : "decoder";
        open my $c, "<", $ARGV[1] or die; my @lines = split /\n/, <$c>; shift @lines;
        my %csv = map { my @f = split /,/; ("$f[0]:$f[1]" => \@f) } @lines;
        my $seen = 0;
        for my $h (@{$run->{attentions}}) {
            next unless $h->{stack} eq $name; $seen++;
            my $w = $h->{weights}; my ($ent, $self) = (0, 0);
            for my $i (0 .. $#$w) {
                for my $p (@{$w->[$i]}) { $ent -= $p * log($p) / log(2) if $p > 0; }
                $self += $w->[$i][$i];
            }
            my $f = $csv{"$h->{layer}:$h->{head}"} or exit 2;
            exit 3 if abs($f->[2] - $ent / @$w) > 1e-5 || abs($f->[8] - $self / @$w) > 1e-5;
        }
        exit 4 unless $seen == @lines;' "$TMP/out/r.json" "$TMP/stats.csv" $stack
    check "stats --stack $stack: entropy and self from the maps ($?)" "[ $? = 0 ]"
done
"$MHAVIZ" stats --model $T --pairs --stack enc --format json "$TMP/r.txt" >"$TMP/enc.json"
"$MHAVIZ" stats --model $T --pairs --stack dec --format json "$TMP/r.txt" >"$TMP/dec.json"
check "stats json records the stack" "grep -q '\"stack\": \"decoder\"' $TMP/dec.json"
"$MHAVIZ" stats --merge --format csv "$TMP/enc.json" "$TMP/enc.json" >/dev/null 2>&1
check "stats --merge of one stack" "[ $? = 0 ]"
expect_fail "stats --merge of two stacks" 1 "cannot merge statistics of the decoder stack" -- \
    "$MHAVIZ" stats --merge "$TMP/enc.json" "$TMP/dec.json"
expect_fail "stats without --pairs" 2 "give --pairs" -- "$MHAVIZ" stats --model $T "$TMP/r.txt"
# every stack's statistics against the golden computed from transformers' attentions
# (tests/gen/gen_s2s_stats_golden.py): cross maps have entropy, distance from the diagonal,
# first and sep, and null prev, next and self
for stack in enc dec cross; do
    "$MHAVIZ" stats --model $T --pairs --stack $stack --format json --threads 2 \
        tests/fixtures/s2s-stats.txt >"$TMP/st.json" 2>"$TMP/stderr"
    check "stats --stack $stack on the golden corpus: exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
    perl -MJSON::PP -e '
        local $/; open my $a, "<", $ARGV[0] or die; open my $b, "<", $ARGV[1] or die;
        my $x = decode_json(<$a>); my $g = decode_json(<$b>);
        my %name = (enc => "encoder", dec => "decoder", cross => "cross");
        my $stack = $name{$ARGV[2]};
        exit 2 unless $x->{stack} eq $stack && $x->{sentences} == 4;
        my %mine = map { ("$_->{layer}:$_->{head}" => $_) } @{$x->{heads}};
        my $n = 0;
        for my $h (grep { $_->{stack} eq $stack } @{$g->{heads}}) {
            my $m = $mine{"$h->{layer}:$h->{head}"} or exit 3; $n++;
            for my $k (qw(entropy distance first sep prev next self)) {
                if (!defined $h->{$k}) { exit 4 if defined $m->{$k}; next; }
                exit 5 unless defined $m->{$k} && abs($m->{$k} - $h->{$k}) <= $g->{tolerance}{$k};
            }
        }
        exit 6 unless $n == keys %mine;' "$TMP/st.json" "$G/stats-s2s-t5.json" $stack
    check "stats --stack $stack: every head as the golden ($?)" "[ $? = 0 ]"
done
"$MHAVIZ" stats --model $T --pairs --stack cross --format json tests/fixtures/s2s-stats.txt \
    >"$TMP/cross.json" 2>/dev/null
"$MHAVIZ" stats --merge --format csv "$TMP/cross.json" >"$TMP/cross.csv" 2>"$TMP/stderr"
check "stats --merge of cross parts: empty prev, next, self" \
    "[ $? = 0 ] && sed -n 2p $TMP/cross.csv | grep -q '^0,0,[^,]*,[^,]*,[^,]*,[^,]*,,,,'"
"$MHAVIZ" stats --model $T --pairs --stack cross --format png --out "$TMP/cross.png" \
    tests/fixtures/s2s-stats.txt 2>"$TMP/stderr"
check "stats --stack cross --format png: the title names the stack" \
    "[ $? = 0 ] && grep -aq 'cross-attention heads, 4 sentences' $TMP/cross.png"
expect_fail "stats --stack bad" 2 "is not enc, dec or cross" -- "$MHAVIZ" stats --model $T \
    --pairs --stack both "$TMP/r.txt"

# separate source and target vocabularies: target text is refused, ids label themselves
M2=$TMP/marian-sep
mkdir -p "$M2"
cp tests/fixtures/s2s-marian-separate-f32/* tests/fixtures/tok-t5/tokenizer.json "$M2"/
expect_fail "separate vocabularies: text target" 1 "give the target as ids" -- "$MHAVIZ" run \
    --model $M2 --pairs --out "$TMP/out" <(printf 'a\tb\n')

check "info: a Unigram tokenizer is named so" \
    "\"\$MHAVIZ\" info --model tests/fixtures/s2s-t5-tok-f16 | grep -qx 'tokenizer: unigram, 600 pieces'"
# FSMT: FSMTTokenizer's files are refused by name; ids run (tokens labelled by their ids)
rm -rf "$TMP/fsmt"
mkdir "$TMP/fsmt"
cp tests/fixtures/s2s-fsmt-f32/* "$TMP/fsmt/"
printf '{"<s>": 0, "<pad>": 1, "</s>": 2}' >"$TMP/fsmt/vocab-src.json"
printf 'a cat\tdie Katze\n' >"$TMP/ft.txt"
expect_fail "FSMTTokenizer refused by name" 1 "vocab-src.json: FSMTTokenizer (vocab-src.json, vocab-tgt.json, merges.txt: Moses pre-tokenization and fairseq's BPE) is not supported: give token ids (--ids)" -- \
    "$MHAVIZ" run --model "$TMP/fsmt" --pairs --out "$TMP/out" "$TMP/ft.txt"
printf '5 9 11\t2 7 8\n' >"$TMP/fi.txt"
rm -rf "$TMP/out"
"$MHAVIZ" run --model "$TMP/fsmt" --ids --pairs --heads cross:0:0 --format json --out "$TMP/out" "$TMP/fi.txt" 2>"$TMP/stderr"
check "FSMT --ids: runs, the tokenizer's refusal a warning" "[ $? = 0 ] && grep -q 'warning: .*FSMTTokenizer' $TMP/stderr && [ -s $TMP/out/fi.json ]"
expect_fail "FSMT: a target holding pad_token_id" 1 "FSMT masks pad_token_id 1 in the decoder's input" -- \
    "$MHAVIZ" run --model tests/fixtures/s2s-fsmt-f32 --ids --pairs --out "$TMP/out" <(printf '5 9 11\t2 1 8\n')
info=$("$MHAVIZ" info --model tests/fixtures/s2s-bart-f32)
check "info: encoder and decoder layers" \
    "echo \"\$info\" | grep -qx 'layers: 2' && echo \"\$info\" | grep -qx 'decoder_layers: 3' && echo \"\$info\" | grep -qx 'decoder_start_token_id: 2'"
finish
