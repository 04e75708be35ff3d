/* Every model family against Hugging Face transformers: each golden
 * tests/fixtures/goldens/fam-*.json (made by tests/gen/fam_<family>.py) names a fixture
 * checkpoint; every head of every sentence must match transformers' eager attention, run in
 * float64 on the checkpoint's weights, within the golden's tolerance (1e-5, or 1.25x the
 * error of transformers' own fp32 run where that is larger),
 * on 1 and 2 threads with the same bytes, and with the scalar kernels; the last position's
 * logits too where the golden has them (an encoder's: its masked-LM head's). */
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

#include "base/fileio.h"
#include "model/family.h"
#include "model/forward.h"

#include "testutil.h"

#define LOGIT_TOL 1e-4 /* logits are O(1-10): 1e-5 relative */

/* A vision golden's image: its size and whether positions are resized when asked. */
typedef struct {
    int h, w, interpolate;
} image_shape;

/* One pass over ids (and types) or, for a vision model, the image pixels (of shape im). */
static void run_with(const mhv_model *m, const char *kernel, int threads, const int32_t *ids,
                     const int32_t *types, const float *pixels, const image_shape *im, int n,
                     const mhv_heads *sel, mhv_attn *a)
{
    mhv_forward_params p = {.threads = threads, .kernel = kernel};
    mhv_forward_opts o = {.pixels = pixels, .image_h = im->h, .image_w = im->w,
                          .interpolate_pos = im->interpolate};
    mhv_forward_ctx *c;
    mhv_error err = {0};
    if (mhv_forward_ctx_new(&p, &c, &err) ||
        mhv_forward_run_opts(c, m, pixels ? NULL : ids, types, n, sel, &o, a, &err))
        fail_msg("%s: forward: %s", m->dir, err.msg);
    mhv_forward_ctx_free(c);
}

/* The probe attention of a pooling head, (heads, n), against want; asked with no head
 * selected, so every layer runs for it alone. */
static void check_pool(const mhv_model *m, const float *pixels, const image_shape *im, int n,
                       const cJSON *want, double tol, const char *fixture, int sentence)
{
    int H = m->cfg.num_heads;
    float *pool = calloc((size_t)H * (size_t)n, sizeof *pool);
    mhv_heads none;
    assert_int_equal(mhv_heads_parse("0:0", m->cfg.num_layers, H, &none, NULL), 0);
    mhv_forward_params p = {.threads = 2};
    mhv_forward_opts o = {.pixels = pixels, .pool_attn = pool, .image_h = im->h,
                          .image_w = im->w, .interpolate_pos = im->interpolate};
    mhv_forward_ctx *c;
    mhv_error err = {0};
    mhv_attn a;
    if (mhv_forward_ctx_new(&p, &c, &err) ||
        mhv_forward_run_opts(c, m, NULL, NULL, n, &none, &o, &a, &err))
        fail_msg("%s: pool: %s", fixture, err.msg);
    mhv_attn_free(&a);
    mhv_forward_ctx_free(c);
    mhv_heads_free(&none);
    assert_int_equal(cJSON_GetArraySize(want), H);
    double worst = 0;
    for (int h = 0; h < H; h++) {
        const cJSON *row = cJSON_GetArrayItem(want, h);
        assert_int_equal(cJSON_GetArraySize(row), n);
        for (int j = 0; j < n; j++)
            worst = fmax(worst, fabs(pool[h * n + j] - cJSON_GetArrayItem(row, j)->valuedouble));
    }
    if (worst > tol)
        fail_msg("%s sentence %d: pooling head attention differs by %.3g > %.3g", fixture,
                 sentence, worst, tol);
    free(pool);
}

