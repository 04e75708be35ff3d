/* LLaVA against Hugging Face transformers: each golden tests/fixtures/goldens/llava-*.json
 * (made by tests/gen/fam_llava.py) holds the LlavaProcessor's ids and pixels of a prompt and
 * its image, the attention of every decoder head and of every vision tower head from
 * transformers' eager attention (float64 on the fp32-loaded weights) and the last position's
 * logits. Every head must match within the golden's tolerance on 1 and 2 threads with the
 * same bytes and with the scalar kernels; the logits within 1e-4 relative. Then what llava
 * refuses: a prompt whose image tokens are not the image's features, no image. */
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

#include "model/config.h"
#include "model/forward.h"
#include "model/generate.h"

#include "testutil.h"
#include "gen_expect.h"

#define LOGIT_TOL 1e-4

/* (C, h, w) pixels of a golden sentence. */
static float *json_pixels(const cJSON *px, int C, int *h, int *w)
{
    const cJSON *ch0 = cJSON_GetArrayItem(px, 0);
    *h = cJSON_GetArraySize(ch0);
    *w = cJSON_GetArraySize(cJSON_GetArrayItem(ch0, 0));
    assert_int_equal(cJSON_GetArraySize(px), C);
    float *p = malloc((size_t)C * (size_t)*h * (size_t)*w * sizeof *p);
    int at = 0;
    const cJSON *ch, *row, *v;
    cJSON_ArrayForEach(ch, px) cJSON_ArrayForEach(row, ch) cJSON_ArrayForEach(v, row)
    {
        assert_true(at < C * *h * *w);
        p[at++] = (float)v->valuedouble;
    }
    assert_int_equal(at, C * *h * *w);
    return p;
}

typedef struct {
    const float *px;
    int h, w;
} image;

/* the token types of the sentence run_with runs (PaliGemma's suffix), or NULL */
static const int32_t *run_types;

static mhv_status run_with(const mhv_model *m, const char *kernel, int threads,
                           const int32_t *ids, int n, const image *im, const mhv_heads *sel,
                           const mhv_heads *vsel, mhv_attn *a, mhv_attn *va, mhv_error *err)
{
    mhv_forward_params p = {.threads = threads, .kernel = kernel};
    mhv_forward_opts o = {.pixels = im ? im->px : NULL, .image_h = im ? im->h : 0,
                          .image_w = im ? im->w : 0, .image_sel = vsel, .image_out = va};
    mhv_forward_ctx *c;
    mhv_status st = mhv_forward_ctx_new(&p, &c, err);
    if (!st)
        st = mhv_forward_run_opts(c, m, ids, run_types, n, sel, &o, a, err);
    mhv_forward_ctx_free(c);
    return st;
}

