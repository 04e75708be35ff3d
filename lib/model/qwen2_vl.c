/* qwen2_vl.c - Qwen2-VL and Qwen2.5-VL (Qwen2VLForConditionalGeneration, Qwen2VLModel,
 * Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLModel; model_types qwen2_vl, qwen2_5_vl),
 * images only, and their vision towers as models of their own (qwen2_vl_vision,
 * qwen2_5_vl_vision).
 *
 * The tower: the image cut into P x P patches, each repeated over temporal_patch frames
 * and projected by a Conv3d of that kernel (one linear layer over the flattened patch);
 * pre-norm layers (LayerNorm, quick_gelu MLP; Qwen2.5-VL: RMSNorm, gated SiLU MLP, window
 * attention on the layers not in fullatt_block_indexes) with a 2-D rotary over each head
 * (the first quarter of the pairs turns by the patch's row, the second by its column);
 * then the merger: norm, each 2 x 2 (merge) block of patches side by side, linear, GELU,
 * linear into the language model's width. transformers orders the patches by merge blocks
 * (and Qwen2.5-VL by windows); here they are row-major, as every vision model's patches
 * (the same maps, the tokens relabelled), and a window is a mask, zero outside it.
 *
 * The model: the language model (Qwen2's decoder) over the ids, the image tokens' rows
 * replaced by the merger's features (masked_scatter), with the multimodal rotary
 * (get_rope_index): text tokens at one position on all three axes, counting on; the image
 * tokens at (s, s + row, s + col) of their merged grid, s the position after the text
 * before them; the text after at s + max(rows, cols). Pairs of a head read the time,
 * height and width positions by mrope_section. Video is refused. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"
#include "nn/rope.h"

static const char *const tower_types[] = {"qwen2_vl_vision", "qwen2_5_vl_vision", NULL};
static const char *const model_types[] = {"qwen2_vl", "qwen2_5_vl", NULL};

/* ---- the vision tower ---- */

