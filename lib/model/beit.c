/* beit.c - BEiT and data2vec-vision (BeitModel, BeitForImageClassification,
 * BeitForMaskedImageModeling, Data2VecVisionModel, Data2VecVisionForImageClassification ...):
 * ViT's pre-norm layers with a [CLS] token, the query and value projections biased but not
 * the key, layer scales (layer_scale_init_value > 0: lambda_1, lambda_2), learned absolute
 * positions only with use_absolute_position_embeddings, and a relative position bias added to
 * the scores: each layer's own table (use_relative_position_bias) and/or one shared by every
 * layer (use_shared_relative_position_bias), T5-style tables of (2s-1)^2 + 3 distances of an
 * s x s patch grid, the last three for [CLS] to a patch, a patch to [CLS], [CLS] to itself.
 *
 *   x = [cls, P·patch_i + b] (+ pos)
 *   per layer: x += lambda_1 * o(attn(ln_before(x), scores + bias));
 *              x += lambda_2 * fc2(gelu(fc1(ln_after(x))))
 * An image of another patch grid (any: transformers takes it without being asked) resizes
 * the positions (bicubic, model/layers.c) and the bias tables (bilinear) to it; with
 * interpolate_pos_encoding transformers also resizes the (n, n) bias maps to (n, n), which
 * changes nothing. The mean-pooling option, the mask token and the heads (classifier, the
 * masked-image-modeling lm_head) do not touch the attention: they are not read.
 * Weights under the checkpoints' names (encoder.layer.N.attention.attention.query ...,
 * which save_pretrained writes) and transformers 5's module names for BEiT
 * (layers.N.attention.q_proj ..., shared_position_bias ...). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

typedef struct {
    const char *model_type;
    const char *prefix; /* of the classification / masked-image-modeling checkpoints */
} variant;

static const variant variants[] = {
    {"beit", "beit."},
    {"data2vec-vision", "data2vec_vision."},
};

static const char *const model_types[] = {"beit", "data2vec-vision", NULL};

static const variant *variant_of(const mhv_config *c)
{
    return strcmp(c->arch, "beit") == 0 ? &variants[0] : &variants[1];
}

static mhv_status beit_config(const cJSON *root, mhv_config *c, const char *name,
                              mhv_error *err)
{
    static const mhv_size_keys keys = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "vocab_size", "max_position_embeddings",
                                       768, 12, 12, 3072, 1, 1};
    mhv_status st;
    double eps, scale;
    int abs_pos, rel, shared, mean_pool, mask_token;
    if ((st = mhv_config_sizes(root, &keys, 1, c, name, err)) ||
        (st = mhv_json_int(root, "image_size", 224, 1, 1 << 16, &c->image_size, name, err)) ||
        (st = mhv_json_int(root, "patch_size", 16, 1, 1 << 12, &c->patch_size, name, err)) ||
        (st = mhv_json_int(root, "num_channels", 3, 1, 16, &c->num_channels, name, err)) ||
        (st = mhv_json_num(root, "layer_norm_eps", 1e-12, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_GELU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "use_absolute_position_embeddings", 0, &abs_pos, name,
                            err)) ||
        (st = mhv_json_bool(root, "use_relative_position_bias", 0, &rel, name, err)) ||
        (st = mhv_json_bool(root, "use_shared_relative_position_bias", 0, &shared, name,
                            err)) ||
        (st = mhv_json_num(root, "layer_scale_init_value", 0.1, -1e300, 1e300, &scale, name,
                           err)) ||
        /* read to be checked: neither changes the attention */
        (st = mhv_json_bool(root, "use_mean_pooling", 1, &mean_pool, name, err)) ||
        (st = mhv_json_bool(root, "use_mask_token", 0, &mask_token, name, err)))
        return st;
    /* (image_size // patch_size)^2 patches, as transformers' window, dividing or not */
    int side = c->image_size / c->patch_size;
    if (side < 1)
        return mhv_fail(err, MHV_EFORMAT, name, "image_size %d is smaller than patch_size %d",
                        c->image_size, c->patch_size);
    if ((long)side * side + 1 > MHV_MAX_POSITIONS)
        return mhv_fail(err, MHV_EFORMAT, name, "image_size / patch_size gives too many patches");
    c->layer_norm_eps = (float)eps;
    c->attn_bias = 1; /* query and value: the key has none (beit_load) */
    c->vision = 1;
    c->vision_extra = 1;
    c->vision_pos = MHV_VPOS_ALWAYS; /* BeitModel takes any size, resizing what it has */
    c->vision_no_abs_pos = !abs_pos;
    c->vision_rel_bias = (rel ? MHV_VREL_LAYER : 0) | (shared ? MHV_VREL_SHARED : 0);
    c->vision_layer_scale = scale > 0; /* transformers: lambdas only for a value above 0 */
    c->max_positions = 1 + side * side;
    c->vocab_size = 1;
    return MHV_OK;
}

static size_t beit_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    return 4 * H + (size_t)c->num_layers * (11 * H + (size_t)c->intermediate_size);
}

/* The relative position bias table (distances, heads) of an s x s grid under the first of
 * two names. */
