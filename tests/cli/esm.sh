#!/usr/bin/env bash
# ESM-2 and ESM-1b through the command line (their attentions and logits against
# transformers: tests/test_families.c; EsmTokenizer: tests/test_tok_esm.c): listed,
# described, a protein tokenized and run with residue letters as labels, ablate through
# EsmForMaskedLM's head at a <mask>, ESMFold and other position types refused by name.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }

check "info --families lists esm" "\"$MHAVIZ\" info --families | grep -qx esm"
M=tests/fixtures/fam-esm2-f32
check "info: architecture and tokenizer" "\"$MHAVIZ\" info --model $M | grep -q '^architecture: esm (model_type esm)$' && \"$MHAVIZ\" info --model $M | grep -q '^tokenizer: esm, 33 pieces$'"

# EsmTokenizer: residues, <mask>, lowercase and unknown letters (one <unk> a run), spaces
printf 'MKT<mask>AYI mkJ\n' >"$TMP/p.txt"
check "tokenize a protein" "[ \"\$(\"$MHAVIZ\" tokenize --model $M \"$TMP/p.txt\")\" = \"\$(printf '<cls> M K T <mask> A Y I <unk> <eos>\t0 20 15 11 32 5 19 12 3 2')\" ]"

rm -rf "$TMP/o"
"$MHAVIZ" run --model $M --heads 1:2 --format json,png --out "$TMP/o" "$TMP/p.txt" 2>"$TMP/err"
check "run: json and png" "[ \$? = 0 ] && [ -s \"$TMP/o/p/L01-H02.png\" ] && grep -q '\"architecture\": \"esm\"' \"$TMP/o/p.json\""
check "run: residue letters as tokens" "grep -q '\"tokens\": \[\"<cls>\", \"M\", \"K\", \"T\", \"<mask>\", \"A\", \"Y\", \"I\", \"<unk>\", \"<eos>\"\]' \"$TMP/o/p.json\""

# EsmForMaskedLM: ablate reads its lm_head at the <mask>
E=$TMP/esm-mlm
mkdir -p "$E"
cp tests/fixtures/fam-esm2-mlm-bf16/* tests/fixtures/tok-esm/* "$E/"
printf 'MKT<mask>AYIAKQR\n' >"$TMP/m.txt"
check "ablate at a <mask>" "\"$MHAVIZ\" ablate --model \"$E\" --heads 0:0 --format json \"$TMP/m.txt\" 2>/dev/null | grep -q '\"mean_after\"'"
expect_fail "base model: no masked-LM head" 1 "esm checkpoint without a masked-LM head" \
    -- "$MHAVIZ" ablate --model $M --heads 0:0 "$TMP/m.txt"

# the hub's layout: pytorch_model.bin, special_tokens_map.json
H=tests/fixtures/fam-esm2-hub-bin
check "hub layout: tokenize" "[ \"\$(\"$MHAVIZ\" tokenize --model $H \"$TMP/p.txt\" | cut -f2)\" = '0 20 15 11 32 5 19 12 3 2' ]"
check "hub layout: ablate at a <mask>" "\"$MHAVIZ\" ablate --model $H --heads 1:3 --format json \"$TMP/m.txt\" 2>/dev/null | grep -q '\"mean_after\"'"

# end to end: text through EsmTokenizer and the model, every head against transformers'
# (tests/gen/fam_esm.py: esm-e2e.json, float64)
printf 'MKT<mask>AYIAKQR\nmkt AYI J<mask> L\n' >"$TMP/e2e.txt"
rm -rf "$TMP/e2e"
"$MHAVIZ" run --model $H --heads all --format json --out "$TMP/e2e" "$TMP/e2e.txt" 2>"$TMP/err"
check "end to end: ids and every head within 1e-5 of transformers" "perl -MJSON::PP -e '
    sub slurp { local \$/; open my \$f, q(<), \$_[0] or die; decode_json(<\$f>) }
    my (\$g, \$o) = (slurp(q(tests/fixtures/goldens/esm-e2e.json)), slurp(q($TMP/e2e/e2e.json)));
    my \$worst = 0;
    for my \$s (0 .. 1) {
        my (\$gs, \$os) = (\$g->{sentences}[\$s], \$o->{sentences}[\$s]);
        exit 1 unless join(q( ), @{\$gs->{token_ids}}) eq join(q( ), @{\$os->{token_ids}});
        exit 1 unless @{\$os->{attentions}} == 2 * 4;
        for my \$a (@{\$os->{attentions}}) {
            my \$w = \$gs->{attentions}[\$a->{layer}][\$a->{head}];
            for my \$i (0 .. \$#\$w) { for my \$j (0 .. \$#{\$w->[\$i]}) {
                my \$d = abs(\$w->[\$i][\$j] - \$a->{weights}[\$i][\$j]);
                \$worst = \$d if \$d > \$worst; } }
        }
    }
    exit(\$worst < 1e-5 ? 0 : 1);'"

# what is not ESM-2 / ESM-1b's language model is refused by name
F=$TMP/fold
mkdir -p "$F"
cp tests/fixtures/fam-esm2-f32/* "$F/"
sed -i 's/"is_folding_model": false/"is_folding_model": true/' "$F/config.json"
expect_fail "ESMFold refused" 1 "is_folding_model (ESMFold, EsmForProteinFolding) is not supported" \
    -- "$MHAVIZ" run --model "$F" --format json --out "$TMP/out" "$TMP/p.txt"
cp tests/fixtures/fam-esm2-f32/config.json "$F/"
sed -i 's/"position_embedding_type": "rotary"/"position_embedding_type": "relative_key"/' "$F/config.json"
expect_fail "relative_key refused" 1 "position_embedding_type 'relative_key' is not supported (only 'absolute' and 'rotary')" \
    -- "$MHAVIZ" run --model "$F" --format json --out "$TMP/out" "$TMP/p.txt"
cp tests/fixtures/fam-esm2-f32/config.json "$F/"
sed -i 's/"is_decoder": false/"is_decoder": true/' "$F/config.json"
expect_fail "is_decoder refused" 1 "is_decoder is not supported" \
    -- "$MHAVIZ" run --model "$F" --format json --out "$TMP/out" "$TMP/p.txt"
finish