static mhv_status tower_config(const cJSON *root, mhv_config *c, const char *name,
                               mhv_error *err)
{
    int v25 = strcmp(c->model_type, "qwen2_5_vl_vision") == 0;
    c->qvl_tower = v25 ? 2 : 1;
    const char *lists[] = {"patch_size", "temporal_patch_size"};
    for (int i = 0; i < 2; i++)
        if (cJSON_IsArray(mhv_json_get(root, lists[i])))
            return mhv_fail(err, MHV_EUNSUPPORTED, name, "%s as a list is not supported",
                            lists[i]);
    double ratio = 4;
    mhv_status st;
    if ((st = mhv_json_int(root, "depth", 32, 1, MHV_MAX_LAYERS, &c->num_layers, name, err)) ||
        (st = mhv_json_int(root, v25 ? "hidden_size" : "embed_dim", v25 ? 3584 : 1280, 1,
                           MHV_MAX_HIDDEN, &c->hidden_size, name, err)) ||
        (st = mhv_json_int(root, "num_heads", 16, 1, MHV_MAX_HEADS, &c->num_heads, name, err)) ||
        (st = mhv_json_int(root, "in_channels", 3, 1, 64, &c->num_channels, name, err)) ||
        (st = mhv_json_int(root, "patch_size", 14, 1, 4096, &c->patch_size, name, err)) ||
        (st = mhv_json_int(root, "temporal_patch_size", 2, 1, 64, &c->temporal_patch, name,
                           err)) ||
        (st = mhv_json_int(root, "spatial_merge_size", 2, 1, 64, &c->image_merge, name, err)) ||
        (st = mhv_json_int(root, v25 ? "out_hidden_size" : "hidden_size", 3584, 1,
                           MHV_MAX_HIDDEN, &c->qvl_out, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", v25 ? MHV_ACT_SILU : MHV_ACT_QUICK_GELU,
                             &c->act, name, err)))
        return st;
    if (v25)
        st = mhv_json_int(root, "intermediate_size", 3420, 1, MHV_MAX_HIDDEN * 16,
                          &c->intermediate_size, name, err);
    else if (!(st = mhv_json_num(root, "mlp_ratio", 4, 0, 1024, &ratio, name, err)))
        c->intermediate_size = (int)(c->hidden_size * ratio); /* int(embed_dim * mlp_ratio) */
    if (st)
        return st;
    if (c->intermediate_size < 1)
        return mhv_fail(err, MHV_EFORMAT, name, "the MLP has no hidden units");
    if (c->hidden_size % c->num_heads || (c->hidden_size / c->num_heads) % 4)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "a head of %d / %d dimensions does not split into the 2-D rotary's four "
                        "quarters", c->hidden_size, c->num_heads);
    /* the rotary: rope_parameters' theta, axial (its only type) */
    const cJSON *rp = mhv_json_get(root, "rope_parameters");
    const char *type = "axial";
    c->rope.theta = 10000;
    if (rp && ((st = mhv_json_str(rp, "rope_type", "axial", &type, name, err)) ||
               (st = mhv_json_num(rp, "rope_theta", 10000, 0, 1e30, &c->rope.theta, name, err))))
        return st;
    if (strcmp(type, "axial") != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "vision rope_type '%.40s' is not supported (axial is)", type);
    if (v25) {
        if ((st = mhv_json_int(root, "window_size", 112, 1, 1 << 20, &c->qvl_window, name, err)))
            return st;
        if (c->qvl_window / c->image_merge / c->patch_size < 1)
            return mhv_fail(err, MHV_EFORMAT, name,
                            "window_size %d is smaller than a merged %dx%d block of %d-pixel "
                            "patches", c->qvl_window, c->image_merge, c->image_merge,
                            c->patch_size);
        const cJSON *full = mhv_json_get(root, "fullatt_block_indexes");
        static const int full_def[] = {7, 15, 23, 31};
        if (full && !cJSON_IsArray(full))
            return mhv_fail(err, MHV_EFORMAT, name,
                            "field 'fullatt_block_indexes' is not a list of integers");
        int count = full ? cJSON_GetArraySize(full) : 4;
        for (int i = 0; i < count; i++) {
            const cJSON *it = full ? cJSON_GetArrayItem(full, i) : NULL;
            if (it && (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble)))
                return mhv_fail(err, MHV_EFORMAT, name,
                                "field 'fullatt_block_indexes' is not a list of integers");
            double l = it ? it->valuedouble : full_def[i];
            if (l >= 0 && l < c->num_layers) /* others match no layer, as in transformers */
                c->qvl_full_layers[(int)l / 8] |= (unsigned char)(1u << ((int)l % 8));
        }
    }
    c->vision = 1;
    c->vision_pos = MHV_VPOS_ALWAYS; /* no position table: any grid */
    c->image_size = c->patch_size * c->image_merge;
    c->num_kv_heads = c->num_heads;
    c->head_dim = c->hidden_size / c->num_heads;
    c->layer_norm_eps = 1e-6f;
    c->attn_bias = c->attn_out_bias = c->mlp_bias = 1;
    c->max_positions = MHV_MAX_POSITIONS;
    return MHV_OK;
}

static size_t tower_vector_floats(const mhv_config *c)
{
    size_t E = (size_t)c->hidden_size, I = (size_t)c->intermediate_size;
    size_t M2 = (size_t)c->image_merge * (size_t)c->image_merge;
    /* per layer: two norms, the qkv and output biases, the MLP's biases; the merger */
    return (size_t)c->num_layers * (8 * E + 2 * I + E) + 2 * E + M2 * E + (size_t)c->qvl_out;
}

static int layer_windowed(const mhv_config *c, int l)
{
    return c->qvl_tower == 2 && !((c->qvl_full_layers[l / 8] >> (l % 8)) & 1);
}

