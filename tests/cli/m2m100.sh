#!/usr/bin/env bash
# M2M100 with its own tokenizer files, no tokenizer.json (tests/gen/gen_tok_m2m100.py):
# run --pairs and --generate on tests/fixtures/s2s-m2m100-spm-f32 from text, the source
# (src code TEXT </s>), the decoder's input (start, tgt code TEXT </s>) and the greedy
# generation with the target's code forced equal transformers' M2M100Tokenizer and
# generate; the codes named en or __en__, tokenize, figure labels, and hostile tokenizer
# files refused in one line.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
G=tests/fixtures/goldens/s2s-m2m100-spm-f32.json
M=tests/fixtures/s2s-m2m100-spm-f32

n=$(perl -MJSON::PP -e 'local $/; print scalar @{decode_json(<STDIN>)->{lang_pairs}}' <"$G")
check "m2m100: the golden has language pairs" "[ $n -ge 3 ]"
for k in $(seq 0 $((n - 1))); do
    IFS=$'\t' read -r sl tl src tgt < <(perl -MJSON::PP -e 'local $/; binmode STDOUT, ":utf8";
        my $p = decode_json(<STDIN>)->{lang_pairs}[$ARGV[0]];
        print join("\t", @$p{qw(src_lang tgt_lang source target)}), "\n"' $k <"$G")
    # the codes as transformers names them (en), and as tokens (__en__) for the target
    printf '%s\t%s\n' "$src" "$tgt" >"$TMP/lp.txt"
    rm -rf "$TMP/out"
    "$MHAVIZ" run --model $M --pairs --src-lang "$sl" --tgt-lang "__${tl}__" --heads cross:0:0 \
        --format json,png --out "$TMP/out" "$TMP/lp.txt" 2>"$TMP/stderr"
    check "m2m100 $sl -> $tl: exit 0 ($(head -c 200 "$TMP/stderr"))" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
    check "m2m100 $sl -> $tl: figures" "[ -s $TMP/out/lp/X00-H00.png ]"
    printf '%s\n' "$src" >"$TMP/lg.txt"
    "$MHAVIZ" run --model $M --generate 6 --src-lang "$sl" --tgt-lang "$tl" --heads cross:0:0 \
        --format json --out "$TMP/out" "$TMP/lg.txt" 2>"$TMP/stderr"
    check "m2m100 $sl -> $tl --generate: exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
    perl -MJSON::PP -e '
        local $/; open my $a, "<", $ARGV[0] or die; open my $b, "<", $ARGV[1] or die;
        open my $c, "<", $ARGV[2] or die;
        my $x = decode_json(<$a>)->{sentences}[0]; my $g = decode_json(<$c>)->{sentences}[0];
        my $y = decode_json(<$b>)->{lang_pairs}[$ARGV[3]];
        exit 2 unless join(" ", @{$x->{token_ids}}) eq join(" ", @{$y->{src_ids}});
        exit 3 unless join(" ", @{$x->{target_token_ids}}) eq join(" ", @{$y->{tgt_ids}});
        exit 4 unless $x->{target_tokens}[1] eq "__$y->{tgt_lang}__" &&
                      join(" ", @{$x->{tokens}}) eq join(" ", @{$y->{src_tokens}});
        exit 5 unless join(" ", @{$g->{token_ids}}) eq join(" ", @{$y->{src_ids}});
        exit 6 unless join(" ", @{$g->{target_token_ids}}) eq join(" ", @{$y->{generate}});' \
        "$TMP/out/lp.json" "$G" "$TMP/out/lg.json" $k
    check "m2m100 $sl -> $tl: source, decoder input and generation as transformers ($?)" "[ $? = 0 ]"
done

# defaults: src_lang null (en), tokenizer_config.json's tgt_lang fr: the first pair
perl -MJSON::PP -e 'local $/; binmode STDOUT, ":utf8"; my $p = decode_json(<STDIN>)->{lang_pairs}[0];
    print "$p->{source}\t$p->{target}\n"' <"$G" >"$TMP/lp.txt"
rm -rf "$TMP/out"
"$MHAVIZ" run --model $M --pairs --heads cross:0:0 --format json --out "$TMP/out" "$TMP/lp.txt"
check "m2m100: default codes (en, tokenizer_config.json's fr)" "perl -MJSON::PP -e '
    local \$/; open my \$a, \"<\", q($TMP/out/lp.json) or die; open my \$b, \"<\", q($G) or die;
    my \$x = decode_json(<\$a>)->{sentences}[0]; my \$y = decode_json(<\$b>)->{lang_pairs}[0];
    exit !(join(q( ), @{\$x->{target_token_ids}}) eq join(q( ), @{\$y->{tgt_ids}}) &&
           join(q( ), @{\$x->{token_ids}}) eq join(q( ), @{\$y->{src_ids}}))'"

# tokenize: the source's ids as M2M100Tokenizer gives them, the pieces as labels
perl -MJSON::PP -e 'local $/; binmode STDOUT, ":utf8"; my $p = decode_json(<STDIN>)->{lang_pairs}[0];
    print "$p->{source}\n", join(" ", @{$p->{src_ids}}), "\n"' <"$G" >"$TMP/tk.txt"
out=$("$MHAVIZ" tokenize --model $M <(head -1 "$TMP/tk.txt"))
check "m2m100: tokenize gives transformers' ids" "[ \"\$(printf '%s' \"\$out\" | cut -f2)\" = \"$(sed -n 2p "$TMP/tk.txt")\" ]"
check "m2m100: tokenize starts with __en__, ends with </s>" "printf '%s' \"\$out\" | grep -q '^__en__ .* </s>	'"
info=$("$MHAVIZ" info --model $M)
check "m2m100: info names m2m_100" "printf '%s\n' \"\$info\" | grep -q '^architecture: m2m_100 (model_type m2m_100)$'"
check "m2m100: info names the tokenizer" "printf '%s\n' \"\$info\" | grep -q '^tokenizer: bpe, 634 pieces$'"
"$MHAVIZ" rank --model $M --pairs --src-lang de --tgt-lang en --from fox --to Fuchs --format json \
    <(printf 'Der schnelle braune Fuchs.\tThe quick brown fox.\n') >"$TMP/rank.json" 2>"$TMP/stderr"
check "m2m100: rank --src-lang --tgt-lang" "[ $? = 0 ] && grep -q '\"sentences_used\": 1' $TMP/rank.json"
"$MHAVIZ" stats --model $M --pairs --stack cross --src-lang de --tgt-lang en \
    <(printf 'Der schnelle braune Fuchs.\tThe quick brown fox.\n') >"$TMP/st.txt" 2>"$TMP/stderr"
check "m2m100: stats --src-lang --tgt-lang" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/st.txt ]"

