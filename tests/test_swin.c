/* Swin against Hugging Face transformers: each golden tests/fixtures/goldens/swin-*.json
 * swinv2-*.json and donut-swin-*.json (made by tests/gen/fam_swin.py) names a fixture checkpoint and images as pixel values; every
 * head of every layer must match transformers' eager attention (its windows assembled into
 * one map per head over the layer's stage grid, float64) within the golden's tolerance, on 1
 * and 2 threads with the same bytes and with the scalar kernels, each map as large as its
 * stage's grid; one head alone as among all; the classifier's logits where the golden has
 * them. Then what swin and swinv2 refuse, by name. */
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
#include "model/model.h"

#include "testutil.h"

#define LOGIT_TOL 1e-4 /* logits are O(1): 1e-4 relative */

static void run_with(const mhv_model *m, const char *kernel, int threads, const float *px,
                     int h, int w, int n, const mhv_heads *sel, mhv_attn *a)
{
    mhv_forward_params p = {.threads = threads, .kernel = kernel};
    mhv_forward_opts o = {.pixels = px, .image_h = h, .image_w = w};
    mhv_forward_ctx *c;
    mhv_error err = {0};
    if (mhv_forward_ctx_new(&p, &c, &err) ||
        mhv_forward_run_opts(c, m, NULL, NULL, n, sel, &o, a, &err))
        fail_msg("%s", err.msg);
    mhv_forward_ctx_free(c);
}

/* The largest difference of a's maps from the golden's layers; each map (N, N) of its grid. */
static double compare(const mhv_attn *a, const cJSON *layers, const cJSON *grids)
{
    double worst = 0;
    for (int k = 0; k < a->count; k++) {
        const mhv_head_attn *h = &a->heads[k];
        const cJSON *gr = cJSON_GetArrayItem(grids, h->layer);
        int N = cJSON_GetArrayItem(gr, 0)->valueint * cJSON_GetArrayItem(gr, 1)->valueint;
        assert_int_equal(h->rows, N);
        assert_int_equal(h->cols, N);
        const cJSON *g = cJSON_GetArrayItem(cJSON_GetArrayItem(layers, h->layer), h->head);
        assert_non_null(g);
        assert_int_equal(cJSON_GetArraySize(g), N);
        for (int i = 0; i < N; i++) {
            const cJSON *row = cJSON_GetArrayItem(g, i);
            assert_int_equal(cJSON_GetArraySize(row), N);
            for (int j = 0; j < N; j++)
                worst = fmax(worst, fabs(h->w[(size_t)i * (size_t)N + (size_t)j] -
                                         cJSON_GetArrayItem(row, j)->valuedouble));
        }
    }
    return worst;
}

static int same_maps(const mhv_attn *a, const mhv_attn *b)
{
    if (a->count != b->count)
        return 0;
    for (int k = 0; k < a->count; k++) {
        size_t N = (size_t)a->heads[k].rows;
        if (a->heads[k].rows != b->heads[k].rows ||
            memcmp(a->heads[k].w, b->heads[k].w, N * N * sizeof(float)) != 0)
            return 0;
    }
    return 1;
}