static void check_golden(const char *file)
{
    cJSON *g;
    const char *fixture;
    double tol;
    mhv_model *m = tu_open_golden(file, &g, &fixture, &tol);
    mhv_error err = {0};
    const cJSON *mt = cJSON_GetObjectItem(g, "model_type"); /* the others': llava */
    assert_string_equal(m->cfg.arch, mt ? mt->valuestring : "llava");
    assert_int_equal(m->cfg.image_token_id,
                     cJSON_GetObjectItem(g, "image_token_id")->valueint);
    const mhv_model *tower = mhv_forward_image_tower(m);
    assert_non_null(tower);
    mhv_heads sel, vsel;
    assert_int_equal(mhv_heads_parse("all", m->cfg.num_layers, m->cfg.num_heads, &sel, NULL), 0);
    assert_int_equal(mhv_heads_parse("all", tower->cfg.num_layers, tower->cfg.num_heads, &vsel,
                                     NULL), 0);
    const cJSON *s;
    int count = 0;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(g, "sentences"))
    {
        int n;
        int32_t *ids = tu_json_ids(cJSON_GetObjectItem(s, "token_ids"), &n);
        const cJSON *tt = cJSON_GetObjectItem(s, "token_type_ids"); /* a suffix */
        int nt = n;
        int32_t *types = tt ? tu_json_ids(tt, &nt) : NULL;
        assert_int_equal(nt, n);
        run_types = types;
        image im;
        float *px = json_pixels(cJSON_GetObjectItem(s, "pixels"), m->cfg.num_channels, &im.h,
                                &im.w);
        im.px = px;
        mhv_attn a1, a2, as, v1, v2, vs;
        if (run_with(m, NULL, 1, ids, n, &im, &sel, &vsel, &a1, &v1, &err) ||
            run_with(m, NULL, 2, ids, n, &im, &sel, &vsel, &a2, &v2, &err) ||
            run_with(m, "scalar", 1, ids, n, &im, &sel, &vsel, &as, &vs, &err))
            fail_msg("%s: forward: %s", fixture, err.msg);
        const cJSON *want = cJSON_GetObjectItem(s, "attentions");
        const cJSON *vwant = cJSON_GetObjectItem(s, "vision_attentions");
        /* Gemma 3's image tokens and PaliGemma's prefix see later tokens */
        double w1 = tu_compare_attn(&a1, want, !mt), ws = tu_compare_attn(&as, want, !mt);
        double x1 = tu_compare_attn(&v1, vwant, 0), xs = tu_compare_attn(&vs, vwant, 0);
        if (w1 > tol || ws > tol)
            fail_msg("%s sentence %d (%d tokens): decoder attention differs by %.3g (scalar "
                     "%.3g) > %.3g", fixture, count, n, w1, ws, tol);
        if (x1 > tol || xs > tol)
            fail_msg("%s sentence %d: vision tower attention differs by %.3g (scalar %.3g) > "
                     "%.3g", fixture, count, x1, xs, tol);
        size_t bytes = (size_t)a1.count * (size_t)n * (size_t)n * sizeof(float);
        size_t vbytes = (size_t)v1.count * (size_t)v1.n * (size_t)v1.n * sizeof(float);
        if (memcmp(a1.buf, a2.buf, bytes) != 0 || memcmp(v1.buf, v2.buf, vbytes) != 0)
            fail_msg("%s sentence %d: 1 and 2 threads differ", fixture, count);
        /* the decoder's maps alone (no tower heads asked) are the same bytes */
        mhv_attn a3;
        if (run_with(m, NULL, 2, ids, n, &im, &sel, NULL, &a3, NULL, &err))
            fail_msg("%s: forward: %s", fixture, err.msg);
        if (memcmp(a3.buf, a1.buf, bytes) != 0)
            fail_msg("%s sentence %d: maps differ with the tower's asked", fixture, count);
        mhv_attn_free(&a3);
        mhv_attn_free(&a1), mhv_attn_free(&a2), mhv_attn_free(&as);
        mhv_attn_free(&v1), mhv_attn_free(&v2), mhv_attn_free(&vs);

        const cJSON *lg = cJSON_GetObjectItem(s, "logits_last");
        int V = m->cfg.vocab_size;
        float *logits = malloc((size_t)n * (size_t)V * sizeof *logits);
        mhv_forward_params p = {.threads = 2};
        mhv_forward_ctx *c;
        assert_int_equal(mhv_forward_ctx_new(&p, &c, &err), 0);
        mhv_status lst = mhv_forward_logits_image_types(c, m, ids, types, n, im.px, im.h, im.w,
                                                        logits, &err);
        mhv_forward_ctx_free(c);
        if (lg) {
            if (lst)
                fail_msg("%s: logits: %s", fixture, err.msg);
            assert_int_equal(cJSON_GetArraySize(lg), V);
            for (int v = 0; v < V; v++) {
                double want_l = cJSON_GetArrayItem(lg, v)->valuedouble;
                double got = logits[(size_t)(n - 1) * (size_t)V + (size_t)v];
                if (fabs(got - want_l) > LOGIT_TOL * (1 + fabs(want_l)))
                    fail_msg("%s sentence %d: logit %d is %.7g, want %.7g", fixture, count, v,
                             got, want_l);
            }
        } else { /* LlavaModel: no LM head */
            assert_int_equal(lst, MHV_EUNSUPPORTED);
        }
        free(logits);
        free(ids);
        free(types);
        run_types = NULL;
        free(px);
        count++;
    }
    assert_true(count > 0);
    print_message("%s: %d prompts within %.2g\n", fixture, count, tol);
    mhv_heads_free(&sel);
    mhv_heads_free(&vsel);
    mhv_model_close(m);
    cJSON_Delete(g);
}

