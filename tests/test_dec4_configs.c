/* config.json of SmolLM3, XGLM and MPT: the defaults of their transformers config classes and
 * what is refused by name rather than approximated. The forward passes are checked against
 * transformers by tests/test_families.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "model/config.h"
#include "config_expect.h"
#include "nn/act.h"

static int bit(const unsigned char *bits, int l)
{
    return (bits[l / 8] >> (l % 8)) & 1;
}

#define SMOL                                                                                   \
    "{\"model_type\": \"smollm3\", \"hidden_size\": 32, \"num_hidden_layers\": 8, "           \
    "\"num_attention_heads\": 4, \"intermediate_size\": 48, \"vocab_size\": 100"

static void test_smollm3(void **state)
{
    (void)state;
    mhv_config c;
    config_ok(SMOL "}", &c);
    /* SmolLM3Config: tied, rope_theta 2e6, every 4th layer without rotary, no window */
    assert_true(c.tie_word_embeddings && c.rope.theta == 2000000.0);
    for (int l = 0; l < 8; l++) {
        assert_int_equal(bit(c.nope_layers, l), (l + 1) % 4 == 0);
        assert_false(mhv_config_layer_slides(&c, l));
    }
    config_ok(SMOL ", \"rope_theta\": 5e5, \"tie_word_embeddings\": false}", &c);
    assert_true(!c.tie_word_embeddings && c.rope.theta == 500000.0);
    config_ok(SMOL ", \"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 1e4}}", &c);
    assert_true(c.rope.theta == 10000.0);
    /* the window slides on the layers without rotary unless layer_types says otherwise */
    config_ok(SMOL ", \"use_sliding_window\": true, \"sliding_window\": 16, "
            "\"no_rope_layer_interval\": 2}", &c);
    for (int l = 0; l < 8; l++) {
        assert_int_equal(bit(c.nope_layers, l), l % 2);
        assert_int_equal(mhv_config_layer_slides(&c, l), l % 2);
    }
    config_ok(SMOL ", \"use_sliding_window\": true, \"sliding_window\": null}", &c);
    assert_false(mhv_config_layer_slides(&c, 3));
    config_ok(SMOL ", \"no_rope_layers\": [0, 1, 1, 1, 1, 1, 1, 0], \"use_sliding_window\": true, "
            "\"sliding_window\": 3, \"layer_types\": [\"full_attention\", \"full_attention\", "
            "\"sliding_attention\", \"full_attention\", \"full_attention\", \"full_attention\", "
            "\"full_attention\", \"full_attention\"]}", &c);
    assert_true(bit(c.nope_layers, 0) && !bit(c.nope_layers, 3) && bit(c.nope_layers, 7));
    assert_true(mhv_config_layer_slides(&c, 2) && !mhv_config_layer_slides(&c, 0));
    assert_int_equal(c.sliding_window, 3);
    config_refused(SMOL ", \"no_rope_layers\": [1, 1]}", "'no_rope_layers' is not a list of 8");
    config_refused(SMOL ", \"no_rope_layer_interval\": 0}", "no_rope_layer_interval");
    config_refused(SMOL ", \"layer_types\": [\"sliding_attention\", \"full_attention\", "
            "\"full_attention\", \"full_attention\", \"full_attention\", \"full_attention\", "
            "\"full_attention\", \"full_attention\"], \"sliding_window\": 4}",
            "sliding layers without use_sliding_window are not supported");
    config_refused(SMOL ", \"use_sliding_window\": true, \"layer_types\": [\"sliding_attention\", "
            "\"full_attention\", \"full_attention\", \"full_attention\", \"full_attention\", "
            "\"full_attention\", \"full_attention\", \"full_attention\"]}",
            "sliding layers need a sliding_window");
    config_refused(SMOL ", \"rope_parameters\": {\"rope_type\": \"longrope\", \"factor\": 2}}",
            "longrope");
}

#define XGLM "{\"model_type\": \"xglm\", \"d_model\": 32, \"num_layers\": 2, " \
             "\"attention_heads\": 4, \"ffn_dim\": 48, \"vocab_size\": 100"

