/* forward.c - the public forward pass: checks the request, allocates the captured maps and
 * hands the layer loop to the model's family (lib/model/<family>.c). */
#include "model/forward.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/pool.h"
#include "model/family.h"
#include "model/forward_internal.h"
#include "nn/blocks.h"
#include "nn/kernels/kernels.h"

struct mhv_forward_ctx {
    int value_norms;    /* MHV_VNORM_* */
    int pack_tokens;    /* tokens a packed pass holds; <= 0: none */
    mhv_pool *pool;     /* NULL when single-threaded */
    mhv_nn nn;          /* kernels, pool and the activations kept across sentences */
    int *global;        /* (nglobal,) the positions with global attention (mhv_forward_ctx_global) */
    int nglobal;
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
    c->pack_tokens = p && p->pack_tokens ? p->pack_tokens : MHV_FORWARD_PACK_TOKENS;
    *out = c;
    return MHV_OK;
}

mhv_status mhv_forward_ctx_global(mhv_forward_ctx *c, const int *pos, int count, mhv_error *err)
{
    free(c->global);
    c->global = NULL, c->nglobal = 0;
    if (count <= 0)
        return MHV_OK;
    for (int i = 0; i < count; i++)
        if (pos[i] < 0 || (i && pos[i] <= pos[i - 1]))
            return mhv_fail(err, MHV_EUSAGE, "", "global positions are not ascending, distinct "
                            "and >= 0");
    if (!(c->global = malloc((size_t)count * sizeof *c->global)))
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    memcpy(c->global, pos, (size_t)count * sizeof *pos);
    c->nglobal = count;
    return MHV_OK;
}

/* The (n,) mask of global tokens of a pass of m over n tokens (an encoder-decoder's: its
 * source) into *mask (caller frees), NULL when fc has none; refused for a model without
 * global attention, with value norms, or a position past the n tokens. */
static mhv_status global_mask(const mhv_forward_ctx *fc, const mhv_model *m, int n,
                              unsigned char **mask, mhv_error *err)
{
    *mask = NULL;
    if (!fc->nglobal)
        return MHV_OK;
    if (!m->cfg.global_attn)
        return mhv_fail(err, MHV_EUSAGE, "", "%s has no global attention (longformer and led "
                        "have)", m->cfg.arch);
    if (fc->value_norms)
        return mhv_fail(err, MHV_EUNSUPPORTED, "", "value norms (attention weighted by them) "
                        "with global attention are not supported");
    if (fc->global[fc->nglobal - 1] >= n && !fc->nn.measure)
        return mhv_fail(err, MHV_EUSAGE, "", "global token %d is past the %d tokens",
                        fc->global[fc->nglobal - 1], n);
    if (!(*mask = calloc((size_t)n, 1)))
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    for (int i = 0; i < fc->nglobal && fc->global[i] < n; i++)
        (*mask)[fc->global[i]] = 1;
    return MHV_OK;
}

/* The family's pass, with fc's global tokens (nn->global) around it. */
static mhv_status run_family(mhv_forward_ctx *fc, const mhv_model *m, const int32_t *ids, int n,
                             mhv_capture *cap, float *logits, mhv_error *err)
{
    unsigned char *mask;
    mhv_status st = global_mask(fc, m, n, &mask, err);
    if (st)
        return st;
    fc->nn.global = mask;
    st = m->cfg.family->forward(&fc->nn, m, ids, n, cap, logits, err);
    fc->nn.global = NULL;
    free(mask);
    return st;
}

/* The same for an encoder-decoder family: the global tokens are the source's. */
static mhv_status run_family_seq2seq(mhv_forward_ctx *fc, const mhv_model *m,
                                     const int32_t *src, int ns, const int32_t *tgt, int nt,
                                     mhv_capture *cap, float *logits, mhv_error *err)
{
    unsigned char *mask;
    mhv_status st = global_mask(fc, m, ns, &mask, err);
    if (st)
        return st;
    fc->nn.global = mask;
    st = m->cfg.family->seq2seq(&fc->nn, m, src, ns, tgt, nt, cap, logits, err);
    fc->nn.global = NULL;
    free(mask);
    return st;
}

void mhv_forward_ctx_free(mhv_forward_ctx *c)
{
    if (!c)
        return;
    free(c->global);
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

mhv_nn *mhv_forward_ctx_nn(mhv_forward_ctx *c)
{
    return &c->nn;
}

mhv_status mhv_forward_check_ids(const mhv_model *m, const int32_t *ids, int n, mhv_error *err)
{
    return check_ids(&m->cfg, ids, n, err);
}

/* An encoder-decoder family refuses the single-sequence entries. */
static mhv_status not_seq2seq(const mhv_model *m, mhv_error *err)
{
    return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                    "%s is an encoder-decoder model: it needs a source and a target (sentence "
                    "pairs or generation)",
                    m->cfg.arch);
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
    return mhv_forward_run_opts(fc, m, ids, type_ids, n, sel, NULL, out, err);
}

/* The streaming state behind mhv_capture.layer_done and head_done. */
typedef struct {
    const mhv_forward_opts *opts;
    mhv_attn *maps;         /* slots for one layer */
    mhv_status st;
    mhv_error *err;
    pthread_mutex_t lock;   /* head_done: st and err */
    atomic_int failed;
    int rows, n;
} stream_ctx;

static void stream_head(mhv_capture *cap, int l, int h, const float *w)
{
    stream_ctx *s = cap->ctx;
    if (atomic_load(&s->failed))
        return;
    mhv_error e = {0};
    mhv_status st = s->opts->head_sink(s->opts->sink_ctx, l, h, w, s->rows, s->n, &e);
    if (!st)
        return;
    pthread_mutex_lock(&s->lock);
    if (!s->st) {
        s->st = st, *s->err = e;
        /* the family's loop (after the pool's barrier) stops after this layer */
        cap->last = l;
        cap->full_last = 0;
    }
    pthread_mutex_unlock(&s->lock);
    atomic_store(&s->failed, 1);
}

static void stream_layer(mhv_capture *cap, int l)
{
    stream_ctx *s = cap->ctx;
    if (s->st)
        return;
    mhv_attn layer = *s->maps;
    layer.count = cap->next;
    s->st = s->opts->sink(s->opts->sink_ctx, &layer, s->err);
    if (s->st) {
        /* nothing more to capture: the family's loop stops after this layer */
        cap->last = l;
        cap->full_last = 0;
    }
}

const mhv_model *mhv_forward_image_tower(const mhv_model *m)
{
    return m->cfg.image_in_text ? m->image_tower : NULL;
}

/* The capture of a LLaVA tower's selected heads into opts->image_out, for an image of
 * image_h x image_w pixels; fc's pass reads it through nn.image_cap. */
