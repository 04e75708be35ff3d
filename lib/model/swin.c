/* swin.c - Swin Transformer (SwinModel, SwinForImageClassification), Swin V2 and DonutSwin
 * (below): hierarchical vision transformers. The image, padded with zeros to whole patches,
 * is cut into patch_size^2 patches projected to embed_dim channels and LayerNormed (no
 * [CLS], no positions); stage s
 * runs depths[s] pre-norm layers over its grid with num_heads[s] heads, then (but the last)
 * merges each 2x2 block of tokens into one of twice the channels (the grid padded to even
 * sides first): LN(4C) and a linear layer to 2C without bias.
 *
 *   per layer: x += o(window_attn(ln_before(x)));  x += fc2(gelu(fc1(ln_after(x))))
 * window_attn: the grid padded with zeros to whole windows of w x w tokens (w = window_size;
 * a grid whose smaller side is <= w takes one window of that side and no shift), rolled
 * up-left by w/2 in every odd layer, cut into windows; each token attends to those of its
 * window: scores q.k / sqrt(d) + the window's relative position bias ((2w-1)^2 distances,
 * per head) + -100 between tokens from different regions of the rolled grid (shifted
 * layers), softmax.
 *
 * The maps: transformers' output_attentions gives each window's (w^2, w^2) probabilities in
 * the rolled, padded grid. mhaviz writes each head as one (N, N) map over the stage's own
 * grid of N = rows x cols tokens in the image's order (row by row, unrolled): query i's row
 * holds its weights on the keys of its window and zeros elsewhere. The padding tokens a
 * window reaching past the grid holds are keys too (transformers does not mask them): their
 * weight is left out, so such rows sum to less than 1.
 * Weights under transformers 5's names (encoder.layers.S.blocks.B.attention.q_proj ...) and
 * the hub's (attention.self.query, intermediate.dense ...), bare or under "swin.".
 *
 * Swin V2 (Swinv2Model, Swinv2ForImageClassification; "swinv2." and the hub's names) differs:
 *   per layer: x += ln_before(o(window_attn(x)));  x += ln_after(fc2(gelu(fc1(x))))
 * window_attn's scores are cosines, normalize(q).normalize(k) * exp(min(logit_scale,
 * log 100)) per head, plus 16 sigmoid(cpb) where cpb, per head, is an MLP (2 -> 512, ReLU,
 * -> heads) of the window's relative coordinates (divided by pretrained_window_size - 1,
 * else window - 1, times 8, then sign(c) log2(|c| + 1) / 3), plus twice the -100 mask
 * (transformers adds it twice); the key has no bias; windows and shifts come from the
 * config's grid (image_size / patch_size halved per stage: a window no larger than it, no
 * shift where it is not larger than the window), whatever the image's; patch merging
 * normalises after its reduction (LN(2C)).
 *
 * DonutSwin (donut-swin: DonutSwinModel, DonutSwinForImageClassification under "donut.", the
 * hub's names; Donut's encoder) is Swin without the final LayerNorm (the classifier reads the
 * mean of the last stage's tokens as they are), its scores q.k / sqrt(d) + bias, then + the
 * mask. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"swin", "swinv2", "donut-swin", NULL};

/* A list of ints in lo..hi under key, count of them in 1..MHV_MAX_SWIN_STAGES. */
static mhv_status stage_list(const cJSON *root, const char *key, const int *def, int ndef,
                             int lo, int hi, int *out, int *count, const char *name,
                             mhv_error *err)
{
    const cJSON *a = mhv_json_get(root, key);
    if (!a || cJSON_IsNull(a)) {
        memcpy(out, def, (size_t)ndef * sizeof *out);
        *count = ndef;
        return MHV_OK;
    }
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (n < 1 || n > MHV_MAX_SWIN_STAGES)
        return mhv_fail(err, MHV_EFORMAT, name, "%s is not a list of 1-%d integers", key,
                        MHV_MAX_SWIN_STAGES);
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(a, i);
        if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
            v->valuedouble < lo || v->valuedouble > hi)
            return mhv_fail(err, MHV_EFORMAT, name, "%s[%d] is not an integer in %d-%d", key, i,
                            lo, hi);
        out[i] = (int)v->valuedouble;
    }
    *count = n;
    return MHV_OK;
}

/* The channels of stage s, and its MLP's width (transformers: int(mlp_ratio * dim)). */
static int stage_dim(const mhv_config *c, int s)
{
    return c->swin_embed_dim << s;
}

static int stage_inter(const mhv_config *c, int s)
{
    return (int)(c->swin_mlp_ratio * stage_dim(c, s));
}

