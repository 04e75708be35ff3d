/* clip.c - the vision towers of CLIP and SigLIP (CLIPVisionModel, SiglipVisionModel, and
 * the vision_model of CLIPModel / SiglipModel, whose sizes are config.json's vision_config):
 * patches projected by the patch convolution (bias in SigLIP), CLIP's class embedding in
 * front, learned positions, CLIP's pre-LayerNorm, pre-norm layers with a QuickGELU (CLIP) or
 * tanh-GELU (SigLIP) MLP. SigLIP has no [CLS] token: its tokens are the patches alone (its
 * pooling head's attention is not a head of these layers).
 *
 *   x = pre_layrnorm([class, P·patch_i] + pos)        (SigLIP: P·patch_i + b + pos)
 *   per layer: x += out_proj(attn(layer_norm1(x)));  x += fc2(act(fc1(layer_norm2(x)))) */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"clip_vision_model", "siglip_vision_model", "clip",
                                          "siglip", NULL};

static int is_siglip(const mhv_config *c)
{
    return strncmp(c->arch, "siglip", 6) == 0;
}

static mhv_status clip_config(const cJSON *root, mhv_config *c, const char *name,
                              mhv_error *err)
{
    int siglip = is_siglip(c);
    /* the whole CLIP/SigLIP model: the vision tower's sizes are in vision_config */
    const cJSON *vc = root;
    if (strcmp(c->arch, "clip") == 0 || strcmp(c->arch, "siglip") == 0) {
        vc = mhv_json_get(root, "vision_config");
        if (!vc || !cJSON_IsObject(vc))
            return mhv_fail(err, MHV_EFORMAT, name, "missing object 'vision_config'");
    }
    static const mhv_size_keys keys = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "vocab_size", "max_position_embeddings",
                                       768, 12, 12, 3072, 1, 1};
    mhv_status st;
    double eps;
    if ((st = mhv_config_sizes(vc, &keys, 1, c, name, err)) ||
        (st = mhv_json_int(vc, "image_size", 224, 1, 1 << 16, &c->image_size, name, err)) ||
        (st = mhv_json_int(vc, "patch_size", siglip ? 16 : 32, 1, 1 << 12, &c->patch_size, name,
                           err)) ||
        (st = mhv_json_int(vc, "num_channels", 3, 1, 16, &c->num_channels, name, err)) ||
        (st = mhv_json_num(vc, "layer_norm_eps", siglip ? 1e-6 : 1e-5, -1e-300, 1, &eps, name,
                           err)) ||
        (st = mhv_config_act(vc, "hidden_act", siglip ? MHV_ACT_GELU_NEW : MHV_ACT_QUICK_GELU,
                             &c->act, name, err)))
        return st;
    if (c->image_size % c->patch_size)
        return mhv_fail(err, MHV_EFORMAT, name, "patch_size %d does not divide image_size %d",
                        c->patch_size, c->image_size);
    int side = c->image_size / c->patch_size;
    if ((long)side * side + 1 > MHV_MAX_POSITIONS)
        return mhv_fail(err, MHV_EFORMAT, name, "image_size / patch_size gives too many patches");
    c->layer_norm_eps = (float)eps;
    c->vision = 1;
    c->vision_extra = siglip ? 0 : 1;
    c->max_positions = c->vision_extra + side * side;
    c->vocab_size = 1;
    return MHV_OK;
}

static size_t clip_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    return 8 * H + (size_t)c->num_layers * (10 * H + (size_t)c->intermediate_size);
}

static mhv_status clip_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"vision_model.", NULL};
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, P = c->patch_size, C = c->num_channels;
    int side = c->image_size / P, n = c->vision_extra + side * side, siglip = is_siglip(c);
    mhv_wload_prefix(ld, prefixes, "embeddings.patch_embedding.weight");
    int64_t patch_dims[4] = {H, C, P, P};
    mhv_status st;
    if ((st = mhv_wload_tensor(ld, "embeddings.patch_embedding.weight", patch_dims, 4, 0,
                               &m->patch_emb, err)) ||
        (siglip && (st = mhv_wload_vec(ld, "embeddings.patch_embedding.bias", H, 0,
                                       &m->patch_emb_b, err))) ||
        (!siglip && (st = mhv_wload_vec(ld, "embeddings.class_embedding", H, 0,
                                        &m->extra_tokens, err))) ||
        (st = mhv_wload_mat(ld, "embeddings.position_embedding.weight", n, H, 0, &m->pos_emb,
                            err)) ||
        (!siglip && ((st = mhv_wload_vec(ld, "pre_layrnorm.weight", H, 0, &m->emb_ln_g, err)) ||
                     (st = mhv_wload_vec(ld, "pre_layrnorm.bias", H, 0, &m->emb_ln_b, err)))))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n1[160];