static mhv_status image_capture_into(mhv_nn *nn, const mhv_model *m,
                                     const mhv_forward_opts *opts, int image_h, int image_w,
                                     mhv_capture *cap, mhv_error *err)
{
    const mhv_model *v = m->image_tower;
    const mhv_heads *sel = opts->image_sel;
    memset(opts->image_out, 0, sizeof *opts->image_out);
    if (sel->num_layers != v->cfg.num_layers || sel->num_heads != v->cfg.num_heads)
        return mhv_fail(err, MHV_EUSAGE, "", "vision tower head selection does not match the "
                        "model");
    mhv_image_grid g;
    mhv_status st = mhv_model_image_grid(v, image_h, image_w, 0, &g, err);
    if (st || (st = mhv_attn_alloc_rows(opts->image_out, sel, g.tokens, NULL, 0, 0, err)))
        return st;
    *cap = (mhv_capture){.sel = sel, .out = opts->image_out, .last = mhv_heads_last_layer(sel)};
    nn->image_cap = cap;
    return MHV_OK;
}

mhv_status mhv_forward_run_opts(mhv_forward_ctx *fc, const mhv_model *m, const int32_t *ids,
                                const int32_t *type_ids, int n, const mhv_heads *sel,
                                const mhv_forward_opts *opts, mhv_attn *out, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    mhv_attn local;
    int by_head = opts && opts->head_sink;
    int streaming = opts && (opts->sink || by_head);
    mhv_attn *maps = streaming ? &local : out;
    memset(maps, 0, sizeof *maps);
    if (out && out != maps)
        memset(out, 0, sizeof *out);
    if (opts && opts->image_out)
        memset(opts->image_out, 0, sizeof *opts->image_out);
    if (c->enc_dec)
        return not_seq2seq(m, err);
    mhv_status st = MHV_OK;
    int image_h = 0, image_w = 0;
    if (c->vision) {
        if (!opts || !opts->pixels)
            return mhv_fail(err, MHV_EUSAGE, "", "%s takes an image, not token ids", c->arch);
        image_h = opts->image_h ? opts->image_h : c->image_size;
        image_w = opts->image_w ? opts->image_w : c->image_size;
        mhv_image_grid g;
        if ((st = mhv_model_image_grid(m, image_h, image_w, opts->interpolate_pos, &g, err)))
            return st;
        if (n != g.tokens)
            return mhv_fail(err, MHV_EUSAGE, "", "an image of %dx%d pixels is %d tokens for %s, "
                            "not %d", image_w, image_h, g.tokens, c->arch, n);
    } else if (c->image_in_text && (!c->image_optional || (opts && opts->pixels))) {
        /* LLaVA, Gemma 3 with an image: ids and an image */
        if (!ids || !opts || !opts->pixels)
            return mhv_fail(err, MHV_EUSAGE, "", "%s takes token ids and an image", c->arch);
        if ((st = check_ids(c, ids, n, err)))
            return st;
        image_h = opts->image_h ? opts->image_h : c->image_size;
        image_w = opts->image_w ? opts->image_w : c->image_size;
    } else if (c->speech) {
        if (!opts || !opts->audio)
            return mhv_fail(err, MHV_EUSAGE, "", "%s takes a waveform, not token ids", c->arch);
        if (opts->audio_samples > INT_MAX)
            return mhv_fail(err, MHV_EUSAGE, "", "%ld samples are more than %s takes (%d)",
                            opts->audio_samples, c->arch, INT_MAX);
        long frames = mhv_config_speech_frames(c, opts->audio_samples);
        if (frames < 1)
            return mhv_fail(err, MHV_EUSAGE, "", "%ld samples are too short for %s: its "
                            "convolutions make no frame of them", opts->audio_samples, c->arch);
        if (n != frames)
            return mhv_fail(err, MHV_EUSAGE, "", "%ld samples make %ld frames for %s, not %d",
                            opts->audio_samples, frames, c->arch, n);
    } else if (!ids || (opts && (opts->pixels || opts->audio))) {
        return mhv_fail(err, MHV_EUSAGE, "", "%s takes token ids, not an image", c->arch);
    } else if ((st = check_ids(c, ids, n, err))) {
        return st;
    }
    for (int i = 0; type_ids && i < n; i++)
        if (type_ids[i] < 0 || type_ids[i] >= (c->type_vocab_size > 0 ? c->type_vocab_size : 1))
            return mhv_fail(err, MHV_EUSAGE, "",
                            "token type %d outside the model's %d token types (%s)",
                            (int)type_ids[i], c->type_vocab_size > 0 ? c->type_vocab_size : 1,
                            c->type_vocab_size > 1 ? "0-based" : "it has no sentence-pair types");
    if (sel->num_layers != c->num_layers || sel->num_heads != c->num_heads)
        return mhv_fail(err, MHV_EUSAGE, "", "head selection does not match the model");
    const int *rows = opts ? opts->rows : NULL;
    int nrows = opts ? opts->nrows : 0;
    mhv_heads none = {0}; /* by head: no slots, the workers' buffers instead */
    if ((st = mhv_attn_alloc_rows(maps, by_head ? &none : sel, n, rows, nrows, streaming, err)))
        return st;
    float *head_bufs = NULL;
    size_t head_stride = ((size_t)mhv_attn_nrows(maps) * (size_t)n + 15) / 16 * 16;
    if (by_head && !(head_bufs = aligned_alloc(64, (size_t)fc->nn.threads * head_stride *
                                                       sizeof(float) + 64))) {
        mhv_attn_free(maps);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory for %d attention maps of %d tokens",
                        fc->nn.threads, n);
    }
    if (c->kv_heads && !c->kv_tiled) /* tiled heads have no grouped kv_head to report */
        maps->kv_group = c->num_heads / c->num_kv_heads;
    int *prow = NULL;
    if (rows) {
        prow = malloc((size_t)n * sizeof *prow);
        if (!prow) {
            free(head_bufs);
            mhv_attn_free(maps);
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        }
        for (int i = 0; i < n; i++)
            prow[i] = mhv_attn_row_of(maps, i);
    }
    /* Attention probabilities of layer l depend only on layers 0..l, so the work stops at
     * the last selected layer's softmax. */
    mhv_capture cap = {.sel = sel, .out = maps, .last = mhv_heads_last_layer(sel),
                       .prow = prow, .vnorm = fc->value_norms};
    if (opts && opts->pool_attn) /* the pooling head reads the last layer's output */
        cap.last = c->num_layers - 1, cap.full_last = 1;
    if (cap.vnorm) {
        maps->vnorm_kind = cap.vnorm;
        maps->vnorm = malloc(((size_t)maps->count * (size_t)n + 1) * sizeof *maps->vnorm);
        if (!maps->vnorm)
            st = mhv_fail(err, MHV_ENOMEM, "", "out of memory for value norms");
        else if (cap.vnorm == MHV_VNORM_VO)
            st = mhv_nn_reserve_vnorm(&fc->nn, c->hidden_size, c->head_dim, err);
        if (st) {
            free(prow);
            free(head_bufs);
            mhv_attn_free(maps);
            return st;
        }
    }
    stream_ctx sc = {.opts = opts, .maps = maps, .err = err, .rows = mhv_attn_nrows(maps),
                     .n = n};
    pthread_mutex_init(&sc.lock, NULL);
    atomic_init(&sc.failed, 0);
    if (by_head) {
        cap.vnorm = 0;
        cap.head_done = stream_head, cap.ctx = &sc;
        cap.head_bufs = head_bufs, cap.head_stride = head_stride;
    } else if (streaming) {
        cap.layer_done = stream_layer, cap.ctx = &sc;
    }
    fc->nn.type_ids = type_ids;
    fc->nn.pixels = opts ? opts->pixels : NULL;
    fc->nn.image_h = image_h, fc->nn.image_w = image_w;
    fc->nn.pool_attn = opts ? opts->pool_attn : NULL;
    fc->nn.audio = opts ? opts->audio : NULL;
    fc->nn.audio_samples = opts ? opts->audio_samples : 0;
    mhv_capture image_cap;
    int tower_maps = c->image_in_text && opts && opts->pixels && opts->image_sel &&
                     opts->image_out;
    if (!st && tower_maps)
        st = image_capture_into(&fc->nn, m, opts, image_h, image_w, &image_cap, err);
    if (!st)
        st = run_family(fc, m, ids, n, &cap, NULL, err);
    fc->nn.image_cap = NULL;
    if (st && tower_maps)
        mhv_attn_free(opts->image_out);
    fc->nn.audio = NULL;
    fc->nn.audio_samples = 0;
    fc->nn.type_ids = NULL;
    fc->nn.pixels = NULL;
    fc->nn.image_h = fc->nn.image_w = 0;
    fc->nn.pool_attn = NULL;
    free(prow);
    free(head_bufs);
    pthread_mutex_destroy(&sc.lock);
    if (!st)
        st = sc.st;
    if (st || streaming)
        mhv_attn_free(maps);
    return st;
}

