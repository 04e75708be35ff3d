/* config.json readers of the GPT-NeoX, GPT-J, OPT, Falcon, StarCoder2, Phi, BLOOM, GPT-Neo and GPTBigCode families: the
 * fields transformers reads (with its defaults and older spellings) and what they refuse by
 * name. Their forward passes are checked against transformers by test_families. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "model/config.h"

static mhv_status parse(const char *text, mhv_config *c, mhv_error *err)
{
    memset(err, 0, sizeof *err);
    return mhv_config_parse(text, strlen(text), "config.json", c, err);
}

static void expect_ok(const char *text, mhv_config *c)
{
    mhv_error err;
    if (parse(text, c, &err) != MHV_OK)
        fail_msg("%s: %s", text, err.msg);
}

static void expect_error(const char *text, mhv_status want, const char *needle)
{
    mhv_config c;
    mhv_error err;
    mhv_status st = parse(text, &c, &err);
    if (st != want)
        fail_msg("%s: status %d, want %d (%s)", text, (int)st, (int)want, err.msg);
    assert_string_equal(err.file, "config.json");
    if (!strstr(err.msg, needle))
        fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void test_gpt_neox(void **state)
{
    (void)state;
    mhv_config c;
    /* Pythia's spelling: rotary_pct and rotary_emb_base at the top */
    expect_ok("{\"model_type\": \"gpt_neox\", \"hidden_size\": 512, \"num_attention_heads\": 8,"
              " \"rotary_pct\": 0.25, \"rotary_emb_base\": 10000, \"use_parallel_residual\": true}",
              &c);
    assert_int_equal(c.head_dim, 64);
    assert_int_equal(c.rotary_dims, 16);
    assert_true(c.rope.theta == 10000.0);
    assert_int_equal(c.parallel_residual, 1);
    assert_int_equal(c.tie_word_embeddings, 0);
    assert_int_equal(c.causal, 1);
    /* transformers 5's rope_parameters win over the older fields */
    expect_ok("{\"model_type\": \"gpt_neox\", \"hidden_size\": 512, \"num_attention_heads\": 8,"
              " \"rotary_pct\": 0.25, \"use_parallel_residual\": false, \"rope_parameters\":"
              " {\"rope_type\": \"default\", \"rope_theta\": 500, \"partial_rotary_factor\": 0.5}}",
              &c);
    assert_int_equal(c.rotary_dims, 32);
    assert_true(c.rope.theta == 500.0);
    assert_int_equal(c.parallel_residual, 0);
    /* defaults: GPTNeoXConfig's (rotary_pct 0.25 of 6144 / 64) */
    expect_ok("{\"model_type\": \"gpt_neox\"}", &c);
    assert_int_equal(c.rotary_dims, 24);
    expect_error("{\"model_type\": \"gpt_neox\", \"hidden_size\": 48, \"num_attention_heads\": 4,"
                 " \"rotary_pct\": 0.25}", MHV_EFORMAT, "are odd");
    expect_error("{\"model_type\": \"gpt_neox\", \"rope_scaling\": {\"rope_type\": \"longrope\","
                 " \"factor\": 2}}", MHV_EUNSUPPORTED, "'longrope'");
    expect_error("{\"model_type\": \"gpt_neox\", \"hidden_size\": 100, \"num_attention_heads\": 8}",
                 MHV_EFORMAT, "does not divide");
}

static void test_gptj(void **state)
{
    (void)state;
    mhv_config c;
    expect_ok("{\"model_type\": \"gptj\"}", &c); /* GPT-J 6B's shape by default */
    assert_int_equal(c.hidden_size, 4096);
    assert_int_equal(c.head_dim, 256);
    assert_int_equal(c.rotary_dims, 64);
    assert_int_equal(c.intermediate_size, 4 * 4096);
    assert_int_equal(c.act, MHV_ACT_GELU_NEW);
    expect_ok("{\"model_type\": \"gptj\", \"n_embd\": 64, \"n_head\": 1, \"rotary_dim\": null}", &c);
    assert_int_equal(c.rotary_dims, 64);
    expect_error("{\"model_type\": \"gptj\", \"n_embd\": 64, \"n_head\": 2, \"rotary_dim\": null}",
                 MHV_EFORMAT, "exceeds the head size");
    expect_error("{\"model_type\": \"gptj\", \"n_embd\": 64, \"n_head\": 4, \"rotary_dim\": 32}",
                 MHV_EFORMAT, "exceeds the head size");
    expect_error("{\"model_type\": \"gptj\", \"rotary_dim\": 7}", MHV_EFORMAT, "odd");
}