static mhv_status tower_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int E = c->hidden_size, I = c->intermediate_size, P = c->patch_size;
    int M2 = c->image_merge * c->image_merge, rms = c->qvl_tower == 2;
    int64_t dims[5] = {E, c->num_channels, c->temporal_patch, P, P};
    mhv_status st;
    if ((st = mhv_wload_tensor(ld, "patch_embed.proj.weight", dims, 5, 0, &m->patch_emb, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "blocks.%d.%s", l, suffix), n)
        mhv_mat qkv;
        if ((st = mhv_wload_vec(ld, N("norm1.weight"), E, 0, &ly->ln_attn_g, err)) ||
            (!rms && (st = mhv_wload_vec(ld, N("norm1.bias"), E, 0, &ly->ln_attn_b, err))) ||
            (st = mhv_wload_mat(ld, N("attn.qkv.weight"), 3 * E, E, 0, &qkv, err)) ||
            (st = mhv_wload_vec(ld, N("attn.qkv.bias"), 3 * E, 0, &ly->q_b, err)) ||
            (st = mhv_wload_mat(ld, N("attn.proj.weight"), E, E, 0, &ly->o, err)) ||
            (st = mhv_wload_vec(ld, N("attn.proj.bias"), E, 0, &ly->o_b, err)) ||
            (st = mhv_wload_vec(ld, N("norm2.weight"), E, 0, &ly->ln_ffn_g, err)) ||
            (!rms && (st = mhv_wload_vec(ld, N("norm2.bias"), E, 0, &ly->ln_ffn_b, err))))
            return st;
        ly->q = mhv_mat_rows(&qkv, 0, E);
        ly->k = mhv_mat_rows(&qkv, E, E);
        ly->v = mhv_mat_rows(&qkv, 2 * E, E);
        ly->k_b = ly->q_b + E, ly->v_b = ly->q_b + 2 * E;
        if (rms) {
            if ((st = mhv_wload_mat(ld, N("mlp.gate_proj.weight"), I, E, 0, &ly->ffn_gate, err)) ||
                (st = mhv_wload_vec(ld, N("mlp.gate_proj.bias"), I, 0, &ly->ffn_gate_b, err)) ||
                (st = mhv_wload_mat(ld, N("mlp.up_proj.weight"), I, E, 0, &ly->ffn_up, err)) ||
                (st = mhv_wload_vec(ld, N("mlp.up_proj.bias"), I, 0, &ly->ffn_up_b, err)) ||
                (st = mhv_wload_mat(ld, N("mlp.down_proj.weight"), E, I, 0, &ly->ffn_down, err)) ||
                (st = mhv_wload_vec(ld, N("mlp.down_proj.bias"), E, 0, &ly->ffn_down_b, err)))
                return st;
        } else if ((st = mhv_wload_mat(ld, N("mlp.fc1.weight"), I, E, 0, &ly->ffn_up, err)) ||
                   (st = mhv_wload_vec(ld, N("mlp.fc1.bias"), I, 0, &ly->ffn_up_b, err)) ||
                   (st = mhv_wload_mat(ld, N("mlp.fc2.weight"), E, I, 0, &ly->ffn_down, err)) ||
                   (st = mhv_wload_vec(ld, N("mlp.fc2.bias"), E, 0, &ly->ffn_down_b, err))) {
            return st;
        }
#undef N
    }
    if ((st = mhv_wload_vec(ld, "merger.ln_q.weight", E, 0, &m->norm_g, err)) ||
        (!rms && (st = mhv_wload_vec(ld, "merger.ln_q.bias", E, 0, &m->norm_b, err))) ||
        (st = mhv_wload_mat(ld, "merger.mlp.0.weight", M2 * E, M2 * E, 0, &m->mm_proj1, err)) ||
        (st = mhv_wload_vec(ld, "merger.mlp.0.bias", M2 * E, 0, &m->mm_proj1_b, err)) ||
        (st = mhv_wload_mat(ld, "merger.mlp.2.weight", c->qvl_out, M2 * E, 0, &m->mm_proj2, err)))
        return st;
    return mhv_wload_vec(ld, "merger.mlp.2.bias", c->qvl_out, 0, &m->mm_proj2_b, err);
}

/* The window of each token (Qwen2.5-VL): scores outside it are -inf, so its probabilities
 * there are exactly zero, as transformers' attention within each window leaves them. */
typedef struct {
    const int *win;
} window_mask;

static void window_bias(const void *ctx, int h, const float *q, size_t ld_q, const float *k,
                        size_t ld_k, int n, float *b)
{
    const int *win = ((const window_mask *)ctx)->win;
    (void)h, (void)q, (void)ld_q, (void)k, (void)ld_k;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            b[(size_t)i * (size_t)n + (size_t)j] = win[i] == win[j] ? 0.0f : -INFINITY;
}

/* The patch grid of an image of ih x iw pixels for tower c, refused unless whole merge
 * blocks of patches make it (transformers' processor makes it so; its reshapes need it). */
static mhv_status tower_grid(const mhv_config *c, int ih, int iw, int *rows, int *cols,
                             mhv_error *err)
{
    int unit = c->patch_size * c->image_merge;
    if (ih < unit || iw < unit || ih % unit || iw % unit)
        return mhv_fail(err, MHV_EUSAGE, "",
                        "the image comes to %dx%d pixels after preprocessing; %s takes whole "
                        "%dx%d blocks of %d-pixel patches (sides multiples of %d)", iw, ih,
                        c->arch, c->image_merge, c->image_merge, c->patch_size, unit);
    *rows = ih / c->patch_size, *cols = iw / c->patch_size;
    return MHV_OK;
}