/* ---- several sentences in one pass ---- */

int mhv_forward_pack_tokens(const mhv_forward_ctx *fc, const mhv_model *m)
{
    const mhv_config *c = &m->cfg;
    int how = c->family->packs ? c->family->packs(c) : MHV_PACKS_NO;
    if (fc->pack_tokens <= 0 || how == MHV_PACKS_NO || c->enc_dec || c->vision || fc->nglobal ||
        !mhv_nn_packs_rows(&fc->nn, fc->pack_tokens, fc->pack_tokens))
        return 0; /* (the last: kernels that never pack) */
    if (how == MHV_PACKS_ANY_ROWS && !mhv_nn_packs_rows(&fc->nn, 1, INT_MAX))
        return 0;
    return fc->pack_tokens;
}

/* True when item would pass mhv_forward_run_opts's checks of its ids and types. */
static int item_ok(const mhv_config *c, const mhv_forward_item *it)
{
    mhv_error ignored;
    if (!it->ids || check_ids(c, it->ids, it->n, &ignored))
        return 0;
    for (int i = 0; it->type_ids && i < it->n; i++)
        if (it->type_ids[i] < 0 ||
            it->type_ids[i] >= (c->type_vocab_size > 0 ? c->type_vocab_size : 1))
            return 0;
    return 1;
}

/* The buffers of a packed pass. */
typedef struct {
    int32_t *ids, *types;   /* (rows,) the sentences' ids and types one after the other */
    int *off;               /* (count + 1,) */
    int *prow;              /* (rows,) each query's row in its sentence's maps */
    mhv_capture *caps;      /* (count,) */
} pack_bufs;

static void pack_bufs_free(pack_bufs *b)
{
    free(b->ids), free(b->types), free(b->off), free(b->prow), free(b->caps);
}

/* items(count) as one pass: each sentence's maps allocated as mhv_forward_run_opts does,
 * its rows in the pass recorded in nn.pack, the family's forward over them all. */
static mhv_status run_packed(mhv_forward_ctx *fc, const mhv_model *m,
                             const mhv_forward_item *items, int count, const mhv_heads *sel,
                             mhv_attn *outs, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int rows = 0, typed = 0;
    for (int s = 0; s < count; s++)
        rows += items[s].n, typed |= items[s].type_ids != NULL;
    memset(outs, 0, (size_t)count * sizeof *outs);
    pack_bufs b = {malloc((size_t)rows * sizeof *b.ids),
                   typed ? calloc((size_t)rows, sizeof *b.types) : NULL,
                   malloc(((size_t)count + 1) * sizeof *b.off),
                   malloc((size_t)rows * sizeof *b.prow), calloc((size_t)count, sizeof *b.caps)};
    mhv_status st = MHV_OK;
    if (!b.ids || (typed && !b.types) || !b.off || !b.prow || !b.caps)
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    int last = mhv_heads_last_layer(sel);
    for (int s = 0; !st && s < count; s++) {
        const mhv_forward_item *it = &items[s];
        mhv_attn *a = &outs[s];
        int r0 = b.off[s] = s ? b.off[s - 1] + items[s - 1].n : 0;
        memcpy(b.ids + r0, it->ids, (size_t)it->n * sizeof *b.ids);
        if (it->type_ids)
            memcpy(b.types + r0, it->type_ids, (size_t)it->n * sizeof *b.types);
        if ((st = mhv_attn_alloc_rows(a, sel, it->n, it->rows, it->nrows, 0, err)))
            break;
        if (c->kv_heads && !c->kv_tiled)
            a->kv_group = c->num_heads / c->num_kv_heads;
        for (int i = 0; it->rows && i < it->n; i++)
            b.prow[r0 + i] = mhv_attn_row_of(a, i);
        b.caps[s] = (mhv_capture){.sel = sel, .out = a, .last = last,
                                  .prow = it->rows ? b.prow + r0 : NULL,
                                  .vnorm = fc->value_norms};
        if (fc->value_norms) {
            a->vnorm_kind = fc->value_norms;
            a->vnorm = malloc(((size_t)a->count * (size_t)it->n + 1) * sizeof *a->vnorm);
            if (!a->vnorm)
                st = mhv_fail(err, MHV_ENOMEM, "", "out of memory for value norms");
        }
    }
    if (!st && fc->value_norms == MHV_VNORM_VO)
        st = mhv_nn_reserve_vnorm(&fc->nn, c->hidden_size, c->head_dim, err);
    if (!st) {
        b.off[count] = rows;
        mhv_nn_pack pk = {count, b.off, b.caps};
        mhv_capture shared = {.sel = sel, .last = last, .vnorm = fc->value_norms};
        fc->nn.pack = &pk;
        fc->nn.type_ids = b.types;
        /* (never with global tokens: mhv_forward_pack_tokens) */
        st = c->family->forward(&fc->nn, m, b.ids, rows, &shared, NULL, err);
        fc->nn.pack = NULL;
        fc->nn.type_ids = NULL;
    }
    if (st)
        for (int s = 0; s < count; s++)
            mhv_attn_free(&outs[s]);
    pack_bufs_free(&b);
    return st;
}

/* True when items(count), whose tokens add up to rows, may run as one pass: each sentence's
 * rows come out of the kernels the same within the pass as alone. */
static int packs_alike(const mhv_nn *nn, const mhv_forward_item *items, int count, int rows)
{
    for (int s = 0; s < count; s++)
        if (!mhv_nn_packs_rows(nn, items[s].n, rows))
            return 0;
    return 1;
}

