/* Whisper (lib/model/whisper.c) against transformers: each golden
 * tests/fixtures/goldens/whisper-*.json (tests/gen/fam_whisper.py) names a fixture
 * checkpoint and WAV files; the WAV is read (media/wav.h), turned into log-mel features as
 * the fixture's preprocessor_config.json says (media/logmel.h), and every head of the
 * encoder (over all audio positions), the decoder and the cross-attention must match
 * transformers' eager attention (float64 run) within the golden's tolerance, on 1 and 2
 * threads with the same bytes and with the scalar kernels; the last position's logits too.
 * Also the fixture tokenizer against WhisperTokenizerFast (whisper-tok.json), language
 * names (langs-whisper.json) and the refusals. */
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

#include "media/logmel.h"
#include "media/wav.h"
#include "model/config.h"
#include "model/forward.h"
#include "tok/whisper_lang.h"

#include "stack_expect.h"
#include "testutil.h"

#define LOGIT_TOL 1e-4

/* features (mels, frames) of tests/fixtures/audio/<wav> for model directory dir */
static float *features(const char *dir, const char *wav)
{
    char path[512];
    mhv_logmel_cfg cfg;
    mhv_error err = {0};
    if (mhv_logmel_load(dir, &cfg, &err))
        fail_msg("%s: %s", err.file, err.msg);
    snprintf(path, sizeof path, "tests/fixtures/audio/%s", wav);
    mhv_wav w;
    if (mhv_wav_read(path, cfg.sampling_rate, &w, &err))
        fail_msg("%s: %s", err.file, err.msg);
    float *f = malloc((size_t)cfg.feature_size * (size_t)cfg.frames * sizeof *f);
    if (mhv_logmel_run(&cfg, w.samples, w.frames, f, &err))
        fail_msg("%s", err.msg);
    mhv_wav_free(&w);
    return f;
}

static void run_with(const mhv_model *m, const char *kernel, int threads, const float *feats,
                     const int32_t *tgt, int nt, const mhv_heads *sel, mhv_attn *a)
{
    mhv_forward_params p = {.threads = threads, .kernel = kernel};
    mhv_forward_ctx *c;
    mhv_error err = {0};
    if (mhv_forward_ctx_new(&p, &c, &err) ||
        mhv_forward_run_seq2seq_audio(c, m, feats, tgt, nt, sel, a, &err))
        fail_msg("%s: forward: %s", m->dir, err.msg);
    mhv_forward_ctx_free(c);
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
    assert_true(c->enc_dec && c->audio_positions > 0);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse_seq2seq("all", c->num_layers, c->dec_layers, c->num_heads,
                                             &sel, NULL), 0);
    const cJSON *s;
    int count = 0;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(g, "sentences"))
    {
        int nt;
        float *feats = features(path, cJSON_GetObjectItem(s, "wav")->valuestring);
        int32_t *tgt = tu_json_ids(cJSON_GetObjectItem(s, "tgt_ids"), &nt);
        mhv_attn a1, a2, as;
        run_with(m, NULL, 1, feats, tgt, nt, &sel, &a1);
        run_with(m, NULL, 2, feats, tgt, nt, &sel, &a2);
        run_with(m, "scalar", 1, feats, tgt, nt, &sel, &as);
        assert_int_equal(a1.n_src, c->audio_positions);
        assert_int_equal(a1.n_tgt, nt);
        static const char *const keys[] = {"encoder", "decoder", "cross"};
        static const mhv_stack stacks[] = {MHV_STACK_ENCODER, MHV_STACK_DECODER,
                                           MHV_STACK_CROSS};
        for (int k = 0; k < 3; k++) {
            const cJSON *want = cJSON_GetObjectItem(s, keys[k]);
            int seen = 0, seen_s = 0;
            double w1 = compare_stack(&a1, stacks[k], want, &seen);
            double ws = compare_stack(&as, stacks[k], want, &seen_s);
            assert_int_equal(seen, cJSON_GetArraySize(want) * c->num_heads);
            if (w1 > tol || ws > tol)
                fail_msg("%s sentence %d: %s attention differs by %.3g (scalar %.3g) > %.3g",
                         fixture, count, keys[k], w1, ws, tol);
        }
        size_t cells = 0;
        for (int h = 0; h < a1.count; h++)
            cells += (size_t)a1.heads[h].rows * (size_t)a1.heads[h].cols;
        if (memcmp(a1.buf, a2.buf, cells * sizeof(float)) != 0)
            fail_msg("%s sentence %d: 1 and 2 threads differ", fixture, count);
        mhv_attn_free(&a1), mhv_attn_free(&a2), mhv_attn_free(&as);
        const cJSON *lg = cJSON_GetObjectItem(s, "logits_last");
        if (lg) {
            int V = c->dec_vocab_size;
            assert_int_equal(cJSON_GetArraySize(lg), V);
            float *logits = malloc((size_t)nt * (size_t)V * sizeof *logits);
            mhv_forward_params p = {.threads = 2};
            mhv_forward_ctx *fc;
            if (mhv_forward_ctx_new(&p, &fc, &err) ||
                mhv_forward_seq2seq_logits_audio(fc, m, feats, tgt, nt, logits, &err))
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
        } else {
            /* a base model has no logits */
            float dummy[1];
            mhv_forward_ctx *fc;
            mhv_forward_params p = {.threads = 1};
            assert_int_equal(mhv_forward_ctx_new(&p, &fc, &err), MHV_OK);
            assert_int_equal(mhv_forward_seq2seq_logits_audio(fc, m, feats, tgt, nt, dummy, &err),
                             MHV_EUNSUPPORTED);
            mhv_forward_ctx_free(fc);
        }
        free(feats), free(tgt);
        count++;
    }
    assert_true(count > 0);
    print_message("%s: %d sentences within %.2g\n", fixture, count, tol);
    mhv_heads_free(&sel);
    mhv_model_close(m);
    cJSON_Delete(g);
}

