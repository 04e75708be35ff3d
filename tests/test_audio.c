/* WAV reading (lib/media/wav.c) and Whisper's log-mel features (lib/media/logmel.c) against
 * tests/fixtures/audio (tests/gen/gen_audio_goldens.py): the samples exactly as
 * soundfile.read(path, dtype="float32") gives them for every format, the features within
 * 2e-6 of WhisperFeatureExtractor's numpy path (80 and 128 bins, 1-, 2- and 30-s windows,
 * audio shorter and longer than the window: 31 s of an LCG's noise made here and in the
 * generator alike); hostile and refused files give one line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/logmel.h"
#include "media/wav.h"

#include "testutil.h"

#define DIR "tests/fixtures/audio/"

static float *read_f32(const char *name, size_t *n)
{
    char path[512];
    size_t len;
    snprintf(path, sizeof path, DIR "%s", name);
    char *b = tu_read_file(path, &len);
    assert_int_equal(len % 4, 0);
    *n = len / 4;
    float *v = malloc(len + 4);
    memcpy(v, b, len);
    free(b);
    return v;
}

static void test_samples(void **state)
{
    (void)state;
    cJSON *m = tu_read_json(DIR "manifest.json");
    const cJSON *w;
    int count = 0;
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(m, "wavs"))
    {
        char path[512];
        snprintf(path, sizeof path, DIR "%s", cJSON_GetObjectItem(w, "name")->valuestring);
        mhv_wav wav;
        mhv_error err = {0};
        if (mhv_wav_read(path, 16000, &wav, &err))
            fail_msg("%s: %s", err.file, err.msg);
        size_t n;
        float *want = read_f32(cJSON_GetObjectItem(w, "samples")->valuestring, &n);
        assert_int_equal(wav.frames, n);
        for (size_t i = 0; i < n; i++)
            if (memcmp(&wav.samples[i], &want[i], 4) != 0)
                fail_msg("%s: sample %zu is %.9g, soundfile %.9g", path, i, wav.samples[i],
                         want[i]);
        free(want);
        mhv_wav_free(&wav);
        count++;
    }
    assert_int_equal(count, 10);
    cJSON_Delete(m);
}

static void test_features(void **state)
{
    (void)state;
    cJSON *m = tu_read_json(DIR "manifest.json");
    const cJSON *c;
    int count = 0;
    double worst_all = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(m, "cases"))
    {
        char path[512];
        snprintf(path, sizeof path, DIR "%s", cJSON_GetObjectItem(c, "wav")->valuestring);
        mhv_wav wav;
        mhv_error err = {0};
        if (mhv_wav_read(path, 16000, &wav, &err))
            fail_msg("%s: %s", err.file, err.msg);
        mhv_logmel_cfg cfg = mhv_logmel_defaults();
        cfg.feature_size = cJSON_GetObjectItem(c, "feature_size")->valueint;
        cfg.chunk_length = cJSON_GetObjectItem(c, "chunk_length")->valueint;
        cfg.n_samples = cfg.chunk_length * cfg.sampling_rate;
        cfg.frames = cfg.n_samples / cfg.hop_length;
        assert_int_equal(cfg.frames, cJSON_GetObjectItem(c, "frames")->valueint);
        size_t cells = (size_t)cfg.feature_size * (size_t)cfg.frames, n;
        float *got = malloc(cells * sizeof *got);
        if (mhv_logmel_run(&cfg, wav.samples, wav.frames, got, &err))
            fail_msg("%s", err.msg);
        float *want = read_f32(cJSON_GetObjectItem(c, "golden")->valuestring, &n);
        const cJSON *kept = cJSON_GetObjectItem(c, "kept");
        int nk = cJSON_IsArray(kept) ? cJSON_GetArraySize(kept) : cfg.frames;
        assert_int_equal(n, (size_t)cfg.feature_size * (size_t)nk);
        double worst = 0;
        for (int j = 0; j < cfg.feature_size; j++)
            for (int k = 0; k < nk; k++) {
                int t = cJSON_IsArray(kept) ? cJSON_GetArrayItem(kept, k)->valueint : k;
                double d = fabs((double)got[(size_t)j * (size_t)cfg.frames + (size_t)t] -
                                (double)want[(size_t)j * (size_t)nk + (size_t)k]);
                worst = fmax(worst, d);
            }
        if (!(worst <= 2e-6))
            fail_msg("%s (%d bins, %d s): features differ by %.3g", path, cfg.feature_size,
                     cfg.chunk_length, worst);
        worst_all = fmax(worst_all, worst);
        free(got), free(want);
        mhv_wav_free(&wav);
        count++;
    }
    print_message("log-mel: %d cases, largest difference from the numpy path %.3g\n", count,
                  worst_all);
    assert_int_equal(count, 12);
    cJSON_Delete(m);
}

/* The generator's lcg_audio: 31 s, longer than the 30-s window (cut to it). */
static float *lcg_audio(size_t n)
{
    float *x = malloc(n * sizeof *x);
    uint64_t state = 12345;
    for (size_t i = 0; i < n; i++) {
        state = (state * 1103515245u + 12345u) % (1u << 31);
        int s = (int)((state >> 15) & 0xFFFF) - 32768;
        x[i] = (float)(s * (int)(1 + (i / 16000) % 4)) / 131072.0f;
    }
    return x;
}

