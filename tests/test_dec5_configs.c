/* config.json of OLMoE, GLM, GLM-4, Nemotron, Helium, Cohere 2, EXAONE 4, PhiMoE, CodeGen,
 * Persimmon and JetMoE: the defaults of their transformers config classes and what is refused
 * by name rather than approximated. The forward passes are checked against transformers by
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
    /* the default rotation ignores partial_rotary_factor, as transformers' Helium does; a
     * scaling type would rotate part of the head, on which transformers fails */
    config_ok(HELIUM ", \"num_key_value_heads\": 4, \"head_dim\": 8, \"rope_parameters\": "
              "{\"rope_type\": \"default\", \"partial_rotary_factor\": 0.5, \"rope_theta\": 300}}",
              &c);
    assert_true(c.rotary_dims == 0 && c.rope.theta == 300.0);
    config_refused(HELIUM ", \"num_key_value_heads\": 4, \"rope_parameters\": {\"rope_type\": "
                   "\"linear\", \"factor\": 2, \"partial_rotary_factor\": 0.5}}",
                   "partial_rotary_factor");
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

#define EXA "{\"model_type\": \"exaone4\", \"hidden_size\": 32, \"num_hidden_layers\": 4, " \
            "\"num_attention_heads\": 4, \"intermediate_size\": 48, \"vocab_size\": 100, " \
            "\"num_key_value_heads\": 2"

static void test_exaone4(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"exaone4\"}", &c);
    /* Exaone4Config: 32 layers, window 4096 on three of four with rotary, q/k head norms */
    assert_true(c.hidden_size == 4096 && c.num_layers == 32 && c.num_heads == 32);
    assert_true(c.num_kv_heads == 32 && c.head_dim == 128 && c.intermediate_size == 16384);
    assert_true(c.vocab_size == 102400 && c.max_positions == 2048 && c.sliding_window == 4096);
    assert_true(c.layer_norm_eps == 1e-5f && c.qk_norm == MHV_QK_NORM_HEAD);
    assert_true(!c.tie_word_embeddings && !c.attn_bias && c.rope.theta == 10000.0);
    for (int l = 0; l < 32; l++) {
        assert_int_equal(mhv_config_layer_slides(&c, l), (l + 1) % 4 != 0);
        assert_int_equal(bit(c.nope_layers, l), (l + 1) % 4 == 0);
    }
    config_ok(EXA ", \"sliding_window\": 8, \"sliding_window_pattern\": 2}", &c);
    assert_true(c.sliding_window == 8 && mhv_config_layer_slides(&c, 2) && bit(c.nope_layers, 3));
    /* a string pattern is fine beside layer_types, which transformers then reads alone */
    config_ok(EXA ", \"sliding_window_pattern\": \"LLLG\", \"layer_types\": [\"full_attention\", "
              "\"sliding_attention\", \"full_attention\", \"full_attention\"]}", &c);
    assert_true(!mhv_config_layer_slides(&c, 0) && mhv_config_layer_slides(&c, 1));
    assert_true(bit(c.nope_layers, 0) && !bit(c.nope_layers, 1));
    /* no window: every layer full and rotated */
    config_ok(EXA ", \"sliding_window\": null, \"layer_types\": [\"full_attention\", "
              "\"full_attention\", \"full_attention\", \"full_attention\"]}", &c);
    for (int l = 0; l < 4; l++)
        assert_true(!mhv_config_layer_slides(&c, l) && !bit(c.nope_layers, l));
    config_refused(EXA ", \"sliding_window_pattern\": \"LLLG\"}",
                   "needs sliding_window and an integer sliding_window_pattern");
    config_refused(EXA ", \"sliding_window\": null}",
                   "needs sliding_window and an integer sliding_window_pattern");
    config_refused(EXA ", \"sliding_window_pattern\": 0}", "sliding_window_pattern");
    config_refused(EXA ", \"sliding_window\": null, \"layer_types\": [\"full_attention\", "
                   "\"sliding_attention\", \"full_attention\", \"full_attention\"]}",
                   "sliding layers with sliding_window null are not supported");
}

#define PHIMOE "{\"model_type\": \"phimoe\", \"hidden_size\": 32, \"num_hidden_layers\": 2, " \
               "\"num_attention_heads\": 4, \"intermediate_size\": 16, \"vocab_size\": 100, " \
               "\"num_key_value_heads\": 2, \"num_local_experts\": 4"
#define LONGROPE "\"rope_type\": \"longrope\", \"short_factor\": [1, 1, 1, 1], " \
                 "\"long_factor\": [2, 2, 2, 2]"

