#include "model/layers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/interp.h"
#include "nn/rope.h"

mhv_attn_layer mhv_layer_attention(const mhv_layer *ly, const mhv_config *c)
{
    return (mhv_attn_layer){
        .wq = &ly->q, .wk = &ly->k, .wv = &ly->v, .wo = &ly->o,
        .bq = ly->q_b, .bk = ly->k_b, .bv = ly->v_b,
        .heads = c->num_heads, .kv_heads = c->num_kv_heads, .head_dim = c->head_dim,
        .scale = (float)(1.0 / sqrt((double)c->head_dim)),
    };
}

void mhv_layer_global(const mhv_nn *nn, const mhv_layer *ly, mhv_attn_layer *a)
{
    if (!nn->global)
        return;
    a->global = nn->global;
    a->wq_global = &ly->q_global, a->wk_global = &ly->k_global, a->wv_global = &ly->v_global;
    a->bq_global = ly->q_global_b, a->bk_global = ly->k_global_b;
    a->bv_global = ly->v_global_b;
}

mhv_status mhv_layer_load_global(mhv_wload *ld, const char *base, int H, mhv_layer *ly,
                                 mhv_error *err)
{
    static const char *const names[3] = {"query_global", "key_global", "value_global"};
    mhv_mat *w[3] = {&ly->q_global, &ly->k_global, &ly->v_global};
    float **b[3] = {&ly->q_global_b, &ly->k_global_b, &ly->v_global_b};
    char n[200];
    for (int i = 0; i < 3; i++) {
        int flags = i == 0 ? MHV_W_OPTIONAL : 0; /* all three once query_global is there */
        snprintf(n, sizeof n, "%s.%s.weight", base, names[i]);
        mhv_status st = mhv_wload_mat(ld, n, H, H, flags, w[i], err);
        if (st)
            return st;
        if (!w[i]->data)
            return MHV_OK;
        snprintf(n, sizeof n, "%s.%s.bias", base, names[i]);
        if ((st = mhv_wload_vec(ld, n, H, 0, b[i], err)))
            return st;
    }
    return MHV_OK;
}

mhv_status mhv_layer_global_check(const mhv_nn *nn, const mhv_model *m,
                                  const mhv_layer *layers, int count, mhv_error *err)
{
    if (!nn->global || nn->measure)
        return MHV_OK;
    for (int l = 0; l < count; l++)
        if (!layers[l].q_global.data)
            return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "global attention needs layer %d's "
                            "query_global, key_global and value_global: the checkpoint has "
                            "none", l);
    return MHV_OK;
}

void mhv_layer_post_norm(mhv_nn *nn, const mhv_layer *ly, const mhv_config *c, float *x,
                         const float *ctx, float *tmp, float *ffn, int n)
{
    int H = c->hidden_size;
    mhv_norm ln1 = {MHV_NORM_LAYER, ly->ln_attn_g, ly->ln_attn_b, c->layer_norm_eps};
    mhv_norm ln2 = {MHV_NORM_LAYER, ly->ln_ffn_g, ly->ln_ffn_b, c->layer_norm_eps};
    mhv_nn_linear(nn, tmp, ctx, &ly->o, ly->o_b, n, MHV_NN_NO_ACT);
    mhv_nn_add_norm(nn, x, tmp, &ln1, n, H);
    mhv_nn_linear(nn, ffn, x, &ly->ffn_up, ly->ffn_up_b, n, (int)c->act);
    mhv_nn_linear(nn, tmp, ffn, &ly->ffn_down, ly->ffn_down_b, n, MHV_NN_NO_ACT);
    mhv_nn_add_norm(nn, x, tmp, &ln2, n, H);
}

void mhv_layer_patches_hwc(const float *px, int C, int height, int width, int P, float *out)
{
    int rows = height / P, cols = width / P;
    size_t K = (size_t)C * (size_t)P * (size_t)P;
    for (int r = 0; r < rows; r++)
        for (int cl = 0; cl < cols; cl++) {
            float *o = out + ((size_t)r * (size_t)cols + (size_t)cl) * K;
            for (int y = 0; y < P; y++)
                for (int x = 0; x < P; x++)
                    for (int ch = 0; ch < C; ch++)
                        *o++ = px[((size_t)ch * (size_t)height + (size_t)(r * P + y)) *
                                      (size_t)width + (size_t)(cl * P + x)];
        }
}

void mhv_layer_spec_patches(const float *features, int frames, int mels, int P, int fstride,
                            int tstride, float *out)
{
    int Fo = (mels - P) / fstride + 1, To = (frames - P) / tstride + 1;
    for (int fi = 0; fi < Fo; fi++)
        for (int ti = 0; ti < To; ti++) {
            float *o = out + ((size_t)fi * (size_t)To + (size_t)ti) * (size_t)P * (size_t)P;
            for (int a = 0; a < P; a++)
                for (int b = 0; b < P; b++)
                    o[a * P + b] = features[(size_t)(ti * tstride + b) * (size_t)mels +
                                            (size_t)(fi * fstride + a)];
        }
}

void mhv_layer_patches(const float *px, int C, int height, int width, int P, float *out)
{
    int rows = height / P, cols = width / P;
    for (int pr = 0; pr < rows; pr++)
        for (int pc = 0; pc < cols; pc++) {
            float *o = out + (size_t)(pr * cols + pc) * (size_t)(C * P * P);
            for (int ch = 0; ch < C; ch++)
                for (int y = 0; y < P; y++)
                    memcpy(o + (size_t)(ch * P + y) * (size_t)P,
                           px + ((size_t)ch * (size_t)height + (size_t)(pr * P + y)) *
                                        (size_t)width + (size_t)pc * (size_t)P,
                           (size_t)P * sizeof *o);
        }
}


/* prefix+name ".weight", a (rows, cols) matrix into *mat or, with mat NULL, a LayerNorm's
 * (rows,) gain into *gain; then prefix+name ".bias" (rows,). */
