/* Qwen2-VL against Hugging Face transformers: each golden tests/fixtures/goldens/qwen2-vl-*.json
 * (made by tests/gen/fam_qwen2_vl.py) holds the processor's ids, image_grid_thw and pixels
 * (its patches put back into a (C, H, W) image) of a prompt and its PNG, the attention of
 * every decoder head and of every vision tower head (row-major patches, windows as full
 * rows) from transformers' eager attention (float64 on the fp32-loaded weights) and the last
 * position's logits. The PNG preprocessed here must be the processor's pixels; every head
 * must match within the golden's tolerance on 1 and 2 threads with the same bytes and with
 * the scalar kernels; the logits within 1e-4 relative. Then what is refused: several images,
 * video, an image whose tokens are not the prompt's, a grid not in whole merge blocks; and
 * configs. */
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
#include <unistd.h>

#include "media/image.h"
#include "media/preprocess.h"
#include "model/config.h"
#include "model/forward.h"

#include "testutil.h"

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
        st = mhv_forward_run_opts(c, m, ids, NULL, n, sel, &o, a, err);
    mhv_forward_ctx_free(c);
    return st;
}

/* The PNG of a golden sentence preprocessed as the model's processor: the golden's pixels. */
static void check_pixels(const char *dir, const cJSON *s, const float *want, int h, int w)
{
    char path[1024];
    snprintf(path, sizeof path, "tests/fixtures/%s", cJSON_GetObjectItem(s, "image")->valuestring);
    mhv_preprocess pp;
    mhv_image raw;
    mhv_error err = {0};
    int W, H;
    if (mhv_preprocess_load(dir, 0, &pp, &err) || mhv_image_read(path, &raw, &err) ||
        mhv_preprocess_size(&pp, raw.width, raw.height, &W, &H, path, &err))
        fail_msg("%s: %s", path, err.msg);
    assert_int_equal(W, w);
    assert_int_equal(H, h);
    float *px = malloc((size_t)3 * (size_t)H * (size_t)W * sizeof *px);
    if (mhv_preprocess_run(&pp, &raw, H, W, px, NULL, path, &err))
        fail_msg("%s: %s", path, err.msg);
    double worst = 0;
    for (int i = 0; i < 3 * H * W; i++)
        worst = fmax(worst, fabs(px[i] - want[i]));
    if (worst > 1e-5)
        fail_msg("%s: pixels differ from the processor's by %.3g", path, worst);
    const cJSON *thw = cJSON_GetObjectItem(s, "image_grid_thw");
    assert_int_equal(cJSON_GetArrayItem(thw, 1)->valueint * pp.smart_patch, H);
    assert_int_equal(cJSON_GetArrayItem(thw, 2)->valueint * pp.smart_patch, W);
    free(px);
    mhv_image_free(&raw);
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
    assert_true(strcmp(m->cfg.arch, "qwen2_vl") == 0 || strcmp(m->cfg.arch, "qwen2_5_vl") == 0);
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
        image im;
        float *px = json_pixels(cJSON_GetObjectItem(s, "pixels"), m->cfg.num_channels, &im.h,
                                &im.w);
        im.px = px;
        check_pixels(path, s, px, im.h, im.w);
        mhv_attn a1, a2, as, v1, v2, vs;
        if (run_with(m, NULL, 1, ids, n, &im, &sel, &vsel, &a1, &v1, &err) ||
            run_with(m, NULL, 2, ids, n, &im, &sel, &vsel, &a2, &v2, &err) ||
            run_with(m, "scalar", 1, ids, n, &im, &sel, &vsel, &as, &vs, &err))
            fail_msg("%s: forward: %s", fixture, err.msg);
        const cJSON *want = cJSON_GetObjectItem(s, "attentions");
        const cJSON *vwant = cJSON_GetObjectItem(s, "vision_attentions");
        double w1 = tu_compare_attn(&a1, want, 1), ws = tu_compare_attn(&as, want, 1);
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
        mhv_attn a3; /* the decoder's maps alone (no tower heads asked): the same bytes */
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
        mhv_status lst = mhv_forward_logits_image(c, m, ids, n, im.px, im.h, im.w, logits, &err);
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
        } else { /* Qwen2VLModel: no LM head */
            assert_int_equal(lst, MHV_EUNSUPPORTED);
        }
        free(logits);
        free(ids);
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

