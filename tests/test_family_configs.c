/* config.json of the decoder families Qwen3, Phi-3, OLMo 2, Gemma 1-3, Mixtral, Qwen2-MoE and
 * Qwen3-MoE: the defaults of their transformers config classes, both generations of field
 * names (rope_theta / rope_parameters, num_experts / num_local_experts), and what is refused
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

/* The sizes every config here shares: 6 layers, 4 heads of 8 (hidden 32). */
#define SIZES                                                                                  \
    "\"hidden_size\": 32, \"num_hidden_layers\": 6, \"num_attention_heads\": 4, "              \
    "\"intermediate_size\": 48, \"vocab_size\": 100"

static int slides(const mhv_config *c, int l)
{
    return mhv_config_layer_slides(c, l);
}

static void test_qwen3(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"qwen3\", " SIZES "}", &c);
    assert_string_equal(c.arch, "qwen3");
    assert_int_equal(c.head_dim, 128); /* Qwen3Config's default, not hidden / heads */
    assert_int_equal(c.qk_norm, MHV_QK_NORM_HEAD);
    assert_int_equal(c.attn_bias, 0);
    assert_int_equal(c.sliding_window, 0);
    config_ok("{\"model_type\": \"qwen3\", " SIZES ", \"head_dim\": 16, \"attention_bias\": true, "
       "\"use_sliding_window\": true, \"sliding_window\": 7, \"max_window_layers\": 4}",
       &c);
    assert_int_equal(c.head_dim, 16);
    assert_true(c.attn_bias && c.attn_out_bias);
    assert_true(!slides(&c, 3) && slides(&c, 4) && slides(&c, 5));
    assert_int_equal(c.sliding_window, 7);
}

static void test_phi3(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"phi3\", " SIZES "}", &c);
    assert_int_equal(c.head_dim, 8);
    assert_int_equal(c.rotary_dims, 0);
    assert_int_equal(c.sliding_window, 0);
    /* earlier files: partial_rotary_factor beside rope_scaling (Phi-4-mini) */
    config_ok("{\"model_type\": \"phi3\", " SIZES ", \"partial_rotary_factor\": 0.5, "
       "\"rope_scaling\": null, \"sliding_window\": 2047}", &c);
    assert_int_equal(c.rotary_dims, 4);
    assert_int_equal(c.sliding_window, 2047);
    assert_true(slides(&c, 0) && slides(&c, 5));
    config_ok("{\"model_type\": \"phi3\", " SIZES ", \"rope_parameters\": {\"rope_type\": \"default\", "
       "\"rope_theta\": 250000.0, \"partial_rotary_factor\": 0.75}}", &c);
    assert_int_equal(c.rotary_dims, 6);
    assert_true(fabs(c.rope.theta - 250000.0) < 1e-9);
    /* longrope (earlier files: rope_scaling type su beside rope_theta): factors per pair,
     * attention factor from max_position_embeddings / original_max_position_embeddings */
    config_ok("{\"model_type\": \"phi3\", " SIZES ", \"max_position_embeddings\": 131072, "
       "\"original_max_position_embeddings\": 4096, \"rope_theta\": 500.0, "
       "\"rope_scaling\": {\"type\": \"su\", \"short_factor\": [1, 1.5, 2, 3], "
       "\"long_factor\": [2, 4, 8, 16]}}", &c);
    assert_true(c.longrope && c.longrope_original == 4096);
    assert_true(c.rope.kind == MHV_ROPE_NONE && fabs(c.rope.theta - 500) < 1e-9);
    assert_true(c.longrope_short[1] == 1.5f && c.longrope_long[3] == 16.0f);
    assert_true(fabs(c.longrope_attention - sqrt(1 + log(32.0) / log(4096.0))) < 1e-12);
    config_ok("{\"model_type\": \"phi3\", " SIZES ", \"rope_parameters\": {\"rope_type\": "
       "\"longrope\", \"partial_rotary_factor\": 0.5, \"attention_factor\": 1.25, "
       "\"short_factor\": [1, 1], \"long_factor\": [2, 2]}}", &c);
    assert_true(c.longrope && c.rotary_dims == 4 && c.longrope_attention == 1.25);
    config_refused("{\"model_type\": \"phi3\", " SIZES ", \"rope_scaling\": {\"type\": \"longrope\", "
            "\"short_factor\": [1, 1, 1], \"long_factor\": [2, 2, 2, 2]}}",
            "short_factor must be a list of 4 numbers");
    config_refused("{\"model_type\": \"phi3\", " SIZES ", \"rope_scaling\": {\"type\": \"su\"}}",
            "short_factor must be a list of 4 numbers");
    config_refused("{\"model_type\": \"phi3\", " SIZES ", \"rope_scaling\": {\"type\": \"dynamic\", "
            "\"factor\": 2.0}}",
            "unsupported rope scaling type 'dynamic' (Phi-3: default or longrope)");
    config_refused("{\"model_type\": \"phi3\", " SIZES ", \"partial_rotary_factor\": 0.375}",
            "partial_rotary_factor 0.375 gives 3 rotated dimensions");
    /* the dense llama rows still refuse partial rotary */
    config_refused("{\"model_type\": \"llama\", " SIZES ", \"rope_parameters\": {\"rope_type\": "
            "\"default\", \"partial_rotary_factor\": 0.5}}",
            "unsupported partial_rotary_factor 0.5");
}