static mhv_status load_wb(mhv_wload *ld, const char *prefix, const char *name, int rows,
                          int cols, mhv_mat *mat, float **gain, float **bias, mhv_error *err)
{
    char w[256], b[256];
    snprintf(w, sizeof w, "%s%s.weight", prefix, name);
    snprintf(b, sizeof b, "%s%s.bias", prefix, name);
    mhv_status st = mat ? mhv_wload_mat(ld, w, rows, cols, 0, mat, err)
                        : mhv_wload_vec(ld, w, rows, 0, gain, err);
    return st ? st : mhv_wload_vec(ld, b, rows, 0, bias, err);
}

mhv_status mhv_layer_load_dense(mhv_wload *ld, const char *prefix, const mhv_dense_names *nm,
                                int H, int I, mhv_layer *ly, mhv_error *err)
{
    mhv_status st;
    if ((st = load_wb(ld, prefix, nm->q, H, H, &ly->q, NULL, &ly->q_b, err)) ||
        (st = load_wb(ld, prefix, nm->k, H, H, &ly->k, NULL, &ly->k_b, err)) ||
        (st = load_wb(ld, prefix, nm->v, H, H, &ly->v, NULL, &ly->v_b, err)) ||
        (st = load_wb(ld, prefix, nm->o, H, H, &ly->o, NULL, &ly->o_b, err)) ||
        (st = load_wb(ld, prefix, nm->ln_attn, H, 0, NULL, &ly->ln_attn_g, &ly->ln_attn_b,
                      err)) ||
        (st = load_wb(ld, prefix, nm->ffn_up, I, H, &ly->ffn_up, NULL, &ly->ffn_up_b, err)) ||
        (st = load_wb(ld, prefix, nm->ffn_down, H, I, &ly->ffn_down, NULL, &ly->ffn_down_b,
                      err)) ||
        (st = load_wb(ld, prefix, nm->ln_ffn, H, 0, NULL, &ly->ln_ffn_g, &ly->ln_ffn_b, err)))
        return st;
    return MHV_OK;
}

mhv_status mhv_layer_load_clip(mhv_wload *ld, int l, int H, int I, mhv_layer *ly,
                               mhv_error *err)
{
    static const mhv_dense_names names = {"self_attn.q_proj", "self_attn.k_proj",
                                          "self_attn.v_proj", "self_attn.out_proj",
                                          "layer_norm1",      "mlp.fc1",
                                          "mlp.fc2",          "layer_norm2"};
    char prefix[64];
    snprintf(prefix, sizeof prefix, "encoder.layers.%d.", l);
    return mhv_layer_load_dense(ld, prefix, &names, H, I, ly, err);
}

/* grid(rows * cols, H): the patches' rows of the position table (after those of [CLS] and
 * [DIST]), a side x side grid, resized to rows x cols as transformers'
 * interpolate_pos_encoding does (bicubic, align_corners=False; antialiased for DINOv2 with
 * registers), in double. */
static mhv_status resize_positions(const mhv_model *m, int rows, int cols, float *grid,
                                   mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, side = c->image_size / c->patch_size;
    int first = c->vision_extra - c->vision_registers;
    size_t in_n = (size_t)side * (size_t)side * (size_t)H;
    size_t out_n = (size_t)rows * (size_t)cols * (size_t)H;
    double *in = malloc(in_n * sizeof *in), *out = malloc(out_n * sizeof *out);
    float *row = malloc((size_t)H * sizeof *row);
    mhv_status st = MHV_OK;
    if (!in || !out || !row) {
        st = mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory resizing the position embeddings");
        goto done;
    }
    for (int t = 0; t < side * side; t++) {
        mhv_mat_row(&m->pos_emb, first + t, row);
        for (int j = 0; j < H; j++)
            in[(size_t)t * (size_t)H + (size_t)j] = row[j];
    }
    mhv_interp_mode mode = c->vision_pos_bilinear_aa ? MHV_INTERP_BILINEAR_AA
                           : c->vision_pos_aa        ? MHV_INTERP_BICUBIC_AA
                                                     : MHV_INTERP_BICUBIC;
    if ((st = mhv_interp_grid(mode, in, side, side, H, out, rows, cols, err)))
        goto done;
    for (size_t i = 0; i < out_n; i++)
        grid[i] = (float)out[i];
done:
    free(in), free(out), free(row);
    return st;
}

/* x(n, H): the extra tokens ([CLS], [DIST] or registers; none for SigLIP), then every patch
 * of nn->pixels through the patch convolution, plus each token's learned position (DINOv2's
 * registers, after [CLS], take none: position row i - R for the patches), the patches'
 * from grid_pos(n - E, H) when the table was resized to the image's grid. */
static void vision_embed(mhv_nn *nn, const mhv_model *m, int n, float *x, float *patches,
                         const float *grid_pos, float *tmp)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, E = c->vision_extra;
    if (c->spectrogram) /* AST: the filter bank features, not pixels */
        mhv_layer_spec_patches(nn->audio, c->spec_frames, c->spec_mels, c->patch_size,
                               c->spec_fstride, c->spec_tstride, patches);
    else if (c->vision_patch_hwc)
        mhv_layer_patches_hwc(nn->pixels, c->num_channels, nn->image_h, nn->image_w,
                              c->patch_size, patches);
    else
        mhv_layer_patches(nn->pixels, c->num_channels, nn->image_h, nn->image_w, c->patch_size,
                          patches);
    if (E)
        memcpy(x, m->extra_tokens, (size_t)E * (size_t)H * sizeof *x);
    mhv_nn_linear(nn, x + (size_t)E * (size_t)H, patches, &m->patch_emb, m->patch_emb_b, n - E,
                  MHV_NN_NO_ACT);
    if (m->patch_norm_g) { /* AIMv2: the patch embeddings' RMSNorm, before the positions */
        mhv_norm pn = {MHV_NORM_RMS, m->patch_norm_g, NULL, c->layer_norm_eps};
        mhv_nn_norm(nn, x + (size_t)E * (size_t)H, x + (size_t)E * (size_t)H, &pn, n - E, H);
    }
    int R = c->vision_registers;
    for (int i = 0; i < n; i++) {
        if (i >= 1 && i <= R)
            continue;
        if (grid_pos && i >= E) {
            nn->K->add(x + (size_t)i * (size_t)H, grid_pos + (size_t)(i - E) * (size_t)H,
                       (size_t)H);
            continue;
        }
        if (!m->pos_emb.data) /* BEiT without absolute positions */
            continue;
        mhv_mat_row(&m->pos_emb, i > R ? i - R : i, tmp);
        nn->K->add(x + (size_t)i * (size_t)H, tmp, (size_t)H);
    }
}