/* LLaVA's goldens, and the other models' of an image with their prompt (mm-*: Gemma 3,
 * PaliGemma) */
static int is_llava_golden(const struct dirent *d)
{
    size_t len = strlen(d->d_name);
    return (strncmp(d->d_name, "llava-", 6) == 0 || strncmp(d->d_name, "mm-", 3) == 0) &&
           len > 5 && strcmp(d->d_name + len - 5, ".json") == 0;
}

static void test_goldens(void **state)
{
    (void)state;
    struct dirent **list;
    int n = scandir("tests/fixtures/goldens", &list, is_llava_golden, alphasort);
    assert_true(n >= 8);
    for (int i = 0; i < n; i++) {
        check_golden(list[i]->d_name);
        free(list[i]);
    }
    free(list);
}

/* generate() with the image against transformers' (tests/gen/gen_llava_generate.py: the
 * goldens' prompts and pixels, greedy and beam search under each fixture's
 * generation_config.json) on 1 and 2 threads and the scalar kernels; and the steps from the
 * key/value caches (the image's features in the prompt's pass, text tokens after) give the
 * whole pass's last logits row bytewise, beams forked and swapped. */
static void test_generate(void **state)
{
    (void)state;
    cJSON *gold = tu_read_json("tests/fixtures/goldens/lgen-llava.json");
    const cJSON *fx, *variants = cJSON_GetObjectItem(gold, "variants");
    int cases = 0;
    cJSON_ArrayForEach(fx, cJSON_GetObjectItem(gold, "fixtures"))
    {
        const char *name = cJSON_GetObjectItem(fx, "fixture")->valuestring;
        char path[512];
        snprintf(path, sizeof path, "tests/fixtures/goldens/%s.json", name);
        cJSON *pg = tu_read_json(path);
        snprintf(path, sizeof path, "tests/fixtures/%s", name);
        mhv_model *m;
        mhv_error err = {0};
        if (mhv_model_open(path, &m, &err))
            fail_msg("%s: %s", path, err.msg);
        mhv_gen_config own;
        if (mhv_gen_config_read(path, &own, NULL, &err))
            fail_msg("%s: %s", path, err.msg);
        static const struct {
            int threads;
            const char *kernel;
        } runs[] = {{1, NULL}, {2, NULL}, {1, "scalar"}};
        for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
            mhv_forward_params p = {.threads = runs[r].threads, .kernel = runs[r].kernel};
            mhv_forward_ctx *fc;
            assert_int_equal(mhv_forward_ctx_new(&p, &fc, &err), MHV_OK);
            const cJSON *sent = cJSON_GetObjectItem(pg, "sentences")->child;
            const cJSON *c;
            cJSON_ArrayForEach(c, cJSON_GetObjectItem(fx, "cases"))
            {
                int np, h, w;
                int32_t *prompt = tu_json_ids(cJSON_GetObjectItem(sent, "token_ids"), &np);
                float *px = json_pixels(cJSON_GetObjectItem(sent, "pixels"), 3, &h, &w);
                const cJSON *v;
                cJSON_ArrayForEach(v, variants)
                {
                    mhv_gen_config g;
                    assert_int_equal(mhv_gen_config_copy(&g, &own, &err), MHV_OK);
                    g.max_new_tokens = cJSON_GetObjectItem(v, "max_new_tokens")->valueint;
                    g.num_beams = cJSON_GetObjectItem(v, "num_beams")->valueint;
                    const cJSON *ng = cJSON_GetObjectItem(v, "no_repeat_ngram_size");
                    g.no_repeat_ngram_size = ng ? ng->valueint : 0;
                    const char *vn = cJSON_GetObjectItem(v, "name")->valuestring;
                    int32_t *ids;
                    int n;
                    if (mhv_forward_generate_image(fc, m, prompt, np, px, h, w, &g, &ids, &n,
                                                   &err))
                        fail_msg("%s %s: %s", name, vn, err.msg);
                    char what[256];
                    snprintf(what, sizeof what, "%s %s (%d threads%s)", name, vn,
                             runs[r].threads, runs[r].kernel ? ", scalar" : "");
                    gen_check_ids(what, ids, n, cJSON_GetObjectItem(c, vn));
                    free(ids);
                    mhv_gen_config_free(&g);
                    cases++;
                }
                /* cached steps against whole passes: greedy, then two beams swapped */
                int V = m->cfg.vocab_size;
                int32_t *seq[2] = {malloc((size_t)(np + 4) * sizeof(int32_t)),
                                   malloc((size_t)(np + 4) * sizeof(int32_t))};
                int32_t *both = malloc((size_t)2 * (size_t)(np + 4) * sizeof *both);
                float *all = malloc((size_t)(np + 4) * (size_t)V * sizeof *all);
                float *got = malloc((size_t)2 * (size_t)V * sizeof *got);
                memcpy(seq[0], prompt, (size_t)np * sizeof *prompt);
                mhv_forward_kv *kv;
                assert_int_equal(mhv_forward_kv_new_image(m, 2, np + 4, px, h, w, &kv, &err),
                                 MHV_OK);
                for (int len = np; len <= np + 3; len++) {
                    int k = len < np + 3 ? 1 : 2;
                    if (k == 2) { /* forked at the last position */
                        memcpy(seq[1], seq[0], (size_t)len * sizeof *seq[1]);
                        seq[1][len - 1] = (seq[0][len - 1] + 1) % V;
                    }
                    for (int b = 0; b < k; b++)
                        memcpy(both + (size_t)b * (size_t)len, seq[b],
                               (size_t)len * sizeof *both);
                    if (mhv_forward_kv_next(fc, m, kv, both, k, len, got, &err))
                        fail_msg("%s: %s", name, err.msg);
                    for (int b = 0; b < k; b++) {
                        if (mhv_forward_logits_image(fc, m, seq[b], len, px, h, w, all, &err))
                            fail_msg("%s: %s", name, err.msg);
                        if (memcmp(got + (size_t)b * (size_t)V,
                                   all + (size_t)(len - 1) * (size_t)V, (size_t)V * sizeof *got))
                            fail_msg("%s: the cached step's logits at %d tokens are not the "
                                     "whole pass's", name, len);
                    }
                    int best = 0;
                    for (int t = 1; t < V; t++)
                        best = got[t] > got[best] ? t : best;
                    seq[0][len] = best;
                }
                long cached, whole;
                mhv_forward_kv_stats(kv, &cached, &whole);
                assert_int_equal(whole, 0);
                assert_int_equal(cached, np + 2 + 2);
                mhv_forward_kv_free(kv);
                free(seq[0]), free(seq[1]), free(both), free(all), free(got);
                free(prompt), free(px);
                sent = sent->next;
            }
            mhv_forward_ctx_free(fc);
        }
        mhv_gen_config_free(&own);
        mhv_model_close(m);
        cJSON_Delete(pg);
    }
    assert_true(cases >= 6 * 2 * 3); /* 6 prompts, 2 variants, 3 runs */
    cJSON_Delete(gold);
}