static int is_qvl_golden(const struct dirent *d)
{
    size_t len = strlen(d->d_name);
    return (strncmp(d->d_name, "qwen2-vl-", 9) == 0 ||
            strncmp(d->d_name, "qwen2.5-vl-", 11) == 0) && len > 5 &&
           !strstr(d->d_name, "-vision-") && /* the towers alone: tests/cli/qwen2_vl.sh */
           strcmp(d->d_name + len - 5, ".json") == 0;
}

static void test_goldens(void **state)
{
    (void)state;
    struct dirent **list;
    int n = scandir("tests/fixtures/goldens", &list, is_qvl_golden, alphasort);
    assert_true(n >= 3);
    for (int i = 0; i < n; i++) {
        check_golden(list[i]->d_name);
        free(list[i]);
    }
    free(list);
}

/* ids with the image's run of tokens at 3, a text token before and after each run */
static int prompt(const mhv_config *c, int tokens, int split, int32_t *ids)
{
    int n = 0;
    ids[n++] = 7, ids[n++] = 8, ids[n++] = 3;
    for (int k = 0; k < tokens; k++) {
        if (split && k == tokens / 2)
            ids[n++] = 9;
        ids[n++] = c->image_token_id;
    }
    ids[n++] = 4, ids[n++] = 10;
    return n;
}

static void test_refusals(void **state)
{
    (void)state;
    mhv_model *m;
    mhv_error err = {0};
    assert_int_equal(mhv_model_open("tests/fixtures/qwen2-vl-f32", &m, &err), 0);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("0:0", m->cfg.num_layers, m->cfg.num_heads, &sel, NULL), 0);
    int P = m->cfg.patch_size, M = m->cfg.image_merge;
    float *px = calloc((size_t)3 * 64 * 64, sizeof *px);
    image im = {px, 2 * P * M, 3 * P * M}; /* 2 x 3 merged tokens */
    int32_t ids[64];
    mhv_attn a;
    int n = prompt(&m->cfg, 6, 0, ids);
    assert_int_equal(run_with(m, NULL, 1, ids, n, &im, &sel, NULL, &a, NULL, &err), MHV_OK);
    mhv_attn_free(&a);
    n = prompt(&m->cfg, 5, 0, ids);
    assert_int_equal(run_with(m, NULL, 1, ids, n, &im, &sel, NULL, &a, NULL, &err), MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "the prompt holds 5 image tokens, the image gives 6 features"));
    n = prompt(&m->cfg, 6, 1, ids);
    assert_int_equal(run_with(m, NULL, 1, ids, n, &im, &sel, NULL, &a, NULL, &err),
                     MHV_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "several images in a prompt are not supported for qwen2_vl"));
    n = prompt(&m->cfg, 6, 0, ids);
    ids[1] = m->cfg.video_token_id;
    assert_int_equal(run_with(m, NULL, 1, ids, n, &im, &sel, NULL, &a, NULL, &err),
                     MHV_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "video is not supported for qwen2_vl"));
    ids[1] = 8;
    image odd = {px, 2 * P * M, 3 * P * M - P}; /* not whole merge blocks */
    assert_int_equal(run_with(m, NULL, 1, ids, n, &odd, &sel, NULL, &a, NULL, &err), MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "qwen2_vl_vision takes whole 2x2 blocks of 4-pixel patches"));
    assert_int_equal(run_with(m, NULL, 1, ids, n, NULL, &sel, NULL, &a, NULL, &err), MHV_EUSAGE);
    free(px);
    mhv_heads_free(&sel);
    mhv_model_close(m);
}

/* A config.json of Qwen2-VL-7B-Instruct's shape (the text settings at the top, as its hub
 * file has them), read as transformers reads it. */
