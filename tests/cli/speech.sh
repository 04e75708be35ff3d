#!/usr/bin/env bash
# The speech encoders wav2vec2, HuBERT, data2vec-audio, WavLM, UniSpeech(-SAT), SEW(-D) through the command line (their attentions against
# transformers: tests/test_speech.c): listed, described, run on a .wav and on a list of
# them (frames labelled by time, the same bytes on 1 and 2 threads), stats over clips, the
# other commands and inputs refused by name, other sample rates refused with the ffmpeg command.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }

families=$("$MHAVIZ" info --families)
for t in wav2vec2 hubert data2vec-audio wavlm unispeech unispeech-sat sew sew-d; do
    check "info --families lists $t" "printf '%s\n' \"\$families\" | grep -qx $t"
done
M=tests/fixtures/speech-w2v-group
W=tests/fixtures/audio/w2v-voiced.wav
info=$("$MHAVIZ" info --model $M)
check "info: the feature encoder" "printf '%s\n' \"\$info\" | grep -qx 'samples_per_frame: 320'"
check "info: no tokenizer" "printf '%s\n' \"\$info\" | grep -q 'tokenizer: none (a speech model'"
check "info: no position table" "printf '%s\n' \"\$info\" | grep -q '^max_positions: none (positions by convolution'"

# a .wav: 1 s is 49 frames of 20 ms, every head in the JSON
"$MHAVIZ" run --model $M --format json --threads 1 --out "$TMP/a" $W 2>"$TMP/err"
check "run a .wav" "[ \$? = 0 ] && grep -q '\"architecture\": \"wav2vec2\"' \"$TMP/a/w2v-voiced.json\""
check "json: the audio's frame times" "grep -q '\"frame_seconds\": 0.02, \"frames\": 49,' \"$TMP/a/w2v-voiced.json\""
check "frames labelled by time" "grep -q '\"tokens\": \\[\"0.00s\", \"0.02s\", \"0.04s\"' \"$TMP/a/w2v-voiced.json\" && grep -q '\"0.96s\"\\]' \"$TMP/a/w2v-voiced.json\""
"$MHAVIZ" run --model $M --format json --threads 2 --out "$TMP/b" $W 2>/dev/null
check "1 and 2 threads: the same bytes" "cmp -s \"$TMP/a/w2v-voiced.json\" \"$TMP/b/w2v-voiced.json\""

# long clips: a window of frames, pooled figures, safetensors a head at a time
check "--window and --max-pixels" "\"$MHAVIZ\" run --model $M --heads 1:0 --window 10:30 --out \"$TMP/w\" $W 2>/dev/null && \"$MHAVIZ\" run --model $M --heads 1:0 --max-pixels 200 --out \"$TMP/p\" $W 2>/dev/null && [ -f \"$TMP/w/w2v-voiced/L01-H00.png\" ] && [ -f \"$TMP/p/w2v-voiced/L01-H00.png\" ]"
check "safetensors alone" "\"$MHAVIZ\" run --model $M --format safetensors --out \"$TMP/s\" $W 2>/dev/null && [ -s \"$TMP/s/w2v-voiced.safetensors\" ]"
expect_fail "--max-memory counts the clip" 1 "49 tokens need" \
    -- "$MHAVIZ" run --model $M --max-memory 100K --format json --out "$TMP/out" $W

# a list of WAVs, paths relative to the list; figures and html
mkdir -p "$TMP/list"
cp $W tests/fixtures/audio/w2v-short.wav "$TMP/list/"
printf 'w2v-voiced.wav\nw2v-short.wav\n' >"$TMP/list/clips.txt"
"$MHAVIZ" run --model tests/fixtures/speech-hubert --heads 1:2 --format png,json,html \
    --out "$TMP/c" "$TMP/list/clips.txt" 2>"$TMP/err"
check "run a list of WAVs" "[ \$? = 0 ] && [ -f \"$TMP/c/clips/L01-H02.png\" ] && [ -f \"$TMP/c/clips-2/L01-H02.png\" ] && [ -f \"$TMP/c/clips.html\" ]"
check "hubert: 80 samples a frame" "grep -q '\"0.005s\", \"0.010s\"' \"$TMP/c/clips.json\""