static mhv_status swin_config(const cJSON *root, mhv_config *c, const char *name, mhv_error *err)
{
    static const int depths_def[] = {2, 2, 6, 2}, heads_def[] = {3, 6, 12, 24};
    mhv_status st;
    double eps;
    int nd, nh, abs_pos, qkv_bias;
    if ((st = mhv_json_int(root, "image_size", 224, 1, 1 << 16, &c->image_size, name, err)) ||
        (st = mhv_json_int(root, "patch_size", 4, 1, 1 << 12, &c->patch_size, name, err)) ||
        (st = mhv_json_int(root, "num_channels", 3, 1, 16, &c->num_channels, name, err)) ||
        (st = mhv_json_int(root, "embed_dim", 96, 1, MHV_MAX_HIDDEN, &c->swin_embed_dim, name,
                           err)) ||
        (st = stage_list(root, "depths", depths_def, 4, 1, MHV_MAX_LAYERS, c->swin_depths, &nd,
                         name, err)) ||
        (st = stage_list(root, "num_heads", heads_def, 4, 1, MHV_MAX_HEADS, c->swin_heads, &nh,
                         name, err)) ||
        (st = mhv_json_int(root, "window_size", 7, 1, 1 << 10, &c->swin_window, name, err)) ||
        (st = mhv_json_num(root, "mlp_ratio", 4, 1e-3, 64, &c->swin_mlp_ratio, name, err)) ||
        (st = mhv_json_num(root, "layer_norm_eps", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_GELU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "qkv_bias", 1, &qkv_bias, name, err)) ||
        (st = mhv_json_bool(root, "use_absolute_embeddings", 0, &abs_pos, name, err)))
        return st;
    c->swin_v2 = strcmp(c->arch, "swinv2") == 0;
    c->swin_donut = strcmp(c->arch, "donut-swin") == 0;
    if (c->swin_v2) { /* transformers reads one entry per stage (0: the window's own) */
        static const int zeros[MHV_MAX_SWIN_STAGES] = {0};
        int np;
        if ((st = stage_list(root, "pretrained_window_sizes", zeros, nd, 0, 1 << 10,
                             c->swin_pretrained, &np, name, err)))
            return st;
        if (np < nd)
            return mhv_fail(err, MHV_EFORMAT, name, "pretrained_window_sizes has %d entries "
                            "for %d stages", np, nd);
    }
    if (abs_pos)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "use_absolute_embeddings is not supported for %s", c->arch);
    if (nd != nh)
        return mhv_fail(err, MHV_EFORMAT, name, "depths has %d stages, num_heads %d", nd, nh);
    if ((long)c->swin_embed_dim << (nd - 1) > MHV_MAX_HIDDEN)
        return mhv_fail(err, MHV_EFORMAT, name, "embed_dim * 2^%d is too large", nd - 1);
    const cJSON *labels = mhv_json_get(root, "id2label");
    c->swin_labels = labels && cJSON_IsObject(labels) ? cJSON_GetArraySize(labels) : 2;
    int layers = 0, most = 0;
    for (int s = 0; s < nd; s++) {
        int D = c->swin_embed_dim << s;
        if (D % c->swin_heads[s])
            return mhv_fail(err, MHV_EFORMAT, name, "stage %d's %d channels do not split into "
                            "its %d heads", s, D, c->swin_heads[s]);
        layers += c->swin_depths[s];
        most = c->swin_heads[s] > most ? c->swin_heads[s] : most;
    }
    c->swin_stages = nd;
    if (layers > MHV_MAX_LAYERS)
        return mhv_fail(err, MHV_EFORMAT, name, "depths add up to more than %d layers",
                        MHV_MAX_LAYERS);
    for (int s = 0; s < nd; s++)
        if (stage_inter(c, s) < 1 || stage_inter(c, s) > (1 << 24))
            return mhv_fail(err, MHV_EFORMAT, name, "mlp_ratio gives stage %d no MLP width", s);
    c->swin = 1;
    c->num_layers = layers;
    c->num_heads = most;
    c->num_kv_heads = most;
    c->head_dim = c->swin_embed_dim / c->swin_heads[0];
    c->hidden_size = c->swin_embed_dim << (nd - 1);
    c->intermediate_size = stage_inter(c, nd - 1);
    c->layer_norm_eps = (float)eps;
    c->attn_bias = qkv_bias;
    c->vision = 1;
    c->vision_extra = 0;
    c->vision_pos = MHV_VPOS_ALWAYS; /* any size: padded to whole patches and windows */
    long side = (c->image_size + c->patch_size - 1) / c->patch_size;
    if (side * side > MHV_MAX_POSITIONS) /* 65536 / 1 squared is past int */
        return mhv_fail(err, MHV_EFORMAT, name, "image_size / patch_size gives too many "
                        "patches (%ld x %ld)", side, side);
    c->max_positions = (int)(side * side);
    c->vocab_size = 1;
    return MHV_OK;
}

static size_t swin_vector_floats(const mhv_config *c)
{
    size_t total = 4 * (size_t)c->hidden_size + (size_t)c->swin_labels;
    for (int s = 0, l = 0; s < c->swin_stages; s++) {
        size_t D = (size_t)stage_dim(c, s), I = (size_t)stage_inter(c, s);
        total += 3 * D + 12 * D; /* patch bias, embedding norm; merging norm (4C) */
        for (int b = 0; b < c->swin_depths[s]; b++, l++) /* V2: logit scales, the MLP's bias */
            total += 8 * D + I + D + (size_t)c->swin_heads[s] + 512;
    }
    return total;
}

