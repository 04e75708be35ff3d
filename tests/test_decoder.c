/* Decoder models (GPT-2, LLaMA, Mistral, Qwen2): per-head attention against Hugging Face
 * transformers (goldens by tests/gen/gen_decoder_fixtures.py), logits of the ForCausalLM
 * fixtures, config parsing of real-world config.json files, and the real trained
 * stories260K model (read in place from ../shared/data, skipped when absent) against the
 * llama2.c-checked reference dumps beside it. Ids in, no tokenizer. */
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

#include "base/fileio.h"
#include "model/forward.h"

#include "testutil.h"

#define TOL 1e-5
#define LOGIT_TOL 1e-4 /* logits are O(1-10): 1e-5 relative */

/* Logits on one thread with the widest kernels. */
static mhv_status logits_of(const mhv_model *m, const int32_t *ids, int n, float *logits,
                            mhv_error *err)
{
    mhv_forward_params p = {.threads = 1};
    mhv_forward_ctx *c;
    mhv_status st = mhv_forward_ctx_new(&p, &c, err);
    if (st)
        return st;
    st = mhv_forward_logits(c, m, ids, n, logits, err);
    mhv_forward_ctx_free(c);
    return st;
}

static mhv_model *open_model(const char *dir)
{
    mhv_model *m;
    mhv_error err = {0};
    if (mhv_model_open(dir, &m, &err) != MHV_OK)
        fail_msg("%s: %s", err.file, err.msg);
    return m;
}

/* Every golden sentence of tests/fixtures/<name> with all heads (and logits when the
 * golden has them). */
static void run_fixture(const char *name, const char *arch, int kv_heads)
{
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/%s", name);
    mhv_model *m = open_model(path);
    assert_string_equal(m->cfg.arch, arch);
    assert_int_equal(m->cfg.num_kv_heads, kv_heads);
    assert_true(m->cfg.causal);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("all", m->cfg.num_layers, m->cfg.num_heads, &sel, NULL),
                     MHV_OK);
    snprintf(path, sizeof path, "tests/fixtures/goldens/%s.json", name);
    cJSON *g = tu_read_json(path);
    const cJSON *s;
    int count = 0;
    mhv_error err = {0};
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(g, "sentences"))
    {
        int n;
        int32_t *ids = tu_json_ids(cJSON_GetObjectItem(s, "token_ids"), &n);
        mhv_attn a;
        if (mhv_forward(m, ids, n, &sel, &a, &err) != MHV_OK)
            fail_msg("forward: %s", err.msg);
        double worst = tu_compare_attn(&a, cJSON_GetObjectItem(s, "attentions"), 1);
        if (worst > TOL)
            fail_msg("%s sentence %d: max abs difference %.3g > %.0e", name, count, worst, TOL);
        assert_int_equal(a.kv_group, strcmp(arch, "gpt2") ? m->cfg.num_heads / kv_heads : 0);
        mhv_attn_free(&a);

        const cJSON *gl = cJSON_GetObjectItem(s, "logits_last");
        if (gl) {
            int V = m->cfg.vocab_size;
            assert_int_equal(cJSON_GetArraySize(gl), V);
            float *logits = malloc((size_t)n * (size_t)V * sizeof *logits);
            if (logits_of(m, ids, n, logits, &err) != MHV_OK)
                fail_msg("logits: %s", err.msg);
            double lw = 0;
            for (int v = 0; v < V; v++) {
                double d = fabs(logits[(size_t)(n - 1) * (size_t)V + (size_t)v] -
                                cJSON_GetArrayItem(gl, v)->valuedouble);
                if (d > lw)
                    lw = d;
            }
            if (lw > LOGIT_TOL)
                fail_msg("%s sentence %d: logits differ by %.3g", name, count, lw);
            free(logits);
        }
        free(ids);
        count++;
    }
    assert_true(count > 0);
    cJSON_Delete(g);
    mhv_heads_free(&sel);
    mhv_model_close(m);
}

