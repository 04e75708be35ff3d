#!/usr/bin/env bash
# The Audio Spectrogram Transformer (tests/fixtures/ast-*, tests/gen/fam_ast.py) through the
# command line: listed and described, run on a .wav and on a list of them (the JSON's heads
# against the transformers golden; patches labelled by time and frequency; the same bytes on
# 1 and 2 threads), the figures, and the refusals by name.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }
M=tests/fixtures/ast-model
W=tests/fixtures/audio/w2v-voiced.wav
S=tests/fixtures/audio/w2v-short.wav

check "info --families lists it" "\"$MHAVIZ\" info --families | grep -qx audio-spectrogram-transformer"
info=$("$MHAVIZ" info --model $M)
check "info: the features and the patch grid" "printf '%s\n' \"\$info\" | grep -qx 'features: 64 frames x 16 mel bins (Kaldi filter bank, 25 ms every 10 ms)' && printf '%s\n' \"\$info\" | grep -q '^patches: 8x8 every 4 bins and 6 frames: a 3x10 grid'"
check "info: no tokenizer" "printf '%s\n' \"\$info\" | grep -q 'tokenizer: none (a speech model'"

"$MHAVIZ" run --model $M --format json --threads 1 --out "$TMP/a" $W 2>"$TMP/err"
check "run a .wav" "[ \$? = 0 ] && [ ! -s \"$TMP/err\" ] && grep -q '\"architecture\": \"audio-spectrogram-transformer\"' \"$TMP/a/w2v-voiced.json\""
check "tokens: [CLS], [DIST], then patches by time and frequency" "grep -q '\"tokens\": \\[\"\\[CLS\\]\", \"\\[DIST\\]\", \"0.00s:134Hz\", \"0.06s:134Hz\"' \"$TMP/a/w2v-voiced.json\" && grep -q '\"0.54s:1993Hz\"\\]' \"$TMP/a/w2v-voiced.json\""
check "json: the grid and the features' frames" "grep -q '\"fbank_frames\": 98, \"max_length\": 64,' \"$TMP/a/w2v-voiced.json\" && grep -q '\"grid\": \\[3, 10\\], \"first_patch\": 2, \"patch_seconds\": 0.06, \"patch_hz\": \\[133.663, 798.383' \"$TMP/a/w2v-voiced.json\""
"$MHAVIZ" run --model $M --format json --threads 2 --out "$TMP/b" $W 2>/dev/null
check "1 and 2 threads: the same bytes" "cmp -s \"$TMP/a/w2v-voiced.json\" \"$TMP/b/w2v-voiced.json\""

# every head of the JSON against transformers' (the golden's first clip is this WAV)
check "the heads = transformers'" "perl -MJSON::PP -e '
    local \$/; open my \$a, q(<), \$ARGV[0] or die; open my \$b, q(<), \$ARGV[1] or die;
    my \$x = decode_json(<\$a>); my \$y = decode_json(<\$b>); my (\$worst, \$count) = (0, 0);
    my \$g = \$y->{sentences}[0]{attentions};
    for my \$h (@{\$x->{sentences}[0]{attentions}}) {
        my \$w = \$g->[\$h->{layer}][\$h->{head}]; \$count++;
        for my \$i (0 .. \$#\$w) { for my \$j (0 .. \$#{\$w->[\$i]}) {
            my \$d = abs(\$h->{weights}[\$i][\$j] - \$w->[\$i][\$j]); \$worst = \$d if \$d > \$worst } } }
    exit !(\$count == 8 && \$worst < \$y->{tolerance} + 1e-6)' \"$TMP/a/w2v-voiced.json\" tests/fixtures/goldens/ast-model.json"

# a list of WAVs; figures and html; the short clip's features padded to max_length
mkdir -p "$TMP/list"
cp $W $S "$TMP/list/"
printf 'w2v-voiced.wav\nw2v-short.wav\n' >"$TMP/list/clips.txt"
"$MHAVIZ" run --model tests/fixtures/ast-cls-f16 --heads 2:1 --format png,json,html \
    --out "$TMP/c" "$TMP/list/clips.txt" 2>"$TMP/err"
check "run a list of WAVs" "[ \$? = 0 ] && [ -f \"$TMP/c/clips/L02-H01.png\" ] && [ -f \"$TMP/c/clips-2/L02-H01.png\" ] && [ -f \"$TMP/c/clips.html\" ]"
check "the short clip: 18 frames padded to 40" "grep -q '\"fbank_frames\": 18, \"max_length\": 40,' \"$TMP/c/clips.json\""
check "hub names: run" "\"$MHAVIZ\" run --model tests/fixtures/ast-hubnames-bf16 --format json --out \"$TMP/h\" $S 2>/dev/null && grep -q '\"grid\": \\[2, 6\\]' \"$TMP/h/w2v-short.json\""

# refusals
expect_fail "stats" 1 "stats is not available for audio-spectrogram-transformer yet" \
    -- "$MHAVIZ" stats --model $M $W
expect_fail "rank" 1 "rank is not available for audio-spectrogram-transformer" \
    -- "$MHAVIZ" rank --model $M --from a --to b $W
expect_fail "ablate" 1 "ablate is not available for audio-spectrogram-transformer" \
    -- "$MHAVIZ" ablate --model $M --heads 0:0 $W
expect_fail "--ids" 2 "audio-spectrogram-transformer reads WAV files" \
    -- "$MHAVIZ" run --model $M --ids --out "$TMP/out" $W
perl -e 'my $d = pack("s<*", (1) x 399); open(my $h, ">:raw", $ARGV[0]) or die;
    print $h "RIFF", pack("V", 36 + length $d), "WAVEfmt ", pack("VvvVVvv", 16, 1, 1, 16000, 32000, 2, 16),
    "data", pack("V", length $d), $d;' "$TMP/tiny.wav"
expect_fail "too short for a frame" 1 "399 samples are too short for one frame of audio-spectrogram-transformer (400)" \
    -- "$MHAVIZ" run --model $M --out "$TMP/out" "$TMP/tiny.wav"
mkdir -p "$TMP/mels" "$TMP/fe" "$TMP/ps"
cp $M/* "$TMP/mels/"; cp $M/* "$TMP/fe/"; cp $M/* "$TMP/ps/"
sed -i 's/"num_mel_bins": 16/"num_mel_bins": 20/' "$TMP/mels/preprocessor_config.json"
expect_fail "extractor and model disagree" 1 "num_mel_bins 20 and max_length 64 are not config.json's 16 and 64" \
    -- "$MHAVIZ" run --model "$TMP/mels" --out "$TMP/out" $W
sed -i 's/"feature_extractor_type": "ASTFeatureExtractor"/"feature_extractor_type": "WhisperFeatureExtractor"/' "$TMP/fe/preprocessor_config.json"
expect_fail "another feature extractor" 1 "feature_extractor_type 'WhisperFeatureExtractor' is not supported (ASTFeatureExtractor is)" \
    -- "$MHAVIZ" run --model "$TMP/fe" --out "$TMP/out" $W
sed -i 's/"patch_size": 8/"patch_size": [8, 8]/' "$TMP/ps/config.json"
expect_fail "a patch_size list" 1 "a patch_size list is not supported" \
    -- "$MHAVIZ" run --model "$TMP/ps" --out "$TMP/out" $W

finish