static void check_golden(const char *file)
{
    cJSON *g;
    const char *fixture;
    double tol;
    mhv_model *m = tu_open_golden(file, &g, &fixture, &tol);
    mhv_error err = {0};
    mhv_model *whole = NULL; /* "tower": "text": a dual encoder's text tower */
    const cJSON *tower = cJSON_GetObjectItem(g, "tower");
    if (tower && strcmp(tower->valuestring, "text") == 0) {
        if (mhv_model_open_text_tower(m, &err) != MHV_OK)
            fail_msg("%s: %s: %s", fixture, err.file, err.msg);
        whole = m;
        m = whole->text_model;
    }
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("all", m->cfg.num_layers, m->cfg.num_heads, &sel, NULL), 0);
    const cJSON *s;
    int count = 0;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(g, "sentences"))
    {
        int n;
        int32_t *ids = tu_json_ids(cJSON_GetObjectItem(s, "token_ids"), &n), *types = NULL;
        float *pixels = NULL; /* (channels, height, width) for a vision model */
        image_shape im = {0, 0, cJSON_IsTrue(cJSON_GetObjectItem(g, "interpolate_pos"))};
        const cJSON *px = cJSON_GetObjectItem(s, "pixels");
        if (px) {
            int C = m->cfg.num_channels, at = 0;
            const cJSON *ch0 = cJSON_GetArrayItem(px, 0);
            im.h = cJSON_GetArraySize(ch0);
            im.w = cJSON_GetArraySize(cJSON_GetArrayItem(ch0, 0));
            assert_int_equal(cJSON_GetArraySize(px), C);
            pixels = malloc((size_t)C * (size_t)im.h * (size_t)im.w * sizeof *pixels);
            const cJSON *ch, *row, *v;
            cJSON_ArrayForEach(ch, px) cJSON_ArrayForEach(row, ch) cJSON_ArrayForEach(v, row)
            {
                assert_true(at < C * im.h * im.w);
                pixels[at++] = (float)v->valuedouble;
            }
            assert_int_equal(at, C * im.h * im.w);
            mhv_image_grid grid;
            if (mhv_model_image_grid(m, im.h, im.w, im.interpolate, &grid, &err))
                fail_msg("%s: %s", fixture, err.msg);
            n = grid.tokens;
        }
        const cJSON *tt = cJSON_GetObjectItem(s, "token_type_ids"); /* a sentence pair */
        if (tt) {
            int nt;
            types = tu_json_ids(tt, &nt);
            assert_int_equal(nt, n);
        }
        mhv_attn a1, a2, as;
        run_with(m, NULL, 1, ids, types, pixels, &im, n, &sel, &a1);
        run_with(m, NULL, 2, ids, types, pixels, &im, n, &sel, &a2);
        run_with(m, "scalar", 1, ids, types, pixels, &im, n, &sel, &as);
        const cJSON *want = cJSON_GetObjectItem(s, "attentions");
        double w1 = tu_compare_attn(&a1, want, m->cfg.causal);
        double ws = tu_compare_attn(&as, want, m->cfg.causal);
        if (w1 > tol || ws > tol)
            fail_msg("%s sentence %d (%d tokens): attention differs by %.3g (scalar %.3g) > %.3g",
                     fixture, count, n, w1, ws, tol);
        size_t bytes = (size_t)a1.count * (size_t)n * (size_t)n * sizeof(float);
        if (memcmp(a1.buf, a2.buf, bytes) != 0)
            fail_msg("%s sentence %d: 1 and 2 threads differ", fixture, count);
        /* only the last head of the last layer: that layer computes the columns of that head
         * alone (its key/value head's, fused rows too), with the same bytes */
        mhv_heads one;
        mhv_attn a3;
        char spec[32];
        snprintf(spec, sizeof spec, "%d:%d", m->cfg.num_layers - 1, m->cfg.num_heads - 1);
        assert_int_equal(mhv_heads_parse(spec, m->cfg.num_layers, m->cfg.num_heads, &one, NULL), 0);
        run_with(m, NULL, 2, ids, types, pixels, &im, n, &one, &a3);
        size_t map = (size_t)n * (size_t)n;
        if (a3.count != 1 || memcmp(a3.heads[0].w, a1.heads[a1.count - 1].w,
                                    map * sizeof(float)) != 0)
            fail_msg("%s sentence %d: head %s alone differs from it among all", fixture, count,
                     spec);
        mhv_attn_free(&a3);
        mhv_heads_free(&one);
        mhv_attn_free(&a1), mhv_attn_free(&a2), mhv_attn_free(&as);

        const cJSON *lg = cJSON_GetObjectItem(s, "logits_last");
        if (lg) {
            int V = m->cfg.vocab_size;
            assert_int_equal(cJSON_GetArraySize(lg), V);
            float *logits = malloc((size_t)n * (size_t)V * sizeof *logits);
            mhv_forward_params p = {.threads = 1};
            mhv_forward_ctx *c;
            if (mhv_forward_ctx_new(&p, &c, &err) ||
                (m->cfg.causal ? mhv_forward_logits(c, m, ids, n, logits, &err)
                               : mhv_forward_logits_ablated(c, m, ids, n, NULL, logits, &err)))
                fail_msg("%s: logits: %s", fixture, err.msg);
            mhv_forward_ctx_free(c);
            for (int v = 0; v < V; v++) {
                double want_l = cJSON_GetArrayItem(lg, v)->valuedouble;
                double got = logits[(size_t)(n - 1) * (size_t)V + (size_t)v];
                if (fabs(got - want_l) > LOGIT_TOL * (1 + fabs(want_l)))
                    fail_msg("%s sentence %d: logit %d is %.7g, want %.7g", fixture, count, v,
                             got, want_l);
            }
            free(logits);
        }
        const cJSON *pool = cJSON_GetObjectItem(s, "pool_attentions");
        if (pool) /* a vision model's attention-pooling head (SigLIP) */
            check_pool(m, pixels, &im, n, pool, tol, fixture, count);
        free(ids);
        free(types);
        free(pixels);
        count++;
    }
    assert_true(count > 0);
    print_message("%s: %d sentences within %.2g\n", fixture, count, tol);
    mhv_heads_free(&sel);
    mhv_model_close(whole ? whole : m);
    cJSON_Delete(g);
}