/* Swin V2's layer b of stage s, under the hub's names (save_pretrained's). */
static mhv_status v2_layer_load(mhv_wload *ld, const mhv_config *c, int s, int b,
                                mhv_layer *ly, mhv_error *err)
{
    int D = stage_dim(c, s), I = stage_inter(c, s), heads = c->swin_heads[s], qb = c->attn_bias;
    char a[240];
    mhv_status st;
#define NAME(x_) (snprintf(a, sizeof a, "encoder.layers.%d.blocks.%d.%s", s, b, x_), \
                  (const char *[]){a, a})
    if ((st = mhv_layer_load_linear2(ld, NAME("attention.self.query"), D, D, qb, &ly->q,
                                     &ly->q_b, err)) ||
        (st = mhv_layer_load_linear2(ld, NAME("attention.self.key"), D, D, 0, &ly->k, NULL,
                                     err)) ||
        (st = mhv_layer_load_linear2(ld, NAME("attention.self.value"), D, D, qb, &ly->v,
                                     &ly->v_b, err)) ||
        (st = mhv_layer_load_linear2(ld, NAME("attention.output.dense"), D, D, 1, &ly->o,
                                     &ly->o_b, err)) ||
        (st = mhv_layer_load_norm2(ld, NAME("layernorm_before"), D, &ly->ln_attn_g,
                                   &ly->ln_attn_b, err)) ||
        (st = mhv_layer_load_norm2(ld, NAME("layernorm_after"), D, &ly->ln_ffn_g,
                                   &ly->ln_ffn_b, err)) ||
        (st = mhv_layer_load_linear2(ld, NAME("intermediate.dense"), I, D, 1, &ly->ffn_up,
                                     &ly->ffn_up_b, err)) ||
        (st = mhv_layer_load_linear2(ld, NAME("output.dense"), D, I, 1, &ly->ffn_down,
                                     &ly->ffn_down_b, err)) ||
        (st = mhv_wload_mat(ld, NAME("attention.self.continuous_position_bias_mlp.0.weight")[0],
                            512, 2, 0, &ly->swin_cpb1, err)) ||
        (st = mhv_wload_vec(ld, NAME("attention.self.continuous_position_bias_mlp.0.bias")[0],
                            512, 0, &ly->swin_cpb1_b, err)) ||
        (st = mhv_wload_mat(ld, NAME("attention.self.continuous_position_bias_mlp.2.weight")[0],
                            heads, 512, 0, &ly->swin_cpb2, err)))
        return st;
    int64_t dims[3] = {heads, 1, 1};
    mhv_mat scale;
    if ((st = mhv_wload_tensor(ld, NAME("attention.self.logit_scale")[0], dims, 3, 0, &scale,
                               err)) ||
        (st = mhv_wload_zeros(ld, heads, &ly->swin_logit_scale, err)))
        return st;
#undef NAME
    mhv_dtype_to_f32(ly->swin_logit_scale, scale.data, scale.dtype, (size_t)heads);
    return MHV_OK;
}

