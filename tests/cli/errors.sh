#!/usr/bin/env bash
# Malformed inputs: each gives exit 1 or 2, one clear stderr line, and no output file.
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/bert-f32
echo "苹果从树上掉下来，小明把它捡起来了。" >"$TMP/s.txt"

# fresh_model NAME: a writable copy of the F32 fixture at $TMP/NAME
fresh_model() { rm -rf "$TMP/$1"; cp -r "$FIX" "$TMP/$1"; }
run() { "$MHAVIZ" run --format json --out "$TMP/out" "$@"; }

fresh_model m
head -c 2000 "$FIX/model.safetensors" >"$TMP/m/model.safetensors"
expect_fail truncated 1 "model.safetensors" -- run --model "$TMP/m" "$TMP/s.txt"

fresh_model m
printf '\xff\xff\xff\x7f\x00\x00\x00\x00' | dd of="$TMP/m/model.safetensors" bs=1 count=8 conv=notrunc 2>/dev/null
expect_fail header-beyond-file 1 "model.safetensors" -- run --model "$TMP/m" "$TMP/s.txt"

fresh_model m
printf '\x00\x00\x00\x00\x00\x00\x00\x80' | dd of="$TMP/m/model.safetensors" bs=1 count=8 conv=notrunc 2>/dev/null
expect_fail header-2^63 1 "model.safetensors" -- run --model "$TMP/m" "$TMP/s.txt"

fresh_model m
: >"$TMP/m/model.safetensors"
expect_fail empty-file 1 "model.safetensors" -- run --model "$TMP/m" "$TMP/s.txt"

fresh_model m
st_edit "$TMP/m/model.safetensors" 's/("encoder\.layer\.1\.attention\.self\.key\.weight"[^}]*"data_offsets":\[)(\d+)/$1 . ($2 + 100000000)/e'
expect_fail offsets-out-of-range 1 "model.safetensors" -- run --model "$TMP/m" "$TMP/s.txt"

fresh_model m
# make the key weight start where the query weight starts: overlapping ranges
st_edit "$TMP/m/model.safetensors" '/"encoder\.layer\.0\.attention\.self\.query\.weight"[^}]*"data_offsets":\[(\d+),(\d+)\]/ or die; my ($b,$e)=($1,$2); s/("encoder\.layer\.0\.attention\.self\.key\.weight"[^}]*"data_offsets":\[)\d+,\d+/$1$b,$e/'
expect_fail overlapping 1 "model.safetensors" -- run --model "$TMP/m" "$TMP/s.txt"

fresh_model m
st_edit "$TMP/m/model.safetensors" 's/("encoder\.layer\.0\.attention\.self\.query\.weight"[^}]*"dtype":")F32/${1}F8_E4M3/'
expect_fail unknown-dtype 1 "F8_E4M3" -- run --model "$TMP/m" "$TMP/s.txt"

fresh_model m
st_edit "$TMP/m/model.safetensors" 's/("encoder\.layer\.0\.attention\.self\.query\.weight"[^}]*"dtype":")F32/${1}Q4_K/'
expect_fail bogus-dtype 1 "Q4_K" -- run --model "$TMP/m" "$TMP/s.txt"

fresh_model m
# same element count, wrong shape: [H,H] -> [H/2,2H]
st_edit "$TMP/m/model.safetensors" 's/("encoder\.layer\.1\.attention\.self\.key\.weight"[^}]*"shape":\[)(\d+),(\d+)/$1 . ($2\/2) . "," . ($3*2)/e'
expect_fail shape-mismatch 1 "tensor 'encoder.layer.1.attention.self.key.weight' has shape" -- run --model "$TMP/m" "$TMP/s.txt"

fresh_model m
st_edit "$TMP/m/model.safetensors" 's/encoder\.layer\.1\.attention\.self\.key\.weight/encoder.layer.1.attention.self.kez.weight/'
expect_fail missing-tensor 1 "missing tensor 'encoder.layer.1.attention.self.key.weight'" -- run --model "$TMP/m" "$TMP/s.txt"

fresh_model m
echo '{"hidden_size": 64,' >"$TMP/m/config.json"
expect_fail invalid-config 1 "config.json: not valid JSON" -- run --model "$TMP/m" "$TMP/s.txt"

fresh_model m
rm -f "$TMP/m/config.json"
expect_fail missing-config 1 "config.json" -- run --model "$TMP/m" "$TMP/s.txt"

fresh_model m
rm -f "$TMP/m/vocab.txt" "$TMP/m/tokenizer.json"
expect_fail missing-vocab 1 "vocab.txt" -- run --model "$TMP/m" "$TMP/s.txt"

expect_fail missing-model-dir 1 "not a model directory" -- run --model "$TMP/nothing" "$TMP/s.txt"

printf 'ok line\n\xff\xfe bad\n' >"$TMP/bad-utf8.txt"
expect_fail invalid-utf8 1 "line 2: invalid UTF-8" -- run --model "$FIX" "$TMP/bad-utf8.txt"

printf 'a\0b\n' >"$TMP/nul.txt"
expect_fail nul-byte 1 "line 1: contains a NUL byte" -- run --model "$FIX" "$TMP/nul.txt"

printf '  \n\t\n\n' >"$TMP/blank.txt"
expect_fail only-whitespace 1 "no sentences" -- run --model "$FIX" "$TMP/blank.txt"

expect_fail missing-input 1 "no-such-input.txt" -- run --model "$FIX" "$TMP/no-such-input.txt"

perl -e 'print "果" x 500, "\n"' >"$TMP/long.txt"
expect_fail too-long 1 "exceed the model's 64 positions (use --truncate)" -- run --model "$FIX" "$TMP/long.txt"

expect_fail heads-range 2 "layers 0-2, heads 0-3" -- run --model "$FIX" --heads 9:0 "$TMP/s.txt"
expect_fail heads-syntax 2 "not LAYER:HEAD" -- run --model "$FIX" --heads 1-2 "$TMP/s.txt"
expect_fail bad-format 2 "--format" -- run --model "$FIX" --format gif "$TMP/s.txt"
expect_fail no-file 2 "no input FILE" -- run --model "$FIX"
expect_fail unknown-option 2 "--frobnicate" -- run --frobnicate "$TMP/s.txt"
expect_fail unknown-command 2 "'frob' is not a command" -- "$MHAVIZ" frob
"$MHAVIZ" >"$TMP/stdout" 2>"$TMP/stderr"
rc=$?
if [ $rc = 2 ] && grep -q '^usage: mhaviz' "$TMP/stderr" && [ ! -s "$TMP/stdout" ]; then ok; else bad "no-command: exit $rc"; fi

printf 'not-a-piece 果\n' >"$TMP/pre.txt"
expect_fail unknown-piece 1 "not-a-piece" -- run --model "$FIX" --pretokenized "$TMP/pre.txt"
printf '2 999999 3\n' >"$TMP/ids.txt"
expect_fail id-out-of-range 1 "999999" -- run --model "$FIX" --ids "$TMP/ids.txt"

# an output directory that cannot be written: a file stands where the directory should be
: >"$TMP/file"
rm -rf "$TMP/out"
"$MHAVIZ" run --model "$FIX" --format json --out "$TMP/file/sub" "$TMP/s.txt" 2>"$TMP/stderr"
rc=$?
if [ $rc = 1 ] && [ "$(wc -l <"$TMP/stderr")" = 1 ]; then ok; else bad "unwritable-out: exit $rc: $(cat "$TMP/stderr")"; fi

finish