/* A prompt whose image tokens are not as many as the image's features, and no image, are
 * refused by name. */
static void test_refusals(void **state)
{
    (void)state;
    mhv_model *m;
    mhv_error err = {0};
    assert_int_equal(mhv_model_open("tests/fixtures/llava-f32", &m, &err), 0);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("0:0", m->cfg.num_layers, m->cfg.num_heads, &sel, NULL), 0);
    int S = m->cfg.image_size, C = m->cfg.num_channels, img = m->cfg.image_token_id;
    float *px = calloc((size_t)C * (size_t)S * (size_t)S, sizeof *px);
    image im = {px, S, S};
    int32_t ids[20] = {1, 5, 6};
    for (int i = 3; i < 18; i++)
        ids[i] = img; /* 15 of the 16 */
    mhv_attn a;
    assert_int_equal(run_with(m, NULL, 1, ids, 18, &im, &sel, NULL, &a, NULL, &err), MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "the prompt holds 15 image tokens, the image gives 16 "
                                    "features"));
    assert_int_equal(run_with(m, NULL, 1, ids, 18, NULL, &sel, NULL, &a, NULL, &err), MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "llava takes token ids and an image"));
    image small = {px, S / 2, S / 2}; /* CLIP takes its own image_size only */
    ids[18] = img;
    assert_int_equal(run_with(m, NULL, 1, ids, 19, &small, &sel, NULL, &a, NULL, &err),
                     MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "clip_vision_model takes 16x16"));
    free(px);
    mhv_heads_free(&sel);
    mhv_model_close(m);
}

