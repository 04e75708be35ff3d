/* kernels.h - the numeric primitives of the forward pass, behind one dispatch table.
 *
 * Kernels know nothing about models: plain pointers, sizes and strides, fp32 activations.
 * The scalar table is the reference; faster tables (AVX-512, AVX2) are chosen at run time by
 * CPU feature detection, or forced by name (mhv_kernels_select).
 *
 * Kernels are single-threaded; callers parallelise by splitting the columns of a linear
 * layer (linear_cols) or the heads of attention, never the reduction, so the bytes of a
 * result do not depend on the thread count. */
#ifndef MHV_KERNELS_H
#define MHV_KERNELS_H

#include <stddef.h>

#include "base/dtype.h"

typedef struct {
    const float *q, *k, *v;     /* q: (n, ld_q), k: (n, ld_k), v: (n, ld_v); first d used */
    int n;                      /* tokens (queries) */
    int nk;                     /* keys when they are not the n tokens: cross-attention, the
                                 * queries of one sequence over another's keys (k, v: (nk,
                                 * ld)); not with causal or window; 0: n */
    int d;                      /* head dim */
    size_t ld_q, ld_k, ld_v;    /* row strides in floats */
    float scale;                /* usually 1/sqrt(d) */
    int causal;                 /* mask keys j > i */
    int window;                 /* > 0: also mask keys as far as window from the query:
                                 * j <= i - window (the sliding window of Mistral, Qwen2),
                                 * and without causal j >= i + window too (ModernBERT's
                                 * local layers); 0: none */
    float softcap;              /* > 0: scores s become softcap * tanh(s / softcap) (Gemma 2),
                                 * after scaling; 0: none */
    const float *bias;          /* (n, ld_bias) added to the scores after scaling and
                                 * capping (relative positions: T5, DeBERTa), or NULL */
    size_t ld_bias;
    float *probs;               /* (n, keys) softmax probabilities out, or NULL when not
                                 * wanted; (rows, keys) under prow */
    float *scratch;             /* (attention_scratch(n, d),) work space, always provided */
    float *out;                 /* (n, ld_out): probs · v, or NULL when not wanted (then v
                                 * is not read) */
    size_t ld_out;
    const int *prow;            /* (n,) or NULL: query i's probabilities go to row prow[i] of
                                 * probs, none when prow[i] < 0 (every row is still computed
                                 * when out is wanted; without out, skipped rows may not be);
                                 * NULL: row i */
    int has_sink;               /* a learned sink logit joins the softmax (GPT-OSS): each
                                 * row is exp(s_j - m) / (sum_j exp(s_j - m) + exp(sink - m)),
                                 * m the max of the scores and the sink, so rows sum to less
                                 * than 1 (the sink's share is not kept) */
    float sink;
    int q0;                     /* the queries are positions q0 .. q0+n-1 of the keys' sequence
                                 * (a decoding step over cached keys: k, v hold q0 + n rows,
                                 * the masks count from position 0); 0: the n tokens are the
                                 * whole sequence. Not with nk. */
    const int *key_lo, *key_hi; /* (n,) or NULL: query i sees keys key_lo[i] .. key_hi[i]
                                 * instead of the ones causal and window leave (masks that
                                 * widen the causal one: Gemma 3's image tokens see their whole
                                 * image, PaliGemma's prefix sees itself); both non-decreasing
                                 * in i, key_lo[i] <= i <= key_hi[i] */
} mhv_attn_args;

/* The keys each query sees at most: nk, or the n tokens (after the q0 cached ones). */
static inline int mhv_attn_keys(const mhv_attn_args *a)
{
    return a->nk > 0 ? a->nk : a->q0 + a->n;
}

/* The row of probs query i goes to, or NULL. */
static inline float *mhv_attn_prow(const mhv_attn_args *a, int i)
{
    size_t keys = (size_t)mhv_attn_keys(a);
    if (!a->probs)
        return NULL;
    if (!a->prow)
        return a->probs + (size_t)i * keys;
    return a->prow[i] < 0 ? NULL : a->probs + (size_t)a->prow[i] * keys;
}

/* True when rows i0..i1-1 need no work: no out, and none of them is kept. */
static inline int mhv_attn_rows_idle(const mhv_attn_args *a, int i0, int i1)
{
    if (a->out)
        return 0;
    for (int i = i0; i < i1; i++)
        if (mhv_attn_prow(a, i))
            return 0;
    return 1;
}

/* The first key query i sees: key_lo's, or i - window + 1 under a sliding window, else 0. */
static inline int mhv_attn_first_key(const mhv_attn_args *a, int i)
{
    if (a->key_lo)
        return a->key_lo[i];
    int p = a->q0 + i; /* the query's position */
    return a->window > 0 && p >= a->window ? p - a->window + 1 : 0;
}

/* The last key query i sees: key_hi's, or i when causal, i + window - 1 under a two-sided
 * window, else the last token. */
static inline int mhv_attn_last_key(const mhv_attn_args *a, int i)
{
    if (a->key_hi)
        return a->key_hi[i];
    int p = a->q0 + i; /* the query's position */
    if (a->causal)
        return p;
    return a->window > 0 && p + a->window < a->q0 + a->n ? p + a->window - 1
                                                         : mhv_attn_keys(a) - 1;
}