static void test_opt(void **state)
{
    (void)state;
    mhv_config c;
    expect_ok("{\"model_type\": \"opt\", \"hidden_size\": 1024, \"word_embed_proj_dim\": 512,"
              " \"do_layer_norm_before\": false, \"num_attention_heads\": 16}", &c);
    assert_int_equal(c.embedding_size, 512);
    assert_int_equal(c.pre_norm, 0);
    assert_int_equal(c.final_norm, 0);
    assert_int_equal(c.pos_offset, 2);
    assert_int_equal(c.act, MHV_ACT_RELU);
    expect_ok("{\"model_type\": \"opt\", \"_remove_final_layer_norm\": true}", &c);
    assert_int_equal(c.pre_norm, 1);
    assert_int_equal(c.final_norm, 0);
    expect_error("{\"model_type\": \"opt\", \"layer_norm_elementwise_affine\": false}",
                 MHV_EUNSUPPORTED, "layer_norm_elementwise_affine");
}

static void test_falcon(void **state)
{
    (void)state;
    mhv_config c;
    /* Falcon-7B: multi-query, the older n_head / n_layer names */
    expect_ok("{\"model_type\": \"falcon\", \"hidden_size\": 4544, \"n_head\": 71,"
              " \"n_layer\": 32, \"multi_query\": true, \"parallel_attn\": true}", &c);
    assert_int_equal(c.num_heads, 71);
    assert_int_equal(c.num_layers, 32);
    assert_int_equal(c.num_kv_heads, 1);
    assert_int_equal(c.head_dim, 64);
    /* Falcon-40B: new decoder architecture */
    expect_ok("{\"model_type\": \"falcon\", \"hidden_size\": 8192, \"num_attention_heads\": 128,"
              " \"num_kv_heads\": 8, \"new_decoder_architecture\": true}", &c);
    assert_int_equal(c.num_kv_heads, 8);
    assert_int_equal(c.split_norms, 1);
    /* Falcon-RW: ALiBi, no rotary settings read */
    expect_ok("{\"model_type\": \"falcon\", \"alibi\": true, \"multi_query\": false,"
              " \"parallel_attn\": false, \"rope_scaling\": {\"type\": \"longrope\"}}", &c);
    assert_int_equal(c.alibi, 1);
    assert_int_equal(c.parallel_residual, 0);
    expect_error("{\"model_type\": \"falcon\", \"rope_scaling\": {\"type\": \"longrope\"}}",
                 MHV_EUNSUPPORTED, "'longrope'");
    expect_error("{\"model_type\": \"falcon\", \"new_decoder_architecture\": true,"
                 " \"parallel_attn\": false}", MHV_EUNSUPPORTED, "parallel_attn");
    expect_error("{\"model_type\": \"falcon\", \"hidden_size\": 64, \"num_attention_heads\": 4,"
                 " \"multi_query\": false, \"num_kv_heads\": 2}", MHV_EFORMAT, "num_kv_heads");
    expect_error("{\"model_type\": \"falcon\", \"hidden_size\": 64, \"num_attention_heads\": 4,"
                 " \"new_decoder_architecture\": true, \"num_kv_heads\": 3}", MHV_EFORMAT,
                 "does not divide");
}

static void test_starcoder2(void **state)
{
    (void)state;
    mhv_config c;
    expect_ok("{\"model_type\": \"starcoder2\", \"sliding_window\": 4096}", &c);
    assert_int_equal(c.sliding_window, 4096);
    assert_int_equal(c.num_kv_heads, 2);
    assert_int_equal(c.attn_bias, 1);
    expect_ok("{\"model_type\": \"starcoder2\", \"sliding_window\": null, \"use_bias\": false}",
              &c);
    assert_int_equal(c.sliding_window, 0);
    assert_int_equal(c.attn_bias, 0);
    expect_error("{\"model_type\": \"starcoder2\", \"sliding_window\": 0}", MHV_EFORMAT,
                 "sliding_window");
    expect_error("{\"model_type\": \"starcoder2\", \"num_key_value_heads\": 5}", MHV_EFORMAT,
                 "does not divide");
}

static void test_phi(void **state)
{
    (void)state;
    mhv_config c;
    /* Phi-2's spelling */
    expect_ok("{\"model_type\": \"phi\", \"hidden_size\": 2560, \"num_attention_heads\": 32,"
              " \"partial_rotary_factor\": 0.4, \"rope_theta\": 10000.0, \"rope_scaling\": null}",
              &c);
    assert_int_equal(c.head_dim, 80);
    assert_int_equal(c.rotary_dims, 32);
    assert_int_equal(c.parallel_residual, 1);
    expect_ok("{\"model_type\": \"phi\"}", &c); /* partial_rotary_factor 0.5 by default */
    assert_int_equal(c.rotary_dims, 32);
    expect_ok("{\"model_type\": \"phi\", \"qk_layernorm\": true}", &c);
    assert_int_equal(c.qk_norm, MHV_QK_NORM_HEAD);
}