static int is_family_golden(const struct dirent *d)
{
    size_t len = strlen(d->d_name);
    return strncmp(d->d_name, "fam-", 4) == 0 && len > 5 && strcmp(d->d_name + len - 5, ".json") == 0;
}

static void test_families(void **state)
{
    (void)state;
    struct dirent **list;
    int n = scandir("tests/fixtures/goldens", &list, is_family_golden, alphasort);
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
        check_golden(list[i]->d_name);
        free(list[i]);
    }
    free(list);
}

/* The patch grid of an image of h x w pixels for fixture dir, asked or not to interpolate:
 * want_st, and on success rows x cols and whether positions are resized; msg a piece of the
 * refusal's message. */
static void grid_case(const char *dir, int h, int w, int ask, mhv_status want_st, int rows,
                      int cols, int interpolate, const char *msg)
{
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/%s", dir);
    mhv_model *m;
    mhv_error err = {0};
    if (mhv_model_open(path, &m, &err))
        fail_msg("%s: %s", path, err.msg);
    mhv_image_grid g;
    mhv_status st = mhv_model_image_grid(m, h, w, ask, &g, &err);
    if (st != want_st)
        fail_msg("%s %dx%d (ask %d): status %d, want %d (%s)", dir, w, h, ask, st, want_st,
                 err.msg);
    if (!st && (g.rows != rows || g.cols != cols || g.interpolate != interpolate ||
                g.tokens != m->cfg.vision_extra + rows * cols))
        fail_msg("%s %dx%d: grid %dx%d (%d), want %dx%d (%d)", dir, w, h, g.rows, g.cols,
                 g.interpolate, rows, cols, interpolate);
    if (st && !strstr(err.msg, msg))
        fail_msg("%s %dx%d: '%s' lacks '%s'", dir, w, h, err.msg, msg);
    mhv_model_close(m);
}

/* Which sizes each family takes as transformers does: DINOv2 any (positions resized unless
 * the grid is its own), ViT/DeiT/CLIP only image_size square without interpolate_pos (their
 * embeddings raise), SigLIP its own grid (it checks no pixel size), all of them any grid when
 * asked; no whole patch, and DINOv2 with registers one patch wide, refused. */