/* The tower over nn's image (n its patches, row-major), keeping cap's heads; with feats,
 * every layer and the merger into feats (n / merge^2, qvl_out), merged tokens row-major. */
static mhv_status tower_pass(mhv_nn *nn, const mhv_model *m, int n, mhv_capture *cap,
                             float *feats, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int E = c->hidden_size, d = c->head_dim, half = d / 2, M = c->image_merge;
    int P = c->patch_size, T = c->temporal_patch, C = c->num_channels;
    int K = C * T * P * P, MM = M * M * E, rows, cols;
    int ih = nn->image_h, iw = nn->image_w;
    mhv_status st = tower_grid(c, ih, iw, &rows, &cols, err);
    if (st)
        return st;
    if (rows * cols != n)
        return mhv_fail(err, MHV_EUSAGE, "", "%d tokens for an image of %dx%d patches", n,
                        cols, rows);
    int NM = n / (M * M), rms = c->qvl_tower == 2;
    const mhv_decoder dec = {rms ? MHV_NORM_RMS : MHV_NORM_LAYER, MHV_RESIDUAL_SEQUENTIAL,
                             rms ? MHV_MLP_GATED : MHV_MLP_PLAIN, NULL};
    float *patches; /* (n, C*T*P*P) each patch as the Conv3d kernel reads it */
    float *mout;    /* (n / M^2, qvl_out) the merger's output */
    mhv_decoder_scratch s = {
        .rope_half = half, .embed_width = K > MM ? K : MM,
        .extra = {{&patches, (size_t)n * (size_t)K},
                  {&mout, feats ? (size_t)NM * (size_t)c->qvl_out : 1}},
    };
    mhv_decoder_pass p;
    if ((st = mhv_decoder_begin(nn, &dec, c, n, &s, &p, err)))
        return st;
    int windows = 0;
    for (int l = 0; l <= cap->last; l++)
        windows |= layer_windowed(c, l);
    if (windows && (st = mhv_nn_reserve_bias(nn, n, err)))
        return st;
    int *pos = malloc((size_t)n * 2 * sizeof *pos);         /* (2, n) row, column */
    int *win = malloc((size_t)n * sizeof *win);             /* (n,) window of each patch */
    unsigned char *axis = malloc((size_t)half);             /* (half,) 0 rows, 1 columns */
    if (!pos || !win || !axis) {
        free(pos), free(win), free(axis);
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory for %d patches", n);
    }
    /* windows of ws x ws merged blocks (Qwen2.5-VL), numbered row by row */
    int ws = c->qvl_window ? c->qvl_window / M / P : 1, per_row = cols / M / ws + 1;
    for (int i = 0; i < n; i++) {
        int r = i / cols, cc = i % cols;
        pos[i] = r, pos[n + i] = cc;
        win[i] = (r / M / ws) * per_row + cc / M / ws;
    }
    /* the patches, each (channel, frame, row, column) as the Conv3d kernel: the image in
     * every frame */
    const float *px = nn->pixels;
    for (int i = 0; i < n; i++) {
        int r = i / cols, cc = i % cols;
        float *out = patches + (size_t)i * (size_t)K;
        for (int ch = 0; ch < C; ch++)
            for (int t = 0; t < T; t++)
                for (int y = 0; y < P; y++, out += P)
                    memcpy(out, px + ((size_t)ch * (size_t)ih + (size_t)(r * P + y)) * (size_t)iw +
                                    (size_t)(cc * P), (size_t)P * sizeof *out);
    }
    mhv_nn_linear(nn, p.x, patches, &m->patch_emb, NULL, n, MHV_NN_NO_ACT);
    /* 2-D rotary: the quarter frequencies of half a head, rows then columns */
    int q4 = d / 4;
    mhv_rope_inv_freq(&c->rope, half, p.inv_freq);
    for (int j = 0; j < half; j++) {
        axis[j] = j < q4 ? 0 : 1;
        if (j >= q4)
            p.inv_freq[j] = p.inv_freq[j - q4];
    }
    mhv_rope_table_axes(p.inv_freq, half, n, pos, axis, p.cos_t, p.sin_t);
    mhv_rotary rot = {p.cos_t, p.sin_t, half, 0, n};
    window_mask wm = {win};
    for (int l = 0; l <= cap->last; l++) {
        mhv_attn_layer attn = mhv_layer_attention(&m->layers[l], c);
        attn.rope = &rot;
        if (layer_windowed(c, l))
            attn.bias = window_bias, attn.bias_ctx = &wm;
        if (mhv_layer_pre_norm(nn, &dec, c, &m->layers[l], &attn, l, &p, cap))
            break;
    }
    if (feats) { /* the merger: each merge block's patches side by side, merged row-major */
        mhv_norm ln = {rms ? MHV_NORM_RMS : MHV_NORM_LAYER, m->norm_g, m->norm_b, 1e-6f};
        mhv_nn_norm(nn, p.xb, p.x, &ln, n, E);
        int mcols = cols / M;
        for (int k = 0; k < NM; k++)
            for (int u = 0; u < M * M; u++) {
                int src = ((k / mcols) * M + u / M) * cols + (k % mcols) * M + u % M;
                memcpy(p.tmp + (size_t)k * (size_t)MM + (size_t)u * (size_t)E,
                       p.xb + (size_t)src * (size_t)E, (size_t)E * sizeof *p.tmp);
            }
        mhv_nn_linear(nn, p.xb, p.tmp, &m->mm_proj1, m->mm_proj1_b, NM, MHV_ACT_GELU);
        mhv_nn_linear(nn, mout, p.xb, &m->mm_proj2, m->mm_proj2_b, NM, MHV_NN_NO_ACT);
        memcpy(feats, mout, (size_t)NM * (size_t)c->qvl_out * sizeof *feats);
    }
    free(pos), free(win), free(axis);
    return MHV_OK;
}

