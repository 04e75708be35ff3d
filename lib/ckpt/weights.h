/* weights.h - a checkpoint's tensors as the model code uses them: matrices viewed in place in
 * the mapped files, small vectors copied to fp32, every one checked for dtype and shape.
 *
 * A loader resolves names under a prefix ("bert.", "model.", "transformer." when the
 * checkpoint has one), accepts the old LayerNorm spelling (gamma/beta), and names the
 * checkpoint file in every error. */
#ifndef MHV_WEIGHTS_H
#define MHV_WEIGHTS_H

#include <stddef.h>

#include "base/dtype.h"
#include "base/status.h"
#include "ckpt/safetensors.h"

/* A row-major (rows, cols) matrix in its stored dtype. */
typedef struct {
    const void *data;
    mhv_dtype dtype;
    int rows, cols;
    /* GPT-2 Conv1D weights are stored (in, out): then transposed is 1 and element (r, c) is
     * data[c * ld + r], ld being the stored row length (the matrix may be a column slice of
     * a wider one, as q/k/v are of c_attn). 0 and unused for the PyTorch layout. */
    int transposed;
    size_t ld;
} mhv_mat;

/* dst(cols,) = row `r` of m converted to fp32 (PyTorch layout only). */
void mhv_mat_row(const mhv_mat *m, int r, float *dst);
/* Rows r0 .. r0+rows of w (PyTorch layout) as their own matrix: the parts of a fused
 * projection ([Q; K; V], [gate; up]). */
mhv_mat mhv_mat_rows(const mhv_mat *w, int r0, int rows);

/* Memory a loader hands out and its owner frees with mhv_wstore_free: the fp32 vectors (one
 * allocation, sized up front) and private copies of matrices the file misaligns. */
typedef struct {
    float *vecs;        /* (vec_cap,) */
    size_t vec_cap, vec_used;
    void **copies;
    int n_copies;
} mhv_wstore;

void mhv_wstore_free(mhv_wstore *s);

typedef struct {
    const mhv_st *st;
    const char *dir;
    char prefix[32];        /* tried before every name not marked MHV_W_BARE */
    char ckpt_name[4200];   /* the checkpoint file named in "missing tensor" messages */
    mhv_wstore *store;
} mhv_wload;

enum {
    MHV_W_OPTIONAL = 1, /* absent is not an error: the result is NULL / data NULL */
    MHV_W_BARE = 2      /* never under the prefix (lm_head.weight) */
};

/* A loader over st (the checkpoint of dir) whose vectors may take up to vec_floats floats of
 * store (allocated here). A config that asks for more vector floats than the files could hold
 * (2 bytes an element at least) is refused before allocating. */
mhv_status mhv_wload_init(mhv_wload *ld, const mhv_st *st, const char *dir, size_t vec_floats,
                          mhv_wstore *store, mhv_error *err);
/* Sets the prefix to the first of candidates (NULL-terminated) under which `probe` exists,
 * else to "". */
void mhv_wload_prefix(mhv_wload *ld, const char *const *candidates, const char *probe);

/* A (rows, cols) matrix in PyTorch (out, in) layout. */
mhv_status mhv_wload_mat(mhv_wload *ld, const char *name, int rows, int cols, int flags,
                         mhv_mat *out, mhv_error *err);
/* A tensor of exactly the shape dims(ndim) viewed as the (dims[0], rest) matrix: a conv
 * kernel (out, c, kh, kw) as (out, c*kh*kw), a (1, n, d) parameter as (1, n*d); refused
 * when dims[0] or the rest's product is past INT_MAX (an mhv_mat's sizes are ints). */
mhv_status mhv_wload_tensor(mhv_wload *ld, const char *name, const int64_t *dims, int ndim,
                            int flags, mhv_mat *out, mhv_error *err);
/* A 0-dimensional tensor (shape ()) as one fp32 value into *out (Apertus's xIELU beta and eps);
 * absent and MHV_W_OPTIONAL: *out unchanged. */
mhv_status mhv_wload_scalar(mhv_wload *ld, const char *name, int flags, float *out,
                            mhv_error *err);
/* An fp32 copy of a vector of len elements (NULL when optional and absent). */
mhv_status mhv_wload_vec(mhv_wload *ld, const char *name, int len, int flags, float **out,
                         mhv_error *err);
/* BASE.weight (rows, cols) and BASE.bias (rows,): a linear layer and its bias. */
mhv_status mhv_wload_linear(mhv_wload *ld, const char *base, int rows, int cols, mhv_mat *w,
                            float **b, mhv_error *err);
/* BASE.weight and BASE.bias, len each (a norm's scale and shift). */
mhv_status mhv_wload_pair(mhv_wload *ld, const char *base, int len, int flags, float **w,
                          float **b, mhv_error *err);
/* A zero vector of len floats from the store (the bias of a bias-free LayerNorm). */
mhv_status mhv_wload_zeros(mhv_wload *ld, int len, float **out, mhv_error *err);
/* Views of a Conv1D weight stored (in, sum of out_w): parts column slices, each a transposed
 * (out_w[k], in) matrix over the same mapping; widths adding past INT_MAX are refused. */
mhv_status mhv_wload_conv1d(mhv_wload *ld, const char *name, int in, const int *out_w,
                            int parts, mhv_mat *mats, mhv_error *err);

#endif