static void test_gpt2_f32(void **s) { (void)s; run_fixture("dec-gpt2-f32", "gpt2", 4); }
static void test_gpt2_f16_oldbufs(void **s)
{
    (void)s;
    run_fixture("dec-gpt2-f16-oldbufs", "gpt2", 4);
}
static void test_llama_f32(void **s) { (void)s; run_fixture("dec-llama-f32", "llama", 4); }
static void test_llama_bf16_gqa2_linear(void **s)
{
    (void)s;
    run_fixture("dec-llama-bf16-gqa2-linear", "llama", 2);
}
static void test_llama_f16_gqa4_llama3(void **s)
{
    (void)s;
    run_fixture("dec-llama-f16-gqa4-llama3", "llama", 2);
}
static void test_mistral_sw(void **s)
{
    (void)s;
    run_fixture("dec-mistral-f32-sw5", "mistral", 2);
}
static void test_qwen2_f32(void **s) { (void)s; run_fixture("dec-qwen2-f32", "qwen2", 2); }
static void test_qwen2_bf16_gqa4(void **s)
{
    (void)s;
    run_fixture("dec-qwen2-bf16-gqa4", "qwen2", 2);
}

/* A partial selection captures the same bytes as a full run, for GQA and GPT-2 models. */
static void test_selection(void **state)
{
    (void)state;
    const char *dirs[] = {"tests/fixtures/dec-qwen2-bf16-gqa4", "tests/fixtures/dec-gpt2-f32"};
    for (size_t d = 0; d < 2; d++) {
        mhv_model *m = open_model(dirs[d]);
        const int32_t ids[] = {5, 17, 3, 99, 42, 7, 1};
        mhv_heads all, some;
        assert_int_equal(mhv_heads_parse("all", m->cfg.num_layers, m->cfg.num_heads, &all, NULL), 0);
        assert_int_equal(mhv_heads_parse("0:1,0:3", m->cfg.num_layers, m->cfg.num_heads, &some,
                                         NULL), 0);
        mhv_attn a, b;
        mhv_error err = {0};
        assert_int_equal(mhv_forward(m, ids, 7, &all, &a, &err), MHV_OK);
        assert_int_equal(mhv_forward(m, ids, 7, &some, &b, &err), MHV_OK);
        assert_int_equal(b.count, 2);
        for (int k = 0; k < b.count; k++) {
            int idx = b.heads[k].layer * m->cfg.num_heads + b.heads[k].head;
            assert_memory_equal(a.heads[idx].w, b.heads[k].w, 49 * sizeof(float));
        }
        mhv_attn_free(&a);
        mhv_attn_free(&b);
        mhv_heads_free(&all);
        mhv_heads_free(&some);
        mhv_model_close(m);
    }
}

/* A base model saved without lm_head has no logits; a BERT model neither. */
static void test_logits_errors(void **state)
{
    (void)state;
    mhv_model *m = open_model("tests/fixtures/dec-llama-bf16-gqa2-linear");
    const int32_t ids[] = {1, 2};
    float logits[2 * 400];
    mhv_error err = {0};
    assert_int_equal(logits_of(m, ids, 2, logits, &err), MHV_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "lm_head"));
    mhv_model_close(m);
    m = open_model("tests/fixtures/bert-f32");
    assert_int_equal(logits_of(m, ids, 2, logits, &err), MHV_EUNSUPPORTED);
    mhv_model_close(m);
}

/* ---- config.json of real checkpoints (abridged to the fields that matter) ---- */

static mhv_status parse(const char *text, mhv_config *c, mhv_error *err)
{
    return mhv_config_parse(text, strlen(text), "config.json", c, err);
}