static void test_phimoe(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"phimoe\"}", &c);
    /* PhimoeConfig: Phi-3.5-MoE's sizes, 16 experts, two per token, jitter 0.01, theta 1e6 */
    assert_true(c.hidden_size == 4096 && c.num_layers == 32 && c.num_heads == 32);
    assert_true(c.num_kv_heads == 8 && c.head_dim == 128 && c.intermediate_size == 6400);
    assert_true(c.vocab_size == 32064 && c.max_positions == 131072);
    assert_true(c.num_experts == 16 && c.experts_per_tok == 2 && c.router_jitter == 0.01);
    assert_true(c.rope.theta == 1e6 && !c.longrope && c.sliding_window == 0);
    assert_true(c.layer_norm_eps == 1e-5f && !c.attn_bias && !c.lm_head_bias);
    assert_true(!c.tie_word_embeddings && c.act == MHV_ACT_SILU);
    /* num_experts_per_tok is not read: the sparsemixer always picks two */
    config_ok(PHIMOE ", \"num_experts_per_tok\": 3, \"lm_head_bias\": true, \"sliding_window\": 7, "
              "\"router_jitter_noise\": 0.5, \"attention_bias\": true}", &c);
    assert_true(c.experts_per_tok == 2 && c.lm_head_bias && c.sliding_window == 7);
    assert_true(c.router_jitter == 0.5 && c.attn_bias && c.attn_out_bias);
    config_ok(PHIMOE ", \"max_position_embeddings\": 64, \"rope_parameters\": {" LONGROPE
              ", \"short_mscale\": 1.5, \"long_mscale\": 2, \"rope_theta\": 100}}", &c);
    assert_true(c.longrope && c.longrope_original == 64 && c.rope.theta == 100.0);
    assert_true(c.longrope_mscale[0] == 1.5 && c.longrope_mscale[1] == 2.0);
    assert_true(c.longrope_short[3] == 1.0f && c.longrope_long[0] == 2.0f);
    /* a top-level original_max_position_embeddings wins, as transformers standardises it */
    config_ok(PHIMOE ", \"original_max_position_embeddings\": 16, \"rope_scaling\": {" LONGROPE
              ", \"short_mscale\": 1, \"long_mscale\": 1, \"original_max_position_embeddings\": "
              "32}}", &c);
    assert_int_equal(c.longrope_original, 16);
    config_refused(PHIMOE ", \"rope_parameters\": {" LONGROPE ", \"long_mscale\": 1}}",
                   "longrope short_mscale must be a number");
    config_refused(PHIMOE ", \"rope_parameters\": {\"rope_type\": \"longrope\", \"short_factor\": "
                   "[1], \"long_factor\": [1], \"short_mscale\": 1, \"long_mscale\": 1}}",
                   "longrope short_factor must be a list of 4 numbers");
    config_refused(PHIMOE ", \"rope_parameters\": {\"rope_type\": \"yarn\", \"factor\": 2}}",
                   "unsupported rope scaling type 'yarn' (phimoe: default or longrope)");
    config_refused("{\"model_type\": \"phimoe\", \"num_local_experts\": 1}",
                   "field 'num_local_experts' is 1, outside [2, 4096]");
    config_refused(PHIMOE ", \"router_jitter_noise\": -0.1}", "router_jitter_noise");
    config_refused(PHIMOE ", \"sliding_window\": 0}", "sliding_window");
}

static void test_codegen(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"codegen\"}", &c);
    /* CodeGenConfig: codegen-6B's sizes, rotary_dim 64, gelu_new, untied */
    assert_true(c.hidden_size == 4096 && c.num_layers == 28 && c.num_heads == 16);
    assert_true(c.head_dim == 256 && c.intermediate_size == 16384 && c.vocab_size == 50400);
    assert_true(c.max_positions == 2048 && c.rotary_dims == 64 && c.act == MHV_ACT_GELU_NEW);
    assert_true(c.layer_norm_eps == 1e-5f && !c.tie_word_embeddings && c.causal);
    config_ok("{\"model_type\": \"codegen\", \"n_embd\": 32, \"n_head\": 1, \"rotary_dim\": null}",
              &c);
    assert_int_equal(c.rotary_dims, 32); /* hidden_size dimensions: a whole head alone */
    config_refused("{\"model_type\": \"codegen\", \"n_embd\": 30, \"n_head\": 2}",
                   "n_embd 30 is not a multiple of 4 (codegen)");
    config_refused("{\"model_type\": \"codegen\", \"n_embd\": 32, \"n_head\": 2, "
                   "\"rotary_dim\": null}", "exceeds the head size 16");
    config_refused("{\"model_type\": \"codegen\", \"n_embd\": 32, \"n_head\": 3}",
                   "n_head 3 does not divide n_embd 32");
}

