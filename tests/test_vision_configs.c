/* config.json of the vision families ViT-MSN, I-JEPA, BEiT and data2vec-vision: the defaults
 * of their transformers config classes, the options read (BEiT's relative position biases,
 * absolute positions, layer scales) and what is refused by name. The forward passes are
 * checked against transformers by tests/test_families.c (fam-vit-msn-*, fam-ijepa-*,
 * fam-beit-*, fam-data2vec-vision-*). */
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

#define SIZES                                                                                  \
    "\"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "              \
    "\"intermediate_size\": 48, \"image_size\": 16, \"patch_size\": 4"

static void test_vit_msn_ijepa(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"vit_msn\"}", &c);
    assert_true(c.image_size == 224 && c.patch_size == 16 && c.hidden_size == 768);
    assert_true(fabsf(c.layer_norm_eps - 1e-6f) < 1e-12f); /* ViTMSNConfig's, not ViT's */
    assert_true(c.vision_extra == 1 && c.vision_pos == MHV_VPOS_ASKED_SIZE && c.attn_bias);
    config_ok("{\"model_type\": \"ijepa\", \"qkv_bias\": false, \"pooler_act\": \"tanh\"}", &c);
    assert_true(c.vision_extra == 0 && c.max_positions == 196 && !c.attn_bias);
    assert_true(fabsf(c.layer_norm_eps - 1e-12f) < 1e-20f);
    config_refused("{\"model_type\": \"ijepa\", \"image_size\": [224, 224]}", "image_size");
    /* a last partial patch's pixels dropped, as transformers' patch convolution drops them */
    config_ok("{\"model_type\": \"vit_msn\", \"image_size\": 30, \"patch_size\": 4}", &c);
    assert_int_equal(c.max_positions, 1 + 7 * 7);
    config_refused("{\"model_type\": \"vit_msn\", \"hidden_act\": \"swish-ish\"}", "swish-ish");
}

static void test_beit(void **state)
{
    (void)state;
    mhv_config c;
    /* BeitConfig's defaults: no positions nor biases, layer scales 0.1 */
    config_ok("{\"model_type\": \"beit\"}", &c);
    assert_true(c.image_size == 224 && c.patch_size == 16 && c.vision_extra == 1);
    assert_true(c.vision_no_abs_pos && c.vision_rel_bias == 0 && c.vision_layer_scale);
    assert_true(c.vision_pos == MHV_VPOS_ALWAYS && c.max_positions == 197);
    config_ok("{\"model_type\": \"beit\", " SIZES ", \"use_relative_position_bias\": true, "
       "\"use_shared_relative_position_bias\": true, \"use_absolute_position_embeddings\": "
       "true, \"layer_scale_init_value\": 0, \"use_mean_pooling\": false, \"use_mask_token\": "
       "true, \"vocab_size\": 8192, \"out_indices\": [1, 2], \"pool_scales\": [1, 2]}", &c);
    assert_int_equal(c.vision_rel_bias, MHV_VREL_LAYER | MHV_VREL_SHARED);
    assert_true(!c.vision_no_abs_pos && !c.vision_layer_scale && c.max_positions == 17);
    config_ok("{\"model_type\": \"data2vec-vision\", " SIZES ", \"use_shared_relative_position_bias\": "
       "true, \"layer_scale_init_value\": -1}", &c);
    assert_string_equal(c.arch, "data2vec-vision");
    assert_true(c.vision_rel_bias == MHV_VREL_SHARED && !c.vision_layer_scale);
    config_refused("{\"model_type\": \"beit\", \"image_size\": [224, 160]}", "image_size");
    config_refused("{\"model_type\": \"beit\", \"patch_size\": [16, 16]}", "patch_size");
    config_refused("{\"model_type\": \"beit\", \"use_relative_position_bias\": \"yes\"}",
            "use_relative_position_bias");
    config_ok("{\"model_type\": \"data2vec-vision\", \"image_size\": 20, \"patch_size\": 3}", &c);
    assert_int_equal(c.max_positions, 1 + 6 * 6);
    config_refused("{\"model_type\": \"beit\", \"image_size\": 3, \"patch_size\": 4}",
            "image_size 3 is smaller than patch_size 4");
}