static void test_config_real(void **state)
{
    (void)state;
    mhv_config c;
    mhv_error err = {0};
    /* Qwen/Qwen2-7B */
    const char qwen7b[] =
        "{\"architectures\": [\"Qwen2ForCausalLM\"], \"hidden_act\": \"silu\", \"hidden_size\": 3584,"
        " \"intermediate_size\": 18944, \"max_position_embeddings\": 131072, \"max_window_layers\": 28,"
        " \"model_type\": \"qwen2\", \"num_attention_heads\": 28, \"num_hidden_layers\": 28,"
        " \"num_key_value_heads\": 4, \"rms_norm_eps\": 1e-06, \"rope_theta\": 1000000.0,"
        " \"sliding_window\": 131072, \"tie_word_embeddings\": false, \"torch_dtype\": \"bfloat16\","
        " \"use_cache\": true, \"use_sliding_window\": false, \"vocab_size\": 152064}";
    assert_int_equal(parse(qwen7b, &c, &err), MHV_OK);
    assert_string_equal(c.arch, "qwen2");
    assert_int_equal(c.head_dim, 128);
    assert_int_equal(c.num_kv_heads, 4);
    assert_int_equal(c.sliding_window, 0);
    assert_true(c.attn_bias && !c.attn_out_bias);
    assert_true(c.rope.theta == 1e6);
    /* meta-llama/Llama-3.2-1B: llama3 rope, tied, head_dim given */
    const char llama32[] =
        "{\"model_type\": \"llama\", \"hidden_size\": 2048, \"head_dim\": 64,"
        " \"intermediate_size\": 8192, \"num_attention_heads\": 32, \"num_hidden_layers\": 16,"
        " \"num_key_value_heads\": 8, \"rms_norm_eps\": 1e-05, \"rope_theta\": 500000.0,"
        " \"rope_scaling\": {\"factor\": 32.0, \"high_freq_factor\": 4.0, \"low_freq_factor\": 1.0,"
        " \"original_max_position_embeddings\": 8192, \"rope_type\": \"llama3\"},"
        " \"tie_word_embeddings\": true, \"vocab_size\": 128256, \"max_position_embeddings\": 131072}";
    assert_int_equal(parse(llama32, &c, &err), MHV_OK);
    assert_int_equal(c.rope.kind, MHV_ROPE_LLAMA3);
    assert_true(c.rope.factor == 32.0 && c.rope.original_max_positions == 8192);
    assert_true(c.tie_word_embeddings);
    /* old-style linear scaling ("type") */
    const char linear[] =
        "{\"model_type\": \"llama\", \"hidden_size\": 64, \"intermediate_size\": 96,"
        " \"num_attention_heads\": 4, \"num_hidden_layers\": 1, \"vocab_size\": 10,"
        " \"rope_scaling\": {\"type\": \"linear\", \"factor\": 4.0}}";
    assert_int_equal(parse(linear, &c, &err), MHV_OK);
    assert_int_equal(c.rope.kind, MHV_ROPE_LINEAR);
    assert_int_equal(c.num_kv_heads, 4);
    assert_true(c.rope.theta == 10000.0);
    /* mistralai/Mistral-7B-v0.1 */
    const char mistral[] =
        "{\"model_type\": \"mistral\", \"hidden_size\": 4096, \"intermediate_size\": 14336,"
        " \"num_attention_heads\": 32, \"num_hidden_layers\": 32, \"num_key_value_heads\": 8,"
        " \"rope_theta\": 10000.0, \"sliding_window\": 4096, \"vocab_size\": 32000}";
    assert_int_equal(parse(mistral, &c, &err), MHV_OK);
    assert_int_equal(c.sliding_window, 4096);
    assert_int_equal(c.window_from_layer, 0);
    /* openai-community/gpt2 */
    const char gpt2[] =
        "{\"activation_function\": \"gelu_new\", \"model_type\": \"gpt2\", \"n_ctx\": 1024,"
        " \"n_embd\": 768, \"n_head\": 12, \"n_layer\": 12, \"n_positions\": 1024,"
        " \"layer_norm_epsilon\": 1e-05, \"vocab_size\": 50257}";
    assert_int_equal(parse(gpt2, &c, &err), MHV_OK);
    assert_string_equal(c.arch, "gpt2");
    assert_int_equal(c.intermediate_size, 3072);
    assert_int_equal(c.act, MHV_ACT_GELU_NEW);
    assert_int_equal(c.head_dim, 64);
}

