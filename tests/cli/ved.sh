#!/usr/bin/env bash
# Vision encoder-decoders (TrOCR, GPT-2 and BERT decoders) through `mhaviz run`: the image tests/fixtures/ved/line.png
# with the texts of tests/gen/fam_vision_encoder_decoder.py (--pairs) end to end against
# transformers' processor and VisionEncoderDecoderModel (tests/fixtures/goldens/ved-*.json:
# the decoder's ids, every encoder, decoder and cross head within the golden's tolerance),
# generate()'s ids (greedy; beam search under the DeiT fixture's num_beams), the encoder's
# token labels and the json's "image", the figures; the same bytes on 1 and 2 threads;
# what is refused.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
FIX=tests/fixtures
IMG=$FIX/ved/line.png

# every sentence of JSON against GOLDEN: the decoder's ids, each head of each stack within
# its tolerance, as many heads as the golden has
golden_check() { # GOLDEN JSON
    perl -MJSON::PP -e 'local $/; open(my $g, q(<), $ARGV[0]) or exit 9; my $gold = decode_json(<$g>);
        open(my $r, q(<), $ARGV[1]) or exit 9; my $run = decode_json(<$r>);
        my @gs = @{$gold->{sentences}}; my @rs = @{$run->{sentences}};
        exit 8 unless @gs == @rs;
        for my $k (0 .. $#gs) {
            my ($g, $s) = ($gs[$k], $rs[$k]);
            exit 7 unless join(",", @{$g->{tgt_ids}}) eq join(",", @{$s->{target_token_ids}});
            my $want = 0;
            $want += @{$g->{$_}} * @{$g->{$_}[0]} for qw(encoder decoder cross);
            exit 5 unless @{$s->{attentions}} == $want;
            for my $a (@{$s->{attentions}}) {
                my $w = $g->{$a->{stack}}[$a->{layer}][$a->{head}] or exit 4;
                for my $i (0 .. $#$w) { for my $j (0 .. $#{$w->[$i]}) {
                    exit 6 if abs($w->[$i][$j] - $a->{weights}[$i][$j]) > $gold->{tolerance};
                } }
            }
        }
        exit 0' "$1" "$2"
}
# the ids of generate case K of GOLDEN, comma-separated
gen_ids() { perl -MJSON::PP -e 'local $/; open(my $g, q(<), $ARGV[0]) or exit 9;
    print join(",", @{decode_json(<$g>)->{generate}[$ARGV[1]]{ids}})' "$1" "$2"; }
run_ids() { perl -MJSON::PP -e 'local $/; print join(",", @{decode_json(<STDIN>)->{sentences}[0]{target_token_ids}})' <"$1"; }

printf '%s\tthe cat sat\nline.png\tMr. Brown, icily.\n' "$IMG" >"$TMP/l.txt"
cp "$IMG" "$TMP/line.png" # the second line's path, beside the list
for f in ved-vit-trocr ved-deit-trocr ved-beit-trocr ved-vit-gpt2 ved-deit-bert; do
    "$MHAVIZ" run --model "$FIX/$f" --pairs --format json,png --out "$TMP/$f" --threads 1 \
        "$TMP/l.txt" 2>"$TMP/stderr"
    check "$f: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
    check "$f: ids and every head as transformers'" "golden_check $FIX/goldens/$f.json $TMP/$f/l.json"
done
check "ved-vit-trocr: figures of each stack's own heads" "[ -s $TMP/ved-vit-trocr/l/E01-H03.png ] &&
    [ ! -e $TMP/ved-vit-trocr/l/E01-H04.png ] && [ -s $TMP/ved-vit-trocr/l/X01-H05.png ] &&
    [ -s $TMP/ved-vit-trocr/l/D00-H05.png ] && [ -s $TMP/ved-vit-trocr/l-2/X00.png ]"
check "ved-deit-trocr: [CLS], [DIST], the patches and \"image\"" "perl -MJSON::PP -e 'local \$/;
    my \$s = decode_json(<STDIN>)->{sentences}[0]; my \$im = \$s->{image};
    exit !(\$s->{tokens}[0] eq q([CLS]) && \$s->{tokens}[1] eq q([DIST]) &&
        \$s->{tokens}[2] eq q(r0c0) && \$s->{tokens}[17] eq q(r3c3) && @{\$s->{tokens}} == 18 &&
        \$im->{rows} == 4 && \$im->{cols} == 4 && \$im->{extra_tokens} == 2 &&
        \$s->{target_text} eq q(the cat sat))' <$TMP/ved-deit-trocr/l.json"
"$MHAVIZ" run --model "$FIX/ved-vit-trocr" --pairs --format json --out "$TMP/t2" --threads 2 \
    "$TMP/l.txt" 2>"$TMP/stderr"
check "ved-vit-trocr: 1 and 2 threads, the same bytes" "[ $? = 0 ] && cmp -s $TMP/ved-vit-trocr/l.json $TMP/t2/l.json"

# generate: the image given directly, and as a list; greedy, then the DeiT fixture's beams
"$MHAVIZ" run --model "$FIX/ved-vit-trocr" --generate 8 --format json --out "$TMP/g" "$IMG" 2>"$TMP/stderr"
check "ved-vit-trocr: greedy generate() as transformers'" "[ $? = 0 ] && [ \"\$(run_ids $TMP/g/line.json)\" = \"\$(gen_ids $FIX/goldens/ved-vit-trocr.json 0)\" ]"
printf '%s\n' "$IMG" >"$TMP/i.txt"
"$MHAVIZ" run --model "$FIX/ved-deit-trocr" --generate 6 --heads 'cross:*:*' --format json,png \
    --out "$TMP/gb" "$TMP/i.txt" 2>"$TMP/stderr"
check "ved-deit-trocr: beam search (num_beams 2) as transformers'" "[ $? = 0 ] && [ \"\$(run_ids $TMP/gb/i.json)\" = \"\$(gen_ids $FIX/goldens/ved-deit-trocr.json 0)\" ]"
check "ved-deit-trocr: the json says how it decoded" "grep -q '\"num_beams\": 2' $TMP/gb/i.json && [ -s $TMP/gb/i/X01-H03.png ] && [ ! -e $TMP/gb/i/E00-H00.png ]"
check "ved-beit-trocr: generate with repetition_penalty" "\"$MHAVIZ\" run --model $FIX/ved-beit-trocr --generate 6 --format json --out $TMP/gr $IMG 2>/dev/null &&
    [ \"\$(run_ids $TMP/gr/line.json)\" = \"\$(gen_ids $FIX/goldens/ved-beit-trocr.json 0)\" ]"

check "ved-vit-gpt2: GPT-2's greedy generate() from bos" "\"$MHAVIZ\" run --model $FIX/ved-vit-gpt2 --generate 8 --format json --out $TMP/gg $IMG 2>/dev/null &&
    [ \"\$(run_ids $TMP/gg/line.json)\" = \"\$(gen_ids $FIX/goldens/ved-vit-gpt2.json 0)\" ]"

check "ved-deit-bert: BERT's greedy generate() through its masked-LM head" "\"$MHAVIZ\" run --model $FIX/ved-deit-bert --generate 8 --format json --out $TMP/gbe $IMG 2>/dev/null &&
    [ \"\$(run_ids $TMP/gbe/line.json)\" = \"\$(gen_ids $FIX/goldens/ved-deit-bert.json 0)\" ]"

# refusals
expect_fail "no text, no --generate" 2 "give --pairs" -- \
    "$MHAVIZ" run --model "$FIX/ved-vit-trocr" --out "$TMP/out" "$TMP/l.txt"
expect_fail "--weighting" 2 "--weighting is not available for vision-encoder-decoder" -- \
    "$MHAVIZ" run --model "$FIX/ved-vit-trocr" --pairs --weighting norm --out "$TMP/out" "$TMP/l.txt"
expect_fail "--src-lang" 2 "--src-lang and --tgt-lang are not for vision-encoder-decoder" -- \
    "$MHAVIZ" run --model "$FIX/ved-vit-trocr" --pairs --src-lang en --out "$TMP/out" "$TMP/l.txt"
expect_fail "heads past the encoder's" 2 "the encoder's are 0-3" -- \
    "$MHAVIZ" run --model "$FIX/ved-vit-trocr" --pairs --heads enc:0:5 --out "$TMP/out" "$TMP/l.txt"
printf '%s\n' "$IMG" >"$TMP/notab.txt"
expect_fail "--pairs without a TAB" 1 "no TAB between the image and its text" -- \
    "$MHAVIZ" run --model "$FIX/ved-vit-trocr" --pairs --out "$TMP/out" "$TMP/notab.txt"
printf 'missing.png\tthe cat\n' >"$TMP/miss.txt"
expect_fail "a missing image" 1 "missing.png" -- \
    "$MHAVIZ" run --model "$FIX/ved-vit-trocr" --pairs --out "$TMP/out" "$TMP/miss.txt"
expect_fail "stats" 1 "stats is not available for vision-encoder-decoder (image-to-text)" -- \
    "$MHAVIZ" stats --model "$FIX/ved-vit-trocr" --pairs "$TMP/l.txt"
# --generate N past the decoder's positions (the start token and N): refused before any
# generation, not by the forward pass after it (ved-vit-trocr has 40)
"$MHAVIZ" run --model "$FIX/ved-vit-trocr" --generate 39 --format json --out "$TMP/g39" "$IMG" 2>/dev/null
check "--generate 39 within 40 positions" "[ \$? = 0 ] && [ -s \"$TMP/g39/line.json\" ]"
expect_fail "--generate past the positions" 2 "--generate 40: the decoder's start token and 40 new ones could pass the model's 40 positions" -- \
    "$MHAVIZ" run --model "$FIX/ved-vit-trocr" --generate 40 --out "$TMP/out" "$IMG"
check "--generate past the positions: no --out" "[ ! -e \"$TMP/out\" ]"
# an image not named .png/.jpg/.jpeg is read as a list of images: said so, not "invalid UTF-8"
cp "$IMG" "$TMP/picture"
expect_fail "an image not named as one" 1 "$TMP/picture: an image not named .png, .jpg or .jpeg" -- \
    "$MHAVIZ" run --model "$FIX/ved-vit-trocr" --generate 2 --out "$TMP/out" "$TMP/picture"

finish
