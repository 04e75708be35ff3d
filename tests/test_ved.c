/* Vision encoder-decoders (lib/model/ved.c: VisionEncoderDecoderModel with a ViT, DeiT or
 * BEiT encoder and TrOCR's, GPT-2's or BERT's decoder) against transformers: each golden
 * tests/fixtures/goldens/ved-*.json (tests/gen/fam_vision_encoder_decoder.py) names a
 * fixture checkpoint and holds the pixel values its image processor made of
 * tests/fixtures/ved/line.png; every head of the encoder (over [CLS], [DIST] and the
 * patches), the decoder and the cross-attention must match transformers' eager attention
 * (float64 run) within the golden's tolerance, on 1 and 2 threads with the same bytes and
 * with the scalar kernels; the last position's logits too, and generate()'s ids (greedy and
 * beam search under the fixture's generation_config.json). The fixture's preprocessing of
 * the PNG (media/preprocess.h) gives those pixel values within one 8-bit level. Also the
 * refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/image.h"
#include "media/preprocess.h"
#include "model/config.h"
#include "model/forward.h"
#include "model/generate.h"

#include "stack_expect.h"
#include "testutil.h"

#define LOGIT_TOL 1e-4

/* pixels (3, S, S) of the golden */
static float *golden_pixels(const cJSON *g, int S)
{
    const cJSON *px = cJSON_GetObjectItem(g, "pixels");
    assert_int_equal(cJSON_GetArraySize(px), 3);
    float *f = malloc((size_t)3 * (size_t)S * (size_t)S * sizeof *f);
    for (int ch = 0; ch < 3; ch++) {
        const cJSON *plane = cJSON_GetArrayItem(px, ch);
        assert_int_equal(cJSON_GetArraySize(plane), S);
        for (int y = 0; y < S; y++) {
            const cJSON *row = cJSON_GetArrayItem(plane, y);
            assert_int_equal(cJSON_GetArraySize(row), S);
            for (int x = 0; x < S; x++)
                f[((size_t)ch * (size_t)S + (size_t)y) * (size_t)S + (size_t)x] =
                    (float)cJSON_GetArrayItem(row, x)->valuedouble;
        }
    }
    return f;
}

/* The fixture's own preprocessing of the image against the golden's pixels. */
static void check_preprocess(const char *dir, const char *image, const float *want, int S)
{
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/%s", image);
    mhv_preprocess pp;
    mhv_image raw;
    mhv_error err = {0};
    if (mhv_preprocess_load(dir, S, &pp, &err) || mhv_image_read(path, &raw, &err))
        fail_msg("%s: %s", err.file, err.msg);
    int W, H;
    assert_int_equal(mhv_preprocess_size(&pp, raw.width, raw.height, &W, &H, path, &err), 0);
    assert_int_equal(W, S);
    assert_int_equal(H, S);
    float *px = malloc((size_t)3 * (size_t)S * (size_t)S * sizeof *px);
    if (mhv_preprocess_run(&pp, &raw, H, W, px, NULL, path, &err))
        fail_msg("%s: %s", err.file, err.msg);
    double level = 1.0 / 255 / 0.5 + 1e-6; /* one 8-bit level after normalising by 0.5 */
    for (size_t i = 0; i < (size_t)3 * (size_t)S * (size_t)S; i++)
        if (fabs(px[i] - want[i]) > level)
            fail_msg("%s: pixel value %zu is %.7g, the processor's %.7g", dir, i, px[i],
                     want[i]);
    free(px);
    mhv_image_free(&raw);
}

static void run_with(const mhv_model *m, const char *kernel, int threads, const float *px,
                     const int32_t *tgt, int nt, const mhv_heads *sel, mhv_attn *a)
{
    mhv_forward_params p = {.threads = threads, .kernel = kernel};
    mhv_forward_ctx *c;
    mhv_error err = {0};
    if (mhv_forward_ctx_new(&p, &c, &err) ||
        mhv_forward_run_seq2seq_audio(c, m, px, tgt, nt, sel, a, &err))
        fail_msg("%s: forward: %s", m->dir, err.msg);
    mhv_forward_ctx_free(c);
}

