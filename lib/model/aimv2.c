/* aimv2.c - AIMv2's vision encoder (Aimv2VisionModel, and the vision_model of Aimv2Model,
 * whose sizes are config.json's vision_config): the patch convolution and an RMSNorm of the
 * patch embeddings, then their positions (a learned table, or the native models' 2-D
 * sine-cosine positions of the image's own grid); no [CLS]: the tokens are the patches alone;
 * pre-RMSNorm layers with a gated MLP (act(gate) * up); the attention-pooling head (use_head)
 * is read for its probe's attention over the final RMSNorm's tokens (--query pool).
 *
 *   x = rms(P·patch_i + b) + pos_i
 *   per layer: x += out_proj(attn(rms_norm1(x)));  x += down(act(gate(h)) * up(h)),
 *              h = rms_norm2(x)
 *   head: softmax_j(cls_token_h · (rms_norm(x_j) Wk + bk)_h / sqrt(d))
 * A learned table is for the model's own grid only (transformers resizes nothing for AIMv2);
 * the native positions follow any grid. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"aimv2_vision_model", "aimv2", NULL};

static mhv_status aimv2_config(const cJSON *root, mhv_config *c, const char *name,
                               mhv_error *err)
{
    const cJSON *vc = root;
    if (strcmp(c->arch, "aimv2") == 0) { /* the whole model: its vision tower's sizes */
        vc = mhv_json_get(root, "vision_config");
        if (!vc || !cJSON_IsObject(vc))
            return mhv_fail(err, MHV_EFORMAT, name, "missing object 'vision_config'");
    }
    static const mhv_size_keys keys = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "vocab_size", "max_position_embeddings",
                                       1024, 24, 8, 2816, 1, 1};
    mhv_status st;
    double eps;
    int qkv_bias, mlp_bias, native, use_head;
    if ((st = mhv_config_sizes(vc, &keys, 1, c, name, err)) ||
        (st = mhv_json_int(vc, "image_size", 224, 1, 1 << 16, &c->image_size, name, err)) ||
        (st = mhv_json_int(vc, "patch_size", 14, 1, 1 << 12, &c->patch_size, name, err)) ||
        (st = mhv_json_int(vc, "num_channels", 3, 1, 16, &c->num_channels, name, err)) ||
        (st = mhv_json_num(vc, "rms_norm_eps", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(vc, "hidden_act", MHV_ACT_SILU, &c->act, name, err)) ||
        (st = mhv_json_bool(vc, "qkv_bias", 0, &qkv_bias, name, err)) ||
        (st = mhv_json_bool(vc, "mlp_bias", 0, &mlp_bias, name, err)) ||
        (st = mhv_json_bool(vc, "is_native", 0, &native, name, err)) ||
        /* read to be checked: the head's weights are read when present (aimv2_load) */
        (st = mhv_json_bool(vc, "use_head", 1, &use_head, name, err)))
        return st;
    if (native && c->hidden_size % 4)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "hidden_size %d is not a multiple of 4 (the native models' 2-D "
                        "sine-cosine positions)", c->hidden_size);
    int side = c->image_size / c->patch_size;
    if (side < 1)
        return mhv_fail(err, MHV_EFORMAT, name, "image_size %d is smaller than patch_size %d",
                        c->image_size, c->patch_size);
    if ((long)side * side > MHV_MAX_POSITIONS)
        return mhv_fail(err, MHV_EFORMAT, name, "image_size / patch_size gives too many patches");
    c->layer_norm_eps = (float)eps;
    c->attn_bias = qkv_bias, c->attn_out_bias = qkv_bias, c->mlp_bias = mlp_bias;
    c->gated_ffn = 1;
    c->vision_gate_act = 1;
    c->vision_rms = 1;
    c->vision_sincos2d = native;
    c->vision_no_abs_pos = native;
    c->vision = 1;
    c->vision_extra = 0;
    c->vision_pos = native ? MHV_VPOS_ALWAYS : MHV_VPOS_NEVER;
    c->max_positions = side * side;
    c->vocab_size = 1;
    return MHV_OK;
}

static size_t aimv2_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    return 8 * H + (size_t)c->num_layers * (6 * H + 2 * (size_t)c->intermediate_size);
}

/* The attention-pooling head, when the checkpoint has it: what its attention needs (the
 * probe, the key projection) and the final RMSNorm before it. */
