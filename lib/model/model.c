#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    mhv_model *m;
    const char *prefix;     /* "bert." for BertForMaskedLM-style checkpoints, else "" */
    char ckpt_name[4200];   /* the checkpoint file named in "missing tensor" messages */
    float *pool_next;       /* next free float of m->vec_pool */
} loader;

/* Tries prefix+name, then the old LayerNorm spelling (gamma/beta). */
static const mhv_tensor *lookup(loader *ld, const char *name, char *found, size_t found_size)
{
    static const struct { const char *now, *old; } renames[] = {
        {"LayerNorm.weight", "LayerNorm.gamma"},
        {"LayerNorm.bias", "LayerNorm.beta"},
    };
    snprintf(found, found_size, "%s%s", ld->prefix, name);
    const mhv_tensor *t = mhv_st_find(ld->m->st, found);
    if (t)
        return t;
    size_t len = strlen(found);
    for (size_t i = 0; i < sizeof renames / sizeof renames[0]; i++) {
        size_t nl = strlen(renames[i].now);
        if (len >= nl && strcmp(found + len - nl, renames[i].now) == 0) {
            char old[512];
            snprintf(old, sizeof old, "%.*s%s", (int)(len - nl), found, renames[i].old);
            if ((t = mhv_st_find(ld->m->st, old))) {
                snprintf(found, found_size, "%s", old);
                return t;
            }
        }
    }
    snprintf(found, found_size, "%s%s", ld->prefix, name);
    return NULL;
}

static void shape_str(const int64_t *shape, int ndim, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (n < size)
        snprintf(buf + n, size - n, "]");
}

mhv_status mhv_model_check_tensor(const mhv_model *m, const mhv_tensor *t, const char *full,
                                  int rows, int cols, mhv_error *err)
{
    char where[4700];
    snprintf(where, sizeof where, "%s/%s", m->dir, t->file);
    if (!mhv_dtype_is_float_weight(t->dtype))
        return mhv_fail(err, MHV_EUNSUPPORTED, where,
                        "tensor '%s' has dtype %s; only F32, F16 and BF16 are supported", full,
                        mhv_dtype_name(t->dtype));
    int64_t want[2] = {rows, cols};
    int want_ndim = cols ? 2 : 1;
    if (t->ndim != want_ndim || t->shape[0] != want[0] || (cols && t->shape[1] != want[1])) {
        char got_s[128], want_s[64];
        shape_str(t->shape, t->ndim, got_s, sizeof got_s);
        shape_str(want, want_ndim, want_s, sizeof want_s);
        return mhv_fail(err, MHV_EFORMAT, where, "tensor '%s' has shape %s, expected %s", full,
                        got_s, want_s);
    }
    return MHV_OK;
}

const void *mhv_model_tensor_data(mhv_model *m, const mhv_tensor *t, const char *ckpt_name,
                                  mhv_error *err)
{
    /* Kernels read elements as aligned floats/halves; a file whose data offsets break that
     * alignment (the HF writer never does) gets a private aligned copy instead. */
    if ((uintptr_t)t->data % mhv_dtype_size(t->dtype) == 0)
        return t->data;
    void *copy = malloc(t->nbytes);
    void **grown = realloc(m->copies, (size_t)(m->n_copies + 1) * sizeof *grown);
    if (grown)
        m->copies = grown;
    if (!copy || !grown) {
        free(copy);
        mhv_fail(err, MHV_ENOMEM, ckpt_name, "out of memory copying '%s'", t->name);
        return NULL;
    }
    memcpy(copy, t->data, t->nbytes);
    m->copies[m->n_copies++] = copy;
    return copy;
}

/* Finds a tensor and checks its dtype and shape (rows, cols; cols 0 for a vector). */
static mhv_status get_tensor(loader *ld, const char *name, int rows, int cols,
                             const mhv_tensor **out, mhv_error *err)
{
    char full[512];
    const mhv_tensor *t = lookup(ld, name, full, sizeof full);
    if (!t)
        return mhv_fail(err, MHV_EFORMAT, ld->ckpt_name, "missing tensor '%s'", full);
    mhv_status st = mhv_model_check_tensor(ld->m, t, full, rows, cols, err);
    if (!st)
        *out = t;
    return st;
}

static mhv_status get_mat(loader *ld, const char *name, int rows, int cols, mhv_mat *mat,
                          mhv_error *err)
{
    const mhv_tensor *t;
    mhv_status st = get_tensor(ld, name, rows, cols, &t, err);
    if (st)
        return st;
    if (!(mat->data = mhv_model_tensor_data(ld->m, t, ld->ckpt_name, err)))
        return MHV_ENOMEM;
    mat->dtype = t->dtype;
    mat->rows = rows;
    mat->cols = cols;
    return MHV_OK;
}

static mhv_status get_vec(loader *ld, const char *name, int len, float **vec, mhv_error *err)
{
    const mhv_tensor *t;
    mhv_status st = get_tensor(ld, name, len, 0, &t, err);
    if (st)
        return st;
    *vec = ld->pool_next;
    ld->pool_next += len;
    mhv_dtype_to_f32(*vec, t->data, t->dtype, (size_t)len);
    return MHV_OK;
}