/* DINOv3ViTConfig's defaults, its options, and what is refused (model/dinov3.c) */
static void test_dinov3(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"dinov3_vit\"}", &c);
    assert_true(c.hidden_size == 384 && c.num_heads == 6 && c.num_layers == 12 &&
                c.intermediate_size == 1536 && c.image_size == 224 && c.patch_size == 16);
    assert_true(c.vision_extra == 1 && c.vision_registers == 0 && c.vision_rope2d &&
                c.vision_no_abs_pos && c.vision_pos == MHV_VPOS_ALWAYS && c.max_positions == 197);
    assert_true(c.attn_bias && !c.vision_key_bias && c.vision_value_bias && c.attn_out_bias &&
                c.mlp_bias && !c.gated_ffn && c.act == MHV_ACT_GELU && c.rope.theta == 100);
    assert_true(fabsf(c.layer_norm_eps - 1e-5f) < 1e-12f);
    config_ok("{\"model_type\": \"dinov3_vit\", " SIZES ", \"num_register_tokens\": 4, "
              "\"use_gated_mlp\": true, \"hidden_act\": \"silu\", \"key_bias\": true, "
              "\"query_bias\": false, \"proj_bias\": false, \"mlp_bias\": false, "
              "\"rope_theta\": 1000, \"pos_embed_rescale\": null, \"pos_embed_jitter\": 1.5, "
              "\"out_features\": [\"stage2\"], \"apply_layernorm\": false}", &c);
    assert_true(c.vision_extra == 5 && c.vision_registers == 4 && c.max_positions == 21);
    assert_true(c.gated_ffn && c.vision_gate_act && c.act == MHV_ACT_SILU);
    assert_true(!c.attn_bias && c.vision_key_bias && !c.attn_out_bias && !c.mlp_bias &&
                c.rope.theta == 1000);
    /* head_dim 6: transformers' rotary table would have 8 columns */
    config_refused("{\"model_type\": \"dinov3_vit\", \"hidden_size\": 36, "
                   "\"num_attention_heads\": 6}", "head_dim 6 is not a multiple of 4");
    config_refused("{\"model_type\": \"dinov3_vit\", \"hidden_size\": 30, "
                   "\"num_attention_heads\": 4}", "hidden_size");
    config_refused("{\"model_type\": \"dinov3_vit\", \"patch_size\": [16, 16]}", "patch_size");
    config_refused("{\"model_type\": \"dinov3_vit\", \"hidden_size\": 4096, "
                   "\"num_attention_heads\": 1}", "head_dim 4096 is too large (at most 2048)");
    config_refused("{\"model_type\": \"dinov3_vit\", \"image_size\": 8}",
                   "image_size 8 is smaller than patch_size 16");
    config_refused("{\"model_type\": \"dinov3_vit\", \"hidden_act\": \"mish\"}", "mish");
}