static mhv_status swin_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    const char *const prefixes[] = {c->swin_v2 ? "swinv2." : c->swin_donut ? "donut." : "swin.",
                                    NULL};
    int D0 = c->swin_embed_dim, P = c->patch_size, C = c->num_channels, W = c->swin_window;
    mhv_wload_prefix(ld, prefixes, "embeddings.patch_embeddings.projection.weight");
    int64_t patch_dims[4] = {D0, C, P, P};
    mhv_status st;
    if ((st = mhv_wload_tensor(ld, "embeddings.patch_embeddings.projection.weight", patch_dims,
                               4, 0, &m->patch_emb, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.patch_embeddings.projection.bias", D0, 0,
                            &m->patch_emb_b, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.norm.weight", D0, 0, &m->emb_ln_g, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.norm.bias", D0, 0, &m->emb_ln_b, err)))
        return st;
    m->patch_emb.rows = D0, m->patch_emb.cols = C * P * P;
    int qb = c->attn_bias, T = (2 * W - 1) * (2 * W - 1);
    for (int s = 0, l = 0; s < c->swin_stages; s++) {
        int D = stage_dim(c, s), I = stage_inter(c, s);
        for (int b = 0; b < c->swin_depths[s]; b++, l++) {
            mhv_layer *ly = &m->layers[l];
            if (c->swin_v2) {
                if ((st = v2_layer_load(ld, c, s, b, ly, err)))
                    return st;
                continue;
            }
            char a[200], o[200];
            /* transformers 5's names, then the hub checkpoints' */
#define NAMES(new_, old_)                                                                         \
    (snprintf(a, sizeof a, "encoder.layers.%d.blocks.%d.%s", s, b, new_),                         \
     snprintf(o, sizeof o, "encoder.layers.%d.blocks.%d.%s", s, b, old_), (const char *[]){a, o})
            if ((st = mhv_layer_load_linear2(ld, NAMES("attention.q_proj", "attention.self.query"),
                                             D, D, qb, &ly->q, &ly->q_b, err)) ||
                (st = mhv_layer_load_linear2(ld, NAMES("attention.k_proj", "attention.self.key"),
                                             D, D, qb, &ly->k, &ly->k_b, err)) ||
                (st = mhv_layer_load_linear2(ld, NAMES("attention.v_proj", "attention.self.value"),
                                             D, D, qb, &ly->v, &ly->v_b, err)) ||
                (st = mhv_layer_load_linear2(ld, NAMES("attention.o_proj",
                                                       "attention.output.dense"),
                                             D, D, 1, &ly->o, &ly->o_b, err)) ||
                (st = mhv_layer_load_mat2(ld, NAMES("attention.relative_position_bias."
                                                    "relative_position_bias_table",
                                                    "attention.self.relative_position_bias_table"),
                                          T, c->swin_heads[s], &ly->rel_bias, err)) ||
                (st = mhv_layer_load_norm2(ld, NAMES("layernorm_before", "layernorm_before"), D,
                                           &ly->ln_attn_g, &ly->ln_attn_b, err)) ||
                (st = mhv_layer_load_norm2(ld, NAMES("layernorm_after", "layernorm_after"), D,
                                           &ly->ln_ffn_g, &ly->ln_ffn_b, err)) ||
                (st = mhv_layer_load_linear2(ld, NAMES("mlp.fc1", "intermediate.dense"), I, D, 1,
                                             &ly->ffn_up, &ly->ffn_up_b, err)) ||
                (st = mhv_layer_load_linear2(ld, NAMES("mlp.fc2", "output.dense"), D, I, 1,
                                             &ly->ffn_down, &ly->ffn_down_b, err)))
                return st;
#undef NAMES
        }
        if (s == c->swin_stages - 1)
            break;
        char a[200];
        int nd = c->swin_v2 ? 2 * D : 4 * D; /* V2 normalises after the reduction */
        snprintf(a, sizeof a, "encoder.layers.%d.downsample.reduction.weight", s);
        if ((st = mhv_wload_mat(ld, a, 2 * D, 4 * D, 0, &m->swin_merge[s], err)))
            return st;
        snprintf(a, sizeof a, "encoder.layers.%d.downsample.norm.weight", s);
        if ((st = mhv_wload_vec(ld, a, nd, 0, &m->swin_merge_g[s], err)))
            return st;
        snprintf(a, sizeof a, "encoder.layers.%d.downsample.norm.bias", s);
        if ((st = mhv_wload_vec(ld, a, nd, 0, &m->swin_merge_b[s], err)))
            return st;
    }
    int H = c->hidden_size;
    if ((!c->swin_donut && /* DonutSwin has no final norm */
         ((st = mhv_wload_vec(ld, "layernorm.weight", H, 0, &m->norm_g, err)) ||
          (st = mhv_wload_vec(ld, "layernorm.bias", H, 0, &m->norm_b, err)))) ||
        (st = mhv_wload_mat(ld, "classifier.weight", c->swin_labels, H,
                            MHV_W_OPTIONAL | MHV_W_BARE, &m->img_classifier, err)))
        return st;
    if (m->img_classifier.data &&
        (st = mhv_wload_vec(ld, "classifier.bias", c->swin_labels, MHV_W_BARE,
                            &m->img_classifier_b, err)))
        return st;
    return MHV_OK;
}

/* One layer's windows: the padded grid (Rp, Cp) of whole w x w windows over the stage's
 * (R, Cc) grid, rolled by `shift`. src[t] is the stage token at window row t (windows in
 * row order, their tokens row by row), -1 for padding; region[t] its region of the rolled
 * grid (the shifted layers' mask). */
typedef struct {
    int R, Cc, Rp, Cp, w, shift, heads, d, D;
    int *src, *region;
    const float *q, *k, *v;     /* (Rp * Cp, D) at window rows */
    float *ctx;                 /* (Rp * Cp, D) */
    const float *table;         /* ((2w-1)^2, heads) fp32 */
    float *probs;               /* (threads, w^4) */
    float *const *maps;         /* (heads,) the (N, N) map of each kept head, or NULL */
    const unsigned char *run;   /* (heads,) 1: the head is computed */
    int need_ctx;
    const float *logit_scale;   /* V2: (heads,) each head's cosine scale, as used; else NULL */
    int donut;                  /* DonutSwin's order of the score's terms */
    float sqrt_d;               /* math.sqrt(head_dim) in fp32, DonutSwin's divisor */
} swin_windows;

/* V2's cosine: q.k / (max(|q|, 1e-12) max(|k|, 1e-12)), as F.normalize then the product. */
static double cosine(const float *q, const float *k, int d)
{
    double qq = 0, kk = 0, qk = 0;
    for (int e = 0; e < d; e++)
        qq += (double)q[e] * q[e], kk += (double)k[e] * k[e], qk += (double)q[e] * k[e];
    return qk / (fmax(sqrt(qq), 1e-12) * fmax(sqrt(kk), 1e-12));
}

