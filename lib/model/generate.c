/* generate.c - greedy and beam search with transformers' logits processors (generate.h). */
#include "model/generate.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* transformers' beam search marks finished or excluded candidates by adding this */
#define BEAM_NEG 1.0e9f

/* A Python float as PyTorch meets it beside an fp32 tensor: rounded to fp32, out-of-range
 * values to an infinity (a plain C conversion of those is undefined). */
static float f32(double x)
{
    if (x > FLT_MAX || x < -FLT_MAX)
        return x > 0 ? INFINITY : -INFINITY;
    return (float)x;
}

void mhv_gen_config_init(mhv_gen_config *g)
{
    memset(g, 0, sizeof *g);
    g->max_length = g->max_new_tokens = g->min_new_tokens = -1;
    g->num_beams = g->num_return_sequences = 1;
    g->length_penalty = g->repetition_penalty = g->encoder_repetition_penalty = 1.0;
    g->bos = g->decoder_start = g->forced_bos = -1;
    g->begin_index = -1;
}

void mhv_gen_config_free(mhv_gen_config *g)
{
    if (!g)
        return;
    free(g->eos.ids), free(g->forced_eos.ids), free(g->suppress.ids);
    free(g->begin_suppress.ids);
    for (int i = 0; i < g->n_bad_words; i++)
        free(g->bad_words[i].ids);
    free(g->bad_words);
    mhv_gen_config_init(g);
}

static int copy_ids(mhv_gen_ids *d, const mhv_gen_ids *s)
{
    d->ids = NULL;
    d->n = s->n;
    if (!s->n)
        return 1;
    d->ids = malloc((size_t)s->n * sizeof *d->ids);
    if (d->ids)
        memcpy(d->ids, s->ids, (size_t)s->n * sizeof *d->ids);
    return d->ids != NULL;
}