static void check_golden(const char *file)
{
    cJSON *g;
    const char *fixture;
    double tol;
    mhv_model *m = tu_open_golden(file, &g, &fixture, &tol);
    mhv_error err = {0};
    assert_true(m->cfg.swin);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("all", m->cfg.num_layers, m->cfg.num_heads, &sel, NULL), 0);
    mhv_model_heads_fit(m, &sel);
    const cJSON *im;
    int count = 0;
    cJSON_ArrayForEach(im, cJSON_GetObjectItem(g, "images"))
    {
        const cJSON *px = cJSON_GetObjectItem(im, "pixels"), *ch0 = cJSON_GetArrayItem(px, 0);
        int C = m->cfg.num_channels, h = cJSON_GetArraySize(ch0), at = 0;
        int w = cJSON_GetArraySize(cJSON_GetArrayItem(ch0, 0));
        assert_int_equal(cJSON_GetArraySize(px), C);
        float *pixels = malloc((size_t)C * (size_t)h * (size_t)w * sizeof *pixels);
        const cJSON *ch, *row, *v;
        cJSON_ArrayForEach(ch, px) cJSON_ArrayForEach(row, ch) cJSON_ArrayForEach(v, row)
            pixels[at++] = (float)v->valuedouble;
        assert_int_equal(at, C * h * w);
        mhv_image_grid grid;
        if (mhv_model_image_grid(m, h, w, 0, &grid, &err))
            fail_msg("%s: %s", fixture, err.msg);
        const cJSON *grids = cJSON_GetObjectItem(im, "grids"), *layers;
        layers = cJSON_GetObjectItem(im, "layers");
        assert_int_equal(cJSON_GetArraySize(layers), m->cfg.num_layers);
        for (int l = 0; l < m->cfg.num_layers; l++) { /* the library's grid of each layer */
            int r, c;
            mhv_model_layer_grid(m, l, grid.rows, grid.cols, &r, &c);
            const cJSON *gr = cJSON_GetArrayItem(grids, l);
            assert_int_equal(r, cJSON_GetArrayItem(gr, 0)->valueint);
            assert_int_equal(c, cJSON_GetArrayItem(gr, 1)->valueint);
        }
        int n = grid.tokens;
        mhv_attn a1, a2, as;
        run_with(m, NULL, 1, pixels, h, w, n, &sel, &a1);
        run_with(m, NULL, 2, pixels, h, w, n, &sel, &a2);
        run_with(m, "scalar", 1, pixels, h, w, n, &sel, &as);
        assert_int_equal(a1.count, mhv_heads_count(&sel));
        double w1 = compare(&a1, layers, grids), ws = compare(&as, layers, grids);
        if (w1 > tol || ws > tol)
            fail_msg("%s image %d (%dx%d): attention differs by %.3g (scalar %.3g) > %.3g",
                     fixture, count, w, h, w1, ws, tol);
        if (!same_maps(&a1, &a2))
            fail_msg("%s image %d: 1 and 2 threads differ", fixture, count);
        /* the last layer's last head alone: the same bytes as among all */
        mhv_heads one;
        mhv_attn a3;
        int L = m->cfg.num_layers - 1, H = mhv_config_layer_heads(&m->cfg, L) - 1;
        char spec[32];
        snprintf(spec, sizeof spec, "%d:%d", L, H);
        assert_int_equal(mhv_heads_parse(spec, L + 1, m->cfg.num_heads, &one, NULL), 0);
        run_with(m, NULL, 2, pixels, h, w, n, &one, &a3);
        size_t N = (size_t)a3.heads[0].rows;
        if (a3.count != 1 || a3.heads[0].rows != a1.heads[a1.count - 1].rows ||
            memcmp(a3.heads[0].w, a1.heads[a1.count - 1].w, N * N * sizeof(float)) != 0)
            fail_msg("%s image %d: head %s alone differs from it among all", fixture, count,
                     spec);
        mhv_attn_free(&a3);
        mhv_heads_free(&one);
        mhv_attn_free(&a1), mhv_attn_free(&a2), mhv_attn_free(&as);

        const cJSON *lg = cJSON_GetObjectItem(im, "logits");
        int V = m->cfg.swin_labels;
        float *logits = malloc((size_t)V * sizeof *logits);
        mhv_forward_params p = {.threads = 2};
        mhv_forward_ctx *c;
        assert_int_equal(mhv_forward_ctx_new(&p, &c, &err), MHV_OK);
        mhv_status st = mhv_forward_image_logits(c, m, pixels, h, w, logits, &err);
        if (lg) {
            if (st)
                fail_msg("%s: logits: %s", fixture, err.msg);
            assert_int_equal(cJSON_GetArraySize(lg), V);
            for (int k = 0; k < V; k++) {
                double want = cJSON_GetArrayItem(lg, k)->valuedouble;
                if (fabs(logits[k] - want) > LOGIT_TOL * (1 + fabs(want)))
                    fail_msg("%s image %d: logit %d is %.7g, want %.7g", fixture, count, k,
                             logits[k], want);
            }
        } else { /* a base model: no classifier */
            assert_int_equal(st, MHV_EUNSUPPORTED);
            assert_non_null(strstr(err.msg, "no classifier.weight"));
        }
        mhv_forward_ctx_free(c);
        free(logits);
        free(pixels);
        count++;
    }
    assert_true(count > 0);
    print_message("%s: %d images within %.2g\n", fixture, count, tol);
    mhv_heads_free(&sel);
    mhv_model_close(m);
    cJSON_Delete(g);
}

static int is_swin_golden(const struct dirent *d)
{
    size_t len = strlen(d->d_name);
    return (strncmp(d->d_name, "swin-", 5) == 0 || strncmp(d->d_name, "swinv2-", 7) == 0 ||
            strncmp(d->d_name, "donut-swin-", 11) == 0) &&
           len > 5 && strcmp(d->d_name + len - 5, ".json") == 0;
}

static void test_goldens(void **state)
{
    (void)state;
    struct dirent **list;
    int n = scandir("tests/fixtures/goldens", &list, is_swin_golden, alphasort);
    assert_true(n >= 8);
    for (int i = 0; i < n; i++) {
        check_golden(list[i]->d_name);
        free(list[i]);
    }
    free(list);
}

/* A head past its stage's count, a grid smaller than a window, rows and value norms: each
 * refused with a message naming it. */