/* Gemma 3: ids alone run its language model (no image, every map causal); with an image, a
 * prompt whose image tokens are not mm_tokens_per_image is refused; a config whose patch
 * grid does not pool into mm_tokens_per_image has no image path, and says so. */
static void test_gemma3(void **state)
{
    (void)state;
    mhv_model *m;
    mhv_error err = {0};
    assert_int_equal(mhv_model_open("tests/fixtures/mm-gemma3-f32", &m, &err), 0);
    assert_true(m->cfg.image_in_text && m->cfg.image_optional);
    assert_int_equal(m->cfg.image_form, MHV_IMAGE_FORM_GEMMA3);
    assert_int_equal(m->cfg.image_tokens, 4);
    assert_int_equal(m->cfg.image_pool, 2);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("all", m->cfg.num_layers, m->cfg.num_heads, &sel, NULL), 0);
    int S = m->cfg.image_size, img = m->cfg.image_token_id;
    float *px = calloc((size_t)3 * (size_t)S * (size_t)S, sizeof *px);
    image im = {px, S, S};
    int32_t ids[8] = {2, 5, 6, img, img, img, 7, 8};
    mhv_attn a;
    if (run_with(m, NULL, 1, ids, 8, NULL, &sel, NULL, &a, NULL, &err))
        fail_msg("text alone: %s", err.msg);
    for (int k = 0; k < a.count; k++)
        for (int i = 0; i < 8; i++)
            for (int j = i + 1; j < 8; j++)
                assert_true(a.heads[k].w[i * 8 + j] == 0.0f);
    mhv_attn_free(&a);
    assert_int_equal(run_with(m, NULL, 1, ids, 8, &im, &sel, NULL, &a, NULL, &err), MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "the prompt holds 3 image tokens, the image gives 4 "
                                    "features"));
    free(px);
    mhv_heads_free(&sel);
    mhv_model_close(m);

    mhv_config *c = malloc(sizeof *c);
    const char *cfg = "{\"model_type\": \"gemma3\", \"mm_tokens_per_image\": 256, "
                      "\"text_config\": {\"model_type\": \"gemma3_text\"}, "
                      "\"vision_config\": {\"image_size\": 224, \"patch_size\": 16, "
                      "\"model_type\": \"siglip_vision_model\"}}";
    if (mhv_config_parse(cfg, strlen(cfg), "config.json", c, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(c->image_pool, 0); /* 14 patches a side, 16 tokens a side asked */
    const char *bad = "{\"model_type\": \"gemma3\", \"text_config\": {}, "
                      "\"vision_config\": {\"model_type\": \"clip_vision_model\"}}";
    assert_int_equal(mhv_config_parse(bad, strlen(bad), "config.json", c, &err),
                     MHV_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "vision_config model_type 'clip_vision_model' is not "
                                    "supported in gemma3 (siglip_vision_model is)"));
    free(c);
}

