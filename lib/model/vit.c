/* vit.c - vision transformers: ViT, ViT-MSN, I-JEPA, DeiT and DINOv2 (ViTModel,
 * ViTForImageClassification, ViTMSNModel ..., IJepaModel ..., DeiTModel ..., Dinov2Model,
 * Dinov2WithRegistersModel): an image cut into patches, each projected to a token (the patch
 * convolution as one linear layer), after a [CLS] token (and DeiT's distillation token, or
 * DINOv2's register tokens; I-JEPA has none: its tokens are the patches alone), with learned
 * positions; pre-norm layers, GELU MLP or DINOv2's SwiGLU, DINOv2's layer scales.
 *
 *   x = [cls (, dist), P·patch_1 + b, ..., P·patch_N + b] + pos
 *   registers: x = [x_cls, reg_1 .. reg_R, x_patches] (the registers take no position)
 *   per layer: x += ls1 * o(attn(ln1(x)));  x += ls2 * fc2(gelu(fc1(ln2(x))))
 *   SwiGLU:    x += ls2 * down(silu(gate(h)) * up(h)),  h = ln2(x)
 * Another patch grid than the model's: DINOv2 resizes its positions to it (bicubic; with
 * registers antialiased), ViT and DeiT only when asked (model.h: mhv_model_image_grid).
 * Weights are read under transformers 5's names (layers.N.attention.q_proj ...) and the
 * names of the checkpoints on the hub (encoder.layer.N.attention.attention.query ...).
 *
 * The Audio Spectrogram Transformer (ASTModel, ASTForAudioClassification) is DeiT over a
 * one-channel image: the filter bank features of a WAV (media/astfeat.h), mel bins as rows
 * and frames as columns, in patch_size squares frequency_stride bins and time_stride frames
 * apart (overlapping: layers.h, mhv_layer_spec_patches), after [CLS] and the distillation
 * token, on the fixed grid max_length and num_mel_bins make (speech and spectrogram set:
 * WAV files in, no image). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

typedef struct {
    const char *model_type;
    const char *prefix;       /* of the *ForImageClassification checkpoints */
    int extra;                /* tokens before the patches */
    int dinov2;               /* layer scales, norm1/norm2, mlp_ratio, use_swiglu_ffn */
    int registers;            /* num_register_tokens after [CLS] */
    double eps_default;
    int spectrogram;          /* AST: patches of the filter bank features */
} variant;

static const variant variants[] = {
    {"vit", "vit.", 1, 0, 0, 1e-12, 0},
    {"vit_msn", "vit.", 1, 0, 0, 1e-6, 0},
    {"ijepa", "ijepa.", 0, 0, 0, 1e-12, 0},
    {"deit", "deit.", 2, 0, 0, 1e-12, 0},
    {"dinov2", "dinov2.", 1, 1, 0, 1e-6, 0},
    {"dinov2_with_registers", "dinov2_with_registers.", 1, 1, 1, 1e-6, 0},
    {"audio-spectrogram-transformer", "audio_spectrogram_transformer.", 2, 0, 0, 1e-12, 1},
};

static const char *const model_types[] = {"vit", "vit_msn", "ijepa", "deit", "dinov2",
                                          "dinov2_with_registers",
                                          "audio-spectrogram-transformer", NULL};

static const variant *variant_of(const mhv_config *c)
{
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        if (strcmp(variants[i].model_type, c->arch) == 0)
            return &variants[i];
    return &variants[0];
}

/* The tokens before and of the patch grid: the image_size / patch_size square, or AST's
 * grid over the features */
static int vit_tokens(const mhv_config *c, const variant *v)
{
    if (v->spectrogram)
        return 2 + ((c->spec_mels - c->patch_size) / c->spec_fstride + 1) *
                       ((c->spec_frames - c->patch_size) / c->spec_tstride + 1);
    int side = c->image_size / c->patch_size;
    return c->vision_extra + side * side;
}