static void test_xglm(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"xglm\"}", &c);
    /* XGLMConfig's defaults: 564M's sizes, gelu, scaled and tied embeddings, pad 1 */
    assert_true(c.hidden_size == 1024 && c.num_layers == 24 && c.num_heads == 16);
    assert_true(c.intermediate_size == 4096 && c.vocab_size == 256008);
    assert_true(c.act == MHV_ACT_GELU && c.tie_word_embeddings && c.pad_id == 1);
    assert_true(c.embed_scale == 32.0 && c.pos_offset == 2);
    config_ok(XGLM ", \"scale_embedding\": false, \"pad_token_id\": null, "
            "\"tie_word_embeddings\": false, \"activation_function\": \"relu\"}", &c);
    assert_true(c.embed_scale == 0 && c.pad_id == -1 && !c.tie_word_embeddings);
    assert_true(c.act == MHV_ACT_RELU && c.head_dim == 8);
    /* attribute_map: the common names stand for XGLM's own */
    config_ok("{\"model_type\": \"xglm\", \"hidden_size\": 48, \"num_hidden_layers\": 3, "
       "\"num_attention_heads\": 6}", &c);
    assert_true(c.hidden_size == 48 && c.num_layers == 3 && c.num_heads == 6);
    config_refused(XGLM ", \"add_cross_attention\": true}", "add_cross_attention is not supported");
    config_refused("{\"model_type\": \"xglm\", \"d_model\": 32, \"attention_heads\": 5}",
            "attention_heads 5 does not divide d_model 32");
    config_refused(XGLM ", \"pad_token_id\": 100}", "pad_token_id");
    config_refused(XGLM ", \"activation_function\": \"swish2\"}", "activation_function");
}

#define MPT "{\"model_type\": \"mpt\", \"d_model\": 32, \"n_heads\": 4, \"n_layers\": 2, " \
            "\"vocab_size\": 100"

static void test_mpt(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"mpt\"}", &c);
    /* MptConfig's defaults: mpt-1b's sizes, a 4 x d_model MLP, tied, 1/sqrt(head_dim) */
    assert_true(c.hidden_size == 2048 && c.num_layers == 24 && c.num_heads == 16);
    assert_true(c.intermediate_size == 8192 && c.vocab_size == 50368);
    assert_true(c.max_positions == 2048 && c.tie_word_embeddings && c.alibi);
    assert_true(c.clip_qkv == 0 && c.act == MHV_ACT_GELU);
    assert_true(fabs(c.attn_scale - 1 / sqrt(128.0)) < 1e-15);
    config_ok(MPT ", \"attn_config\": {\"clip_qkv\": 6, \"softmax_scale\": 0.1, "
           "\"attn_impl\": \"triton\", \"alibi_bias_max\": 8}, \"logit_scale\": null, "
           "\"tie_word_embeddings\": false, \"norm_type\": \"layernorm\"}", &c);
    assert_true(c.clip_qkv == 6 && c.attn_scale == 0.1 && !c.tie_word_embeddings);
    /* attribute_map: the common names stand for MPT's own */
    config_ok("{\"model_type\": \"mpt\", \"hidden_size\": 48, \"num_hidden_layers\": 3, "
       "\"num_attention_heads\": 6}", &c);
    assert_true(c.hidden_size == 48 && c.num_layers == 3 && c.num_heads == 6);
    config_refused(MPT ", \"attn_config\": {\"attn_type\": \"multiquery_attention\"}}",
            "attn_type 'multiquery_attention' is not supported");
    config_refused(MPT ", \"attn_config\": {\"prefix_lm\": true}}",
            "attn_config prefix_lm true is not supported");
    config_refused(MPT ", \"attn_config\": {\"qk_ln\": true}}", "attn_config qk_ln true");
    config_refused(MPT ", \"attn_config\": {\"alibi\": false}}", "attn_config alibi false");
    config_refused(MPT ", \"attn_config\": {\"alibi_bias_max\": 16}}",
            "alibi_bias_max 16 is not supported");
    config_refused(MPT ", \"attn_config\": {\"clip_qkv\": -1}}", "clip_qkv");
    config_refused(MPT ", \"attn_config\": 3}", "'attn_config' is not an object");
    config_refused(MPT ", \"no_bias\": false}", "no_bias false is not supported");
    config_refused(MPT ", \"expansion_ratio\": 2}", "expansion_ratio 2 is not supported");
    config_refused(MPT ", \"logit_scale\": 0.5}", "logit_scale is not supported");
    config_refused(MPT ", \"norm_type\": \"rmsnorm\"}", "norm_type 'rmsnorm' is not supported");
    config_refused("{\"model_type\": \"mpt\", \"d_model\": 32, \"n_heads\": 5}",
            "n_heads 5 does not divide d_model 32");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smollm3),
        cmocka_unit_test(test_xglm),
        cmocka_unit_test(test_mpt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
