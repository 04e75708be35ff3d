/* config.json of OLMo 3, VaultGemma, Ministral, Ministral 3, Seed-OSS, Arcee, ERNIE 4.5,
 * HunYuan dense, Apertus, Granite MoE (shared), GLM-4-MoE, dots1, ERNIE 4.5 MoE and
 * DeepSeek-V2/V3: the
 * defaults of their transformers config classes and what is refused by name rather than
 * approximated. The forward passes are checked against transformers by
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

/* the sizes Llama's readers require, for model_type t */
#define SIZES(t)                                                                               \
    "{\"model_type\": \"" t "\", \"hidden_size\": 32, \"num_hidden_layers\": 4, "              \
    "\"num_attention_heads\": 4, \"intermediate_size\": 48, \"vocab_size\": 100"

static int slides(const mhv_config *c, int l)
{
    return mhv_config_layer_slides(c, l);
}

static void test_olmo3(void **state)
{
    (void)state;
    mhv_config c;
    config_ok(SIZES("olmo3") "}", &c);
    /* Olmo3Config: all but every fourth layer slide, window 4096, theta 500000 on both */
    assert_true(slides(&c, 0) && slides(&c, 1) && slides(&c, 2) && !slides(&c, 3));
    assert_true(c.sliding_window == 4096 && c.two_ropes && c.qk_norm == MHV_QK_NORM_FULL);
    assert_true(c.rope.theta == 500000.0 && c.rope_local.theta == 500000.0);
    assert_true(c.rope.kind == MHV_ROPE_NONE && c.rope_local.kind == MHV_ROPE_NONE);
    assert_true(c.layer_norm_eps == 1e-5f && !c.tie_word_embeddings && !c.attn_bias);
    assert_true(c.max_positions == 2048 && c.num_kv_heads == 4 && c.causal);
    /* rope_scaling and rope_theta go to the full layers only (transformers pops rope_theta
     * for them: the sliding ones keep default_theta) */
    config_ok(SIZES("olmo3") ", \"rope_theta\": 1000, \"rope_scaling\": {\"rope_type\": "
              "\"linear\", \"factor\": 2}, \"sliding_window\": 7}", &c);
    assert_true(c.rope.kind == MHV_ROPE_LINEAR && c.rope.factor == 2.0);
    assert_true(c.rope_local.kind == MHV_ROPE_NONE && c.rope_local.theta == 500000.0);
    assert_true(c.rope.theta == 1000.0 && c.sliding_window == 7);
    config_ok(SIZES("olmo3") ", \"layer_types\": [\"full_attention\", \"sliding_attention\", "
              "\"full_attention\", \"full_attention\"], \"rope_parameters\": "
              "{\"full_attention\": {\"rope_type\": \"yarn\", \"factor\": 4, "
              "\"original_max_position_embeddings\": 16, \"rope_theta\": 1e4}, "
              "\"sliding_attention\": {\"rope_type\": \"default\", \"rope_theta\": 50}}}", &c);
    assert_true(!slides(&c, 0) && slides(&c, 1) && !slides(&c, 2) && !slides(&c, 3));
    assert_true(c.rope.kind == MHV_ROPE_YARN && c.rope.truncate && c.rope_local.theta == 50.0);
    config_refused(SIZES("olmo3") ", \"sliding_window\": null}",
                   "sliding_window null is not supported for olmo3");
    config_refused(SIZES("olmo3") ", \"rope_parameters\": {\"rope_type\": \"default\"}}",
                   "without full_attention/sliding_attention");
    config_refused(SIZES("olmo3") ", \"rope_parameters\": {\"full_attention\": {\"rope_type\": "
                   "\"longrope\"}}}", "longrope");
    config_refused(SIZES("olmo3") ", \"layer_types\": [\"full_attention\"]}", "layer_types");
    config_refused(SIZES("olmo3") ", \"layer_types\": [\"chunked_attention\", "
                   "\"full_attention\", \"full_attention\", \"full_attention\"]}",
                   "unsupported layer type 'chunked_attention'");
}

