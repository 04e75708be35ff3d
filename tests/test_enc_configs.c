/* config.json of ERNIE and of the Pegasus / Blenderbot encoder-decoders: the defaults of their
 * transformers config classes and what is refused by name rather than approximated. The
 * forward passes are checked against transformers by tests/test_families.c and
 * tests/test_seq2seq.c. */
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

#define ERNIE                                                                                  \
    "\"model_type\": \"ernie\", \"hidden_size\": 32, \"num_hidden_layers\": 2, "               \
    "\"num_attention_heads\": 4, \"intermediate_size\": 48, \"vocab_size\": 100"

static void test_ernie(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{" ERNIE "}", &c);
    assert_string_equal(c.arch, "ernie");
    assert_int_equal(c.task_types, 0); /* use_task_id defaults to false (ERNIE 1.0) */
    assert_int_equal(c.type_vocab_size, 2);
    assert_int_equal(c.max_positions, 512);
    assert_int_equal(c.tie_word_embeddings, 1);
    config_ok("{" ERNIE ", \"use_task_id\": true}", &c);
    assert_int_equal(c.task_types, 3); /* task_type_vocab_size's default */
    config_ok("{" ERNIE ", \"use_task_id\": true, \"task_type_vocab_size\": 16, "
       "\"tie_word_embeddings\": false}", &c);
    assert_int_equal(c.task_types, 16);
    assert_int_equal(c.tie_word_embeddings, 0);
    config_ok("{" ERNIE ", \"use_task_id\": false, \"task_type_vocab_size\": 16}", &c);
    assert_int_equal(c.task_types, 0);
    config_refused("{" ERNIE ", \"use_task_id\": true, \"task_type_vocab_size\": 0}",
            "task_type_vocab_size");
    config_refused("{" ERNIE ", \"use_task_id\": 3}", "use_task_id");
    config_refused("{" ERNIE ", \"is_decoder\": true}", "is_decoder is not supported");
    config_refused("{" ERNIE ", \"add_cross_attention\": true}", "add_cross_attention is not supported");
    /* the other BERT model_types know no task types, and refuse a decoder as well */
    config_ok("{\"model_type\": \"bert\", \"hidden_size\": 32, \"num_hidden_layers\": 2, "
       "\"num_attention_heads\": 4, \"intermediate_size\": 48, \"vocab_size\": 100, "
       "\"use_task_id\": true}", &c);
    assert_int_equal(c.task_types, 0);
    config_refused("{\"model_type\": \"roberta\", \"hidden_size\": 32, \"num_hidden_layers\": 2, "
            "\"num_attention_heads\": 4, \"intermediate_size\": 48, \"vocab_size\": 100, "
            "\"is_decoder\": true}", "is_decoder is not supported");
}

#define PEGASUS                                                                                \
    "\"model_type\": \"pegasus\", \"d_model\": 32, \"encoder_layers\": 2, "                    \
    "\"decoder_layers\": 3, \"encoder_attention_heads\": 4, \"decoder_attention_heads\": 4, "   \
    "\"encoder_ffn_dim\": 48, \"decoder_ffn_dim\": 40, \"vocab_size\": 90"

static void test_pegasus(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{" PEGASUS "}", &c);
    assert_string_equal(c.arch, "pegasus");
    assert_true(c.enc_dec && c.pre_norm && c.final_norm && c.sinusoidal);
    assert_int_equal(c.pos_offset, 0);
    assert_int_equal(c.pad_positions, 0);
    assert_int_equal(c.decoder_start_id, 0); /* PegasusConfig: the pad token */
    assert_int_equal(c.eos_id, 1);
    assert_int_equal(c.act, MHV_ACT_GELU);
    assert_true(c.embed_scale == 0);
    assert_int_equal(c.max_positions, 1024);
    assert_int_equal(c.tie_word_embeddings, 1);
    assert_int_equal(c.dec_vocab_size, 90);
    assert_int_equal(c.separate_emb, 0);
    assert_int_equal(c.dec_layers, 3);
    assert_int_equal(c.dec_intermediate_size, 40);
    config_ok("{" PEGASUS ", \"scale_embedding\": true, \"tie_word_embeddings\": false, "
       "\"activation_function\": \"relu\", \"max_position_embeddings\": 64, "
       "\"decoder_start_token_id\": 5, \"eos_token_id\": [7]}", &c);
    assert_true(fabs(c.embed_scale - sqrt(32.0)) < 1e-12);
    assert_int_equal(c.tie_word_embeddings, 0);
    assert_int_equal(c.act, MHV_ACT_RELU);
    assert_int_equal(c.max_positions, 64);
    assert_int_equal(c.decoder_start_id, 5);
    assert_int_equal(c.eos_id, 7);
    /* Marian's vocabulary fields are not Pegasus's */
    config_ok("{" PEGASUS ", \"share_encoder_decoder_embeddings\": false, \"decoder_vocab_size\": 9}",
       &c);
    assert_int_equal(c.dec_vocab_size, 90);
    assert_int_equal(c.separate_emb, 0);
    config_refused("{\"model_type\": \"pegasus\", \"d_model\": 32, \"encoder_attention_heads\": 4, "
            "\"decoder_attention_heads\": 8}", "decoder_attention_heads 8 unlike");
    config_refused("{" PEGASUS ", \"is_decoder\": true}", "is_decoder is not supported");
    config_refused("{" PEGASUS ", \"activation_function\": \"swiglu_magic\"}", "swiglu_magic");
}

