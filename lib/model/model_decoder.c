/* model_decoder.c - weights of GPT-2 and llama-family (llama, mistral, qwen2) checkpoints as
 * views into the mapped safetensors files.
 *
 * Matrices are never copied (unless misaligned, like model.c); GPT-2's Conv1D matrices are
 * described as transposed views, and q/k/v as column slices of c_attn, so the kernels read
 * the mapping in place. Small vectors become fp32 copies in m->vec_pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/model.h"

typedef struct {
    mhv_model *m;
    const char *prefix;     /* "transformer." / "model." when the checkpoint has it, else "" */
    char ckpt_name[4200];   /* the checkpoint file named in "missing tensor" messages */
    float *pool_next;       /* next free float of m->vec_pool */
    float *pool_end;
} dec_loader;

/* The tensor `name` (after the prefix unless bare) checked for dtype and shape (rows, cols;
 * cols 0 for a vector). NULL with MHV_OK in *st when absent and optional. */
static const mhv_tensor *find(dec_loader *ld, const char *name, int bare, int rows, int cols,
                              int optional, mhv_status *st, mhv_error *err)
{
    char full[512];
    snprintf(full, sizeof full, "%s%s", bare ? "" : ld->prefix, name);
    *st = MHV_OK;
    const mhv_tensor *t = mhv_st_find(ld->m->st, full);
    if (!t) {
        if (!optional)
            *st = mhv_fail(err, MHV_EFORMAT, ld->ckpt_name, "missing tensor '%s'", full);
        return NULL;
    }
    *st = mhv_model_check_tensor(ld->m, t, full, rows, cols, err);
    return *st ? NULL : t;
}

/* The data of t, or an aligned private copy when the file misaligns it. */
static const void *aligned_data(dec_loader *ld, const mhv_tensor *t, mhv_status *st,
                                mhv_error *err)
{
    const void *data = mhv_model_tensor_data(ld->m, t, ld->ckpt_name, err);
    *st = data ? MHV_OK : MHV_ENOMEM;
    return data;
}

/* A PyTorch-layout (rows, cols) matrix. */
static mhv_status get_mat(dec_loader *ld, const char *name, int bare, int rows, int cols,
                          int optional, mhv_mat *mat, mhv_error *err)
{
    mhv_status st;
    memset(mat, 0, sizeof *mat);
    const mhv_tensor *t = find(ld, name, bare, rows, cols, optional, &st, err);
    if (!t)
        return st;
    if (!(mat->data = aligned_data(ld, t, &st, err)))
        return st;
    mat->dtype = t->dtype;
    mat->rows = rows;
    mat->cols = cols;
    return MHV_OK;
}

/* Views (out_w[k], in) of a Conv1D weight stored (in, sum of out_w): column slices, each a
 * transposed matrix over the same mapping. */
static mhv_status get_conv1d(dec_loader *ld, const char *name, int in, const int *out_w,
                             int parts, mhv_mat *mats, mhv_error *err)
{
    int total = 0;
    for (int k = 0; k < parts; k++)
        total += out_w[k];
    mhv_status st;
    const mhv_tensor *t = find(ld, name, 0, in, total, 0, &st, err);
    if (!t)
        return st;
    const char *base = aligned_data(ld, t, &st, err);
    if (!base)
        return st;
    size_t esz = mhv_dtype_size(t->dtype), col = 0;
    for (int k = 0; k < parts; k++) {
        mats[k] = (mhv_mat){.data = base + col * esz, .dtype = t->dtype, .rows = out_w[k],
                            .cols = in, .transposed = 1, .ld = (size_t)total};
        col += (size_t)out_w[k];
    }
    return MHV_OK;
}

/* An fp32 copy of a vector of len elements (NULL when optional and absent). */
static mhv_status get_vec(dec_loader *ld, const char *name, int len, int optional, float **vec,
                          mhv_error *err)
{
    mhv_status st;
    *vec = NULL;
    const mhv_tensor *t = find(ld, name, 0, len, 0, optional, &st, err);
    if (!t)
        return st;
    if (ld->pool_end - ld->pool_next < len) /* sized in mhv_model_load_decoder; a guard */
        return mhv_fail(err, MHV_EFORMAT, ld->ckpt_name, "too many vectors");
    *vec = ld->pool_next;
    ld->pool_next += len;
    mhv_dtype_to_f32(*vec, t->data, t->dtype, (size_t)len);
    return MHV_OK;
}