/* pool(heads, n): the attention of the pooling head's probe over the final tokens x(n, H)
 * (SigLIP's MAP head): post_layernorm, then each head's softmax of the scaled scores. xb, k
 * (n, H) and q (H,) are work space. */
static void pool_attention(mhv_nn *nn, const mhv_model *m, const float *x, int n, float *xb,
                           float *k, float *q, float *pool)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, d = c->head_dim;
    mhv_norm post = {c->vision_rms ? MHV_NORM_RMS : MHV_NORM_LAYER, m->norm_g, m->norm_b,
                     c->layer_norm_eps};
    mhv_nn_norm(nn, xb, x, &post, n, H);
    mhv_nn_linear(nn, k, xb, &m->pool_k, m->pool_kb, n, MHV_NN_NO_ACT);
    if (m->pool_q.data)
        mhv_nn_linear(nn, q, m->pool_probe, &m->pool_q, m->pool_qb, 1, MHV_NN_NO_ACT);
    else /* AIMv2: the probe is the query */
        memcpy(q, m->pool_probe, (size_t)H * sizeof *q);
    double scale = 1.0 / sqrt((double)d);
    for (int h = 0; h < c->num_heads; h++) {
        float *p = pool + (size_t)h * (size_t)n;
        double top = -INFINITY, sum = 0;
        for (int j = 0; j < n; j++) {
            const float *kj = k + (size_t)j * (size_t)H + (size_t)h * (size_t)d;
            double s = 0;
            for (int i = 0; i < d; i++)
                s += (double)q[h * d + i] * kj[i];
            p[j] = (float)(s * scale);
            top = p[j] > top ? p[j] : top;
        }
        for (int j = 0; j < n; j++)
            sum += exp((double)p[j] - top);
        for (int j = 0; j < n; j++)
            p[j] = (float)(exp((double)p[j] - top) / sum);
    }
}

/* BEiT's relative position bias over a rows x cols patch grid after [CLS]: table (D, heads),
 * D = (2 rows - 1)(2 cols - 1) + 3, indexed as transformers' generate_relative_position_index
 * indexes it: patch to patch by (row difference + rows - 1) * (2 cols - 1) + column
 * difference + cols - 1, [CLS] to a patch D - 3, a patch to [CLS] D - 2, [CLS] to itself
 * D - 1. */
typedef struct {
    const float *table;
    int heads, rows, cols;
} vis_rel_ctx;

static void vis_rel_bias(const void *ctx, int h, const float *q, size_t ld_q, const float *k,
                         size_t ld_k, int n, float *b)
{
    (void)q, (void)ld_q, (void)k, (void)ld_k;
    const vis_rel_ctx *r = ctx;
    int C = r->cols, W = 2 * C - 1, D = (2 * r->rows - 1) * W + 3;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int d = D - 2; /* a patch to [CLS] */
            if (i == 0)
                d = j == 0 ? D - 1 : D - 3;
            else if (j > 0)
                d = ((i - 1) / C - (j - 1) / C + r->rows - 1) * W + (i - 1) % C - (j - 1) % C +
                    C - 1;
            b[(size_t)i * (size_t)n + (size_t)j] = r->table[(size_t)d * (size_t)r->heads +
                                                            (size_t)h];
        }
}

/* out(D, heads) += t, a table of the model's side x side grid ((2 side - 1)^2 + 3 rows)
 * resized to rows x cols as transformers' BeitRelativePositionBias does: the distances as a
 * (2 side - 1)^2 grid resized bilinearly (align_corners=False) to (2 rows - 1) x
 * (2 cols - 1), the three [CLS] rows kept; the model's own grid as it is. In double. */
static mhv_status rel_table_add(const mhv_model *m, const mhv_mat *t, int rows, int cols,
                                double *out, mhv_error *err)
{
    int side = m->cfg.image_size / m->cfg.patch_size, heads = t->cols;
    int ws = 2 * side - 1, wr = 2 * rows - 1, wc = 2 * cols - 1;
    size_t ns = (size_t)ws * (size_t)ws, nr = (size_t)wr * (size_t)wc, HH = (size_t)heads;
    double *in = malloc((ns + 3) * HH * sizeof *in), *grid = malloc(nr * HH * sizeof *grid);
    float *row = malloc(HH * sizeof *row);
    mhv_status st = MHV_OK;
    if (!in || !grid || !row) {
        st = mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory resizing the position bias");
        goto done;
    }
    for (size_t r = 0; r < ns + 3; r++) {
        mhv_mat_row(t, (int)r, row);
        for (size_t h = 0; h < HH; h++)
            in[r * HH + h] = row[h];
    }
    if (rows == side && cols == side)
        memcpy(grid, in, nr * HH * sizeof *grid);
    else if ((st = mhv_interp_grid(MHV_INTERP_BILINEAR, in, ws, ws, heads, grid, wr, wc, err)))
        goto done;
    for (size_t i = 0; i < nr * HH; i++)
        out[i] += grid[i];
    for (size_t i = 0; i < 3 * HH; i++)
        out[nr * HH + i] += in[ns * HH + i];
done:
    free(in), free(grid), free(row);
    return st;
}

/* table(D, heads): layer l's relative position bias for a rows x cols grid, its own table
 * plus the shared one (those the model has), summed in double. */
static mhv_status rel_table(const mhv_model *m, const mhv_layer *ly, int rows, int cols,
                            float *table, mhv_error *err)
{
    size_t D = (size_t)(2 * rows - 1) * (size_t)(2 * cols - 1) + 3;
    size_t count = D * (size_t)m->cfg.num_heads;
    double *sum = calloc(count, sizeof *sum);
    mhv_status st = MHV_OK;
    if (!sum)
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory for the position bias");
    if (ly->rel_bias.data)
        st = rel_table_add(m, &ly->rel_bias, rows, cols, sum, err);
    if (!st && m->shared_rel_bias.data)
        st = rel_table_add(m, &m->shared_rel_bias, rows, cols, sum, err);
    for (size_t i = 0; !st && i < count; i++)
        table[i] = (float)sum[i];
    free(sum);
    return st;
}