static void test_vaultgemma(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"vaultgemma\"}", &c);
    /* VaultGemmaConfig: Gemma 2's sizes and soft-capping, every other layer sliding */
    assert_true(c.hidden_size == 2304 && c.num_layers == 26 && c.num_heads == 8);
    assert_true(c.num_kv_heads == 4 && c.head_dim == 256 && c.intermediate_size == 9216);
    assert_true(c.vocab_size == 256000 && c.max_positions == 8192);
    assert_true(c.attn_softcap == 50.0f && c.final_softcap == 30.0f && c.sliding_window == 4096);
    assert_true(slides(&c, 0) && !slides(&c, 1) && slides(&c, 24) && !slides(&c, 25));
    assert_true(c.tie_word_embeddings && c.act == MHV_ACT_GELU_NEW && c.causal);
    assert_true(fabs(c.attn_scale - 1.0 / 16.0) < 1e-12);
    /* no use_bidirectional_attention: VaultGemma's attention is causal whatever it says */
    config_ok("{\"model_type\": \"vaultgemma\", \"use_bidirectional_attention\": true}", &c);
    assert_true(c.causal);
    config_refused("{\"model_type\": \"vaultgemma\", \"hidden_size\": 30}",
                   "hidden_size 30 is not a multiple of num_attention_heads 8");
}

static void test_ministral(void **state)
{
    (void)state;
    mhv_config c;
    config_ok(SIZES("ministral") ", \"head_dim\": 8}", &c);
    /* MinistralConfig: every layer slides by 4096, no biases, untied */
    for (int l = 0; l < 4; l++)
        assert_true(slides(&c, l));
    assert_true(c.sliding_window == 4096 && !c.attn_bias && !c.attn_out_bias && !c.mlp_bias);
    assert_true(c.max_positions == 131072 && c.rope.theta == 10000.0 && !c.tie_word_embeddings);
    assert_true(c.layer_norm_eps == 1e-6f && c.num_kv_heads == 4);
    config_ok(SIZES("ministral") ", \"head_dim\": 8, \"attention_bias\": true, \"layer_types\": "
              "[\"full_attention\", \"sliding_attention\", \"full_attention\", "
              "\"full_attention\"], \"sliding_window\": 5}", &c);
    assert_true(!c.attn_bias && !slides(&c, 0) && slides(&c, 1) && c.sliding_window == 5);
    config_refused(SIZES("ministral") "}", "ministral without head_dim is not supported");
    config_refused(SIZES("ministral") ", \"head_dim\": 8, \"sliding_window\": null}",
                   "sliding_window null is not supported for ministral");
}

static void test_ministral3(void **state)
{
    (void)state;
    mhv_config c;
    config_ok(SIZES("ministral3") "}", &c);
    /* Ministral3Config: head_dim 128, no window, YaRN 16 over 16384, llama_4 beta 0.1 */
    assert_true(c.head_dim == 128 && c.sliding_window == 0 && c.max_positions == 262144);
    assert_true(c.rope.kind == MHV_ROPE_YARN && c.rope.factor == 16.0 && c.rope.theta == 1e6);
    assert_true(c.rope.original_max_positions == 16384 && c.rope.attention == 1.0);
    assert_true(c.llama4_beta == 0.1 && c.llama4_original == 16384);
    assert_true(c.layer_norm_eps == 1e-5f && !c.attn_bias && !c.tie_word_embeddings);
    config_ok(SIZES("ministral3") ", \"sliding_window\": 6, \"rope_parameters\": {\"rope_type\": "
              "\"default\", \"rope_theta\": 300, \"llama_4_scaling_beta\": 0.5, "
              "\"original_max_position_embeddings\": 4}}", &c);
    assert_true(c.sliding_window == 6 && c.rope.kind == MHV_ROPE_NONE && c.rope.theta == 300.0);
    assert_true(c.llama4_beta == 0.5 && c.llama4_original == 4 && !c.window_by_layer);
    config_refused(SIZES("ministral3") ", \"rope_parameters\": {\"rope_type\": \"default\"}}",
                   "without llama_4_scaling_beta and original_max_position_embeddings");
    config_refused(SIZES("ministral3") ", \"rope_parameters\": {\"rope_type\": \"longrope\", "
                   "\"llama_4_scaling_beta\": 0.1, \"original_max_position_embeddings\": 4}}",
                   "longrope");
}

