#!/bin/bash
# SmolLM3, XGLM and MPT from the command line: an XGLM model with XGLMTokenizer's
# tokenizer.json runs and tokenizes as transformers; XGLM's sentencepiece.bpe.model alone and
# MPT configs transformers would not build are refused by name.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }

# XGLMModel with tests/gen/gen_tok_xglm.py's tokenizer.json: "</s>" first, then the pieces
X=tests/fixtures/fam-xglm-f32
mkdir -p "$TMP/x"
cp $X/config.json $X/model.safetensors tests/fixtures/tok-xglm/tokenizer.json "$TMP/x/"
printf 'Hello world\n' >"$TMP/s.txt"
"$MHAVIZ" run --model "$TMP/x" --heads 0:0 --format json --out "$TMP/out" "$TMP/s.txt" \
    >/dev/null 2>"$TMP/stderr"
check "xglm: run exits 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ]"
perl -MJSON::PP -e '
    local $/; open my $a, "<", $ARGV[0] or die; open my $b, "<", $ARGV[1] or die;
    my $x = decode_json(<$a>)->{sentences}[0]{token_ids};
    my ($y) = grep { $_->{sentence} eq "Hello world" } @{decode_json(<$b>)->{cases}};
    exit(join(" ", @$x) eq join(" ", @{$y->{ids}}) ? 0 : 2);' "$TMP/out/s.json" \
    tests/fixtures/tok-goldens-xglm.json
check "xglm: token ids as transformers' XGLMTokenizer ($?)" "[ $? = 0 ]"

# XGLM's SentencePiece model without tokenizer.json: refused by name, whether
# tokenizer_config.json names XGLMTokenizer or config.json's model_type alone implies it
mkdir -p "$TMP/xs"
cp $X/config.json $X/model.safetensors "$TMP/xs/"
cp tests/fixtures/tok-t5-spm/spiece.model "$TMP/xs/sentencepiece.bpe.model"
printf '{"tokenizer_class": "XGLMTokenizer"}' >"$TMP/xs/tokenizer_config.json"
expect_fail "xglm: sentencepiece.bpe.model refused" 1 "XGLMTokenizer's sentencepiece.bpe.model" -- \
    "$MHAVIZ" run --model "$TMP/xs" --out "$TMP/out" "$TMP/s.txt"
rm "$TMP/xs/tokenizer_config.json"
expect_fail "xglm: refused by model_type" 1 "it needs its tokenizer.json" -- \
    "$MHAVIZ" run --model "$TMP/xs" --out "$TMP/out" "$TMP/s.txt"

# MPT: what transformers' MptModel does not build is refused by name
M=tests/fixtures/fam-mpt-f32
mkdir -p "$TMP/m"
cp $M/* "$TMP/m/"
perl -0pi -e 's/"prefix_lm": false/"prefix_lm": true/' "$TMP/m/config.json"
expect_fail "mpt: prefix_lm refused" 1 "attn_config prefix_lm true is not supported" -- \
    "$MHAVIZ" info --model "$TMP/m"
cp $M/config.json "$TMP/m/"
perl -0pi -e 's/"alibi_bias_max": 8/"alibi_bias_max": 4/' "$TMP/m/config.json"
expect_fail "mpt: alibi_bias_max refused" 1 "alibi_bias_max 4 is not supported" -- \
    "$MHAVIZ" info --model "$TMP/m"

# SmolLM3 is a llama variant
info=$("$MHAVIZ" info --model tests/fixtures/fam-smollm3-f32 2>&1)
check "smollm3: info names it" "printf '%s\n' \"\$info\" | grep -q 'smollm3'"
finish