static void test_olmo2(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"olmo2\", " SIZES ", \"num_key_value_heads\": 2}", &c);
    assert_int_equal(c.qk_norm, MHV_QK_NORM_FULL);
    assert_int_equal(c.num_kv_heads, 2);
    assert_int_equal(c.max_positions, 2048);
}

static void test_gemma(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"gemma\", " SIZES ", \"num_key_value_heads\": 4}", &c);
    assert_int_equal(c.head_dim, 256);
    assert_true(c.tie_word_embeddings);
    assert_int_equal(c.act, MHV_ACT_GELU_NEW);
    assert_true(c.attn_scale == 0 && c.attn_softcap == 0 && c.final_softcap == 0);
    assert_int_equal(c.sliding_window, 0);
    /* GemmaConfig: "gelu" is the released files' name of the tanh form */
    config_ok("{\"model_type\": \"gemma\", " SIZES ", \"num_key_value_heads\": 4, \"hidden_act\": \"gelu\"}", &c);
    assert_int_equal(c.act, MHV_ACT_GELU_NEW);
    config_ok("{\"model_type\": \"gemma\", " SIZES ", \"num_key_value_heads\": 4, \"hidden_act\": \"relu\"}", &c);
    assert_int_equal(c.act, MHV_ACT_RELU);
    config_refused("{\"model_type\": \"gemma\", " SIZES ", \"num_key_value_heads\": 4, \"use_bidirectional_attention\": true}",
            "use_bidirectional_attention is not supported");
}

static void test_gemma2(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"gemma2\", " SIZES "}", &c);
    assert_true(fabsf(c.attn_softcap - 50.0f) < 1e-6f && fabsf(c.final_softcap - 30.0f) < 1e-6f);
    assert_true(fabs(c.attn_scale - 1.0 / 16) < 1e-12); /* 256**-0.5 */
    assert_int_equal(c.sliding_window, 4096);
    for (int l = 0; l < 6; l++) /* layer 0 slides, 1 does not, ... */
        assert_int_equal(slides(&c, l), l % 2 == 0);
    config_ok("{\"model_type\": \"gemma2\", " SIZES ", \"attn_logit_softcapping\": null, "
       "\"final_logit_softcapping\": null, \"query_pre_attn_scalar\": 224, "
       "\"layer_types\": [\"full_attention\", \"full_attention\", \"sliding_attention\", "
       "\"full_attention\", \"full_attention\", \"full_attention\"], \"sliding_window\": 9}",
       &c);
    assert_true(c.attn_softcap == 0 && c.final_softcap == 0);
    assert_true(fabs(c.attn_scale - pow(224, -0.5)) < 1e-12);
    for (int l = 0; l < 6; l++)
        assert_int_equal(slides(&c, l), l == 2);
    config_refused("{\"model_type\": \"gemma2\", " SIZES ", \"layer_types\": [\"full_attention\"]}",
            "layer_types");
    config_refused("{\"model_type\": \"gemma2\", " SIZES ", \"layer_types\": [\"chunked_attention\", "
            "\"full_attention\", \"full_attention\", \"full_attention\", \"full_attention\", "
            "\"full_attention\"]}",
            "unsupported layer type 'chunked_attention'");
    config_refused("{\"model_type\": \"gemma2\", " SIZES ", \"sliding_window\": null}",
            "sliding_window null");
}