static void test_seed_oss(void **state)
{
    (void)state;
    mhv_config c;
    config_ok(SIZES("seed_oss") "}", &c);
    /* SeedOssConfig: q/k/v biases, none on o_proj, head_dim 128 */
    assert_true(c.attn_bias && !c.attn_out_bias && !c.mlp_bias && c.head_dim == 128);
    assert_true(c.max_positions == 524288 && c.layer_norm_eps == 1e-6f && !c.tie_word_embeddings);
    config_ok(SIZES("seed_oss") ", \"attention_bias\": false, \"attention_out_bias\": true, "
              "\"mlp_bias\": true, \"head_dim\": 8}", &c);
    assert_true(!c.attn_bias && c.attn_out_bias && c.mlp_bias && c.head_dim == 8);
    config_refused(SIZES("seed_oss") ", \"rope_scaling\": {\"rope_type\": \"longrope\"}}",
                   "longrope");
}

static void test_arcee(void **state)
{
    (void)state;
    mhv_config c;
    config_ok(SIZES("arcee") "}", &c);
    /* ArceeConfig: relu2, untied, rms 1e-5 */
    assert_true(c.act == MHV_ACT_RELU2 && !c.tie_word_embeddings && c.layer_norm_eps == 1e-5f);
    assert_true(c.max_positions == 4096 && c.head_dim == 8 && !c.attn_bias && !c.mlp_bias);
    config_ok(SIZES("arcee") ", \"hidden_act\": \"silu\", \"mlp_bias\": true}", &c);
    assert_true(c.act == MHV_ACT_SILU && c.mlp_bias);
    config_refused(SIZES("arcee") ", \"hidden_act\": \"xielu\"}", "xielu");
}

static void test_ernie4_5(void **state)
{
    (void)state;
    mhv_config c;
    config_ok(SIZES("ernie4_5") "}", &c);
    /* Ernie4_5Config: head_dim 128, tied, theta 500000, no biases */
    assert_true(c.head_dim == 128 && c.tie_word_embeddings && c.rope.theta == 500000.0);
    assert_true(!c.attn_bias && !c.attn_out_bias && !c.mlp_bias && c.layer_norm_eps == 1e-5f);
    /* use_bias: every projection; attention_bias and mlp_bias are not its fields */
    config_ok(SIZES("ernie4_5") ", \"use_bias\": true, \"mlp_bias\": false}", &c);
    assert_true(c.attn_bias && c.attn_out_bias && c.mlp_bias);
    config_ok(SIZES("ernie4_5") ", \"attention_bias\": true, \"mlp_bias\": true}", &c);
    assert_true(!c.attn_bias && !c.mlp_bias);
}

static void test_hunyuan(void **state)
{
    (void)state;
    mhv_config c;
    config_ok(SIZES("hunyuan_v1_dense") "}", &c);
    assert_true(c.qk_norm == MHV_QK_NORM_HEAD && c.qk_norm_late && !c.tie_word_embeddings);
    assert_true(c.max_positions == 2048 && c.layer_norm_eps == 1e-5f && c.rope.theta == 1e4);
    /* the dynamic type with alpha: base theta * alpha^(d / (d - 2)) */
    config_ok(SIZES("hunyuan_v1_dense") ", \"head_dim\": 8, \"rope_scaling\": {\"type\": "
              "\"dynamic\", \"alpha\": 1000.0, \"factor\": 1.0}}", &c);
    assert_true(fabs(c.rope.theta - 1e4 * pow(1000.0, 8.0 / 6.0)) < 1e-3);
    assert_true(c.rope.kind == MHV_ROPE_NONE);
    config_ok(SIZES("hunyuan_v1_dense") ", \"rope_scaling\": {\"type\": \"dynamic\", "
              "\"factor\": 2.0}}", &c); /* dynamic without alpha: as any config's */
    assert_true(c.rope.theta == 1e4);
    config_refused(SIZES("hunyuan_v1_dense") ", \"rope_scaling\": {\"type\": \"dynamic\", "
                   "\"alpha\": 1000.0}}", "alpha without head_dim");
    /* alpha^(d / (d - 2)) has no value at head_dim 2 (transformers divides by zero) */
    config_refused(SIZES("hunyuan_v1_dense") ", \"head_dim\": 2, \"rope_scaling\": {\"type\": "
                   "\"dynamic\", \"alpha\": 1000.0}}", "head_dim 2");
}

