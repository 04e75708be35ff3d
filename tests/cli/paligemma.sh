#!/usr/bin/env bash
# PaliGemma through `mhaviz run --image`: the prompts of tests/gen/fam_paligemma.py end to
# end against transformers' PaliGemmaProcessor and model (tests/fixtures/goldens/
# mm-paligemma*.json: its ids, every decoder head), the image tokens' labels, the prefix's
# mask (every token sees every other), a suffix after a tab (causal, token type 1), the same
# bytes on 1 and 2 threads; what is refused.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
FIX=tests/fixtures
IMG=$FIX/images/rgb-37x23.png

# every sentence of JSON against GOLDEN: the processor's ids, each head within its tolerance
golden_check() { # GOLDEN JSON
    perl -MJSON::PP -e 'local $/; open(my $g, q(<), $ARGV[0]) or exit 9; my $gold = decode_json(<$g>);
        open(my $r, q(<), $ARGV[1]) or exit 9; my $run = decode_json(<$r>);
        my @gs = @{$gold->{sentences}}; my @rs = @{$run->{sentences}};
        exit 8 unless @gs == @rs;
        for my $k (0 .. $#gs) {
            my ($g, $s) = ($gs[$k], $rs[$k]);
            exit 7 unless join(",", @{$g->{token_ids}}) eq join(",", @{$s->{token_ids}});
            exit 5 unless @{$s->{attentions}} > 0;
            for my $a (@{$s->{attentions}}) {
                my $w = $g->{attentions}[$a->{layer}][$a->{head}];
                for my $i (0 .. $#$w) { for my $j (0 .. $#{$w->[$i]}) {
                    exit 6 if abs($w->[$i][$j] - $a->{weights}[$i][$j]) > $gold->{tolerance};
                } }
            }
        }
        exit 0' "$1" "$2"
}

# a prefix each line: without <image> it goes first, with it bos follows it; a suffix after
# a tab
printf 'what is this?\n<image>describe the cat\ncaption en\nwhat is this?\ta red cat on a mat\n' >"$TMP/p.txt"
"$MHAVIZ" run --model "$FIX/mm-paligemma-f32" --image "$IMG" --format json,png,html --out "$TMP/a" \
    --threads 1 "$TMP/p.txt" 2>"$TMP/stderr"
check "mm-paligemma-f32: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
check "mm-paligemma-f32: ids and every head as transformers'" "golden_check $FIX/goldens/mm-paligemma-f32.json $TMP/a/p.json"
check "mm-paligemma-f32: figures and page" "[ -s $TMP/a/p/L01-H03.png ] && [ -s $TMP/a/p-3/L00-H00.png ] && [ -s $TMP/a/p.html ]"
check "mm-paligemma-f32: the image tokens first, bos, the prompt, a newline" "perl -MJSON::PP -e 'local \$/;
    my \$s = decode_json(<STDIN>)->{sentences}[1]; my \$im = \$s->{image};
    exit !(\$im->{first_token} == 0 && \$im->{tokens} == 16 && \$im->{grid}[0] == 4 &&
        \$s->{tokens}[0] eq q(img 0,0) && \$s->{tokens}[15] eq q(img 3,3) &&
        \$s->{tokens}[16] eq q(<bos>) && \$s->{token_texts}[-1] eq qq(\n) &&
        !defined \$s->{spans}[-1] && \$s->{spans}[17][0] == 7 && \$s->{text} eq q(<image>describe the cat))' <$TMP/a/p.json"
check "mm-paligemma-f32: the suffix, causal, its types and spans" "perl -MJSON::PP -e 'local \$/;
    my \$s = decode_json(<STDIN>)->{sentences}[3];
    exit 1 unless \$s->{pair_boundary} == 26 && \$s->{token_type_ids}[25] == 0 &&
        \$s->{token_type_ids}[26] == 1 && \$s->{tokens}[-1] eq q(<eos>) && \$s->{spans}[26][0] == 14;
    my \$ahead = 0; # prefix rows see later prefix tokens, never the suffix
    for my \$a (@{\$s->{attentions}}) { my \$w = \$a->{weights};
        for my \$i (0 .. \$#\$w) { for my \$j (\$i + 1 .. \$#\$w) {
            exit 1 if (\$i >= 26 || \$j >= 26) && \$w->[\$i][\$j] != 0;
            \$ahead++ if \$j < 26 && \$w->[\$i][\$j] > 1e-3 } } }
    exit !\$ahead' <$TMP/a/p.json"