/* PaliGemma: PaliGemmaConfig's defaults where a file leaves sizes out (paligemma-3b's
 * shape), its text models (gemma, gemma2) and what it refuses; a run without an image. */
static void test_paligemma(void **state)
{
    (void)state;
    mhv_config *c = malloc(sizeof *c);
    mhv_error err = {0};
    const char *cfg = "{\"model_type\": \"paligemma\", \"text_config\": {\"model_type\": "
                      "\"gemma\", \"use_bidirectional_attention\": true}, \"vision_config\": "
                      "{\"model_type\": \"siglip_vision_model\"}}";
    if (mhv_config_parse(cfg, strlen(cfg), "config.json", c, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(c->arch, "paligemma");
    assert_true(c->hidden_size == 2048 && c->num_layers == 18 && c->num_heads == 8 &&
                c->num_kv_heads == 1 && c->vocab_size == 257152 && c->causal);
    assert_true(c->image_in_text && !c->image_optional);
    assert_int_equal(c->image_form, MHV_IMAGE_FORM_PALIGEMMA);
    assert_int_equal(c->image_tokens, 256); /* 224 / 14 = 16 patches a side */
    assert_int_equal(c->image_token_id, 256000);
    assert_int_equal(c->image_hidden, 1152);
    assert_true(c->tie_word_embeddings);
    static const struct {
        const char *cfg, *msg;
    } bad[] = {
        {"{\"model_type\": \"paligemma\", \"text_config\": {\"model_type\": \"llama\"}}",
         "text_config model_type 'llama' is not supported in paligemma (gemma and gemma2 are)"},
        {"{\"model_type\": \"paligemma\", \"projection_dim\": 1024}",
         "projection_dim 1024 is not the text model's hidden_size 2048"},
        {"{\"model_type\": \"paligemma\", \"image_token_index\": 257152}",
         "image_token_index 257152 outside the text model's 257152 tokens is not supported"},
        {"{\"model_type\": \"paligemma\", \"vision_config\": {\"model_type\": "
         "\"clip_vision_model\"}}",
         "vision_config model_type 'clip_vision_model' is not supported in paligemma"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_not_equal(mhv_config_parse(bad[i].cfg, strlen(bad[i].cfg), "config.json", c,
                                              &err), 0);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("'%s' lacks '%s'", err.msg, bad[i].msg);
    }
    free(c);

    mhv_model *m;
    assert_int_equal(mhv_model_open("tests/fixtures/mm-paligemma-f32", &m, &err), 0);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("0:0", m->cfg.num_layers, m->cfg.num_heads, &sel, NULL), 0);
    int32_t ids[4] = {2, 5, 6, 7};
    mhv_attn a;
    assert_int_equal(run_with(m, NULL, 1, ids, 4, NULL, &sel, NULL, &a, NULL, &err), MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "paligemma takes token ids and an image"));
    /* a suffix (type 1) before the prefix (type 0) */
    int S = m->cfg.image_size;
    float *px = calloc((size_t)3 * (size_t)S * (size_t)S, sizeof *px);
    image im = {px, S, S};
    int32_t types[4] = {0, 1, 0, 1};
    run_types = types;
    assert_int_equal(run_with(m, NULL, 1, ids, 4, &im, &sel, NULL, &a, NULL, &err), MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "paligemma's token types are a prefix (0) then a suffix (1): "
                                    "token 2 is 0 after token 1's 1"));
    run_types = NULL;
    free(px);
    mhv_heads_free(&sel);
    mhv_model_close(m);
}

/* A config.json of LLaVA-1.5-7B's shape: the text_config names little more than its type
 * and vocabulary, LlamaConfig's defaults give the rest, as transformers builds it. */
