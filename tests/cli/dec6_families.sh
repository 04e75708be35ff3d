#!/bin/bash
# OLMo 3, VaultGemma, Ministral (3), Seed-OSS, Arcee, ERNIE 4.5 (MoE), HunYuan dense, Apertus,
# Granite MoE (shared), GLM-4-MoE, dots1 and DeepSeek-V2/V3 from the command line: listed,
# each runs on ids with the same maps on 1 and 2 threads; configs transformers would not
# build, or not as given, are refused by name.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }

families=$("$MHAVIZ" info --families)
for t in olmo3 vaultgemma ministral ministral3 seed_oss arcee ernie4_5 hunyuan_v1_dense apertus \
         granitemoe granitemoeshared glm4_moe dots1 ernie4_5_moe deepseek_v2 deepseek_v3; do
    check "info --families lists $t" "printf '%s\n' \"\$families\" | grep -qx $t"
done

printf '3 7 11 5 9 2\n' >"$TMP/ids.txt"
for f in olmo3-f32 vaultgemma-lm-f32 ministral-f32 ministral3-model-f16 seed-oss-lm-f32 \
         arcee-lm-f32 ernie4-5-lm-f32 hunyuan-lm-f32 apertus-lm-f32 granitemoe-lm-f32 \
         granitemoeshared-lm-f32 glm4-moe-lm-f32 dots1-lm-f32 ernie4-5-moe-lm-f32 \
         deepseek-v2-lm-f32 deepseek-v3-lm-f32; do
    for t in 1 2; do
        "$MHAVIZ" run --model tests/fixtures/fam-$f --ids --heads all --format json --threads $t \
            --out "$TMP/out-$f-$t" "$TMP/ids.txt" >/dev/null 2>"$TMP/stderr"
        check "$f: run --ids --threads $t exits 0" \
            "[ $? = 0 ] && [ ! -s $TMP/stderr ] && [ -s $TMP/out-$f-$t/ids.json ]"
    done
    check "$f: 1 and 2 threads write the same maps" \
        "cmp -s $TMP/out-$f-1/ids.json $TMP/out-$f-2/ids.json"
done

info=$("$MHAVIZ" info --model tests/fixtures/fam-apertus-lm-f32 2>&1)
check "apertus: info names xielu" "printf '%s\n' \"\$info\" | grep -q 'activation: xielu'"

# refused by name
edit() { # edit FIXTURE PERL: a copy of FIXTURE's config.json changed by PERL, in $TMP/m
    rm -rf "$TMP/m" && mkdir -p "$TMP/m" && cp tests/fixtures/$1/* "$TMP/m/"
    perl -0pi -e "$2" "$TMP/m/config.json"
}
edit fam-ministral-f32 's/"head_dim": 8,//'
expect_fail "ministral: no head_dim refused" 1 \
    "ministral without head_dim is not supported (transformers fails on it)" -- \
    "$MHAVIZ" info --model "$TMP/m"
edit fam-olmo3-f32 's/"sliding_window": 3/"sliding_window": null/'
expect_fail "olmo3: sliding_window null refused" 1 \
    "sliding_window null is not supported for olmo3" -- "$MHAVIZ" info --model "$TMP/m"
edit fam-ministral3-model-f16 's/"llama_4_scaling_beta": 0.5,?//'
expect_fail "ministral3: rope settings without llama_4_scaling_beta refused" 1 \
    "without llama_4_scaling_beta and original_max_position_embeddings" -- \
    "$MHAVIZ" info --model "$TMP/m"
edit fam-deepseek-v2-lm-f32 's/"topk_method": "greedy"/"topk_method": "noaux_tc"/'
expect_fail "deepseek_v2: topk_method noaux_tc refused" 1 "unsupported topk_method 'noaux_tc'" -- \
    "$MHAVIZ" info --model "$TMP/m"
expect_fail "deepseek_v3: norm-out weighting refused" 1 \
    "value norms through the output projection (--weighting norm-out) are not supported for deepseek_v3" -- \
    "$MHAVIZ" run --model tests/fixtures/fam-deepseek-v3-lm-f32 --ids --weighting norm-out \
    --format json --out "$TMP/out-vo" "$TMP/ids.txt"
finish