static mhv_status run_alone(mhv_forward_ctx *fc, const mhv_model *m,
                            const mhv_forward_item *it, const mhv_heads *sel, mhv_attn *out,
                            mhv_error *err)
{
    mhv_forward_opts fo = {.rows = it->rows, .nrows = it->nrows};
    return mhv_forward_run_opts(fc, m, it->ids, it->type_ids, it->n, sel, &fo, out, err);
}

mhv_status mhv_forward_run_pack(mhv_forward_ctx *fc, const mhv_model *m,
                                const mhv_forward_item *items, int count, const mhv_heads *sel,
                                mhv_attn *outs, int *done, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int budget = mhv_forward_pack_tokens(fc, m), first = 0;
    /* the sentences that pass the checks, up to the first that does not (which then fails
     * below exactly as it would alone) */
    int ok = budget > 0 && sel->num_layers == c->num_layers && sel->num_heads == c->num_heads;
    while (ok && first < count && item_ok(c, &items[first]))
        first++;
    /* passes of consecutive sentences within the budget whose rows the kernels compute alike
     * (a table whose arithmetic changes with the row count groups short and long ones apart) */
    *done = 0;
    while (*done < first) {
        int s0 = *done, s1 = s0 + 1, rows = items[s0].n;
        while (s1 < first && rows + items[s1].n <= budget &&
               packs_alike(&fc->nn, items + s0, s1 - s0 + 1, rows + items[s1].n))
            rows += items[s1++].n;
        if (s1 - s0 > 1) {
            if (run_packed(fc, m, items + s0, s1 - s0, sel, outs + s0, err))
                break; /* one by one from s0: the failure repeats with its sentence's name */
            *done = s1;
        } else {
            mhv_status st = run_alone(fc, m, &items[s0], sel, &outs[s0], err);
            if (st)
                return st;
            ++*done;
        }
    }
    for (; *done < count; ++*done) {
        mhv_status st = run_alone(fc, m, &items[*done], sel, &outs[*done], err);
        if (st)
            return st;
    }
    return MHV_OK;
}

uint64_t mhv_forward_ctx_bytes(const mhv_forward_ctx *c)
{
    return ((uint64_t)c->nn.arena_cap + c->nn.bias_cap + c->nn.wo_cap) * sizeof(float);
}

/* The families that reserve score bias maps (mhv_nn_reserve_bias) after mhv_nn_begin, which
 * a measuring pass does not reach. */
static int uses_bias_maps(const mhv_forward_ctx *fc, const mhv_config *c)
{
    return (fc->nglobal && c->global_attn) || c->rel_c2p || c->rel_p2c || c->alibi || c->rel_pos_buckets > 0 || c->vision_rel_bias ||
           strcmp(c->family->name, "bloom") == 0;
}

/* The same for a pass over n tokens: BigBird's block-sparse attention is a score bias above
 * the length transformers runs as original_full. */
static int uses_bias_maps_at(const mhv_forward_ctx *fc, const mhv_config *c, int n)
{
    return uses_bias_maps(fc, c) || (c->sparse_full_max > 0 && n > c->sparse_full_max);
}

mhv_status mhv_forward_estimate(mhv_forward_ctx *fc, const mhv_model *m, int n,
                                const mhv_heads *sel, const mhv_forward_opts *opts,
                                mhv_forward_mem *out, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    memset(out, 0, sizeof *out);
    if (n < 1 || n > c->max_positions)
        return mhv_fail(err, MHV_EUSAGE, "", "%d tokens exceed the model's %d positions", n,
                        c->max_positions);
    if (sel->num_layers != c->num_layers || sel->num_heads != c->num_heads)
        return mhv_fail(err, MHV_EUSAGE, "", "head selection does not match the model");
    int32_t *ids = calloc((size_t)n, sizeof *ids);
    if (!ids)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    /* the family declares its buffers to mhv_nn_begin, which measures them and stops */
    mhv_capture cap = {.sel = sel, .last = mhv_heads_last_layer(sel)};
    if (cap.last < 0)
        cap.last = 0;
    mhv_error ignored;
    fc->nn.measure = 1, fc->nn.measured = 0;
    fc->nn.audio_samples = opts ? opts->audio_samples : 0; /* speech: the conv stack's */
    mhv_status st = run_family(fc, m, ids, n, &cap, NULL, &ignored);
    fc->nn.measure = 0;
    fc->nn.audio_samples = 0;
    free(ids);
    if (!fc->nn.measured)
        return st ? mhv_fail(err, st, ignored.file, "%s", ignored.msg)
                  : mhv_fail(err, MHV_EUNSUPPORTED, "", "cannot estimate this model's memory");
    uint64_t T = (uint64_t)fc->nn.threads, nn = ((uint64_t)n * (uint64_t)n + 15) / 16 * 16;
    out->activations = fc->nn.measured;
    if (uses_bias_maps_at(fc, c, n))
        out->activations += T * nn * sizeof(float); /* mhv_nn_reserve_bias */
    if (fc->value_norms == MHV_VNORM_VO)
        out->activations += T * (uint64_t)c->hidden_size * (uint64_t)c->head_dim * sizeof(float);
    out->weights = mhv_st_file_bytes(m->st);
    uint64_t heads = (uint64_t)mhv_heads_count(sel);
    if (opts && opts->head_sink) {
        heads = T < heads ? T : heads; /* one map per worker */
    } else if (opts && opts->sink) {
        heads = 0;
        for (int l = 0; l < sel->num_layers; l++) {
            uint64_t k = 0;
            for (int h = 0; h < sel->num_heads; h++)
                k += (uint64_t)mhv_heads_has(sel, l, h);
            heads = k > heads ? k : heads;
        }
    }
    uint64_t rows = opts && opts->rows ? (uint64_t)opts->nrows : (uint64_t)n;
    out->maps = heads * (rows * (uint64_t)n + (fc->value_norms ? (uint64_t)n : 0)) * sizeof(float);
    return MHV_OK;
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
    if (c->enc_dec)
        return not_seq2seq(m, err);
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
    return run_family(fc, m, ids, n, &cap, logits, err);
}

mhv_status mhv_forward_logits_image(mhv_forward_ctx *fc, const mhv_model *m, const int32_t *ids,
                                    int n, const float *pixels, int image_h, int image_w,
                                    float *logits, mhv_error *err)
{
    return mhv_forward_logits_image_types(fc, m, ids, NULL, n, pixels, image_h, image_w, logits,
                                          err);
}

