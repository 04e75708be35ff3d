#!/usr/bin/env bash
# Whisper (tests/fixtures/whisper-*): run --pairs on WAV files (a list, or one .wav given
# directly), the JSON's three stacks against the transformers goldens
# (tests/gen/fam_whisper.py), the decoder's prompt against WhisperTokenizerFast (default and
# --tgt-lang en: set_prefix_tokens(language="en", task="transcribe")), the figures of the
# real audio's positions, safetensors, and the refusals.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
G=tests/fixtures/goldens
A=tests/fixtures/audio

# compare OUT_JSON GOLDEN: every head of every stack within the golden's tolerance, source
# tokens the audio positions' times, decoder ids as the golden's
compare() {
    perl -MJSON::PP -e '
        local $/; open my $a, "<", $ARGV[0] or die; open my $b, "<", $ARGV[1] or die;
        my $x = decode_json(<$a>); my $y = decode_json(<$b>); my $worst = 0;
        for my $s (0 .. $#{$y->{sentences}}) {
            my $xs = $x->{sentences}[$s]; my $ys = $y->{sentences}[$s]; my $count = 0;
            exit 5 unless join(" ", @{$xs->{target_token_ids}}) eq join(" ", @{$ys->{tgt_ids}});
            my $n = @{$ys->{encoder}[0][0]};
            exit 9 unless @{$xs->{tokens}} == $n && $xs->{tokens}[1] =~ /^0\.0[24]s$/;
            for my $h (@{$xs->{attentions}}) {
                my $g = $ys->{$h->{stack}}[$h->{layer}][$h->{head}] or exit 6;
                my $w = $h->{weights}; $count++;
                exit 7 unless @$w == @$g && @{$w->[0]} == @{$g->[0]};
                for my $i (0 .. $#$g) { for my $j (0 .. $#{$g->[$i]}) {
                    my $d = abs($w->[$i][$j] - $g->[$i][$j]); $worst = $d if $d > $worst;
                } }
            }
            my $want = 0; $want += @{$ys->{$_}} * @{$ys->{$_}[0]} for qw(encoder decoder cross);
            exit 8 unless $count == $want;
        }
        exit($worst <= $y->{tolerance} ? 0 : 2);' "$1" "$G/$2.json"
}

# golden_pairs NAME: WAV<TAB>TEXT of every golden sentence
golden_pairs() {
    perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); binmode STDOUT, ":utf8";
        print "'"$A"'/$_->{wav}\t$_->{text}\n" for @{$j->{sentences}}' <"$G/$1.json"
}

for fx in whisper-f32 whisper-model-bf16 whisper-untied-f16; do
    golden_pairs $fx >"$TMP/$fx.txt"
    rm -rf "$TMP/out"
    if "$MHAVIZ" run --model tests/fixtures/$fx --pairs --format json --out "$TMP/out" \
        "$TMP/$fx.txt" 2>"$TMP/err"; then
        compare "$TMP/out/$fx.json" $fx
        check "$fx: JSON within the golden (perl exit $?)" '[ $? = 0 ]'
    else
        bad "$fx: run failed: $(cat "$TMP/err")"
    fi
done

# --ids: the decoder's ids as given (the golden's)
perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>);
    print "'"$A"'/$_->{wav}\t", join(" ", @{$_->{tgt_ids}}), "\n" for @{$j->{sentences}}' \
    <"$G/whisper-f32.json" >"$TMP/ids.txt"
rm -rf "$TMP/out"
if "$MHAVIZ" run --model tests/fixtures/whisper-f32 --pairs --ids --format json --out "$TMP/out" \
    "$TMP/ids.txt" 2>"$TMP/err"; then
    compare "$TMP/out/ids.json" whisper-f32
    check "--ids: JSON within the golden (perl exit $?)" '[ $? = 0 ]'
else
    bad "--ids: run failed: $(cat "$TMP/err")"
fi