static void test_apertus(void **state)
{
    (void)state;
    mhv_config c;
    config_ok(SIZES("apertus") "}", &c);
    /* ApertusConfig: xIELU, q/k head norms, llama3 rope theta 12e6 factor 8 over 8192 */
    assert_true(c.xielu && c.qk_norm == MHV_QK_NORM_HEAD && !c.tie_word_embeddings);
    assert_true(c.rope.kind == MHV_ROPE_LLAMA3 && c.rope.theta == 12e6 && c.rope.factor == 8.0);
    assert_true(c.rope.original_max_positions == 8192 && c.rope.high_freq_factor == 4.0);
    assert_true(c.max_positions == 65536 && c.layer_norm_eps == 1e-5f && !c.mlp_bias);
    /* a top-level rope_theta alone leaves the default llama3 rope as it is */
    config_ok(SIZES("apertus") ", \"hidden_act\": \"gelu\", \"rope_theta\": 500}", &c);
    assert_true(!c.xielu && c.act == MHV_ACT_GELU && c.rope.kind == MHV_ROPE_LLAMA3);
    assert_true(c.rope.theta == 12e6);
    /* rope settings: theta as given, else default_theta 12e6 */
    config_ok(SIZES("apertus") ", \"rope_theta\": 500, \"rope_scaling\": {\"rope_type\": "
              "\"linear\", \"factor\": 2}}", &c);
    assert_true(c.rope.kind == MHV_ROPE_LINEAR && c.rope.theta == 500.0);
    config_ok(SIZES("apertus") ", \"rope_parameters\": {\"rope_type\": \"default\"}}", &c);
    assert_true(c.rope.kind == MHV_ROPE_NONE && c.rope.theta == 12e6);
    config_refused(SIZES("apertus") ", \"hidden_act\": \"xielu2\"}", "xielu2");
}

static void test_granitemoe(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"granitemoe\"}", &c);
    /* GraniteMoeConfig: 8 experts top 2, multipliers 1, untied, no shared expert */
    assert_true(c.hidden_size == 4096 && c.num_layers == 32 && c.num_heads == 32);
    assert_true(c.num_kv_heads == 32 && c.intermediate_size == 11008 && c.vocab_size == 32000);
    assert_true(c.max_positions == 2048 && c.num_experts == 8 && c.experts_per_tok == 2);
    assert_true(c.moe_intermediate_size == 11008 && c.shared_expert_size == 0);
    assert_true(c.embed_scale == 1.0 && c.attn_scale == 1.0 && c.residual_scale == 1.0);
    assert_true(c.logits_div == 1.0 && !c.tie_word_embeddings && c.layer_norm_eps == 1e-6f);
    config_ok("{\"model_type\": \"granitemoeshared\", \"shared_intermediate_size\": 64, "
              "\"attention_multiplier\": 0.25, \"num_local_experts\": 4}", &c);
    assert_true(c.shared_expert_size == 64 && c.attn_scale == 0.25 && c.num_experts == 4);
    config_ok("{\"model_type\": \"granitemoeshared\"}", &c);
    assert_true(c.shared_expert_size == 0);
    /* granitemoe has no shared expert, whatever the file says */
    config_ok("{\"model_type\": \"granitemoe\", \"shared_intermediate_size\": 64}", &c);
    assert_true(c.shared_expert_size == 0);
    config_refused("{\"model_type\": \"granitemoe\", \"num_local_experts\": 1}",
                   "num_experts_per_tok 2 exceeds the 1 experts");
    config_refused("{\"model_type\": \"granitemoe\", \"rope_scaling\": {\"rope_type\": "
                   "\"longrope\"}}", "longrope");
}