static void test_gemma3(void **state)
{
    (void)state;
    mhv_config c;
    /* earlier files (gemma-3-1b): rope_theta, rope_local_base_freq, sliding_window_pattern */
    config_ok("{\"model_type\": \"gemma3_text\", " SIZES ", \"rope_theta\": 1000000.0, "
       "\"rope_local_base_freq\": 10000.0, \"rope_scaling\": null, \"sliding_window\": 512, "
       "\"sliding_window_pattern\": 3}", &c);
    assert_int_equal(c.qk_norm, MHV_QK_NORM_HEAD);
    assert_true(c.two_ropes);
    assert_true(fabs(c.rope.theta - 1e6) < 1e-6 && fabs(c.rope_local.theta - 1e4) < 1e-6);
    assert_int_equal(c.rope.kind, MHV_ROPE_NONE);
    for (int l = 0; l < 6; l++) /* (l + 1) % 3 != 0 slides */
        assert_int_equal(slides(&c, l), (l + 1) % 3 != 0);
    config_ok("{\"model_type\": \"gemma3_text\", " SIZES "}", &c);
    for (int l = 0; l < 6; l++) /* the default pattern, 6 */
        assert_int_equal(slides(&c, l), l != 5);
    assert_true(fabs(c.rope.theta - 1e6) < 1e-6 && fabs(c.rope_local.theta - 1e4) < 1e-6);
    config_ok("{\"model_type\": \"gemma3_text\", " SIZES ", \"rope_theta\": 500000.0, "
       "\"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 8.0}}", &c);
    assert_int_equal(c.rope.kind, MHV_ROPE_LINEAR);
    assert_true(fabs(c.rope.factor - 8) < 1e-12 && fabs(c.rope.theta - 5e5) < 1e-6);
    assert_int_equal(c.rope_local.kind, MHV_ROPE_NONE);
    /* transformers 5: rope_parameters per layer type */
    config_ok("{\"model_type\": \"gemma3_text\", " SIZES ", \"rope_parameters\": {\"full_attention\": "
       "{\"rope_type\": \"linear\", \"factor\": 4.0, \"rope_theta\": 20000.0}, "
       "\"sliding_attention\": {\"rope_type\": \"default\", \"rope_theta\": 30.0}}}", &c);
    assert_true(c.rope.kind == MHV_ROPE_LINEAR && fabs(c.rope.theta - 2e4) < 1e-6);
    assert_true(c.rope_local.kind == MHV_ROPE_NONE && fabs(c.rope_local.theta - 30) < 1e-9);
    config_refused("{\"model_type\": \"gemma3_text\", " SIZES ", \"rope_parameters\": {"
            "\"full_attention\": {\"rope_type\": \"longrope\", \"factor\": 4.0}}}",
            "unsupported rope scaling type 'longrope'");
    /* yarn per layer type: truncate true whatever the entry says (transformers reads it from
     * the whole rope_parameters), the original context from max_position_embeddings */
    config_ok("{\"model_type\": \"gemma3_text\", " SIZES ", \"max_position_embeddings\": 4096, "
       "\"rope_parameters\": {\"full_attention\": {\"rope_type\": \"yarn\", \"factor\": 8.0, "
       "\"truncate\": false}, \"sliding_attention\": {\"rope_type\": \"default\"}}}", &c);
    assert_true(c.rope.kind == MHV_ROPE_YARN && c.rope.truncate == 1);
    assert_int_equal(c.rope.original_max_positions, 4096);
    config_refused("{\"model_type\": \"gemma3_text\", " SIZES ", \"rope_scaling\": {\"rope_type\": "
            "\"yarn\", \"factor\": 8.0}}",
            "original_max_position_embeddings");
    /* dynamic NTK: the default frequencies up to max_position_embeddings */
    config_ok("{\"model_type\": \"gemma3_text\", " SIZES ", \"rope_scaling\": {\"rope_type\": "
       "\"dynamic\", \"factor\": 2.0}}", &c);
    assert_int_equal(c.rope.kind, MHV_ROPE_NONE);
    config_refused("{\"model_type\": \"gemma3_text\", " SIZES ", \"rope_scaling\": {\"rope_type\": "
            "\"dynamic\"}}",
            "factor");
    config_refused("{\"model_type\": \"gemma3_text\", " SIZES ", \"attn_logit_softcapping\": 50.0}",
            "attn_logit_softcapping is not supported");
    /* EmbeddingGemma: bidirectional, sliding layers see sliding_window // 2 + 1 each way */
    config_ok("{\"model_type\": \"gemma3_text\", " SIZES ", \"use_bidirectional_attention\": true, "
       "\"sliding_window\": 512}", &c);
    assert_int_equal(c.causal, 0);
    assert_int_equal(c.sliding_window, 257);
    config_refused("{\"model_type\": \"gemma2\", " SIZES ", \"use_bidirectional_attention\": true}",
            "use_bidirectional_attention is not supported for gemma2");
}