static void test_image_grid(void **state)
{
    (void)state;
    const char *vit = "fam-vit-f32", *sig = "fam-siglip-vision-bf16", *dv = "fam-dinov2-f32";
    grid_case(vit, 16, 16, 0, MHV_OK, 4, 4, 0, NULL);
    grid_case(vit, 16, 16, 1, MHV_OK, 4, 4, 0, NULL);
    grid_case(vit, 17, 18, 0, MHV_EUSAGE, 0, 0, 0,
              "the image comes to 18x17 pixels after preprocessing; vit takes 16x16 unless its "
              "position embeddings are interpolated");
    grid_case(vit, 17, 18, 1, MHV_OK, 4, 4, 0, NULL); /* remainder pixels: its own grid */
    grid_case(vit, 12, 40, 1, MHV_OK, 3, 10, 1, NULL);
    grid_case("fam-clip-vision-f32", 20, 20, 0, MHV_EUSAGE, 0, 0, 0, "clip_vision_model takes");
    grid_case("fam-deit-f16", 24, 8, 1, MHV_OK, 6, 2, 1, NULL);
    grid_case(sig, 19, 17, 0, MHV_OK, 4, 4, 0, NULL);
    grid_case(sig, 8, 32, 0, MHV_EUSAGE, 0, 0, 0, "unless its position embeddings");
    grid_case(sig, 8, 32, 1, MHV_OK, 2, 8, 1, NULL);
    grid_case(dv, 24, 12, 0, MHV_OK, 6, 3, 1, NULL);
    grid_case(dv, 17, 19, 0, MHV_OK, 4, 4, 0, NULL);
    grid_case(dv, 3, 40, 0, MHV_EUSAGE, 0, 0, 0, "less than one 4x4 patch");
    grid_case(dv, 4096, 4096, 0, MHV_EUSAGE, 0, 0, 0, "1024x1024 patches are too many");
    grid_case("fam-dinov2-reg-f32", 40, 4, 0, MHV_EUNSUPPORTED, 0, 0, 0, "one patch wide");
    grid_case("fam-dinov2-reg-f32", 16, 4, 0, MHV_OK, 4, 1, 1, NULL); /* rows kept: right */
    grid_case("fam-dinov2-reg-f32", 4, 40, 0, MHV_OK, 1, 10, 1, NULL);
    grid_case(dv, 4, 4, 0, MHV_OK, 1, 1, 1, NULL); /* one column: plain bicubic is right */
    /* image_size 18, patch_size 4: its own 18x18 takes the 4x4 positions as they are, as do
     * 16x16 and 19x19 when asked (transformers resizes only another grid or a non-square) */
    const char *rem = "fam-vit-rem-f32";
    grid_case(rem, 18, 18, 0, MHV_OK, 4, 4, 0, NULL);
    grid_case(rem, 16, 16, 0, MHV_EUSAGE, 0, 0, 0, "vit takes 18x18 unless");
    grid_case(rem, 16, 16, 1, MHV_OK, 4, 4, 0, NULL);
    grid_case(rem, 20, 20, 1, MHV_OK, 5, 5, 1, NULL);
}

/* T5's relative position buckets as MPNet calls them (bidirectional, 32 buckets, max
 * distance 128) against transformers' MPNetEncoder.relative_position_bucket over -300..300:
 * the exact, logarithmic and clamped ranges (tests/gen/fam_mpnet.py). */
static void test_relbucket_mpnet(void **state)
{
    (void)state;
    cJSON *g = tu_read_json("tests/fixtures/goldens/relbucket-mpnet.json");
    const cJSON *rel = cJSON_GetObjectItem(g, "relative_position");
    const cJSON *want = cJSON_GetObjectItem(g, "bucket");
    int n = cJSON_GetArraySize(rel);
    assert_int_equal(n, 601);
    assert_int_equal(cJSON_GetArraySize(want), n);
    for (int i = 0; i < n; i++) {
        int rp = cJSON_GetArrayItem(rel, i)->valueint;
        int got = mhv_family_t5_bucket(rp, 1, 32, 128);
        if (got != cJSON_GetArrayItem(want, i)->valueint)
            fail_msg("relative position %d: bucket %d, transformers %d", rp, got,
                     cJSON_GetArrayItem(want, i)->valueint);
    }
    cJSON_Delete(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_families),
        cmocka_unit_test(test_image_grid),
        cmocka_unit_test(test_relbucket_mpnet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