# the lines of a list of WAVs without the whitespace around them (CRLF, trailing spaces): the
# same stats as the plain list's
printf 'w2v-voiced.wav \r\n w2v-short.wav\t\n' >"$TMP/list/spaced.txt"
"$MHAVIZ" stats --model tests/fixtures/speech-hubert --format csv "$TMP/list/clips.txt" >"$TMP/plain.csv" 2>&1
"$MHAVIZ" stats --model tests/fixtures/speech-hubert --format csv "$TMP/list/spaced.txt" >"$TMP/spaced.csv" 2>"$TMP/stderr"
check "stats: a list's lines with whitespace around them, as the plain list" \
    "[ \$? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/spaced.csv ] && cmp -s $TMP/plain.csv $TMP/spaced.csv"

# stats over clips (a list of WAVs, or one .wav): distance in frames, no separators;
# distance and self recomputed here from run's JSON weights (within the fixed-point steps);
# shards merge to the whole; the JSON says its input is audio and --merge keeps it apart
"$MHAVIZ" stats --model tests/fixtures/speech-hubert --format json --threads 2 --out "$TMP/st.json" "$TMP/list/clips.txt" 2>"$TMP/stderr"
check "stats over WAVs" "[ \$? = 0 ] && [ ! -s $TMP/stderr ] && perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>);
    exit !(\$j->{input} eq q(audio) && \$j->{sentences} == 2 && @{\$j->{heads}} == 8)' <$TMP/st.json"
"$MHAVIZ" run --model tests/fixtures/speech-hubert --format json --out "$TMP/stj" "$TMP/list/clips.txt" 2>/dev/null
"$MHAVIZ" stats --model tests/fixtures/speech-hubert --format csv "$TMP/list/clips.txt" >"$TMP/st.csv"
check "stats distance and self = those of run's weights" "perl -MJSON::PP -e '
    local \$/; open(my \$f, q(<), \$ARGV[0]) or exit 9; my \$j = decode_json(<\$f>); my (%d, %s);
    for my \$c (@{\$j->{sentences}}) { for my \$a (@{\$c->{attentions}}) { my \$w = \$a->{weights}; my \$n = @\$w; my (\$td, \$ts) = (0, 0);
        for my \$i (0..\$n - 1) { \$ts += \$w->[\$i][\$i]; \$td += \$w->[\$i][\$_] * abs(\$i - \$_) for 0..\$n - 1 }
        my \$k = \$a->{layer} . q(,) . \$a->{head}; \$d{\$k} += \$td / \$n / 2; \$s{\$k} += \$ts / \$n / 2 } }
    open(my \$c, q(<), \$ARGV[1]) or exit 8; local \$/ = qq(\n); <\$c>;
    my \$m = 0; while (<\$c>) { my @f = split /,/; \$m++; my \$k = \$f[0] . q(,) . \$f[1];
        exit 1 if abs(\$f[3] - \$d{\$k}) > 1e-4 || abs(\$f[8] - \$s{\$k}) > 1e-5 || \$f[5] ne q() }
    exit !(\$m == 8)' $TMP/stj/clips.json $TMP/st.csv"
"$MHAVIZ" stats --model tests/fixtures/speech-hubert --format json --shard 0/2 --out "$TMP/s0.json" "$TMP/list/clips.txt"
"$MHAVIZ" stats --model tests/fixtures/speech-hubert --format json --shard 1/2 --out "$TMP/s1.json" "$TMP/list/clips.txt"
check "stats shards of clips merge to the whole" "\"$MHAVIZ\" stats --merge --format json $TMP/s1.json $TMP/s0.json | cmp -s - $TMP/st.json"
perl -ne 'print unless /"input": "audio"/' "$TMP/s1.json" >"$TMP/s1text.json" # as a text model's
expect_fail "stats: audio parts do not merge with text" 1 "cannot merge statistics of audio into those of text or images" \
    -- "$MHAVIZ" stats --merge --format json "$TMP/s1text.json" "$TMP/s0.json"