/* Gemma 3 with vision (gemma-3-4b-it's fields): the text model from text_config, the rest at
 * Gemma3TextConfig's defaults */
static void test_gemma3_vision(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"architectures\": [\"Gemma3ForConditionalGeneration\"], \"model_type\": \"gemma3\", "
       "\"boi_token_index\": 255999, \"mm_tokens_per_image\": 256, \"text_config\": {"
       "\"hidden_size\": 2560, \"intermediate_size\": 10240, \"model_type\": \"gemma3_text\", "
       "\"num_hidden_layers\": 34, \"rope_scaling\": {\"factor\": 8.0, \"rope_type\": "
       "\"linear\"}, \"sliding_window\": 1024}, \"vision_config\": {\"hidden_size\": 1152, "
       "\"model_type\": \"siglip_vision_model\"}}", &c);
    assert_string_equal(c.arch, "gemma3");
    assert_true(c.hidden_size == 2560 && c.num_layers == 34 && c.intermediate_size == 10240);
    assert_true(c.num_heads == 8 && c.num_kv_heads == 4 && c.head_dim == 256);
    assert_int_equal(c.vocab_size, 262208);
    assert_true(c.tie_word_embeddings);
    assert_true(c.rope.kind == MHV_ROPE_LINEAR && fabs(c.rope.factor - 8) < 1e-12);
    assert_true(fabs(c.rope.theta - 1e6) < 1e-6 && fabs(c.rope_local.theta - 1e4) < 1e-6);
    assert_int_equal(c.sliding_window, 1024);
    for (int l = 0; l < 34; l++)
        assert_int_equal(slides(&c, l), (l + 1) % 6 != 0);
    config_refused("{\"model_type\": \"gemma3\"}", "text_config");
    config_refused("{\"model_type\": \"gemma3\", \"text_config\": {\"model_type\": \"gemma2\"}}",
            "unsupported text_config model_type 'gemma2'");
}

static int moe_layer(const mhv_config *c, int l)
{
    return (c->moe_layers[l / 8] >> (l % 8)) & 1;
}

static void test_moe(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"mixtral\", " SIZES "}", &c);
    assert_true(c.num_experts == 8 && c.experts_per_tok == 2 && c.norm_topk_prob);
    assert_int_equal(c.moe_intermediate_size, 48);
    assert_int_equal(c.sliding_window, 0);
    for (int l = 0; l < 6; l++)
        assert_true(moe_layer(&c, l));
    config_refused("{\"model_type\": \"mixtral\", " SIZES ", \"num_local_experts\": 2, "
            "\"num_experts_per_tok\": 3}",
            "num_experts_per_tok 3 exceeds the 2 experts");

    /* Qwen1.5-MoE's file names num_experts; decoder_sparse_step and mlp_only_layers pick
     * the dense layers */
    config_ok("{\"model_type\": \"qwen2_moe\", " SIZES ", \"num_experts\": 6, "
       "\"decoder_sparse_step\": 2, \"mlp_only_layers\": [3]}", &c);
    assert_true(c.num_experts == 6 && c.experts_per_tok == 4 && !c.norm_topk_prob);
    assert_true(c.moe_intermediate_size == 1408 && c.shared_expert_size == 5632);
    assert_true(c.attn_bias && !c.attn_out_bias); /* qkv_bias, default true */
    for (int l = 0; l < 6; l++)
        assert_int_equal(moe_layer(&c, l), l == 1 || l == 5);
    config_ok("{\"model_type\": \"qwen2_moe\", " SIZES ", \"qkv_bias\": false, "
       "\"use_sliding_window\": true, \"sliding_window\": 5, \"max_window_layers\": 3}", &c);
    assert_int_equal(c.attn_bias, 0);
    for (int l = 0; l < 6; l++) /* Qwen2MoeConfig: the even layers below max_window_layers */
        assert_int_equal(slides(&c, l), l == 0 || l == 2);
    config_refused("{\"model_type\": \"qwen2_moe\", " SIZES ", \"layer_types\": [\"sliding_attention\","
            " \"full_attention\", \"full_attention\", \"full_attention\", \"full_attention\", "
            "\"full_attention\"]}",
            "sliding layers without use_sliding_window");

    config_ok("{\"model_type\": \"qwen3_moe\", " SIZES ", \"num_local_experts\": 16, "
       "\"norm_topk_prob\": true, \"use_sliding_window\": true}", &c);
    assert_true(c.num_experts == 16 && c.experts_per_tok == 8 && c.norm_topk_prob);
    assert_true(c.moe_intermediate_size == 768 && c.shared_expert_size == 0);
    assert_int_equal(c.qk_norm, MHV_QK_NORM_HEAD);
    assert_int_equal(c.sliding_window, 4096); /* every layer, max_window_layers unused */
    assert_true(slides(&c, 0) && slides(&c, 5));
    config_ok("{\"model_type\": \"qwen3_moe\", " SIZES ", \"num_experts\": 0}", &c);
    for (int l = 0; l < 6; l++) /* no experts: every layer dense */
        assert_false(moe_layer(&c, l));
}