static void test_persimmon(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"persimmon\"}", &c);
    /* PersimmonConfig: Persimmon-8B's sizes, relu2, qk_layernorm, half of each head rotated,
     * theta 10000 */
    assert_true(c.hidden_size == 4096 && c.num_layers == 36 && c.num_heads == 64);
    assert_true(c.head_dim == 64 && c.intermediate_size == 16384 && c.vocab_size == 262144);
    assert_true(c.max_positions == 16384 && c.rotary_dims == 32 && c.rope.theta == 10000.0);
    assert_true(c.act == MHV_ACT_RELU2 && c.qk_norm == MHV_QK_NORM_HEAD);
    assert_true(c.layer_norm_eps == 1e-5f && !c.tie_word_embeddings && c.attn_bias);
    config_ok("{\"model_type\": \"persimmon\", \"hidden_size\": 32, \"num_attention_heads\": 4, "
              "\"qk_layernorm\": false, \"partial_rotary_factor\": 0.25, \"rope_theta\": 25000}",
              &c);
    assert_true(c.qk_norm == MHV_QK_NORM_NONE && c.rotary_dims == 2 && c.rope.theta == 25000.0);
    config_refused("{\"model_type\": \"persimmon\", \"hidden_size\": 32, "
                   "\"num_attention_heads\": 3}", "num_attention_heads 3 does not divide");
    config_refused("{\"model_type\": \"persimmon\", \"hidden_size\": 32, "
                   "\"num_attention_heads\": 4, \"partial_rotary_factor\": 0.1}",
                   "gives 0 rotated dimensions");
}

static void test_jetmoe(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"jetmoe\"}", &c);
    /* JetMoeConfig: JetMoE-8B's sizes, 16 kv heads of 128, 8 experts top 2: 32 heads */
    assert_true(c.hidden_size == 2048 && c.num_layers == 12 && c.num_kv_heads == 16);
    assert_true(c.head_dim == 128 && c.num_heads == 32 && c.intermediate_size == 5632);
    assert_true(c.vocab_size == 32000 && c.max_positions == 4096 && c.num_experts == 8);
    assert_true(c.experts_per_tok == 2 && c.act == MHV_ACT_SILU && c.tie_word_embeddings);
    assert_true(c.layer_norm_eps == 1e-6f && c.rope.theta == 10000.0);
    assert_true(c.kv_heads && c.kv_tiled); /* head h reads kv head h % 16 */
    /* num_attention_heads is JetMoeConfig's own product; head_dim is kv_channels */
    config_ok("{\"model_type\": \"jetmoe\", \"num_attention_heads\": 5, \"head_dim\": 8, "
              "\"num_key_value_heads\": 3, \"num_experts_per_tok\": 4, \"rms_norm_eps\": 1e-3}",
              &c);
    assert_true(c.num_heads == 12 && c.head_dim == 8 && c.layer_norm_eps == 1e-3f);
    config_refused("{\"model_type\": \"jetmoe\", \"num_experts_per_tok\": 9}",
                   "num_experts_per_tok 9 exceeds the 8 experts");
    config_refused("{\"model_type\": \"jetmoe\", \"kv_channels\": 7}", "kv_channels 7 is odd");
}

/* The llama family's rms_norm_eps when config.json omits it: each config class's default
 * (1e-5 for Phi-3, OLMo 2 and Mixtral, 1e-6 for the others). */
static void test_llama_eps_defaults(void **state)
{
    (void)state;
    static const struct { const char *type; float eps; } want[] = {
        {"llama", 1e-6f}, {"mistral", 1e-6f}, {"qwen2", 1e-6f}, {"phi3", 1e-5f},
        {"olmo2", 1e-5f}, {"mixtral", 1e-5f}, {"qwen3_moe", 1e-6f}, {"granite", 1e-6f},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char json[512];
        snprintf(json, sizeof json,
                 "{\"model_type\": \"%s\", \"hidden_size\": 32, \"num_hidden_layers\": 2, "
                 "\"num_attention_heads\": 4, \"intermediate_size\": 48, \"vocab_size\": 100, "
                 "\"max_position_embeddings\": 64}", want[i].type);
        mhv_config c;
        config_ok(json, &c);
        if (c.layer_norm_eps != want[i].eps)
            fail_msg("%s: rms_norm_eps %g, want %g", want[i].type, (double)c.layer_norm_eps,
                     (double)want[i].eps);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_olmoe),
        cmocka_unit_test(test_glm),
        cmocka_unit_test(test_helium),
        cmocka_unit_test(test_nemotron),
        cmocka_unit_test(test_cohere2),
        cmocka_unit_test(test_exaone4),
        cmocka_unit_test(test_phimoe),
        cmocka_unit_test(test_codegen),
        cmocka_unit_test(test_persimmon),
        cmocka_unit_test(test_jetmoe),
        cmocka_unit_test(test_llama_eps_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
