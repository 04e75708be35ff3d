/* kvcache.c - generation's key/value caches of a decoder (forward.h, mhv_forward_kv): each
 * decoding step runs only the new positions of its sequence through every decoder layer,
 * over the keys and values its slot keeps (nn/blocks.h, mhv_nn_kv), and gives the bytes the
 * whole sequence's pass gives its last position. A causal LM's, or an encoder-decoder's
 * decoder, whose encoder output and cross-attention keys and values its memo keeps. */
#include <stdlib.h>
#include <string.h>

#include "model/family.h"
#include "model/forward.h"
#include "model/forward_internal.h"
#include "nn/blocks.h"
#include "nn/kernels/kernels.h"

struct mhv_forward_kv {
    int slots, cap;
    mhv_nn_kv *kv;          /* (slots,) */
    int32_t *tokens;        /* (slots, cap) the tokens of each slot's cached positions */
    int off;                /* the caches are not used: every step reruns its sequence */
    long cached, whole;     /* positions run from a cache / in whole passes */
    float *buf;             /* (rows, vocab) a pass's logits */
    size_t buf_cap;
    int *from, *lcp, *dest; /* (slots,) a step's plan: the slot each sequence continues */
    unsigned char *claimed; /* (slots,) */
    /* an encoder-decoder's source (src(ns), or feats: src NULL) and its memo */
    int seq2seq;
    const int32_t *src;
    int ns;
    const float *feats;
    mhv_nn_memo *memo;
    /* a model that reads an image with its ids (LLaVA): the image */
    const float *pixels;
    int image_h, image_w;
};

/* True when m's pass can continue a cached sequence: a decoder-only family that says so, or
 * whose rows meet only in the blocks (its packing says so: nothing of its own follows the
 * pass's length). */
static int model_caches(const mhv_model *m)
{
    const mhv_config *c = &m->cfg;
    const mhv_family *f = c->family;
    if (c->enc_dec) /* its decoder, when the family says so */
        return f->seq2seq && f->caches && f->caches(c);
    if (c->image_in_text) /* LLaVA: when its language model can */
        return f->caches && f->caches(c) && m->text_model && model_caches(m->text_model);
    if (!c->causal || c->vision || c->image_in_text || c->speech)
        return 0;
    if (f->caches)
        return f->caches(c);
    return f->packs && f->packs(c) != MHV_PACKS_NO;
}

/* The layers whose self-attention a step appends to: the decoder's, the language model's. */
static int cached_layers(const mhv_model *m)
{
    const mhv_config *c = &m->cfg;
    if (c->image_in_text && m->text_model)
        return m->text_model->cfg.num_layers;
    return c->enc_dec ? c->dec_layers : c->num_layers;
}

void mhv_forward_kv_free(mhv_forward_kv *kv)
{
    if (!kv)
        return;
    for (int s = 0; s < kv->slots && kv->kv; s++)
        mhv_nn_kv_free(&kv->kv[s]);
    free(kv->kv), free(kv->tokens), free(kv->buf);
    free(kv->from), free(kv->lcp), free(kv->dest), free(kv->claimed);
    free(kv);
}

mhv_status mhv_forward_kv_new(const mhv_model *m, int slots, int cap, mhv_forward_kv **out,
                              mhv_error *err)
{
    *out = NULL;
    if (slots < 1 || cap < 1)
        return mhv_fail(err, MHV_EUSAGE, "", "a key/value cache of %d sequences of %d "
                        "positions", slots, cap);
    mhv_forward_kv *kv = calloc(1, sizeof *kv);
    if (!kv)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory for the key/value cache");
    kv->cap = cap;
    kv->off = !model_caches(m);
    kv->kv = calloc((size_t)slots, sizeof *kv->kv);
    kv->tokens = malloc((size_t)slots * (size_t)cap * sizeof *kv->tokens);
    kv->from = malloc((size_t)slots * sizeof *kv->from);
    kv->lcp = malloc((size_t)slots * sizeof *kv->lcp);
    kv->dest = malloc((size_t)slots * sizeof *kv->dest);
    kv->claimed = malloc((size_t)slots);
    mhv_status st = MHV_OK;
    if (!kv->kv || !kv->tokens || !kv->from || !kv->lcp || !kv->dest || !kv->claimed)
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory for the key/value cache");
    for (int s = 0; !st && s < slots; s++, kv->slots++)
        st = mhv_nn_kv_init(&kv->kv[s], cached_layers(m), cap, err);
    if (st) {
        mhv_forward_kv_free(kv);
        return st;
    }
    *out = kv;
    return MHV_OK;
}

mhv_status mhv_forward_kv_new_seq2seq(const mhv_model *m, int slots, int cap,
                                      const int32_t *src, int ns, const float *feats,
                                      mhv_nn_memo *memo, mhv_forward_kv **out, mhv_error *err)
{
    mhv_status st = mhv_forward_kv_new(m, slots, cap, out, err);
    if (st)
        return st;
    (*out)->seq2seq = 1;
    (*out)->src = src, (*out)->ns = ns, (*out)->feats = feats, (*out)->memo = memo;
    return MHV_OK;
}

