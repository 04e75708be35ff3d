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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vit_msn_ijepa),
        cmocka_unit_test(test_beit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