/* Aimv2VisionConfig's defaults, a whole Aimv2Model's vision_config, what is refused */
static void test_aimv2(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"aimv2_vision_model\"}", &c);
    assert_true(c.hidden_size == 1024 && c.num_layers == 24 && c.num_heads == 8 &&
                c.intermediate_size == 2816 && c.image_size == 224 && c.patch_size == 14);
    assert_true(c.vision_extra == 0 && c.vision_rms && c.gated_ffn && c.vision_gate_act &&
                c.act == MHV_ACT_SILU && !c.attn_bias && !c.mlp_bias && !c.vision_sincos2d);
    assert_true(c.vision_pos == MHV_VPOS_NEVER && c.max_positions == 256);
    assert_true(fabsf(c.layer_norm_eps - 1e-5f) < 1e-12f);
    config_ok("{\"model_type\": \"aimv2_vision_model\", " SIZES ", \"is_native\": true, "
              "\"qkv_bias\": true, \"mlp_bias\": true, \"use_head\": false, "
              "\"rms_norm_eps\": 1e-6}", &c);
    assert_true(c.vision_sincos2d && c.vision_no_abs_pos && c.vision_pos == MHV_VPOS_ALWAYS);
    assert_true(c.attn_bias && c.attn_out_bias && c.mlp_bias);
    config_ok("{\"model_type\": \"aimv2\", \"vision_config\": {" SIZES "}, "
              "\"text_config\": {\"hidden_size\": 16}, \"projection_dim\": 16}", &c);
    assert_true(c.hidden_size == 32 && c.num_layers == 2 && c.max_positions == 16);
    config_refused("{\"model_type\": \"aimv2\", " SIZES "}", "missing object 'vision_config'");
    config_refused("{\"model_type\": \"aimv2_vision_model\", \"hidden_size\": 30, "
                   "\"num_attention_heads\": 6, \"is_native\": true}",
                   "hidden_size 30 is not a multiple of 4");
    config_refused("{\"model_type\": \"aimv2_vision_model\", \"image_size\": [224, 224]}",
                   "image_size");
    config_refused("{\"model_type\": \"aimv2_vision_model\", \"hidden_act\": \"mish\"}",
                   "mish");
}

/* The OWL-ViT and OWLv2 vision towers: CLIP's, with their own defaults */
static void test_owl(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"owlvit_vision_model\"}", &c);
    assert_true(c.image_size == 768 && c.patch_size == 32 && c.vision_extra == 1 &&
                c.act == MHV_ACT_QUICK_GELU && c.max_positions == 1 + 24 * 24);
    assert_true(c.vision_pos == MHV_VPOS_ASKED_SIZE);
    config_ok("{\"model_type\": \"owlv2_vision_model\"}", &c);
    assert_true(c.image_size == 768 && c.patch_size == 16 && c.max_positions == 1 + 48 * 48);
    config_ok("{\"model_type\": \"owlv2\", \"vision_config\": {\"image_size\": 960}}", &c);
    assert_true(c.image_size == 960 && c.patch_size == 16 && c.hidden_size == 768);
    config_ok("{\"model_type\": \"owlvit\", \"vision_config\": {" SIZES "}}", &c);
    assert_true(c.hidden_size == 32 && c.max_positions == 17);
    config_refused("{\"model_type\": \"owlvit\", " SIZES "}", "missing object 'vision_config'");
    config_refused("{\"model_type\": \"owlv2_vision_model\", \"patch_size\": [16, 16]}",
                   "patch_size");
}

/* Siglip2VisionConfig: num_patches positions (a square table), any grid */
static void test_siglip2(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"siglip2_vision_model\"}", &c);
    assert_true(c.patch_size == 16 && c.image_size == 256 && c.vision_extra == 0 &&
                c.act == MHV_ACT_GELU_NEW && c.vision_pos == MHV_VPOS_ALWAYS &&
                c.vision_pos_bilinear_aa && c.vision_patch_hwc && c.max_positions == 256);
    assert_true(fabsf(c.layer_norm_eps - 1e-6f) < 1e-12f);
    config_ok("{\"model_type\": \"siglip2\", \"vision_config\": {\"num_patches\": 729, "
              "\"patch_size\": 14}}", &c);
    assert_true(c.image_size == 27 * 14 && c.max_positions == 729);
    config_refused("{\"model_type\": \"siglip2_vision_model\", \"num_patches\": 200}",
                   "num_patches 200 is not a square");
    config_refused("{\"model_type\": \"siglip2\", \"num_patches\": 256}",
                   "missing object 'vision_config'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vit_msn_ijepa),
        cmocka_unit_test(test_beit),
        cmocka_unit_test(test_dinov3),
        cmocka_unit_test(test_aimv2),
        cmocka_unit_test(test_owl),
        cmocka_unit_test(test_siglip2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
