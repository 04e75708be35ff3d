#!/usr/bin/env bash
# The speech encoders wav2vec2, HuBERT, data2vec-audio and WavLM through the command line (their attentions against
# transformers: tests/test_speech.c): listed, described, run on a .wav and on a list of
# them (frames labelled by time, the same bytes on 1 and 2 threads), the other commands
# and inputs refused by name, other sample rates refused with the ffmpeg command.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }

families=$("$MHAVIZ" info --families)
for t in wav2vec2 hubert data2vec-audio wavlm; do
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

check "wavlm: run" "\"$MHAVIZ\" run --model tests/fixtures/speech-wavlm --format json --out \"$TMP/l\" tests/fixtures/audio/w2v-short.wav 2>/dev/null && grep -q '\"architecture\": \"wavlm\"' \"$TMP/l/w2v-short.json\""
check "data2vec-audio: run" "\"$MHAVIZ\" run --model tests/fixtures/speech-d2v-audio --format json --out \"$TMP/d\" tests/fixtures/audio/w2v-short.wav 2>/dev/null && grep -q '\"architecture\": \"data2vec-audio\"' \"$TMP/d/w2v-short.json\""

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
mkdir -p "$TMP/adapter"
cp tests/fixtures/speech-wavlm/* "$TMP/adapter/"
sed -i 's/"add_adapter": false/"add_adapter": true/' "$TMP/adapter/config.json"
expect_fail "adapters refused by name" 1 "add_adapter true is not supported" \
    -- "$MHAVIZ" run --model "$TMP/adapter" --out "$TMP/out" $W

finish