static mhv_status tower_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                mhv_capture *cap, float *logits, mhv_error *err)
{
    (void)ids, (void)logits;
    if (!nn->pixels && !nn->measure)
        return mhv_fail(err, MHV_EUSAGE, m->dir, "%s takes an image", m->cfg.arch);
    return tower_pass(nn, m, n, cap, NULL, err);
}

const mhv_family mhv_family_qwen2_vl_vision = {
    .name = "qwen2_vl_vision",
    .model_types = tower_types,
    .config = tower_config,
    .vector_floats = tower_vector_floats,
    .load = tower_load,
    .forward = tower_forward,
};

/* ---- the model ---- */

/* The text model's settings as Qwen2's decoder reads them (a copy; NULL: out of memory),
 * *section its mrope_section: text_config (or, in the older form, root itself) with the
 * defaults of Qwen2VLTextConfig for the sizes it leaves out, its rotary default (theta 1e6;
 * type mrope read as default; others refused). */
static mhv_status text_json(const cJSON *root, cJSON **out, int section[3], const char *name,
                            mhv_error *err)
{
    *out = NULL;
    const cJSON *tc = mhv_json_get(root, "text_config");
    if (tc && !cJSON_IsObject(tc))
        return mhv_fail(err, MHV_EFORMAT, name, "field 'text_config' is not an object");
    const cJSON *src = tc ? tc : root;
    const cJSON *rp = mhv_json_get(src, "rope_scaling");
    if (!rp)
        rp = mhv_json_get(src, "rope_parameters");
    if (rp && !cJSON_IsObject(rp))
        return mhv_fail(err, MHV_EFORMAT, name, "the text model's rope settings are not an "
                        "object");
    const char *type = "default";
    double theta = 1e6;
    mhv_status st;
    if ((st = mhv_json_num(src, "rope_theta", 1e6, 0, 1e30, &theta, name, err)))
        return st;
    if (rp && ((st = mhv_json_str(rp, "rope_type", "default", &type, name, err)) ||
               (!mhv_json_get(rp, "rope_type") &&
                (st = mhv_json_str(rp, "type", "default", &type, name, err))) ||
               (st = mhv_json_num(rp, "rope_theta", theta, 0, 1e30, &theta, name, err))))
        return st;
    if (strcmp(type, "default") != 0 && strcmp(type, "mrope") != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "rope type '%.40s' is not supported for %s's text model (default and "
                        "mrope are)", type, "qwen2_vl");
    const cJSON *sec = rp ? mhv_json_get(rp, "mrope_section") : NULL;
    int def[3] = {16, 24, 24};
    if (sec && (!cJSON_IsArray(sec) || cJSON_GetArraySize(sec) != 3))
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "mrope_section is not a list of 3 sizes "
                        "(time, height, width)");
    for (int k = 0; k < 3; k++) {
        const cJSON *it = sec ? cJSON_GetArrayItem(sec, k) : NULL;
        if (it && (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) ||
                   it->valuedouble < 0 || it->valuedouble > 65536))
            return mhv_fail(err, MHV_EFORMAT, name, "mrope_section holds a bad size");
        section[k] = it ? (int)it->valuedouble : def[k];
    }
    cJSON *copy = cJSON_Duplicate(src, 1);
    const char *drop[] = {"model_type", "head_dim", "rope_scaling", "rope_parameters",
                          "rope_theta", "text_config", "vision_config"};
    for (size_t i = 0; copy && i < sizeof drop / sizeof drop[0]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(copy, drop[i]);
    static const struct {
        const char *key;
        double val;
    } defaults[] = {{"vocab_size", 152064},      {"hidden_size", 8192},
                    {"intermediate_size", 29568}, {"num_hidden_layers", 80},
                    {"num_attention_heads", 64},  {"num_key_value_heads", 8},
                    {"max_position_embeddings", 32768}, {"rms_norm_eps", 1e-5},
                    {"sliding_window", 4096},    {"max_window_layers", 80}};
    int ok = copy && cJSON_AddStringToObject(copy, "model_type", "qwen2");
    for (size_t i = 0; ok && i < sizeof defaults / sizeof defaults[0]; i++)
        if (!cJSON_GetObjectItemCaseSensitive(copy, defaults[i].key))
            ok = cJSON_AddNumberToObject(copy, defaults[i].key, defaults[i].val) != NULL;
    cJSON *rope = ok ? cJSON_AddObjectToObject(copy, "rope_parameters") : NULL;
    ok = rope && cJSON_AddStringToObject(rope, "rope_type", "default") &&
         cJSON_AddNumberToObject(rope, "rope_theta", theta);
    if (!ok) {
        cJSON_Delete(copy);
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    }
    *out = copy;
    return MHV_OK;
}

