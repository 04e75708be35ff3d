/* config.json of the encoders added with data2vec-text, XLM-RoBERTa-XL and Megatron-BERT (and
 * the others of tests/gen/fam_*.py that followed them): the defaults of their transformers
 * config classes and what is refused by name rather than approximated. Their forward passes
 * are checked against transformers by tests/test_families.c. */
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

static void test_data2vec_text(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"data2vec-text\"}", &c); /* Data2VecTextConfig's defaults */
    assert_string_equal(c.arch, "data2vec-text");
    assert_int_equal(c.hidden_size, 768);
    assert_int_equal(c.num_layers, 12);
    assert_int_equal(c.num_heads, 12);
    assert_int_equal(c.intermediate_size, 3072);
    assert_int_equal(c.vocab_size, 30522);
    assert_int_equal(c.type_vocab_size, 2);
    assert_int_equal(c.pad_id, 1);
    assert_int_equal(c.pos_offset, 2);
    assert_int_equal(c.max_positions, 510);
    assert_int_equal(c.act, MHV_ACT_GELU);
    assert_true(fabsf(c.layer_norm_eps - 1e-12f) < 1e-18f);
    config_ok("{\"model_type\": \"data2vec-text\", \"pad_token_id\": 3, "
              "\"max_position_embeddings\": 40}", &c);
    assert_int_equal(c.pos_offset, 4);
    assert_int_equal(c.max_positions, 36);
    config_refused("{\"model_type\": \"data2vec-text\", \"is_decoder\": true}",
                   "is_decoder is not supported");
    config_refused("{\"model_type\": \"data2vec-text\", \"position_embedding_type\": "
                   "\"relative_key\"}", "position_embedding_type");
    config_refused("{\"model_type\": \"data2vec-text\", \"pad_token_id\": 1, "
                   "\"max_position_embeddings\": 2}", "leaves no position");
}

static void test_xlm_roberta_xl(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"xlm-roberta-xl\"}", &c); /* XLMRobertaXLConfig's defaults */
    assert_string_equal(c.arch, "xlm-roberta-xl");
    assert_int_equal(c.hidden_size, 2560);
    assert_int_equal(c.num_layers, 36);
    assert_int_equal(c.num_heads, 32);
    assert_int_equal(c.intermediate_size, 10240);
    assert_int_equal(c.vocab_size, 250880);
    assert_int_equal(c.type_vocab_size, 1);
    assert_int_equal(c.max_positions, 514 - 2);
    assert_int_equal(c.pad_id, 1);
    assert_true(fabsf(c.layer_norm_eps - 1e-5f) < 1e-12f);
    config_refused("{\"model_type\": \"xlm-roberta-xl\", \"add_cross_attention\": true}",
                   "add_cross_attention is not supported");
    config_refused("{\"model_type\": \"xlm-roberta-xl\", \"hidden_size\": 30, "
                   "\"num_attention_heads\": 4}", "num_attention_heads");
}

static void test_megatron_bert(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"megatron-bert\"}", &c); /* MegatronBertConfig's defaults */
    assert_string_equal(c.arch, "megatron-bert");
    assert_int_equal(c.hidden_size, 1024);
    assert_int_equal(c.num_layers, 24);
    assert_int_equal(c.num_heads, 16);
    assert_int_equal(c.intermediate_size, 4096);
    assert_int_equal(c.vocab_size, 29056);
    assert_int_equal(c.max_positions, 512);
    assert_int_equal(c.type_vocab_size, 2);
    assert_int_equal(c.pos_offset, 0);
    assert_int_equal(c.pad_positions, 0);
    assert_true(fabsf(c.layer_norm_eps - 1e-12f) < 1e-18f);
    config_refused("{\"model_type\": \"megatron-bert\", \"is_decoder\": true}",
                   "is_decoder is not supported");
    config_refused("{\"model_type\": \"megatron-bert\", \"hidden_act\": \"swishy\"}",
                   "hidden_act");
}

