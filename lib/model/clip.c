/* clip.c - the vision towers of CLIP, SigLIP, OWL-ViT, OWLv2 and Chinese-CLIP (CLIPVisionModel,
 * SiglipVisionModel, OwlViTVisionModel, Owlv2VisionModel, and the vision_model of CLIPModel /
 * SiglipModel / OwlViTModel / Owlv2Model and of the OWL object-detection models, whose sizes
 * are config.json's vision_config):
 * patches projected by the patch convolution (bias in SigLIP), CLIP's class embedding in
 * front, learned positions, CLIP's pre-LayerNorm, pre-norm layers with a QuickGELU (CLIP) or
 * tanh-GELU (SigLIP) MLP. SigLIP has no [CLS] token: its tokens are the patches alone; its
 * attention-pooling head (MAP, vision_use_head) is read for the probe's attention over them.
 *
 *   x = pre_layrnorm([class, P·patch_i] + pos)        (SigLIP: P·patch_i + b + pos)
 *   per layer: x += out_proj(attn(layer_norm1(x)));  x += fc2(act(fc1(layer_norm2(x))))
 *   SigLIP's head: softmax_j((probe Wq + bq)_h · (post_layernorm(x_j) Wk + bk)_h / sqrt(d))
 * Another patch grid than the model's: positions resized to it (bicubic) only when asked
 * (model.h: mhv_model_image_grid). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"clip_vision_model", "siglip_vision_model", "clip",
                                          "siglip", "owlvit_vision_model", "owlvit",
                                          "owlv2_vision_model", "owlv2", "siglip2_vision_model",
                                          "siglip2", "chinese_clip_vision_model",
                                          "chinese_clip", NULL};

/* OWL-ViT and OWLv2 (OwlViTVisionModel, Owlv2VisionModel, and the vision_model of their
 * whole and object-detection models): CLIP's tower with its pre-LayerNorm named
 * pre_layernorm, their own default sizes. */
typedef struct {
    const char *model_type;
    int whole;                 /* the whole model: sizes in vision_config */
    int image_size, patch_size;
    int naflex;                /* SigLIP 2: num_patches positions resized to every image's
                                * grid, a linear patch embedding */
} variant;

static const variant variants[] = {
    {"clip_vision_model", 0, 224, 32, 0}, {"siglip_vision_model", 0, 224, 16, 0},
    {"clip", 1, 224, 32, 0},              {"siglip", 1, 224, 16, 0},
    {"owlvit_vision_model", 0, 768, 32, 0}, {"owlvit", 1, 768, 32, 0},
    {"owlv2_vision_model", 0, 768, 16, 0},  {"owlv2", 1, 768, 16, 0},
    {"siglip2_vision_model", 0, 0, 16, 1}, {"siglip2", 1, 0, 16, 1},
    /* Chinese-CLIP's vision tower is CLIP's (ChineseCLIPVisionModel) */
    {"chinese_clip_vision_model", 0, 224, 32, 0}, {"chinese_clip", 1, 224, 32, 0},
};

static const variant *variant_of(const mhv_config *c)
{
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        if (strcmp(variants[i].model_type, c->arch) == 0)
            return &variants[i];
    return &variants[0];
}

static int is_siglip(const mhv_config *c)
{
    return strncmp(c->arch, "siglip", 6) == 0;
}

static int is_owl(const mhv_config *c)
{
    return strncmp(c->arch, "owl", 3) == 0;
}

static mhv_status clip_config(const cJSON *root, mhv_config *c, const char *name,
                              mhv_error *err)
{
    int siglip = is_siglip(c);
    const variant *v = variant_of(c);
    /* the whole CLIP/SigLIP/OWL model: the vision tower's sizes are in vision_config */
    const cJSON *vc = root;
    if (v->whole) {
        vc = mhv_json_get(root, "vision_config");
        if (!vc || !cJSON_IsObject(vc))
            return mhv_fail(err, MHV_EFORMAT, name, "missing object 'vision_config'");
    }
    static const mhv_size_keys keys = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "vocab_size", "max_position_embeddings",
                                       768, 12, 12, 3072, 1, 1};
    mhv_status st;
    double eps;
    int num_patches = 0;
    if ((st = mhv_config_sizes(vc, &keys, 1, c, name, err)) ||
        (v->naflex && (st = mhv_json_int(vc, "num_patches", 256, 1, MHV_MAX_POSITIONS,
                                         &num_patches, name, err))) ||
        (!v->naflex && (st = mhv_json_int(vc, "image_size", v->image_size, 1, 1 << 16,
                                          &c->image_size, name, err))) ||
        (st = mhv_json_int(vc, "patch_size", v->patch_size, 1, 1 << 12, &c->patch_size, name,
                           err)) ||
        (st = mhv_json_int(vc, "num_channels", 3, 1, 16, &c->num_channels, name, err)) ||
        (st = mhv_json_num(vc, "layer_norm_eps", siglip ? 1e-6 : 1e-5, -1e-300, 1, &eps, name,
                           err)) ||
        (st = mhv_config_act(vc, "hidden_act", siglip ? MHV_ACT_GELU_NEW : MHV_ACT_QUICK_GELU,
                             &c->act, name, err)))
        return st;
    if (v->naflex) { /* a square table of num_patches positions, as transformers reshapes it */
        int g = (int)sqrt((double)num_patches);
        while ((long)g * g > num_patches)
            g--;
        while ((long)(g + 1) * (g + 1) <= num_patches)
            g++;
        if ((long)g * g != num_patches)
            return mhv_fail(err, MHV_EFORMAT, name, "num_patches %d is not a square",
                            num_patches);
        if ((long)g * c->patch_size > 1 << 16)
            return mhv_fail(err, MHV_EFORMAT, name, "num_patches * patch_size is too large");
        c->image_size = g * c->patch_size;
        c->vision_pos_bilinear_aa = 1;
        c->vision_patch_hwc = 1;
    }
    /* transformers' patch convolution (stride patch_size) drops the pixels of a last partial
     * patch: (image_size // patch_size)^2 patches and positions, patch_size dividing or not */
    int side = c->image_size / c->patch_size;
    if (side < 1)
        return mhv_fail(err, MHV_EFORMAT, name, "image_size %d is smaller than patch_size %d",
                        c->image_size, c->patch_size);
    if ((long)side * side + 1 > MHV_MAX_POSITIONS)
        return mhv_fail(err, MHV_EFORMAT, name, "image_size / patch_size gives too many patches");
    c->layer_norm_eps = (float)eps;
    c->vision = 1;
    c->vision_extra = siglip ? 0 : 1;
    c->vision_pos = v->naflex ? MHV_VPOS_ALWAYS /* every image its own grid */
                    : siglip  ? MHV_VPOS_ASKED_GRID
                              : MHV_VPOS_ASKED_SIZE;
    c->max_positions = c->vision_extra + side * side;
    c->vocab_size = 1;
    return MHV_OK;
}