check "stats on one .wav, png" "\"$MHAVIZ\" stats --model $M --format png --out \"$TMP/st.png\" $W 2>/dev/null && [ -s \"$TMP/st.png\" ]"
expect_fail "stats --rows on a speech model" 2 "--pairs, --rows, --truncate and --weighting are for text models, not wav2vec2" \
    -- "$MHAVIZ" stats --model $M --rows last $W

check "wavlm: run" "\"$MHAVIZ\" run --model tests/fixtures/speech-wavlm --format json --out \"$TMP/l\" tests/fixtures/audio/w2v-short.wav 2>/dev/null && grep -q '\"architecture\": \"wavlm\"' \"$TMP/l/w2v-short.json\""
check "data2vec-audio: run" "\"$MHAVIZ\" run --model tests/fixtures/speech-d2v-audio --format json --out \"$TMP/d\" tests/fixtures/audio/w2v-short.wav 2>/dev/null && grep -q '\"architecture\": \"data2vec-audio\"' \"$TMP/d/w2v-short.json\""

for f in unispeech unispeech-sat-xvector-bf16; do
    "$MHAVIZ" run --model tests/fixtures/speech-$f --format json --threads 1 --out "$TMP/u1" tests/fixtures/audio/w2v-short.wav 2>/dev/null
    "$MHAVIZ" run --model tests/fixtures/speech-$f --format json --threads 2 --out "$TMP/u2" tests/fixtures/audio/w2v-short.wav 2>/dev/null
    check "$f: run, 1 and 2 threads the same bytes" "grep -q '\"architecture\": \"${f%%-xvector-bf16}\"' \"$TMP/u1/w2v-short.json\" && cmp -s \"$TMP/u1/w2v-short.json\" \"$TMP/u2/w2v-short.json\""
done
# SEW: the frames the layers see are the convolutions' averaged squeeze_factor at a time
info=$("$MHAVIZ" info --model tests/fixtures/speech-sew)
check "sew info: the squeeze" "printf '%s\n' \"\$info\" | grep -qx 'squeeze_factor: 2 (the convolutions. frames averaged 2 at a time)' && printf '%s\n' \"\$info\" | grep -qx 'samples_per_frame: 640'"
check "sew-d info: DeBERTa's attention" "\"$MHAVIZ\" info --model tests/fixtures/speech-sewd | grep -q '^layer_norm: post-LN, DeBERTa'"
"$MHAVIZ" run --model tests/fixtures/speech-sew --format json --threads 1 --out "$TMP/sw1" $W 2>/dev/null
"$MHAVIZ" run --model tests/fixtures/speech-sew --format json --threads 2 --out "$TMP/sw2" $W 2>/dev/null
check "sew: 1 s is 24 frames of 40 ms" "grep -q '\"frame_seconds\": 0.04, \"frames\": 24,' \"$TMP/sw1/w2v-voiced.json\" && grep -q '\"tokens\": \\[\"0.00s\", \"0.04s\", \"0.08s\"' \"$TMP/sw1/w2v-voiced.json\" && grep -q '\"0.92s\"\\]' \"$TMP/sw1/w2v-voiced.json\""
check "sew: 1 and 2 threads the same bytes" "cmp -s \"$TMP/sw1/w2v-voiced.json\" \"$TMP/sw2/w2v-voiced.json\""
for f in sewd sewd-ctc-f16; do
    "$MHAVIZ" run --model tests/fixtures/speech-$f --format json --threads 1 --out "$TMP/d1" tests/fixtures/audio/w2v-short.wav 2>/dev/null
    "$MHAVIZ" run --model tests/fixtures/speech-$f --format json --threads 2 --out "$TMP/d2" tests/fixtures/audio/w2v-short.wav 2>/dev/null
    check "$f: run, 1 and 2 threads the same bytes" "grep -q '\"architecture\": \"sew-d\"' \"$TMP/d1/w2v-short.json\" && cmp -s \"$TMP/d1/w2v-short.json\" \"$TMP/d2/w2v-short.json\""