mhv_status mhv_forward_kv_new_image(const mhv_model *m, int slots, int cap, const float *pixels,
                                    int image_h, int image_w, mhv_forward_kv **out,
                                    mhv_error *err)
{
    if (!m->cfg.image_in_text)
        return mhv_fail(err, MHV_EUSAGE, m->dir, "%s takes no image with its ids", m->cfg.arch);
    mhv_status st = mhv_forward_kv_new(m, slots, cap, out, err);
    if (st)
        return st;
    (*out)->pixels = pixels, (*out)->image_h = image_h, (*out)->image_w = image_w;
    return MHV_OK;
}

uint64_t mhv_forward_kv_bytes(const mhv_model *m, int slots, int cap)
{
    if (!model_caches(m) || slots < 1 || cap < 1)
        return 0;
    const mhv_model *lm = m->cfg.image_in_text && m->text_model ? m->text_model : m;
    const mhv_config *c = &lm->cfg;
    /* every layer's keys and values, of its key/value heads (all heads at most) */
    int heads = c->kv_heads && c->num_kv_heads > 0 ? c->num_kv_heads : c->num_heads;
    return (uint64_t)slots * (uint64_t)cached_layers(m) * 2 * (uint64_t)cap *
           (uint64_t)heads * (uint64_t)c->head_dim * sizeof(float);
}

void mhv_forward_kv_stats(const mhv_forward_kv *kv, long *cached, long *whole)
{
    *cached = kv->cached;
    *whole = kv->whole;
}

static mhv_status room(mhv_forward_kv *kv, int rows, int V, mhv_error *err)
{
    size_t cells = (size_t)rows * (size_t)V;
    if (cells <= kv->buf_cap)
        return MHV_OK;
    float *b = realloc(kv->buf, cells * sizeof *b);
    if (!b)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory for logits");
    kv->buf = b, kv->buf_cap = cells;
    return MHV_OK;
}

/* The positions of slot s that seq(len) can take over: their common prefix, all but the
 * last position at most (the step must run it for its logits). */
static int common(const mhv_forward_kv *kv, int s, const int32_t *seq, int len)
{
    const int32_t *t = kv->tokens + (size_t)s * (size_t)kv->cap;
    int p = 0, most = kv->kv[s].past < len - 1 ? kv->kv[s].past : len - 1;
    while (p < most && t[p] == seq[p])
        p++;
    return p;
}

/* The slots of a step: each sequence continues the slot with its longest prefix; the first
 * sequence to name a slot extends it in place, the others (beams that forked) take a slot
 * no sequence names, with that prefix copied there before anything runs. */
static mhv_status plan(mhv_forward_kv *kv, const int32_t *seqs, int n_seq, int len,
                       mhv_error *err)
{
    memset(kv->claimed, 0, (size_t)kv->slots);
    for (int i = 0; i < n_seq; i++) {
        const int32_t *seq = seqs + (size_t)i * (size_t)len;
        kv->from[i] = 0, kv->lcp[i] = common(kv, 0, seq, len);
        for (int s = 1; s < kv->slots; s++) {
            int p = common(kv, s, seq, len);
            if (p > kv->lcp[i])
                kv->from[i] = s, kv->lcp[i] = p;
        }
        kv->dest[i] = -1;
        if (kv->lcp[i] > 0 && !kv->claimed[kv->from[i]])
            kv->dest[i] = kv->from[i], kv->claimed[kv->from[i]] = 1;
    }
    for (int i = 0; i < n_seq; i++) {
        if (kv->dest[i] >= 0)
            continue;
        int s = 0;
        while (kv->claimed[s]) /* n_seq <= slots: one is free */
            s++;
        kv->dest[i] = s, kv->claimed[s] = 1;
        mhv_status st = mhv_nn_kv_copy(&kv->kv[s], &kv->kv[kv->from[i]], kv->lcp[i], err);
        if (st)
            return st;
        memcpy(kv->tokens + (size_t)s * (size_t)kv->cap,
               kv->tokens + (size_t)kv->from[i] * (size_t)kv->cap,
               (size_t)kv->lcp[i] * sizeof *kv->tokens);
    }
    for (int i = 0; i < n_seq; i++)
        kv->kv[kv->dest[i]].past = kv->lcp[i];
    return MHV_OK;
}

/* seq(len)'s next-token logits from slot s (its past positions cached): *next into kv->buf,
 * *used 0 when the pass could not run from the cache (nothing kept then). */