static void window_head(void *ctx, int task, int worker)
{
    const swin_windows *sw = ctx;
    int h = task % sw->heads, win = task / sw->heads;
    if (!sw->run[h])
        return;
    int T = sw->w * sw->w, D = sw->D, d = sw->d, W2 = 2 * sw->w - 1, N = sw->R * sw->Cc;
    float *p = sw->probs + (size_t)worker * (size_t)T * (size_t)T;
    size_t base = (size_t)win * (size_t)T;
    float scale = (float)pow((double)d, -0.5); /* transformers: head_dim ** -0.5 */
    for (int i = 0; i < T; i++) {
        const float *qi = sw->q + (base + (size_t)i) * (size_t)D + (size_t)h * (size_t)d;
        float *row = p + (size_t)i * (size_t)T, top = -INFINITY;
        for (int j = 0; j < T; j++) {
            const float *kj = sw->k + (base + (size_t)j) * (size_t)D + (size_t)h * (size_t)d;
            int dy = i / sw->w - j / sw->w + sw->w - 1, dx = i % sw->w - j % sw->w + sw->w - 1;
            float bias = sw->table[(size_t)(dy * W2 + dx) * (size_t)sw->heads + (size_t)h];
            int masked = sw->shift && sw->region[base + (size_t)i] != sw->region[base + (size_t)j];
            if (sw->logit_scale) { /* V2: scaled cosine + bias, then the mask twice */
                row[j] = (float)cosine(qi, kj, d) * sw->logit_scale[h] + bias;
                if (masked)
                    row[j] = (row[j] + -100.0f) + -100.0f;
            } else {
                double dot = 0;
                for (int e = 0; e < d; e++)
                    dot += (double)qi[e] * kj[e];
                if (sw->donut) { /* DonutSwin: / sqrt(d), + bias, then + mask */
                    row[j] = (float)dot / sw->sqrt_d + bias;
                    if (masked)
                        row[j] += -100.0f;
                } else { /* Swin adds the bias and the mask first, then that to the scores */
                    if (masked)
                        bias += -100.0f;
                    row[j] = (float)dot * scale + bias;
                }
            }
            top = row[j] > top ? row[j] : top;
        }
        double sum = 0;
        for (int j = 0; j < T; j++)
            sum += exp((double)row[j] - top);
        for (int j = 0; j < T; j++)
            row[j] = (float)(exp((double)row[j] - top) / sum);
    }
    float *map = sw->maps ? sw->maps[h] : NULL;
    for (int i = 0; map && i < T; i++) {
        int qi = sw->src[base + (size_t)i];
        if (qi < 0)
            continue;
        for (int j = 0; j < T; j++) {
            int kj = sw->src[base + (size_t)j];
            if (kj >= 0)
                map[(size_t)qi * (size_t)N + (size_t)kj] = p[(size_t)i * (size_t)T + (size_t)j];
        }
    }
    for (int i = 0; sw->need_ctx && i < T; i++) {
        float *out = sw->ctx + (base + (size_t)i) * (size_t)D + (size_t)h * (size_t)d;
        for (int e = 0; e < d; e++) {
            double acc = 0;
            for (int j = 0; j < T; j++)
                acc += (double)p[(size_t)i * (size_t)T + (size_t)j] *
                       sw->v[(base + (size_t)j) * (size_t)D + (size_t)h * (size_t)d + (size_t)e];
            out[e] = (float)acc;
        }
    }
}

/* table((2w-1)^2, heads): layer ly's relative position bias for windows of w (stage s):
 * Swin's learned table (of the config's window, which is w in any pass swin runs), or V2's
 * 16 sigmoid(MLP(coordinates)), the coordinates in fp32 as transformers makes them, the MLP
 * in double. row: (max(512, heads),) work space. */
static void layer_table(const mhv_config *c, const mhv_layer *ly, int s, int w, float *table,
                        float *row)
{
    int heads = c->swin_heads[s], Wm = c->swin_window, W2 = 2 * w - 1;
    if (!c->swin_v2) {
        for (int dy = 0; dy < W2; dy++)
            for (int dx = 0; dx < W2; dx++) {
                mhv_mat_row(&ly->rel_bias, (dy + Wm - w) * (2 * Wm - 1) + dx + Wm - w, row);
                memcpy(table + (size_t)(dy * W2 + dx) * (size_t)heads, row,
                       (size_t)heads * sizeof *table);
            }
        return;
    }
    int pw = c->swin_pretrained[s];
    float w1[2], h1[512];
    for (int dy = 0; dy < W2; dy++)
        for (int dx = 0; dx < W2; dx++) {
            float co[2] = {(float)(dy - (w - 1)), (float)(dx - (w - 1))};
            for (int i = 0; i < 2; i++) {
                if (pw > 0)
                    co[i] /= (float)(pw - 1);
                else if (w > 1)
                    co[i] /= (float)(w - 1);
                co[i] *= 8.0f;
                float sg = co[i] > 0 ? 1.0f : co[i] < 0 ? -1.0f : 0.0f;
                co[i] = sg * log2f(fabsf(co[i]) + 1.0f) / 3.0f; /* math.log2(8) */
            }
            for (int k = 0; k < 512; k++) {
                mhv_mat_row(&ly->swin_cpb1, k, w1);
                double a = (double)w1[0] * co[0] + (double)w1[1] * co[1] + ly->swin_cpb1_b[k];
                h1[k] = (float)(a > 0 ? a : 0);
            }
            for (int h = 0; h < heads; h++) {
                mhv_mat_row(&ly->swin_cpb2, h, row);
                double a = 0;
                for (int k = 0; k < 512; k++)
                    a += (double)row[k] * h1[k];
                table[(size_t)(dy * W2 + dx) * (size_t)heads + (size_t)h] =
                    (float)(16.0 / (1.0 + exp(-a)));
            }
        }
}

