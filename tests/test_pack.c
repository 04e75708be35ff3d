/* Sentences packed into one forward pass (mhv_forward_run_pack) against the same sentences
 * run one at a time (mhv_forward_run_opts): the same bytes in every map and value norm, for
 * the families that pack (encoders; decoders with learned or rotary positions, windows,
 * experts, q/k norms) and the models that fall back, every kernel table this CPU has, 1 and 2
 * threads, kept rows, value norms, token types and RoBERTa's padding positions, with sentence lengths
 * that cross the packs' token budget; and a failing sentence inside a pack reported as a
 * loop over the sentences would report it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/forward.h"

#define COUNT 16
/* tokens per sentence (cut to the model's positions): packs of a 40-token budget take 1 to 5
 * of them; on both sides of AVX2's switch at 48 rows */
static const int lens[COUNT] = {5, 12, 1, 30, 7, 22, 2, 17, 9, 26, 3, 14, 40, 50, 61, 49};

typedef struct {
    int32_t *ids[COUNT], *types[COUNT];
    int n[COUNT];
    int rows[2];          /* kept rows of sentence 3: its first and last */
} corpus;

/* Seeded ids below the vocabulary (every fifth token the padding id, where the model has
 * one), each sentence cut to the model's positions; token types 1 in the second half when
 * the model has two. */
static void make_corpus(const mhv_model *m, corpus *c)
{
    const mhv_config *cf = &m->cfg;
    uint32_t x = 12345;
    for (int s = 0; s < COUNT; s++) {
        int n = lens[s] < cf->max_positions ? lens[s] : cf->max_positions;
        c->n[s] = n;
        c->ids[s] = malloc((size_t)n * sizeof *c->ids[s]);
        c->types[s] = cf->type_vocab_size > 1 ? calloc((size_t)n, sizeof *c->types[s]) : NULL;
        for (int i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            c->ids[s][i] = (int32_t)((x >> 8) % (uint32_t)cf->vocab_size);
            if (cf->pad_positions && i % 5 == 4)
                c->ids[s][i] = cf->pad_id;
            if (c->types[s] && i >= n / 2)
                c->types[s][i] = 1;
        }
    }
    c->rows[0] = 0, c->rows[1] = c->n[3] - 1;
}

static void free_corpus(corpus *c)
{
    for (int s = 0; s < COUNT; s++)
        free(c->ids[s]), free(c->types[s]);
}

static void same_attn(const mhv_attn *a, const mhv_attn *b, const char *what, int s)
{
    if (a->n != b->n || a->count != b->count || a->rows != b->rows ||
        (a->vnorm == NULL) != (b->vnorm == NULL))
        fail_msg("%s: sentence %d: maps of another shape", what, s);
    for (int k = 0; k < a->count; k++) {
        const mhv_head_attn *x = &a->heads[k], *y = &b->heads[k];
        if (x->layer != y->layer || x->head != y->head || x->rows != y->rows ||
            x->cols != y->cols ||
            memcmp(x->w, y->w, (size_t)x->rows * (size_t)x->cols * sizeof *x->w) != 0)
            fail_msg("%s: sentence %d: head %d:%d differs packed", what, s, x->layer, x->head);
    }
    if (a->vnorm && memcmp(a->vnorm, b->vnorm, (size_t)a->count * (size_t)a->n * sizeof *a->vnorm))
        fail_msg("%s: sentence %d: value norms differ packed", what, s);
}

/* Runs c through packs as a caller groups them (consecutive sentences up to the budget),
 * and one by one, and compares. */