mhv_status mhv_forward_logits_image_types(mhv_forward_ctx *fc, const mhv_model *m,
                                          const int32_t *ids, const int32_t *type_ids, int n,
                                          const float *pixels, int image_h, int image_w,
                                          float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (!c->image_in_text)
        return mhv_fail(err, MHV_EUSAGE, m->dir, "%s takes no image with its ids", c->arch);
    for (int i = 0; type_ids && i < n; i++)
        if (type_ids[i] < 0 || type_ids[i] >= (c->type_vocab_size > 0 ? c->type_vocab_size : 1))
            return mhv_fail(err, MHV_EUSAGE, "", "token type %d outside the model's %d token "
                            "types (%s)", (int)type_ids[i],
                            c->type_vocab_size > 0 ? c->type_vocab_size : 1, c->arch);
    fc->nn.pixels = pixels, fc->nn.type_ids = type_ids;
    fc->nn.image_h = image_h, fc->nn.image_w = image_w;
    mhv_status st = mhv_forward_logits(fc, m, ids, n, logits, err);
    fc->nn.pixels = NULL, fc->nn.type_ids = NULL;
    fc->nn.image_h = fc->nn.image_w = 0;
    return st;
}

mhv_status mhv_forward_image_logits(mhv_forward_ctx *fc, const mhv_model *m, const float *pixels,
                                    int image_h, int image_w, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (!c->swin)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "image classifier logits are read for "
                        "swin only, not %s", c->arch);
    mhv_image_grid g;
    mhv_status st = mhv_model_image_grid(m, image_h, image_w, 0, &g, err);
    if (st)
        return st;
    mhv_capture cap = {.last = c->num_layers - 1, .full_last = 1};
    fc->nn.pixels = pixels;
    fc->nn.image_h = image_h, fc->nn.image_w = image_w;
    st = c->family->forward(&fc->nn, m, NULL, g.tokens, &cap, logits, err);
    fc->nn.pixels = NULL;
    fc->nn.image_h = fc->nn.image_w = 0;
    return st;
}

mhv_status mhv_forward_logits_check(const mhv_model *m, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (c->enc_dec)
        return not_seq2seq(m, err);
    if (!c->causal && strcmp(c->family->name, "bert") != 0 &&
        strcmp(c->family->name, "mpnet") != 0 && strcmp(c->family->name, "roformer") != 0 &&
        strcmp(c->family->name, "squeezebert") != 0 &&
        strcmp(c->family->name, "mobilebert") != 0 && strcmp(c->family->name, "esm") != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                        "the masked-LM head of %s models is not supported (BERT's family, "
                        "MPNet's, RoFormer's, SqueezeBERT's, MobileBERT's and ESM's are)",
                        c->arch);
    if (!c->causal && !m->mlm_dense.data)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                        "%s checkpoint without a masked-LM head (cls.predictions or lm_head): "
                        "no predictions to compare", c->arch);
    if (c->causal && !m->lm_head.data)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                        "no lm_head.weight and tie_word_embeddings is false: a base model has "
                        "no logits");
    return MHV_OK;
}

mhv_status mhv_forward_logits_ablated(mhv_forward_ctx *fc, const mhv_model *m,
                                      const int32_t *ids, int n,
                                      const struct mhv_head_ablation *ab,
                                      float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    mhv_status st = mhv_forward_logits_check(m, err);
    if (st)
        return st;
    if (ab && (ab->layers != c->num_layers || ab->heads != c->num_heads ||
               ab->d != c->head_dim))
        return mhv_fail(err, MHV_EUSAGE, m->dir, "head ablation does not match the model");
    if ((st = check_ids(c, ids, n, err)))
        return st;
    mhv_capture cap = {.last = c->num_layers - 1, .full_last = 1, .ablate = ab};
    return run_family(fc, m, ids, n, &cap, logits, err);
}

/* ---- encoder-decoder models ---- */

static mhv_status check_seq2seq(const mhv_model *m, const int32_t *src, int ns,
                                const int32_t *tgt, int nt, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (!c->enc_dec || !c->family->seq2seq)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                        "%s is not an encoder-decoder model: it takes one sequence, not a source "
                        "and a target", c->arch);
    mhv_status st;
    if (c->audio_positions) { /* Whisper: audio features (nn.pixels), never token ids */
        /* vision encoder-decoders (TrOCR) take their image the same way */
        const char *what = c->image_enc_dec ? "an image" : "audio";
        if (src)
            return mhv_fail(err, MHV_EUSAGE, "", "%s takes %s, not source token ids",
                            c->arch, what);
        if (ns != c->audio_positions)
            return mhv_fail(err, MHV_EUSAGE, "", "%s's encoder has %d %s, not %d", c->arch,
                            c->audio_positions,
                            c->image_enc_dec ? "image tokens" : "audio positions", ns);
    } else if (!src) {
        return mhv_fail(err, MHV_EUSAGE, "", "%s takes source token ids, not audio", c->arch);
    } else if ((st = check_ids(c, src, ns, err))) {
        return st;
    }
    if (nt < 1)
        return mhv_fail(err, MHV_EUSAGE, "", "no target tokens to run");
    if (nt > c->max_positions)
        return mhv_fail(err, MHV_EUSAGE, "", "%d target tokens exceed the model's %d positions",
                        nt, c->max_positions);
    for (int i = 0; i < nt; i++)
        if (tgt[i] < 0 || tgt[i] >= c->dec_vocab_size)
            return mhv_fail(err, MHV_EUSAGE, "",
                            "target token id %d outside the decoder's vocabulary (0-%d)",
                            (int)tgt[i], c->dec_vocab_size - 1);
    return MHV_OK;
}

static mhv_status run_seq2seq(mhv_forward_ctx *fc, const mhv_model *m, const int32_t *src,
                              int ns, const int32_t *tgt, int nt, const mhv_heads *sel,
                              mhv_attn *out, mhv_error *err);