static void test_granite(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"granite\", " SIZES "}", &c);
    assert_string_equal(c.arch, "granite");
    /* GraniteConfig's multipliers default to 1: Llama's arithmetic but for the score scale */
    assert_true(c.embed_scale == 1.0 && c.attn_scale == 1.0 && c.residual_scale == 1.0);
    assert_true(c.logits_div == 1.0);
    assert_true(c.head_dim == 8 && !c.tie_word_embeddings && !c.attn_bias && !c.mlp_bias);
    config_ok("{\"model_type\": \"granite\", " SIZES ", \"embedding_multiplier\": 12, "
       "\"attention_multiplier\": 0.0078125, \"residual_multiplier\": 0.22, "
       "\"logits_scaling\": 8.0, \"attention_bias\": true, \"mlp_bias\": true}", &c);
    assert_true(c.embed_scale == 12.0 && c.attn_scale == 0.0078125);
    assert_true(c.residual_scale == 0.22 && c.logits_div == 8.0);
    assert_true(c.attn_bias && c.attn_out_bias && c.mlp_bias);
    config_refused("{\"model_type\": \"granite\", " SIZES ", \"logits_scaling\": 0}",
            "logits_scaling");
    config_refused("{\"model_type\": \"granite\", " SIZES ", \"residual_multiplier\": -1}",
            "residual_multiplier");
    config_refused("{\"model_type\": \"granite\", " SIZES ", \"rope_parameters\": "
            "{\"rope_type\": \"longrope\", \"factor\": 2}}",
            "unsupported rope scaling type 'longrope'");
    /* Llama's own configs keep no multipliers */
    config_ok("{\"model_type\": \"llama\", " SIZES "}", &c);
    assert_true(c.embed_scale == 0 && c.attn_scale == 0 && c.residual_scale == 0);
    assert_true(c.logits_div == 0);
}

static void test_olmo(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"olmo\", " SIZES "}", &c);
    assert_string_equal(c.arch, "olmo");
    assert_true(c.clip_qkv == 0 && !c.attn_bias && !c.tie_word_embeddings);
    assert_true(c.head_dim == 8 && c.num_kv_heads == 4 && c.max_positions == 2048);
    assert_true(c.layer_norm_eps == 1e-5f); /* OlmoLayerNorm's eps, whatever the file says */
    config_ok("{\"model_type\": \"olmo\", " SIZES ", \"clip_qkv\": 8.0, \"attention_bias\": true, "
       "\"num_key_value_heads\": 2, \"layer_norm_eps\": 0.1}", &c);
    assert_true(c.clip_qkv == 8.0 && c.attn_bias && c.attn_out_bias && c.num_kv_heads == 2);
    assert_true(c.layer_norm_eps == 1e-5f);
    config_ok("{\"model_type\": \"olmo\", " SIZES ", \"clip_qkv\": null}", &c);
    assert_true(c.clip_qkv == 0);
    config_refused("{\"model_type\": \"olmo\", " SIZES ", \"clip_qkv\": 0}", "clip_qkv");
    config_refused("{\"model_type\": \"olmo\", " SIZES ", \"num_key_value_heads\": 3}",
            "num_key_value_heads 3 does not divide");
    config_refused("{\"model_type\": \"olmo\", " SIZES ", \"rope_scaling\": "
            "{\"type\": \"longrope\", \"factor\": 2}}",
            "unsupported rope scaling type 'longrope'");
}