mhv_status mhv_gen_config_copy(mhv_gen_config *dst, const mhv_gen_config *src, mhv_error *err)
{
    *dst = *src;
    dst->eos.ids = dst->forced_eos.ids = dst->suppress.ids = dst->begin_suppress.ids = NULL;
    dst->bad_words = NULL;
    dst->n_bad_words = 0;
    int ok = copy_ids(&dst->eos, &src->eos) && copy_ids(&dst->forced_eos, &src->forced_eos) &&
             copy_ids(&dst->suppress, &src->suppress) &&
             copy_ids(&dst->begin_suppress, &src->begin_suppress);
    if (ok && src->n_bad_words) {
        dst->bad_words = calloc((size_t)src->n_bad_words, sizeof *dst->bad_words);
        ok = dst->bad_words != NULL;
        for (int i = 0; ok && i < src->n_bad_words; i++, dst->n_bad_words++)
            ok = copy_ids(&dst->bad_words[i], &src->bad_words[i]);
    }
    if (!ok) {
        mhv_gen_config_free(dst);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    return MHV_OK;
}

mhv_status mhv_gen_lengths(const mhv_gen_config *g, int n_prompt, int max_positions,
                           int *max_length, int *min_length, mhv_error *err)
{
    long max;
    if (g->max_new_tokens >= 0)
        max = (long)g->max_new_tokens + n_prompt;
    else if (g->max_length >= 0)
        max = g->max_length;
    else { /* the default: 20 new tokens, within the model's positions */
        max = 20L + n_prompt;
        if (max_positions > 0 && max > max_positions)
            max = max_positions;
    }
    *max_length = (int)max;
    *min_length = g->min_new_tokens >= 0 ? g->min_new_tokens + n_prompt : g->min_length;
    if (n_prompt >= max)
        return mhv_fail(err, MHV_EUSAGE, "", "the decoder's input of %d tokens is not shorter "
                        "than max_length %ld", n_prompt, max);
    return MHV_OK;
}

static int has_id(const mhv_gen_ids *l, int32_t id)
{
    for (int i = 0; i < l->n; i++)
        if (l->ids[i] == id)
            return 1;
    return 0;
}

/* One generate() run: the settings and scratch of the processors. */
typedef struct {
    const mhv_gen_config *g;
    const mhv_gen_input *in;
    int V, max_length, min_length, begin_index;
    mhv_gen_ids bad_single;       /* bad words of one token (eos alone filtered out) */
    unsigned char *mark;          /* (V,) scratch: tokens already penalised this step */
} gen_run;

/* Sets scores of ids (those inside the vocabulary) to -inf. */
static void ban(float *s, int V, const mhv_gen_ids *l)
{
    for (int i = 0; i < l->n; i++)
        if (l->ids[i] < V)
            s[l->ids[i]] = -INFINITY;
}

/* Everything -inf but ids, 0 (ForcedBOS / ForcedEOS). */
static void force(float *s, int V, const int32_t *ids, int n)
{
    for (int v = 0; v < V; v++)
        s[v] = -INFINITY;
    for (int i = 0; i < n; i++)
        s[ids[i]] = 0.0f;
}

/* RepetitionPenalty / EncoderRepetitionPenalty: each distinct token of ids once, divided by
 * the factor when positive, multiplied when negative, in fp32. */
static void penalise(gen_run *r, float *s, const int32_t *ids, int n, float f)
{
    for (int i = 0; i < n; i++) {
        int32_t t = ids[i];
        if (t >= r->V || r->mark[t])
            continue;
        r->mark[t] = 1;
        s[t] = s[t] < 0 ? s[t] * f : s[t] / f;
    }
    for (int i = 0; i < n; i++)
        if (ids[i] < r->V)
            r->mark[ids[i]] = 0;
}

static int same(const int32_t *a, const int32_t *b, int n)
{
    return n == 0 || memcmp(a, b, (size_t)n * sizeof *a) == 0;
}

/* NoRepeatNGram: a window of n tokens whose first n - 1 are the last n - 1 of seq bans its
 * last token. */
static void no_repeat(float *s, int V, const int32_t *seq, int len, int n)
{
    if (len < n)
        return;
    const int32_t *suffix = seq + len - n + 1;
    for (int i = 0; i + n <= len; i++)
        if (same(seq + i, suffix, n - 1) && seq[i + n - 1] < V)
            s[seq[i + n - 1]] = -INFINITY;
}

/* EncoderNoRepeatNGram: the same windows over the encoder's ids, matched against the last
 * n - 1 decoder tokens (none while fewer: Python's slice is then shorter than every key). */
static void encoder_no_repeat(float *s, const int32_t *enc, int ne, const int32_t *seq,
                              int len, int n)
{
    if (len < n - 1)
        return;
    const int32_t *suffix = seq + len - n + 1;
    for (int i = 0; i + n <= ne; i++)
        if (same(enc + i, suffix, n - 1))
            s[enc[i + n - 1]] = -INFINITY;
}

/* NoBadWords: a bad sequence's last token when seq ends with the rest of it (scores + -inf,
 * as transformers adds its bias). */
static void bad_words(const gen_run *r, float *s, const int32_t *seq, int len)
{
    for (int i = 0; i < r->bad_single.n; i++)
        s[r->bad_single.ids[i]] += -INFINITY;
    for (int i = 0; i < r->g->n_bad_words; i++) {
        const mhv_gen_ids *w = &r->g->bad_words[i];
        int p = w->n - 1;
        if (p < 1 || p > len || !same(seq + len - p, w->ids, p))
            continue;
        s[w->ids[p]] += -INFINITY;
    }
}

static void log_softmax(float *s, int V)
{
    float mx = s[0];
    for (int v = 1; v < V; v++)
        if (s[v] > mx)
            mx = s[v];
    double sum = 0;
    for (int v = 0; v < V; v++)
        sum += exp((double)(s[v] - mx));
    float lse = (float)log(sum);
    for (int v = 0; v < V; v++)
        s[v] = s[v] - mx - lse;
}

/* The processors of _get_logits_processor, in its order, on the scores s(V) of the token
 * after seq(len). */
static void process(gen_run *r, const int32_t *seq, int len, float *s)
{
    const mhv_gen_config *g = r->g;
    const mhv_gen_input *in = r->in;
    int V = r->V;
    if (g->encoder_repetition_penalty != 1.0 && in->encoder_ids)
        penalise(r, s, in->encoder_ids, in->n_encoder,
                 f32(1.0 / g->encoder_repetition_penalty));
    if (g->repetition_penalty != 1.0)
        penalise(r, s, seq, len, f32(g->repetition_penalty));
    if (g->no_repeat_ngram_size > 0)
        no_repeat(s, V, seq, len, g->no_repeat_ngram_size);
    if (g->encoder_no_repeat_ngram_size > 0 && in->encoder_ids)
        encoder_no_repeat(s, in->encoder_ids, in->n_encoder, seq, len,
                          g->encoder_no_repeat_ngram_size);
    if (g->n_bad_words)
        bad_words(r, s, seq, len);
    if (r->min_length > 0 && len < r->min_length)
        ban(s, V, &g->eos);
    if (g->min_new_tokens > 0 && len - in->n_prompt < g->min_new_tokens)
        ban(s, V, &g->eos);
    if (g->forced_bos >= 0 && len == 1)
        force(s, V, &g->forced_bos, 1);
    if (g->forced_eos.n && len == r->max_length - 1)
        force(s, V, g->forced_eos.ids, g->forced_eos.n);
    if (g->remove_invalid_values)
        for (int v = 0; v < V; v++)
            s[v] = s[v] != s[v] ? 0.0f : s[v] == INFINITY ? FLT_MAX
                                        : s[v] == -INFINITY ? -FLT_MAX : s[v];
    long steps = (long)len - g->decay_start - in->n_prompt;
    if (g->has_decay && steps > 0) {
        /* each eos's |score| x (factor ** steps - 1), from the scores before */
        float f = f32(pow(g->decay_factor, (double)steps) - 1.0);
        float old[64];
        int n = g->eos.n < 64 ? g->eos.n : 64;
        for (int i = 0; i < n; i++)
            old[i] = s[g->eos.ids[i]];
        for (int i = 0; i < n; i++) {
            float p = isfinite(old[i]) ? fabsf(old[i]) * f : 0.0f;
            s[g->eos.ids[i]] = old[i] + p;
        }
    }
    if (g->suppress.n)
        ban(s, V, &g->suppress);
    if (g->begin_suppress.n && len == r->begin_index)
        ban(s, V, &g->begin_suppress);
    if (g->renormalize_logits)
        log_softmax(s, V);
}

/* torch.argmax: the first maximum (a NaN counts as one) */
static int argmax(const float *s, int V)
{
    int best = 0;
    for (int v = 0; v < V; v++) {
        if (s[v] != s[v])
            return v;
        if (s[v] > s[best])
            best = v;
    }
    return best;
}

/* What generate() refuses, or transformers' processors would raise on. */
static mhv_status check(const mhv_gen_config *g, const mhv_gen_input *in, mhv_error *err)
{
    int V = in->vocab;
    if (g->do_sample)
        return mhv_fail(err, MHV_EUNSUPPORTED, "", "do_sample (sampling) is not supported");
    if (g->num_return_sequences > 1)
        return mhv_fail(err, MHV_EUNSUPPORTED, "", "num_return_sequences %d is not supported "
                        "(one sequence is generated)", g->num_return_sequences);
    if (g->num_beams < 1)
        return mhv_fail(err, MHV_EUSAGE, "", "num_beams %d is below 1", g->num_beams);
    if (in->n_prompt < 1 || V < 1)
        return mhv_fail(err, MHV_EUSAGE, "", "no decoder start token");
    for (int i = 0; i < in->n_prompt; i++)
        if (in->prompt[i] < 0 || in->prompt[i] >= V)
            return mhv_fail(err, MHV_EUSAGE, "", "decoder token %d is outside the decoder's "
                            "vocabulary of %d", (int)in->prompt[i], V);
    if ((g->encoder_no_repeat_ngram_size > 0 || g->encoder_repetition_penalty != 1.0) &&
        !in->encoder_ids)
        return mhv_fail(err, MHV_EUNSUPPORTED, "", "encoder_no_repeat_ngram_size and "
                        "encoder_repetition_penalty need the encoder's token ids");
    if (in->encoder_ids && (g->encoder_no_repeat_ngram_size > 0 ||
                            g->encoder_repetition_penalty != 1.0))
        for (int i = 0; i < in->n_encoder; i++)
            if (in->encoder_ids[i] < 0 || in->encoder_ids[i] >= V)
                return mhv_fail(err, MHV_EUNSUPPORTED, "", "source token %d is outside the "
                                "decoder's vocabulary of %d (transformers' encoder n-gram and "
                                "repetition settings index the scores with it)",
                                (int)in->encoder_ids[i], V);
    for (int i = 0; i < g->forced_eos.n; i++)
        if (g->forced_eos.ids[i] >= V)
            return mhv_fail(err, MHV_EUSAGE, "", "forced_eos_token_id %d is outside the "
                            "vocabulary of %d", (int)g->forced_eos.ids[i], V);
    if (g->has_decay)
        for (int i = 0; i < g->eos.n; i++)
            if (g->eos.ids[i] >= V)
                return mhv_fail(err, MHV_EUSAGE, "", "eos_token_id %d is outside the "
                                "vocabulary of %d", (int)g->eos.ids[i], V);
    if (g->has_decay && g->eos.n > 64)
        return mhv_fail(err, MHV_EUNSUPPORTED, "", "more than 64 eos_token_id");
    if (g->forced_bos >= V)
        return mhv_fail(err, MHV_EUSAGE, "", "forced_bos_token_id %d is outside the vocabulary "
                        "of %d", (int)g->forced_bos, V);
    for (int i = 0; i < g->n_bad_words; i++)
        for (int j = 0; j < g->bad_words[i].n; j++)
            if (g->bad_words[i].ids[j] >= V)
                return mhv_fail(err, MHV_EUSAGE, "", "bad_words_ids: token %d is outside the "
                                "vocabulary of %d", (int)g->bad_words[i].ids[j], V);
    /* GenerationConfig.validate: a forced token that is always suppressed */
    if (g->suppress.n) {
        int all = g->forced_eos.n > 0;
        for (int i = 0; i < g->forced_eos.n; i++)
            all &= has_id(&g->suppress, g->forced_eos.ids[i]);
        if (all || (g->forced_bos >= 0 && has_id(&g->suppress, g->forced_bos)))
            return mhv_fail(err, MHV_EUSAGE, "", "a forced token is also in suppress_tokens");
    }
    return MHV_OK;
}

static mhv_status run_init(gen_run *r, const mhv_gen_config *g, const mhv_gen_input *in,
                           mhv_error *err)
{
    memset(r, 0, sizeof *r);
    r->g = g, r->in = in, r->V = in->vocab;
    mhv_status st = check(g, in, err);
    if (!st)
        st = mhv_gen_lengths(g, in->n_prompt, in->max_positions, &r->max_length,
                             &r->min_length, err);
    if (st)
        return st;
    r->begin_index = g->begin_index >= 0 ? g->begin_index
                     : in->n_prompt > 1 || g->forced_bos < 0 ? in->n_prompt
                                                              : in->n_prompt + 1;
    r->mark = calloc((size_t)r->V, 1);
    r->bad_single.ids = malloc(((size_t)g->n_bad_words + 1) * sizeof *r->bad_single.ids);
    if (!r->mark || !r->bad_single.ids)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    for (int i = 0; i < g->n_bad_words; i++) {
        const mhv_gen_ids *w = &g->bad_words[i];
        if (w->n == 1 && !has_id(&g->eos, w->ids[0])) /* [eos] alone is dropped */
            r->bad_single.ids[r->bad_single.n++] = w->ids[0];
    }
    return MHV_OK;
}

static void run_free(gen_run *r)
{
    free(r->mark);
    free(r->bad_single.ids);
}

static mhv_status greedy(gen_run *r, int32_t *seq, int *n_out, mhv_error *err)
{
    const mhv_gen_input *in = r->in;
    float *s = malloc((size_t)r->V * sizeof *s);
    if (!s)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory for logits");
    int len = in->n_prompt;
    mhv_status st = MHV_OK;
    memcpy(seq, in->prompt, (size_t)len * sizeof *seq);
    for (;;) {
        if ((st = in->logits(in->ctx, seq, 1, len, s, err)))
            break;
        process(r, seq, len, s);
        int32_t t = argmax(s, r->V);
        seq[len++] = t;
        if (len >= r->max_length || has_id(&r->g->eos, t))
            break;
    }
    free(s);
    *n_out = len;
    return st;
}

/* The k best of v(n) into idx(k), best first; equal values by their index. */
static void top_k(const float *v, int n, int k, int *idx)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        /* insertion into the sorted list of the m best so far */
        if (m == k && !(v[i] > v[idx[m - 1]]))
            continue;
        int j = m < k ? m++ : k - 1;
        while (j > 0 && v[i] > v[idx[j - 1]]) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
}