mhv_status mhv_forward_run_seq2seq(mhv_forward_ctx *fc, const mhv_model *m, const int32_t *src,
                                   int ns, const int32_t *tgt, int nt, const mhv_heads *sel,
                                   mhv_attn *out, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int Le = c->num_layers, L = Le + 2 * c->dec_layers, H = c->num_heads;
    if (!c->ved_enc_heads || sel->num_layers != L || sel->num_heads != H)
        return run_seq2seq(fc, m, src, ns, tgt, nt, sel, out, err);
    /* stacks of different head counts (vision encoder-decoders): the selection is as wide
     * as the wider, and a stack's heads past its own count are none of its */
    mhv_heads own = {L, H, malloc((size_t)L * (size_t)H)};
    if (!own.sel) {
        memset(out, 0, sizeof *out);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    for (int l = 0; l < L; l++)
        for (int h = 0; h < H; h++)
            own.sel[l * H + h] = mhv_heads_has(sel, l, h) &&
                                 h < (l < Le ? c->ved_enc_heads : c->ved_dec_heads);
    mhv_status st = run_seq2seq(fc, m, src, ns, tgt, nt, &own, out, err);
    mhv_heads_free(&own);
    return st;
}

static mhv_status run_seq2seq(mhv_forward_ctx *fc, const mhv_model *m, const int32_t *src,
                              int ns, const int32_t *tgt, int nt, const mhv_heads *sel,
                              mhv_attn *out, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    memset(out, 0, sizeof *out);
    mhv_status st = check_seq2seq(m, src, ns, tgt, nt, err);
    if (st)
        return st;
    int Le = c->num_layers, Ld = c->dec_layers;
    if (sel->num_layers != Le + 2 * Ld || sel->num_heads != c->num_heads)
        return mhv_fail(err, MHV_EUSAGE, "", "head selection does not match the model");
    if ((st = mhv_attn_alloc_seq2seq(out, sel, Le, Ld, ns, nt, err)))
        return st;
    mhv_heads se = mhv_heads_stack(sel, 0, Le), sd = mhv_heads_stack(sel, Le, Ld),
              sx = mhv_heads_stack(sel, Le + Ld, Ld);
    int ne = mhv_heads_count(&se), nd = mhv_heads_count(&sd), nx = mhv_heads_count(&sx);
    /* value norms: each head's over its keys, the stacks one after another (attn.h) */
    size_t ve = (size_t)ne * (size_t)ns, vd = (size_t)nd * (size_t)nt;
    if (fc->value_norms) {
        out->vnorm_kind = fc->value_norms;
        out->vnorm = malloc((ve + vd + (size_t)nx * (size_t)ns + 1) * sizeof *out->vnorm);
        if (!out->vnorm)
            st = mhv_fail(err, MHV_ENOMEM, "", "out of memory for value norms");
        else if (fc->value_norms == MHV_VNORM_VO)
            st = mhv_nn_reserve_vnorm(&fc->nn, c->hidden_size, c->head_dim, err);
        if (st) {
            mhv_attn_free(out);
            return st;
        }
    }
    mhv_attn oe = *out, od = *out, ox = *out;
    od.heads += ne;
    ox.heads += ne + nd;
    if (out->vnorm)
        od.vnorm += ve, ox.vnorm += ve + vd;
    int last_d = mhv_heads_last_layer(&sd), last_x = mhv_heads_last_layer(&sx);
    int dec_last = last_d > last_x ? last_d : last_x;
    int vk = fc->value_norms;
    mhv_capture cap[3] = {
        {.sel = &se, .out = &oe, .last = dec_last >= 0 ? Le - 1 : mhv_heads_last_layer(&se),
         .full_last = dec_last >= 0, .vnorm = vk},
        /* the decoder's layers run whole; the loop stops after the last wanted one */
        {.sel = &sd, .out = &od, .last = dec_last, .full_last = 1, .vnorm = vk},
        {.sel = &sx, .out = &ox, .last = dec_last, .full_last = 1, .vnorm = vk},
    };
    st = run_family_seq2seq(fc, m, src, ns, tgt, nt, cap, NULL, err);
    if (st)
        mhv_attn_free(out);
    return st;
}

mhv_status mhv_forward_estimate_seq2seq(mhv_forward_ctx *fc, const mhv_model *m, int ns, int nt,
                                        const mhv_heads *sel, int generate,
                                        mhv_forward_mem *out, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    memset(out, 0, sizeof *out);
    if (!c->enc_dec || !c->family->seq2seq)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "%s is not an encoder-decoder model",
                        c->arch);
    int ns_max = c->audio_positions ? c->audio_positions : c->max_positions;
    if (ns < 1 || nt < 1 || ns > ns_max || nt > c->max_positions)
        return mhv_fail(err, MHV_EUSAGE, "", "%d source and %d target tokens: the model takes "
                        "1 to %d", ns, nt, c->max_positions);
    int Le = c->num_layers, Ld = c->dec_layers;
    if (sel->num_layers != Le + 2 * Ld || sel->num_heads != c->num_heads)
        return mhv_fail(err, MHV_EUSAGE, "", "head selection does not match the model");
    int32_t *ids = calloc((size_t)(ns > nt ? ns : nt), sizeof *ids);
    if (!ids)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    /* the family declares both stacks' buffers to mhv_nn_begin, which measures and stops */
    mhv_capture cap[3] = {{.last = Le - 1, .full_last = 1},
                          {.last = Ld - 1, .full_last = 1},
                          {.last = Ld - 1, .full_last = 1}};
    mhv_error ignored;
    fc->nn.measure = 1, fc->nn.measured = 0;
    mhv_status st = run_family_seq2seq(fc, m, ids, ns, ids, nt, cap, NULL, &ignored);
    fc->nn.measure = 0;
    free(ids);
    if (!fc->nn.measured)
        return st ? mhv_fail(err, st, ignored.file, "%s", ignored.msg)
                  : mhv_fail(err, MHV_EUNSUPPORTED, "", "cannot estimate this model's memory");
    uint64_t T = (uint64_t)fc->nn.threads, N = (uint64_t)(ns > nt ? ns : nt);
    out->activations = fc->nn.measured;
    if (uses_bias_maps_at(fc, c, ns)) /* one (N, N) map per thread: mhv_nn_reserve_bias */
        out->activations += T * ((N * N + 15) / 16 * 16) * sizeof(float);
    if (fc->value_norms == MHV_VNORM_VO)
        out->activations += T * (uint64_t)c->hidden_size * (uint64_t)c->head_dim * sizeof(float);
    if (generate) /* the logits of every decoding step's positions, and their bias row */
        out->activations += ((uint64_t)nt + 1) * (uint64_t)c->dec_vocab_size * sizeof(float);
    out->weights = mhv_st_file_bytes(m->st);
    uint64_t S = (uint64_t)ns, D = (uint64_t)nt, cells = 0;
    for (int l = 0; l < sel->num_layers; l++)
        for (int h = 0; h < sel->num_heads; h++)
            if (mhv_heads_has(sel, l, h)) {
                uint64_t rows = l < Le ? S : D, cols = l < Le || l >= Le + Ld ? S : D;
                cells += rows * cols + (fc->value_norms ? cols : 0);
            }
    out->maps = cells * sizeof(float);
    return MHV_OK;
}

mhv_status mhv_forward_seq2seq_logits(mhv_forward_ctx *fc, const mhv_model *m,
                                      const int32_t *src, int ns, const int32_t *tgt, int nt,
                                      float *logits, mhv_error *err)
{
    mhv_status st = check_seq2seq(m, src, ns, tgt, nt, err);
    if (st)
        return st;
    if (!m->lm_head.data)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                        "no lm_head.weight: a base model has no logits");
    const mhv_config *c = &m->cfg;
    mhv_capture cap[3] = {{.last = c->num_layers - 1, .full_last = 1},
                          {.last = c->dec_layers - 1, .full_last = 1},
                          {.last = c->dec_layers - 1, .full_last = 1}};
    return run_family_seq2seq(fc, m, src, ns, tgt, nt, cap, logits, err);
}

mhv_status mhv_forward_generate(mhv_forward_ctx *fc, const mhv_model *m, const int32_t *src,
                                int ns, int max_new, int32_t *out, int *n_out, mhv_error *err)
{
    return mhv_forward_generate_from(fc, m, src, ns, m->cfg.decoder_start_id, max_new, out,
                                     n_out, err);
}

mhv_status mhv_forward_generate_from(mhv_forward_ctx *fc, const mhv_model *m,
                                     const int32_t *src, int ns, int32_t start, int max_new,
                                     int32_t *out, int *n_out, mhv_error *err)
{
    return mhv_forward_generate_prefix(fc, m, src, ns, &start, 1, max_new, out, n_out, err);
}

