/* model.h - a checkpoint's weights as views into the mapped safetensors files.
 *
 * Matrices stay in their stored dtype inside the mapping (no copy); the small vectors
 * (biases, LayerNorm parameters) are converted to fp32 copies at load. Names are resolved
 * for BertModel and BertForMaskedLM layouts ("bert." prefix) and both LayerNorm spellings
 * (weight/bias and the old gamma/beta). */
#ifndef MHV_MODEL_H
#define MHV_MODEL_H

#include <stdint.h>

#include "base/attn.h"
#include "ckpt/config.h"
#include "ckpt/safetensors.h"
#include "base/status.h"

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

typedef struct {
    mhv_mat q, k, v;             /* (hidden, hidden) each, PyTorch (out, in) layout */
    mhv_mat o;                   /* (hidden, hidden) attention output projection */
    mhv_mat ffn_up;              /* (intermediate, hidden) */
    mhv_mat ffn_down;            /* (hidden, intermediate) */
    float *q_b, *k_b, *v_b, *o_b;    /* (hidden,) */
    float *ln_attn_g, *ln_attn_b;    /* (hidden,) LayerNorm after attention */
    float *ffn_up_b;                 /* (intermediate,) */
    float *ffn_down_b;               /* (hidden,) */
    float *ln_ffn_g, *ln_ffn_b;      /* (hidden,) LayerNorm after the FFN */
    /* Decoders (pre-norm): ln_attn_* is the norm before attention (ln_1, input_layernorm),
     * ln_ffn_* the one before the MLP (ln_2, post_attention_layernorm); RMSNorm has no _b.
     * q is (num_heads*head_dim, hidden), k and v (num_kv_heads*head_dim, hidden), o
     * (hidden, num_heads*head_dim). Absent biases are NULL. */
    mhv_mat ffn_gate;                /* (intermediate, hidden) SwiGLU gate, llama family */
    float *ffn_gate_b;               /* (intermediate,) or NULL */
} mhv_layer;

typedef struct {
    mhv_config cfg;
    char dir[4096];
    mhv_st *st;
    mhv_dtype dtype;             /* dtype of the weight matrices ("F32", "BF16" ...) */
    mhv_mat word_emb;            /* (vocab, hidden) */
    mhv_mat pos_emb;             /* (max_positions, hidden) */
    mhv_mat type_emb;            /* (type_vocab, hidden) */
    float *emb_ln_g, *emb_ln_b;  /* (hidden,) */
    mhv_layer *layers;           /* (num_layers,) */
    float *norm_g, *norm_b;      /* (hidden,) decoders' final norm (ln_f, norm); norm_b NULL
                                  * for RMSNorm */
    mhv_mat lm_head;             /* (vocab, hidden) decoders; the token embedding when tied;
                                  * data NULL for a base model without lm_head.weight */
    void *vec_pool;              /* one allocation holding every fp32 vector above */
    void **copies;               /* matrices copied because their data was misaligned */
    int n_copies;
} mhv_model;

/* Opens DIR/config.json and DIR's safetensors checkpoint and resolves every weight, checking
 * names, dtypes and shapes against the config. */
mhv_status mhv_model_open(const char *dir, mhv_model **out, mhv_error *err);
void mhv_model_close(mhv_model *m);

/* Internal (lib/model_decoder.c): resolves the weights of a decoder checkpoint into m, whose
 * cfg, dir and st are set. GPT-2 names with or without "transformer.", llama-family names
 * with or without "model."; old GPT-2 attn.bias/attn.masked_bias buffers are ignored. */
mhv_status mhv_model_load_decoder(mhv_model *m, mhv_error *err);
/* Internal (the loaders): t, found as `full`, checked for a float dtype and the shape (rows,
 * cols; cols 0 for a vector) the config implies. */
mhv_status mhv_model_check_tensor(const mhv_model *m, const mhv_tensor *t, const char *full,
                                  int rows, int cols, mhv_error *err);
/* Internal (the loaders): the data of t, or a private aligned copy kept in m->copies when
 * the file misaligns it; NULL when out of memory (err names ckpt_name). */
const void *mhv_model_tensor_data(mhv_model *m, const mhv_tensor *t, const char *ckpt_name,
                                  mhv_error *err);

/* The model as reports and figure titles describe it (strings borrowed from m). */
mhv_model_info mhv_model_describe(const mhv_model *m);

/* dst(cols,) = row `r` of m converted to fp32. */
void mhv_mat_row(const mhv_mat *m, int r, float *dst);

#endif
