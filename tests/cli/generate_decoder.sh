#!/usr/bin/env bash
# run --generate N on decoder-only models: each line is the prompt (as the model's tokenizer
# encodes it: <s> first for a Llama-style one), transformers' generate(max_new_tokens=N)
# continues it under the model's settings (tests/gen/gen_decoder_generate.py's goldens), and
# the maps cover the whole sequence with the generated part marked: json's "prompt_length",
# "generated" and "generation", safetensors' "prompt_length", the figures' title and line.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
M=tests/fixtures/dgen-llama-tok
G=tests/fixtures/goldens/dgen-dgen-llama-tok.json

perl -MJSON::PP -e 'local $/; print "$_->{text}\n" for @{decode_json(<STDIN>)->{cli_cases}}' \
    <"$G" >"$TMP/lines.txt"

# the json's sentences against the golden's cli_cases (ids: key $2), the "generation" record
same_as() {
    perl -MJSON::PP -e '
        local $/; open my $a, "<", $ARGV[0] or die; open my $b, "<", $ARGV[1] or die;
        my $x = decode_json(<$a>); my $c = decode_json(<$b>)->{cli_cases};
        for my $s (0 .. $#$c) {
            my $y = $x->{sentences}[$s]; my $want = $c->[$s]{$ARGV[2]};
            my $p = scalar @{$c->[$s]{prompt}};
            exit 2 unless join(" ", @{$y->{token_ids}}) eq join(" ", @$want);
            exit 3 unless $y->{prompt_length} == $p && $y->{text} eq $c->[$s]{text};
            my @g = @{$y->{generated}};
            exit 4 unless @g == @$want;
            for my $i (0 .. $#g) { exit 5 unless ($g[$i] ? 1 : 0) == ($i >= $p ? 1 : 0) }
            for my $i ($p .. $#g) { exit 6 if defined $y->{spans}[$i] }
            exit 7 unless @{$y->{attentions}[0]{weights}} == @$want;
        }
        my $g = $x->{generation};
        exit 8 unless $g->{from} eq "generation_config.json" && $g->{strategy} eq $ARGV[3] &&
                      $g->{max_new_tokens} == 5 && !exists $g->{max_length};
        exit 0' "$TMP/out/lines.json" "$G" "$@"
}

# the fixture's own settings: beam search (3 beams, n-gram and repetition penalties)
rm -rf "$TMP/out"
"$MHAVIZ" run --model $M --generate 5 --heads 1:0 --format json,svg --svg-text --out "$TMP/out" \
    "$TMP/lines.txt" 2>"$TMP/stderr"
check "own settings: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
same_as ids beam_search
check "own settings: ids as transformers' generate(), marked, recorded ($?)" "[ $? = 0 ]"
check "own settings: settings recorded" "grep -q '\"generation\": {\"from\": \"generation_config.json\", \"strategy\": \"beam_search\", \"num_beams\": 3, \"length_penalty\": 1.5, \"early_stopping\": false, \"max_new_tokens\": 5, \"eos_token_id\": \\[2\\], \"repetition_penalty\": 1.3, \"no_repeat_ngram_size\": 2}' $TMP/out/lines.json"
check "figure: the title names the first generated token" "grep -q 'generated from token 15' $TMP/out/lines/L01-H00.svg"

check "info: the settings, lengths as given" "\"\$MHAVIZ\" info --model $M | grep -qx 'generation: generation_config.json {\"strategy\": \"beam_search\", \"num_beams\": 3, \"length_penalty\": 1.5, \"early_stopping\": false, \"eos_token_id\": \\[2\\], \"repetition_penalty\": 1.3, \"no_repeat_ngram_size\": 2}'"

# --greedy: greedy search, said on stderr and in the record
rm -rf "$TMP/out"
"$MHAVIZ" run --model $M --generate 5 --greedy --heads 0:1 --format json --out "$TMP/out" \
    "$TMP/lines.txt" 2>"$TMP/stderr"
check "--greedy: exit 0" "[ $? = 0 ]"
same_as greedy_ids greedy
check "--greedy: ids as transformers' greedy generate() ($?)" "[ $? = 0 ]"
check "--greedy: said on stderr" "grep -q '^mhaviz: note: --greedy: greedy search instead of generation_config.json.s num_beams 3$' $TMP/stderr"
check "--greedy: recorded" "grep -q '\"greedy\": \"--greedy instead of num_beams 3\", \"strategy\": \"greedy\"' $TMP/out/lines.json"

# safetensors: the prompt's length in the metadata; html: the line at the boundary
rm -rf "$TMP/out"
"$MHAVIZ" run --model $M --generate 5 --heads 0:0 --format safetensors,html --out "$TMP/out" \
    "$TMP/lines.txt" 2>"$TMP/stderr"
check "safetensors, html: exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
check "safetensors: prompt_length" "head -c 4000 $TMP/out/lines.safetensors | grep -q '\"prompt_length\": \"15\"'"
check "html: the boundary" "grep -q '\"boundary\": 15' $TMP/out/lines.html"

# other models through --ids: a variant of each golden's settings as generation_config.json
stage() { # $1 fixture, $2 variant
    rm -rf "$TMP/m"
    mkdir "$TMP/m"
    cp tests/fixtures/$1/config.json tests/fixtures/$1/*.safetensors* "$TMP/m/"
    perl -MJSON::PP -e 'local $/; my ($v) = grep { $_->{name} eq $ARGV[0] } @{decode_json(<STDIN>)->{variants}};
        open my $o, ">", "$ARGV[1]/generation_config.json" or die;
        print $o JSON::PP->new->canonical->encode($v->{config});
        open my $s, ">", "$ARGV[1]/src.txt" or die; open my $w, ">", "$ARGV[1]/want.txt" or die;
        print $s join(" ", @{$_->{prompt}}), "\n" for @{$v->{cases}};
        print $w join(" ", @{$_->{ids}}), "\n" for @{$v->{cases}};' "$2" "$TMP/m" \
        <tests/fixtures/goldens/dgen-$1.json
}
for fv in dec-gpt2-f32:beam_early dec-qwen2-f32:ngram fam-gpt-neox-f32:misc \
          fam-qwen2-moe-lm-bf16:enc_ngram dgen-gemma2-cap:beam4 fam-mixtral-lm-bf16-sw5:suppress; do
    f=${fv%%:*} v=${fv#*:}
    stage $f $v
    rm -rf "$TMP/out"
    "$MHAVIZ" run --model "$TMP/m" --ids --generate 8 --heads 0:0 --format json --out "$TMP/out" \
        "$TMP/m/src.txt" 2>"$TMP/stderr"
    check "$f $v: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
    perl -MJSON::PP -e 'local $/; print join(" ", @{$_->{token_ids}}), "\n"
        for @{decode_json(<STDIN>)->{sentences}}' <"$TMP/out/src.json" >"$TMP/got.txt"
    check "$f $v: ids as transformers' generate()" "cmp -s $TMP/got.txt $TMP/m/want.txt"
done

# refusals
stage dec-llama-f32 sampling
expect_fail "sampling refused by name" 1 "generation_config.json: do_sample is true: sampling is not supported (--greedy decodes greedily)" -- \
    "$MHAVIZ" run --model "$TMP/m" --ids --generate 4 --out "$TMP/out" "$TMP/m/src.txt"
stage dec-llama-f32 own
printf '3 4 5\n' >"$TMP/m/src.txt"
expect_fail "past the positions: refused before running" 1 "src.txt: line 1: --generate 62: the prompt's 3 tokens and 62 new ones could pass the model's 64 positions" -- \
    "$MHAVIZ" run --model "$TMP/m" --ids --generate 62 --out "$TMP/out" "$TMP/m/src.txt"
expect_fail "--max-memory counts the tokens to come, before running" 1 "src.txt: line 1: 23 tokens need about" -- \
    "$MHAVIZ" run --model "$TMP/m" --ids --generate 20 --max-memory 300K --format json --out "$TMP/out" "$TMP/m/src.txt"
check "--max-memory: the advice" "grep -q 'keep fewer heads or generate fewer tokens, or write --format safetensors alone' $TMP/stderr"
# the beams' key/value caches count too: a limit the maps' pass fits in (251 KiB) but not
# generation with the fixture's 3 beams
printf 'hello world\n' >"$TMP/h.txt"
expect_fail "--max-memory counts the beams' key/value caches" 1 "h.txt: line 1: generating up to 24 tokens in 3 beams needs 267.0 KiB (a key/value cache a beam), more than 256.0 KiB: generate fewer tokens or use fewer beams (--greedy)" -- \
    "$MHAVIZ" run --model $M --generate 20 --max-memory 256K --heads 0:0 --format json --out "$TMP/out" "$TMP/h.txt"
expect_fail "a base model without LM head" 1 "a base model has no logits" -- \
    "$MHAVIZ" run --model tests/fixtures/dec-llama-bf16-gqa2-linear --ids --generate 4 --out "$TMP/out" "$TMP/m/src.txt"
expect_fail "an encoder" 2 "--generate needs a decoder-only (causal LM) or an encoder-decoder model; distilbert is neither" -- \
    "$MHAVIZ" run --model tests/fixtures/fam-distilbert-f32 --ids --generate 4 --out "$TMP/out" "$TMP/m/src.txt"
expect_fail "language codes on a decoder" 2 "--src-lang and --tgt-lang are for encoder-decoder models; llama is a decoder-only model" -- \
    "$MHAVIZ" run --model $M --generate 4 --tgt-lang fr --out "$TMP/out" "$TMP/lines.txt"
expect_fail "--rows with --generate" 2 "not --rows" -- \
    "$MHAVIZ" run --model $M --generate 4 --rows last --out "$TMP/out" "$TMP/lines.txt"

finish