mhv_status mhv_forward_generate_prefix(mhv_forward_ctx *fc, const mhv_model *m,
                                       const int32_t *src, int ns, const int32_t *prefix,
                                       int np, int max_new, int32_t *out, int *n_out,
                                       mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    *n_out = 0;
    if (max_new < 0)
        return mhv_fail(err, MHV_EUSAGE, "", "a negative number of tokens to generate");
    if (np < 1)
        return mhv_fail(err, MHV_EUSAGE, "", "no decoder start token");
    int n = 0;
    for (; n < np && n <= max_new; n++) { /* tokens after the first count as generated */
        if (prefix[n] < 0 || prefix[n] >= (c->dec_vocab_size > 0 ? c->dec_vocab_size : 1))
            return mhv_fail(err, MHV_EUSAGE, "", "decoder %s token %d is outside the decoder's "
                            "vocabulary", n ? "forced" : "start", (int)prefix[n]);
        out[n] = prefix[n];
    }
    size_t V = (size_t)(c->dec_vocab_size > 0 ? c->dec_vocab_size : 1);
    float *logits = NULL;
    mhv_status st = MHV_OK;
    while (n <= max_new) {
        size_t cells;
        if (__builtin_mul_overflow((size_t)n, V, &cells) ||
            !(logits = realloc(logits, cells * sizeof *logits))) {
            st = mhv_fail(err, MHV_ENOMEM, "", "out of memory for logits");
            break;
        }
        if ((st = mhv_forward_seq2seq_logits(fc, m, src, ns, out, n, logits, err)))
            break;
        const float *row = logits + (size_t)(n - 1) * V;
        int best = 0;
        for (size_t v = 1; v < V; v++)
            if (row[v] > row[best])
                best = (int)v;
        out[n++] = best;
        if (best == c->eos_id)
            break;
    }
    free(logits);
    if (!st)
        *n_out = n;
    return st;
}

/* The next-token logits of generate(): the decoder recomputed over each sequence, the
 * encoder's output and its cross keys and values once per source (mhv_nn_memo), the
 * logits of the last position (mhv_nn_logit_rows): the same numbers as teacher forcing. */
typedef struct {
    mhv_forward_ctx *fc;
    const mhv_model *m;
    const int32_t *src;
    int ns;
    const float *feats; /* audio models: the encoder's features instead of src */
    float *buf;         /* (rows, vocab) a pass's logits */
    size_t cap;
    mhv_nn_memo *memo;
    int decoder_only;   /* a causal LM: the sequence is its whole input (no encoder) */
    mhv_forward_kv *kv; /* a causal LM's key/value caches, or NULL: whole passes */
} gen_ctx;

mhv_status mhv_forward_decoder_next(mhv_forward_ctx *fc, const mhv_model *m, const int32_t *ids,
                                    int n, float *logits, const float **next, mhv_error *err)
{
    mhv_nn *nn = &fc->nn;
    nn->logits_last = 1;
    int rows = mhv_nn_logit_rows(nn, n); /* the pass writes the last `rows` positions */
    mhv_status st = mhv_forward_logits(fc, m, ids, n, logits, err);
    nn->logits_last = 0;
    *next = logits + (size_t)(rows - 1) * (size_t)m->cfg.vocab_size;
    return st;
}

static mhv_status gen_logits(void *ctx, const int32_t *seqs, int n_seq, int len, float *logits,
                             mhv_error *err)
{
    gen_ctx *g = ctx;
    if (g->kv)
        return mhv_forward_kv_next(g->fc, g->m, g->kv, seqs, n_seq, len, logits, err);
    size_t V = (size_t)(g->decoder_only ? g->m->cfg.vocab_size : g->m->cfg.dec_vocab_size);
    size_t cells;
    if (__builtin_mul_overflow((size_t)len, V, &cells))
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory for logits");
    if (cells > g->cap) {
        float *b = realloc(g->buf, cells * sizeof *b);
        if (!b)
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory for logits");
        g->buf = b, g->cap = cells;
    }
    mhv_status st = MHV_OK;
    for (int i = 0; i < n_seq && !st; i++) {
        const float *next;
        const int32_t *seq = seqs + (size_t)i * (size_t)len;
        if (g->decoder_only)
            st = mhv_forward_decoder_next(g->fc, g->m, seq, len, g->buf, &next, err);
        else
            st = mhv_forward_seq2seq_next(g->fc, g->m, g->src, g->ns, g->feats, seq, len,
                                          g->memo, g->buf, &next, err);
        if (!st)
            memcpy(logits + (size_t)i * V, next, V * sizeof *logits);
    }
    return st;
}

mhv_status mhv_forward_seq2seq_next(mhv_forward_ctx *fc, const mhv_model *m, const int32_t *src,
                                    int ns, const float *feats, const int32_t *tgt, int nt,
                                    mhv_nn_memo *memo, float *logits, const float **next,
                                    mhv_error *err)
{
    mhv_nn *nn = &fc->nn;
    nn->enc_memo = memo, nn->logits_last = 1;
    int rows = mhv_nn_logit_rows(nn, nt); /* the pass writes the last `rows` positions */
    mhv_status st = feats ? mhv_forward_seq2seq_logits_audio(fc, m, feats, tgt, nt, logits, err)
                          : mhv_forward_seq2seq_logits(fc, m, src, ns, tgt, nt, logits, err);
    nn->enc_memo = NULL, nn->logits_last = 0;
    *next = logits + (size_t)(rows - 1) * (size_t)m->cfg.dec_vocab_size;
    return st;
}

int mhv_forward_gen_positions(const mhv_model *m)
{
    /* T5's relative positions: its config class has no max_position_embeddings */
    return m->cfg.max_positions < MHV_MAX_POSITIONS ? m->cfg.max_positions : 0;
}

static mhv_status generate_with(mhv_forward_ctx *fc, const mhv_model *m, const int32_t *src,
                                int ns, const float *feats, const int32_t *prompt, int np,
                                const mhv_gen_config *g, int32_t **out, int *n_out,
                                mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    *out = NULL;
    *n_out = 0;
    if (!c->enc_dec || !c->family->seq2seq)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "%s is not an encoder-decoder model",
                        c->arch);
    if (!m->lm_head.data)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                        "no lm_head.weight: a base model has no logits");
    _Static_assert(MHV_MEMO_SLOTS >= 1 + 2 * MHV_MAX_LAYERS, "a memo slot for every layer");
    mhv_nn_memo *memo = calloc(1, sizeof *memo);
    if (!memo)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    gen_ctx ctx = {fc, m, src, ns, feats, NULL, 0, memo, 0, NULL};
    mhv_gen_input in = {.prompt = prompt, .n_prompt = np, .encoder_ids = src, .n_encoder = ns,
                        .vocab = c->dec_vocab_size, .max_positions = mhv_forward_gen_positions(m),
                        .logits = gen_logits, .ctx = &ctx};
    /* the decoder's key/value caches, one per beam (as generate_decoder's) */
    int max_length, min_length;
    mhv_error ignored;
    mhv_status st = MHV_OK;
    if (!mhv_gen_lengths(g, np, in.max_positions, &max_length, &min_length, &ignored) &&
        g->num_beams >= 1)
        st = mhv_forward_kv_new_seq2seq(m, g->num_beams,
                                        max_length < c->max_positions ? max_length
                                                                      : c->max_positions,
                                        src, ns, feats, memo, &ctx.kv, err);
    if (!st)
        st = mhv_generate(g, &in, out, n_out, err);
    mhv_forward_kv_free(ctx.kv);
    free(ctx.buf);
    mhv_nn_memo_free(memo);
    free(memo);
    return st;
}