static void test_roformer(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"roformer\"}", &c); /* RoFormerConfig's defaults */
    assert_string_equal(c.arch, "roformer");
    assert_int_equal(c.hidden_size, 768);
    assert_int_equal(c.num_layers, 12);
    assert_int_equal(c.num_heads, 12);
    assert_int_equal(c.head_dim, 64);
    assert_int_equal(c.intermediate_size, 3072);
    assert_int_equal(c.vocab_size, 50000);
    assert_int_equal(c.max_positions, 1536);
    assert_int_equal(c.type_vocab_size, 2);
    assert_int_equal(c.embedding_size, 768); /* null: hidden_size */
    assert_int_equal(c.pos_offset, 0);
    assert_int_equal(c.tie_word_embeddings, 1);
    assert_true(fabsf(c.layer_norm_eps - 1e-12f) < 1e-18f);
    config_ok("{\"model_type\": \"roformer\", \"embedding_size\": null, \"hidden_size\": 64, "
              "\"num_attention_heads\": 4}", &c);
    assert_int_equal(c.embedding_size, 64);
    config_ok("{\"model_type\": \"roformer\", \"embedding_size\": 128, \"rotary_value\": false}",
              &c);
    assert_int_equal(c.embedding_size, 128);
    assert_int_equal(c.rotary_value, 0);
    config_ok("{\"model_type\": \"roformer\", \"rotary_value\": true}", &c);
    assert_int_equal(c.rotary_value, 1);
    config_refused("{\"model_type\": \"roformer\", \"rotary_value\": 2}", "rotary_value");
    config_refused("{\"model_type\": \"roformer\", \"is_decoder\": true}",
                   "is_decoder is not supported");
    config_refused("{\"model_type\": \"roformer\", \"add_cross_attention\": true}",
                   "add_cross_attention is not supported");
    config_refused("{\"model_type\": \"roformer\", \"hidden_size\": 36, "
                   "\"num_attention_heads\": 4}", "head size 9 is odd");
    config_refused("{\"model_type\": \"roformer\", \"embedding_size\": 0}", "embedding_size");
}

static void test_mobilebert(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"mobilebert\"}", &c); /* MobileBertConfig's defaults */
    assert_string_equal(c.arch, "mobilebert");
    assert_int_equal(c.hidden_size, 512);
    assert_int_equal(c.num_layers, 24);
    assert_int_equal(c.num_heads, 4);
    assert_int_equal(c.intermediate_size, 512);
    assert_int_equal(c.vocab_size, 30522);
    assert_int_equal(c.max_positions, 512);
    assert_int_equal(c.embedding_size, 128);
    assert_int_equal(c.mb_inner, 128);
    assert_int_equal(c.head_dim, 32); /* of the inner width */
    assert_int_equal(c.mb_trigram, 1);
    assert_int_equal(c.mb_bottleneck, 1);
    assert_int_equal(c.mb_bottleneck_attn, 0);
    assert_int_equal(c.mb_shared_qk, 1);
    assert_int_equal(c.mb_ffns, 4);
    assert_int_equal(c.mb_no_norm, 1);
    assert_int_equal(c.act, MHV_ACT_RELU);
    config_ok("{\"model_type\": \"mobilebert\", \"use_bottleneck\": false, "
              "\"normalization_type\": \"layer_norm\"}", &c);
    assert_int_equal(c.mb_inner, 512); /* true_hidden_size: hidden_size */
    assert_int_equal(c.head_dim, 128);
    assert_int_equal(c.mb_no_norm, 0);
    config_refused("{\"model_type\": \"mobilebert\", \"normalization_type\": \"rms_norm\"}",
                   "normalization_type 'rms_norm' is not supported");
    config_refused("{\"model_type\": \"mobilebert\", \"intra_bottleneck_size\": 130}",
                   "does not divide the attention width 130");
    config_refused("{\"model_type\": \"mobilebert\", \"key_query_shared_bottleneck\": false}",
                   "needs intra_bottleneck_size 128 equal to hidden_size 512");
    config_refused("{\"model_type\": \"mobilebert\", \"num_feedforward_networks\": 0}",
                   "num_feedforward_networks");
}