/* Beam search state: nb running beams and nb finished slots, each a sequence of up to L. */
typedef struct {
    int nb, K, L;
    int32_t *run, *cand, *fin;    /* (nb, L), (K, L), (nb, L) */
    float *run_score, *fin_score; /* (nb,) */
    int *fin_len, *fin_done;      /* (nb,) */
    float *logits, *acc;          /* (nb, V) */
    float *cand_score, *masked, *fs, *merged; /* (K,), (K,), (K,), (nb + K,) */
    int *idx, *hits;              /* (nb * V or K,), (K,) */
    int *sel;                     /* (nb + K,) */
    int32_t *tmp;                 /* (nb, L) */
    float *tmp_score;
    int *tmp_len, *tmp_done;
} beams;

static void beams_free(beams *b)
{
    free(b->run), free(b->cand), free(b->fin), free(b->run_score), free(b->fin_score);
    free(b->fin_len), free(b->fin_done), free(b->logits), free(b->acc), free(b->cand_score);
    free(b->masked), free(b->fs), free(b->merged), free(b->idx), free(b->hits), free(b->sel);
    free(b->tmp), free(b->tmp_score), free(b->tmp_len), free(b->tmp_done);
}

static mhv_status beams_alloc(beams *b, int nb, int K, int L, int V, mhv_error *err)
{
    memset(b, 0, sizeof *b);
    b->nb = nb, b->K = K, b->L = L;
    size_t rows = (size_t)nb * (size_t)L, cells = (size_t)nb * (size_t)V;
    b->run = malloc(rows * sizeof *b->run);
    b->fin = malloc(rows * sizeof *b->fin);
    b->tmp = malloc(rows * sizeof *b->tmp);
    b->cand = malloc((size_t)K * (size_t)L * sizeof *b->cand);
    b->run_score = malloc((size_t)nb * sizeof(float));
    b->fin_score = malloc((size_t)nb * sizeof(float));
    b->tmp_score = malloc((size_t)nb * sizeof(float));
    b->fin_len = calloc((size_t)nb, sizeof(int));
    b->fin_done = calloc((size_t)nb, sizeof(int));
    b->tmp_len = calloc((size_t)nb, sizeof(int));
    b->tmp_done = calloc((size_t)nb, sizeof(int));
    b->logits = malloc(cells * sizeof(float));
    b->acc = malloc(cells * sizeof(float));
    b->cand_score = malloc((size_t)K * sizeof(float));
    b->masked = malloc((size_t)K * sizeof(float));
    b->fs = malloc((size_t)K * sizeof(float));
    b->merged = malloc((size_t)(nb + K) * sizeof(float));
    b->idx = malloc((size_t)K * sizeof(int));
    b->hits = malloc((size_t)K * sizeof(int));
    b->sel = malloc((size_t)(nb + K) * sizeof(int));
    if (!b->run || !b->fin || !b->tmp || !b->cand || !b->run_score || !b->fin_score ||
        !b->tmp_score || !b->fin_len || !b->fin_done || !b->tmp_len || !b->tmp_done ||
        !b->logits || !b->acc || !b->cand_score || !b->masked || !b->fs || !b->merged ||
        !b->idx || !b->hits || !b->sel) {
        beams_free(b);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory for %d beams", nb);
    }
    return MHV_OK;
}

