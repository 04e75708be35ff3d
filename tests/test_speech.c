/* Speech encoders (lib/model/wav2vec2.c: wav2vec2, HuBERT, data2vec-audio, WavLM) against transformers: each golden
 * tests/fixtures/goldens/speech-*.json (tests/gen/fam_wav2vec2.py) names a fixture
 * checkpoint and WAV files; the WAV is read (media/wav.h), normalised as the fixture's
 * preprocessor_config.json says (media/w2vfeat.h), and every head of every layer must match
 * transformers' eager attention (float64 run; WavLM: each head's own weights, of which
 * transformers returns the mean) within the golden's tolerance, on 1 and 2
 * threads with the same bytes and with the scalar kernels. Also the normalised samples
 * against Wav2Vec2FeatureExtractor's own (w2v-*.input.f32), numpy's float32 sums, the frame
 * count, memory estimates that grow with the audio, and the refusals. */
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

#include "media/w2vfeat.h"
#include "media/wav.h"
#include "model/config.h"
#include "model/forward.h"

#include "testutil.h"

/* input_values of tests/fixtures/audio/<wav> for model directory dir */
static float *input_values(const char *dir, const char *wav, size_t *n)
{
    char path[512];
    mhv_w2vfeat_cfg cfg;
    mhv_error err = {0};
    if (mhv_w2vfeat_load(dir, &cfg, &err))
        fail_msg("%s: %s", err.file, err.msg);
    snprintf(path, sizeof path, "tests/fixtures/audio/%s", wav);
    mhv_wav w;
    if (mhv_wav_read(path, cfg.sampling_rate, &w, &err))
        fail_msg("%s: %s", err.file, err.msg);
    float *x = malloc(w.frames * sizeof *x);
    mhv_w2vfeat_run(&cfg, w.samples, w.frames, x);
    *n = w.frames;
    mhv_wav_free(&w);
    return x;
}

static void run_with(const mhv_model *m, const char *kernel, int threads, const float *x,
                     size_t samples, int frames, const mhv_heads *sel, mhv_attn *a)
{
    mhv_forward_params p = {.threads = threads, .kernel = kernel};
    mhv_forward_ctx *c;
    mhv_error err = {0};
    mhv_forward_opts o = {.audio = x, .audio_samples = (long)samples};
    if (mhv_forward_ctx_new(&p, &c, &err) ||
        mhv_forward_run_opts(c, m, NULL, NULL, frames, sel, &o, a, &err))
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
    const mhv_config *c = &m->cfg;
    assert_true(c->speech);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("all", c->num_layers, c->num_heads, &sel, NULL), 0);
    const cJSON *s;
    int count = 0;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(g, "sentences"))
    {
        size_t samples;
        float *x = input_values(path, cJSON_GetObjectItem(s, "wav")->valuestring, &samples);
        int frames = cJSON_GetObjectItem(s, "frames")->valueint;
        assert_int_equal(mhv_config_speech_frames(c, (long)samples), frames);
        mhv_attn a1, a2, as;
        run_with(m, NULL, 1, x, samples, frames, &sel, &a1);
        run_with(m, NULL, 2, x, samples, frames, &sel, &a2);
        run_with(m, "scalar", 1, x, samples, frames, &sel, &as);
        assert_int_equal(a1.count, c->num_layers * c->num_heads);
        const cJSON *want = cJSON_GetObjectItem(s, "attentions");
        double w1 = compare(&a1, want), ws = compare(&as, want);
        if (w1 > tol || ws > tol)
            fail_msg("%s sentence %d: attention differs by %.3g (scalar %.3g) > %.3g", fixture,
                     count, w1, ws, tol);
        size_t cells = (size_t)a1.count * (size_t)frames * (size_t)frames;
        if (memcmp(a1.buf, a2.buf, cells * sizeof(float)) != 0)
            fail_msg("%s sentence %d: 1 and 2 threads differ", fixture, count);
        print_message("  %s %s: %d frames, worst %.3g (scalar %.3g, tolerance %.3g)\n", fixture,
                      cJSON_GetObjectItem(s, "wav")->valuestring, frames, w1, ws, tol);
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
        if (strncmp(e->d_name, "speech-", 7) == 0) {
            check_golden(e->d_name);
            n++;
        }
    closedir(d);
    assert_true(n >= 10);
}