/* The tower's config (heap) from vision_config, read as the tower of model_type mt. */
static mhv_status tower_part(const cJSON *root, const char *mt, const char *name,
                             mhv_config **out, mhv_error *err)
{
    *out = NULL;
    const cJSON *vc = mhv_json_get(root, "vision_config");
    if (!vc || !cJSON_IsObject(vc))
        return mhv_fail(err, MHV_EFORMAT, name, "missing object 'vision_config'");
    cJSON *copy = cJSON_Duplicate(vc, 1);
    mhv_config *c = malloc(sizeof *c);
    if (copy)
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "model_type");
    if (!copy || !c || !cJSON_AddStringToObject(copy, "model_type",
                                                strcmp(mt, "qwen2_5_vl") == 0
                                                    ? "qwen2_5_vl_vision" : "qwen2_vl_vision")) {
        cJSON_Delete(copy);
        free(c);
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    }
    mhv_status st = mhv_config_parse_json(copy, "qwen2_vl_vision", name, c, err);
    cJSON_Delete(copy);
    if (st) {
        free(c);
        return st;
    }
    *out = c;
    return MHV_OK;
}

/* The text model's config (heap). */
static mhv_status text_part(const cJSON *root, const char *name, mhv_config **out,
                            int section[3], mhv_error *err)
{
    *out = NULL;
    cJSON *tj;
    mhv_status st = text_json(root, &tj, section, name, err);
    if (st)
        return st;
    mhv_config *c = malloc(sizeof *c);
    if (!c)
        st = mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    else
        st = mhv_config_parse_json(tj, "qwen2", name, c, err);
    cJSON_Delete(tj);
    if (st) {
        free(c);
        return st;
    }
    *out = c;
    return MHV_OK;
}

