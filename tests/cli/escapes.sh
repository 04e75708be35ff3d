#!/usr/bin/env bash
# Terminal escapes (issue 15): file names and text quoted from files reach stderr (and
# `tokenize` output on a terminal) with every control byte - C0, DEL, C1 - written as \xNN,
# so a crafted checkpoint cannot rewrite the user's terminal.
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/bert-f32
echo "苹果从树上掉下来，小明把它捡起来了。" >"$TMP/s.txt"
M=$TMP/m
fresh_model() { rm -rf "$M"; cp -r "$FIX" "$M"; }
ESC=$(printf '\033')
# no_controls FILE: FILE has no byte 0x00-0x08, 0x0b-0x1f, 0x7f, and no C1 (U+0080-U+009F)
no_controls() { ! LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')" "$1" && ! LC_ALL=C grep -q "$(printf '\302[\200-\237]')" "$1"; }

# a file name
expect_fail esc-model-name 1 'a\x1b]0;pwned\x07b' -- "$MHAVIZ" run --model "$TMP/a${ESC}]0;pwned$(printf '\007')b" "$TMP/s.txt"
no_controls "$TMP/stderr" && ok || bad "esc-model-name: raw control bytes on stderr"
expect_fail esc-c1-name 1 'x\xc2\x9b2Jy' -- "$MHAVIZ" run --model "$TMP/x$(printf '\302\233')2Jy" "$TMP/s.txt"
no_controls "$TMP/stderr" && ok || bad "esc-c1-name: raw control bytes on stderr"
expect_fail esc-input-name 1 'in\x1b[2J.txt' -- "$MHAVIZ" run --model "$FIX" "$TMP/in${ESC}[2J.txt"
# text from a checkpoint: a dtype holding an OSC sequence, a tensor name with DEL and ESC
fresh_model; st_edit "$M/model.safetensors" 's/"dtype":"F32"/"dtype":"F32\\u001b]0;all checks passed\\u0007"/'
expect_fail esc-dtype 1 "unknown dtype 'F32\\x1b]0;all checks passed\\x07'" -- "$MHAVIZ" run --model "$M" "$TMP/s.txt"
no_controls "$TMP/stderr" && ok || bad "esc-dtype: raw control bytes on stderr"
fresh_model; perl -0pi -e 's/"hidden_act": "gelu"/"hidden_act": "gelu\\u001b[1A\\u007f"/' "$M/config.json"
expect_fail esc-hidden-act 1 'gelu\x1b[1A\x7f' -- "$MHAVIZ" run --model "$M" "$TMP/s.txt"
no_controls "$TMP/stderr" && ok || bad "esc-hidden-act: raw control bytes on stderr"
# a warning quoting a vocabulary piece
fresh_model; printf 'z\033[31mred\nz\033[31mred\n' >>"$M/vocab.txt"
"$MHAVIZ" tokenize --model "$M" "$TMP/s.txt" >/dev/null 2>"$TMP/stderr"
if grep -qF 'z\x1b[31mred' "$TMP/stderr" && no_controls "$TMP/stderr"; then ok
else bad "esc-vocab-warning: $(od -c "$TMP/stderr" | head -3)"; fi

# tokenize: raw pieces into a pipe, escaped on a terminal
fresh_model; sed -i "2s/.*/q${ESC}]0;t$(printf '\007')/" "$M/vocab.txt"
echo "[CLS] q${ESC}]0;t$(printf '\007') [SEP]" >"$TMP/p.txt"
"$MHAVIZ" tokenize --model "$M" --pretokenized "$TMP/p.txt" >"$TMP/stdout" 2>"$TMP/stderr"
if [ "$(cut -f1 "$TMP/stdout")" = "[CLS] q${ESC}]0;t$(printf '\007') [SEP]" ]; then ok; else bad "tokenize-pipe: $(od -c "$TMP/stdout" | head -3)"; fi
if command -v script >/dev/null && script -qec true /dev/null >/dev/null 2>&1; then
    script -qec "'$MHAVIZ' tokenize --model '$M' --pretokenized '$TMP/p.txt'" /dev/null >"$TMP/stdout" 2>/dev/null
    if grep -qF '[CLS] q\x1b]0;t\x07 [SEP]' "$TMP/stdout" && ! grep -qF "q${ESC}" "$TMP/stdout"; then ok
    else bad "tokenize-tty: $(od -c "$TMP/stdout" | head -5)"; fi
else
    echo "skip: tokenize-tty (no script(1))"
fi

finish
