/* config.json of ESM (model/esm.c): EsmConfig's defaults, the settings of the ESM-2 and
 * ESM-1b checkpoints, and what is refused by name. Their forward passes are checked against
 * transformers by tests/test_families.c (tests/gen/fam_esm.py). */
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

#define ESM "{\"model_type\": \"esm\", \"vocab_size\": 33, \"pad_token_id\": 1"

static void test_defaults(void **state)
{
    (void)state;
    mhv_config c;
    config_ok(ESM "}", &c); /* EsmConfig's defaults: ESM-1b's learned positions */
    assert_string_equal(c.arch, "esm");
    assert_int_equal(c.hidden_size, 768);
    assert_int_equal(c.num_layers, 12);
    assert_int_equal(c.num_heads, 12);
    assert_int_equal(c.head_dim, 64);
    assert_int_equal(c.intermediate_size, 3072);
    assert_int_equal(c.vocab_size, 33);
    assert_int_equal(c.type_vocab_size, 0);
    assert_int_equal(c.esm_rotary, 0);
    assert_int_equal(c.pad_positions, 1);
    assert_int_equal(c.pos_offset, 2);
    assert_int_equal(c.max_positions, 1026 - 2);
    assert_int_equal(c.esm_token_dropout, 0);
    assert_int_equal(c.esm_emb_norm, 0);
    assert_int_equal(c.tie_word_embeddings, 1);
    assert_int_equal(c.causal, 0);
    assert_int_equal(c.act, MHV_ACT_GELU);
    assert_true(fabsf(c.layer_norm_eps - 1e-12f) < 1e-18f);
}

static void test_esm2(void **state)
{
    (void)state;
    mhv_config c;
    /* facebook/esm2_t6_8M_UR50D's settings; hidden_act is not read (ESM's own GELU) */
    config_ok(ESM ", \"hidden_size\": 320, \"num_hidden_layers\": 6, \"num_attention_heads\": 20, "
              "\"intermediate_size\": 1280, \"max_position_embeddings\": 1026, "
              "\"position_embedding_type\": \"rotary\", \"token_dropout\": true, "
              "\"mask_token_id\": 32, \"emb_layer_norm_before\": false, \"layer_norm_eps\": 1e-05, "
              "\"hidden_act\": \"relu\", \"esmfold_config\": null, \"vocab_list\": null, "
              "\"is_folding_model\": false}", &c);
    assert_int_equal(c.esm_rotary, 1);
    assert_int_equal(c.head_dim, 16);
    assert_int_equal(c.pad_positions, 0);
    assert_int_equal(c.pos_offset, 0);
    assert_int_equal(c.max_positions, 1026);
    assert_int_equal(c.esm_token_dropout, 1);
    assert_int_equal(c.esm_mask_id, 32);
    assert_int_equal(c.act, MHV_ACT_GELU);
    assert_true(c.rope.theta == 10000.0);
    assert_true(fabsf(c.layer_norm_eps - 1e-5f) < 1e-12f);
    config_ok(ESM ", \"position_embedding_type\": \"rotary\", \"rope_theta\": 500.0}", &c);
    assert_true(c.rope.theta == 500.0);
    /* ESM-1b: learned positions, the embeddings' LayerNorm */
    config_ok(ESM ", \"emb_layer_norm_before\": true, \"token_dropout\": true, "
              "\"mask_token_id\": 32, \"tie_word_embeddings\": false}", &c);
    assert_int_equal(c.esm_emb_norm, 1);
    assert_int_equal(c.esm_token_dropout, 1);
    assert_int_equal(c.tie_word_embeddings, 0);
    config_ok("{\"model_type\": \"esm\", \"vocab_size\": 33, \"pad_token_id\": 5, "
              "\"max_position_embeddings\": 40}", &c);
    assert_int_equal(c.pos_offset, 6);
    assert_int_equal(c.max_positions, 34);
}

static void test_refused(void **state)
{
    (void)state;
    config_refused("{\"model_type\": \"esm\", \"pad_token_id\": 1}", "vocab_size");
    config_refused("{\"model_type\": \"esm\", \"vocab_size\": 33}", "pad_token_id");
    config_refused(ESM ", \"token_dropout\": true}", "mask_token_id");
    config_refused(ESM ", \"token_dropout\": true, \"mask_token_id\": 33}", "mask_token_id");
    config_refused(ESM ", \"is_folding_model\": true}", "is_folding_model (ESMFold");
    config_refused(ESM ", \"is_decoder\": true}", "is_decoder is not supported");
    config_refused(ESM ", \"add_cross_attention\": true}", "add_cross_attention is not supported");
    config_refused(ESM ", \"position_embedding_type\": \"relative_key\"}",
                   "position_embedding_type 'relative_key' is not supported");
    config_refused(ESM ", \"position_embedding_type\": null}", "position_embedding_type");
    config_refused(ESM ", \"position_embedding_type\": \"rotary\", \"hidden_size\": 30, "
                   "\"num_attention_heads\": 2}", "head size 15 is odd");
    config_refused(ESM ", \"max_position_embeddings\": 2}", "leaves no position");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_esm2),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