static void test_glm4_moe(void **state)
{
    (void)state;
    mhv_config c;
    /* Glm4MoeConfig's heads of 4096 // 96 = 42 would rotate int(42 * 0.5) = 21 dimensions */
    config_refused("{\"model_type\": \"glm4_moe\"}", "gives 21 rotated dimensions");
    config_ok("{\"model_type\": \"glm4_moe\", \"num_attention_heads\": 64}", &c);
    /* Glm4MoeConfig: GLM-4.5's sizes, 128 experts top 8 renormalised, one shared expert, the
     * first layer dense, half of each head rotated, no q/k norms */
    assert_true(c.hidden_size == 4096 && c.num_layers == 46 && c.num_heads == 64);
    assert_true(c.num_kv_heads == 8 && c.head_dim == 64 && c.intermediate_size == 10944);
    assert_true(c.vocab_size == 151552 && c.max_positions == 131072 && c.rotary_dims == 32);
    assert_true(c.num_experts == 128 && c.experts_per_tok == 8 && c.norm_topk_prob);
    assert_true(c.moe_intermediate_size == 1408 && c.shared_expert_size == 1408);
    assert_true(c.moe_groups == 1 && c.moe_topk_groups == 1 && c.moe_routed_scale == 1.0);
    assert_true(!(c.moe_layers[0] & 1) && (c.moe_layers[0] & 2) && !c.qk_norm);
    assert_true(c.layer_norm_eps == 1e-5f && !c.attn_bias && !c.attn_out_bias);
    config_ok("{\"model_type\": \"glm4_moe\", \"head_dim\": 128, \"use_qk_norm\": true, "
              "\"n_shared_experts\": 2, \"n_group\": 8, \"topk_group\": 4, "
              "\"routed_scaling_factor\": 2.5, \"partial_rotary_factor\": 1.0}", &c);
    assert_true(c.head_dim == 128 && c.rotary_dims == 0 && c.qk_norm == MHV_QK_NORM_HEAD);
    assert_true(c.shared_expert_size == 2816 && c.moe_groups == 8 && c.moe_topk_groups == 4);
    assert_true(c.moe_routed_scale == 2.5);
    config_refused("{\"model_type\": \"glm4_moe\", \"head_dim\": 128, \"n_group\": 3}",
                   "n_group 3 does not split 128 experts");
    config_refused("{\"model_type\": \"glm4_moe\", \"head_dim\": 128, \"n_group\": 128}",
                   "into groups of 2 or more");
    config_refused("{\"model_type\": \"glm4_moe\", \"head_dim\": 128, \"n_group\": 32, "
                   "\"topk_group\": 1}",
                   "hold fewer than num_experts_per_tok 8");
    config_refused("{\"model_type\": \"glm4_moe\", \"head_dim\": 128, \"topk_group\": 2}",
                   "topk_group 2 exceeds n_group 1");
}