static void test_config_errors(void **state)
{
    (void)state;
    mhv_config c;
    mhv_error err = {0};
    const char longrope[] =
        "{\"model_type\": \"qwen2\", \"hidden_size\": 64, \"intermediate_size\": 96,"
        " \"num_attention_heads\": 4, \"num_hidden_layers\": 1, \"vocab_size\": 10,"
        " \"rope_scaling\": {\"type\": \"longrope\", \"factor\": 4.0}}";
    assert_int_equal(parse(longrope, &c, &err), MHV_EUNSUPPORTED);
    assert_string_equal(err.file, "config.json");
    assert_non_null(strstr(err.msg, "unsupported rope scaling type 'longrope'"));
    const char gqa[] =
        "{\"model_type\": \"llama\", \"hidden_size\": 64, \"intermediate_size\": 96,"
        " \"num_attention_heads\": 4, \"num_key_value_heads\": 3, \"num_hidden_layers\": 1,"
        " \"vocab_size\": 10}";
    assert_int_equal(parse(gqa, &c, &err), MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "num_key_value_heads 3 does not divide"));
    const char odd[] =
        "{\"model_type\": \"llama\", \"hidden_size\": 60, \"head_dim\": 15, \"intermediate_size\": 96,"
        " \"num_attention_heads\": 4, \"num_hidden_layers\": 1, \"vocab_size\": 10}";
    assert_int_equal(parse(odd, &c, &err), MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "odd"));
    const char l3[] =
        "{\"model_type\": \"llama\", \"hidden_size\": 64, \"intermediate_size\": 96,"
        " \"num_attention_heads\": 4, \"num_hidden_layers\": 1, \"vocab_size\": 10,"
        " \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0}}";
    assert_int_equal(parse(l3, &c, &err), MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "low_freq_factor"));
    const char g2[] = "{\"model_type\": \"gpt2\", \"n_embd\": 64, \"n_head\": 4, \"n_layer\": 1,"
                      " \"vocab_size\": 10, \"scale_attn_by_inverse_layer_idx\": true}";
    assert_int_equal(parse(g2, &c, &err), MHV_EUNSUPPORTED);
    const char qsw[] =
        "{\"model_type\": \"qwen2\", \"hidden_size\": 64, \"intermediate_size\": 96,"
        " \"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"vocab_size\": 10,"
        " \"use_sliding_window\": true, \"sliding_window\": 8, \"max_window_layers\": 1,"
        " \"layer_types\": [\"full_attention\", \"sliding_attention\"]}";
    assert_int_equal(parse(qsw, &c, &err), MHV_OK);
    assert_int_equal(c.sliding_window, 8);
    assert_int_equal(c.window_from_layer, 1);
}

/* ---- stories260K: a real trained llama2.c model, read in place from ../shared/data ---- */

/* stories260K.bin (llama2.c's legacy format: 7 int32 header, then fp32 arrays; see the
 * SOURCE.txt beside it) as an in-memory llama-family model in the Hugging Face layout. q and
 * k rows are permuted per head as transformers' convert_llama_weights_to_hf.py does: llama2.c
 * rotates adjacent pairs (2i, 2i+1), Hugging Face halves (i, i + head_dim/2). The file is
 * kept in *blob (freed by the caller with the model). */