static void check_generate(const mhv_model *m, const char *dir, const float *px,
                           const cJSON *cases)
{
    mhv_gen_config g0;
    mhv_error err = {0};
    if (mhv_gen_config_read(dir, &g0, NULL, &err))
        fail_msg("%s: %s", dir, err.msg);
    const cJSON *cs;
    int count = 0;
    cJSON_ArrayForEach(cs, cases)
    {
        mhv_gen_config g;
        assert_int_equal(mhv_gen_config_copy(&g, &g0, &err), MHV_OK);
        g.max_new_tokens = cJSON_GetObjectItem(cs, "max_new")->valueint;
        g.num_beams = cJSON_GetObjectItem(cs, "num_beams")->valueint;
        int32_t start, *ids = NULL;
        int n = 0, nw;
        assert_int_equal(mhv_gen_start(&g, "generation_config.json", &start, &err), MHV_OK);
        for (int threads = 1; threads <= 2; threads++) {
            mhv_forward_params p = {.threads = threads};
            mhv_forward_ctx *fc;
            if (mhv_forward_ctx_new(&p, &fc, &err) ||
                mhv_forward_generate_audio(fc, m, px, &start, 1, &g, &ids, &n, &err))
                fail_msg("%s: generate: %s", dir, err.msg);
            mhv_forward_ctx_free(fc);
            int32_t *want = tu_json_ids(cJSON_GetObjectItem(cs, "ids"), &nw);
            if (n != nw || memcmp(ids, want, (size_t)n * sizeof *ids) != 0)
                fail_msg("%s: generate case %d (%d beams, %d threads): %d ids unlike "
                         "transformers' %d", dir, count, g.num_beams, threads, n, nw);
            free(want);
            free(ids);
        }
        mhv_gen_config_free(&g);
        count++;
    }
    assert_true(count > 0);
    mhv_gen_config_free(&g0);
}

static void check_golden(const char *file)
{
    char path[1024];
    cJSON *g;
    const char *fixture;
    double tol;
    mhv_model *m = tu_open_golden(file, &g, &fixture, &tol);
    snprintf(path, sizeof path, "tests/fixtures/%s", fixture); /* read below */
    mhv_error err = {0};
    const mhv_config *c = &m->cfg;
    assert_true(c->enc_dec && c->image_enc_dec && c->audio_positions > 0);
    float *px = golden_pixels(g, c->image_size);
    check_preprocess(path, cJSON_GetObjectItem(g, "image")->valuestring, px, c->image_size);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse_seq2seq("all", c->num_layers, c->dec_layers, c->num_heads,
                                             &sel, NULL), 0);
    const cJSON *s;
    int count = 0;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(g, "sentences"))
    {
        int nt;
        int32_t *tgt = tu_json_ids(cJSON_GetObjectItem(s, "tgt_ids"), &nt);
        mhv_attn a1, a2, as;
        run_with(m, NULL, 1, px, tgt, nt, &sel, &a1);
        run_with(m, NULL, 2, px, tgt, nt, &sel, &a2);
        run_with(m, "scalar", 1, px, tgt, nt, &sel, &as);
        assert_int_equal(a1.n_src, c->audio_positions);
        assert_int_equal(a1.n_tgt, nt);
        static const char *const keys[] = {"encoder", "decoder", "cross"};
        static const mhv_stack stacks[] = {MHV_STACK_ENCODER, MHV_STACK_DECODER,
                                           MHV_STACK_CROSS};
        int total = 0;
        for (int k = 0; k < 3; k++) {
            const cJSON *want = cJSON_GetObjectItem(s, keys[k]);
            int seen = 0, seen_s = 0;
            double w1 = compare_stack(&a1, stacks[k], want, &seen);
            double ws = compare_stack(&as, stacks[k], want, &seen_s);
            /* each stack's own heads: the golden's count per layer */
            int heads = cJSON_GetArraySize(cJSON_GetArrayItem(want, 0));
            assert_int_equal(seen, cJSON_GetArraySize(want) * heads);
            total += seen;
            if (w1 > tol || ws > tol)
                fail_msg("%s sentence %d: %s attention differs by %.3g (scalar %.3g) > %.3g",
                         fixture, count, keys[k], w1, ws, tol);
        }
        assert_int_equal(total, a1.count);
        size_t cells = 0;
        for (int h = 0; h < a1.count; h++)
            cells += (size_t)a1.heads[h].rows * (size_t)a1.heads[h].cols;
        if (memcmp(a1.buf, a2.buf, cells * sizeof(float)) != 0)
            fail_msg("%s sentence %d: 1 and 2 threads differ", fixture, count);
        mhv_attn_free(&a1), mhv_attn_free(&a2), mhv_attn_free(&as);
        const cJSON *lg = cJSON_GetObjectItem(s, "logits_last");
        int V = c->dec_vocab_size;
        assert_int_equal(cJSON_GetArraySize(lg), V);
        float *logits = malloc((size_t)nt * (size_t)V * sizeof *logits);
        mhv_forward_params p = {.threads = 2};
        mhv_forward_ctx *fc;
        if (mhv_forward_ctx_new(&p, &fc, &err) ||
            mhv_forward_seq2seq_logits_audio(fc, m, px, tgt, nt, logits, &err))
            fail_msg("%s: logits: %s", fixture, err.msg);
        mhv_forward_ctx_free(fc);
        for (int v = 0; v < V; v++) {
            double want_l = cJSON_GetArrayItem(lg, v)->valuedouble;
            double got = logits[(size_t)(nt - 1) * (size_t)V + (size_t)v];
            if (fabs(got - want_l) > LOGIT_TOL * (1 + fabs(want_l)))
                fail_msg("%s sentence %d: logit %d is %.7g, want %.7g", fixture, count, v,
                         got, want_l);
        }
        free(logits);
        free(tgt);
        count++;
    }
    assert_true(count > 0);
    check_generate(m, path, px, cJSON_GetObjectItem(g, "generate"));
    print_message("%s: %d targets within %.2g, generate\n", fixture, count, tol);
    free(px);
    mhv_heads_free(&sel);
    mhv_model_close(m);
    cJSON_Delete(g);
}