static void compare(const mhv_model *m, const corpus *c, const char *kernel, int threads,
                        int budget, int vnorm, const mhv_heads *sel, const char *what)
{
    mhv_forward_params one = {.threads = threads, .kernel = kernel, .pack_tokens = -1,
                              .value_norms = vnorm};
    mhv_forward_params packed = one;
    packed.pack_tokens = budget;
    mhv_forward_ctx *f1, *fp;
    mhv_error err = {0};
    if (mhv_forward_ctx_new(&one, &f1, &err) || mhv_forward_ctx_new(&packed, &fp, &err))
        fail_msg("%s: %s", what, err.msg);
    assert_int_equal(mhv_forward_pack_tokens(f1, m), 0);
    mhv_forward_item items[COUNT];
    for (int s = 0; s < COUNT; s++)
        items[s] = (mhv_forward_item){c->ids[s], c->types[s], c->n[s], s == 3 ? c->rows : NULL,
                                      s == 3 ? 2 : 0};
    mhv_attn a1[COUNT], ap[COUNT];
    for (int s = 0; s < COUNT; s++) {
        mhv_forward_opts fo = {.rows = items[s].rows, .nrows = items[s].nrows};
        if (mhv_forward_run_opts(f1, m, c->ids[s], c->types[s], c->n[s], sel, &fo, &a1[s], &err))
            fail_msg("%s: sentence %d alone: %s", what, s, err.msg);
    }
    int tokens = mhv_forward_pack_tokens(fp, m);
    for (int s0 = 0, s1; s0 < COUNT; s0 = s1) {
        int total = c->n[s0];
        for (s1 = s0 + 1; s1 < COUNT && total + c->n[s1] <= tokens; s1++)
            total += c->n[s1];
        int done;
        if (mhv_forward_run_pack(fp, m, items + s0, s1 - s0, sel, ap + s0, &done, &err))
            fail_msg("%s: pack from sentence %d: %s", what, s0 + done, err.msg);
        assert_int_equal(done, s1 - s0);
    }
    for (int s = 0; s < COUNT; s++) {
        same_attn(&a1[s], &ap[s], what, s);
        mhv_attn_free(&a1[s]);
        mhv_attn_free(&ap[s]);
    }
    mhv_forward_ctx_free(f1);
    mhv_forward_ctx_free(fp);
}

/* The activation bytes a scalar context holds after sentences 0..4 (the longest: 3) through
 * mhv_forward_run_pack with a budget of `tokens`. */
static uint64_t pass_bytes(const mhv_model *m, const corpus *c, const mhv_heads *sel,
                           int tokens)
{
    mhv_forward_params p = {.threads = 1, .kernel = "scalar", .pack_tokens = tokens};
    mhv_forward_ctx *f;
    mhv_error err = {0};
    mhv_forward_item items[5];
    mhv_attn a[5];
    int done;
    for (int s = 0; s < 5; s++)
        items[s] = (mhv_forward_item){c->ids[s], c->types[s], c->n[s], NULL, 0};
    if (mhv_forward_ctx_new(&p, &f, &err) ||
        mhv_forward_run_pack(f, m, items, 5, sel, a, &done, &err))
        fail_msg("%s", err.msg);
    for (int s = 0; s < 5; s++)
        mhv_attn_free(&a[s]);
    uint64_t b = mhv_forward_ctx_bytes(f);
    mhv_forward_ctx_free(f);
    return b;
}

/* As check_fixture with value norms of kind vnorm (JetMoE has no one W_O: MHV_VNORM_V). */
static void check_fixture_vnorm(const char *fixture, int packs, int vnorm)
{
    char dir[256];
    snprintf(dir, sizeof dir, "tests/fixtures/%s", fixture);
    mhv_model *m;
    mhv_error err = {0};
    if (mhv_model_open(dir, &m, &err))
        fail_msg("%s: %s", dir, err.msg);
    corpus c;
    make_corpus(m, &c);
    mhv_heads all, some;
    char spec[64];
    /* the last layer's head 0 and layer 0's last head: the last layer runs pruned */
    snprintf(spec, sizeof spec, "0:%d,%d:0", m->cfg.num_heads - 1, m->cfg.num_layers - 1);
    if (mhv_heads_parse("all", m->cfg.num_layers, m->cfg.num_heads, &all, &err) ||
        mhv_heads_parse(spec, m->cfg.num_layers, m->cfg.num_heads, &some, &err))
        fail_msg("%s", err.msg);
    const char *kernels[] = {"scalar", "avx2", "avx512"};
    for (int k = 0; k < 3; k++)
        for (int t = 1; t <= 2; t++) {
            char what[256];
            snprintf(what, sizeof what, "%s, %s, %d thread%s", fixture, kernels[k], t,
                     t > 1 ? "s" : "");
            compare(m, &c, kernels[k], t, 40, 0, &all, what);
            compare(m, &c, kernels[k], t, 128, vnorm, &some, what);
        }
    /* one pass over the five sentences holds more rows than the longest of them alone */
    if (packs)
        assert_true(pass_bytes(m, &c, &all, 128) > pass_bytes(m, &c, &all, -1));
    mhv_forward_params p = {.threads = 1, .kernel = "scalar", .pack_tokens = 100};
    mhv_forward_ctx *f;
    assert_int_equal(mhv_forward_ctx_new(&p, &f, &err), MHV_OK);
    assert_int_equal(mhv_forward_pack_tokens(f, m) > 0, packs);
    mhv_forward_ctx_free(f);
    mhv_heads_free(&all);
    mhv_heads_free(&some);
    free_corpus(&c);
    mhv_model_close(m);
}