static mhv_model *stories_model(const char *path, float **blob)
{
    size_t len;
    char *raw = tu_read_file(path, &len);
    int32_t h[7];
    assert_true(len > sizeof h);
    memcpy(h, raw, sizeof h);
    int dim = h[0], hidden = h[1], L = h[2], NH = h[3], NKV = h[4], V = h[5], S = h[6];
    int hs = dim / NH, kv = NKV * hs;
    size_t floats = (size_t)V * dim + (size_t)L * (2 * dim + 2 * dim * dim + 2 * kv * dim +
                                                   3 * hidden * dim) + dim + (size_t)S * hs;
    assert_int_equal(len, sizeof h + floats * sizeof(float));
    float *f = malloc(floats * sizeof *f);
    memcpy(f, raw + sizeof h, floats * sizeof *f);
    free(raw);
    *blob = f;

    mhv_model *m = calloc(1, sizeof *m);
    mhv_config *c = &m->cfg;
    assert_int_equal(mhv_config_set_type(c, "llama", NULL), MHV_OK);
    c->hidden_size = dim, c->num_layers = L, c->num_heads = NH, c->num_kv_heads = NKV;
    c->head_dim = hs, c->intermediate_size = hidden, c->vocab_size = V, c->max_positions = S;
    c->layer_norm_eps = 1e-5f, c->act = MHV_ACT_SILU, c->causal = 1, c->kv_heads = 1;
    c->tie_word_embeddings = 1, c->rope.theta = 10000.0;
    snprintf(m->dir, sizeof m->dir, "%s", path);
    m->dtype = MHV_DT_F32;
    m->layers = calloc((size_t)L, sizeof *m->layers);
    float *p = f;
#define TAKE(n) (p += (n), p - (n))
#define MAT(r, cl) ((mhv_mat){.data = TAKE((size_t)(r) * (cl)), .dtype = MHV_DT_F32, .rows = (r), .cols = (cl)})
    m->word_emb = MAT(V, dim);
    m->lm_head = m->word_emb;
    for (int l = 0; l < L; l++)
        m->layers[l].ln_attn_g = TAKE(dim);
    for (int l = 0; l < L; l++)
        m->layers[l].q = MAT(dim, dim);
    for (int l = 0; l < L; l++)
        m->layers[l].k = MAT(kv, dim);
    for (int l = 0; l < L; l++)
        m->layers[l].v = MAT(kv, dim);
    for (int l = 0; l < L; l++)
        m->layers[l].o = MAT(dim, dim);
    for (int l = 0; l < L; l++)
        m->layers[l].ln_ffn_g = TAKE(dim);
    for (int l = 0; l < L; l++)
        m->layers[l].ffn_gate = MAT(hidden, dim); /* w1 */
    for (int l = 0; l < L; l++)
        m->layers[l].ffn_down = MAT(dim, hidden); /* w2 */
    for (int l = 0; l < L; l++)
        m->layers[l].ffn_up = MAT(hidden, dim);   /* w3 */
    m->norm_g = TAKE(dim);
#undef MAT
#undef TAKE
    /* new row j*hs/2 + i of a head is old row 2i + j */
    float *tmp = malloc((size_t)hs * dim * sizeof *tmp);
    for (int l = 0; l < L; l++)
        for (int which = 0; which < 2; which++) {
            const mhv_mat *w = which ? &m->layers[l].k : &m->layers[l].q;
            float *data = (float *)(uintptr_t)w->data;
            for (int head = 0; head < w->rows / hs; head++) {
                float *rows = data + (size_t)head * hs * dim;
                for (int i = 0; i < hs / 2; i++)
                    for (int j = 0; j < 2; j++)
                        memcpy(tmp + (size_t)(j * hs / 2 + i) * dim, rows + (size_t)(2 * i + j) * dim,
                               (size_t)dim * sizeof *tmp);
                memcpy(rows, tmp, (size_t)hs * dim * sizeof *tmp);
            }
        }
    free(tmp);
    return m;
}