static void test_blenderbot(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"blenderbot\", \"d_model\": 32, \"encoder_attention_heads\": 4, "
       "\"decoder_attention_heads\": 4}", &c);
    assert_string_equal(c.arch, "blenderbot");
    assert_true(c.enc_dec && c.pre_norm && c.final_norm && !c.sinusoidal);
    assert_int_equal(c.pos_offset, 0); /* BlenderbotLearnedPositionalEmbedding: no offset */
    assert_int_equal(c.vocab_size, 8008);
    assert_int_equal(c.max_positions, 128);
    assert_int_equal(c.num_layers, 2); /* BlenderbotConfig's (the 3B model's) sizes */
    assert_int_equal(c.dec_layers, 24);
    assert_int_equal(c.intermediate_size, 10240);
    assert_int_equal(c.dec_intermediate_size, 10240);
    assert_int_equal(c.decoder_start_id, 1);
    assert_int_equal(c.eos_id, 2);
    assert_true(c.embed_scale == 0);
    config_ok("{\"model_type\": \"blenderbot-small\", \"d_model\": 32, \"encoder_attention_heads\": 4, "
       "\"decoder_attention_heads\": 4, \"scale_embedding\": true}", &c);
    assert_string_equal(c.arch, "blenderbot-small");
    assert_true(c.enc_dec && !c.pre_norm && !c.final_norm && !c.sinusoidal);
    assert_int_equal(c.pos_offset, 0);
    assert_int_equal(c.vocab_size, 50265);
    assert_int_equal(c.max_positions, 512);
    assert_int_equal(c.num_layers, 8);
    assert_int_equal(c.dec_layers, 8);
    assert_int_equal(c.intermediate_size, 2048);
    assert_int_equal(c.decoder_start_id, 1);
    assert_true(fabs(c.embed_scale - sqrt(32.0)) < 1e-12);
    config_ok("{\"model_type\": \"blenderbot-small\"}", &c);
    assert_int_equal(c.hidden_size, 512);
    assert_int_equal(c.num_heads, 16);
    config_ok("{\"model_type\": \"blenderbot\"}", &c);
    assert_int_equal(c.hidden_size, 2560);
    assert_int_equal(c.num_heads, 32);
    config_refused("{\"model_type\": \"blenderbot-small\", \"d_model\": 32, "
            "\"encoder_attention_heads\": 4, \"decoder_attention_heads\": 2}",
            "decoder_attention_heads 2 unlike");
    config_refused("{\"model_type\": \"blenderbot\", \"d_model\": 32, \"encoder_attention_heads\": 4, "
            "\"decoder_attention_heads\": 4, \"is_decoder\": true}", "is_decoder is not supported");
}

/* DeBERTa v1: DebertaConfig's defaults; pos_att_type as a list or the "c2p|p2c" string
 * (stripped, lowercased), every entry in the scale, relative_attention or not; v2's keys
 * that transformers does not read for v1 ignored; what it cannot do refused by name. */