/* cos_t, sin_t (n, d/2): DINOv3's 2-D rotary table over a rows x cols patch grid after E
 * tokens, in fp32 as transformers' DINOv3ViTRopePositionEmbedding builds it: patch centres
 * y, x = 2 (i + 0.5) / side - 1, inverse frequencies 1 / theta^(4j/d) (j < d/4), angles
 * 2π y f_j then 2π x f_j; the tokens before the patches are not turned (cos 1, sin 0: the
 * rotation leaves them exactly as they are). */
static void vision_rope_table(const mhv_config *c, int n, int rows, int cols, float *cos_t,
                              float *sin_t)
{
    int d = c->head_dim, half = d / 2, quarter = d / 4, E = c->vision_extra;
    float inv[MHV_MAX_ROPE_PAIRS];
    const float two_pi = (float)(2 * 3.14159265358979323846);
    for (int j = 0; j < quarter && j < MHV_MAX_ROPE_PAIRS; j++) {
        float e = (float)(j * (4.0 / d)); /* torch.arange(0, 1, 4 / d) */
        inv[j] = 1.0f / (float)pow((double)(float)c->rope.theta, (double)e);
    }
    for (int i = 0; i < n; i++) {
        float *cr = cos_t + (size_t)i * (size_t)half, *sr = sin_t + (size_t)i * (size_t)half;
        if (i < E) {
            for (int j = 0; j < half; j++)
                cr[j] = 1, sr[j] = 0;
            continue;
        }
        int p = i - E;
        float y = 2.0f * ((float)(p / cols + 0.5) / (float)rows) - 1.0f;
        float x = 2.0f * ((float)(p % cols + 0.5) / (float)cols) - 1.0f;
        for (int j = 0; j < half; j++) {
            float a = (two_pi * (j < quarter ? y : x)) * inv[j % quarter];
            cr[j] = (float)cos((double)a), sr[j] = (float)sin((double)a);
        }
    }
}

/* grid(rows * cols, H): AIMv2's native 2-D sine-cosine positions as transformers builds them
 * (build_2d_sinusoidal_position_embedding, in double, then fp32): per patch (r, c), with
 * f_j = 1 / 10000^(j / (H/4)), [sin(c f) | cos(c f) | sin(r f) | cos(r f)] (the width's
 * half first, as AIMv2 was trained). H % 4 == 0. */
static void vision_sincos_table(int H, int rows, int cols, float *grid)
{
    int q = H / 4;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            float *g = grid + ((size_t)r * (size_t)cols + (size_t)c) * (size_t)H;
            for (int j = 0; j < q; j++) {
                double f = 1.0 / pow(10000.0, (double)j / q);
                double aw = c * f, ah = r * f;
                g[j] = (float)sin(aw), g[q + j] = (float)cos(aw);
                g[2 * q + j] = (float)sin(ah), g[3 * q + j] = (float)cos(ah);
            }
        }
}