/* The stage grids of an image grid R0 x C0: each the last's halved, rounded up. */
static void stage_grids(const mhv_config *c, int R0, int C0, int *R, int *Cc)
{
    R[0] = R0, Cc[0] = C0;
    for (int s = 1; s < c->swin_stages; s++)
        R[s] = (R[s - 1] + 1) / 2, Cc[s] = (Cc[s - 1] + 1) / 2;
}

/* A layer's window and shift on an R x Cc grid of stage s (transformers'
 * set_shift_and_window_size: a smaller side <= window takes one window of it, unshifted;
 * V2's _compute_window_shift: the same by the height of the config's grid of stage s). */
static void layer_window(const mhv_config *c, int s, int b, int R, int Cc, int *w, int *shift)
{
    if (c->swin_v2) {
        int res = (c->image_size / c->patch_size) >> s;
        *w = res < c->swin_window ? res : c->swin_window;
        *shift = b % 2 && res > *w ? c->swin_window / 2 : 0;
        return;
    }
    int small = R < Cc ? R : Cc;
    *w = c->swin_window, *shift = b % 2 ? c->swin_window / 2 : 0;
    if (small <= c->swin_window)
        *w = small, *shift = 0;
}

/* The windows' rows: src and region of swin_windows for an R x Cc grid. */
static void window_rows(int R, int Cc, int w, int shift, int *src, int *region)
{
    int Rp = (R + w - 1) / w * w, Cp = (Cc + w - 1) / w * w, nwx = Cp / w, t = 0;
    for (int wy = 0; wy < Rp / w; wy++)
        for (int wx = 0; wx < nwx; wx++)
            for (int a = 0; a < w; a++)
                for (int b = 0; b < w; b++, t++) {
                    int y = wy * w + a, x = wx * w + b; /* in the rolled grid */
                    int sy = (y + shift) % Rp, sx = (x + shift) % Cp;
                    src[t] = sy < R && sx < Cc ? sy * Cc + sx : -1;
                    int ry = (y >= Rp - w) + (y >= Rp - shift);
                    int rx = (x >= Cp - w) + (x >= Cp - shift);
                    region[t] = ry * 3 + rx;
                }
}