static mhv_status load_layer(loader *ld, int l, mhv_layer *ly, mhv_error *err)
{
    const mhv_config *c = &ld->m->cfg;
    int H = c->hidden_size, I = c->intermediate_size;
    char n[160];
    mhv_status st = MHV_OK;
#define MAT(field, suffix, r, cl)                                                                 \
    do {                                                                                          \
        snprintf(n, sizeof n, "encoder.layer.%d.%s", l, suffix);                                  \
        if ((st = get_mat(ld, n, r, cl, &ly->field, err)))                                        \
            return st;                                                                            \
    } while (0)
#define VEC(field, suffix, len)                                                                   \
    do {                                                                                          \
        snprintf(n, sizeof n, "encoder.layer.%d.%s", l, suffix);                                  \
        if ((st = get_vec(ld, n, len, &ly->field, err)))                                          \
            return st;                                                                            \
    } while (0)
    MAT(q, "attention.self.query.weight", H, H);
    VEC(q_b, "attention.self.query.bias", H);
    MAT(k, "attention.self.key.weight", H, H);
    VEC(k_b, "attention.self.key.bias", H);
    MAT(v, "attention.self.value.weight", H, H);
    VEC(v_b, "attention.self.value.bias", H);
    MAT(o, "attention.output.dense.weight", H, H);
    VEC(o_b, "attention.output.dense.bias", H);
    VEC(ln_attn_g, "attention.output.LayerNorm.weight", H);
    VEC(ln_attn_b, "attention.output.LayerNorm.bias", H);
    MAT(ffn_up, "intermediate.dense.weight", I, H);
    VEC(ffn_up_b, "intermediate.dense.bias", I);
    MAT(ffn_down, "output.dense.weight", H, I);
    VEC(ffn_down_b, "output.dense.bias", H);
    VEC(ln_ffn_g, "output.LayerNorm.weight", H);
    VEC(ln_ffn_b, "output.LayerNorm.bias", H);
#undef MAT
#undef VEC
    return st;
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

mhv_status mhv_model_open(const char *dir, mhv_model **out, mhv_error *err)
{
    *out = NULL;
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return mhv_fail(err, MHV_EIO, dir, "not a model directory");
    mhv_model *m = calloc(1, sizeof *m);
    if (!m)
        return mhv_fail(err, MHV_ENOMEM, dir, "out of memory");
    snprintf(m->dir, sizeof m->dir, "%s", dir);

    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    mhv_status st = mhv_config_load(path, &m->cfg, err);
    if (!st)
        st = mhv_st_open_dir(dir, &m->st, err);
    if (st)
        goto fail;
    if (mhv_arch_is_decoder(m->cfg.arch)) {
        if ((st = mhv_model_load_decoder(m, err)))
            goto fail;
        *out = m;
        return MHV_OK;
    }

    loader ld = {.m = m};
    ld.prefix = mhv_st_find(m->st, "bert.embeddings.word_embeddings.weight") ? "bert." : "";
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    if (file_exists(path))
        snprintf(ld.ckpt_name, sizeof ld.ckpt_name, "%s", path);
    else
        snprintf(ld.ckpt_name, sizeof ld.ckpt_name, "%s/model.safetensors", dir);

    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, L = c->num_layers;
    /* sizes come from a validated config, so this product stays far below SIZE_MAX */
    size_t pool_floats = 2 * (size_t)H + (size_t)L * (9 * (size_t)H + (size_t)c->intermediate_size);
    /* every vector is stored in the checkpoint (2 bytes an element at least), so a config
     * that asks for more than the files hold is refused before allocating */
    if (pool_floats > mhv_st_file_bytes(m->st) / 2) {
        st = mhv_fail(err, MHV_EFORMAT, ld.ckpt_name,
                      "checkpoint is too small for the sizes in config.json");
        goto fail;
    }
    m->vec_pool = malloc(pool_floats * sizeof(float));
    m->layers = calloc((size_t)L, sizeof *m->layers);
    if (!m->vec_pool || !m->layers) {
        st = mhv_fail(err, MHV_ENOMEM, dir, "out of memory");
        goto fail;
    }
    ld.pool_next = m->vec_pool;

    if ((st = get_mat(&ld, "embeddings.word_embeddings.weight", c->vocab_size, H, &m->word_emb,
                      err)) ||
        (st = get_mat(&ld, "embeddings.position_embeddings.weight", c->max_positions, H,
                      &m->pos_emb, err)) ||
        (st = get_mat(&ld, "embeddings.token_type_embeddings.weight", c->type_vocab_size, H,
                      &m->type_emb, err)) ||
        (st = get_vec(&ld, "embeddings.LayerNorm.weight", H, &m->emb_ln_g, err)) ||
        (st = get_vec(&ld, "embeddings.LayerNorm.bias", H, &m->emb_ln_b, err)))
        goto fail;
    for (int l = 0; l < L; l++)
        if ((st = load_layer(&ld, l, &m->layers[l], err)))
            goto fail;
    m->dtype = m->layers[0].q.dtype;
    *out = m;
    return MHV_OK;
fail:
    mhv_model_close(m);
    return st;
}

void mhv_model_close(mhv_model *m)
{
    if (!m)
        return;
    mhv_st_close(m->st);
    for (int i = 0; i < m->n_copies; i++)
        free(m->copies[i]);
    free(m->copies);
    free(m->vec_pool);
    free(m->layers);
    free(m);
}

void mhv_mat_row(const mhv_mat *m, int r, float *dst)
{
    size_t esz = mhv_dtype_size(m->dtype);
    mhv_dtype_to_f32(dst, (const char *)m->data + (size_t)r * (size_t)m->cols * esz, m->dtype,
                     (size_t)m->cols);
}

mhv_model_info mhv_model_describe(const mhv_model *m)
{
    const mhv_config *c = &m->cfg;
    return (mhv_model_info){
        .path = m->dir, .architecture = mhv_arch_name(c->arch), .num_layers = c->num_layers,
        .num_heads = c->num_heads, .hidden_size = c->hidden_size,
        .num_kv_heads = mhv_arch_has_kv_heads(c->arch) ? c->num_kv_heads : 0,
        .dtype = mhv_dtype_name(m->dtype), .causal = c->causal,
    };
}