static mhv_status qvl_config(const cJSON *root, mhv_config *c, const char *name, mhv_error *err)
{
    mhv_config *tc = NULL, *vc = NULL;
    int section[3];
    mhv_status st;
    if ((st = text_part(root, name, &tc, section, err)) ||
        (st = tower_part(root, c->model_type, name, &vc, err)))
        goto out;
    if (section[0] + section[1] + section[2] != tc->head_dim / 2) {
        st = mhv_fail(err, MHV_EFORMAT, name,
                      "mrope_section %d + %d + %d is not the %d rotary pairs of a %d-dimension "
                      "head", section[0], section[1], section[2], tc->head_dim / 2, tc->head_dim);
        goto out;
    }
    if (vc->qvl_out != tc->hidden_size) {
        st = mhv_fail(err, MHV_EFORMAT, name,
                      "the vision tower's merger gives %d features, the text model takes %d",
                      vc->qvl_out, tc->hidden_size);
        goto out;
    }
    mhv_config_adopt(c, tc);
    int tie = 0;
    if ((st = mhv_json_bool(root, "tie_word_embeddings", 0, &tie, name, err)) ||
        (st = mhv_json_int(root, "image_token_id", 151655, 0, MHV_MAX_VOCAB, &c->image_token_id,
                           name, err)) ||
        (st = mhv_json_int(root, "video_token_id", 151656, -1, MHV_MAX_VOCAB, &c->video_token_id,
                           name, err)))
        goto out;
    c->tie_word_embeddings = tie || tc->tie_word_embeddings;
    if (c->image_token_id >= c->vocab_size) {
        st = mhv_fail(err, MHV_EFORMAT, name,
                      "image_token_id %d is outside the text model's %d tokens",
                      c->image_token_id, c->vocab_size);
        goto out;
    }
    memcpy(c->mrope_section, section, sizeof c->mrope_section);
    c->image_in_text = 1;
    c->image_merge = vc->image_merge;
    c->image_size = vc->image_size, c->patch_size = vc->patch_size;
    c->num_channels = vc->num_channels, c->temporal_patch = vc->temporal_patch;
    c->image_full = 1; /* every patch is in a feature (no [CLS] to drop) */
out:
    free(tc);
    free(vc);
    return st;
}

static size_t qvl_vector_floats(const mhv_config *c)
{
    (void)c;
    return 1; /* the parts load their own */
}

static mhv_status qvl_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    (void)ld;
    /* both layouts: save_pretrained's (model. or language_model., visual., lm_head) and
     * transformers 5's modules' (model.language_model., model.visual., lm_head) */
    static const char *const text_names[][2] = {{"model.language_model.", "model."},
                                                {"language_model.", "model."},
                                                {"model.", "model."},
                                                {"lm_head.", "lm_head."}};
    static const char *const tower_names[][2] = {{"model.visual.", ""}, {"visual.", ""}};
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", m->dir);
    cJSON *root;
    mhv_status st = mhv_json_load(path, 16u << 20, &root, err);
    if (st)
        return st;
    mhv_config *tc = NULL, *vc = NULL;
    int section[3];
    if (!(st = tower_part(root, m->cfg.model_type, path, &vc, err)) &&
        !(st = mhv_model_open_part(m, vc, tower_names, 2, &m->image_tower, err)) &&
        !(st = text_part(root, path, &tc, section, err))) {
        tc->tie_word_embeddings = m->cfg.tie_word_embeddings;
        st = mhv_model_open_part(m, tc, text_names, 4, &m->text_model, err);
    }
    free(tc);
    free(vc);
    cJSON_Delete(root);
    if (st)
        return st;
    mhv_model_mirror_text(m);
    return MHV_OK;
}

/* pos(3, n): the multimodal positions of ids with one run of image tokens at [at, at +
 * count) of a merged grid mcols wide and mrows high (get_rope_index for one image). */
static void mrope_positions(int n, int at, int count, int mrows, int mcols, int *pos)
{
    int cur = 0;
    for (int i = 0; i < n;) {
        if (i == at) {
            for (int k = 0; k < count; k++) {
                pos[i + k] = cur;
                pos[n + i + k] = cur + k / mcols;
                pos[2 * n + i + k] = cur + k % mcols;
            }
            cur += mrows > mcols ? mrows : mcols;
            i += count;
        } else {
            pos[i] = pos[n + i] = pos[2 * n + i] = cur++;
            i++;
        }
    }
}

static mhv_status qvl_measure(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                              mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_model *v = m->image_tower, *t = m->text_model;
    const mhv_config *vc = &v->cfg;
    int unit = vc->patch_size * vc->image_merge;
    int ih = nn->image_h >= unit ? nn->image_h / unit * unit : unit;
    int iw = nn->image_w >= unit ? nn->image_w / unit * unit : unit;
    int saved_h = nn->image_h, saved_w = nn->image_w;
    int tokens = (ih / vc->patch_size) * (iw / vc->patch_size);
    mhv_capture all = {.last = vc->num_layers - 1, .full_last = 1};
    mhv_error ignored;
    nn->image_h = ih, nn->image_w = iw, nn->measured = 0;
    tower_pass(nn, v, tokens, &all, NULL, &ignored);
    nn->image_h = saved_h, nn->image_w = saved_w;
    size_t tower = nn->measured;
    nn->measured = 0;
    mhv_status st = t->cfg.family->forward(nn, t, ids, n, cap, logits, err);
    size_t feats = (size_t)tokens * (size_t)vc->qvl_out * sizeof(float) +
                   (size_t)n * ((size_t)t->cfg.head_dim + 3) * sizeof(float);
    nn->measured = (tower > nn->measured ? tower : nn->measured) + feats;
    return st;
}

