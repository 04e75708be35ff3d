/* forward.c - the public forward pass: checks the request, allocates the captured maps and
 * hands the layer loop to the model's family (lib/model/<family>.c). */
#include "model/forward.h"

#include <stdlib.h>
#include <string.h>

#include "base/pool.h"
#include "model/family.h"
#include "nn/blocks.h"
#include "nn/kernels/kernels.h"

struct mhv_forward_ctx {
    int value_norms;    /* MHV_VNORM_* */
    mhv_pool *pool;     /* NULL when single-threaded */
    mhv_nn nn;          /* kernels, pool and the activations kept across sentences */
};

mhv_forward_params mhv_forward_default_params(void)
{
    return (mhv_forward_params){.threads = 0, .kernel = NULL};
}

mhv_status mhv_forward_ctx_new(const mhv_forward_params *p, mhv_forward_ctx **out,
                               mhv_error *err)
{
    *out = NULL;
    mhv_forward_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    int threads = p && p->threads > 0 ? p->threads : mhv_pool_online_cpus();
    if (threads > 1) {
        mhv_status st = mhv_pool_new(threads, &c->pool, err);
        if (st) {
            free(c);
            return st;
        }
    }
    mhv_nn_init(&c->nn, mhv_kernels_select(p ? p->kernel : NULL), c->pool);
    c->value_norms = p ? p->value_norms : 0;
    *out = c;
    return MHV_OK;
}

void mhv_forward_ctx_free(mhv_forward_ctx *c)
{
    if (!c)
        return;
    mhv_nn_release(&c->nn);
    mhv_pool_free(c->pool);
    free(c);
}

int mhv_forward_ctx_threads(const mhv_forward_ctx *c)
{
    return c->nn.threads;
}

const char *mhv_forward_ctx_kernel(const mhv_forward_ctx *c)
{
    return c->nn.K->name;
}

/* The checks every pass makes on its input. */
static mhv_status check_ids(const mhv_config *c, const int32_t *ids, int n, mhv_error *err)
{
    if (n < 1)
        return mhv_fail(err, MHV_EUSAGE, "", "no tokens to run");
    if (n > c->max_positions)
        return mhv_fail(err, MHV_EUSAGE, "", "%d tokens exceed the model's %d positions", n,
                        c->max_positions);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= c->vocab_size)
            return mhv_fail(err, MHV_EUSAGE, "", "token id %d outside the model's vocabulary (0-%d)",
                            (int)ids[i], c->vocab_size - 1);
    return MHV_OK;
}

mhv_status mhv_forward_run(mhv_forward_ctx *fc, const mhv_model *m, const int32_t *ids, int n,
                           const mhv_heads *sel, mhv_attn *out, mhv_error *err)
{
    return mhv_forward_run_types(fc, m, ids, NULL, n, sel, out, err);
}

mhv_status mhv_forward_run_types(mhv_forward_ctx *fc, const mhv_model *m, const int32_t *ids,
                                 const int32_t *type_ids, int n, const mhv_heads *sel,
                                 mhv_attn *out, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    memset(out, 0, sizeof *out);
    mhv_status st = check_ids(c, ids, n, err);
    if (st)
        return st;
    for (int i = 0; type_ids && i < n; i++)
        if (type_ids[i] < 0 || type_ids[i] >= (c->type_vocab_size > 0 ? c->type_vocab_size : 1))
            return mhv_fail(err, MHV_EUSAGE, "",
                            "token type %d outside the model's %d token types (%s)",
                            (int)type_ids[i], c->type_vocab_size > 0 ? c->type_vocab_size : 1,
                            c->type_vocab_size > 1 ? "0-based" : "it has no sentence-pair types");
    if (sel->num_layers != c->num_layers || sel->num_heads != c->num_heads)
        return mhv_fail(err, MHV_EUSAGE, "", "head selection does not match the model");
    if ((st = mhv_attn_alloc(out, sel, n, err)))
        return st;
    if (c->kv_heads)
        out->kv_group = c->num_heads / c->num_kv_heads;
    /* Attention probabilities of layer l depend only on layers 0..l, so the work stops at
     * the last selected layer's softmax. */
    mhv_capture cap = {.sel = sel, .out = out, .last = mhv_heads_last_layer(sel),
                       .vnorm = fc->value_norms};
    if (cap.vnorm) {
        out->vnorm_kind = cap.vnorm;
        out->vnorm = malloc(((size_t)out->count * (size_t)n + 1) * sizeof *out->vnorm);
        if (!out->vnorm)
            st = mhv_fail(err, MHV_ENOMEM, "", "out of memory for value norms");
        else if (cap.vnorm == MHV_VNORM_VO)
            st = mhv_nn_reserve_vnorm(&fc->nn, c->hidden_size, c->head_dim, err);
        if (st) {
            mhv_attn_free(out);
            return st;
        }
    }
    fc->nn.type_ids = type_ids;
    st = c->family->forward(&fc->nn, m, ids, n, &cap, NULL, err);
    fc->nn.type_ids = NULL;
    if (st)
        mhv_attn_free(out);
    return st;
}

mhv_status mhv_forward(const mhv_model *m, const int32_t *ids, int n, const mhv_heads *sel,
                       mhv_attn *out, mhv_error *err)
{
    mhv_forward_params p = {.threads = 1};
    mhv_forward_ctx *c;
    memset(out, 0, sizeof *out);
    mhv_status st = mhv_forward_ctx_new(&p, &c, err);
    if (st)
        return st;
    st = mhv_forward_run(c, m, ids, n, sel, out, err);
    mhv_forward_ctx_free(c);
    return st;
}

mhv_status mhv_forward_logits(mhv_forward_ctx *fc, const mhv_model *m, const int32_t *ids,
                              int n, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (!c->causal)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "logits need a decoder model, not %s",
                        c->arch);
    if (!m->lm_head.data)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                        "no lm_head.weight and tie_word_embeddings is false: a base model has "
                        "no logits");
    mhv_status st = check_ids(c, ids, n, err);
    if (st)
        return st;
    mhv_capture cap = {.last = c->num_layers - 1, .full_last = 1};
    return c->family->forward(&fc->nn, m, ids, n, &cap, logits, err);
}