static mhv_status swin_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                               mhv_capture *cap, float *logits, mhv_error *err)
{
    (void)ids;
    const mhv_config *c = &m->cfg;
    if (logits && !m->img_classifier.data)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "no classifier.weight: a base %s "
                        "model has no logits", c->arch);
    if (nn->pool_attn)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "%s has no attention-pooling head",
                        c->arch);
    if (cap->prow || cap->vnorm || cap->layer_done || cap->head_done || cap->ablate)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "%s's maps are whole (no --rows, "
                        "streaming, value norms or ablation)", c->arch);
    int P = c->patch_size, Cn = c->num_channels, S = c->swin_stages;
    int ih = nn->image_h ? nn->image_h : c->image_size;
    int iw = nn->image_w ? nn->image_w : c->image_size;
    int R[MHV_MAX_SWIN_STAGES], Cc[MHV_MAX_SWIN_STAGES];
    stage_grids(c, (ih + P - 1) / P, (iw + P - 1) / P, R, Cc);
    if (R[0] * Cc[0] != n)
        return mhv_fail(err, MHV_EUSAGE, m->dir, "%d tokens for a %dx%d patch grid", n, R[0],
                        Cc[0]);
    for (int s = 0; s < S && !c->swin_v2; s++) {
        int small = R[s] < Cc[s] ? R[s] : Cc[s];
        if (small < c->swin_window) /* transformers: its bias table no longer fits */
            return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                            "the image makes a %dx%d grid in stage %d, smaller than the %dx%d "
                            "windows (transformers fails on it: give a larger image)",
                            Cc[s], R[s], s, c->swin_window, c->swin_window);
    }
    if (cap->sel)
        for (int l = 0; l < c->num_layers; l++)
            for (int h = mhv_config_layer_heads(c, l); h < c->num_heads; h++)
                if (mhv_heads_has(cap->sel, l, h))
                    return mhv_fail(err, MHV_EUSAGE, "", "head %d:%d does not exist: %s's "
                                    "layer %d has %d heads", l, h, c->arch, l,
                                    mhv_config_layer_heads(c, l));
    /* the largest of every stage's buffers */
    size_t big = 0, xs = 0, ffs = 0, rows_most = 0;
    int widest = c->num_channels * P * P, Wm = c->swin_window, headsmax = 0;
    for (int s = 0; s < S; s++) {
        size_t D = (size_t)stage_dim(c, s), N = (size_t)R[s] * (size_t)Cc[s];
        int w, shift;
        layer_window(c, s, 0, R[s], Cc[s], &w, &shift);
        size_t Rp = ((size_t)R[s] + (size_t)w - 1) / (size_t)w * (size_t)w;
        size_t Cp = ((size_t)Cc[s] + (size_t)w - 1) / (size_t)w * (size_t)w;
        size_t merged = (size_t)((R[s] + 1) / 2) * (size_t)((Cc[s] + 1) / 2) * 4 * D;
        big = Rp * Cp * D > big ? Rp * Cp * D : big;
        big = merged > big ? merged : big;
        xs = N * D > xs ? N * D : xs;
        ffs = N * (size_t)stage_inter(c, s) > ffs ? N * (size_t)stage_inter(c, s) : ffs;
        rows_most = Rp * Cp > rows_most ? Rp * Cp : rows_most;
        int in = stage_inter(c, s) > 4 * (int)D ? stage_inter(c, s) : 4 * (int)D;
        widest = in > widest ? in : widest;
        headsmax = c->swin_heads[s] > headsmax ? c->swin_heads[s] : headsmax;
    }
    size_t T = (size_t)Wm * (size_t)Wm;
    size_t plane = (size_t)R[0] * (size_t)P * (size_t)Cc[0] * (size_t)P;
    float *x, *xb, *xw, *q, *k, *v, *ctx, *tmp, *ffn, *patches, *image, *probs, *table;
    float *trow; /* one row of a bias table or of V2's MLP */
    const mhv_nn_buf bufs[] = {{&x, xs},    {&xb, big},  {&xw, big},  {&q, big},
                               {&k, big},   {&v, big},   {&ctx, big}, {&tmp, big},
                               {&ffn, ffs}, {&patches, (size_t)n * (size_t)(Cn * P * P)},
                               {&image, (size_t)Cn * plane},
                               {&probs, (size_t)(nn->threads > 0 ? nn->threads : 1) * T * T},
                               {&table, (size_t)(2 * Wm - 1) * (size_t)(2 * Wm - 1) *
                                            (size_t)headsmax},
                               {&trow, 512 + (size_t)headsmax}};
    /* the blocks' scratch for the most rows a linear layer takes: a stage's padded windows */
    int most = (int)rows_most > n ? (int)rows_most : n;
    mhv_nn_shape shape = {most, c->hidden_size, widest, c->head_dim};
    mhv_status st = mhv_nn_begin(nn, &shape, bufs, (int)(sizeof bufs / sizeof bufs[0]), err);
    if (st)
        return st;
    int *src = malloc(rows_most * 2 * sizeof *src);
    if (!src)
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory for swin's windows");
    int *region = src + rows_most;

    /* the patches of the image padded with zeros to whole patches (right and bottom) */
    int ph = R[0] * P, pw = Cc[0] * P;
    memset(image, 0, (size_t)Cn * plane * sizeof *image);
    for (int ch = 0; ch < Cn; ch++)
        for (int y = 0; y < ih; y++)
            memcpy(image + ((size_t)ch * (size_t)ph + (size_t)y) * (size_t)pw,
                   nn->pixels + ((size_t)ch * (size_t)ih + (size_t)y) * (size_t)iw,
                   (size_t)iw * sizeof *image);
    mhv_layer_patches(image, Cn, ph, pw, P, patches);
    mhv_nn_linear(nn, x, patches, &m->patch_emb, m->patch_emb_b, n, MHV_NN_NO_ACT);
    mhv_norm emb = {MHV_NORM_LAYER, m->emb_ln_g, m->emb_ln_b, 1e-5f}; /* nn.LayerNorm's eps */
    mhv_nn_norm(nn, x, x, &emb, n, c->swin_embed_dim);

    int last = logits ? c->num_layers - 1 : cap->last, stop = 0;
    for (int s = 0, l = 0; s < S && !stop; s++) {
        int D = stage_dim(c, s), heads = c->swin_heads[s];
        int N = R[s] * Cc[s], d = D / heads;
        for (int b = 0; b < c->swin_depths[s]; b++, l++) {
            if (l > last) {
                stop = 1;
                break;
            }
            const mhv_layer *ly = &m->layers[l];
            int w, shift;
            layer_window(c, s, b, R[s], Cc[s], &w, &shift);
            int Rp = (R[s] + w - 1) / w * w, Cp = (Cc[s] + w - 1) / w * w, Np = Rp * Cp;
            mhv_norm ln1 = {MHV_NORM_LAYER, ly->ln_attn_g, ly->ln_attn_b, c->layer_norm_eps};
            mhv_norm ln2 = {MHV_NORM_LAYER, ly->ln_ffn_g, ly->ln_ffn_b, c->layer_norm_eps};
            const float *in = x; /* V2 normalises after the attention, not before */
            if (!c->swin_v2)
                mhv_nn_norm(nn, xb, x, &ln1, N, D), in = xb;
            window_rows(R[s], Cc[s], w, shift, src, region);
            for (int t = 0; t < Np; t++) {
                float *dst = xw + (size_t)t * (size_t)D;
                if (src[t] < 0)
                    memset(dst, 0, (size_t)D * sizeof *dst);
                else
                    memcpy(dst, in + (size_t)src[t] * (size_t)D, (size_t)D * sizeof *dst);
            }
            layer_table(c, ly, s, w, table, trow);
            mhv_nn_linear(nn, q, xw, &ly->q, ly->q_b, Np, MHV_NN_NO_ACT);
            mhv_nn_linear(nn, k, xw, &ly->k, ly->k_b, Np, MHV_NN_NO_ACT);
            int done = mhv_capture_done(cap, l) && !logits;
            if (!done)
                mhv_nn_linear(nn, v, xw, &ly->v, ly->v_b, Np, MHV_NN_NO_ACT);
            float *maps[MHV_MAX_HEADS];
            unsigned char run[MHV_MAX_HEADS];
            int kept = 0;
            for (int h = 0; h < heads; h++) {
                maps[h] = NULL;
                if (cap->sel && cap->out && mhv_heads_has(cap->sel, l, h)) {
                    mhv_head_attn *slot = &cap->out->heads[cap->next++];
                    slot->layer = l, slot->head = h, slot->rows = slot->cols = N;
                    memset(slot->w, 0, (size_t)N * (size_t)N * sizeof *slot->w);
                    maps[h] = slot->w;
                    kept++;
                }
                run[h] = !done || maps[h];
            }
            float scales[MHV_MAX_HEADS]; /* V2: exp(min(logit_scale, log 100)), in fp32 */
            for (int h = 0; c->swin_v2 && h < heads; h++)
                scales[h] = expf(fminf(ly->swin_logit_scale[h], (float)log(1.0 / 0.01)));
            swin_windows sw = {R[s], Cc[s], Rp, Cp, w, shift, heads, d, D, src, region,
                               q, k, v, ctx, table, probs, kept ? maps : NULL, run, !done,
                               c->swin_v2 ? scales : NULL, c->swin_donut,
                               (float)sqrt((double)d)};
            mhv_pool_run(nn->pool, (Np / (w * w)) * heads, window_head, &sw);
            if (done) {
                stop = 1;
                break;
            }
            /* back to the stage's tokens in the image's order, then the output projection */
            for (int t = 0; t < Np; t++)
                if (src[t] >= 0)
                    memcpy(xb + (size_t)src[t] * (size_t)D, ctx + (size_t)t * (size_t)D,
                           (size_t)D * sizeof *xb);
            mhv_nn_linear(nn, tmp, xb, &ly->o, ly->o_b, N, MHV_NN_NO_ACT);
            if (c->swin_v2)
                mhv_nn_norm(nn, tmp, tmp, &ln1, N, D);
            mhv_nn_add(nn, x, tmp, N, D);
            in = x;
            if (!c->swin_v2)
                mhv_nn_norm(nn, xb, x, &ln2, N, D), in = xb;
            mhv_nn_linear(nn, ffn, in, &ly->ffn_up, ly->ffn_up_b, N, (int)c->act);
            mhv_nn_linear(nn, tmp, ffn, &ly->ffn_down, ly->ffn_down_b, N, MHV_NN_NO_ACT);
            if (c->swin_v2)
                mhv_nn_norm(nn, tmp, tmp, &ln2, N, D);
            mhv_nn_add(nn, x, tmp, N, D);
        }
        if (stop || s == S - 1)
            break;
        /* patch merging: each 2x2 block's tokens (0,0), (1,0), (0,1), (1,1) side by side,
         * zeros past an odd side, LN(4D), then the reduction to 2D */
        int Rn = R[s + 1], Cnx = Cc[s + 1];
        for (int i = 0; i < Rn; i++)
            for (int j = 0; j < Cnx; j++) {
                float *dst = xw + ((size_t)i * (size_t)Cnx + (size_t)j) * 4 * (size_t)D;
                for (int part = 0; part < 4; part++) {
                    int y = 2 * i + (part & 1), xx = 2 * j + (part >> 1);
                    float *o = dst + (size_t)part * (size_t)D;
                    if (y < R[s] && xx < Cc[s])
                        memcpy(o, x + ((size_t)y * (size_t)Cc[s] + (size_t)xx) * (size_t)D,
                               (size_t)D * sizeof *o);
                    else
                        memset(o, 0, (size_t)D * sizeof *o);
                }
            }
        mhv_norm mn = {MHV_NORM_LAYER, m->swin_merge_g[s], m->swin_merge_b[s], 1e-5f};
        if (!c->swin_v2)
            mhv_nn_norm(nn, xw, xw, &mn, Rn * Cnx, 4 * D);
        mhv_nn_linear(nn, x, xw, &m->swin_merge[s], NULL, Rn * Cnx, MHV_NN_NO_ACT);
        if (c->swin_v2) /* V2: LN(2D) after the reduction */
            mhv_nn_norm(nn, x, x, &mn, Rn * Cnx, 2 * D);
    }
    free(src);
    if (logits) { /* the final norm, the mean over the tokens, the classifier */
        int H = c->hidden_size, N = R[S - 1] * Cc[S - 1];
        mhv_norm fin = {MHV_NORM_LAYER, m->norm_g, m->norm_b, c->layer_norm_eps};
        if (m->norm_g)
            mhv_nn_norm(nn, xb, x, &fin, N, H);
        else /* DonutSwin: the tokens as they are */
            memcpy(xb, x, (size_t)N * (size_t)H * sizeof *xb);
        for (int e = 0; e < H; e++) {
            double sum = 0;
            for (int t = 0; t < N; t++)
                sum += xb[(size_t)t * (size_t)H + (size_t)e];
            tmp[e] = (float)(sum / N);
        }
        mhv_nn_linear(nn, logits, tmp, &m->img_classifier, m->img_classifier_b, 1,
                      MHV_NN_NO_ACT);
    }
    return MHV_OK;
}

const mhv_family mhv_family_swin = {
    .name = "swin",
    .model_types = model_types,
    .config = swin_config,
    .vector_floats = swin_vector_floats,
    .load = swin_load,
    .forward = swin_forward,
};