typedef struct {
    const char *name;
    /* y(n, out) = x(n, in) · W(out, in)^T + b(out); W in its stored dtype, rows contiguous;
     * b may be NULL. */
    void (*linear)(float *y, const float *x, const void *w, mhv_dtype wdt, const float *b,
                   int n, int in, int out);
    /* The same, writing only columns o0..o1 of y (n, out); each column's value is the same
     * bytes as in a full call, whatever o0 and o1. */
    void (*linear_cols)(float *y, const float *x, const void *w, mhv_dtype wdt, const float *b,
                        int n, int in, int out, int o0, int o1);
    /* As linear_cols with W stored transposed, (in, ldw) row-major with output o in column
     * o (GPT-2's Conv1D layout; w may point at a column slice of a wider matrix). */
    void (*linear_t_cols)(float *y, const float *x, const void *w, mhv_dtype wdt, size_t ldw,
                          const float *b, int n, int in, int out, int o0, int o1);
    /* Linear layers over x packed once, for tables whose linear_cols would otherwise pack
     * x again for every column range (NULL in the others): xpack fills xpack_floats(n, in)
     * floats at xp from x(n, in); linear_xp_cols then gives the same bytes as linear_cols
     * for any columns, from the packed x. */
    size_t (*xpack_floats)(int n, int in);
    void (*xpack)(float *xp, const float *x, int n, int in);
    /* Rows per packed panel: rows r0.. of x (r0 a multiple of it) pack to xp + r0 * in, so
     * callers may pack row blocks on several threads. */
    int xpack_rows;
    void (*linear_xp_cols)(float *y, const float *xp, const void *w, mhv_dtype wdt,
                           const float *b, int n, int in, int out, int o0, int o1);
    /* The row count where the linear layers change their arithmetic (0: none). A row's
     * bytes depend on x's other rows only through which side of it n falls on, so rows of
     * several sentences may share one call (packing) when each sentence alone falls on the
     * same side as the whole pass. */
    int linear_rows_switch;
    /* One line on how the linear layers are blocked on this CPU (tile, block sizes, and
     * what they were derived from), for `make bench` and `mhaviz info`. */
    void (*describe)(char *buf, size_t size);
    /* One attention head (see mhv_attn_args). */
    void (*attention)(const mhv_attn_args *a);
    /* Floats of scratch attention needs for n tokens and head dim d (with nk keys: for
     * the larger of n and nk). */
    size_t (*attention_scratch)(int n, int d);
    /* x(n, d) rows normalised in place: (x - mean) / sqrt(var + eps) * g + b. */
    void (*layernorm)(float *x, const float *g, const float *b, int n, int d, float eps);
    /* x(n, d) rows normalised in place: x / sqrt(mean(x^2) + eps) * g (RMSNorm). */
    void (*rmsnorm)(float *x, const float *g, int n, int d, float eps);
    /* In place over n values. */
    void (*gelu_erf)(float *x, size_t n);
    void (*gelu_tanh)(float *x, size_t n);
    void (*relu)(float *x, size_t n);
    void (*silu)(float *x, size_t n);
    /* y += x over n values. */
    void (*add)(float *y, const float *x, size_t n);
} mhv_kernels;

/* The table for this CPU: by default (name NULL, empty or unknown) the widest the CPU has;
 * "scalar" forces the reference path, "avx2" / "avx512" those tables when the CPU has them
 * (else the next narrower one). The CLI passes $MHAVIZ_KERNEL. */
const mhv_kernels *mhv_kernels_select(const char *name);
const mhv_kernels *mhv_kernels_scalar(void);
/* NULL when this CPU lacks AVX2, FMA or F16C. Entries avx2.c leaves NULL are filled from
 * the scalar table, so every entry of a table from mhv_kernels_select is set. */
const mhv_kernels *mhv_kernels_avx2_if_supported(void);
/* The raw AVX2 table (entries may be NULL). Only valid after checking the CPU (avx2.c is
 * compiled with -mavx2 -mfma -mf16c). */
const mhv_kernels *mhv_kernels_avx2(void);

/* NULL unless this CPU has AVX-512 F/BW/DQ/VL as well as AVX2, FMA and F16C. Entries
 * avx512.c leaves NULL come from the AVX2 table (then the scalar one), except the
 * xpack entries, which only tables that use them have. */
const mhv_kernels *mhv_kernels_avx512_if_supported(void);
/* The raw AVX-512 table (entries may be NULL). Only valid after checking the CPU. */
const mhv_kernels *mhv_kernels_avx512(void);

/* Knobs of the AVX-512 linear layers that change no output byte, for `make bench`'s sweep
 * (bench --only sweep) on a CPU not measured before: the weight prefetch distance in floats
 * (-1: none, 0: the default 128) and the tiles of a row super-block's kept sums (0: the
 * default 64). The sub-blocks and token groups follow the caches (mhv_cpu_caches_override).
 * Not thread-safe: set before any kernel runs. */
typedef struct {
    int prefetch;
    int kept_tiles;
} mhv_avx512_knobs;
void mhv_kernels_avx512_knobs(const mhv_avx512_knobs *k);

#endif
