/* The Audio Spectrogram Transformer (lib/model/vit.c's AST row, lib/media/astfeat.c) against
 * transformers: each golden tests/fixtures/goldens/ast-*.json (tests/gen/fam_ast.py) names a
 * fixture checkpoint and WAV files; the WAV is read (media/wav.h), its filter bank features
 * made as the fixture's preprocessor_config.json says, which must be ASTFeatureExtractor's
 * own bits (<fixture>/input-<wav>.f32), and every head of every layer must match
 * transformers' eager attention (float64 run) within the golden's tolerance, on 1 and 2
 * threads with the same bytes and with the scalar kernels. Also the config's defaults and
 * refusals, the patches' layout and the audio too short for a frame. */
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

#include "media/astfeat.h"
#include "media/wav.h"
#include "model/config.h"
#include "model/forward.h"
#include "model/layers.h"

#include "testutil.h"

/* the features of tests/fixtures/audio/<wav> for model directory dir: (max_length, mels) */
static float *features(const char *dir, const char *wav, size_t *samples, size_t *count)
{
    char path[512];
    mhv_astfeat_cfg cfg;
    mhv_error err = {0};
    if (mhv_astfeat_load(dir, &cfg, &err))
        fail_msg("%s: %s", err.file, err.msg);
    snprintf(path, sizeof path, "tests/fixtures/audio/%s", wav);
    mhv_wav w;
    if (mhv_wav_read(path, cfg.sampling_rate, &w, &err))
        fail_msg("%s: %s", err.file, err.msg);
    *count = (size_t)cfg.max_length * (size_t)cfg.num_mel_bins;
    float *x = malloc(*count * sizeof *x);
    int frames;
    if (mhv_astfeat_run(&cfg, w.samples, w.frames, x, &frames, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(frames, 1 + ((int)w.frames - MHV_AST_FRAME) / MHV_AST_HOP);
    *samples = w.frames;
    mhv_wav_free(&w);
    return x;
}

static void run_with(const mhv_model *m, const char *kernel, int threads, const float *x,
                     size_t samples, int n, const mhv_heads *sel, mhv_attn *a)
{
    mhv_forward_params p = {.threads = threads, .kernel = kernel};
    mhv_forward_ctx *c;
    mhv_error err = {0};
    mhv_forward_opts o = {.audio = x, .audio_samples = (long)samples};
    if (mhv_forward_ctx_new(&p, &c, &err) ||
        mhv_forward_run_opts(c, m, NULL, NULL, n, sel, &o, a, &err))
        fail_msg("%s: forward: %s", m->dir, err.msg);
    mhv_forward_ctx_free(c);
}

static double compare(const mhv_attn *a, const cJSON *want)
{
    double worst = 0;
    for (int s = 0; s < a->count; s++) {
        const mhv_head_attn *h = &a->heads[s];
        const cJSON *wl = cJSON_GetArrayItem(cJSON_GetArrayItem(want, h->layer), h->head);
        assert_int_equal(cJSON_GetArraySize(wl), h->rows);
        for (int i = 0; i < h->rows; i++) {
            const cJSON *row = cJSON_GetArrayItem(wl, i);
            assert_int_equal(cJSON_GetArraySize(row), h->cols);
            for (int j = 0; j < h->cols; j++) {
                double d = fabs(h->w[(size_t)i * (size_t)h->cols + (size_t)j] -
                                cJSON_GetArrayItem(row, j)->valuedouble);
                worst = d > worst ? d : worst;
            }
        }
    }
    return worst;
}

static void check_golden(const char *file)
{
    char path[1024];
    cJSON *g;
    const char *fixture;
    double tol;
    mhv_model *m = tu_open_golden(file, &g, &fixture, &tol);
    snprintf(path, sizeof path, "tests/fixtures/%s", fixture); /* read below */
    const mhv_config *c = &m->cfg;
    assert_true(c->speech && c->spectrogram && !c->vision);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("all", c->num_layers, c->num_heads, &sel, NULL), 0);
    const cJSON *s;
    int count = 0;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(g, "sentences"))
    {
        const char *wav = cJSON_GetObjectItem(s, "wav")->valuestring;
        size_t samples, cells, len;
        float *x = features(path, wav, &samples, &cells);
        char ref[1200];
        snprintf(ref, sizeof ref, "%s/input-%.*s.f32", path, (int)strlen(wav) - 4, wav);
        char *want_x = tu_read_file(ref, &len);
        assert_int_equal(len, cells * sizeof(float));
        if (memcmp(x, want_x, len) != 0)
            fail_msg("%s %s: features differ from ASTFeatureExtractor's", fixture, wav);
        free(want_x);
        int n = cJSON_GetObjectItem(s, "frames")->valueint;
        assert_int_equal(mhv_config_speech_frames(c, (long)samples), n);
        mhv_attn a1, a2, as;
        run_with(m, NULL, 1, x, samples, n, &sel, &a1);
        run_with(m, NULL, 2, x, samples, n, &sel, &a2);
        run_with(m, "scalar", 1, x, samples, n, &sel, &as);
        assert_int_equal(a1.count, c->num_layers * c->num_heads);
        const cJSON *want = cJSON_GetObjectItem(s, "attentions");
        double w1 = compare(&a1, want), ws = compare(&as, want);
        if (w1 > tol || ws > tol)
            fail_msg("%s %s: attention differs by %.3g (scalar %.3g) > %.3g", fixture, wav, w1,
                     ws, tol);
        if (memcmp(a1.buf, a2.buf, (size_t)a1.count * (size_t)n * (size_t)n * sizeof(float)))
            fail_msg("%s %s: 1 and 2 threads differ", fixture, wav);
        print_message("  %s %s: %d tokens, worst %.3g (scalar %.3g, tolerance %.3g)\n", fixture,
                      wav, n, w1, ws, tol);
        mhv_attn_free(&a1), mhv_attn_free(&a2), mhv_attn_free(&as);
        free(x);
        count++;
    }
    assert_true(count > 0);
    mhv_heads_free(&sel);
    mhv_model_close(m);
    cJSON_Delete(g);
}

