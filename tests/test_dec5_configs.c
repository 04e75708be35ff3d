/* config.json of OLMoE, GLM, GLM-4, Nemotron, Helium, Cohere 2, EXAONE 4, PhiMoE, CodeGen and
 * Persimmon: the defaults of their transformers config classes and what is refused by name
 * rather than approximated. The forward passes are checked against transformers by
 * tests/test_families.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/config.h"
#include "config_expect.h"
#include "nn/act.h"

#define OLMOE "{\"model_type\": \"olmoe\", \"hidden_size\": 32, \"num_hidden_layers\": 2, " \
              "\"num_attention_heads\": 4, \"intermediate_size\": 16, \"vocab_size\": 100"

static void test_olmoe(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"olmoe\"}", &c);
    /* OlmoeConfig: OLMoE-1B-7B's sizes, 64 experts top 8, not renormalised, untied */
    assert_true(c.hidden_size == 2048 && c.num_layers == 16 && c.num_heads == 16);
    assert_true(c.num_kv_heads == 16 && c.head_dim == 128 && c.intermediate_size == 2048);
    assert_true(c.vocab_size == 50304 && c.max_positions == 4096);
    assert_true(c.num_experts == 64 && c.experts_per_tok == 8 && !c.norm_topk_prob);
    assert_true(c.moe_intermediate_size == 2048 && c.qk_norm == MHV_QK_NORM_FULL);
    assert_true(c.layer_norm_eps == 1e-5f && c.act == MHV_ACT_SILU && c.rope.theta == 10000.0);
    assert_true(!c.tie_word_embeddings && !c.attn_bias && c.clip_qkv == 0 && c.causal);
    config_ok(OLMOE ", \"num_local_experts\": 6, \"num_experts_per_tok\": 2, "
            "\"norm_topk_prob\": true, \"clip_qkv\": 3.5, \"attention_bias\": true, "
            "\"num_key_value_heads\": 2}", &c);
    assert_true(c.num_experts == 6 && c.experts_per_tok == 2 && c.norm_topk_prob);
    assert_true(c.clip_qkv == 3.5 && c.attn_bias && c.attn_out_bias && c.num_kv_heads == 2);
    config_ok(OLMOE ", \"num_experts\": 4, \"num_experts_per_tok\": 1, \"clip_qkv\": null}", &c);
    assert_true(c.num_experts == 4 && c.clip_qkv == 0);
    config_refused(OLMOE ", \"head_dim\": 16}", "head_dim 16 x 4 heads other than hidden_size 32");
    config_refused(OLMOE ", \"num_experts\": 4}", "num_experts_per_tok 8 exceeds the 4 experts");
    config_refused(OLMOE ", \"num_key_value_heads\": 3}", "does not divide");
    config_refused(OLMOE ", \"clip_qkv\": \"x\"}", "clip_qkv");
    config_refused(OLMOE ", \"rope_parameters\": {\"rope_type\": \"longrope\"}}", "longrope");
}

#define GLM "\"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, " \
            "\"intermediate_size\": 48, \"vocab_size\": 100, \"num_key_value_heads\": 2, " \
            "\"head_dim\": 12"