static void test_longer_than_window(void **state)
{
    (void)state;
    cJSON *m = tu_read_json(DIR "manifest.json");
    const cJSON *c = cJSON_GetObjectItem(m, "lcg31");
    size_t n = (size_t)cJSON_GetObjectItem(c, "samples")->valueint, ng;
    float *x = lcg_audio(n);
    assert_true(x[0] == (float)cJSON_GetObjectItem(c, "first")->valuedouble);
    assert_true(x[n - 1] == (float)cJSON_GetObjectItem(c, "last")->valuedouble);
    mhv_logmel_cfg cfg = mhv_logmel_defaults();
    float *got = malloc((size_t)cfg.feature_size * (size_t)cfg.frames * sizeof *got);
    mhv_error err = {0};
    assert_int_equal(mhv_logmel_run(&cfg, x, n, got, &err), MHV_OK);
    float *want = read_f32(cJSON_GetObjectItem(c, "golden")->valuestring, &ng);
    const cJSON *kept = cJSON_GetObjectItem(c, "kept");
    int nk = cJSON_GetArraySize(kept);
    assert_int_equal(ng, (size_t)80 * (size_t)nk);
    double worst = 0;
    for (int j = 0; j < 80; j++)
        for (int k = 0; k < nk; k++) {
            int t = cJSON_GetArrayItem(kept, k)->valueint;
            worst = fmax(worst, fabs((double)got[(size_t)j * 3000 + (size_t)t] -
                                     (double)want[(size_t)j * (size_t)nk + (size_t)k]));
        }
    if (!(worst <= 2e-6))
        fail_msg("31 s of audio: features differ by %.3g", worst);
    free(x), free(got), free(want);
    cJSON_Delete(m);
}

static void test_config(void **state)
{
    (void)state;
    mhv_logmel_cfg c;
    mhv_error err = {0};
    assert_int_equal(mhv_logmel_load(DIR "proc-m128-c2", &c, &err), MHV_OK);
    assert_int_equal(c.feature_size, 128);
    assert_int_equal(c.chunk_length, 2);
    assert_int_equal(c.n_samples, 32000);
    assert_int_equal(c.frames, 200);
    /* no preprocessor_config.json: the class's defaults */
    assert_int_equal(mhv_logmel_load(DIR, &c, &err), MHV_OK);
    assert_int_equal(c.frames, 3000);
    assert_int_equal(c.feature_size, 80);
}

/* ---- hostile and refused files ---- */

static size_t put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8), p[2] = (unsigned char)(v >> 16),
    p[3] = (unsigned char)(v >> 24);
    return 4;
}

static size_t put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8);
    return 2;
}

/* A WAV of one fmt chunk (tag, channels, rate, bits) and a data chunk of data_len bytes (its
 * header saying say_len) into buf; returns the length. */
static size_t make_wav(unsigned char *buf, unsigned tag, unsigned ch, uint32_t rate,
                       unsigned bits, size_t data_len, uint32_t say_len)
{
    size_t at = 0;
    memcpy(buf, "RIFF", 4), at += 4;
    at += put32(buf + at, 0); /* wrong on purpose: not relied on */
    memcpy(buf + at, "WAVEfmt ", 8), at += 8;
    at += put32(buf + at, 16);
    at += put16(buf + at, tag);
    at += put16(buf + at, ch);
    at += put32(buf + at, rate);
    at += put32(buf + at, rate * ch * bits / 8);
    at += put16(buf + at, ch * bits / 8);
    at += put16(buf + at, bits);
    memcpy(buf + at, "data", 4), at += 4;
    at += put32(buf + at, say_len);
    for (size_t i = 0; i < data_len; i++)
        buf[at++] = (unsigned char)(i * 37);
    return at;
}

