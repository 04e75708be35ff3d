#!/bin/bash
# OLMoE, GLM, GLM-4, Helium, Nemotron, Cohere 2, EXAONE 4, PhiMoE, CodeGen, Persimmon and JetMoE
# from the command line: each runs on ids; configs transformers would not build, or not as
# given, are refused by name.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }

printf '3 7 11 5\n' >"$TMP/ids.txt"
for f in olmoe-f32 glm-f32 glm4-f32 helium-f32 nemotron-f32 cohere2-f32 exaone4-f32 phimoe-f32 \
         codegen-f32 persimmon-f32 jetmoe-f32; do
    "$MHAVIZ" run --model tests/fixtures/fam-$f --ids --heads 1:0 --format json \
        --out "$TMP/out-$f" "$TMP/ids.txt" >/dev/null 2>"$TMP/stderr"
    check "$f: run --ids exits 0" "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/out-$f/ids.json ]"
done
info=$("$MHAVIZ" info --model tests/fixtures/fam-nemotron-f32 2>&1)
check "nemotron: info names relu2" "printf '%s\n' \"\$info\" | grep -q 'relu2'"

# refused by name
edit() { # edit FIXTURE PERL: a copy of FIXTURE's config.json changed by PERL, in $TMP/m
    rm -rf "$TMP/m" && mkdir -p "$TMP/m" && cp tests/fixtures/$1/* "$TMP/m/"
    perl -0pi -e "$2" "$TMP/m/config.json"
}
edit fam-cohere2-f32 's/"sliding_window": 4/"sliding_window": null/'
expect_fail "cohere2: sliding_window null refused" 1 \
    "sliding layers with sliding_window null are not supported" -- "$MHAVIZ" info --model "$TMP/m"
edit fam-nemotron-f32 's/"num_key_value_heads": 2,//'
expect_fail "nemotron: no num_key_value_heads refused" 1 "num_key_value_heads is missing" -- \
    "$MHAVIZ" info --model "$TMP/m"
edit fam-helium-f32 's/"head_dim": 8/"head_dim": 16/'
expect_fail "helium: head_dim refused" 1 "head_dim 16 x 4 heads other than hidden_size 32" -- \
    "$MHAVIZ" info --model "$TMP/m"
edit fam-olmoe-f32 's/"num_experts_per_tok": 2/"num_experts_per_tok": 9/'
expect_fail "olmoe: top k beyond the experts refused" 1 "num_experts_per_tok 9 exceeds the 4 experts" -- \
    "$MHAVIZ" info --model "$TMP/m"
edit fam-exaone4-f32 's/"sliding_window_pattern": 4/"sliding_window_pattern": "LLLG"/; s/"layer_types": \[[^]]*\],//'
expect_fail "exaone4: string pattern without layer_types refused" 1 \
    "needs sliding_window and an integer sliding_window_pattern" -- "$MHAVIZ" info --model "$TMP/m"
edit fam-phimoe-f32 's/"rope_type": "longrope"/"rope_type": "yarn"/'
expect_fail "phimoe: yarn refused" 1 "unsupported rope scaling type 'yarn' (phimoe: default or longrope)" -- \
    "$MHAVIZ" info --model "$TMP/m"
edit fam-codegen-f32 's/"n_embd": 32/"n_embd": 30/; s/"n_head": 8/"n_head": 2/'
expect_fail "codegen: n_embd not a multiple of 4 refused" 1 "n_embd 30 is not a multiple of 4" -- \
    "$MHAVIZ" info --model "$TMP/m"
expect_fail "jetmoe: norm-out weighting refused" 1 \
    "value norms through the output projection (--weighting norm-out) are not supported for jetmoe" -- \
    "$MHAVIZ" run --model tests/fixtures/fam-jetmoe-f32 --ids --weighting norm-out --format json \
    --out "$TMP/out-vo" "$TMP/ids.txt"
check "jetmoe: num_key_value_heads but no kv_head in the JSON" \
    "grep -q '\"num_key_value_heads\": 2' $TMP/out-jetmoe-f32/ids.json && ! grep -q kv_head $TMP/out-jetmoe-f32/ids.json"
finish