static int is_ved_golden(const struct dirent *d)
{
    size_t len = strlen(d->d_name);
    return strncmp(d->d_name, "ved-", 4) == 0 && len > 5 &&
           strcmp(d->d_name + len - 5, ".json") == 0;
}

static void test_goldens(void **state)
{
    (void)state;
    struct dirent **list;
    int n = scandir("tests/fixtures/goldens", &list, is_ved_golden, alphasort);
    assert_int_equal(n, 5);
    for (int i = 0; i < n; i++) {
        check_golden(list[i]->d_name);
        free(list[i]);
    }
    free(list);
}

static void test_refusals(void **state)
{
    (void)state;
    mhv_model *m;
    mhv_error err = {0};
    assert_int_equal(mhv_model_open("tests/fixtures/ved-vit-trocr", &m, &err), MHV_OK);
    const mhv_config *c = &m->cfg;
    /* ViT's 4 heads, TrOCR's 6: the selection is as wide as the wider stack */
    assert_int_equal(c->num_heads, 6);
    assert_int_equal(c->audio_positions, 17);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse_seq2seq("all", c->num_layers, c->dec_layers, c->num_heads,
                                             &sel, NULL), 0);
    mhv_forward_ctx *fc;
    mhv_forward_params p = {.threads = 1};
    assert_int_equal(mhv_forward_ctx_new(&p, &fc, &err), MHV_OK);
    int32_t ids[3] = {2, 5, 6};
    mhv_attn a;
    assert_int_equal(mhv_forward_run_seq2seq(fc, m, ids, 3, ids, 3, &sel, &a, &err), MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "takes an image, not source token ids"));
    assert_int_equal(mhv_forward_run_seq2seq_audio(fc, m, NULL, ids, 3, &sel, &a, &err),
                     MHV_EUSAGE);
    mhv_forward_ctx_free(fc);
    mhv_heads_free(&sel);
    mhv_model_close(m);
    mhv_config cfg;
    const char *bad[][2] = {
        {"{\"model_type\": \"vision-encoder-decoder\", \"encoder\": {\"model_type\": \"swin\"}, "
         "\"decoder\": {\"model_type\": \"trocr\"}}",
         "swin"},
        {"{\"model_type\": \"vision-encoder-decoder\", \"encoder\": {\"model_type\": "
         "\"donut-swin\"}, \"decoder\": {\"model_type\": \"mbart\"}}",
         "encoder model_type 'donut-swin' is not supported in vision-encoder-decoder"},
        {"{\"model_type\": \"vision-encoder-decoder\", \"encoder\": {\"model_type\": "
         "\"dinov2\"}, \"decoder\": {\"model_type\": \"trocr\"}}",
         "encoder model_type 'dinov2' is not supported in vision-encoder-decoder"},
        {"{\"model_type\": \"vision-encoder-decoder\", \"encoder\": {\"model_type\": \"vit\"}, "
         "\"decoder\": {\"model_type\": \"gpt2\"}}",
         "a gpt2 decoder without add_cross_attention is not supported"},
        {"{\"model_type\": \"vision-encoder-decoder\", \"encoder\": {\"model_type\": \"vit\"}, "
         "\"decoder\": {\"model_type\": \"gpt2\", \"add_cross_attention\": true, "
         "\"scale_attn_by_inverse_layer_idx\": true}}",
         "the gpt2 decoder's scale_attn_by_inverse_layer_idx is not supported"},
        {"{\"model_type\": \"vision-encoder-decoder\", \"encoder\": {\"model_type\": \"vit\"}, "
         "\"decoder\": {\"model_type\": \"bert\", \"is_decoder\": true}}",
         "a bert decoder without is_decoder and add_cross_attention is not supported"},
        {"{\"model_type\": \"vision-encoder-decoder\", \"encoder\": {\"model_type\": \"vit\"}, "
         "\"decoder\": {\"model_type\": \"bert\", \"is_decoder\": true, \"add_cross_attention\": "
         "true, \"position_embedding_type\": \"relative_key\"}}",
         "position_embedding_type 'relative_key' is not supported (absolute is)"},
        {"{\"model_type\": \"vision-encoder-decoder\", \"encoder\": {\"model_type\": \"vit\"}, "
         "\"decoder\": {\"model_type\": \"roberta\", \"is_decoder\": true}}",
         "decoder model_type 'roberta' is not supported in vision-encoder-decoder (trocr, gpt2 "
         "and bert are)"},
        {"{\"model_type\": \"vision-encoder-decoder\", \"encoder\": {\"model_type\": \"vit\"}, "
         "\"decoder\": {\"model_type\": \"trocr\", \"cross_attention_hidden_size\": 512}}",
         "cross_attention_hidden_size 512 is not the encoder's hidden_size 768"},
        {"{\"model_type\": \"vision-encoder-decoder\", \"encoder\": {\"model_type\": \"vit\"}}",
         "missing object 'decoder'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (mhv_config_parse(bad[i][0], strlen(bad[i][0]), "config.json", &cfg, &err) == MHV_OK ||
            !strstr(err.msg, bad[i][1]))
            fail_msg("%s: '%s'", bad[i][0], err.msg);
    }
    /* trocr-base's shape: ViT-base (12 heads, 768) and TrOCR's defaults (16 heads, 1024) */
    const char *ok = "{\"model_type\": \"vision-encoder-decoder\", \"encoder\": {\"model_type\": "
                     "\"vit\", \"image_size\": 384}, \"decoder\": {\"model_type\": \"trocr\"}}";
    assert_int_equal(mhv_config_parse(ok, strlen(ok), "config.json", &cfg, &err), MHV_OK);
    assert_int_equal(cfg.audio_positions, 1 + 24 * 24);
    assert_int_equal(cfg.num_heads, 16);
    assert_int_equal(cfg.head_dim, 64);
    assert_int_equal(cfg.hidden_size, 1024);
    assert_int_equal(cfg.ved_enc_proj, 1);
    assert_int_equal(cfg.decoder_start_id, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goldens),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