static void test_bloom(void **state)
{
    (void)state;
    mhv_config c;
    /* bigscience/bloom-560m's fields (n_layer/n_head, also readable as the standard names) */
    expect_ok("{\"model_type\": \"bloom\", \"hidden_size\": 1024, \"n_head\": 16,"
              " \"n_layer\": 24, \"vocab_size\": 250880,"
              " \"apply_residual_connection_post_layernorm\": false}", &c);
    assert_int_equal(c.num_heads, 16);
    assert_int_equal(c.num_layers, 24);
    assert_int_equal(c.intermediate_size, 4096);
    assert_int_equal(c.residual_post_norm, 0);
    expect_ok("{\"model_type\": \"bloom\", \"n_embed\": 96, \"num_attention_heads\": 6,"
              " \"num_hidden_layers\": 3, \"apply_residual_connection_post_layernorm\": true}",
              &c);
    assert_int_equal(c.hidden_size, 96);
    assert_int_equal(c.num_heads, 6);
    assert_int_equal(c.num_layers, 3);
    assert_int_equal(c.residual_post_norm, 1);
    expect_error("{\"model_type\": \"bloom\", \"hidden_size\": 100, \"n_head\": 8}",
                 MHV_EFORMAT, "does not divide");
}

static void test_gpt_neo(void **state)
{
    (void)state;
    mhv_config c;
    /* TinyStories-33M's fields */
    expect_ok("{\"model_type\": \"gpt_neo\", \"hidden_size\": 768, \"num_heads\": 16,"
              " \"num_layers\": 4, \"window_size\": 256, \"attention_types\":"
              " [[[\"global\", \"local\"], 2]], \"attention_layers\": [\"global\", \"local\","
              " \"global\", \"local\"]}", &c);
    assert_int_equal(c.num_layers, 4);
    assert_int_equal(c.intermediate_size, 4 * 768);
    assert_int_equal(mhv_config_layer_slides(&c, 0), 0);
    assert_int_equal(mhv_config_layer_slides(&c, 1), 1);
    assert_int_equal(mhv_config_layer_slides(&c, 2), 0);
    assert_int_equal(mhv_config_layer_slides(&c, 3), 1);
    assert_int_equal(c.sliding_window, 256);
    expect_ok("{\"model_type\": \"gpt_neo\"}", &c); /* 24 layers, global and local */
    assert_int_equal(c.num_layers, 24);
    assert_int_equal(mhv_config_layer_slides(&c, 23), 1);
    expect_error("{\"model_type\": \"gpt_neo\", \"num_layers\": 3, \"attention_types\":"
                 " [[[\"global\", \"local\"], 1]]}", MHV_EFORMAT, "list 2 layers");
    expect_error("{\"model_type\": \"gpt_neo\", \"num_layers\": 1, \"attention_types\":"
                 " [[[\"sparse\"], 1]]}", MHV_EUNSUPPORTED, "attention type");
    expect_error("{\"model_type\": \"gpt_neo\", \"num_layers\": 2}", MHV_EFORMAT,
                 "default attention_types");
}

static void test_gpt_bigcode(void **state)
{
    (void)state;
    mhv_config c;
    expect_ok("{\"model_type\": \"gpt_bigcode\", \"n_embd\": 6144, \"n_head\": 48,"
              " \"n_layer\": 40, \"n_positions\": 8192, \"multi_query\": true}", &c);
    assert_int_equal(c.num_kv_heads, 1);
    assert_int_equal(c.head_dim, 128);
    assert_int_equal(c.intermediate_size, 4 * 6144);
    assert_int_equal(c.act, MHV_ACT_GELU_NEW);
    expect_ok("{\"model_type\": \"gpt_bigcode\", \"multi_query\": false,"
              " \"scale_attn_weights\": false}", &c);
    assert_int_equal(c.num_kv_heads, 12);
    assert_true(c.attn_scale == 1.0);
    expect_error("{\"model_type\": \"gpt_bigcode\", \"add_cross_attention\": true}",
                 MHV_EUNSUPPORTED, "add_cross_attention is not supported");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gpt_neox), cmocka_unit_test(test_gptj),
        cmocka_unit_test(test_opt),      cmocka_unit_test(test_falcon),
        cmocka_unit_test(test_starcoder2), cmocka_unit_test(test_phi),
        cmocka_unit_test(test_bloom),     cmocka_unit_test(test_gpt_neo),
        cmocka_unit_test(test_gpt_bigcode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