/* ASTConfig's fields: the features' size and the patches' strides (the rest is ViT's) */
static mhv_status ast_config(const cJSON *root, mhv_config *c, const char *name, mhv_error *err)
{
    mhv_status st;
    const cJSON *ps = mhv_json_get(root, "patch_size");
    if (ps && cJSON_IsArray(ps))
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "a patch_size list is not supported (one "
                        "number: square patches)");
    if ((st = mhv_json_int(root, "patch_size", 16, 1, 1 << 12, &c->patch_size, name, err)) ||
        (st = mhv_json_int(root, "frequency_stride", 10, 1, 1 << 12, &c->spec_fstride, name,
                           err)) ||
        (st = mhv_json_int(root, "time_stride", 10, 1, 1 << 12, &c->spec_tstride, name,
                           err)) ||
        (st = mhv_json_int(root, "max_length", 1024, 1, 1 << 16, &c->spec_frames, name, err)) ||
        (st = mhv_json_int(root, "num_mel_bins", 128, 1, 1 << 12, &c->spec_mels, name, err)))
        return st;
    if (c->patch_size > c->spec_mels || c->patch_size > c->spec_frames)
        return mhv_fail(err, MHV_EFORMAT, name, "patch_size %d is larger than num_mel_bins %d "
                        "or max_length %d", c->patch_size, c->spec_mels, c->spec_frames);
    const cJSON *hd = mhv_json_get(root, "head_dim");
    if (hd && !cJSON_IsNull(hd) &&
        (!cJSON_IsNumber(hd) || c->num_heads * hd->valuedouble != c->hidden_size))
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "head_dim other than hidden_size / "
                        "num_attention_heads is not supported");
    c->num_channels = 1;
    c->image_size = 0;
    c->spectrogram = 1;
    c->speech = 1; /* WAV files in */
    return MHV_OK;
}

static mhv_status vit_config(const cJSON *root, mhv_config *c, const char *name, mhv_error *err)
{
    const variant *v = variant_of(c);
    static const mhv_size_keys keys = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "vocab_size", "max_position_embeddings",
                                       768, 12, 12, 3072, 1, 1};
    mhv_status st;
    double eps, ratio = 4;
    int qkv_bias, swiglu = 0, registers = 0;
    if ((st = mhv_config_sizes(root, &keys, 1, c, name, err)) ||
        (v->spectrogram && (st = ast_config(root, c, name, err))) ||
        (!v->spectrogram &&
         (st = mhv_json_int(root, "image_size", v->dinov2 ? 518 : 224, 1, 1 << 16,
                            &c->image_size, name, err))) ||
        (!v->spectrogram &&
         ((st = mhv_json_int(root, "patch_size", v->dinov2 ? 14 : 16, 1, 1 << 12,
                             &c->patch_size, name, err)) ||
          (st = mhv_json_int(root, "num_channels", 3, 1, 16, &c->num_channels, name, err)))) ||
        (st = mhv_json_num(root, "layer_norm_eps", v->eps_default, -1e-300, 1, &eps, name,
                           err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_GELU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "qkv_bias", 1, &qkv_bias, name, err)) ||
        (v->dinov2 && ((st = mhv_json_bool(root, "use_swiglu_ffn", 0, &swiglu, name, err)) ||
                       (st = mhv_json_num(root, "mlp_ratio", 4, 0.01, 64, &ratio, name, err)))) ||
        (v->registers && (st = mhv_json_int(root, "num_register_tokens", 4, 0, 256, &registers,
                                            name, err))))
        return st;
    if (v->dinov2) { /* transformers: int(hidden * mlp_ratio), SwiGLU two thirds of it in 8s */
        double inter = (double)c->hidden_size * ratio;
        if (!(inter >= 1 && inter <= 1 << 24))
            return mhv_fail(err, MHV_EFORMAT, name, "hidden_size * mlp_ratio is out of range");
        c->intermediate_size = (int)inter;
        if (swiglu)
            c->intermediate_size = ((int)(c->intermediate_size * 2.0 / 3) + 7) / 8 * 8;
    }
    /* transformers' patch convolution (stride patch_size) drops the pixels of a last partial
     * patch: (image_size // patch_size)^2 patches and positions, patch_size dividing or not */
    int side = c->image_size / c->patch_size, extra = v->extra + registers;
    if (v->spectrogram ? (long)((c->spec_mels - c->patch_size) / c->spec_fstride + 1) *
                                 ((c->spec_frames - c->patch_size) / c->spec_tstride + 1) +
                                 extra > MHV_MAX_POSITIONS
                       : (long)side * side + extra > MHV_MAX_POSITIONS)
        return mhv_fail(err, MHV_EFORMAT, name, v->spectrogram ? "num_mel_bins and max_length "
                        "give too many patches" : "image_size / patch_size gives too many "
                        "patches");
    c->layer_norm_eps = (float)eps;
    c->attn_bias = qkv_bias;
    c->vision = !v->spectrogram;
    c->vision_extra = extra;
    c->vision_registers = registers;
    c->vision_pos = v->dinov2 ? MHV_VPOS_ALWAYS : MHV_VPOS_ASKED_SIZE;
    c->vision_pos_aa = v->registers; /* transformers: antialias=True there alone */
    c->gated_ffn = swiglu;
    c->max_positions = vit_tokens(c, v);
    c->vocab_size = 1;
    return MHV_OK;
}

