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

# Marian's layout (source.spm + vocab.json): the Unigram lattice of the spm, ids of vocab.json
# (tests/fixtures/s2s-marian-tok; its goldens are checked in tests/cli/seq2seq.sh); the
# private output_ids / output_vocab of such a document are checked as any file's fields
M="$TMP/marian"; mkdir -p "$M"
cp tests/fixtures/s2s-marian-tok/source.spm tests/fixtures/s2s-marian-tok/vocab.json "$M"
printf 'Hello   world\n' >"$TMP/s.txt"
check_out() { if [ "$("$MHAVIZ" tokenize --model "$M" "$TMP/s.txt" 2>&1)" = "$1" ]; then ok; else bad "$2"; fi; }
check_out "$(printf '▁ H e ll o ▁w or l d </s>\t2 49 8 16 6 15 33 14 17 0')" "marian: source.spm + vocab.json"
printf '{"x": 0}' >"$M/vocab.json"
expect_fail marian-vocab-no-unk 1 "vocab.json has no '</s>'" -- "$MHAVIZ" tokenize --model "$M" "$TMP/s.txt"
printf '{"</s>": 0, "<unk>": 1, "<pad>": 1}' >"$M/vocab.json"
expect_fail marian-vocab-ids 1 "is not one of 0..2 given once" -- "$MHAVIZ" tokenize --model "$M" "$TMP/s.txt"
M="$TMP/outids"; mkdir -p "$M"
for bad in 'output_ids: [1, 2, 9]|Unigram output id 2 is out of range' \
           'output_ids: [1, 2]|output_ids is not one id per piece' \
           'output_vocab: ["</s>", "<unk>", "b", "b"]|piece '"'"'b'"'"' given twice'; do
    field=${bad%%|*}; want=${bad#*|}
    perl -e 'my ($k, $v) = split /: /, $ARGV[0], 2; my %m = (output_ids => "[1, 2, 3]",
        output_vocab => "[\"</s>\", \"<unk>\", \"\\u2581a\", \"b\"]"); $m{$k} = $v;
        print "{\"added_tokens\": [], \"model\": {\"type\": \"Unigram\", \"unk_id\": 0, ",
              "\"vocab\": [[\"<unk>\", 0], [\"\\u2581a\", -1], [\"b\", -2]], ",
              "\"output_ids\": $m{output_ids}, \"output_vocab\": $m{output_vocab}}}\n"' "$field" \
        >"$M/tokenizer.json"
    expect_fail "unigram $field" 1 "$want" -- "$MHAVIZ" tokenize --model "$M" "$TMP/s.txt"
done

finish