mhv_status mhv_forward_generate_with(mhv_forward_ctx *fc, const mhv_model *m,
                                     const int32_t *src, int ns, const int32_t *prompt, int np,
                                     const mhv_gen_config *g, int32_t **out, int *n_out,
                                     mhv_error *err)
{
    return generate_with(fc, m, src, ns, NULL, prompt, np, g, out, n_out, err);
}

mhv_status mhv_forward_generate_audio(mhv_forward_ctx *fc, const mhv_model *m,
                                      const float *feats, const int32_t *prompt, int np,
                                      const mhv_gen_config *g, int32_t **out, int *n_out,
                                      mhv_error *err)
{
    *out = NULL;
    *n_out = 0;
    if (!feats || !m->cfg.audio_positions)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "%s does not take audio", m->cfg.arch);
    return generate_with(fc, m, NULL, 0, feats, prompt, np, g, out, n_out, err);
}

/* generate() of a causal LM over prompt(np), or with pixels (image_h x image_w) of a model
 * that reads an image with its ids. */
static mhv_status generate_decoder(mhv_forward_ctx *fc, const mhv_model *m,
                                   const int32_t *prompt, int np, const float *pixels,
                                   int image_h, int image_w, const mhv_gen_config *g,
                                   int32_t **out, int *n_out, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    *out = NULL;
    *n_out = 0;
    if (c->enc_dec || !c->causal)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "%s is not a decoder-only (causal LM) "
                        "model", c->arch);
    if (!m->lm_head.data)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                        "no lm_head.weight and tie_word_embeddings is false: a base model has "
                        "no logits");
    if (np < 1)
        return mhv_fail(err, MHV_EUSAGE, "", "an empty prompt (transformers' generate() "
                        "needs input ids)");
    gen_ctx ctx = {fc, m, NULL, 0, NULL, NULL, 0, NULL, 1, NULL};
    /* generate() hands a decoder-only model's input ids to the encoder_* processors too */
    mhv_gen_input in = {.prompt = prompt, .n_prompt = np, .encoder_ids = prompt,
                        .n_encoder = np, .vocab = c->vocab_size,
                        .max_positions = mhv_forward_gen_positions(m), .logits = gen_logits,
                        .ctx = &ctx};
    /* a cache per beam of the longest sequence generate() may reach (its positions: the
     * steps past them are refused by the model's checks); bad lengths are mhv_generate's
     * to report */
    int max_length, min_length;
    mhv_error ignored;
    mhv_status st = MHV_OK;
    if (!mhv_gen_lengths(g, np, in.max_positions, &max_length, &min_length, &ignored) &&
        g->num_beams >= 1) {
        int cap = max_length < c->max_positions ? max_length : c->max_positions;
        st = pixels ? mhv_forward_kv_new_image(m, g->num_beams, cap, pixels, image_h, image_w,
                                               &ctx.kv, err)
                    : mhv_forward_kv_new(m, g->num_beams, cap, &ctx.kv, err);
    }
    if (!st)
        st = mhv_generate(g, &in, out, n_out, err);
    free(ctx.buf);
    mhv_forward_kv_free(ctx.kv);
    return st;
}

mhv_status mhv_forward_generate_decoder(mhv_forward_ctx *fc, const mhv_model *m,
                                        const int32_t *prompt, int np, const mhv_gen_config *g,
                                        int32_t **out, int *n_out, mhv_error *err)
{
    return generate_decoder(fc, m, prompt, np, NULL, 0, 0, g, out, n_out, err);
}

int mhv_forward_image_generates(const mhv_model *m)
{
    return m->cfg.image_in_text && strcmp(m->cfg.family->name, "llava") == 0;
}

mhv_status mhv_forward_generate_image(mhv_forward_ctx *fc, const mhv_model *m,
                                      const int32_t *prompt, int np, const float *pixels,
                                      int image_h, int image_w, const mhv_gen_config *g,
                                      int32_t **out, int *n_out, mhv_error *err)
{
    *out = NULL;
    *n_out = 0;
    if (!m->cfg.image_in_text || !pixels)
        return mhv_fail(err, MHV_EUSAGE, m->dir, "%s takes no image with its ids", m->cfg.arch);
    if (!mhv_forward_image_generates(m)) /* Qwen2-VL's positions, Gemma 3's, PaliGemma's */
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "generation with an image is not "
                        "supported for %s (llava's is)", m->cfg.arch);
    return generate_decoder(fc, m, prompt, np, pixels, image_h, image_w, g, out, n_out, err);
}

/* ---- audio encoder-decoders (Whisper): the encoder reads features, not ids ---- */

static mhv_status check_audio(const mhv_model *m, const float *feats, mhv_error *err)
{
    if (!m->cfg.audio_positions)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "%s does not take audio", m->cfg.arch);
    if (!feats)
        return mhv_fail(err, MHV_EUSAGE, "", "no audio features");
    return MHV_OK;
}

mhv_status mhv_forward_run_seq2seq_audio(mhv_forward_ctx *fc, const mhv_model *m,
                                         const float *feats, const int32_t *tgt, int nt,
                                         const mhv_heads *sel, mhv_attn *out, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    mhv_status st = check_audio(m, feats, err);
    if (st)
        return st;
    fc->nn.pixels = feats;
    st = mhv_forward_run_seq2seq(fc, m, NULL, m->cfg.audio_positions, tgt, nt, sel, out, err);
    fc->nn.pixels = NULL;
    return st;
}

mhv_status mhv_forward_seq2seq_logits_audio(mhv_forward_ctx *fc, const mhv_model *m,
                                            const float *feats, const int32_t *tgt, int nt,
                                            float *logits, mhv_error *err)
{
    mhv_status st = check_audio(m, feats, err);
    if (st)
        return st;
    fc->nn.pixels = feats;
    st = mhv_forward_seq2seq_logits(fc, m, NULL, m->cfg.audio_positions, tgt, nt, logits, err);
    fc->nn.pixels = NULL;
    return st;
}

mhv_status mhv_forward_check_seq2seq(const mhv_model *m, const int32_t *src, int ns,
                                     const float *feats, const int32_t *tgt, int nt,
                                     mhv_error *err)
{
    if (!feats)
        return check_seq2seq(m, src, ns, tgt, nt, err);
    mhv_status st = check_audio(m, feats, err);
    return st ? st : check_seq2seq(m, NULL, m->cfg.audio_positions, tgt, nt, err);
}