static int is_whisper_golden(const struct dirent *d)
{
    size_t len = strlen(d->d_name);
    return strncmp(d->d_name, "whisper-", 8) == 0 && strcmp(d->d_name, "whisper-tok.json") != 0 &&
           len > 5 && strcmp(d->d_name + len - 5, ".json") == 0;
}

static void test_goldens(void **state)
{
    (void)state;
    struct dirent **list;
    int n = scandir("tests/fixtures/goldens", &list, is_whisper_golden, alphasort);
    assert_int_equal(n, 3);
    for (int i = 0; i < n; i++) {
        check_golden(list[i]->d_name);
        free(list[i]);
    }
    free(list);
}

/* The fixture tokenizer's default template (<|startoftranscript|> <|notimestamps|> TEXT
 * <|endoftext|>) against WhisperTokenizerFast; the other prefixes are made by the CLI
 * (cmd/s2s_text.c) and checked in tests/cli/whisper.sh. */
static void test_tokenizer(void **state)
{
    (void)state;
    cJSON *g = tu_read_json("tests/fixtures/goldens/whisper-tok.json");
    mhv_tok *t = tu_open_tok_dir("tests/fixtures/whisper-f32");
    const cJSON *c;
    int count = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(g, "cases"))
    {
        if (!cJSON_IsNull(cJSON_GetObjectItem(c, "language")) ||
            !cJSON_IsNull(cJSON_GetObjectItem(c, "task")))
            continue;
        const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
        mhv_encoding e;
        mhv_error err = {0};
        if (mhv_tok_encode(t, text, strlen(text), &e, &err))
            fail_msg("%s", err.msg);
        int n;
        int32_t *want = tu_json_ids(cJSON_GetObjectItem(c, "ids"), &n);
        assert_int_equal(e.n, n);
        for (int i = 0; i < n; i++)
            assert_int_equal(e.ids[i], want[i]);
        free(want);
        mhv_encoding_free(&e);
        count++;
    }
    assert_int_equal(count, 3);
    mhv_tok_close(t);
    cJSON_Delete(g);
}

/* A language as WhisperTokenizer's prefix_tokens reads it (a name in any case, an alias, a
 * code): the code mhv_whisper_language_code gives must make the prefix's language token,
 * and the strings transformers refuses must have none (langs-whisper.json,
 * tests/gen/gen_whisper_langs.py). */