static void test_glm(void **state)
{
    (void)state;
    mhv_config c;
    const char *types[] = {"glm", "glm4"};
    for (int t = 0; t < 2; t++) {
        char json[256];
        snprintf(json, sizeof json, "{\"model_type\": \"%s\"}", types[t]);
        config_ok(json, &c);
        /* GlmConfig / Glm4Config: glm-4-9b's sizes, half of each head rotated, q/k/v biases */
        assert_true(c.hidden_size == 4096 && c.num_layers == 40 && c.num_heads == 32);
        assert_true(c.num_kv_heads == 2 && c.head_dim == 128 && c.intermediate_size == 13696);
        assert_true(c.vocab_size == 151552 && c.max_positions == 131072);
        assert_true(c.rotary_dims == 64 && c.rope.theta == 10000.0);
        assert_true(c.layer_norm_eps == (float)1.5625e-7 && c.attn_bias && !c.attn_out_bias);
        assert_true(!c.tie_word_embeddings && c.act == MHV_ACT_SILU && c.causal);
    }
    config_ok("{\"model_type\": \"glm\", " GLM ", \"partial_rotary_factor\": 0.34, "
              "\"attention_bias\": false}", &c);
    assert_true(c.rotary_dims == 4 && !c.attn_bias && c.head_dim == 12);
    /* the rope settings' factor wins over the top-level one, as transformers reads them */
    config_ok("{\"model_type\": \"glm4\", " GLM ", \"partial_rotary_factor\": 0.34, "
              "\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 500, "
              "\"partial_rotary_factor\": 1.0}}", &c);
    assert_true(c.rotary_dims == 0 && c.rope.theta == 500.0);
    config_refused("{\"model_type\": \"glm\", " GLM ", \"partial_rotary_factor\": 0.25}",
                   "odd");
    config_refused("{\"model_type\": \"glm\", " GLM ", \"partial_rotary_factor\": 0.05}",
                   "gives 0 rotated dimensions");
    config_refused("{\"model_type\": \"glm4\", " GLM ", \"rope_parameters\": "
                   "{\"rope_type\": \"longrope\"}}", "longrope");
}

#define HELIUM "{\"model_type\": \"helium\", \"hidden_size\": 32, \"num_hidden_layers\": 2, " \
               "\"num_attention_heads\": 4, \"intermediate_size\": 48, \"vocab_size\": 100"

static void test_helium(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"helium\"}", &c);
    /* HeliumConfig: helium-1-2b's sizes, rope_theta 100000, whole heads rotated */
    assert_true(c.hidden_size == 2560 && c.num_layers == 24 && c.num_heads == 20);
    assert_true(c.num_kv_heads == 20 && c.head_dim == 128 && c.intermediate_size == 7040);
    assert_true(c.vocab_size == 48000 && c.max_positions == 4096 && c.rotary_dims == 0);
    assert_true(c.rope.theta == 100000.0 && c.layer_norm_eps == 1e-8f);
    assert_true(!c.attn_bias && !c.attn_out_bias && !c.mlp_bias && !c.tie_word_embeddings);
    config_ok(HELIUM ", \"num_key_value_heads\": 2, \"head_dim\": 8, \"attention_bias\": true, "
              "\"mlp_bias\": true, \"rope_theta\": 1000}", &c);
    assert_true(c.attn_bias && !c.attn_out_bias && c.mlp_bias && c.rope.theta == 1000.0);
    config_refused(HELIUM ", \"num_key_value_heads\": 4, \"head_dim\": 16}",
                   "head_dim 16 x 4 heads other than hidden_size 32");
    config_refused(HELIUM "}", "num_key_value_heads 20 does not divide");
    config_refused(HELIUM ", \"num_key_value_heads\": 4, \"rope_parameters\": {\"rope_type\": "
                   "\"default\", \"partial_rotary_factor\": 0.5}}", "partial_rotary_factor");
}

#define NEMO "{\"model_type\": \"nemotron\", \"hidden_size\": 32, \"num_hidden_layers\": 2, " \
             "\"num_attention_heads\": 4, \"intermediate_size\": 48, \"vocab_size\": 100"