static void test_goldens(void **state)
{
    (void)state;
    DIR *d = opendir("tests/fixtures/goldens");
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "ast-", 4) == 0) {
            check_golden(e->d_name);
            n++;
        }
    closedir(d);
    assert_true(n >= 3);
}

/* patch (fi, ti) reads bins fi * fstride .. + P and frames ti * tstride .. + P, kernel rows
 * the bins (the features transposed) */
static void test_patches(void **state)
{
    (void)state;
    enum { T = 7, F = 5, P = 2 };
    float feat[T * F], out[2 * 3 * P * P];
    for (int t = 0; t < T; t++)
        for (int f = 0; f < F; f++)
            feat[t * F + f] = (float)(100 * t + f);
    mhv_layer_spec_patches(feat, T, F, P, 3, 2, out); /* Fo = 2, To = 3 */
    /* patch (1, 2): bins 3, 4 and frames 4, 5; element (a, b) = bin 3 + a, frame 4 + b */
    const float *p = out + (1 * 3 + 2) * P * P;
    assert_true(p[0] == 403.0f && p[1] == 503.0f && p[2] == 404.0f && p[3] == 504.0f);
}

static void expect_config_refusal(const char *json, const char *msg)
{
    mhv_config c;
    mhv_error err = {0};
    mhv_status st = mhv_config_parse(json, strlen(json), "config.json", &c, &err);
    assert_int_not_equal(st, MHV_OK);
    if (!strstr(err.msg, msg))
        fail_msg("'%s' instead of '%s'", err.msg, msg);
}

static void test_config(void **state)
{
    (void)state;
    mhv_config c;
    mhv_error err = {0};
    const char *ok = "{\"model_type\": \"audio-spectrogram-transformer\"}";
    assert_int_equal(mhv_config_parse(ok, strlen(ok), "config.json", &c, &err), MHV_OK);
    /* ASTConfig's defaults: 128 bins x 1024 frames, patches 16 every 10: 12 x 101 + 2 */
    assert_true(c.speech && c.spectrogram && !c.vision && c.patch_size == 16 &&
                c.spec_mels == 128 && c.spec_frames == 1024 && c.vision_extra == 2 &&
                c.layer_norm_eps == 1e-12f && c.attn_bias);
    assert_int_equal(c.max_positions, 1214);
    assert_int_equal(mhv_config_speech_frames(&c, 400), 1214);
    assert_int_equal(mhv_config_speech_frames(&c, 399), 0);
    expect_config_refusal("{\"model_type\": \"audio-spectrogram-transformer\", "
                          "\"patch_size\": [16, 16]}", "patch_size list is not supported");
    expect_config_refusal("{\"model_type\": \"audio-spectrogram-transformer\", "
                          "\"head_dim\": 32}", "head_dim");
    expect_config_refusal("{\"model_type\": \"audio-spectrogram-transformer\", "
                          "\"patch_size\": 20, \"num_mel_bins\": 16}", "larger than");
}

/* the extractor's defaults, and one frame of 400 samples at least */
static void test_extractor(void **state)
{
    (void)state;
    mhv_astfeat_cfg c;
    mhv_error err = {0};
    assert_int_equal(mhv_astfeat_load("tests/fixtures/no-such-dir", &c, &err), MHV_OK);
    assert_true(c.sampling_rate == 16000 && c.num_mel_bins == 128 && c.max_length == 1024 &&
                c.do_normalize && c.mean == -4.2677393 && c.std == 4.5689974);
    /* the kaldi mel scale from 20 Hz to 8 kHz: the first bin's centre is above 20 Hz, the
     * last below 8 kHz, rising */
    double lo = mhv_astfeat_bin_hz(&c, 0), hi = mhv_astfeat_bin_hz(&c, 127);
    assert_true(lo > 20 && lo < 60 && hi < 8000 && hi > 7500);
    c.max_length = 4, c.num_mel_bins = 8;
    float x[400] = {0}, out[32];
    int frames;
    for (int i = 0; i < 400; i++)
        x[i] = (float)sin(i * 0.3);
    assert_int_equal(mhv_astfeat_run(&c, x, 400, out, &frames, &err), MHV_OK);
    assert_int_equal(frames, 1);
    /* the padded frames are zeros before the normalisation */
    float pad = (float)((0.0f - (float)c.mean) / (float)(c.std * 2));
    for (int i = 8; i < 32; i++)
        assert_true(out[i] == pad);
    assert_true(out[0] != pad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patches),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_extractor),
        cmocka_unit_test(test_goldens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