static void expect_fail(const unsigned char *b, size_t len, int rate, mhv_status want,
                        const char *part)
{
    mhv_wav w;
    mhv_error err = {0};
    mhv_status st = mhv_wav_decode(b, len, "x.wav", rate, &w, &err);
    if (st != want || !strstr(err.msg, part) || strchr(err.msg, '\n') ||
        strcmp(err.file, "x.wav") != 0)
        fail_msg("status %d (want %d), message '%s' (want '%s' in it)", st, want, err.msg, part);
    assert_null(w.samples);
}

static void test_refusals(void **state)
{
    (void)state;
    unsigned char b[256];
    size_t n;
    n = make_wav(b, 1, 2, 16000, 16, 8, 8);
    expect_fail(b, n, 16000, MHV_EUNSUPPORTED, "2 channels: the model takes mono audio");
    n = make_wav(b, 1, 1, 44100, 16, 8, 8);
    expect_fail(b, n, 16000, MHV_EUNSUPPORTED,
                "44100 Hz audio: the model's feature extractor takes 16000 Hz; resample it "
                "first, e.g. ffmpeg -i IN -ac 1 -ar 16000 OUT.wav");
    n = make_wav(b, 6, 1, 16000, 8, 8, 8);
    expect_fail(b, n, 16000, MHV_EUNSUPPORTED, "A-law audio (WAVE format 0x0006)");
    n = make_wav(b, 1, 1, 16000, 12, 8, 8);
    expect_fail(b, n, 16000, MHV_EUNSUPPORTED, "12-bit PCM samples are not supported");
    n = make_wav(b, 1, 1, 16000, 16, 8, 100);
    expect_fail(b, n, 16000, MHV_EFORMAT, "data chunk of 100 bytes runs past the end");
    n = make_wav(b, 1, 1, 16000, 16, 8, 0xFFFFFFFFu);
    expect_fail(b, n, 16000, MHV_EFORMAT, "runs past the end of the file");
    expect_fail(b, 40, 16000, MHV_EFORMAT, "truncated chunk header at byte 36");
    expect_fail(b, 30, 16000, MHV_EFORMAT, "'fmt ' chunk of 16 bytes runs past");
    expect_fail(b, 36, 16000, MHV_EFORMAT, "no data chunk");
    expect_fail((const unsigned char *)"RIFF\0\0\0\0WAVE", 12, 16000, MHV_EFORMAT,
                "no fmt chunk");
    expect_fail((const unsigned char *)"OggS....", 8, 16000, MHV_EFORMAT, "not a WAV file");
    /* a fmt chunk whose size runs past the end */
    n = make_wav(b, 1, 1, 16000, 16, 8, 8);
    put32(b + 16, 0x7FFFFFF0u);
    expect_fail(b, n, 16000, MHV_EFORMAT, "'fmt ' chunk of 2147483632 bytes runs past");
    /* NaN in a float file */
    n = make_wav(b, 3, 1, 16000, 32, 8, 8);
    put32(b + 44, 0x7FC00000u);
    expect_fail(b, n, 16000, MHV_EFORMAT, "sample 0 is NaN or infinite");
}

static void test_odd_layouts(void **state)
{
    (void)state;
    /* 8-bit PCM with an odd data chunk and no pad byte at the end; a partial last frame of
     * 16-bit audio dropped as libsndfile drops it; any rate taken with want_rate 0 */
    unsigned char b[256];
    mhv_wav w;
    mhv_error err = {0};
    size_t n = make_wav(b, 1, 1, 8000, 8, 7, 7);
    assert_int_equal(mhv_wav_decode(b, n, "x.wav", 0, &w, &err), MHV_OK);
    assert_int_equal(w.frames, 7);
    assert_int_equal(w.sample_rate, 8000);
    assert_true(w.samples[0] == -1.0f); /* byte 0: (0 - 128) / 128 */
    mhv_wav_free(&w);
    n = make_wav(b, 1, 1, 16000, 16, 7, 7);
    assert_int_equal(mhv_wav_decode(b, n, "x.wav", 16000, &w, &err), MHV_OK);
    assert_int_equal(w.frames, 3);
    mhv_wav_free(&w);
    /* a LIST chunk of odd size (padded) before the data */
    unsigned char c[128];
    size_t k = make_wav(b, 1, 1, 16000, 16, 4, 4);
    memcpy(c, b, 36);
    memcpy(c + 36, "LIST\x03\0\0\0abc\0", 12);
    memcpy(c + 48, b + 36, k - 36);
    assert_int_equal(mhv_wav_decode(c, k + 12, "x.wav", 16000, &w, &err), MHV_OK);
    assert_int_equal(w.frames, 2);
    mhv_wav_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples),     cmocka_unit_test(test_features),
        cmocka_unit_test(test_config),      cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_longer_than_window),
        cmocka_unit_test(test_odd_layouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