mhv_status mhv_vision_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                              mhv_capture *cap, float *logits, mhv_error *err)
{
    (void)ids;
    const mhv_config *c = &m->cfg;
    if (logits)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "logits need a decoder model, not %s",
                        c->arch);
    if (nn->pool_attn && !m->pool_probe)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "%s has no attention-pooling head",
                        c->arch);
    int H = c->hidden_size, I = c->intermediate_size, E = c->vision_extra;
    int K = c->num_channels * c->patch_size * c->patch_size, np = n - E;
    /* no size: a measuring pass (mhv_forward_estimate), the model's own */
    int ih = nn->image_h ? nn->image_h : c->image_size;
    int iw = nn->image_w ? nn->image_w : c->image_size;
    int side = c->image_size / c->patch_size, P = c->patch_size;
    int rows = ih / P, cols = iw / P;
    if (c->spectrogram) { /* AST: its fixed grid of strided patches over the features */
        rows = side = (c->spec_mels - P) / c->spec_fstride + 1;
        cols = (c->spec_frames - P) / c->spec_tstride + 1;
    }
    if (rows * cols != np)
        return mhv_fail(err, MHV_EUSAGE, m->dir, "%d tokens for a %dx%d patch grid", n, rows,
                        cols);
    int resized = !c->spectrogram && (rows != side || cols != side);
    size_t nh = (size_t)n * (size_t)H;
    float *x, *xb, *q, *k, *v, *ctx, *tmp; /* (n, H) each */
    float *ffn, *up;                       /* (n, I) each; up: SwiGLU's */
    float *patches;                        /* (patches, C*P*P) */
    float *grid_pos;                       /* (patches, H) resized positions, or unused */
    float *rel;                            /* (D, heads) BEiT's bias table, or unused */
    float *rcos, *rsin;                    /* (n, d/2) DINOv3's rotary table, or unused */
    size_t rel_n = (size_t)(2 * rows - 1) * (size_t)(2 * cols - 1) + 3;
    const mhv_nn_buf bufs[] = {{&x, nh},  {&xb, nh},  {&q, nh},   {&k, nh},
                               {&v, nh},  {&ctx, nh}, {&tmp, nh}, {&ffn, (size_t)n * (size_t)I},
                               {&up, c->gated_ffn ? (size_t)n * (size_t)I : 1},
                               {&patches, (size_t)np * (size_t)K},
                               {&grid_pos, resized || c->vision_sincos2d ? (size_t)np * (size_t)H : 1},
                               {&rel, c->vision_rel_bias ? rel_n * (size_t)c->num_heads : 1},
                               {&rcos, c->vision_rope2d ? (size_t)n * (size_t)(c->head_dim / 2) : 1},
                               {&rsin, c->vision_rope2d ? (size_t)n * (size_t)(c->head_dim / 2) : 1}};
    int widest = I > H ? I : H;
    mhv_nn_shape shape = {n, H, K > widest ? K : widest, c->head_dim};
    mhv_status st = mhv_nn_begin(nn, &shape, bufs, (int)(sizeof bufs / sizeof bufs[0]), err);
    if (st)
        return st;
    if (c->spectrogram && !nn->audio)
        return mhv_fail(err, MHV_EUSAGE, "", "%s takes a waveform, not token ids", c->arch);
    if (resized && m->pos_emb.data && (st = resize_positions(m, rows, cols, grid_pos, err)))
        return st;
    if (c->vision_rel_bias && (st = mhv_nn_reserve_bias(nn, n, err)))
        return st;
    vis_rel_ctx rc = {rel, c->num_heads, rows, cols};
    mhv_rotary rot = {rcos, rsin, c->head_dim / 2, 0, n};
    if (c->vision_rope2d)
        vision_rope_table(c, n, rows, cols, rcos, rsin);

    if (c->vision_sincos2d)
        vision_sincos_table(H, rows, cols, grid_pos);
    vision_embed(nn, m, n, x, patches,
                 (resized && m->pos_emb.data) || c->vision_sincos2d ? grid_pos : NULL, tmp);
    if (m->emb_ln_g) { /* CLIP's pre-LayerNorm */
        mhv_norm pre = {MHV_NORM_LAYER, m->emb_ln_g, m->emb_ln_b, c->layer_norm_eps};
        mhv_nn_norm(nn, x, x, &pre, n, H);
    }
    if (nn->hidden_out)
        nn->hidden_out(nn->hidden_ctx, 0, x, n, H);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_norm_kind kind = c->vision_rms ? MHV_NORM_RMS : MHV_NORM_LAYER;
        mhv_norm ln1 = {kind, ly->ln_attn_g, ly->ln_attn_b, c->layer_norm_eps};
        mhv_norm ln2 = {kind, ly->ln_ffn_g, ly->ln_ffn_b, c->layer_norm_eps};
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        if (c->vision_rel_bias) { /* BEiT: the shared table needs no rebuild, but is small */
            if ((st = rel_table(m, ly, rows, cols, rel, err)))
                return st;
            attn.bias = vis_rel_bias, attn.bias_ctx = &rc;
        }
        if (c->vision_rope2d)
            attn.rope = &rot;
        mhv_nn_norm(nn, xb, x, &ln1, n, H);
        mhv_nn_attention(nn, &attn, xb, n, l,
                         &(mhv_attn_bufs){.q = q, .k = k, .v = v, .ctx = ctx}, cap);
        if (mhv_capture_done(cap, l))
            break;
        mhv_nn_linear(nn, tmp, ctx, &ly->o, ly->o_b, n, MHV_NN_NO_ACT);
        if (ly->scale_attn)
            mhv_nn_scale(nn, tmp, ly->scale_attn, n, H);
        mhv_nn_add(nn, x, tmp, n, H);
        mhv_nn_norm(nn, xb, x, &ln2, n, H);
        if (ly->ffn_gate.data) { /* DINOv2's SwiGLU: silu(gate) * up; DINOv3's: act(gate) */
            mhv_nn_linear(nn, ffn, xb, &ly->ffn_gate, ly->ffn_gate_b, n,
                          c->vision_gate_act ? (int)c->act : MHV_ACT_SILU);
            mhv_nn_linear(nn, up, xb, &ly->ffn_up, ly->ffn_up_b, n, MHV_NN_NO_ACT);
            mhv_nn_mul(nn, ffn, up, n, I);
        } else {
            mhv_nn_linear(nn, ffn, xb, &ly->ffn_up, ly->ffn_up_b, n, (int)c->act);
        }
        mhv_nn_linear(nn, tmp, ffn, &ly->ffn_down, ly->ffn_down_b, n, MHV_NN_NO_ACT);
        if (ly->scale_ffn)
            mhv_nn_scale(nn, tmp, ly->scale_ffn, n, H);
        mhv_nn_add(nn, x, tmp, n, H);
        if (nn->hidden_out)
            nn->hidden_out(nn->hidden_ctx, l + 1, x, n, H);
    }
    if (nn->pool_attn)
        pool_attention(nn, m, x, n, xb, k, q, nn->pool_attn);
    return MHV_OK;
}

mhv_status mhv_layer_load_mlm_head(mhv_model *m, mhv_wload *ld, const mhv_mlm_names *nm,
                                   int act, mhv_error *err)
{
    int H = m->cfg.hidden_size, V = m->cfg.vocab_size, opt = MHV_W_BARE;
    mhv_status st = mhv_wload_mat(ld, nm->dense, H, H, opt | MHV_W_OPTIONAL, &m->mlm_dense, err);
    if (st || !m->mlm_dense.data)
        return st;
    if ((st = mhv_wload_vec(ld, nm->dense_b, H, opt, &m->mlm_dense_b, err)) ||
        (st = mhv_wload_vec(ld, nm->ln_g, H, opt, &m->mlm_ln_g, err)) ||
        (st = mhv_wload_vec(ld, nm->ln_b, H, opt, &m->mlm_ln_b, err)) ||
        (st = mhv_wload_vec(ld, nm->bias, V, nm->bias_alt ? opt | MHV_W_OPTIONAL : opt,
                            &m->mlm_bias, err)) ||
        (!m->mlm_bias && (st = mhv_wload_vec(ld, nm->bias_alt, V, opt, &m->mlm_bias, err))) ||
        (st = mhv_wload_mat(ld, nm->decoder, V, H, opt | MHV_W_OPTIONAL, &m->mlm_decoder, err)))
        return st;
    if (!m->mlm_decoder.data)
        m->mlm_decoder = m->word_emb; /* tied */
    m->mlm_act = act;
    return MHV_OK;
}

void mhv_layer_mlm_head(mhv_nn *nn, const mhv_model *m, const float *x, float *tmp, float *norm,
                        float *logits, int n)
{
    mhv_norm ln = mhv_nn_layernorm(m->mlm_ln_g, m->mlm_ln_b, m->cfg.layer_norm_eps);
    mhv_nn_linear(nn, tmp, x, &m->mlm_dense, m->mlm_dense_b, n, m->mlm_act);
    mhv_nn_norm(nn, norm, tmp, &ln, n, m->cfg.hidden_size);
    mhv_nn_linear(nn, logits, norm, &m->mlm_decoder, m->mlm_bias, n, MHV_NN_NO_ACT);
}

/* ---- pre-norm decoder layers ---- */