static void test_language_names(void **state)
{
    (void)state;
    cJSON *g = tu_read_json("tests/fixtures/goldens/langs-whisper.json");
    mhv_tok *t = tu_open_tok_dir("tests/fixtures/whisper-tok");
    const cJSON *c;
    int count = 0, refused = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(g, "cases"))
    {
        const char *lang = cJSON_GetObjectItem(c, "language")->valuestring;
        const cJSON *prefix = cJSON_GetObjectItem(c, "prefix");
        const char *code = mhv_whisper_language_code(lang);
        if (cJSON_IsNull(prefix)) {
            if (code)
                fail_msg("'%s': transformers refuses it, mhaviz reads it as %s", lang, code);
            refused++;
        } else {
            if (!code)
                fail_msg("'%s': transformers takes it, mhaviz does not", lang);
            char piece[16];
            snprintf(piece, sizeof piece, "<|%s|>", code);
            assert_int_equal(mhv_tok_lookup(t, piece, strlen(piece)),
                             cJSON_GetArrayItem(prefix, 1)->valueint);
        }
        count++;
    }
    assert_true(count > 400 && refused >= 5);
    mhv_tok_close(t);
    cJSON_Delete(g);
}

static void test_refusals(void **state)
{
    (void)state;
    mhv_model *m;
    mhv_error err = {0};
    assert_int_equal(mhv_model_open("tests/fixtures/whisper-f32", &m, &err), MHV_OK);
    mhv_heads sel;
    const mhv_config *c = &m->cfg;
    assert_int_equal(mhv_heads_parse_seq2seq("all", c->num_layers, c->dec_layers, c->num_heads,
                                             &sel, NULL), 0);
    mhv_forward_ctx *fc;
    mhv_forward_params p = {.threads = 1};
    assert_int_equal(mhv_forward_ctx_new(&p, &fc, &err), MHV_OK);
    int32_t ids[3] = {301, 5, 6};
    mhv_attn a;
    /* token ids are not audio */
    assert_int_equal(mhv_forward_run_seq2seq(fc, m, ids, 3, ids, 3, &sel, &a, &err), MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "takes audio, not source token ids"));
    assert_int_equal(mhv_forward_run_seq2seq_audio(fc, m, NULL, ids, 3, &sel, &a, &err),
                     MHV_EUSAGE);
    mhv_forward_ctx_free(fc);
    mhv_heads_free(&sel);
    mhv_model_close(m);
    /* the encoder with a classifier (WhisperForAudioClassification) */
    assert_int_equal(mhv_model_open("tests/fixtures/whisper-audiocls-f32", &m, &err),
                     MHV_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "WhisperForAudioClassification"));
    assert_null(m);
    mhv_config cfg;
    const char *bad[][2] = {
        {"{\"model_type\": \"whisper\", \"decoder_attention_heads\": 4}",
         "decoder_attention_heads 4 unlike encoder_attention_heads 6"},
        {"{\"model_type\": \"whisper\", \"use_weighted_layer_sum\": true}",
         "use_weighted_layer_sum is not supported"},
        {"{\"model_type\": \"whisper\", \"d_model\": 100}",
         "encoder_attention_heads 6 does not divide d_model 100"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (mhv_config_parse(bad[i][0], strlen(bad[i][0]), "config.json", &cfg, &err) == MHV_OK ||
            !strstr(err.msg, bad[i][1]))
            fail_msg("%s: '%s'", bad[i][0], err.msg);
    }
    const char *ok = "{\"model_type\": \"whisper\"}"; /* WhisperConfig's defaults */
    assert_int_equal(mhv_config_parse(ok, strlen(ok), "config.json", &cfg, &err), MHV_OK);
    assert_int_equal(cfg.audio_positions, 1500);
    assert_int_equal(cfg.num_mel_bins, 80);
    assert_int_equal(cfg.max_positions, 448);
    assert_int_equal(cfg.hidden_size, 384);
    assert_int_equal(cfg.decoder_start_id, 50257);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goldens),
        cmocka_unit_test(test_tokenizer),
        cmocka_unit_test(test_language_names),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