static mhv_status load_gpt2_layer(dec_loader *ld, int l, mhv_layer *ly, mhv_error *err)
{
    const mhv_config *c = &ld->m->cfg;
    int H = c->hidden_size, I = c->intermediate_size;
    char n[160];
    mhv_status st;
    float *qkv_b;
    mhv_mat qkv[3];
    const int w3[3] = {H, H, H}, wH[1] = {H}, wI[1] = {I};
#define NAME(suffix) (snprintf(n, sizeof n, "h.%d.%s", l, suffix), n)
    if ((st = get_vec(ld, NAME("ln_1.weight"), H, 0, &ly->ln_attn_g, err)) ||
        (st = get_vec(ld, NAME("ln_1.bias"), H, 0, &ly->ln_attn_b, err)) ||
        (st = get_conv1d(ld, NAME("attn.c_attn.weight"), H, w3, 3, qkv, err)) ||
        (st = get_vec(ld, NAME("attn.c_attn.bias"), 3 * H, 0, &qkv_b, err)) ||
        (st = get_conv1d(ld, NAME("attn.c_proj.weight"), H, wH, 1, &ly->o, err)) ||
        (st = get_vec(ld, NAME("attn.c_proj.bias"), H, 0, &ly->o_b, err)) ||
        (st = get_vec(ld, NAME("ln_2.weight"), H, 0, &ly->ln_ffn_g, err)) ||
        (st = get_vec(ld, NAME("ln_2.bias"), H, 0, &ly->ln_ffn_b, err)) ||
        (st = get_conv1d(ld, NAME("mlp.c_fc.weight"), H, wI, 1, &ly->ffn_up, err)) ||
        (st = get_vec(ld, NAME("mlp.c_fc.bias"), I, 0, &ly->ffn_up_b, err)) ||
        (st = get_conv1d(ld, NAME("mlp.c_proj.weight"), I, wH, 1, &ly->ffn_down, err)) ||
        (st = get_vec(ld, NAME("mlp.c_proj.bias"), H, 0, &ly->ffn_down_b, err)))
        return st;
#undef NAME
    ly->q = qkv[0], ly->k = qkv[1], ly->v = qkv[2];
    ly->q_b = qkv_b, ly->k_b = qkv_b + H, ly->v_b = qkv_b + 2 * H;
    return MHV_OK;
}

