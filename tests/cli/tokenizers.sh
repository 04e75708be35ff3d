#!/bin/sh
# mhaviz tokenize with the tokenizer families made by tests/gen/gen_tok_families.py: the ids
# printed are Hugging Face's (the goldens' first sentences, one per line); a directory with
# only a SentencePiece model; an unknown tokenizer class is refused with how to make
# tokenizer.json.
. tests/cli/lib.sh

# golden NAME COUNT: the first COUNT one-line sentences of tok-goldens-NAME.json as input,
# their ids (space-separated, one line each) as the expected second column
golden() {
    perl -MJSON::PP -e '
        local $/; open(my $h, "<", $ARGV[0]) or die; my $j = decode_json(<$h>);
        my ($n, $in, $out) = (0, "", "");
        for my $c (@{$j->{cases}}) {
            my $s = $c->{sentence};
            next if $s =~ /[\r\n\t]/ || $s !~ /\S/ || $s =~ /^\s|\s$/ || length($s) > 200;
            $in .= "$s\n"; $out .= join(" ", @{$c->{ids}}) . "\n";
            last if ++$n == $ARGV[1];
        }
        open(my $i, ">:utf8", "$ARGV[2]/in.txt") or die; print $i $in;
        open(my $o, ">", "$ARGV[2]/want.txt") or die; print $o $out;' \
        "tests/fixtures/tok-goldens-$1.json" "$2" "$TMP"
}

for fam in llama3 deepseek tekken o200k olmo roberta gemma llamaspm t5 xlmr albert debertav2 \
           added-bpe added-wordpiece nfkc unigram-nfkd; do
    golden "$fam" 25
    if "$MHAVIZ" tokenize --model "tests/fixtures/tok-$fam" "$TMP/in.txt" >"$TMP/stdout" 2>"$TMP/stderr" &&
       cut -f2 "$TMP/stdout" | cmp -s - "$TMP/want.txt"; then ok
    else bad "tokenize-$fam: $(head -c 300 "$TMP/stderr")$(cut -f2 "$TMP/stdout" | diff - "$TMP/want.txt" | head -4)"; fi
done

# a directory with only spm.model (DeBERTa-v3's layout) and tokenizer_config.json
M="$TMP/spm"; mkdir -p "$M"
cp tests/fixtures/tok-debertav2-spm/spm.model tests/fixtures/tok-debertav2-spm/tokenizer_config.json "$M"
golden debertav2-spm 25
if "$MHAVIZ" tokenize --model "$M" "$TMP/in.txt" >"$TMP/stdout" 2>"$TMP/stderr" &&
   cut -f2 "$TMP/stdout" | cmp -s - "$TMP/want.txt"; then ok
else bad "tokenize-spm-only: $(head -c 300 "$TMP/stderr")"; fi
printf '{"tokenizer_class": "MarianTokenizer"}\n' >"$M/tokenizer_config.json"
echo hello >"$TMP/s.txt"
expect_fail tokenize-spm-unknown-class 1 "save_pretrained" -- "$MHAVIZ" tokenize --model "$M" "$TMP/s.txt"

finish