static mhv_status step(mhv_forward_ctx *fc, const mhv_model *m, mhv_forward_kv *kv, int s,
                       const int32_t *seq, int len, const float **next, int *used,
                       mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    mhv_nn *nn = mhv_forward_ctx_nn(fc);
    mhv_nn_kv *slot = &kv->kv[s];
    int past = slot->past, n = len - past;
    int layers = cached_layers(m);
    int V = kv->seq2seq ? c->dec_vocab_size : c->vocab_size;
    mhv_capture cap[3] = {{.last = c->num_layers - 1, .full_last = 1},
                          {.last = layers - 1, .full_last = 1},
                          {.last = layers - 1, .full_last = 1}};
    slot->appended = slot->refused = 0;
    nn->kv = slot, nn->logits_last = 1;
    int rows = mhv_nn_logit_rows(nn, n);
    mhv_status st = room(kv, rows, V, err);
    if (!st && kv->seq2seq) { /* the encoder's output from the memo after the first step */
        nn->enc_memo = kv->memo, nn->pixels = kv->feats;
        st = c->family->seq2seq(nn, m, kv->src, kv->feats ? c->audio_positions : kv->ns,
                                seq + past, n, cap, kv->buf, err);
        nn->enc_memo = NULL, nn->pixels = NULL;
    } else if (!st) { /* an image model's image: its features in the first pass */
        nn->pixels = kv->pixels, nn->image_h = kv->image_h, nn->image_w = kv->image_w;
        st = c->family->forward(nn, m, seq + past, n, cap, kv->buf, err);
        nn->pixels = NULL, nn->image_h = nn->image_w = 0;
    }
    nn->kv = NULL, nn->logits_last = 0;
    *used = !st && !slot->refused && slot->appended == layers;
    if (!*used) {
        slot->past = 0; /* what it appended is not to be trusted */
        return st;
    }
    slot->past = len;
    memcpy(kv->tokens + (size_t)s * (size_t)kv->cap + past, seq + past,
           (size_t)n * sizeof *seq);
    *next = kv->buf + (size_t)(rows - 1) * (size_t)V;
    kv->cached += n;
    return MHV_OK;
}

/* The whole pass of an image model over seq(len) with kv's image, its last logits row. */
static mhv_status image_next(mhv_forward_ctx *fc, const mhv_model *m, mhv_forward_kv *kv,
                             const int32_t *seq, int len, const float **next, mhv_error *err)
{
    mhv_nn *nn = mhv_forward_ctx_nn(fc);
    nn->logits_last = 1;
    int rows = mhv_nn_logit_rows(nn, len);
    mhv_status st = mhv_forward_logits_image(fc, m, seq, len, kv->pixels, kv->image_h,
                                             kv->image_w, kv->buf, err);
    nn->logits_last = 0;
    *next = kv->buf + (size_t)(rows - 1) * (size_t)m->cfg.vocab_size;
    return st;
}

mhv_status mhv_forward_kv_next(mhv_forward_ctx *fc, const mhv_model *m, mhv_forward_kv *kv,
                               const int32_t *seqs, int n_seq, int len, float *logits,
                               mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    size_t V = (size_t)(kv->seq2seq ? c->dec_vocab_size : c->vocab_size);
    if (n_seq > kv->slots)
        return mhv_fail(err, MHV_EUSAGE, "", "%d sequences for a key/value cache of %d", n_seq,
                        kv->slots);
    /* kernels whose linear layers change their arithmetic at a row count give a cached row
     * the bytes of the whole pass's only while every pass stays on one side of it */
    int sw = mhv_forward_ctx_nn(fc)->K->linear_rows_switch;
    int cached = !kv->off && len <= kv->cap && (sw <= 0 || len <= sw);
    mhv_status st = cached ? plan(kv, seqs, n_seq, len, err) : MHV_OK;
    for (int i = 0; i < n_seq && !st; i++) {
        const int32_t *seq = seqs + (size_t)i * (size_t)len;
        const float *next = NULL;
        int used = 0;
        /* the whole sequence's checks (ids, positions) before any pass */
        st = kv->seq2seq ? mhv_forward_check_seq2seq(m, kv->src, kv->ns, kv->feats, seq, len,
                                                     err)
                         : mhv_forward_check_ids(m, seq, len, err);
        if (st)
            break;
        if (cached && (st = step(fc, m, kv, kv->dest[i], seq, len, &next, &used, err)))
            break;
        if (!used) { /* the whole pass, as without a cache */
            if (cached) /* a block refused: no cache for this model from now on */
                kv->off = 1, cached = 0;
            if ((st = room(kv, len, (int)V, err)))
                break;
            st = kv->seq2seq ? mhv_forward_seq2seq_next(fc, m, kv->src, kv->ns, kv->feats, seq,
                                                        len, kv->memo, kv->buf, &next, err)
                 : kv->pixels ? image_next(fc, m, kv, seq, len, &next, err)
                              : mhv_forward_decoder_next(fc, m, seq, len, kv->buf, &next, err);
            if (st)
                break;
            kv->whole += len;
        }
        memcpy(logits + (size_t)i * V, next, V * sizeof *logits);
    }
    return st;
}
