#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "model/config.h"

/* The real bert-base-chinese config.json (Apache-2.0; the file is in ../shared/data/bert-base-chinese). */
static const char bert_base_chinese[] =
    "{\"architectures\": [\"BertForMaskedLM\"], \"attention_probs_dropout_prob\": 0.1,"
    " \"directionality\": \"bidi\", \"hidden_act\": \"gelu\", \"hidden_dropout_prob\": 0.1,"
    " \"hidden_size\": 768, \"initializer_range\": 0.02, \"intermediate_size\": 3072,"
    " \"layer_norm_eps\": 1e-12, \"max_position_embeddings\": 512, \"model_type\": \"bert\","
    " \"num_attention_heads\": 12, \"num_hidden_layers\": 12, \"pad_token_id\": 0,"
    " \"pooler_fc_size\": 768, \"pooler_num_attention_heads\": 12, \"pooler_num_fc_layers\": 3,"
    " \"pooler_size_per_head\": 128, \"pooler_type\": \"first_token_transform\","
    " \"type_vocab_size\": 2, \"vocab_size\": 21128}";

static void test_real_config(void **state)
{
    (void)state;
    mhv_config c;
    mhv_error err = {0};
    assert_int_equal(mhv_config_parse(bert_base_chinese, strlen(bert_base_chinese), "config.json",
                                      &c, &err),
                     MHV_OK);
    assert_string_equal(c.arch, "bert");
    assert_int_equal(c.hidden_size, 768);
    assert_int_equal(c.num_layers, 12);
    assert_int_equal(c.num_heads, 12);
    assert_int_equal(c.head_dim, 64);
    assert_int_equal(c.intermediate_size, 3072);
    assert_int_equal(c.vocab_size, 21128);
    assert_int_equal(c.max_positions, 512);
    assert_int_equal(c.type_vocab_size, 2);
    assert_float_equal(c.layer_norm_eps, 1e-12f, 1e-18f);
    assert_int_equal(c.act, MHV_ACT_GELU);
    assert_int_equal(c.causal, 0);
}

/* Replaces `"key": old` in the real config with `"key": value` (or appends it). */
static mhv_status parse_with(const char *key, const char *value, mhv_error *err, mhv_config *c)
{
    char text[4096], pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *at = strstr(bert_base_chinese, pat);
    if (at) {
        const char *end = at + strlen(pat);
        while (*end && *end != ',' && *end != '}')
            end++;
        snprintf(text, sizeof text, "%.*s\"%s\": %s%s", (int)(at - bert_base_chinese),
                 bert_base_chinese, key, value, end);
    } else {
        snprintf(text, sizeof text, "%.*s, \"%s\": %s}", (int)strlen(bert_base_chinese) - 1,
                 bert_base_chinese, key, value);
    }
    return mhv_config_parse(text, strlen(text), "config.json", c, err);
}

static void expect_error(const char *key, const char *value, mhv_status want, const char *needle)
{
    mhv_config c;
    mhv_error err = {0};
    assert_int_equal(parse_with(key, value, &err, &c), want);
    assert_string_equal(err.file, "config.json");
    if (!strstr(err.msg, needle))
        fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void test_variants(void **state)
{
    (void)state;
    mhv_config c;
    assert_int_equal(parse_with("hidden_act", "\"gelu_new\"", NULL, &c), MHV_OK);
    assert_int_equal(c.act, MHV_ACT_GELU_NEW);
    assert_int_equal(parse_with("hidden_act", "\"relu\"", NULL, &c), MHV_OK);
    assert_int_equal(c.act, MHV_ACT_RELU);
    assert_int_equal(parse_with("layer_norm_eps", "1e-5", NULL, &c), MHV_OK);
    assert_float_equal(c.layer_norm_eps, 1e-5f, 1e-12f);
    assert_int_equal(parse_with("position_embedding_type", "\"absolute\"", NULL, &c), MHV_OK);
    /* old configs without model_type are BERT */
    const char old[] = "{\"hidden_size\": 8, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,"
                       " \"intermediate_size\": 16, \"vocab_size\": 10}";
    assert_int_equal(mhv_config_parse(old, strlen(old), "c", &c, NULL), MHV_OK);
    assert_int_equal(c.max_positions, 512);
    assert_int_equal(c.type_vocab_size, 2);
    assert_int_equal(c.act, MHV_ACT_GELU);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("num_attention_heads", "7", MHV_EFORMAT, "does not divide hidden_size");
    expect_error("num_hidden_layers", "1000000000", MHV_EFORMAT, "num_hidden_layers");
    expect_error("num_hidden_layers", "0", MHV_EFORMAT, "outside");
    expect_error("hidden_size", "-768", MHV_EFORMAT, "outside");
    expect_error("hidden_size", "\"768\"", MHV_EFORMAT, "not a number");
    expect_error("hidden_size", "768.5", MHV_EFORMAT, "not an integer");
    expect_error("vocab_size", "1e300", MHV_EFORMAT, "vocab_size");
    expect_error("hidden_act", "\"swiglu_magic\"", MHV_EUNSUPPORTED, "swiglu_magic");
    expect_error("hidden_act", "3", MHV_EFORMAT, "hidden_act");
    expect_error("model_type", "\"rwkv\"", MHV_EUNSUPPORTED, "rwkv");
    /* a decoder model_type is parsed by its own rules: BERT's field names are not GPT-2's */
    expect_error("model_type", "\"gpt2\"", MHV_EFORMAT, "missing field 'n_embd'");
    expect_error("model_type", "\"xlnet\"", MHV_EUNSUPPORTED, "'mhaviz info --families' lists");
    expect_error("model_type", "\"GPT-NEOX\"", MHV_EUNSUPPORTED, "did you mean 'gpt_neox'?");
    expect_error("model_type", "null", MHV_EFORMAT, "model_type");
    expect_error("layer_norm_eps", "-1", MHV_EFORMAT, "layer_norm_eps");
    expect_error("position_embedding_type", "\"relative_key\"", MHV_EUNSUPPORTED,
                 "position_embedding_type");

    mhv_config c;
    mhv_error err = {0};
    assert_int_equal(mhv_config_parse("{", 1, "config.json", &c, &err), MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "not valid JSON"));
    assert_int_equal(mhv_config_parse("[1]", 3, "config.json", &c, &err), MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "not a JSON object"));
    assert_int_equal(mhv_config_parse("{}", 2, "config.json", &c, &err), MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "missing field 'hidden_size'"));
    assert_int_equal(mhv_config_load("tests/no/such/config.json", &c, &err), MHV_EIO);
    assert_non_null(strstr(err.file, "tests/no/such/config.json"));
    assert_int_equal(mhv_config_load("tests", &c, &err), MHV_EIO);
    assert_non_null(strstr(err.msg, "not a regular file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_config),
        cmocka_unit_test(test_variants),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