#define N(suffix) (snprintf(n1, sizeof n1, "encoder.layers.%d.%s", l, suffix), n1)
        if ((st = mhv_wload_mat(ld, N("self_attn.q_proj.weight"), H, H, 0, &ly->q, err)) ||
            (st = mhv_wload_vec(ld, N("self_attn.q_proj.bias"), H, 0, &ly->q_b, err)) ||
            (st = mhv_wload_mat(ld, N("self_attn.k_proj.weight"), H, H, 0, &ly->k, err)) ||
            (st = mhv_wload_vec(ld, N("self_attn.k_proj.bias"), H, 0, &ly->k_b, err)) ||
            (st = mhv_wload_mat(ld, N("self_attn.v_proj.weight"), H, H, 0, &ly->v, err)) ||
            (st = mhv_wload_vec(ld, N("self_attn.v_proj.bias"), H, 0, &ly->v_b, err)) ||
            (st = mhv_wload_mat(ld, N("self_attn.out_proj.weight"), H, H, 0, &ly->o, err)) ||
            (st = mhv_wload_vec(ld, N("self_attn.out_proj.bias"), H, 0, &ly->o_b, err)) ||
            (st = mhv_wload_vec(ld, N("layer_norm1.weight"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_wload_vec(ld, N("layer_norm1.bias"), H, 0, &ly->ln_attn_b, err)) ||
            (st = mhv_wload_vec(ld, N("layer_norm2.weight"), H, 0, &ly->ln_ffn_g, err)) ||
            (st = mhv_wload_vec(ld, N("layer_norm2.bias"), H, 0, &ly->ln_ffn_b, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.fc1.weight"), I, H, 0, &ly->ffn_up, err)) ||
            (st = mhv_wload_vec(ld, N("mlp.fc1.bias"), I, 0, &ly->ffn_up_b, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.fc2.weight"), H, I, 0, &ly->ffn_down, err)) ||
            (st = mhv_wload_vec(ld, N("mlp.fc2.bias"), H, 0, &ly->ffn_down_b, err)))
            return st;
#undef N
    }
    return MHV_OK;
}

static mhv_status clip_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                               mhv_capture *cap, float *logits, mhv_error *err)
{
    (void)ids;
    const mhv_config *c = &m->cfg;
    if (logits)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "logits need a decoder model, not %s",
                        c->arch);
    int H = c->hidden_size, I = c->intermediate_size, E = c->vision_extra;
    int K = c->num_channels * c->patch_size * c->patch_size, np = n - E;
    size_t nh = (size_t)n * (size_t)H;
    float *x, *xb, *q, *k, *v, *ctx, *tmp; /* (n, H) each */
    float *ffn;                            /* (n, I) */
    float *patches;                        /* (patches, C*P*P) */
    const mhv_nn_buf bufs[] = {{&x, nh},  {&xb, nh},  {&q, nh},   {&k, nh},
                               {&v, nh},  {&ctx, nh}, {&tmp, nh}, {&ffn, (size_t)n * (size_t)I},
                               {&patches, (size_t)np * (size_t)K}};
    int widest = I > H ? I : H;
    mhv_nn_shape shape = {n, H, K > widest ? K : widest, c->head_dim};
    mhv_status st = mhv_nn_begin(nn, &shape, bufs, (int)(sizeof bufs / sizeof bufs[0]), err);
    if (st)
        return st;

    mhv_layer_vision_embed(nn, m, n, x, patches, tmp);
    if (m->emb_ln_g) {
        mhv_norm pre = {MHV_NORM_LAYER, m->emb_ln_g, m->emb_ln_b, c->layer_norm_eps};
        mhv_nn_norm(nn, x, x, &pre, n, H);
    }
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_norm ln1 = {MHV_NORM_LAYER, ly->ln_attn_g, ly->ln_attn_b, c->layer_norm_eps};
        mhv_norm ln2 = {MHV_NORM_LAYER, ly->ln_ffn_g, ly->ln_ffn_b, c->layer_norm_eps};
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        mhv_nn_norm(nn, xb, x, &ln1, n, H);
        mhv_nn_attention(nn, &attn, xb, n, l,
                         &(mhv_attn_bufs){.q = q, .k = k, .v = v, .ctx = ctx}, cap);
        if (mhv_capture_done(cap, l))
            break;
        mhv_nn_linear(nn, tmp, ctx, &ly->o, ly->o_b, n, MHV_NN_NO_ACT);
        mhv_nn_add(nn, x, tmp, n, H);
        mhv_nn_norm(nn, xb, x, &ln2, n, H);
        mhv_nn_linear(nn, ffn, xb, &ly->ffn_up, ly->ffn_up_b, n, (int)c->act);
        mhv_nn_linear(nn, tmp, ffn, &ly->ffn_down, ly->ffn_down_b, n, MHV_NN_NO_ACT);
        mhv_nn_add(nn, x, tmp, n, H);
    }
    return MHV_OK;
}

const mhv_family mhv_family_clip = {
    .name = "clip",
    .model_types = model_types,
    .config = clip_config,
    .vector_floats = clip_vector_floats,
    .load = clip_load,
    .forward = clip_forward,
};