mhv_status mhv_decoder_begin(mhv_nn *nn, const mhv_decoder *dec, const mhv_config *c, int n,
                             const mhv_decoder_scratch *s, mhv_decoder_pass *p,
                             mhv_error *err)
{
    int H = c->hidden_size, I = c->intermediate_size, d = c->head_dim;
    int QD = c->num_heads * d, KVD = c->num_kv_heads * d;
    size_t N = (size_t)n, half = (size_t)s->rope_half;
    int parallel = dec->residual == MHV_RESIDUAL_PARALLEL ||
                   dec->residual == MHV_RESIDUAL_PARALLEL_ONE_NORM;
    int gated = dec->mlp == MHV_MLP_GATED;
    memset(p, 0, sizeof *p);
    p->n = n, p->rope_half = s->rope_half;
    p->rope_rows = mhv_nn_past(nn) + n;
    mhv_nn_buf bufs[15 + MHV_DECODER_EXTRA] = {
        {&p->x, N * (size_t)H},
        {&p->xb, N * (size_t)H},
        {&p->attn.q, N * (size_t)QD},
        {&p->attn.k, N * (size_t)KVD},
        {&p->attn.v, N * (size_t)KVD},
        {&p->attn.ctx, N * (size_t)QD},
        {&p->tmp, N * (size_t)H},
        {&p->ffn, N * (size_t)I},
    };
    int count = 8;
    if (s->qkv_rows)
        bufs[count++] = (mhv_nn_buf){&p->attn.qkv, N * (size_t)s->qkv_rows};
    if (parallel)
        bufs[count++] = (mhv_nn_buf){&p->mlp, N * (size_t)H};
    if (gated)
        bufs[count++] = (mhv_nn_buf){&p->up, N * (size_t)I};
    if (dec->moe)
        bufs[count++] = (mhv_nn_buf){&p->moe, mhv_nn_moe_floats(dec->moe, n, H)};
    if (half) {
        bufs[count++] = (mhv_nn_buf){&p->cos_t, (size_t)p->rope_rows * half};
        bufs[count++] = (mhv_nn_buf){&p->sin_t, (size_t)p->rope_rows * half};
        bufs[count++] = (mhv_nn_buf){&p->inv_freq, half};
    }
    for (int i = 0; i < MHV_DECODER_EXTRA && s->extra[i].ptr; i++)
        bufs[count++] = s->extra[i];
    /* the widest input of a linear layer: x, the MLP's hidden layer, ctx, the experts',
     * OPT's embeddings */
    int width = s->embed_width > H ? s->embed_width : H, widest = width;
    int ins[] = {I, QD, dec->moe ? dec->moe->inter : 0, dec->moe ? dec->moe->s_inter : 0};
    for (size_t i = 0; i < sizeof ins / sizeof ins[0]; i++)
        widest = ins[i] > widest ? ins[i] : widest;
    mhv_nn_shape shape = {n, width, widest, d};
    return mhv_nn_begin(nn, &shape, bufs, count, err);
}

mhv_rotary mhv_decoder_rope(const mhv_decoder_pass *p, const mhv_rope *r, int dims,
                            int interleaved)
{
    if (p->rope_half) {
        mhv_rope_inv_freq(r, dims, p->inv_freq);
        mhv_rope_table(p->inv_freq, p->rope_half, p->rope_rows, p->cos_t, p->sin_t);
        mhv_rope_table_scale(r, (size_t)p->rope_rows * (size_t)p->rope_half, p->cos_t,
                             p->sin_t);
    }
    return (mhv_rotary){p->cos_t, p->sin_t, p->rope_half, interleaved, p->rope_rows};
}

/* out(n, H) = the MLP of ly (its mixture of experts when it has a router) over in(n, H),
 * then its post-norm when it has one. */
static void decoder_mlp(mhv_nn *nn, const mhv_decoder *dec, const mhv_config *c,
                        const mhv_layer *ly, const float *in, float *out,
                        const mhv_decoder_pass *p)
{
    int n = p->n, H = c->hidden_size, I = c->intermediate_size;
    if (dec->moe && ly->router.data) {
        mhv_moe moe = *dec->moe;
        moe.router = &ly->router;
        moe.gate = ly->exp_gate, moe.up = ly->exp_up, moe.down = ly->exp_down;
        /* a shared expert gated by shared_gate (Qwen2-MoE), or ungated (GraniteMoeShared) */
        int shared = ly->shared_gate.data || (moe.s_ungated && ly->ffn_gate.data);
        moe.s_gate = shared ? &ly->ffn_gate : NULL;
        moe.choice_bias = ly->router_choice_b;
        moe.s_gate_b = ly->ffn_gate_b, moe.s_up_b = ly->ffn_up_b, moe.s_down_b = ly->ffn_down_b;
        moe.s_up = &ly->ffn_up, moe.s_down = &ly->ffn_down, moe.s_router = &ly->shared_gate;
        mhv_nn_moe(nn, out, in, &moe, n, H, p->moe);
    } else if (dec->mlp == MHV_MLP_GATED) {
        const mhv_plin_part gate_up[2] = {
            {p->ffn, &ly->ffn_gate, ly->ffn_gate_b, 0, I, (int)c->act},
            {p->up, &ly->ffn_up, ly->ffn_up_b, 0, I, MHV_NN_NO_ACT},
        };
        mhv_nn_linear_parts(nn, gate_up, 2, in, n);
        mhv_nn_mul(nn, p->ffn, p->up, n, I);
        mhv_nn_linear(nn, out, p->ffn, &ly->ffn_down, ly->ffn_down_b, n, MHV_NN_NO_ACT);
    } else if (ly->xielu) { /* Apertus: an activation with the layer's own parameters */
        mhv_nn_linear(nn, p->ffn, in, &ly->ffn_up, ly->ffn_up_b, n, MHV_NN_NO_ACT);
        mhv_nn_xielu(nn, p->ffn, ly->xielu, n, I);
        mhv_nn_linear(nn, out, p->ffn, &ly->ffn_down, ly->ffn_down_b, n, MHV_NN_NO_ACT);
    } else {
        mhv_nn_linear(nn, p->ffn, in, &ly->ffn_up, ly->ffn_up_b, n, (int)c->act);
        mhv_nn_linear(nn, out, p->ffn, &ly->ffn_down, ly->ffn_down_b, n, MHV_NN_NO_ACT);
    }
    if (ly->post_ffn_g) {
        mhv_norm post = {dec->norm, ly->post_ffn_g, NULL, c->layer_norm_eps};
        mhv_nn_norm(nn, out, out, &post, n, H);
    }
}