done
check "sew-d: stats" "\"$MHAVIZ\" stats --model tests/fixtures/speech-sewd --format csv tests/fixtures/audio/w2v-short.wav >/dev/null 2>&1"
mkdir -p "$TMP/sewdconv"
cp tests/fixtures/speech-sewd/* "$TMP/sewdconv/"
sed -i 's/"model_type": "sew-d"/"model_type": "sew-d", "conv_kernel_size": 3/' "$TMP/sewdconv/config.json"
expect_fail "sew-d: the convolution after layer 0 refused by name" 1 "conv_kernel_size 3 is not supported" \
    -- "$MHAVIZ" run --model "$TMP/sewdconv" --out "$TMP/out" $W
check "unispeech: stats" "\"$MHAVIZ\" stats --model tests/fixtures/speech-unispeech --format csv $W >/dev/null 2>&1"
mkdir -p "$TMP/usad"
cp tests/fixtures/speech-unispeech-sat/* "$TMP/usad/"
sed -i 's/"model_type": "unispeech-sat"/"model_type": "unispeech-sat", "add_adapter": true/' "$TMP/usad/config.json"
expect_fail "unispeech-sat: adapters refused by name" 1 "add_adapter true is not supported" \
    -- "$MHAVIZ" run --model "$TMP/usad" --out "$TMP/out" $W
expect_fail "rank on unispeech" 1 "rank is not available for unispeech" \
    -- "$MHAVIZ" rank --model tests/fixtures/speech-unispeech --from a --to b $W

# refusals
expect_fail "--ids on a speech model" 2 "wav2vec2 reads WAV files" \
    -- "$MHAVIZ" run --model $M --ids --out "$TMP/out" $W
expect_fail "rank on a speech model" 1 "rank is not available for wav2vec2" \
    -- "$MHAVIZ" rank --model $M --from a --to b $W
# mono 16-bit PCM: wav FILE RATE SAMPLES
wav() {
    perl -e 'my ($f, $r, $n) = @ARGV; my $d = pack("s<*", (1) x $n);
        open(my $h, ">:raw", $f) or die; print $h "RIFF", pack("V", 36 + length $d), "WAVEfmt ",
        pack("VvvVVvv", 16, 1, 1, $r, 2 * $r, 2, 16), "data", pack("V", length $d), $d;' "$@"
}
wav "$TMP/r8k.wav" 8000 800
expect_fail "another sample rate" 1 "ffmpeg" \
    -- "$MHAVIZ" run --model $M --out "$TMP/out" "$TMP/r8k.wav"
wav "$TMP/tiny.wav" 16000 300
expect_fail "too short for a frame" 1 "300 samples are too short for one frame of wav2vec2" \
    -- "$MHAVIZ" run --model $M --out "$TMP/out" "$TMP/tiny.wav"
wav "$TMP/sewshort.wav" 16000 639
expect_fail "sew: too short for one squeezed frame" 1 "639 samples are too short for one frame of sew" \
    -- "$MHAVIZ" run --model tests/fixtures/speech-sew --out "$TMP/out" "$TMP/sewshort.wav"
mkdir -p "$TMP/adapter"
cp tests/fixtures/speech-wavlm/* "$TMP/adapter/"
sed -i 's/"add_adapter": false/"add_adapter": true/' "$TMP/adapter/config.json"
expect_fail "adapters refused by name" 1 "add_adapter true is not supported" \
    -- "$MHAVIZ" run --model "$TMP/adapter" --out "$TMP/out" $W

# a WAV not named .wav is read as a list of WAV files: said so, not "line 1: contains a NUL byte"
cp $W "$TMP/clip"
for cmd in run stats; do
    expect_fail "$cmd: a WAV not named .wav" 1 "$TMP/clip: a WAV file not named .wav" \
        -- "$MHAVIZ" $cmd --model $M --out "$TMP/out" "$TMP/clip"
done
printf '%s\n' "$TMP/clip" >"$TMP/clip.txt"
"$MHAVIZ" run --model $M --format json --out "$TMP/cl" "$TMP/clip.txt" 2>/dev/null
check "a WAV not named .wav, listed" "[ \$? = 0 ] && [ -s \"$TMP/cl/clip.json\" ]"

# an empty FILE names no file: a usage error, not "mhaviz: cannot open"
expect_fail "run ''" 2 "the input FILE is an empty name" -- "$MHAVIZ" run --model $M --out "$TMP/out" ''

finish