static size_t vit_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    return (6 + (size_t)c->vision_extra) * H +
           (size_t)c->num_layers * (11 * H + 2 * (size_t)c->intermediate_size);
}

/* One weight and its bias under either layout's name, a (transformers 5's modules) or b
 * (the checkpoints'), each without .weight/.bias. */
static mhv_status linear_of(mhv_wload *ld, const char *a, const char *b, int rows, int cols,
                            int bias, mhv_mat *w, float **bv, mhv_error *err)
{
    const char *const names[] = {a, b};
    return mhv_layer_load_linear2(ld, names, rows, cols, bias, w, bv, err);
}

/* DINOv2's SwiGLU of layer l: the checkpoints' mlp.weights_in (2I, H), gate rows then up
 * rows, and mlp.weights_out, or transformers 5's module names mlp.gate_proj, up_proj and
 * down_proj. */
static mhv_status swiglu_load(mhv_wload *ld, int l, int H, int I, mhv_layer *ly, mhv_error *err)
{
    char w[160], b[160];
    snprintf(w, sizeof w, "encoder.layer.%d.mlp.weights_in.weight", l);
    snprintf(b, sizeof b, "encoder.layer.%d.mlp.weights_in.bias", l);
    mhv_mat gu = {0};
    float *gub = NULL;
    mhv_status st = mhv_wload_mat(ld, w, 2 * I, H, MHV_W_OPTIONAL, &gu, err);
    if (st)
        return st;
    if (gu.data) {
        if ((st = mhv_wload_vec(ld, b, 2 * I, 0, &gub, err)))
            return st;
        ly->ffn_gate = mhv_mat_rows(&gu, 0, I);
        ly->ffn_up = mhv_mat_rows(&gu, I, I);
        ly->ffn_gate_b = gub;
        ly->ffn_up_b = gub + I;
    } else {
        char a2[160];
        snprintf(a2, sizeof a2, "encoder.layer.%d.mlp.gate_proj", l);
        if ((st = linear_of(ld, a2, a2, I, H, 1, &ly->ffn_gate, &ly->ffn_gate_b, err)))
            return st;
        snprintf(a2, sizeof a2, "encoder.layer.%d.mlp.up_proj", l);
        if ((st = linear_of(ld, a2, a2, I, H, 1, &ly->ffn_up, &ly->ffn_up_b, err)))
            return st;
    }
    snprintf(w, sizeof w, "encoder.layer.%d.mlp.weights_out", l);
    snprintf(b, sizeof b, "encoder.layer.%d.mlp.down_proj", l);
    return linear_of(ld, w, b, H, I, 1, &ly->ffn_down, &ly->ffn_down_b, err);
}

/* Drops the embeddings' prefix for the layers when they are saved without it: ViT-MSN's
 * classifier (vit.embeddings ..., encoder.layer.N ..., as transformers itself writes it). */
static void layers_prefix(mhv_wload *ld, int dinov2)
{
    const char *norm = dinov2 ? "norm1.weight" : "layernorm_before.weight";
    const char *const layouts[] = {"layers.0.", "encoder.layer.0."};
    char name[200];
    if (!ld->prefix[0])
        return;
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof name, "%s%s%s", ld->prefix, layouts[i], norm);
        if (mhv_st_find(ld->st, name))
            return;
    }
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof name, "%s%s", layouts[i], norm);
        if (mhv_st_find(ld->st, name)) {
            ld->prefix[0] = '\0';
            return;
        }
    }
}