static size_t clip_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    return 13 * H + (size_t)c->num_layers * (10 * H + (size_t)c->intermediate_size);
}

/* SigLIP's post_layernorm and attention-pooling head, when the checkpoint has the head:
 * only what its attention needs (the probe, the q and k rows of in_proj). */
static mhv_status pool_head_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    int H = m->cfg.hidden_size;
    int64_t probe_dims[3] = {1, 1, H};
    mhv_mat probe = {0}, in_proj;
    float *in_b;
    mhv_status st = mhv_wload_tensor(ld, "head.probe", probe_dims, 3, MHV_W_OPTIONAL, &probe,
                                     err);
    if (st || !probe.data)
        return st;
    if ((st = mhv_wload_mat(ld, "head.attention.in_proj_weight", 3 * H, H, 0, &in_proj, err)) ||
        (st = mhv_wload_vec(ld, "head.attention.in_proj_bias", 3 * H, 0, &in_b, err)) ||
        (st = mhv_wload_vec(ld, "post_layernorm.weight", H, 0, &m->norm_g, err)) ||
        (st = mhv_wload_vec(ld, "post_layernorm.bias", H, 0, &m->norm_b, err)) ||
        (st = mhv_wload_zeros(ld, H, &m->pool_probe, err)))
        return st;
    mhv_dtype_to_f32(m->pool_probe, probe.data, probe.dtype, (size_t)H);
    m->pool_q = mhv_mat_rows(&in_proj, 0, H);
    m->pool_k = mhv_mat_rows(&in_proj, H, H);
    m->pool_qb = in_b;
    m->pool_kb = in_b + H;
    return MHV_OK;
}

static mhv_status clip_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"vision_model.", "owlvit.vision_model.",
                                           "owlv2.vision_model.", NULL};
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, P = c->patch_size, C = c->num_channels;
    int side = c->image_size / P, n = c->vision_extra + side * side, siglip = is_siglip(c);
    mhv_wload_prefix(ld, prefixes, "embeddings.patch_embedding.weight");
    const char *pre_ln_g = is_owl(c) ? "pre_layernorm.weight" : "pre_layrnorm.weight";
    const char *pre_ln_b = is_owl(c) ? "pre_layernorm.bias" : "pre_layrnorm.bias";
    int64_t patch_dims[4] = {H, C, P, P};
    mhv_status st;
    if ((c->vision_patch_hwc /* SigLIP 2's nn.Linear over (row, column, channel) patches */
             ? (st = mhv_wload_mat(ld, "embeddings.patch_embedding.weight", H, C * P * P, 0,
                                   &m->patch_emb, err))
             : (st = mhv_wload_tensor(ld, "embeddings.patch_embedding.weight", patch_dims, 4, 0,
                                      &m->patch_emb, err))) ||
        (siglip && (st = mhv_wload_vec(ld, "embeddings.patch_embedding.bias", H, 0,
                                       &m->patch_emb_b, err))) ||
        (!siglip && (st = mhv_wload_vec(ld, "embeddings.class_embedding", H, 0,
                                        &m->extra_tokens, err))) ||
        (st = mhv_wload_mat(ld, "embeddings.position_embedding.weight", n, H, 0, &m->pos_emb,
                            err)) ||
        (!siglip && ((st = mhv_wload_vec(ld, pre_ln_g, H, 0, &m->emb_ln_g, err)) ||
                     (st = mhv_wload_vec(ld, pre_ln_b, H, 0, &m->emb_ln_b, err)))))
        return st;
    for (int l = 0; l < c->num_layers; l++)
        if ((st = mhv_layer_load_clip(ld, l, H, I, &m->layers[l], err)))
            return st;
    return siglip ? pool_head_load(m, ld, err) : MHV_OK;
}

const mhv_family mhv_family_clip = {
    .name = "clip",
    .model_types = model_types,
    .config = clip_config,
    .vector_floats = clip_vector_floats,
    .load = clip_load,
    .forward = mhv_vision_forward,
};
