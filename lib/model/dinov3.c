/* dinov3.c - DINOv3's vision transformers (DINOv3ViTModel, DINOv3ViTBackbone): the patch
 * convolution, a [CLS] token and register tokens before the patches, no learned positions:
 * instead each patch's query and key are turned by a 2-D rotary embedding of its centre in
 * the patch grid (the [CLS] and register tokens are not turned); pre-norm layers with layer
 * scales, a GELU MLP or a gated one (SwiGLU), optional biases.
 *
 *   x = [cls, reg_1 .. reg_R, P·patch_i + b]
 *   per layer: x += ls1 * o(attn(rope(q), rope(k), v)), q, k, v of norm1(x)
 *              x += ls2 * mlp(norm2(x))
 *   rope of the patch at (r, c) of a rows x cols grid: y = 2 (r + 0.5) / rows - 1 and
 *   x = 2 (c + 0.5) / cols - 1; per head, half = d/2 angles 2π y f_j then 2π x f_j
 *   (f_j = 1 / rope_theta^(4j/d), j < d/4), rotating dimension i with i + d/2.
 * Any image size: the rotation follows the image's own grid (model/layers.c). Weights under
 * transformers' module names (model.layer.N ...) or the hub's (layer.N ...). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"dinov3_vit", NULL};

static mhv_status dinov3_config(const cJSON *root, mhv_config *c, const char *name,
                                mhv_error *err)
{
    static const mhv_size_keys keys = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "vocab_size", "max_position_embeddings",
                                       384, 12, 6, 1536, 1, 1};
    mhv_status st;
    double eps, theta;
    int qb, kb, vb, pb, mb, gated, registers;
    if ((st = mhv_config_sizes(root, &keys, 1, c, name, err)) ||
        (st = mhv_json_int(root, "image_size", 224, 1, 1 << 16, &c->image_size, name, err)) ||
        (st = mhv_json_int(root, "patch_size", 16, 1, 1 << 12, &c->patch_size, name, err)) ||
        (st = mhv_json_int(root, "num_channels", 3, 1, 16, &c->num_channels, name, err)) ||
        (st = mhv_json_num(root, "layer_norm_eps", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_json_num(root, "rope_theta", 100, 1e-300, 1e300, &theta, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_GELU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "query_bias", 1, &qb, name, err)) ||
        (st = mhv_json_bool(root, "key_bias", 0, &kb, name, err)) ||
        (st = mhv_json_bool(root, "value_bias", 1, &vb, name, err)) ||
        (st = mhv_json_bool(root, "proj_bias", 1, &pb, name, err)) ||
        (st = mhv_json_bool(root, "mlp_bias", 1, &mb, name, err)) ||
        (st = mhv_json_bool(root, "use_gated_mlp", 0, &gated, name, err)) ||
        (st = mhv_json_int(root, "num_register_tokens", 0, 0, 256, &registers, name, err)))
        return st;
    /* transformers' rotary table has 4 * ceil(d / 4) columns: only d % 4 == 0 runs there */
    if (c->head_dim % 4)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "head_dim %d is not a multiple of 4 (DINOv3's 2-D rotary positions)",
                        c->head_dim);
    if (c->head_dim / 4 > MHV_MAX_ROPE_PAIRS)
        return mhv_fail(err, MHV_EFORMAT, name, "head_dim %d is too large (at most %d)",
                        c->head_dim, 4 * MHV_MAX_ROPE_PAIRS);
    int side = c->image_size / c->patch_size;
    if (side < 1)
        return mhv_fail(err, MHV_EFORMAT, name, "image_size %d is smaller than patch_size %d",
                        c->image_size, c->patch_size);
    if ((long)side * side + 1 + registers > MHV_MAX_POSITIONS)
        return mhv_fail(err, MHV_EFORMAT, name, "image_size / patch_size gives too many patches");
    c->layer_norm_eps = (float)eps;
    c->rope = (mhv_rope){.theta = theta};
    c->attn_bias = qb, c->vision_key_bias = kb, c->vision_value_bias = vb;
    c->attn_out_bias = pb, c->mlp_bias = mb;
    c->gated_ffn = gated;
    c->vision_gate_act = gated; /* the gate takes hidden_act, not DINOv2's fixed SiLU */
    c->vision = 1;
    c->vision_extra = 1 + registers;
    c->vision_registers = registers;
    c->vision_no_abs_pos = 1;
    c->vision_rope2d = 1;
    c->vision_layer_scale = 1;
    c->vision_pos = MHV_VPOS_ALWAYS; /* nothing to resize: the rotation follows the grid */
    c->max_positions = 1 + registers + side * side;
    c->vocab_size = 1;
    return MHV_OK;
}