static void test_stablelm(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"stablelm\", " SIZES ", \"num_key_value_heads\": 4}", &c);
    assert_string_equal(c.arch, "stablelm");
    assert_int_equal(c.rotary_dims, 2); /* int(8 x 0.25), StableLmConfig's default factor */
    assert_true(!c.parallel_residual && !c.qk_norm && !c.attn_bias && !c.tie_word_embeddings);
    assert_true(c.layer_norm_eps == 1e-5f && c.rope.theta == 10000.0);
    config_ok("{\"model_type\": \"stablelm\", " SIZES ", \"num_key_value_heads\": 2, "
       "\"use_parallel_residual\": true, \"qk_layernorm\": true, \"use_qkv_bias\": true, "
       "\"partial_rotary_factor\": 0.5, \"rope_theta\": 500}", &c);
    assert_true(c.parallel_residual && c.qk_norm == MHV_QK_NORM_HEAD && c.attn_bias);
    assert_true(c.rotary_dims == 4 && c.rope.theta == 500.0 && c.num_kv_heads == 2);
    config_ok("{\"model_type\": \"stablelm\", " SIZES ", \"num_key_value_heads\": 4, "
       "\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 100, "
       "\"partial_rotary_factor\": 1.0}}", &c);
    assert_true(c.rotary_dims == 8 && c.rope.theta == 100.0);
    /* StableLmConfig's num_key_value_heads defaults to 32, not to the heads */
    config_refused("{\"model_type\": \"stablelm\", " SIZES "}",
            "num_key_value_heads 32 does not divide num_attention_heads 4");
    config_refused("{\"model_type\": \"stablelm\", " SIZES ", \"num_key_value_heads\": 4, "
            "\"head_dim\": 16}",
            "head_dim 16 other than hidden_size / num_attention_heads (8) is not supported");
    config_refused("{\"model_type\": \"stablelm\", " SIZES ", \"num_key_value_heads\": 4, "
            "\"partial_rotary_factor\": 0.375}",
            "rotary dimensions 3");
    config_refused("{\"model_type\": \"stablelm\", " SIZES ", \"num_key_value_heads\": 4, "
            "\"rope_scaling\": {\"type\": \"longrope\", \"factor\": 2}}",
            "unsupported rope scaling type 'longrope'");
}

static void test_cohere(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"cohere\", " SIZES "}", &c);
    assert_string_equal(c.arch, "cohere");
    /* CohereConfig: tied, logit_scale 0.0625, theta 500000, no q/k norms or biases */
    assert_true(c.tie_word_embeddings && c.logits_mul == 0.0625 && c.rope.theta == 500000.0);
    assert_true(!c.qk_norm && !c.attn_bias && c.parallel_residual && c.head_dim == 8);
    config_ok("{\"model_type\": \"cohere\", " SIZES ", \"rope_theta\": 8000000.0, "
       "\"logit_scale\": 0.125, \"use_qk_norm\": true, \"attention_bias\": true, "
       "\"tie_word_embeddings\": false, \"num_key_value_heads\": 2}", &c);
    assert_true(c.rope.theta == 8000000.0 && c.logits_mul == 0.125);
    assert_true(c.qk_norm == MHV_QK_NORM_HEAD && c.attn_bias && c.attn_out_bias);
    assert_true(!c.tie_word_embeddings && c.num_kv_heads == 2);
    config_ok("{\"model_type\": \"cohere\", " SIZES ", \"rope_parameters\": {\"rope_type\": "
       "\"default\", \"rope_theta\": 75.0}}", &c);
    assert_true(c.rope.theta == 75.0);
    config_refused("{\"model_type\": \"cohere\", " SIZES ", \"logit_scale\": null}",
            "logit_scale null is not supported");
    config_refused("{\"model_type\": \"cohere\", " SIZES ", \"logit_scale\": 0}", "logit_scale");
    config_refused("{\"model_type\": \"cohere\", " SIZES ", \"rope_parameters\": {\"rope_type\": "
            "\"longrope\", \"factor\": 2.0}}",
            "unsupported rope scaling type 'longrope'");
}