# --tgt-lang en: the prompt of set_prefix_tokens(language="en", task="transcribe")
want=$(perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>);
    for (@{$j->{cases}}) { if (($_->{language} // "") eq "en" && $_->{text} eq "the cat sat") {
        print join(" ", @{$_->{ids}}); } }' <$G/whisper-tok.json)
printf '%s\tthe cat sat\n' "$A/sweep16.wav" >"$TMP/en.txt"
rm -rf "$TMP/out"
"$MHAVIZ" run --model tests/fixtures/whisper-f32 --pairs --tgt-lang en --format json \
    --heads 'cross:1:0' --out "$TMP/out" "$TMP/en.txt" 2>"$TMP/err"
got=$(perl -MJSON::PP -e 'local $/; print join(" ", @{decode_json(<STDIN>)->{sentences}[0]{target_token_ids}})' \
    <"$TMP/out/en.json")
check "--tgt-lang en prompt: got '$got', want '$want'" '[ -n "$want" ] && [ "$got" = "$want" ]'

# a .wav given directly is one line (no transcript: --pairs needs one)
expect_fail "wav without transcript" 2 "give --pairs (lines SOURCE<TAB>TARGET) or --generate N" -- \
    "$MHAVIZ" run --model tests/fixtures/whisper-f32 --out "$TMP/out" "$A/sweep16.wav"
# figures: the positions of the real audio (0.6 s: 30 positions of 0.02 s), all in JSON
rm -rf "$TMP/out"
printf '%s\tthe cat sat\n' "$A/sweep16.wav" >"$TMP/figs.txt"
if "$MHAVIZ" run --model tests/fixtures/whisper-f32 --pairs --format png,svg,json,safetensors \
    --out "$TMP/out" "$TMP/figs.txt" 2>"$TMP/err"; then
    check "figures written" '[ -s "$TMP/out/figs/E01-H03.png" ] && [ -s "$TMP/out/figs/X00.png" ] && [ -s "$TMP/out/figs/align.png" ] && [ -s "$TMP/out/figs/D01-H00.svg" ]'
    check "safetensors written" '[ -s "$TMP/out/figs.safetensors" ]'
    check "svg shows the audio's positions only" \
        'grep -q "0.58s" "$TMP/out/figs/X00-H00.svg" && ! grep -q "0.60s" "$TMP/out/figs/X00-H00.svg"'
    check "json keeps every position" \
        'grep -q "\"0.98s\"" "$TMP/out/figs.json"'
    audio=$(perl -MJSON::PP -e 'local $/; my $a = decode_json(<STDIN>)->{sentences}[0]{audio};
        my $t = $a->{position_times}; print join(" ", $a->{samples}, $a->{seconds}, $a->{positions},
        $a->{positions_with_audio}, $a->{position_seconds}, scalar(@$t), $t->[1], $t->[49])' <"$TMP/out/figs.json")
    check "json's audio: got '$audio'" '[ "$audio" = "9600 0.6 50 30 0.02 50 0.02 0.98" ]'
else
    bad "figures: run failed: $(cat "$TMP/err")"
fi
rm -rf "$TMP/out"
"$MHAVIZ" run --model tests/fixtures/whisper-f32 --pairs --format svg --svg-text --heads cross:0:0 \
    --out "$TMP/out" "$TMP/figs.txt" 2>"$TMP/err"
check "the corner says what is left out" 'grep -q "audio positions 0-29 of 50" "$TMP/out/figs/X00-H00.svg"'
rm -rf "$TMP/out"
"$MHAVIZ" run --model tests/fixtures/whisper-f32 --pairs --format svg --svg-text --heads enc:0:0 \
    --window 0:50 --max-pixels 100 --out "$TMP/out" "$TMP/figs.txt" 2>"$TMP/err"
check "pooled positions labelled by time" 'grep -q "pooled: source in" "$TMP/out/figs/E00-H00.svg" && grep -q ">0.50s<" "$TMP/out/figs/E00-H00.svg"'
# --heads alignment: generation_config.json's alignment_heads [[1, 0], [1, 2]]
rm -rf "$TMP/out"
"$MHAVIZ" run --model tests/fixtures/whisper-f32 --pairs --heads alignment --format json,png \
    --out "$TMP/out" "$TMP/figs.txt" 2>"$TMP/err"
got=$(perl -MJSON::PP -e 'local $/; print join(" ", map { "$_->{stack}:$_->{layer}:$_->{head}" } @{decode_json(<STDIN>)->{sentences}[0]{attentions}})' <"$TMP/out/figs.json")
check "--heads alignment: got '$got'" '[ "$got" = "cross:1:0 cross:1:2" ] && [ -s "$TMP/out/figs/X01-H02.png" ]'
expect_fail "--heads alignment without them" 2 "--heads alignment: no alignment_heads" -- \
    "$MHAVIZ" run --model tests/fixtures/whisper-untied-f16 --pairs --heads alignment --out "$TMP/out" "$TMP/figs.txt"
# --window A:B overrides the default
rm -rf "$TMP/out"
"$MHAVIZ" run --model tests/fixtures/whisper-f32 --pairs --format svg --svg-text --heads cross:0:0 \
    --window 40:50 --out "$TMP/out" "$TMP/figs.txt" 2>"$TMP/err"
check "--window 40:50 on positions" 'grep -q "0.98s" "$TMP/out/figs/X00-H00.svg" && ! grep -q "0.58s" "$TMP/out/figs/X00-H00.svg"'

# --generate N: transformers' generate() (its goldens): the language detected, given with
# --tgt-lang, or generation_config.json's language and task
gen_want() { # WAV LANGUAGE: the golden's ids
    perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>);
        for (@{$j->{generate}}) { if ($_->{wav} eq $ARGV[0] && ($_->{language} // "") eq $ARGV[1]) {
            print join(" ", @{$_->{ids}}); } }' "$1" "$2" <"$G/whisper-f32.json"
}
gen_got() { # OUT_JSON
    perl -MJSON::PP -e 'local $/; print join(" ", @{decode_json(<STDIN>)->{sentences}[0]{target_token_ids}})' <"$1"
}
rm -rf "$TMP/out"
"$MHAVIZ" run --model tests/fixtures/whisper-f32 --generate 8 --format json,png --out "$TMP/out" \
    "$A/sweep16.wav" 2>"$TMP/err"
got=$(gen_got "$TMP/out/sweep16.json"); want=$(gen_want sweep16.wav "")
check "--generate, language detected: got '$got', want '$want'" '[ -n "$want" ] && [ "$got" = "$want" ]'
check "--generate: the report says how" 'grep -q "\"language\": \"detected\"" "$TMP/out/sweep16.json" && [ -s "$TMP/out/sweep16/X01-H00.png" ]'
rm -rf "$TMP/out"
"$MHAVIZ" run --model tests/fixtures/whisper-f32 --generate 8 --tgt-lang en --format json \
    --heads cross:1:0 --out "$TMP/out" "$A/speech16.wav" 2>"$TMP/err"
got=$(gen_got "$TMP/out/speech16.json"); want=$(gen_want speech16.wav en)
check "--generate --tgt-lang en: got '$got', want '$want'" '[ -n "$want" ] && [ "$got" = "$want" ]'
# a language name, in any case, as generate(language="English") takes it
rm -rf "$TMP/out"
"$MHAVIZ" run --model tests/fixtures/whisper-f32 --generate 8 --tgt-lang English --format json \
    --heads cross:1:0 --out "$TMP/out" "$A/speech16.wav" 2>"$TMP/err"
got=$(gen_got "$TMP/out/speech16.json")
check "--generate --tgt-lang English: got '$got', want '$want'" '[ -n "$want" ] && [ "$got" = "$want" ]'
cp -r tests/fixtures/whisper-f32 "$TMP/m"
perl -0pi -e 's/\{/{"language": "fr", "task": "translate",/' "$TMP/m/generation_config.json"
rm -rf "$TMP/out"
"$MHAVIZ" run --model "$TMP/m" --generate 6 --format json --heads cross:1:0 --out "$TMP/out" \
    "$A/speech16.wav" 2>"$TMP/err"
got=$(gen_got "$TMP/out/speech16.json"); want=$(gen_want speech16.wav fr)
check "--generate, generation_config.json's fr translate: got '$got', want '$want'" '[ -n "$want" ] && [ "$got" = "$want" ]'
perl -0pi -e 's/"language": "fr"/"language": "French"/' "$TMP/m/generation_config.json"
rm -rf "$TMP/out"
"$MHAVIZ" run --model "$TMP/m" --generate 6 --format json --heads cross:1:0 --out "$TMP/out" \
    "$A/speech16.wav" 2>"$TMP/err"
got=$(gen_got "$TMP/out/speech16.json")
check "--generate, generation_config.json's French translate: got '$got', want '$want'" '[ -n "$want" ] && [ "$got" = "$want" ]'
perl -0pi -e 's/"language": "French"/"language": "klingon"/' "$TMP/m/generation_config.json"
expect_fail "--generate, generation_config.json's unknown language" 1 "language 'klingon' is not one of Whisper's languages" -- \
    "$MHAVIZ" run --model "$TMP/m" --generate 6 --out "$TMP/out" "$A/speech16.wav"
perl -0pi -e 's/"language": "klingon"/"language": "fr"/' "$TMP/m/generation_config.json"
perl -0pi -e 's/"language": "fr", "task": "translate",/"return_timestamps": true,/' "$TMP/m/generation_config.json"
expect_fail "return_timestamps" 1 "return_timestamps is not supported" -- \
    "$MHAVIZ" run --model "$TMP/m" --generate 6 --out "$TMP/out" "$A/speech16.wav"
rm -rf "$TMP/m"
expect_fail "--generate past max_target_positions" 2 "--generate 21: with Whisper's 4 first tokens that is more than max_target_positions 24" -- \
    "$MHAVIZ" run --model tests/fixtures/whisper-f32 --generate 21 --out "$TMP/out" "$A/sweep16.wav"
expect_fail "--generate on an unknown language" 2 "--tgt-lang 'xx' is not one of Whisper's languages" -- \
    "$MHAVIZ" run --model tests/fixtures/whisper-f32 --generate 5 --tgt-lang xx --out "$TMP/out" "$A/sweep16.wav"
# an empty --tgt-lang is no language (transformers' set_prefix_tokens and generate refuse it),
# not 'none given' with the language detected
for mode in --pairs "--generate 5"; do
    expect_fail "--tgt-lang '' ($mode)" 2 "--tgt-lang '' is not one of Whisper's languages" -- \
        "$MHAVIZ" run --model tests/fixtures/whisper-f32 $mode --tgt-lang '' --out "$TMP/out" "$A/sweep16.wav"
done
cp -r tests/fixtures/whisper-f32 "$TMP/m"
perl -0pi -e 's/"<\|de\|>": \d+,//' "$TMP/m/generation_config.json"
expect_fail "--generate on a language lang_to_id lacks" 2 "language <|de|> is not in lang_to_id: this model does not take it" -- \
    "$MHAVIZ" run --model "$TMP/m" --generate 5 --tgt-lang de --out "$TMP/out" "$A/sweep16.wav"
rm -rf "$TMP/m"

# refusals
rm -rf "$TMP/out"
"$MHAVIZ" run --model tests/fixtures/whisper-f32 --pairs --format html --out "$TMP/out" "$TMP/figs.txt" 2>"$TMP/err"
check "html page with the positions' times" 'grep -q "0.98s" "$TMP/out/figs.html" && grep -qF "notimestamps|\\u003e" "$TMP/out/figs.html"'
expect_fail "--src-lang" 2 "--src-lang is not for whisper" -- \
    "$MHAVIZ" run --model tests/fixtures/whisper-f32 --pairs --src-lang en --out "$TMP/out" "$TMP/figs.txt"
expect_fail "unknown language" 2 "--tgt-lang 'xx' is not one of Whisper's languages" -- \
    "$MHAVIZ" run --model tests/fixtures/whisper-f32 --pairs --tgt-lang xx --out "$TMP/out" "$TMP/figs.txt"
printf '%s\tthe cat sat\n' "$A/sweep16.wav" >"$TMP/ok.txt"
cp -r tests/fixtures/whisper-f32 "$TMP/m"
sed -i 's/"chunk_length": 1/"chunk_length": 30/' "$TMP/m/preprocessor_config.json"
expect_fail "window vs max_source_positions" 1 "makes 3000 frames (chunk_length 30 s, hop_length 160) but config.json's max_source_positions 50 takes 100" -- \
    "$MHAVIZ" run --model "$TMP/m" --pairs --out "$TMP/out" "$TMP/ok.txt"
cp tests/fixtures/whisper-f32/preprocessor_config.json "$TMP/m/"
sed -i 's/"feature_size": 80/"feature_size": 128/' "$TMP/m/preprocessor_config.json"
expect_fail "mel bins" 1 "feature_size 128 is not config.json's num_mel_bins 80" -- \
    "$MHAVIZ" run --model "$TMP/m" --pairs --out "$TMP/out" "$TMP/ok.txt"
cp tests/fixtures/whisper-f32/preprocessor_config.json "$TMP/m/"
perl -0pi -e 's/"language": null/"language": "klingon"/; s/"task": null/"task": "translate"/' "$TMP/m/tokenizer_config.json"
expect_fail "unknown language name" 1 "tokenizer_config.json's language 'klingon' is not one of Whisper's" -- \
    "$MHAVIZ" run --model "$TMP/m" --pairs --out "$TMP/out" "$TMP/ok.txt"
# tokenizer_config.json's language and task: WhisperTokenizer's prefix (the golden's fr
# translate), the language as a code and as the names fine-tuned checkpoints write
want=$(perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>);
    for (@{$j->{cases}}) { if (($_->{language} // "") eq "fr" && $_->{text} eq "the cat sat") {
        print join(" ", @{$_->{ids}}); } }' <$G/whisper-tok.json)
for lang in fr French FRENCH; do
    perl -0pi -e "s/\"language\": \"[^\"]*\"/\"language\": \"$lang\"/" "$TMP/m/tokenizer_config.json"
    rm -rf "$TMP/out"
    "$MHAVIZ" run --model "$TMP/m" --pairs --format json --heads cross:0:0 --out "$TMP/out" "$TMP/ok.txt" 2>"$TMP/err"
    got=$(perl -MJSON::PP -e 'local $/; print join(" ", @{decode_json(<STDIN>)->{sentences}[0]{target_token_ids}})' <"$TMP/out/ok.json")
    check "tokenizer_config.json's $lang translate prompt: got '$got', want '$want'" '[ -n "$want" ] && [ "$got" = "$want" ]'
done
rm -rf "$TMP/m"
printf 'tests/fixtures/audio/sweep16.wav\n' >"$TMP/notab.txt"
expect_fail "no TAB" 1 "no TAB between the audio file and its transcript" -- \
    "$MHAVIZ" run --model tests/fixtures/whisper-f32 --pairs --out "$TMP/out" "$TMP/notab.txt"
# a WAV of another rate, stereo, another codec: one line, what to do
perl -e 'sub w { my ($tag, $ch, $rate, $bits) = @_; my $d = "\0" x 64; my $ba = $ch * $bits / 8;
    my $fmt = pack("vvVVvv", $tag, $ch, $rate, $rate * $ba, $ba, $bits);
    my $b = "WAVEfmt " . pack("V", 16) . $fmt . "data" . pack("V", length $d) . $d;
    return "RIFF" . pack("V", length $b) . $b; }
    open my $f, ">:raw", "$ARGV[0]/r44.wav"; print $f w(1, 1, 44100, 16); close $f;
    open $f, ">:raw", "$ARGV[0]/st.wav"; print $f w(1, 2, 16000, 16); close $f;
    open $f, ">:raw", "$ARGV[0]/alaw.wav"; print $f w(6, 1, 16000, 8); close $f;' "$TMP"
printf '%s\tx\n' "$TMP/r44.wav" >"$TMP/r44.txt"
expect_fail "44.1 kHz" 1 "r44.wav: 44100 Hz audio: the model's feature extractor takes 16000 Hz; resample it first, e.g. ffmpeg -i IN -ac 1 -ar 16000 OUT.wav" -- \
    "$MHAVIZ" run --model tests/fixtures/whisper-f32 --pairs --out "$TMP/out" "$TMP/r44.txt"
printf '%s\tx\n' "$TMP/st.wav" >"$TMP/st.txt"
expect_fail "stereo" 1 "st.wav: 2 channels: the model takes mono audio" -- \
    "$MHAVIZ" run --model tests/fixtures/whisper-f32 --pairs --out "$TMP/out" "$TMP/st.txt"
printf '%s\tx\n' "$TMP/alaw.wav" >"$TMP/alaw.txt"
expect_fail "A-law" 1 "alaw.wav: A-law audio (WAVE format 0x0006) is not supported" -- \
    "$MHAVIZ" run --model tests/fixtures/whisper-f32 --pairs --out "$TMP/out" "$TMP/alaw.txt"
for c in "rank --pairs --from cat --to 0.00s" "stats --pairs" "ablate --heads 0:0"; do
    expect_fail "${c%% *}" 1 "${c%% *} is not available for whisper (audio) models yet" -- \
        "$MHAVIZ" $c --model tests/fixtures/whisper-f32 "$TMP/ok.txt"
done
# the model is listed
check "info --families lists whisper" '"$MHAVIZ" info --families | grep -qx whisper'
finish