/* The logits of every running beam (of len tokens), in one call over the distinct ones (a
 * cache of the callback's may then reorder its beams at once); a beam equal to an earlier
 * one (the prompt copied into every beam at first) takes its row. */
static mhv_status beam_logits(const gen_run *r, beams *b, int len, mhv_error *err)
{
    size_t V = (size_t)r->V, L = (size_t)b->L;
    int *row = b->sel, n = 0; /* (nb,) each beam's row among the distinct ones (scratch) */
    for (int i = 0; i < b->nb; i++) {
        int j = 0;
        while (j < i && !same(b->run + (size_t)j * L, b->run + (size_t)i * L, len))
            j++;
        if (j < i) {
            row[i] = row[j];
            continue;
        }
        /* the distinct beams packed (n, len) into tmp, their logits into acc */
        memcpy(b->tmp + (size_t)n * (size_t)len, b->run + (size_t)i * L,
               (size_t)len * sizeof *b->tmp);
        row[i] = n++;
    }
    mhv_status st = r->in->logits(r->in->ctx, b->tmp, n, len, b->acc, err);
    if (st)
        return st;
    for (int i = 0; i < b->nb; i++)
        memcpy(b->logits + (size_t)i * V, b->acc + (size_t)row[i] * V, V * sizeof(float));
    return MHV_OK;
}

