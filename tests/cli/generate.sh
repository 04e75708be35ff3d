#!/usr/bin/env bash
# run --generate N: transformers' generate(max_new_tokens=N) under the model directory's own
# settings: generation_config.json when present, else config.json's generation fields
# (tests/gen/gen_generate.py's goldens); --greedy; what is refused.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
G=tests/fixtures/goldens/gen-s2s-bart-f32.json
F=tests/fixtures/s2s-bart-f32

# a copy of the fixture whose settings are variant $1 of the golden, as its
# generation_config.json or (kind config) its config.json without a generation_config.json
stage() {
    rm -rf "$TMP/m"
    mkdir "$TMP/m"
    cp "$F/model.safetensors" "$F/config.json" "$TMP/m/"
    perl -MJSON::PP -e 'local $/; my ($v) = grep { $_->{name} eq $ARGV[0] } @{decode_json(<STDIN>)->{variants}};
        open my $o, ">", ($v->{kind} eq "config" ? "$ARGV[1]/config.json" : "$ARGV[1]/generation_config.json") or die;
        print $o JSON::PP->new->canonical->encode($v->{config});
        open my $s, ">", "$ARGV[1]/src.txt" or die;
        print $s join(" ", @{$_->{src_ids}}), "\n" for @{$v->{cases}};' "$1" "$TMP/m" <"$G"
}

# the ids of every line against the variant's cases, and the report's "generation"
same_ids() {
    perl -MJSON::PP -e '
        local $/; open my $a, "<", $ARGV[0] or die; open my $b, "<", $ARGV[1] or die;
        my $x = decode_json(<$a>); my ($v) = grep { $_->{name} eq $ARGV[2] } @{decode_json(<$b>)->{variants}};
        for my $s (0 .. $#{$v->{cases}}) {
            exit 2 unless join(" ", @{$x->{sentences}[$s]{target_token_ids}}) eq
                          join(" ", @{$v->{cases}[$s]{ids}});
        }
        my $g = $x->{generation};
        exit 3 unless $g->{from} eq $ARGV[3] && $g->{strategy} eq $ARGV[4];
        exit 0' "$TMP/out/src.json" "$G" "$@"
}

for v in beam4 beam_early beam_never ngram suppress; do
    stage $v
    rm -rf "$TMP/out"
    "$MHAVIZ" run --model "$TMP/m" --ids --generate 8 --heads cross:0:0 --format json \
        --out "$TMP/out" "$TMP/m/src.txt" 2>"$TMP/stderr"
    check "$v: exit 0, silent" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
    strategy=greedy
    case $v in beam*) strategy=beam_search ;; esac
    same_ids $v generation_config.json $strategy
    check "$v: ids as transformers' generate(), recorded as $strategy ($?)" "[ $? = 0 ]"
done

# no generation_config.json: config.json's num_beams, length_penalty, early_stopping,
# no_repeat_ngram_size, min_length and max_length (9 = --generate 8 after the start token)
stage config_json_beams
rm -rf "$TMP/out"
"$MHAVIZ" run --model "$TMP/m" --ids --generate 8 --heads cross:0:0 --format json \
    --out "$TMP/out" "$TMP/m/src.txt" 2>"$TMP/stderr"
check "config.json's settings: exit 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
same_ids config_json_beams config.json beam_search
check "config.json's settings: ids as transformers' generate() ($?)" "[ $? = 0 ]"
check "config.json's settings: recorded" "grep -q '\"num_beams\": 4, \"length_penalty\": 2, \"early_stopping\": true' $TMP/out/src.json"

# --greedy: greedy search with the other settings, said on stderr and in the report
stage beam4
check "info: the settings" "\"\$MHAVIZ\" info --model $TMP/m | grep -q '^generation: generation_config.json {\"strategy\": \"beam_search\", \"num_beams\": 4, '"
rm -rf "$TMP/out"
"$MHAVIZ" run --model "$TMP/m" --ids --generate 8 --greedy --heads cross:0:0 --format json \
    --out "$TMP/out" "$TMP/m/src.txt" 2>"$TMP/stderr"
check "--greedy: exit 0" "[ $? = 0 ]"
check "--greedy: said on stderr" "grep -q '^mhaviz: note: --greedy: greedy search instead of generation_config.json.s num_beams 4$' $TMP/stderr"
check "--greedy: recorded" "grep -q '\"greedy\": \"--greedy instead of num_beams 4\", \"strategy\": \"greedy\"' $TMP/out/src.json"

# refusals
stage sampling
printf '5 9 11 20\n' >"$TMP/m/src.txt"
expect_fail "do_sample refused" 1 "generation_config.json: do_sample is true: sampling is not supported (--greedy decodes greedily)" -- \
    "$MHAVIZ" run --model "$TMP/m" --ids --generate 8 --out "$TMP/out" "$TMP/m/src.txt"
"$MHAVIZ" run --model "$TMP/m" --ids --generate 3 --greedy --format json --out "$TMP/out" "$TMP/m/src.txt" 2>"$TMP/stderr"
check "do_sample with --greedy: runs, said" "[ $? = 0 ] && grep -q 'instead of generation_config.json.s do_sample true' $TMP/stderr"
printf '{"decoder_start_token_id": 2, "stop_strings": ["x"]}' >"$TMP/m/generation_config.json"
expect_fail "stop_strings refused by name" 1 "generation_config.json: stop_strings is not supported" -- \
    "$MHAVIZ" run --model "$TMP/m" --ids --generate 8 --out "$TMP/out" "$TMP/m/src.txt"
printf '{"eos_token_id": 1}' >"$TMP/m/generation_config.json"
expect_fail "no start token: refused as transformers refuses" 1 "sets neither decoder_start_token_id nor bos_token_id" -- \
    "$MHAVIZ" run --model "$TMP/m" --ids --generate 8 --out "$TMP/out" "$TMP/m/src.txt"
expect_fail "--greedy alone" 2 "--greedy goes with --generate N" -- \
    "$MHAVIZ" run --model "$TMP/m" --ids --greedy --out "$TMP/out" "$TMP/m/src.txt"
expect_fail "T5 saved without a start token" 1 "s2s-t5-f32/generation_config.json: sets neither" -- \
    "$MHAVIZ" run --model tests/fixtures/s2s-t5-f32 --ids --generate 8 --out "$TMP/out" "$TMP/m/src.txt"

finish