static size_t dinov3_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    return (6 + (size_t)c->vision_extra) * H +
           (size_t)c->num_layers * (11 * H + 2 * (size_t)c->intermediate_size);
}

static mhv_status dinov3_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, P = c->patch_size, C = c->num_channels;
    int R = c->vision_registers;
    int64_t patch_dims[4] = {H, C, P, P}, cls_dims[3] = {1, 1, H}, reg_dims[3] = {1, R, H};
    mhv_mat cls, reg = {0};
    mhv_status st;
    if ((st = mhv_wload_tensor(ld, "embeddings.patch_embeddings.weight", patch_dims, 4, 0,
                               &m->patch_emb, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.patch_embeddings.bias", H, 0, &m->patch_emb_b,
                            err)) ||
        (st = mhv_wload_tensor(ld, "embeddings.cls_token", cls_dims, 3, 0, &cls, err)) ||
        (R && (st = mhv_wload_tensor(ld, "embeddings.register_tokens", reg_dims, 3, 0, &reg,
                                     err))) ||
        (st = mhv_wload_zeros(ld, c->vision_extra * H, &m->extra_tokens, err)))
        return st;
    mhv_dtype_to_f32(m->extra_tokens, cls.data, cls.dtype, (size_t)H);
    if (R)
        mhv_dtype_to_f32(m->extra_tokens + H, reg.data, reg.dtype, (size_t)R * (size_t)H);
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char a[160], b[160];
        /* transformers' modules, then the hub's files (without the encoder's "model.") */
#define NAMES(s_)                                                                                 \
    (snprintf(a, sizeof a, "model.layer.%d.%s", l, s_),                                           \
     snprintf(b, sizeof b, "layer.%d.%s", l, s_), (const char *const[]){a, b})
        if ((st = mhv_layer_load_linear2(ld, NAMES("attention.q_proj"), H, H, c->attn_bias,
                                         &ly->q, &ly->q_b, err)) ||
            (st = mhv_layer_load_linear2(ld, NAMES("attention.k_proj"), H, H,
                                         c->vision_key_bias, &ly->k, &ly->k_b, err)) ||
            (st = mhv_layer_load_linear2(ld, NAMES("attention.v_proj"), H, H,
                                         c->vision_value_bias, &ly->v, &ly->v_b, err)) ||
            (st = mhv_layer_load_linear2(ld, NAMES("attention.o_proj"), H, H, c->attn_out_bias,
                                         &ly->o, &ly->o_b, err)) ||
            (st = mhv_layer_load_norm2(ld, NAMES("norm1"), H, &ly->ln_attn_g, &ly->ln_attn_b,
                                       err)) ||
            (st = mhv_layer_load_norm2(ld, NAMES("norm2"), H, &ly->ln_ffn_g, &ly->ln_ffn_b,
                                       err)) ||
            (st = mhv_layer_load_vec2(ld, NAMES("layer_scale1.lambda1"), H, &ly->scale_attn,
                                      err)) ||
            (st = mhv_layer_load_vec2(ld, NAMES("layer_scale2.lambda1"), H, &ly->scale_ffn,
                                      err)) ||
            (c->gated_ffn &&
             (st = mhv_layer_load_linear2(ld, NAMES("mlp.gate_proj"), I, H, c->mlp_bias,
                                          &ly->ffn_gate, &ly->ffn_gate_b, err))) ||
            (st = mhv_layer_load_linear2(ld, NAMES("mlp.up_proj"), I, H, c->mlp_bias,
                                         &ly->ffn_up, &ly->ffn_up_b, err)) ||
            (st = mhv_layer_load_linear2(ld, NAMES("mlp.down_proj"), H, I, c->mlp_bias,
                                         &ly->ffn_down, &ly->ffn_down_b, err)))
            return st;
#undef NAMES
    }
    return MHV_OK;
}

const mhv_family mhv_family_dinov3 = {
    .name = "dinov3",
    .model_types = model_types,
    .config = dinov3_config,
    .vector_floats = dinov3_vector_floats,
    .load = dinov3_load,
    .forward = mhv_vision_forward,
};