static void test_dots1(void **state)
{
    (void)state;
    mhv_config c;
    /* Dots1Config leaves the mixture's counts None: transformers fails without them */
    config_refused("{\"model_type\": \"dots1\"}", "dots1 without n_routed_experts");
    config_refused("{\"model_type\": \"dots1\", \"n_routed_experts\": 8, "
                   "\"num_experts_per_tok\": 2}", "dots1 without n_shared_experts");
    config_ok("{\"model_type\": \"dots1\", \"n_routed_experts\": 8, "
              "\"num_experts_per_tok\": 2, \"n_shared_experts\": 1}", &c);
    assert_true(c.hidden_size == 4608 && c.num_layers == 62 && c.num_heads == 32);
    assert_true(c.num_kv_heads == 32 && c.head_dim == 144 && c.max_positions == 2048);
    assert_true(c.qk_norm == MHV_QK_NORM_HEAD && !c.norm_topk_prob && c.rotary_dims == 0);
    assert_true((c.moe_layers[0] & 1) && c.layer_norm_eps == 1e-6f);
    /* the window from max_window_layers (62): none of the 62 layers */
    assert_true(c.sliding_window == 4096 || !slides(&c, 61));
    assert_true(!slides(&c, 0) && !slides(&c, 61));
    config_ok("{\"model_type\": \"dots1\", \"num_hidden_layers\": 4, "
              "\"num_local_experts\": 8, \"num_experts_per_tok\": 2, "
              "\"n_shared_experts\": 1, \"max_window_layers\": 2, \"sliding_window\": 5, "
              "\"attention_bias\": true}", &c);
    assert_true(c.num_experts == 8 && !slides(&c, 1) && slides(&c, 2) && slides(&c, 3));
    assert_true(c.sliding_window == 5 && c.attn_bias && c.attn_out_bias);
}

static void test_ernie4_5_moe(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"ernie4_5_moe\"}", &c);
    /* Ernie4_5_MoeConfig: ERNIE-4.5-21B-A3B's sizes, 64 experts top 6, 2 shared, the first
     * layer dense, tied, theta 500000 */
    assert_true(c.hidden_size == 2560 && c.num_layers == 28 && c.num_heads == 20);
    assert_true(c.num_kv_heads == 4 && c.head_dim == 128 && c.intermediate_size == 12288);
    assert_true(c.vocab_size == 103424 && c.max_positions == 131072);
    assert_true(c.num_experts == 64 && c.experts_per_tok == 6 && c.moe_norm_min == 1e-12);
    assert_true(c.moe_intermediate_size == 1536 && c.shared_expert_size == 3072);
    assert_true(!(c.moe_layers[0] & 1) && (c.moe_layers[0] & 2) && (c.moe_layers[3] & 8));
    assert_true(c.tie_word_embeddings && c.rope.theta == 500000.0 && !c.qk_norm);
    assert_true(!c.attn_bias && !c.mlp_bias && c.layer_norm_eps == 1e-5f && !c.rotary_dims);
    config_ok("{\"model_type\": \"ernie4_5_moe\", \"num_hidden_layers\": 6, "
              "\"num_experts\": 8, \"num_experts_per_tok\": 2, \"use_bias\": true, "
              "\"moe_layer_start_index\": 0, \"moe_layer_end_index\": 4, "
              "\"moe_layer_interval\": 2, \"moe_num_shared_experts\": 0}", &c);
    assert_true(c.num_experts == 8 && c.experts_per_tok == 2 && c.shared_expert_size == 0);
    assert_true(c.moe_layers[0] == 0x0a && c.attn_bias && c.attn_out_bias && c.mlp_bias);
    config_refused("{\"model_type\": \"ernie4_5_moe\", \"moe_k\": 65}", "moe_k 65 exceeds");
}