/* x(n, H) += out, times c's residual scale when it has one. */
static void residual_add(mhv_nn *nn, const mhv_config *c, float *x, const float *out, int n,
                         int H)
{
    if (c->residual_scale > 0)
        mhv_nn_add_scaled(nn, x, out, (float)c->residual_scale, n, H);
    else
        mhv_nn_add(nn, x, out, n, H);
}

/* ctx(n, heads * d) -> (n, heads * v) in place: the first v columns of each head, in order
 * (every destination lies at or before its source) */
static void pack_ctx(float *ctx, int n, int heads, int d, int v)
{
    for (size_t i = 0; i < (size_t)n; i++)
        for (size_t h = 0; h < (size_t)heads; h++)
            memmove(ctx + (i * (size_t)heads + h) * (size_t)v,
                    ctx + (i * (size_t)heads + h) * (size_t)d, (size_t)v * sizeof *ctx);
}

int mhv_layer_pre_norm(mhv_nn *nn, const mhv_decoder *dec, const mhv_config *c,
                       const mhv_layer *ly, const mhv_attn_layer *attn, int l,
                       const mhv_decoder_pass *p, mhv_capture *cap)
{
    int n = p->n, H = c->hidden_size;
    float *x = p->x, *xb = p->xb, *tmp = p->tmp;
    mhv_norm ln1 = {dec->norm, ly->ln_attn_g, ly->ln_attn_b, c->layer_norm_eps};
    mhv_norm ln2 = {dec->norm, ly->ln_ffn_g, ly->ln_ffn_b, c->layer_norm_eps};
    const float *in = x;
    if (ly->ln_attn_g)
        mhv_nn_norm(nn, xb, x, &ln1, n, H), in = xb;
    mhv_nn_attention(nn, attn, in, n, l, &p->attn, cap);
    if (mhv_capture_done(cap, l))
        return 1;
    if (attn->ctx_v_dim > 0 && attn->ctx_v_dim < attn->head_dim) /* MLA: values narrower */
        pack_ctx(p->attn.ctx, n, attn->heads, attn->head_dim, attn->ctx_v_dim);
    mhv_nn_linear(nn, tmp, p->attn.ctx, &ly->o, ly->o_b, n, MHV_NN_NO_ACT);
    if (ly->post_attn_g) {
        mhv_norm post = {dec->norm, ly->post_attn_g, NULL, c->layer_norm_eps};
        mhv_nn_norm(nn, tmp, tmp, &post, n, H);
    }
    switch (dec->residual) {
    case MHV_RESIDUAL_SEQUENTIAL:
        residual_add(nn, c, x, tmp, n, H);
        in = x;
        if (ly->ln_ffn_g)
            mhv_nn_norm(nn, xb, x, &ln2, n, H), in = xb;
        decoder_mlp(nn, dec, c, ly, in, tmp, p);
        residual_add(nn, c, x, tmp, n, H);
        break;
    case MHV_RESIDUAL_PARALLEL_IN_ORDER: /* xb still holds ln1(x) of the layer's input */
        mhv_nn_add(nn, x, tmp, n, H);
        decoder_mlp(nn, dec, c, ly, in, tmp, p);
        mhv_nn_add(nn, x, tmp, n, H);
        break;
    case MHV_RESIDUAL_NORMED: /* the stream goes on from xb, then from x = ln2(xb) */
        mhv_nn_add(nn, xb, tmp, n, H);
        mhv_nn_norm(nn, x, xb, &ln2, n, H);
        decoder_mlp(nn, dec, c, ly, x, tmp, p);
        mhv_nn_add(nn, x, tmp, n, H);
        break;
    case MHV_RESIDUAL_PARALLEL:
        mhv_nn_norm(nn, xb, x, &ln2, n, H);
        in = xb;
        /* fall through */
    case MHV_RESIDUAL_PARALLEL_ONE_NORM:
        decoder_mlp(nn, dec, c, ly, in, p->mlp, p);
        mhv_nn_add(nn, p->mlp, tmp, n, H); /* x + (mlp + attn), as transformers sums */
        mhv_nn_add(nn, x, p->mlp, n, H);
        break;
    }
    return 0;
}

mhv_status mhv_decoder_experts_fit(const mhv_model *m, const mhv_wload *ld, int moe_layers,
                                   uint64_t expert_elems, mhv_error *err)
{
    uint64_t need;
    if (__builtin_mul_overflow((uint64_t)moe_layers * (uint64_t)m->cfg.num_experts,
                               expert_elems, &need) ||
        need > mhv_st_file_bytes(ld->st) / 2)
        return mhv_fail(err, MHV_EFORMAT, ld->ckpt_name,
                        "checkpoint is too small for %d experts in each of %d layers (config.json)",
                        m->cfg.num_experts, moe_layers);
    return MHV_OK;
}

mhv_status mhv_decoder_load_experts(mhv_model *m, mhv_wload *ld, int l, const char *block,
                                    const char *const names[3], int inter, int moe_layers,
                                    mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    mhv_layer *ly = &m->layers[l];
    int H = c->hidden_size, E = c->num_experts;
    mhv_status st;
    if (!m->experts) {
        /* every expert matrix is a tensor of the checkpoint: no more views than those */
        size_t views = (size_t)moe_layers * (size_t)E * 3;
        if (views > mhv_st_count(m->st))
            return mhv_fail(err, MHV_EFORMAT, m->dir,
                            "the checkpoint has fewer tensors than %d experts need", E);
        if ((st = mhv_decoder_experts_fit(m, ld, moe_layers, 3 * (uint64_t)H * (uint64_t)inter,
                                          err)))
            return st;
        if (!(m->experts = calloc(views, sizeof *m->experts)))
            return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory");
    }
    /* the MoE layers take their views in order: this one's place is the count of routers
     * loaded before it */
    size_t at = 0;
    for (int k = 0; k < l; k++)
        at += m->layers[k].router.data != NULL;
    if (at >= (size_t)moe_layers) /* a guard: the callers count their MoE layers */
        return mhv_fail(err, MHV_EFORMAT, m->dir, "more MoE layers than the config counts");
    mhv_mat *g = m->experts + at * (size_t)E * 3, *u = g + E, *d = u + E;
    ly->exp_gate = g, ly->exp_up = u, ly->exp_down = d;
    char n[200];
    snprintf(n, sizeof n, "layers.%d.%s.gate.weight", l, block);
    st = mhv_wload_mat(ld, n, E, H, 0, &ly->router, err);
    for (int e = 0; e < E && !st; e++) {
        mhv_mat *dst[3] = {&g[e], &u[e], &d[e]};
        for (int t = 0; t < 3 && !st; t++) {
            snprintf(n, sizeof n, "layers.%d.%s.experts.%d.%s.weight", l, block, e, names[t]);
            st = mhv_wload_mat(ld, n, t == 2 ? H : inter, t == 2 ? inter : H, 0, dst[t], err);
        }
    }
    return st;
}