perl -e 'print join(" ", ("cat") x 90), "\tchat\n"' >"$TMP/long.txt"
rm -rf "$TMP/out"
"$MHAVIZ" run --model $M --pairs --truncate --heads cross:0:0 --format json --out "$TMP/out" \
    "$TMP/long.txt" 2>/dev/null
check "m2m100: --truncate keeps the code first and </s> last" "perl -MJSON::PP -e '
    local \$/; my \$t = decode_json(<STDIN>)->{sentences}[0]{tokens};
    exit !(@\$t == 64 && \$t->[0] eq q(__en__) && \$t->[-1] eq q(</s>))' <$TMP/out/long.json"

expect_fail "m2m100: --tgt-lang not a code" 2 "--tgt-lang 'xx' is not a language code" -- \
    "$MHAVIZ" run --model $M --pairs --tgt-lang xx --out "$TMP/out" "$TMP/lp.txt"

# hostile tokenizer files: one line naming the file and the problem
hostile() { # NAME NEEDLE: the model with $TMP/h's tokenizer files
    expect_fail "m2m100 hostile: $1" 1 "$2" -- \
        "$MHAVIZ" run --model "$TMP/h" --pairs --out "$TMP/out" "$TMP/lp.txt"
}
reset_h() {
    rm -rf "$TMP/h"; mkdir -p "$TMP/h"
    cp $M/config.json $M/model.safetensors $M/sentencepiece.bpe.model $M/vocab.json \
       $M/tokenizer_config.json $M/special_tokens_map.json "$TMP/h/"
}
reset_h
printf 'x' >"$TMP/h/sentencepiece.bpe.model"
hostile "not a model" "sentencepiece.bpe.model: not a SentencePiece model"
reset_h
head -c 100000 $M/sentencepiece.bpe.model >"$TMP/h/sentencepiece.bpe.model"
hostile "cut model" "sentencepiece.bpe.model: not a SentencePiece model (bad protobuf)"
reset_h
printf '{}' >"$TMP/h/vocab.json"
hostile "empty vocab.json" "vocab.json: not an object of pieces and ids"
reset_h
printf '{"<s>": 0, "<unk>": 7}' >"$TMP/h/vocab.json"
hostile "sparse vocab.json" "is not one of 0..1 given once"
reset_h
printf '{"<s>": 0, "<pad>": 1, "</s>": 2}' >"$TMP/h/vocab.json"
hostile "vocab.json without <unk>" "vocab.json: no '<unk>' (unk_token)"
reset_h
printf '[' >"$TMP/h/vocab.json"
hostile "vocab.json not JSON" "vocab.json: not valid JSON"
reset_h
printf '{"tokenizer_class": "M2M100Tokenizer", "src_lang": "klingon"}' >"$TMP/h/tokenizer_config.json"
hostile "src_lang not a code" "src_lang 'klingon' is not one of the language codes"
reset_h
rm "$TMP/h/vocab.json"
hostile "no vocab.json" "M2M100Tokenizer numbers the SentencePiece pieces by vocab.json"

finish