/* the normalised samples are Wav2Vec2FeatureExtractor's, bit for bit */
static void test_input_values(void **state)
{
    (void)state;
    static const char *const wavs[] = {"w2v-voiced", "w2v-short"};
    for (int i = 0; i < 2; i++) {
        char wav[64], ref[128];
        snprintf(wav, sizeof wav, "%s.wav", wavs[i]);
        snprintf(ref, sizeof ref, "tests/fixtures/audio/%s.input.f32", wavs[i]);
        size_t n, len;
        float *x = input_values("tests/fixtures/speech-w2v-group", wav, &n);
        char *want = tu_read_file(ref, &len);
        assert_int_equal(len, n * sizeof(float));
        if (memcmp(x, want, len) != 0)
            fail_msg("%s: input_values differ from transformers'", wavs[i]);
        free(x), free(want);
    }
}

/* numpy's pairwise float32 sum: a case whose plain running sum differs */
static void test_numpy_sum(void **state)
{
    (void)state;
    enum { N = 1000 };
    float x[N];
    float plain = 0.0f;
    for (int i = 0; i < N; i++) {
        x[i] = i == 0 ? 1e8f : 1.0f;
        plain += x[i];
    }
    /* pairwise: the ones summed apart, then added to 1e8 in blocks: 1e8 + 999 rounds to
     * a multiple of 8 */
    assert_true(plain == 1e8f);
    assert_true(mhv_w2vfeat_sum(x, N) != plain);
    float small[5] = {1, 2, 3, 4, 5};
    assert_true(mhv_w2vfeat_sum(small, 5) == 15.0f);
}

static void open_fixture(const char *name, mhv_model **m)
{
    char path[256];
    mhv_error err = {0};
    snprintf(path, sizeof path, "tests/fixtures/%s", name);
    if (mhv_model_open(path, m, &err))
        fail_msg("%s: %s", err.file, err.msg);
}

/* activations grow with the audio; token ids, missing audio, wrong frame counts and audio
 * too short for one frame are refused */
static void test_bounds_and_refusals(void **state)
{
    (void)state;
    mhv_model *m;
    open_fixture("speech-w2v-group", &m);
    const mhv_config *c = &m->cfg;
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("all", c->num_layers, c->num_heads, &sel, NULL), 0);
    mhv_forward_params p = {.threads = 1};
    mhv_forward_ctx *fc;
    mhv_error err = {0};
    assert_int_equal(mhv_forward_ctx_new(&p, &fc, &err), 0);
    mhv_forward_mem m1, m2;
    long s1 = 16000, s2 = 160000;
    mhv_forward_opts o1 = {.audio_samples = s1}, o2 = {.audio_samples = s2};
    int n1 = (int)mhv_config_speech_frames(c, s1), n2 = (int)mhv_config_speech_frames(c, s2);
    assert_int_equal(n1, 49);
    assert_int_equal(n2, 499);
    assert_int_equal(mhv_forward_estimate(fc, m, n1, &sel, &o1, &m1, &err), 0);
    assert_int_equal(mhv_forward_estimate(fc, m, n2, &sel, &o2, &m2, &err), 0);
    print_message("  activations %llu and %llu bytes\n", (unsigned long long)m1.activations,
                  (unsigned long long)m2.activations);
    assert_true(m2.activations > 3 * m1.activations);
    assert_true(m2.maps > 90 * m1.maps);
    int32_t ids[4] = {0};
    mhv_attn a;
    assert_int_equal(mhv_forward_run(fc, m, ids, 4, &sel, &a, &err), MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "takes a waveform"));
    float wave[400] = {0};
    mhv_forward_opts o = {.audio = wave, .audio_samples = 399};
    assert_int_equal(mhv_forward_run_opts(fc, m, NULL, NULL, 1, &sel, &o, &a, &err), MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "too short"));
    o.audio_samples = 400; /* one frame, not two */
    assert_int_equal(mhv_forward_run_opts(fc, m, NULL, NULL, 2, &sel, &o, &a, &err), MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "make 1 frames"));
    assert_int_equal(mhv_forward_run_opts(fc, m, NULL, NULL, 1, &sel, &o, &a, &err), MHV_OK);
    mhv_attn_free(&a);
    assert_int_equal(mhv_config_speech_frames(c, 400), 1);
    assert_int_equal(mhv_config_speech_frames(c, 399), 0);
    mhv_forward_ctx_free(fc);
    mhv_heads_free(&sel);
    mhv_model_close(m);
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