static void test_deberta_v1(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"deberta\"}", &c);
    assert_string_equal(c.arch, "deberta");
    assert_int_equal(c.hidden_size, 768);
    assert_int_equal(c.num_layers, 12);
    assert_int_equal(c.num_heads, 12);
    assert_int_equal(c.vocab_size, 50265);
    assert_int_equal(c.type_vocab_size, 0);
    assert_int_equal(c.pos_input, 1);
    assert_int_equal(c.rel_attention, 0);
    assert_int_equal(c.rel_scale_terms, 1);
    assert_true(fabsf(c.layer_norm_eps - 1e-7f) < 1e-12f);
    config_ok("{\"model_type\": \"deberta\", \"relative_attention\": true, \"pos_att_type\": "
       "\" C2P | p2c\", \"max_relative_positions\": -1, \"position_buckets\": 256, "
       "\"share_att_key\": true, \"norm_rel_ebd\": \"layer_norm\", \"conv_kernel_size\": 3}",
       &c);
    assert_int_equal(c.rel_c2p, 1);
    assert_int_equal(c.rel_p2c, 1);
    assert_int_equal(c.rel_scale_terms, 3);
    assert_int_equal(c.rel_max, 512);
    assert_int_equal(c.rel_span, 512);
    assert_int_equal(c.rel_buckets, 0);
    assert_int_equal(c.rel_share_key, 0);
    assert_int_equal(c.rel_norm, 0);
    config_ok("{\"model_type\": \"deberta\", \"pos_att_type\": [\"p2c\"]}", &c);
    assert_int_equal(c.rel_p2c, 0); /* no term without relative_attention */
    assert_int_equal(c.rel_scale_terms, 2); /* but the scale counts it */
    config_ok("{\"model_type\": \"deberta-v2\", \"pos_att_type\": [\"p2c\", \"c2p\"]}", &c);
    assert_int_equal(c.rel_scale_terms, 3);
    config_refused("{\"model_type\": \"deberta\", \"talking_head\": true}", "talking_head is not supported");
    config_refused("{\"model_type\": \"deberta\", \"pos_att_type\": \"c2p|p2p\"}",
            "unsupported pos_att_type 'p2p'");
    config_refused("{\"model_type\": \"deberta\", \"pos_att_type\": [\"c2p\", \"c2p\"]}",
            "pos_att_type lists 'c2p' twice");
    config_refused("{\"model_type\": \"deberta\", \"pos_att_type\": [1]}", "holds a non-string");
}

/* DeBERTa v2 and SEW-D read pos_att_type as v1 does (one parser): the string form stripped and
 * lowercased, null as absent (DebertaV2Config's None: no terms), an unknown or
 * repeated entry refused (transformers would count it in the scale without a term). */
static void test_deberta_v2_pos_att_type(void **state)
{
    (void)state;
    mhv_config c;
    config_ok("{\"model_type\": \"deberta-v2\", \"relative_attention\": true, "
              "\"pos_att_type\": \" P2C | c2p\"}", &c);
    assert_int_equal(c.rel_c2p, 1);
    assert_int_equal(c.rel_p2c, 1);
    assert_int_equal(c.rel_scale_terms, 3);
    config_ok("{\"model_type\": \"deberta-v2\", \"relative_attention\": true, "
              "\"pos_att_type\": null}", &c);
    assert_int_equal(c.rel_c2p, 0);
    assert_int_equal(c.rel_p2c, 0);
    assert_int_equal(c.rel_scale_terms, 1);
    config_ok("{\"model_type\": \"deberta-v2\", \"relative_attention\": true}", &c);
    assert_int_equal(c.rel_scale_terms, 1); /* DebertaV2Config's None */
    config_ok("{\"model_type\": \"sew-d\"}", &c);
    assert_int_equal(c.rel_scale_terms, 3); /* SEWDConfig's ("p2c", "c2p") */
    config_refused("{\"model_type\": \"deberta-v2\", \"pos_att_type\": \"c2p|foo\"}",
                   "unsupported pos_att_type 'foo'");
    config_refused("{\"model_type\": \"deberta-v2\", \"pos_att_type\": \"c2p|C2P\"}",
                   "pos_att_type lists 'c2p' twice");
    config_refused("{\"model_type\": \"deberta-v2\", \"pos_att_type\": 3}", "is not a list");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ernie),
        cmocka_unit_test(test_pegasus),
        cmocka_unit_test(test_blenderbot),
        cmocka_unit_test(test_deberta_v1),
        cmocka_unit_test(test_deberta_v2_pos_att_type),
    };
    return cmocka_run_group_tests_name("enc_configs", tests, NULL, NULL);
}
