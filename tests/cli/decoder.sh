#!/usr/bin/env bash
# Decoder checkpoints (no tokenizer files) driven with --ids: the JSON says causal, keeps
# the full square matrix with zeros above the diagonal, names kv heads for GQA models and
# matches the Hugging Face goldens; bad ids fail cleanly.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }

# ids of every golden sentence, one line each
golden_ids() {
    perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>);
        print join(" ", @{$_->{token_ids}}), "\n" for @{$j->{sentences}}' <"tests/fixtures/goldens/$1.json"
}

# compare NAME: every head of every sentence of OUT/ids.json within 1e-5 of the golden,
# zeros above the diagonal
compare() {
    perl -MJSON::PP -e '
        local $/; open my $a, "<", $ARGV[0] or die; open my $b, "<", $ARGV[1] or die;
        my $x = decode_json(<$a>); my $y = decode_json(<$b>); my $worst = 0;
        for my $s (0 .. $#{$y->{sentences}}) {
            for my $h (@{$x->{sentences}[$s]{attentions}}) {
                my $g = $y->{sentences}[$s]{attentions}[$h->{layer}][$h->{head}];
                my $w = $h->{weights};
                for my $i (0 .. $#$g) { for my $j (0 .. $#$g) {
                    my $d = abs($w->[$i][$j] - $g->[$i][$j]); $worst = $d if $d > $worst;
                    exit 3 if $j > $i && $w->[$i][$j] != 0;
                } }
            }
        }
        exit($worst < 1e-5 ? 0 : 2);' "$TMP/out/ids.json" "tests/fixtures/goldens/$1.json"
}

for name in dec-llama-f16-gqa4-llama3 dec-gpt2-f32 dec-mistral-f32-sw5 dec-qwen2-bf16-gqa4; do
    golden_ids "$name" >"$TMP/ids.txt"
    rm -rf "$TMP/out"
    "$MHAVIZ" run --model "tests/fixtures/$name" --ids --format json --out "$TMP/out" "$TMP/ids.txt" \
        >"$TMP/stdout" 2>"$TMP/stderr"
    check "$name: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stdout ] && [ ! -s $TMP/stderr ]"
    check "$name: matches the golden" "compare $name"
done

# GQA model: num_key_value_heads in the model, kv_head = head / 4 on every head entry
golden_ids dec-llama-f16-gqa4-llama3 >"$TMP/ids.txt"
"$MHAVIZ" run --model tests/fixtures/dec-llama-f16-gqa4-llama3 --ids --heads '1:*' --format json \
    --out "$TMP/out" "$TMP/ids.txt"
check "gqa model fields" "perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>); my \$m = \$j->{model};
    exit 1 unless \$m->{architecture} eq \"llama\" && \$m->{causal} && \$m->{num_key_value_heads} == 2;
    my \$a = \$j->{sentences}[2]{attentions}; exit 1 unless @\$a == 8;
    for (@\$a) { exit 1 unless \$_->{kv_head} == int(\$_->{head} / 4) } exit 0' <$TMP/out/ids.json"
check "ids label the tokens" "perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>); my \$s = \$j->{sentences}[1];
    exit !(join(\" \", @{\$s->{tokens}}) eq join(\" \", @{\$s->{token_ids}}) && !defined \$s->{spans}[0])' <$TMP/out/ids.json"

# GPT-2 has no key/value heads to name
golden_ids dec-gpt2-f32 >"$TMP/ids.txt"
"$MHAVIZ" run --model tests/fixtures/dec-gpt2-f32 --ids --format json --out "$TMP/out" "$TMP/ids.txt"
check "gpt2 fields" "perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>); my \$m = \$j->{model};
    exit !(\$m->{architecture} eq \"gpt2\" && \$m->{causal} && !exists \$m->{num_key_value_heads}
           && !exists \$j->{sentences}[0]{attentions}[0]{kv_head})' <$TMP/out/ids.json"

info=$("$MHAVIZ" info --model tests/fixtures/dec-qwen2-bf16-gqa4)
check "info decoder" "printf '%s\n' \"\$info\" | grep -q '^architecture: qwen2' && printf '%s\n' \"\$info\" | grep -q '^kv_heads: 2$' && printf '%s\n' \"\$info\" | grep -q '^tokenizer: none'"

printf '1 2 300\n' >"$TMP/bad.txt"
expect_fail "id beyond the vocabulary" 2 "bad.txt: line 1: token id 300 outside the model's vocabulary (0-299)" -- \
    "$MHAVIZ" run --model tests/fixtures/dec-gpt2-f32 --ids --format json --out "$TMP/out" "$TMP/bad.txt"
printf '1 x 3\n' >"$TMP/bad.txt"
expect_fail "not an id" 1 "bad.txt: line 1: 'x' is not a token id" -- \
    "$MHAVIZ" run --model tests/fixtures/dec-gpt2-f32 --ids --format json --out "$TMP/out" "$TMP/bad.txt"
printf 'hello\n' >"$TMP/text.txt"
expect_fail "text needs a tokenizer" 1 "tests/fixtures/dec-gpt2-f32" -- \
    "$MHAVIZ" run --model tests/fixtures/dec-gpt2-f32 --format json --out "$TMP/out" "$TMP/text.txt"
perl -e 'print join(" ", (1) x 33), "\n"' >"$TMP/long.txt"
expect_fail "gpt2 positions" 1 "33 tokens exceed the model's 32 positions" -- \
    "$MHAVIZ" run --model tests/fixtures/dec-gpt2-f32 --ids --format json --out "$TMP/out" "$TMP/long.txt"
finish