static void test_config_refusals(void **state)
{
    (void)state;
    expect_config_refusal("{\"model_type\": \"wav2vec2\", \"add_adapter\": true}", "add_adapter");
    expect_config_refusal("{\"model_type\": \"wav2vec2\", \"adapter_attn_dim\": 16}",
                          "adapter_attn_dim");
    expect_config_refusal("{\"model_type\": \"hubert\", \"conv_pos_batch_norm\": true}",
                          "conv_pos_batch_norm");
    expect_config_refusal("{\"model_type\": \"wav2vec2\", \"feat_extract_norm\": \"batch\"}",
                          "feat_extract_norm");
    expect_config_refusal("{\"model_type\": \"wav2vec2\", \"conv_dim\": [4, 4], "
                          "\"conv_kernel\": [3], \"conv_stride\": [2]}", "as many");
    expect_config_refusal("{\"model_type\": \"wav2vec2\", \"hidden_size\": 30, "
                          "\"num_attention_heads\": 4}", "divide");
    expect_config_refusal("{\"model_type\": \"wavlm\", \"num_buckets\": 2}", "too small");
    expect_config_refusal("{\"model_type\": \"sew-d\", \"conv_kernel_size\": 3}",
                          "conv_kernel_size 3 is not supported");
    expect_config_refusal("{\"model_type\": \"sew-d\", \"attention_head_size\": 32}",
                          "attention_head_size 32 is not supported");
    expect_config_refusal("{\"model_type\": \"sew-d\", \"pos_att_type\": [\"p2p\"]}",
                          "unsupported pos_att_type 'p2p'");
    expect_config_refusal("{\"model_type\": \"sew\", \"squeeze_factor\": 0}",
                          "squeeze_factor");
    /* strides multiplying past INT_MAX (65536^7 overflowed the samples a frame steps) */
    expect_config_refusal("{\"model_type\": \"wav2vec2\", \"conv_dim\": [4, 4, 4], "
                          "\"conv_kernel\": [3, 3, 3], \"conv_stride\": [65536, 65536, 65536]}",
                          "conv_stride multiply to more than 2147483647 samples a frame");
    expect_config_refusal("{\"model_type\": \"sew\", \"squeeze_factor\": 65536, "
                          "\"conv_dim\": [4, 4], \"conv_kernel\": [3, 3], "
                          "\"conv_stride\": [256, 256]}",
                          "conv_stride and squeeze_factor multiply to more than");
    mhv_config c;
    mhv_error err = {0};
    const char *ok = "{\"model_type\": \"wav2vec2\"}";
    assert_int_equal(mhv_config_parse(ok, strlen(ok), "config.json", &c, &err), MHV_OK);
    assert_true(c.speech && c.speech_convs == 7 && c.speech_pos_kernel == 128 &&
                c.speech_pos_groups == 16 && !c.pre_norm);
    /* 30 s at 16 kHz: the base models' 1500 frames (20 ms each, less the edges) */
    assert_int_equal(mhv_config_speech_frames(&c, 480000), 1499);
    assert_int_equal(mhv_config_speech_ratio(&c), 320);
    /* SEW's defaults: 13 convolutions of 320 samples a frame, then frames averaged 2 at a
     * time (the positional convolution strided 2); SEW-D's DeBERTa settings */
    const char *sew = "{\"model_type\": \"sew\"}";
    assert_int_equal(mhv_config_parse(sew, strlen(sew), "config.json", &c, &err), MHV_OK);
    assert_true(c.speech_convs == 13 && c.speech_squeeze == 2 && !c.speech_deberta &&
                c.speech_conv_dim[12] == 512 && c.layer_norm_eps == 1e-5f);
    assert_int_equal(mhv_config_speech_ratio(&c), 640);
    assert_int_equal(mhv_config_speech_frames(&c, 480000), 749);
    const char *sewd = "{\"model_type\": \"sew-d\"}";
    assert_int_equal(mhv_config_parse(sewd, strlen(sewd), "config.json", &c, &err), MHV_OK);
    assert_true(c.speech_deberta && c.rel_attention && c.rel_share_key && c.rel_c2p &&
                c.rel_p2c && c.rel_norm && c.rel_buckets == 256 && c.rel_span == 256 &&
                c.rel_max == 512 && c.rel_scale_terms == 3 && c.act == MHV_ACT_GELU &&
                c.layer_norm_eps == 1e-7f && c.speech_proj_eps == 1e-5f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_input_values),
        cmocka_unit_test(test_numpy_sum),
        cmocka_unit_test(test_config_refusals),
        cmocka_unit_test(test_bounds_and_refusals),
        cmocka_unit_test(test_goldens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