mhv_status mhv_decoder_load_attn_proj(mhv_wload *ld, int l, int hidden, int qd, int kvd,
                                      int bias, mhv_layer *ly, mhv_error *err)
{
    char n[160];
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.self_attn.%s", l, suffix), n)
    mhv_status st;
    if ((st = mhv_wload_mat(ld, N("q_proj.weight"), qd, hidden, 0, &ly->q, err)) ||
        (st = mhv_wload_mat(ld, N("k_proj.weight"), kvd, hidden, 0, &ly->k, err)) ||
        (st = mhv_wload_mat(ld, N("v_proj.weight"), kvd, hidden, 0, &ly->v, err)) ||
        (st = mhv_wload_mat(ld, N("o_proj.weight"), hidden, qd, 0, &ly->o, err)))
        return st;
    if (bias &&
        ((st = mhv_wload_vec(ld, N("q_proj.bias"), qd, 0, &ly->q_b, err)) ||
         (st = mhv_wload_vec(ld, N("k_proj.bias"), kvd, 0, &ly->k_b, err)) ||
         (st = mhv_wload_vec(ld, N("v_proj.bias"), kvd, 0, &ly->v_b, err)) ||
         (st = mhv_wload_vec(ld, N("o_proj.bias"), hidden, 0, &ly->o_b, err))))
        return st;
#undef N
    return MHV_OK;
}

mhv_status mhv_decoder_load_lm_head(mhv_model *m, mhv_wload *ld, const char *name,
                                    const char *bias, mhv_error *err)
{
    int V = m->cfg.vocab_size, flags = MHV_W_BARE | MHV_W_OPTIONAL;
    mhv_status st;
    if (bias && (st = mhv_wload_vec(ld, bias, V, flags, &m->lm_head_b, err)))
        return st;
    if (m->cfg.tie_word_embeddings)
        m->lm_head = m->word_emb;
    else if ((st = mhv_wload_mat(ld, name, V, m->word_emb.cols, flags, &m->lm_head, err)))
        return st;
    if (bias && m->lm_head.data && !m->lm_head_b)
        return mhv_fail(err, MHV_EFORMAT, ld->ckpt_name, "missing tensor '%s'", bias);
    return MHV_OK;
}

int mhv_decoder_logits(mhv_nn *nn, const mhv_decoder *dec, const mhv_model *m, float *x,
                       int n, float *logits)
{
    const mhv_config *c = &m->cfg;
    int lr = mhv_nn_logit_rows(nn, n); /* the last lr positions */
    float *xl = x + (size_t)(n - lr) * (size_t)c->hidden_size;
    mhv_norm norm = {dec->norm, m->norm_g, m->norm_b, c->layer_norm_eps};
    mhv_nn_norm(nn, xl, xl, &norm, lr, c->hidden_size);
    mhv_nn_linear(nn, logits, xl, &m->lm_head, m->lm_head_b, lr, MHV_NN_NO_ACT);
    if (c->logits_div > 0)
        mhv_nn_div_scalar(nn, logits, (float)c->logits_div, lr, c->vocab_size);
    if (c->logits_mul > 0)
        mhv_nn_mul_scalar(nn, logits, (float)c->logits_mul, lr, c->vocab_size);
    return lr;
}

mhv_status mhv_layer_load_mat2(mhv_wload *ld, const char *const names[2], int rows, int cols,
                               mhv_mat *m, mhv_error *err)
{
    mhv_status st = mhv_wload_mat(ld, names[0], rows, cols, MHV_W_OPTIONAL, m, err);
    return st || m->data ? st : mhv_wload_mat(ld, names[1], rows, cols, 0, m, err);
}

mhv_status mhv_layer_load_vec2(mhv_wload *ld, const char *const names[2], int len, float **v,
                               mhv_error *err)
{
    mhv_status st = mhv_wload_vec(ld, names[0], len, MHV_W_OPTIONAL, v, err);
    return st || *v ? st : mhv_wload_vec(ld, names[1], len, 0, v, err);
}

/* The one of names[0], names[1] under which name.weight exists (1 when neither). */
static int which_name(mhv_wload *ld, const char *const names[2])
{
    char w[256];
    snprintf(w, sizeof w, "%s%s.weight", ld->prefix, names[0]);
    return mhv_st_find(ld->st, w) ? 0 : 1;
}

mhv_status mhv_layer_load_linear2(mhv_wload *ld, const char *const names[2], int rows,
                                  int cols, int bias, mhv_mat *w, float **b, mhv_error *err)
{
    const char *name = names[which_name(ld, names)];
    char wn[256], bn[256];
    snprintf(wn, sizeof wn, "%s.weight", name), snprintf(bn, sizeof bn, "%s.bias", name);
    mhv_status st = mhv_wload_mat(ld, wn, rows, cols, 0, w, err);
    return st || !bias ? st : mhv_wload_vec(ld, bn, rows, 0, b, err);
}

mhv_status mhv_layer_load_norm2(mhv_wload *ld, const char *const names[2], int len, float **g,
                                float **b, mhv_error *err)
{
    const char *name = names[which_name(ld, names)];
    char gn[256], bn[256];
    snprintf(gn, sizeof gn, "%s.weight", name), snprintf(bn, sizeof bn, "%s.bias", name);
    mhv_status st = mhv_wload_vec(ld, gn, len, 0, g, err);
    return st ? st : mhv_wload_vec(ld, bn, len, 0, b, err);
}