static const char cfg_7b[] =
    "{\"model_type\": \"qwen2_vl\", \"hidden_size\": 3584, \"intermediate_size\": 18944, "
    "\"num_attention_heads\": 28, \"num_hidden_layers\": 28, \"num_key_value_heads\": 4, "
    "\"rms_norm_eps\": 1e-06, \"rope_theta\": 1000000.0, \"max_position_embeddings\": 32768, "
    "\"vocab_size\": 152064, \"tie_word_embeddings\": false, \"image_token_id\": 151655, "
    "\"video_token_id\": 151656, \"rope_scaling\": {\"type\": \"mrope\", \"mrope_section\": "
    "[16, 24, 24]}, \"vision_config\": {\"depth\": 32, \"embed_dim\": 1280, \"mlp_ratio\": 4, "
    "\"num_heads\": 16, \"in_chans\": 3, \"hidden_size\": 3584, \"patch_size\": 14, "
    "\"spatial_merge_size\": 2, \"temporal_patch_size\": 2}}";

static mhv_status parse(const char *text, mhv_config *c, mhv_error *err)
{
    return mhv_config_parse(text, strlen(text), "config.json", c, err);
}

/* cfg_7b with `from` replaced by `to` refused with msg. */
static void refused(const char *from, const char *to, mhv_status want, const char *msg)
{
    tu_config_refused_edit(cfg_7b, from, to, want, msg);
}