static void test_nemotron(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"nemotron\", \"num_key_value_heads\": 8}", &c);
    /* NemotronConfig: Nemotron-4's sizes, relu2, LayerNorm1P eps 1e-5, half of each head
     * rotated, no biases, untied */
    assert_true(c.hidden_size == 6144 && c.num_layers == 32 && c.num_heads == 48);
    assert_true(c.num_kv_heads == 8 && c.head_dim == 128 && c.intermediate_size == 24576);
    assert_true(c.vocab_size == 256000 && c.max_positions == 4096 && c.rotary_dims == 64);
    assert_true(c.act == MHV_ACT_RELU2 && c.layer_norm_eps == 1e-5f && c.rope.theta == 10000.0);
    assert_true(!c.attn_bias && !c.attn_out_bias && !c.mlp_bias && !c.tie_word_embeddings);
    assert_string_equal(mhv_act_name(c.act), "relu2");
    config_ok(NEMO ", \"num_key_value_heads\": 2, \"head_dim\": 12, \"partial_rotary_factor\": "
               "1.0, \"attention_bias\": true, \"mlp_bias\": true, \"norm_eps\": 1e-6}", &c);
    assert_true(c.head_dim == 12 && c.rotary_dims == 0 && c.attn_bias && c.attn_out_bias);
    assert_true(c.mlp_bias && c.layer_norm_eps == 1e-6f);
    config_refused(NEMO "}", "num_key_value_heads is missing");
    config_refused(NEMO ", \"num_key_value_heads\": null}", "num_key_value_heads is missing");
    config_refused(NEMO ", \"num_key_value_heads\": 4, \"hidden_act\": \"relu3\"}",
                   "unsupported hidden_act 'relu3'");
    config_refused(NEMO ", \"num_key_value_heads\": 4, \"rope_parameters\": {\"rope_type\": "
                   "\"longrope\"}}", "longrope");
}

static int bit(const unsigned char *bits, int l)
{
    return (bits[l / 8] >> (l % 8)) & 1;
}

#define COH2 "{\"model_type\": \"cohere2\", \"hidden_size\": 32, \"num_hidden_layers\": 6, " \
             "\"num_attention_heads\": 4, \"intermediate_size\": 48, \"vocab_size\": 100"

static void test_cohere2(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"cohere2\"}", &c);
    /* Cohere2Config: Command A's sizes, theta 10000 (not Cohere's 500000), tied, logit_scale
     * 0.0625, window 4096 on three layers of four, no positions on the others */
    assert_true(c.hidden_size == 8192 && c.num_layers == 40 && c.num_heads == 64);
    assert_true(c.num_kv_heads == 64 && c.head_dim == 128 && c.vocab_size == 256000);
    assert_true(c.rope.theta == 10000.0 && c.tie_word_embeddings && c.logits_mul == 0.0625);
    assert_true(c.sliding_window == 4096 && c.qk_norm == MHV_QK_NORM_NONE);
    for (int l = 0; l < 40; l++) {
        assert_int_equal(mhv_config_layer_slides(&c, l), (l + 1) % 4 != 0);
        assert_int_equal(bit(c.nope_layers, l), (l + 1) % 4 == 0);
    }
    config_ok(COH2 ", \"sliding_window_pattern\": 2, \"sliding_window\": 8, \"use_qk_norm\": "
               "true}", &c);
    assert_true(c.sliding_window == 8 && c.qk_norm == MHV_QK_NORM_NONE); /* Cohere2 has none */
    for (int l = 0; l < 6; l++)
        assert_int_equal(mhv_config_layer_slides(&c, l), l % 2 == 0);
    config_ok(COH2 ", \"layer_types\": [\"full_attention\", \"full_attention\", "
               "\"full_attention\", \"full_attention\", \"full_attention\", \"full_attention\"], "
               "\"sliding_window\": null}", &c);
    for (int l = 0; l < 6; l++)
        assert_true(!mhv_config_layer_slides(&c, l) && bit(c.nope_layers, l));
    config_refused(COH2 ", \"sliding_window\": null}",
                   "sliding layers with sliding_window null are not supported");
    config_refused(COH2 ", \"sliding_window_pattern\": 0}", "sliding_window_pattern");
    config_refused(COH2 ", \"layer_types\": [\"full_attention\"]}", "not a list of 6");
    config_refused(COH2 ", \"layer_types\": [\"chunked_attention\", \"full_attention\", "
                   "\"full_attention\", \"full_attention\", \"full_attention\", "
                   "\"full_attention\"]}", "unsupported layer type 'chunked_attention'");
    /* Cohere itself: unchanged theta and no window */
    config_ok("{\"model_type\": \"cohere\"}", &c);
    assert_true(c.rope.theta == 500000.0 && c.sliding_window == 0 && !bit(c.nope_layers, 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_olmoe),
        cmocka_unit_test(test_glm),
        cmocka_unit_test(test_helium),
        cmocka_unit_test(test_nemotron),
        cmocka_unit_test(test_cohere2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