/* _beam_search for one sequence, num_return_sequences 1. */
static mhv_status beam_search(gen_run *r, int32_t *out, int *n_out, mhv_error *err)
{
    const mhv_gen_config *g = r->g;
    const mhv_gen_input *in = r->in;
    int nb = g->num_beams, V = r->V, P = in->n_prompt, L = r->max_length;
    int K = (g->eos.n + 1 > 2 ? g->eos.n + 1 : 2) * nb;
    if ((long)nb * V < K)
        return mhv_fail(err, MHV_EUSAGE, "", "%d beams keep %d candidates of a vocabulary of %d",
                        nb, K, V);
    beams b;
    mhv_status st = beams_alloc(&b, nb, K, L, V, err);
    if (st)
        return st;
    int *flat = malloc((size_t)nb * (size_t)V * sizeof *flat);
    if (!flat) {
        beams_free(&b);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory for %d beams", nb);
    }
    free(b.idx);
    b.idx = flat;
    for (int i = 0; i < nb; i++) {
        memcpy(b.run + (size_t)i * L, in->prompt, (size_t)P * sizeof *b.run);
        memcpy(b.fin + (size_t)i * L, in->prompt, (size_t)P * sizeof *b.fin);
        b.run_score[i] = i ? -BEAM_NEG : 0.0f; /* only the first beam's tokens at first */
        b.fin_score[i] = -BEAM_NEG;
        b.fin_len[i] = P;
    }
    int unsatisfied = 1, cur = P;
    double lp = g->length_penalty;
    for (;;) {
        if ((st = beam_logits(r, &b, cur, err)))
            break;
        for (int i = 0; i < nb; i++) {
            float *s = b.logits + (size_t)i * V;
            log_softmax(s, V);
            process(r, b.run + (size_t)i * L, cur, s);
            for (int v = 0; v < V; v++)
                b.acc[(size_t)i * V + v] = s[v] + b.run_score[i];
        }
        /* the K best continuations over every beam */
        top_k(b.acc, nb * V, K, b.idx);
        for (int k = 0; k < K; k++) {
            int beam = b.idx[k] / V, t = b.idx[k] % V;
            b.cand_score[k] = b.acc[b.idx[k]];
            int32_t *c = b.cand + (size_t)k * L;
            memcpy(c, b.run + (size_t)beam * L, (size_t)cur * sizeof *c);
            c[cur] = t;
            b.hits[k] = cur + 1 >= L || has_id(&g->eos, t);
        }
        /* the best nb unfinished ones run on */
        for (int k = 0; k < K; k++)
            b.masked[k] = b.cand_score[k] + (b.hits[k] ? -BEAM_NEG : -0.0f);
        top_k(b.masked, K, nb, b.sel);
        for (int i = 0; i < nb; i++) {
            memcpy(b.tmp + (size_t)i * L, b.cand + (size_t)b.sel[i] * L,
                   (size_t)(cur + 1) * sizeof *b.tmp);
            b.tmp_score[i] = b.masked[b.sel[i]];
        }
        memcpy(b.run, b.tmp, (size_t)nb * (size_t)L * sizeof *b.run);
        memcpy(b.run_score, b.tmp_score, (size_t)nb * sizeof *b.run_score);
        /* the finished ones among the first nb compete with those kept so far */
        int full = 1;
        for (int i = 0; i < nb; i++)
            full &= b.fin_done[i];
        full &= g->early_stopping == MHV_EARLY_TRUE;
        float denom = f32(pow((double)(cur + 1 - P), lp));
        for (int k = 0; k < K; k++) {
            float f = b.cand_score[k] / denom;
            f += full ? -BEAM_NEG : -0.0f;
            f += unsatisfied ? -0.0f : -BEAM_NEG;
            f += b.hits[k] && k < nb ? -0.0f : -BEAM_NEG;
            b.fs[k] = f;
        }
        memcpy(b.merged, b.fin_score, (size_t)nb * sizeof *b.merged);
        memcpy(b.merged + nb, b.fs, (size_t)K * sizeof *b.merged);
        top_k(b.merged, nb + K, nb, b.sel);
        for (int i = 0; i < nb; i++) {
            int m = b.sel[i];
            if (m < nb) {
                memcpy(b.tmp + (size_t)i * L, b.fin + (size_t)m * L,
                       (size_t)b.fin_len[m] * sizeof *b.tmp);
                b.tmp_len[i] = b.fin_len[m], b.tmp_done[i] = b.fin_done[m];
            } else {
                int k = m - nb;
                memcpy(b.tmp + (size_t)i * L, b.cand + (size_t)k * L,
                       (size_t)(cur + 1) * sizeof *b.tmp);
                b.tmp_len[i] = cur + 1, b.tmp_done[i] = b.hits[k] && k < nb;
            }
            b.tmp_score[i] = b.merged[m];
        }
        memcpy(b.fin, b.tmp, (size_t)nb * (size_t)L * sizeof *b.fin);
        memcpy(b.fin_score, b.tmp_score, (size_t)nb * sizeof *b.fin_score);
        memcpy(b.fin_len, b.tmp_len, (size_t)nb * sizeof *b.fin_len);
        memcpy(b.fin_done, b.tmp_done, (size_t)nb * sizeof *b.fin_done);
        cur++;
        /* can a running beam still beat the worst finished one? */
        int hyp = g->early_stopping == MHV_EARLY_NEVER && lp > 0.0 ? L - P : cur - P;
        float best = b.run_score[0] / f32(pow((double)hyp, lp));
        float worst = b.fin_score[0];
        int all_done = 1, all_hit = 1, any = 0;
        for (int i = 1; i < nb; i++)
            if (b.fin_score[i] < worst)
                worst = b.fin_score[i];
        for (int i = 0; i < nb; i++) {
            any |= best > (b.fin_done[i] ? worst : -BEAM_NEG);
            all_done &= b.fin_done[i];
        }
        for (int k = 0; k < K; k++)
            all_hit &= b.hits[k];
        unsatisfied = unsatisfied && any;
        if (!unsatisfied || (all_done && g->early_stopping == MHV_EARLY_TRUE) || all_hit)
            break;
    }
    if (!st) {
        memcpy(out, b.fin, (size_t)b.fin_len[0] * sizeof *out);
        *n_out = b.fin_len[0];
    }
    beams_free(&b);
    return st;
}