static void check_fixture(const char *fixture, int packs)
{
    check_fixture_vnorm(fixture, packs, MHV_VNORM_VO);
}

static void test_bert(void **state) { (void)state; check_fixture("bert-f32", 1); }

/* Every table packs a text model at the default budget; AVX2, whose arithmetic changes at 48
 * rows, not a model with experts or DeBERTa's relative positions (layers over row counts
 * other than the pass's). */
static void test_budget(void **state)
{
    (void)state;
    mhv_model *bert, *moe, *deb;
    mhv_error err = {0};
    assert_int_equal(mhv_model_open("tests/fixtures/bert-f32", &bert, &err), MHV_OK);
    assert_int_equal(mhv_model_open("tests/fixtures/fam-mixtral-f32", &moe, &err), MHV_OK);
    assert_int_equal(mhv_model_open("tests/fixtures/fam-deberta-v3", &deb, &err), MHV_OK);
    const char *kernels[] = {"scalar", "avx2", "avx512"};
    for (int k = 0; k < 3; k++) {
        mhv_forward_params p = {.threads = 1, .kernel = kernels[k]};
        mhv_forward_ctx *f;
        assert_int_equal(mhv_forward_ctx_new(&p, &f, &err), MHV_OK);
        assert_int_equal(mhv_forward_pack_tokens(f, bert), MHV_FORWARD_PACK_TOKENS);
        int avx2 = strcmp(mhv_forward_ctx_kernel(f), "avx2") == 0;
        assert_int_equal(mhv_forward_pack_tokens(f, moe), avx2 ? 0 : MHV_FORWARD_PACK_TOKENS);
        assert_int_equal(mhv_forward_pack_tokens(f, deb), avx2 ? 0 : MHV_FORWARD_PACK_TOKENS);
        mhv_forward_ctx_free(f);
    }
    mhv_model_close(bert);
    mhv_model_close(moe);
    mhv_model_close(deb);
}
static void test_bert_pair(void **state) { (void)state; check_fixture("fam-bert-pair", 1); }
static void test_camembert(void **state) { (void)state; check_fixture("fam-camembert-pad5", 1); }
static void test_roberta(void **state) { (void)state; check_fixture("fam-xlm-roberta-bf16", 1); }
static void test_electra(void **state) { (void)state; check_fixture("fam-electra-proj", 1); }
/* ERNIE: the task type embedding added to every row */
static void test_ernie(void **state) { (void)state; check_fixture("fam-ernie-task-bf16", 1); }
static void test_distilbert(void **state) { (void)state; check_fixture("fam-distilbert-f32", 1); }
static void test_albert(void **state) { (void)state; check_fixture("fam-albert-shared", 1); }
/* MPNet: RoBERTa's padding positions and a relative bias of each sentence's own length */
static void test_mpnet(void **state) { (void)state; check_fixture("fam-mpnet-f32", 1); }
static void test_gpt2(void **state)
{
    (void)state;
    check_fixture("dec-gpt2-f32", 1);
    check_fixture("dec-gpt2-f16-oldbufs", 1);
}
/* rotary positions, grouped heads, sliding windows, experts, q/k norms, fused projections */
static void test_llama(void **state)
{
    (void)state;
    check_fixture("dec-llama-f32", 1);
    check_fixture("dec-mistral-f32-sw5", 1);
    check_fixture("dec-qwen2-bf16-gqa4", 1);
    check_fixture("fam-mixtral-f32", 1);
    check_fixture("fam-qwen2-moe-f32", 1);
    check_fixture("fam-qwen3-moe-f32", 1);
    check_fixture("fam-olmo2-f32", 1);
    check_fixture("fam-phi3-lm-bf16-partial", 1);
    check_fixture("fam-granite-f32", 1); /* multipliers */
    check_fixture("fam-smollm3-lm-bf16-sw5", 1); /* layers without rotary */
}
/* soft capping, GeGLU, local and global rotary tables, two-sided windows */
static void test_gemma(void **state)
{
    (void)state;
    check_fixture("fam-gemma-f32", 1);
    check_fixture("fam-gemma2-lm-f16-cap", 1);
    check_fixture("fam-gemma3-f32", 1);
    check_fixture("fam-gemma3-bidir-f32", 1);
}
/* partial and interleaved rotary, local attention, multi-query, ALiBi score biases */
static void test_decoders(void **state)
{
    (void)state;
    check_fixture("fam-gpt-neox-f32", 1);
    check_fixture("fam-gptj-f32", 1);
    check_fixture("fam-starcoder2-sw5-f32", 1);
    check_fixture("fam-phi-f32", 1);
    check_fixture("fam-gpt-neo-f32", 1);
    check_fixture("fam-gpt-bigcode-mq-f32", 1);
    check_fixture("fam-opt-f32", 1);
    check_fixture("fam-bloom-f32", 1);
    check_fixture("fam-falcon-rw-bf16", 1);
    check_fixture("fam-falcon-newarch-f32", 1);
    check_fixture("fam-olmo-clip-f32", 1);
    check_fixture("fam-stablelm-f32", 1);
    check_fixture("fam-stablelm-parallel-bf16", 1);
    check_fixture("fam-cohere-f32", 1);
    check_fixture("fam-xglm-lm-bf16-untied", 1); /* sinusoids from each sentence's start */
    check_fixture("fam-mpt-lm-bf16-clip", 1);    /* ALiBi from each sentence's end */
    check_fixture("fam-olmoe-f32", 1);           /* whole-projection q/k norms, experts */
    check_fixture("fam-glm-model-bf16-rot", 1);  /* partial interleaved rotary */
    check_fixture("fam-glm4-f32", 1);
    check_fixture("fam-nemotron-f32", 1);
    check_fixture("fam-cohere2-f32", 1);         /* rotary on sliding layers only */
    check_fixture("fam-exaone4-f32", 1);
    check_fixture("fam-phimoe-lm-bf16-tied", 1); /* sparsemixer */
    check_fixture("fam-codegen-f32", 1);         /* CodeGen's qkv blocks */
    check_fixture("fam-persimmon-f32", 1);
    check_fixture_vnorm("fam-jetmoe-f32", 1, MHV_VNORM_V); /* routed queries, tiled kv */
}
/* rotary tables per layer type, query scales by position, late q/k norms, interleaved
 * rotary, xIELU, fused and grouped-routed experts; DeepSeek's MLA runs one sentence at a
 * time (its values are padded: no norm-out) */
