/* kernels.h - the numeric primitives of the forward pass, behind one dispatch table.
 *
 * Kernels know nothing about models: plain pointers, sizes and strides, fp32 activations.
 * The scalar table is the reference; faster tables (AVX2) are chosen at run time by CPU
 * feature detection, or forced with MHAVIZ_KERNEL=scalar. */
#ifndef MHV_KERNELS_H
#define MHV_KERNELS_H

#include <stddef.h>

#include "../dtype.h"

typedef struct {
    const float *q, *k, *v;     /* q: (n, ld_q), k: (n, ld_k), v: (n, ld_v); first d used */
    int n;                      /* tokens */
    int d;                      /* head dim */
    size_t ld_q, ld_k, ld_v;    /* row strides in floats */
    float scale;                /* usually 1/sqrt(d) */
    int causal;                 /* mask keys j > i */
    float *probs;               /* (n, n) softmax probabilities out, or NULL when not wanted */
    float *scratch;             /* (n,) work row, always provided */
    float *out;                 /* (n, ld_out): probs · v */
    size_t ld_out;
} mhv_attn_args;

typedef struct {
    const char *name;
    /* y(n, out) = x(n, in) · W(out, in)^T + b(out); W in its stored dtype, rows contiguous;
     * b may be NULL. */
    void (*linear)(float *y, const float *x, const void *w, mhv_dtype wdt, const float *b,
                   int n, int in, int out);
    /* One attention head (see mhv_attn_args). */
    void (*attention)(const mhv_attn_args *a);
    /* x(n, d) rows normalised in place: (x - mean) / sqrt(var + eps) * g + b. */
    void (*layernorm)(float *x, const float *g, const float *b, int n, int d, float eps);
    /* In place over n values. */
    void (*gelu_erf)(float *x, size_t n);
    void (*gelu_tanh)(float *x, size_t n);
    void (*relu)(float *x, size_t n);
    void (*silu)(float *x, size_t n);
    /* y += x over n values. */
    void (*add)(float *y, const float *x, size_t n);
} mhv_kernels;

/* The table for this CPU, honouring MHAVIZ_KERNEL (documented: "scalar" forces the
 * reference path). */
const mhv_kernels *mhv_kernels_get(void);
const mhv_kernels *mhv_kernels_scalar(void);

#endif