check "mm-paligemma-f32: the prefix sees itself whole" "perl -MJSON::PP -e 'local \$/;
    my \$s = decode_json(<STDIN>)->{sentences}[0];
    for my \$a (@{\$s->{attentions}}) { my \$w = \$a->{weights};
        exit 1 unless \$w->[0][-1] > 0 && \$w->[16][20] > 0 }
    exit 0' <$TMP/a/p.json"
"$MHAVIZ" run --model "$FIX/mm-paligemma-f32" --image "$IMG" --format json --out "$TMP/b" \
    --threads 2 "$TMP/p.txt" 2>"$TMP/stderr"
check "mm-paligemma-f32: 1 and 2 threads, the same bytes" "[ $? = 0 ] && cmp -s $TMP/a/p.json $TMP/b/p.json"

# PaliGemma 2: Gemma 2, BF16, untied, soft-capping, sliding windows the prefix sees past
# and a suffix longer than the window
printf '<image>describe the cat\ncaption en\ta red cat on the mat, a blue dog\n' >"$TMP/q.txt"
"$MHAVIZ" run --model "$FIX/mm-paligemma2-bf16" --image "$FIX/images/palette-24x18.png" \
    --format json --out "$TMP/c" "$TMP/q.txt" 2>"$TMP/stderr"
check "mm-paligemma2-bf16: every head as transformers'" "[ $? = 0 ] && golden_check $FIX/goldens/mm-paligemma2-bf16.json $TMP/c/q.json"

"$MHAVIZ" info --model "$FIX/mm-paligemma2-bf16" >"$TMP/info" 2>"$TMP/stderr"
check "info on paligemma" "[ $? = 0 ] && grep -qx 'language_model: gemma2' $TMP/info &&
    grep -qx 'vision_tower: siglip_vision_model, 2 layers, 4 heads, hidden_size 32' $TMP/info &&
    grep -qx 'image_tokens: 9 (the patches)' $TMP/info && grep -qx 'layers: 3' $TMP/info"
"$MHAVIZ" run --model "$FIX/mm-paligemma-f32" --vision-tower --format json --out "$TMP/v" "$IMG" 2>"$TMP/stderr"
check "paligemma --vision-tower: its SigLIP tower" "[ $? = 0 ] && perl -MJSON::PP -e 'local \$/;
    my \$r = decode_json(<STDIN>); exit !(\$r->{model}{architecture} eq q(siglip_vision_model))' <$TMP/v/rgb-37x23.json"

printf '<image> and <image>\n' >"$TMP/two.txt"
expect_fail "paligemma: two image tokens" 1 "two.txt: line 1: the prompt holds 2 image tokens (<image>, id 4); paligemma reads one image a line (--image): write it once or leave it out" -- \
    "$MHAVIZ" run --model "$FIX/mm-paligemma-f32" --image "$IMG" --out "$TMP/out" "$TMP/two.txt"
expect_fail "paligemma: no --image" 2 "paligemma reads an image with each prompt: give it with --image FILE" -- \
    "$MHAVIZ" run --model "$FIX/mm-paligemma-f32" --out "$TMP/out" "$TMP/p.txt"
expect_fail "paligemma: --ids with --image" 2 "paligemma reads its prompts as text with --image (--ids and --pretokenized do not apply)" -- \
    "$MHAVIZ" run --model "$FIX/mm-paligemma-f32" --image "$IMG" --ids --out "$TMP/out" "$TMP/p.txt"
expect_fail "paligemma: --generate" 2 "--generate is not available for paligemma with --image yet" -- \
    "$MHAVIZ" run --model "$FIX/mm-paligemma-f32" --image "$IMG" --generate 2 --out "$TMP/out" "$TMP/p.txt"
expect_fail "paligemma: stats" 1 "stats is not available for paligemma (an image with each prompt) yet: run --image is" -- \
    "$MHAVIZ" stats --model "$FIX/mm-paligemma-f32" "$TMP/p.txt"
cp -r "$FIX/mm-paligemma-f32" "$TMP/nobos"
perl -0pi -e 's/"bos_token": "<bos>",//' "$TMP/nobos/tokenizer_config.json"
expect_fail "paligemma: a tokenizer without bos_token" 1 "tokenizer_config.json: no bos_token (paligemma's prompt starts with it)" -- \
    "$MHAVIZ" run --model "$TMP/nobos" --image "$IMG" --out "$TMP/out" "$TMP/p.txt"

finish