mhv_status mhv_generate(const mhv_gen_config *g, const mhv_gen_input *in, int32_t **out,
                        int *n_out, mhv_error *err)
{
    gen_run r;
    *out = NULL;
    *n_out = 0;
    mhv_status st = run_init(&r, g, in, err);
    int32_t *seq = NULL;
    if (!st && !(seq = malloc((size_t)r.max_length * sizeof *seq)))
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    if (!st)
        st = g->num_beams > 1 ? beam_search(&r, seq, n_out, err) : greedy(&r, seq, n_out, err);
    run_free(&r);
    if (st) {
        free(seq);
        *n_out = 0;
        return st;
    }
    *out = seq;
    return MHV_OK;
}

/* ---- the description a report records ---- */

typedef struct {
    char *buf;
    int size, len;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    char one[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(one, sizeof one, fmt, ap);
    va_end(ap);
    for (int i = 0; i < n && i < (int)sizeof one - 1; i++, t->len++)
        if (t->len < t->size - 1)
            t->buf[t->len] = one[i];
    if (t->size > 0)
        t->buf[t->len < t->size - 1 ? t->len : t->size - 1] = '\0';
}

static void put_ids(text *t, const char *key, const mhv_gen_ids *l)
{
    put(t, ", \"%s\": [", key);
    for (int i = 0; i < l->n; i++)
        put(t, "%s%d", i ? ", " : "", (int)l->ids[i]);
    put(t, "]");
}

int mhv_gen_describe(const mhv_gen_config *g, int n_prompt, int max_positions, char *buf,
                     int size)
{
    text t = {buf, size, 0};
    int max_length = 0, min_length = 0;
    if (n_prompt >= 0)
        mhv_gen_lengths(g, n_prompt, max_positions, &max_length, &min_length, NULL);
    static const char *const early[] = {"false", "true", "\"never\""};
    put(&t, "{\"strategy\": \"%s\"", g->num_beams > 1 ? "beam_search" : "greedy");
    if (g->num_beams > 1)
        put(&t, ", \"num_beams\": %d, \"length_penalty\": %.9g, \"early_stopping\": %s",
            g->num_beams, g->length_penalty, early[g->early_stopping]);
    if (g->max_new_tokens >= 0)
        put(&t, ", \"max_new_tokens\": %d", g->max_new_tokens);
    if (n_prompt < 0) { /* prompts of their own lengths: the settings as given */
        if (g->max_new_tokens < 0 && g->max_length >= 0)
            put(&t, ", \"max_length\": %d", g->max_length);
        if (g->min_new_tokens < 0 && g->min_length > 0)
            put(&t, ", \"min_length\": %d", g->min_length);
    } else {
        put(&t, ", \"max_length\": %d", max_length);
        if (min_length > 0)
            put(&t, ", \"min_length\": %d", min_length);
    }
    if (g->min_new_tokens > 0)
        put(&t, ", \"min_new_tokens\": %d", g->min_new_tokens);
    put_ids(&t, "eos_token_id", &g->eos);
    if (g->forced_bos >= 0)
        put(&t, ", \"forced_bos_token_id\": %d", (int)g->forced_bos);
    if (g->forced_eos.n)
        put_ids(&t, "forced_eos_token_id", &g->forced_eos);
    if (g->repetition_penalty != 1.0)
        put(&t, ", \"repetition_penalty\": %.9g", g->repetition_penalty);
    if (g->encoder_repetition_penalty != 1.0)
        put(&t, ", \"encoder_repetition_penalty\": %.9g", g->encoder_repetition_penalty);
    if (g->no_repeat_ngram_size > 0)
        put(&t, ", \"no_repeat_ngram_size\": %d", g->no_repeat_ngram_size);
    if (g->encoder_no_repeat_ngram_size > 0)
        put(&t, ", \"encoder_no_repeat_ngram_size\": %d", g->encoder_no_repeat_ngram_size);
    if (g->n_bad_words)
        put(&t, ", \"bad_words_ids\": %d", g->n_bad_words);
    if (g->suppress.n)
        put_ids(&t, "suppress_tokens", &g->suppress);
    if (g->begin_suppress.n)
        put_ids(&t, "begin_suppress_tokens", &g->begin_suppress);
    if (g->remove_invalid_values)
        put(&t, ", \"remove_invalid_values\": true");
    if (g->renormalize_logits)
        put(&t, ", \"renormalize_logits\": true");
    if (g->has_decay)
        put(&t, ", \"exponential_decay_length_penalty\": [%d, %.9g]", g->decay_start,
            g->decay_factor);
    put(&t, "}");
    return t.len;
}