static mhv_status table_load(mhv_wload *ld, const mhv_config *c, const char *a, const char *b,
                             mhv_mat *t, mhv_error *err)
{
    int side = c->image_size / c->patch_size, D = (2 * side - 1) * (2 * side - 1) + 3;
    const char *names[] = {a, b};
    return mhv_layer_load_mat2(ld, names, D, c->num_heads, t, err);
}

static mhv_status beit_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    const variant *v = variant_of(c);
    const char *const prefixes[] = {v->prefix, NULL};
    int H = c->hidden_size, I = c->intermediate_size, P = c->patch_size, C = c->num_channels;
    int side = c->image_size / P, n = 1 + side * side;
    mhv_wload_prefix(ld, prefixes, "embeddings.patch_embeddings.projection.weight");
    int64_t patch_dims[4] = {H, C, P, P}, cls_dims[3] = {1, 1, H}, pos_dims[3] = {1, n, H};
    mhv_mat cls, pos = {0};
    mhv_status st;
    if ((st = mhv_wload_tensor(ld, "embeddings.patch_embeddings.projection.weight", patch_dims, 4,
                               0, &m->patch_emb, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.patch_embeddings.projection.bias", H, 0,
                            &m->patch_emb_b, err)) ||
        (st = mhv_wload_tensor(ld, "embeddings.cls_token", cls_dims, 3, 0, &cls, err)) ||
        (!c->vision_no_abs_pos && (st = mhv_wload_tensor(ld, "embeddings.position_embeddings",
                                                     pos_dims, 3, 0, &pos, err))) ||
        (c->vision_rel_bias & MHV_VREL_SHARED &&
         (st = table_load(ld, c, "encoder.relative_position_bias.relative_position_bias_table",
                          "shared_position_bias.relative_position_bias_table",
                          &m->shared_rel_bias, err))) ||
        (st = mhv_wload_zeros(ld, H, &m->extra_tokens, err)))
        return st;
    if (pos.data)
        m->pos_emb = (mhv_mat){.data = pos.data, .dtype = pos.dtype, .rows = n, .cols = H};
    mhv_dtype_to_f32(m->extra_tokens, cls.data, cls.dtype, (size_t)H);
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char a[200], b[200];
        /* the checkpoints' names, then transformers 5's modules */
#define NAMES(old_, new_)                                                                         \
    (snprintf(a, sizeof a, "encoder.layer.%d.%s", l, old_),                                       \
     snprintf(b, sizeof b, "layers.%d.%s", l, new_), (const char *[]){a, b})
        if ((st = mhv_layer_load_linear2(ld, NAMES("attention.attention.query",
                                                   "attention.q_proj"), H, H, 1, &ly->q,
                                         &ly->q_b, err)) ||
            (st = mhv_layer_load_linear2(ld, NAMES("attention.attention.key", "attention.k_proj"),
                                         H, H, 0, &ly->k, NULL, err)) ||
            (st = mhv_layer_load_linear2(ld, NAMES("attention.attention.value",
                                                   "attention.v_proj"), H, H, 1, &ly->v,
                                         &ly->v_b, err)) ||
            (st = mhv_layer_load_linear2(ld, NAMES("attention.output.dense", "attention.o_proj"),
                                         H, H, 1, &ly->o, &ly->o_b, err)) ||
            (st = mhv_layer_load_linear2(ld, NAMES("intermediate.dense", "mlp.fc1"), I, H, 1,
                                         &ly->ffn_up, &ly->ffn_up_b, err)) ||
            (st = mhv_layer_load_linear2(ld, NAMES("output.dense", "mlp.fc2"), H, I, 1,
                                         &ly->ffn_down, &ly->ffn_down_b, err)) ||
            (st = mhv_layer_load_norm2(ld, NAMES("layernorm_before", "layernorm_before"), H,
                                       &ly->ln_attn_g, &ly->ln_attn_b, err)) ||
            (st = mhv_layer_load_norm2(ld, NAMES("layernorm_after", "layernorm_after"), H,
                                       &ly->ln_ffn_g, &ly->ln_ffn_b, err)))
            return st;
        if (c->vision_layer_scale &&
            ((st = mhv_layer_load_vec2(ld, NAMES("lambda_1", "lambda_1"), H, &ly->scale_attn,
                                       err)) ||
             (st = mhv_layer_load_vec2(ld, NAMES("lambda_2", "lambda_2"), H, &ly->scale_ffn,
                                       err))))
            return st;
        if (c->vision_rel_bias & MHV_VREL_LAYER) {
            snprintf(a, sizeof a,
                     "encoder.layer.%d.attention.attention.relative_position_bias."
                     "relative_position_bias_table", l);
            snprintf(b, sizeof b, "layers.%d.relative_position_bias.relative_position_bias_table",
                     l);
            if ((st = table_load(ld, c, a, b, &ly->rel_bias, err)))
                return st;
        }
#undef NAMES
    }
    return MHV_OK;
}

const mhv_family mhv_family_beit = {
    .name = "beit",
    .model_types = model_types,
    .config = beit_config,
    .vector_floats = beit_vector_floats,
    .load = beit_load,
    .forward = mhv_vision_forward,
};