static void test_refusals(void **state)
{
    (void)state;
    mhv_model *m;
    mhv_error err = {0};
    assert_int_equal(mhv_model_open("tests/fixtures/swin-f32", &m, &err), MHV_OK);
    assert_int_equal(m->cfg.num_layers, 4);
    assert_int_equal(m->cfg.num_heads, 4);
    assert_int_equal(mhv_config_layer_heads(&m->cfg, 0), 2);
    assert_int_equal(mhv_config_layer_heads(&m->cfg, 3), 4);
    int H = 32, W = 32, n = 64;
    float *px = calloc(3 * (size_t)H * (size_t)W, sizeof *px);
    mhv_forward_params p = {.threads = 1};
    mhv_forward_ctx *c;
    assert_int_equal(mhv_forward_ctx_new(&p, &c, &err), MHV_OK);
    mhv_heads sel;
    mhv_attn a;
    mhv_forward_opts o = {.pixels = px, .image_h = H, .image_w = W};
    assert_int_equal(mhv_heads_parse("0:3", 4, 4, &sel, NULL), 0);
    assert_int_equal(mhv_forward_run_opts(c, m, NULL, NULL, n, &sel, &o, &a, &err), MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "head 0:3 does not exist: swin's layer 0 has 2 heads"));
    assert_int_equal(mhv_model_heads_fit(m, &sel), 1);
    mhv_heads_free(&sel);
    assert_int_equal(mhv_heads_parse("all", 4, 4, &sel, NULL), 0);
    assert_int_equal(mhv_model_heads_fit(m, &sel), 4); /* layers 0 and 1: heads 2 and 3 */
    int rows[] = {0, 5};
    mhv_forward_opts ro = {.pixels = px, .image_h = H, .image_w = W, .rows = rows, .nrows = 2};
    assert_int_equal(mhv_forward_run_opts(c, m, NULL, NULL, n, &sel, &ro, &a, &err),
                     MHV_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "swin's maps are whole"));
    /* 12x4 pixels: a 3x1 patch grid, narrower than the 2x2 windows: transformers fails on
     * it (its bias table no longer fits the one 1x1 window) */
    mhv_forward_opts so = {.pixels = px, .image_h = 4, .image_w = 12};
    assert_int_equal(mhv_forward_run_opts(c, m, NULL, NULL, 3, &sel, &so, &a, &err),
                     MHV_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "smaller than the 2x2 windows"));
    float logits[2];
    assert_int_equal(mhv_forward_image_logits(c, m, px, H, W, logits, &err), MHV_EUNSUPPORTED);
    mhv_heads_free(&sel);
    mhv_forward_ctx_free(c);
    free(px);
    mhv_model_close(m);

    mhv_config cfg;
    const char *abs_pos = "{\"model_type\": \"swin\", \"use_absolute_embeddings\": true}";
    assert_int_equal(mhv_config_parse(abs_pos, strlen(abs_pos), "config.json", &cfg, &err),
                     MHV_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "use_absolute_embeddings is not supported for swin"));
    const char *uneven = "{\"model_type\": \"swin\", \"depths\": [2, 2], \"num_heads\": [3]}";
    assert_int_equal(mhv_config_parse(uneven, strlen(uneven), "config.json", &cfg, &err),
                     MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "depths has 2 stages, num_heads 1"));
    const char *split = "{\"model_type\": \"swin\", \"embed_dim\": 10, \"depths\": [2], "
                        "\"num_heads\": [3]}";
    assert_int_equal(mhv_config_parse(split, strlen(split), "config.json", &cfg, &err),
                     MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "stage 0's 10 channels do not split into its 3 heads"));
    const char *pre = "{\"model_type\": \"swinv2\", \"depths\": [2, 2], \"num_heads\": [3, 6], "
                      "\"pretrained_window_sizes\": [8]}";
    assert_int_equal(mhv_config_parse(pre, strlen(pre), "config.json", &cfg, &err), MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "pretrained_window_sizes has 1 entries for 2 stages"));
    /* 65536 x 65536 patches: past the positions (their count overflowed int) */
    const char *huge = "{\"model_type\": \"swin\", \"image_size\": 65536, \"patch_size\": 1}";
    assert_int_equal(mhv_config_parse(huge, strlen(huge), "config.json", &cfg, &err),
                     MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "image_size / patch_size gives too many patches "
                                    "(65536 x 65536)"));
    const char *v2abs = "{\"model_type\": \"swinv2\", \"use_absolute_embeddings\": true}";
    assert_int_equal(mhv_config_parse(v2abs, strlen(v2abs), "config.json", &cfg, &err),
                     MHV_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "use_absolute_embeddings is not supported for swinv2"));
    const char *v2 = "{\"model_type\": \"swinv2\", \"depths\": [2, 2], \"num_heads\": [3, 6], "
                     "\"pretrained_window_sizes\": [8, 0]}";
    assert_int_equal(mhv_config_parse(v2, strlen(v2), "config.json", &cfg, &err), MHV_OK);
    assert_true(cfg.swin && cfg.swin_v2 && cfg.swin_pretrained[0] == 8 &&
                cfg.swin_pretrained[1] == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goldens),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