static void test_dec6(void **state)
{
    (void)state;
    check_fixture("fam-olmo3-lm-bf16-gqa", 1);
    check_fixture("fam-vaultgemma-lm-f32", 1);
    check_fixture("fam-ministral-lm-bf16", 1);
    check_fixture("fam-ministral3-model-f16", 1);
    check_fixture("fam-seed-oss-lm-f32", 1);
    check_fixture("fam-arcee-lm-f32", 1);
    check_fixture("fam-ernie4-5-lm-f32", 1);
    check_fixture("fam-hunyuan-lm-f32", 1);
    check_fixture("fam-apertus-lm-f32", 1);
    check_fixture("fam-granitemoeshared-lm-f32", 1);
    check_fixture("fam-glm4-moe-lm-f32", 1);
    check_fixture("fam-dots1-lm-f32", 1);
    check_fixture("fam-ernie4-5-moe-lm-bf16-untied", 1);
    check_fixture_vnorm("fam-deepseek-v2-lm-f32", 0, MHV_VNORM_V);
    check_fixture_vnorm("fam-deepseek-v3-lm-f32", 0, MHV_VNORM_V);
}
static void test_modernbert(void **state) { (void)state; check_fixture("fam-modernbert-f32", 1); }

/* pre-norm BERT rows, rotary RoFormer, Longformer's windows, SqueezeBERT's groups, MobileBERT's trigrams (across each sentence's ends)
 * and values from another input than its queries and keys */