static mhv_status pool_head_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    int H = m->cfg.hidden_size;
    int64_t probe_dims[3] = {1, 1, H};
    mhv_mat probe = {0};
    mhv_status st = mhv_wload_tensor(ld, "head.cls_token", probe_dims, 3, MHV_W_OPTIONAL, &probe,
                                     err);
    if (st || !probe.data)
        return st;
    if ((st = mhv_wload_mat(ld, "head.k_proj.weight", H, H, 0, &m->pool_k, err)) ||
        (m->cfg.attn_bias &&
         (st = mhv_wload_vec(ld, "head.k_proj.bias", H, 0, &m->pool_kb, err))) ||
        (st = mhv_wload_vec(ld, "rms_norm.weight", H, 0, &m->norm_g, err)) ||
        (st = mhv_wload_zeros(ld, H, &m->pool_probe, err)))
        return st;
    mhv_dtype_to_f32(m->pool_probe, probe.data, probe.dtype, (size_t)H);
    return MHV_OK;
}

static mhv_status aimv2_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"vision_model.", NULL};
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, P = c->patch_size, C = c->num_channels;
    int side = c->image_size / P, qb = c->attn_bias, mb = c->mlp_bias;
    mhv_wload_prefix(ld, prefixes, "embeddings.patch_embed.weight");
    int64_t patch_dims[4] = {H, C, P, P};
    mhv_status st;
    if ((st = mhv_wload_tensor(ld, "embeddings.patch_embed.weight", patch_dims, 4, 0,
                               &m->patch_emb, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.patch_embed.bias", H, 0, &m->patch_emb_b, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.rms_norm.weight", H, 0, &m->patch_norm_g, err)) ||
        (!c->vision_sincos2d &&
         (st = mhv_wload_mat(ld, "embeddings.position_embedding.weight", side * side, H, 0,
                             &m->pos_emb, err))))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n1[160], n2[160];
#define N(s_) (snprintf(n1, sizeof n1, "encoder.layers.%d.%s.weight", l, s_), n1)
#define B(s_) (snprintf(n2, sizeof n2, "encoder.layers.%d.%s.bias", l, s_), n2)
        if ((st = mhv_wload_mat(ld, N("attention.q_proj"), H, H, 0, &ly->q, err)) ||
            (qb && (st = mhv_wload_vec(ld, B("attention.q_proj"), H, 0, &ly->q_b, err))) ||
            (st = mhv_wload_mat(ld, N("attention.k_proj"), H, H, 0, &ly->k, err)) ||
            (qb && (st = mhv_wload_vec(ld, B("attention.k_proj"), H, 0, &ly->k_b, err))) ||
            (st = mhv_wload_mat(ld, N("attention.v_proj"), H, H, 0, &ly->v, err)) ||
            (qb && (st = mhv_wload_vec(ld, B("attention.v_proj"), H, 0, &ly->v_b, err))) ||
            (st = mhv_wload_mat(ld, N("attention.out_proj"), H, H, 0, &ly->o, err)) ||
            (qb && (st = mhv_wload_vec(ld, B("attention.out_proj"), H, 0, &ly->o_b, err))) ||
            (st = mhv_wload_vec(ld, N("rms_norm1"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_wload_vec(ld, N("rms_norm2"), H, 0, &ly->ln_ffn_g, err)) ||
            (st = mhv_wload_mat(ld, N("ffn.gate_proj"), I, H, 0, &ly->ffn_gate, err)) ||
            (mb && (st = mhv_wload_vec(ld, B("ffn.gate_proj"), I, 0, &ly->ffn_gate_b, err))) ||
            (st = mhv_wload_mat(ld, N("ffn.up_proj"), I, H, 0, &ly->ffn_up, err)) ||
            (mb && (st = mhv_wload_vec(ld, B("ffn.up_proj"), I, 0, &ly->ffn_up_b, err))) ||
            (st = mhv_wload_mat(ld, N("ffn.down_proj"), H, I, 0, &ly->ffn_down, err)) ||
            (mb && (st = mhv_wload_vec(ld, B("ffn.down_proj"), H, 0, &ly->ffn_down_b, err))))
            return st;
#undef N
#undef B
    }
    return pool_head_load(m, ld, err);
}

const mhv_family mhv_family_aimv2 = {
    .name = "aimv2",
    .model_types = model_types,
    .config = aimv2_config,
    .vector_floats = aimv2_vector_floats,
    .load = aimv2_load,
    .forward = mhv_vision_forward,
};