static void test_longformer(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"longformer\", \"num_hidden_layers\": 3}", &c);
    assert_string_equal(c.arch, "longformer");
    assert_int_equal(c.hidden_size, 768); /* LongformerConfig's defaults */
    assert_int_equal(c.vocab_size, 30522);
    assert_int_equal(c.type_vocab_size, 2);
    assert_int_equal(c.pad_id, 1);
    assert_int_equal(c.max_positions, 510);
    for (int l = 0; l < 3; l++)
        assert_int_equal(c.attn_window[l], 257); /* 512: 256 keys either side */
    assert_int_equal(c.attn_window[3], 0);
    config_ok("{\"model_type\": \"longformer\", \"num_hidden_layers\": 2, "
              "\"attention_window\": [4, 8]}", &c);
    assert_int_equal(c.attn_window[0], 3);
    assert_int_equal(c.attn_window[1], 5);
    config_ok("{\"model_type\": \"longformer\", \"num_hidden_layers\": 2, "
              "\"attention_window\": 2}", &c);
    assert_int_equal(c.attn_window[1], 2);
    config_refused("{\"model_type\": \"longformer\", \"attention_window\": 5}",
                   "attention_window");
    config_refused("{\"model_type\": \"longformer\", \"attention_window\": 0}",
                   "attention_window");
    config_refused("{\"model_type\": \"longformer\", \"num_hidden_layers\": 2, "
                   "\"attention_window\": [4]}", "lists 1 windows for 2 layers");
    config_refused("{\"model_type\": \"longformer\", \"num_hidden_layers\": 1, "
                   "\"attention_window\": [\"4\"]}", "attention_window");
    /* the other BERT model_types have no window */
    config_ok("{\"model_type\": \"data2vec-text\", \"attention_window\": 4}", &c);
    assert_int_equal(c.attn_window[0], 0);
}

static void test_squeezebert(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"squeezebert\"}", &c); /* SqueezeBertConfig's defaults */
    assert_string_equal(c.arch, "squeezebert");
    assert_int_equal(c.hidden_size, 768);
    assert_int_equal(c.num_heads, 12);
    assert_int_equal(c.vocab_size, 30522);
    assert_int_equal(c.embedding_size, 768);
    static const int def[6] = {4, 4, 4, 1, 4, 4};
    for (int g = 0; g < 6; g++)
        assert_int_equal(c.sq_groups[g], def[g]);
    config_ok("{\"model_type\": \"squeezebert\", \"q_groups\": 1, \"output_groups\": 8}", &c);
    assert_int_equal(c.sq_groups[0], 1);
    assert_int_equal(c.sq_groups[5], 8);
    config_refused("{\"model_type\": \"squeezebert\", \"embedding_size\": 128}",
                   "embedding_size 128 differs from hidden_size 768");
    config_refused("{\"model_type\": \"squeezebert\", \"intermediate_groups\": 5}",
                   "intermediate_groups 5 does not divide the channels 768 -> 3072");
    config_refused("{\"model_type\": \"squeezebert\", \"k_groups\": 0}", "k_groups");
}

static void test_big_bird(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"big_bird\"}", &c); /* BigBirdConfig's defaults */
    assert_string_equal(c.arch, "big_bird");
    assert_int_equal(c.vocab_size, 50358);
    assert_int_equal(c.max_positions, 4096);
    assert_int_equal(c.act, MHV_ACT_GELU_NEW);
    assert_int_equal(c.sparse_full_max, (5 + 2 * 3) * 64); /* block_sparse by default */
    assert_int_equal(c.sparse_block, 64);
    assert_int_equal(c.sparse_random, 3);
    assert_int_equal(c.qkv_no_bias, 0);
    assert_int_equal(c.embed_rescale, 0);
    assert_int_equal(c.pos_offset, 0);
    config_ok("{\"model_type\": \"big_bird\", \"attention_type\": \"original_full\", "
              "\"rescale_embeddings\": true}", &c);
    assert_int_equal(c.sparse_full_max, 0);
    assert_int_equal(c.embed_rescale, 1);
    config_ok("{\"model_type\": \"big_bird\", \"block_size\": 4, \"num_random_blocks\": 1}",
              &c);
    assert_int_equal(c.sparse_full_max, 28);
    assert_int_equal(c.sparse_block, 4);
    assert_int_equal(c.sparse_random, 1);
    config_ok("{\"model_type\": \"big_bird\", \"use_bias\": false, \"attention_type\": "
              "\"original_full\"}", &c);
    assert_int_equal(c.qkv_no_bias, 1);
    assert_int_equal(c.sparse_full_max, 0);
    config_refused("{\"model_type\": \"big_bird\", \"attention_type\": \"sparse\"}",
                   "attention_type 'sparse' is neither original_full nor block_sparse");
    config_refused("{\"model_type\": \"big_bird\", \"is_decoder\": true}",
                   "is_decoder is not supported");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data2vec_text),
        cmocka_unit_test(test_xlm_roberta_xl),
        cmocka_unit_test(test_megatron_bert),
        cmocka_unit_test(test_roformer),
        cmocka_unit_test(test_mobilebert),
        cmocka_unit_test(test_longformer),
        cmocka_unit_test(test_squeezebert),
        cmocka_unit_test(test_big_bird),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