static void run_stories(const char *ref_name)
{
    char rel[256], path[1024], bin[1024];
    snprintf(rel, sizeof rel, "stories260K/reference/%s", ref_name);
    TU_SHARED_OR_SKIP(rel, path);
    TU_SHARED_OR_SKIP("stories260K/stories260K.bin", bin);
    cJSON *ref = tu_read_json(path);
    float *blob;
    mhv_model *m = stories_model(bin, &blob);
    assert_int_equal(m->cfg.num_kv_heads, 4);
    int n;
    int32_t *ids = tu_json_ids(cJSON_GetObjectItem(ref, "prompt_ids"), &n);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("all", m->cfg.num_layers, m->cfg.num_heads, &sel, NULL), 0);
    mhv_attn a;
    mhv_error err = {0};
    if (mhv_forward(m, ids, n, &sel, &a, &err) != MHV_OK)
        fail_msg("forward: %s", err.msg);
    double worst = tu_compare_attn(&a, cJSON_GetObjectItem(ref, "attention"), 1);
    if (worst > TOL)
        fail_msg("stories260K %s: attention differs by %.3g > %.0e", ref_name, worst, TOL);
    mhv_attn_free(&a);

    /* Greedy decoding, checked in one pass: over prompt + reference continuation, the argmax
     * at every position from the last prompt token on is the next reference token. */
    int g;
    int32_t *gen = tu_json_ids(cJSON_GetObjectItem(ref, "greedy_continuation_ids"), &g);
    int total = n + g - 1; /* the last generated token is never fed back */
    if (total > m->cfg.max_positions)
        total = m->cfg.max_positions;
    int32_t *seq = malloc((size_t)(n + g) * sizeof *seq);
    memcpy(seq, ids, (size_t)n * sizeof *seq);
    memcpy(seq + n, gen, (size_t)g * sizeof *seq);
    int V = m->cfg.vocab_size;
    float *logits = malloc((size_t)total * (size_t)V * sizeof *logits);
    if (logits_of(m, seq, total, logits, &err) != MHV_OK)
        fail_msg("logits: %s", err.msg);
    for (int p = n - 1; p < total; p++) {
        const float *row = logits + (size_t)p * (size_t)V;
        int best = 0;
        for (int v = 1; v < V; v++)
            if (row[v] > row[best])
                best = v;
        if (best != seq[p + 1])
            fail_msg("stories260K %s: position %d predicts %d, reference %d", ref_name, p, best,
                     (int)seq[p + 1]);
    }
    /* the top-5 logits at the last prompt position */
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(ref, "last_prompt_position_top5"))
    {
        int id = cJSON_GetArrayItem(t, 0)->valueint;
        double want = cJSON_GetArrayItem(t, 1)->valuedouble;
        double got = logits[(size_t)(n - 1) * (size_t)V + (size_t)id];
        if (fabs(got - want) > 1e-4 * (1 + fabs(want)))
            fail_msg("stories260K %s: logit of %d is %.7g, reference %.7g", ref_name, id, got, want);
    }
    free(logits);
    free(seq);
    free(gen);
    free(ids);
    mhv_heads_free(&sel);
    free(m->layers);
    free(m);
    free(blob);
    cJSON_Delete(ref);
}

static void test_stories_once(void **s) { (void)s; run_stories("ref_once_upon_a_time.json"); }
static void test_stories_lily(void **s) { (void)s; run_stories("ref_lily_ball.json"); }
static void test_stories_empty(void **s) { (void)s; run_stories("ref_empty_prompt_256.json"); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gpt2_f32),
        cmocka_unit_test(test_gpt2_f16_oldbufs),
        cmocka_unit_test(test_llama_f32),
        cmocka_unit_test(test_llama_bf16_gqa2_linear),
        cmocka_unit_test(test_llama_f16_gqa4_llama3),
        cmocka_unit_test(test_mistral_sw),
        cmocka_unit_test(test_qwen2_f32),
        cmocka_unit_test(test_qwen2_bf16_gqa4),
        cmocka_unit_test(test_selection),
        cmocka_unit_test(test_logits_errors),
        cmocka_unit_test(test_config_real),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_stories_once),
        cmocka_unit_test(test_stories_lily),
        cmocka_unit_test(test_stories_empty),
    };
    return cmocka_run_group_tests_name("decoder", tests, NULL, NULL);
}