static mhv_status qvl_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                              mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    const mhv_model *v = m->image_tower, *t = m->text_model;
    if (nn->measure)
        return qvl_measure(nn, m, ids, n, cap, logits, err);
    if (!nn->pixels)
        return mhv_fail(err, MHV_EUSAGE, m->dir, "%s takes an image with its prompt", c->arch);
    int rows, cols, M = c->image_merge;
    mhv_status st = tower_grid(&v->cfg, nn->image_h, nn->image_w, &rows, &cols, err);
    if (st)
        return st;
    int count = 0, at = -1, runs = 0;
    for (int i = 0; i < n; i++) {
        if (ids[i] == c->video_token_id && c->video_token_id >= 0)
            return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                            "video is not supported for %s (the prompt holds the video token, "
                            "id %d)", c->arch, c->video_token_id);
        if (ids[i] == c->image_token_id) {
            runs += i == 0 || ids[i - 1] != c->image_token_id;
            at = at < 0 ? i : at;
            count++;
        }
    }
    int mrows = rows / M, mcols = cols / M, tokens = mrows * mcols;
    if (runs > 1)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                        "the prompt holds %d runs of image tokens: several images in a prompt "
                        "are not supported for %s (one is)", runs, c->arch);
    if (count != tokens)
        return mhv_fail(err, MHV_EUSAGE, m->dir,
                        "the prompt holds %d image tokens, the image gives %d features", count,
                        tokens);
    int d = t->cfg.head_dim, half = d / 2;
    size_t NH = (size_t)n * (size_t)half;
    /* feats (tokens, H) */
    float *feats = malloc((size_t)tokens * (size_t)c->hidden_size * sizeof *feats);
    float *cos_t = malloc(NH * sizeof *cos_t), *sin_t = malloc(NH * sizeof *sin_t); /* (n, half) */
    float *inv = malloc((size_t)half * sizeof *inv);    /* (half,) */
    int32_t *row = malloc((size_t)n * sizeof *row);     /* (n,) feature row of each token, -1 */
    int *pos = malloc((size_t)n * 3 * sizeof *pos);     /* (3, n) time, height, width */
    unsigned char *axis = malloc((size_t)half);         /* (half,) the axis of each pair */
    if (!feats || !cos_t || !sin_t || !inv || !row || !pos || !axis) {
        st = mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory for %d tokens", n);
        goto out;
    }
    mhv_capture vcap = {.last = -1};
    mhv_capture *tower_cap = nn->image_cap ? nn->image_cap : &vcap;
    tower_cap->last = v->cfg.num_layers - 1, tower_cap->full_last = 1; /* all for the features */
    if ((st = tower_pass(nn, v, rows * cols, tower_cap, feats, err)))
        goto out;
    for (int i = 0; i < n; i++)
        row[i] = ids[i] == c->image_token_id ? i - at : -1;
    mrope_positions(n, at, count, mrows, mcols, pos);
    int t_end = c->mrope_section[0], h_end = t_end + c->mrope_section[1];
    for (int j = 0; j < half; j++) /* pairs of the time, then height, then width sections */
        axis[j] = j < t_end ? 0 : j < h_end ? 1 : 2;
    mhv_rope_inv_freq(&t->cfg.rope, d, inv);
    mhv_rope_table_axes(inv, half, n, pos, axis, cos_t, sin_t);
    nn->embed_given = feats, nn->embed_given_row = row, nn->embed_given_used = 0;
    nn->rope_cos_given = cos_t, nn->rope_sin_given = sin_t;
    st = t->cfg.family->forward(nn, t, ids, n, cap, logits, err);
    if (!st && !nn->embed_given_used)
        st = mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "the text model took no image features");
    nn->embed_given = NULL, nn->embed_given_row = NULL;
    nn->rope_cos_given = nn->rope_sin_given = NULL;
out:
    free(feats), free(cos_t), free(sin_t), free(inv), free(row), free(pos), free(axis);
    return st;
}

const mhv_family mhv_family_qwen2_vl = {
    .name = "qwen2_vl",
    .model_types = model_types,
    .config = qvl_config,
    .vector_floats = qvl_vector_floats,
    .load = qvl_load,
    .forward = qvl_forward,
};