static void test_gpt_oss(void **state)
{
    (void)state;
    mhv_config c;
    /* GptOssConfig's defaults: head_dim 64 whatever the width, YaRN over theta 150000,
     * sliding (128) on even layers, 128 experts top 4, the clamped SwiGLU's constants */
    config_ok("{\"model_type\": \"gpt_oss\", " SIZES ", \"num_key_value_heads\": 2}", &c);
    assert_int_equal(c.head_dim, 64);
    assert_int_equal(c.num_kv_heads, 2);
    config_refused("{\"model_type\": \"gpt_oss\", " SIZES "}", "num_key_value_heads 8 does not divide");
    assert_true(c.rope.kind == MHV_ROPE_YARN && c.rope.theta == 150000.0);
    assert_true(c.rope.factor == 32 && c.rope.original_max_positions == 4096);
    assert_true(c.rope.beta_fast == 32 && c.rope.beta_slow == 1 && c.rope.truncate == 0);
    assert_true(fabs(c.rope.attention - (0.1 * log(32.0) + 1)) < 1e-15);
    assert_int_equal(c.sliding_window, 128);
    assert_true(mhv_config_layer_slides(&c, 0) && !mhv_config_layer_slides(&c, 1));
    assert_true(mhv_config_layer_slides(&c, 4) && !mhv_config_layer_slides(&c, 5));
    assert_true(c.num_experts == 128 && c.experts_per_tok == 4);
    assert_true(c.swiglu_alpha == 1.702 && c.swiglu_limit == 7.0);
    assert_true(c.attn_bias && c.attn_out_bias && !c.tie_word_embeddings);
    /* rope_theta beside a given rope_parameters; the older num_experts spelling */
    config_ok("{\"model_type\": \"gpt_oss\", \"num_key_value_heads\": 1, " SIZES ", \"rope_theta\": 500, \"num_experts\": 6,"
       " \"rope_parameters\": {\"rope_type\": \"default\"}}", &c);
    assert_true(c.rope.kind == MHV_ROPE_NONE && c.rope.theta == 500.0);
    assert_int_equal(c.num_experts, 6);
#define OSS "{\"model_type\": \"gpt_oss\", \"num_key_value_heads\": 2, " SIZES
    config_refused(OSS ", \"quantization_config\": {\"quant_method\": \"gptq\"}}",
            "quantization_config (gptq) is not supported (only mxfp4)");
    config_ok(OSS ", \"quantization_config\": {\"quant_method\": \"mxfp4\"}}", &c);
    config_refused(OSS ", \"sliding_window\": null}",
            "sliding_window null");
    config_refused(OSS ", \"layer_types\": [\"full_attention\"]}",
            "not a list of 6 names");
    config_ok(OSS "}", &c); /* GptOssConfig: sliding, full, sliding, ... */
    for (int l = 0; l < 6; l++)
        assert_int_equal(slides(&c, l), l % 2 == 0);
    config_ok(OSS ", \"layer_types\": [\"full_attention\", \"sliding_attention\", "
              "\"full_attention\", \"full_attention\", \"full_attention\", \"sliding_attention\"]}", &c);
    for (int l = 0; l < 6; l++)
        assert_int_equal(slides(&c, l), l == 1 || l == 5);
    config_refused(OSS ", \"layer_types\": [\"full_attention\", \"chunked_attention\", "
              "\"full_attention\", \"full_attention\", \"full_attention\", \"full_attention\"]}",
              "unsupported layer type 'chunked_attention'");
    config_refused(OSS ", \"num_experts_per_tok\": 20, \"num_local_experts\": 10}",
            "num_experts_per_tok 20 exceeds the 10 experts");
#undef OSS
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qwen3),  cmocka_unit_test(test_phi3),
        cmocka_unit_test(test_olmo2),  cmocka_unit_test(test_gemma),
        cmocka_unit_test(test_gemma2), cmocka_unit_test(test_gemma3),
        cmocka_unit_test(test_gemma3_vision),
        cmocka_unit_test(test_moe),
        cmocka_unit_test(test_granite), cmocka_unit_test(test_olmo),
        cmocka_unit_test(test_stablelm), cmocka_unit_test(test_cohere),
        cmocka_unit_test(test_gpt_oss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