static mhv_status load_llama_layer(dec_loader *ld, int l, mhv_layer *ly, mhv_error *err)
{
    const mhv_config *c = &ld->m->cfg;
    int H = c->hidden_size, I = c->intermediate_size;
    int QD = c->num_heads * c->head_dim, KVD = c->num_kv_heads * c->head_dim;
    int ab = !c->attn_bias, ob = !c->attn_out_bias, mb = !c->mlp_bias; /* "optional" flags */
    char n[160];
    mhv_status st;
#define NAME(suffix) (snprintf(n, sizeof n, "layers.%d.%s", l, suffix), n)
    if ((st = get_vec(ld, NAME("input_layernorm.weight"), H, 0, &ly->ln_attn_g, err)) ||
        (st = get_mat(ld, NAME("self_attn.q_proj.weight"), 0, QD, H, 0, &ly->q, err)) ||
        (st = get_mat(ld, NAME("self_attn.k_proj.weight"), 0, KVD, H, 0, &ly->k, err)) ||
        (st = get_mat(ld, NAME("self_attn.v_proj.weight"), 0, KVD, H, 0, &ly->v, err)) ||
        (st = get_mat(ld, NAME("self_attn.o_proj.weight"), 0, H, QD, 0, &ly->o, err)) ||
        (!ab && (st = get_vec(ld, NAME("self_attn.q_proj.bias"), QD, 0, &ly->q_b, err))) ||
        (!ab && (st = get_vec(ld, NAME("self_attn.k_proj.bias"), KVD, 0, &ly->k_b, err))) ||
        (!ab && (st = get_vec(ld, NAME("self_attn.v_proj.bias"), KVD, 0, &ly->v_b, err))) ||
        (!ob && (st = get_vec(ld, NAME("self_attn.o_proj.bias"), H, 0, &ly->o_b, err))) ||
        (st = get_vec(ld, NAME("post_attention_layernorm.weight"), H, 0, &ly->ln_ffn_g, err)) ||
        (st = get_mat(ld, NAME("mlp.gate_proj.weight"), 0, I, H, 0, &ly->ffn_gate, err)) ||
        (st = get_mat(ld, NAME("mlp.up_proj.weight"), 0, I, H, 0, &ly->ffn_up, err)) ||
        (st = get_mat(ld, NAME("mlp.down_proj.weight"), 0, H, I, 0, &ly->ffn_down, err)) ||
        (!mb && (st = get_vec(ld, NAME("mlp.gate_proj.bias"), I, 0, &ly->ffn_gate_b, err))) ||
        (!mb && (st = get_vec(ld, NAME("mlp.up_proj.bias"), I, 0, &ly->ffn_up_b, err))) ||
        (!mb && (st = get_vec(ld, NAME("mlp.down_proj.bias"), H, 0, &ly->ffn_down_b, err))))
        return st;
#undef NAME
    return MHV_OK;
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

mhv_status mhv_model_load_decoder(mhv_model *m, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int gpt2 = c->arch == MHV_ARCH_GPT2;
    dec_loader ld = {.m = m};
    if (gpt2)
        ld.prefix = mhv_st_find(m->st, "transformer.wte.weight") ? "transformer." : "";
    else
        ld.prefix = mhv_st_find(m->st, "model.embed_tokens.weight") ? "model." : "";
    char path[4200];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", m->dir);
    if (file_exists(path))
        snprintf(ld.ckpt_name, sizeof ld.ckpt_name, "%s", path);
    else
        snprintf(ld.ckpt_name, sizeof ld.ckpt_name, "%s/model.safetensors", m->dir);

    /* Upper bound of the fp32 vectors: norms with biases, q/k/v/o biases, MLP biases. The
     * config is validated, so this stays far below SIZE_MAX. */
    size_t H = (size_t)c->hidden_size, L = (size_t)c->num_layers;
    size_t QD = (size_t)c->num_heads * (size_t)c->head_dim;
    size_t KVD = (size_t)c->num_kv_heads * (size_t)c->head_dim;
    size_t pool_floats = 2 * H + L * (6 * H + QD + 2 * KVD + 2 * (size_t)c->intermediate_size);
    /* every matrix holds more elements than these vectors, at 2 bytes or more each */
    if (pool_floats > mhv_st_file_bytes(m->st) / 2)
        return mhv_fail(err, MHV_EFORMAT, ld.ckpt_name,
                        "checkpoint is too small for the sizes in config.json");
    m->vec_pool = malloc(pool_floats * sizeof(float));
    m->layers = calloc(L, sizeof *m->layers);
    if (!m->vec_pool || !m->layers)
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory");
    ld.pool_next = m->vec_pool;
    ld.pool_end = ld.pool_next + pool_floats;

    int V = c->vocab_size, Hi = c->hidden_size;
    mhv_status st;
    if (gpt2) {
        if ((st = get_mat(&ld, "wte.weight", 0, V, Hi, 0, &m->word_emb, err)) ||
            (st = get_mat(&ld, "wpe.weight", 0, c->max_positions, Hi, 0, &m->pos_emb, err)) ||
            (st = get_vec(&ld, "ln_f.weight", Hi, 0, &m->norm_g, err)) ||
            (st = get_vec(&ld, "ln_f.bias", Hi, 0, &m->norm_b, err)))
            return st;
    } else {
        if ((st = get_mat(&ld, "embed_tokens.weight", 0, V, Hi, 0, &m->word_emb, err)) ||
            (st = get_vec(&ld, "norm.weight", Hi, 0, &m->norm_g, err)))
            return st;
    }
    for (int l = 0; l < c->num_layers; l++) {
        st = gpt2 ? load_gpt2_layer(&ld, l, &m->layers[l], err)
                  : load_llama_layer(&ld, l, &m->layers[l], err);
        if (st)
            return st;
    }
    /* lm_head.weight is never under the base-model prefix; tied or absent (a base model
     * saved alone) falls back to the token embedding only when tied. */
    if (c->tie_word_embeddings)
        m->lm_head = m->word_emb;
    else if ((st = get_mat(&ld, "lm_head.weight", 1, V, Hi, 1, &m->lm_head, err)))
        return st;
    m->dtype = m->layers[0].q.dtype;
    return MHV_OK;
}