static void test_deepseek(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"deepseek_v3\"}", &c);
    /* DeepseekV3Config: DeepSeek-V3's sizes and latent attention, 256 experts in 8 groups
     * (top 4) top 8 renormalised, scaling 2.5, three dense layers first */
    assert_true(c.hidden_size == 7168 && c.num_layers == 61 && c.num_heads == 128);
    assert_true(c.num_kv_heads == 128 && c.head_dim == 192 && c.vocab_size == 129280);
    assert_true(c.mla_q_lora == 1536 && c.mla_kv_lora == 512 && c.mla_nope == 128);
    assert_true(c.mla_rope == 64 && c.mla_v == 128 && c.mla_rope_layout == 1);
    assert_true(c.num_experts == 256 && c.experts_per_tok == 8 && c.norm_topk_prob);
    assert_true(c.moe_groups == 8 && c.moe_topk_groups == 4 && c.moe_routed_scale == 2.5);
    assert_true(c.moe_intermediate_size == 2048 && c.shared_expert_size == 2048);
    assert_true(c.moe_layers[0] == 0xf8 && !c.moe_softmax_groups && c.max_positions == 4096);
    assert_true(fabs(c.attn_scale - pow(192.0, -0.5)) < 1e-12 && !c.tie_word_embeddings);
    /* YaRN: the score scale times mscale(factor, mscale_all_dim)^2 */
    config_ok("{\"model_type\": \"deepseek_v3\", \"rope_interleave\": false, "
              "\"q_lora_rank\": null, \"rope_scaling\": {\"type\": \"yarn\", "
              "\"factor\": 40, \"mscale\": 1.0, \"mscale_all_dim\": 1.0, "
              "\"original_max_position_embeddings\": 4096}}", &c);
    double ms = 0.1 * log(40.0) + 1.0;
    assert_true(fabs(c.attn_scale - pow(192.0, -0.5) * ms * ms) < 1e-12);
    assert_true(c.rope.kind == MHV_ROPE_YARN && c.rope.attention == 1.0);
    assert_true(c.mla_q_lora == 0 && c.mla_rope_layout == 2);
    config_refused("{\"model_type\": \"deepseek_v3\", \"num_key_value_heads\": 64}",
                   "num_key_value_heads 64 other than num_attention_heads 128");
    config_refused("{\"model_type\": \"deepseek_v3\", \"v_head_dim\": 256}",
                   "v_head_dim 256 above");
    config_refused("{\"model_type\": \"deepseek_v3\", \"n_group\": 0}",
                   "n_group and topk_group must be at least 1");
    config_refused("{\"model_type\": \"deepseek_v3\", \"quantization_config\": "
                   "{\"quant_method\": \"fp8\"}}",
                   "quantization_config (fp8) is not supported for deepseek_v3");

    /* DeepseekV2Config: num_experts_per_tok is None, which transformers fails on */
    config_refused("{\"model_type\": \"deepseek_v2\"}",
                   "deepseek_v2 without num_experts_per_tok");
    config_ok("{\"model_type\": \"deepseek_v2\", \"num_experts_per_tok\": 6}", &c);
    assert_true(c.hidden_size == 4096 && c.num_layers == 32 && c.num_heads == 32);
    assert_true(c.num_kv_heads == 32 && c.num_experts == 64 && c.shared_expert_size == 2814);
    assert_true(c.moe_softmax_groups && c.moe_groups == 0 && c.moe_layers[0] == 0xff);
    assert_true(c.mla_rope_layout == 0 && c.moe_routed_scale == 1.0 && !c.mlp_bias);
    config_ok("{\"model_type\": \"deepseek_v2\", \"num_experts_per_tok\": 6, "
              "\"topk_method\": \"group_limited_greedy\", \"n_group\": 8, "
              "\"topk_group\": 3, \"mlp_bias\": true}", &c);
    assert_true(c.moe_groups == 8 && c.moe_topk_groups == 3 && c.mlp_bias);
    config_refused("{\"model_type\": \"deepseek_v2\", \"num_experts_per_tok\": 6, "
                   "\"topk_method\": \"group_limited_greedy\"}",
                   "group_limited_greedy without n_group and topk_group");
    config_refused("{\"model_type\": \"deepseek_v2\", \"num_experts_per_tok\": 6, "
                   "\"topk_method\": \"noaux_tc\"}", "unsupported topk_method 'noaux_tc'");
    config_refused("{\"model_type\": \"deepseek_v2\", \"num_experts_per_tok\": 6, "
                   "\"hidden_size\": 4001}", "hidden_size 4001 is not a multiple");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_olmo3),    cmocka_unit_test(test_vaultgemma),
        cmocka_unit_test(test_ministral), cmocka_unit_test(test_ministral3),
        cmocka_unit_test(test_seed_oss), cmocka_unit_test(test_arcee),
        cmocka_unit_test(test_ernie4_5), cmocka_unit_test(test_hunyuan),
        cmocka_unit_test(test_apertus),  cmocka_unit_test(test_granitemoe),
        cmocka_unit_test(test_glm4_moe), cmocka_unit_test(test_dots1),
        cmocka_unit_test(test_ernie4_5_moe), cmocka_unit_test(test_deepseek),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