static void test_enc5(void **state)
{
    (void)state;
    check_fixture("fam-data2vec-text-f32", 1);
    check_fixture("fam-xlm-roberta-xl-f32", 1);
    check_fixture("fam-megatron-bert-f32", 1);
    check_fixture("fam-roformer-notable-proj", 1);
    check_fixture("fam-mobilebert-f32", 1);
    check_fixture("fam-mobilebert-cls-bf16", 1);
    check_fixture("fam-longformer-mlm-f16", 1);
    check_fixture("fam-squeezebert-f32", 1);
    check_fixture("fam-big-bird-f32", 1);
}
/* ESM: token_dropout's rescaling by each sentence's own share of <mask> (the corpus draws
 * id 32, the mask, now and then), rotary and learned positions from each sentence's start */
static void test_esm(void **state)
{
    (void)state;
    check_fixture("fam-esm2-f32", 1);
    check_fixture("fam-esm1b-mlm-f32", 1);
}
/* relative position score biases */
static void test_deberta(void **state)
{
    (void)state;
    check_fixture("fam-deberta-v3", 1);
    check_fixture("fam-deberta-c2p-proj-bf16", 1);
    check_fixture("fam-deberta-v2-mlm-f16", 1);
}
/* models that do not pack run one by one through the same entry: longrope, whose factors
 * follow the pass's length, and OPT's projected embeddings */
static void test_unpacked(void **state)
{
    (void)state;
    check_fixture("fam-phi3-lm-f32-longrope", 0);
    check_fixture("fam-opt-350m-bf16", 0);
    check_fixture("fam-phimoe-f32", 0); /* longrope's mscale follows the length */
}

/* A bad id in the third of five sentences: the first two come back, the error is the
 * third's own, and nothing is left allocated (ASan). */
static void test_failure(void **state)
{
    (void)state;
    mhv_model *m;
    mhv_error err = {0}, want = {0};
    assert_int_equal(mhv_model_open("tests/fixtures/bert-f32", &m, &err), MHV_OK);
    corpus c;
    make_corpus(m, &c);
    c.ids[2][0] = m->cfg.vocab_size; /* sentence 2 has one token */
    mhv_heads all;
    assert_int_equal(mhv_heads_parse("all", m->cfg.num_layers, m->cfg.num_heads, &all, &err), 0);
    mhv_forward_params p = {.threads = 2, .kernel = "scalar", .pack_tokens = 512};
    mhv_forward_ctx *f;
    assert_int_equal(mhv_forward_ctx_new(&p, &f, &err), MHV_OK);
    mhv_forward_item items[5];
    for (int s = 0; s < 5; s++)
        items[s] = (mhv_forward_item){c.ids[s], NULL, c.n[s], NULL, 0};
    mhv_attn out[5], a;
    int done = -1;
    mhv_status st = mhv_forward_run_pack(f, m, items, 5, &all, out, &done, &err);
    mhv_status st1 = mhv_forward_run_opts(f, m, c.ids[2], NULL, c.n[2], &all, NULL, &a, &want);
    assert_int_not_equal(st, MHV_OK);
    assert_int_equal(st, st1);
    assert_string_equal(err.msg, want.msg);
    assert_int_equal(done, 2);
    for (int s = 0; s < done; s++) {
        mhv_attn b;
        assert_int_equal(mhv_forward_run_opts(f, m, c.ids[s], NULL, c.n[s], &all, NULL, &b, &err),
                         MHV_OK);
        same_attn(&b, &out[s], "failure", s);
        mhv_attn_free(&b);
        mhv_attn_free(&out[s]);
    }
    mhv_forward_ctx_free(f);
    mhv_heads_free(&all);
    free_corpus(&c);
    mhv_model_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bert),      cmocka_unit_test(test_budget),
        cmocka_unit_test(test_bert_pair),
        cmocka_unit_test(test_camembert), cmocka_unit_test(test_roberta),
        cmocka_unit_test(test_electra),   cmocka_unit_test(test_distilbert),
        cmocka_unit_test(test_ernie),
        cmocka_unit_test(test_albert),    cmocka_unit_test(test_mpnet),
        cmocka_unit_test(test_gpt2),
        cmocka_unit_test(test_llama),     cmocka_unit_test(test_gemma),
        cmocka_unit_test(test_decoders),  cmocka_unit_test(test_modernbert),
        cmocka_unit_test(test_dec6),
        cmocka_unit_test(test_deberta),   cmocka_unit_test(test_unpacked),
        cmocka_unit_test(test_failure),
        cmocka_unit_test(test_enc5),
        cmocka_unit_test(test_esm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