static mhv_status vit_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    const variant *v = variant_of(c);
    const char *const prefixes[] = {v->prefix, NULL};
    int H = c->hidden_size, I = c->intermediate_size, P = c->patch_size, C = c->num_channels;
    int R = c->vision_registers, n = vit_tokens(c, v) - R; /* the registers take no position */
    mhv_wload_prefix(ld, prefixes, "embeddings.patch_embeddings.projection.weight");
    /* positions for [CLS] (and [DIST]) and the patches: the registers take none */
    int64_t patch_dims[4] = {H, C, P, P}, cls_dims[3] = {1, 1, H}, pos_dims[3] = {1, n, H};
    int64_t reg_dims[3] = {1, R, H};
    mhv_mat cls, dist, pos, reg = {0};
    mhv_status st;
    if ((st = mhv_wload_tensor(ld, "embeddings.patch_embeddings.projection.weight", patch_dims, 4,
                               0, &m->patch_emb, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.patch_embeddings.projection.bias", H, 0,
                            &m->patch_emb_b, err)) ||
        (v->extra && (st = mhv_wload_tensor(ld, "embeddings.cls_token", cls_dims, 3, 0, &cls,
                                            err))) ||
        (v->extra > 1 && (st = mhv_wload_tensor(ld, "embeddings.distillation_token", cls_dims, 3,
                                                0, &dist, err))) ||
        (R && (st = mhv_wload_tensor(ld, "embeddings.register_tokens", reg_dims, 3, 0, &reg,
                                     err))) ||
        (st = mhv_wload_tensor(ld, "embeddings.position_embeddings", pos_dims, 3, 0, &pos, err)))
        return st;
    m->pos_emb = (mhv_mat){.data = pos.data, .dtype = pos.dtype, .rows = n, .cols = H};
    if (v->extra) { /* I-JEPA has none: the patches alone */
        if ((st = mhv_wload_zeros(ld, c->vision_extra * H, &m->extra_tokens, err)))
            return st;
        mhv_dtype_to_f32(m->extra_tokens, cls.data, cls.dtype, (size_t)H);
        if (v->extra > 1)
            mhv_dtype_to_f32(m->extra_tokens + H, dist.data, dist.dtype, (size_t)H);
        if (R)
            mhv_dtype_to_f32(m->extra_tokens + H, reg.data, reg.dtype, (size_t)R * (size_t)H);
    }
    layers_prefix(ld, v->dinov2);
    int qb = c->attn_bias;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char a[160], b[160], n1[160], n2[160];
        /* transformers 5's modules are layers.N (vit, vit_msn, ijepa, deit) or
         * encoder.layer.N (dinov2) with q_proj ...; the hub's files have
         * encoder.layer.N.attention.attention.query ... */
        const char *l5 = v->dinov2 ? "encoder.layer" : "layers";
#define LIN(new_, old_, r, cl, bias, w, bv)                                                        \
    (snprintf(a, sizeof a, "%s.%d.%s", l5, l, new_),                                              \
     snprintf(b, sizeof b, "encoder.layer.%d.%s", l, old_),                                       \
     linear_of(ld, a, b, r, cl, bias, w, bv, err))
        if ((st = LIN("attention.q_proj", "attention.attention.query", H, H, qb, &ly->q, &ly->q_b)) ||
            (st = LIN("attention.k_proj", "attention.attention.key", H, H, qb, &ly->k, &ly->k_b)) ||
            (st = LIN("attention.v_proj", "attention.attention.value", H, H, qb, &ly->v, &ly->v_b)) ||
            (st = LIN("attention.o_proj", "attention.output.dense", H, H, 1, &ly->o, &ly->o_b)))
            return st;
        if (c->gated_ffn)
            st = swiglu_load(ld, l, H, I, ly, err);
        else if ((st = LIN("mlp.fc1", v->dinov2 ? "mlp.fc1" : "intermediate.dense", I, H, 1,
                           &ly->ffn_up, &ly->ffn_up_b)) == MHV_OK)
            st = LIN("mlp.fc2", v->dinov2 ? "mlp.fc2" : "output.dense", H, I, 1, &ly->ffn_down,
                     &ly->ffn_down_b);
        if (st)
            return st;
#undef LIN
        const char *ln1 = v->dinov2 ? "norm1" : "layernorm_before";
        const char *ln2 = v->dinov2 ? "norm2" : "layernorm_after";
        const char *const norms[] = {n1, n2};
        snprintf(n1, sizeof n1, "%s.%d.%s", l5, l, ln1);
        snprintf(n2, sizeof n2, "encoder.layer.%d.%s", l, ln1);
        if ((st = mhv_layer_load_norm2(ld, norms, H, &ly->ln_attn_g, &ly->ln_attn_b, err)))
            return st;
        snprintf(n1, sizeof n1, "%s.%d.%s", l5, l, ln2);
        snprintf(n2, sizeof n2, "encoder.layer.%d.%s", l, ln2);
        if ((st = mhv_layer_load_norm2(ld, norms, H, &ly->ln_ffn_g, &ly->ln_ffn_b, err)))
            return st;
        if (v->dinov2) {
            snprintf(a, sizeof a, "encoder.layer.%d.layer_scale1.lambda1", l);
            snprintf(b, sizeof b, "encoder.layer.%d.layer_scale2.lambda1", l);
            if ((st = mhv_wload_vec(ld, a, H, 0, &ly->scale_attn, err)) ||
                (st = mhv_wload_vec(ld, b, H, 0, &ly->scale_ffn, err)))
                return st;
        }
    }
    return MHV_OK;
}

const mhv_family mhv_family_vit = {
    .name = "vit",
    .model_types = model_types,
    .config = vit_config,
    .vector_floats = vit_vector_floats,
    .load = vit_load,
    .forward = mhv_vision_forward,
};