static void test_configs(void **state)
{
    (void)state;
    mhv_config *c = malloc(sizeof *c);
    mhv_error err = {0};
    if (parse(cfg_7b, c, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(c->arch, "qwen2_vl");
    assert_int_equal(c->hidden_size, 3584);
    assert_int_equal(c->num_layers, 28);
    assert_int_equal(c->num_heads, 28);
    assert_int_equal(c->num_kv_heads, 4);
    assert_int_equal(c->head_dim, 128);
    assert_int_equal(c->vocab_size, 152064);
    assert_true(c->causal && c->image_in_text && !c->vision && c->attn_bias);
    assert_int_equal(c->image_token_id, 151655);
    assert_int_equal(c->video_token_id, 151656);
    assert_int_equal(c->mrope_section[0], 16);
    assert_int_equal(c->mrope_section[2], 24);
    assert_true(c->rope.theta == 1e6);
    assert_int_equal(c->patch_size, 14);
    assert_int_equal(c->image_merge, 2);
    assert_false(c->tie_word_embeddings);
    free(c);
    refused("\"type\": \"mrope\"", "\"type\": \"yarn\"", MHV_EUNSUPPORTED,
            "rope type 'yarn' is not supported for qwen2_vl's text model");
    refused("[16, 24, 24]", "[16, 24, 16]", MHV_EFORMAT,
            "mrope_section 16 + 24 + 16 is not the 64 rotary pairs of a 128-dimension head");
    refused("\"hidden_size\": 3584, \"patch_size\"", "\"hidden_size\": 4096, \"patch_size\"",
            MHV_EFORMAT,
            "the vision tower's merger gives 4096 features, the text model takes 3584");
    refused("\"patch_size\": 14", "\"patch_size\": [14, 14]", MHV_EUNSUPPORTED,
            "patch_size as a list is not supported");
    refused("\"image_token_id\": 151655", "\"image_token_id\": 152064", MHV_EFORMAT,
            "image_token_id 152064 is outside the text model's 152064 tokens");
    refused("\"num_heads\": 16", "\"num_heads\": 128", MHV_EFORMAT,
            "does not split into the 2-D rotary's four quarters");
}

/* Qwen2.5-VL-7B-Instruct's shape: a windowed tower of RMSNorms and a gated MLP. */
static const char cfg_25[] =
    "{\"model_type\": \"qwen2_5_vl\", \"hidden_size\": 3584, \"intermediate_size\": 18944, "
    "\"num_attention_heads\": 28, \"num_hidden_layers\": 28, \"num_key_value_heads\": 4, "
    "\"vocab_size\": 152064, \"rope_theta\": 1000000.0, \"rope_scaling\": {\"type\": "
    "\"mrope\", \"mrope_section\": [16, 24, 24]}, \"vision_config\": {\"depth\": 32, "
    "\"hidden_act\": \"silu\", \"hidden_size\": 1280, \"intermediate_size\": 3420, "
    "\"num_heads\": 16, \"out_hidden_size\": 3584, \"patch_size\": 14, "
    "\"spatial_merge_size\": 2, \"window_size\": 112, \"fullatt_block_indexes\": [7, 15, "
    "23, 31], \"temporal_patch_size\": 2}}";

static void test_configs_25(void **state)
{
    (void)state;
    mhv_config *c = malloc(sizeof *c);
    mhv_error err = {0};
    if (parse(cfg_25, c, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(c->arch, "qwen2_5_vl");
    assert_int_equal(c->hidden_size, 3584);
    assert_int_equal(c->image_merge, 2);
    assert_int_equal(c->mrope_section[1], 24);
    free(c);
    mhv_model *m; /* the tower's settings, through a fixture's */
    assert_int_equal(mhv_model_open("tests/fixtures/qwen2.5-vl-bf16", &m, &err), 0);
    const mhv_config *t = &mhv_forward_image_tower(m)->cfg;
    assert_string_equal(t->arch, "qwen2_5_vl_vision");
    assert_int_equal(t->qvl_tower, 2);
    assert_int_equal(t->qvl_window, 24);
    assert_int_equal(t->qvl_full_layers[0], 5); /* layers 0 and 2 */
    assert_int_equal(t->act, MHV_ACT_GELU);
    mhv_model_close(m);
    char text[2048];
    const char *from = "\"window_size\": 112", *at = strstr(cfg_25, from);
    snprintf(text, sizeof text, "%.*s\"window_size\": 27%s", (int)(at - cfg_25), cfg_25,
             at + strlen(from));
    c = malloc(sizeof *c);
    assert_int_equal(parse(text, c, &err), MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "window_size 27 is smaller than a merged 2x2 block of "
                                    "14-pixel patches"));
    free(c);
}

/* Qwen2VLImageProcessor's sizes as the hub's files give them (min_pixels and max_pixels
 * keys), against transformers' smart_resize (Python's round to even at .5, the area
 * shrunk, grown), and its refusal of an aspect ratio above 200. */
static void test_smart_resize(void **state)
{
    (void)state;
    char dir[] = "/tmp/mhv-qvl-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    static const struct {
        long max_pixels;
        int w, h, want_w, want_h;
    } cases[] = {
        {12845056, 1000, 700, 1008, 700}, {200000, 1000, 700, 532, 364},
        {12845056, 37, 23, 84, 56},       {12845056, 70, 42, 56, 56},
        {12845056, 98, 70, 112, 56},      {12845056, 5000, 4000, 4004, 3192},
        {200000, 5000, 4000, 476, 392},   {12845056, 3, 500, 28, 728},
    };
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "{\"image_processor_type\": \"Qwen2VLImageProcessor\", \"min_pixels\": "
                   "3136, \"max_pixels\": %ld, \"patch_size\": 14, \"merge_size\": 2, "
                   "\"temporal_patch_size\": 2}", cases[i].max_pixels);
        fclose(f);
        mhv_preprocess pp;
        mhv_error err = {0};
        int W, H;
        if (mhv_preprocess_load(dir, 0, &pp, &err) ||
            mhv_preprocess_size(&pp, cases[i].w, cases[i].h, &W, &H, "x.png", &err))
            fail_msg("%s", err.msg);
        if (W != cases[i].want_w || H != cases[i].want_h)
            fail_msg("%dx%d resized to %dx%d, want %dx%d", cases[i].w, cases[i].h, W, H,
                     cases[i].want_w, cases[i].want_h);
        if (i == 0) {
            assert_int_equal(mhv_preprocess_size(&pp, 10000, 40, &W, &H, "x.png", &err),
                             MHV_EUSAGE);
            assert_non_null(strstr(err.msg, "an aspect ratio above 200"));
        }
    }
    remove(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goldens),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_configs),
        cmocka_unit_test(test_configs_25),
        cmocka_unit_test(test_smart_resize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