static const char cfg_15[] =
    "{\"model_type\": \"llava\", \"image_token_index\": 32000, \"projector_hidden_act\": "
    "\"gelu\", \"text_config\": {\"model_type\": \"llama\", \"max_position_embeddings\": "
    "4096, \"rms_norm_eps\": 1e-05, \"vocab_size\": 32064}, \"vision_config\": {\"hidden_size\": "
    "1024, \"image_size\": 336, \"intermediate_size\": 4096, \"model_type\": "
    "\"clip_vision_model\", \"num_attention_heads\": 16, \"num_hidden_layers\": 24, "
    "\"patch_size\": 14, \"projection_dim\": 768, \"vocab_size\": 32000}, "
    "\"vision_feature_layer\": -2, \"vision_feature_select_strategy\": \"default\"}";

static mhv_status parse(const char *text, mhv_config *c, mhv_error *err)
{
    return mhv_config_parse(text, strlen(text), "config.json", c, err);
}

/* cfg_15 with `from` replaced by `to` refused with msg. */
static void refused(const char *from, const char *to, mhv_status want, const char *msg)
{
    tu_config_refused_edit(cfg_15, from, to, want, msg);
}

static void test_configs(void **state)
{
    (void)state;
    mhv_config *c = malloc(sizeof *c);
    mhv_error err = {0};
    if (parse(cfg_15, c, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(c->arch, "llava");
    assert_int_equal(c->hidden_size, 4096);
    assert_int_equal(c->intermediate_size, 11008);
    assert_int_equal(c->num_layers, 32);
    assert_int_equal(c->num_heads, 32);
    assert_int_equal(c->num_kv_heads, 32);
    assert_int_equal(c->vocab_size, 32064);
    assert_int_equal(c->max_positions, 4096);
    assert_true(c->causal && c->image_in_text && !c->vision);
    assert_int_equal(c->image_token_id, 32000);
    assert_int_equal(c->image_size, 336);
    assert_int_equal(c->patch_size, 14);
    assert_int_equal(c->image_nlayers, 1);
    assert_int_equal(c->image_layers[0], 23); /* hidden_states[-2] of 25 */
    assert_false(c->image_full);
    assert_int_equal(c->image_proj_act, MHV_ACT_GELU);
    assert_true(c->image_proj_bias);
    assert_false(c->tie_word_embeddings);
    free(c);
    refused("\"default\"}", "\"spatial\"}", MHV_EUNSUPPORTED,
            "vision_feature_select_strategy 'spatial' is not supported (default and full are)");
    refused("\"clip_vision_model\"", "\"owlv2_vision_model\"", MHV_EUNSUPPORTED,
            "vision_config model_type 'owlv2_vision_model' is not supported in llava "
            "(clip_vision_model and siglip_vision_model are)");
    refused("\"model_type\": \"llama\"",
            "\"model_type\": \"bert\", \"hidden_size\": 64, \"num_hidden_layers\": 2, "
            "\"num_attention_heads\": 2, \"intermediate_size\": 64", MHV_EUNSUPPORTED,
            "text_config model_type 'bert' is not a decoder language model");
    refused("\"vision_feature_layer\": -2", "\"vision_feature_layer\": [-2, 25]", MHV_EFORMAT,
            "vision_feature_layer 25 is outside the tower's 25 hidden states");
    refused("\"image_token_index\": 32000", "\"image_token_index\": 32064", MHV_EFORMAT,
            "image_token_index 32064 is outside the text model's 32064 tokens");
    refused("\"text_config\"", "\"text_cfg\"", MHV_EFORMAT, "missing object 'text_config'");
    refused("\"vision_feature_layer\": -2", "\"vision_feature_layer\": 1e30", MHV_EFORMAT,
            "field 'vision_feature_layer' is not an integer or a list of them");
    refused("\"vision_feature_layer\": -2", "\"vision_feature_layer\": []", MHV_EUNSUPPORTED,
            "vision_feature_layer lists 0 layers (1 to 8 are supported)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goldens),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_configs),
        cmocka_unit_test(test_gemma3),
        cmocka_unit_test(test_paligemma),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
