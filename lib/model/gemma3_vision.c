/* gemma3_vision.c - the image path of Gemma 3 with vision (model_type gemma3,
 * Gemma3ForConditionalGeneration; its language model is gemma.c's): a SigLIP vision tower,
 * Gemma3MultiModalProjector, and the mask transformers builds from the image tokens.
 *
 *   h = post_layernorm(tower(pixels))                 (patches, Hv): the last hidden state
 *   p = avg_pool(h as a P x P grid, k x k blocks)     (mm_tokens_per_image, Hv),
 *       k = P / int(sqrt(mm_tokens_per_image))
 *   f = rms(p) (1 + mm_soft_emb_norm) · mm_input_projection_weight      (tokens, H)
 *   the language model over the ids, the k-th image token's (scaled) embedding row replaced
 *   by f[k], each run of image tokens one block: its tokens see each other whatever the
 *   causal mask (full layers: causal OR block; sliding ones: window AND (causal OR block),
 *   create_masks_for_vision_model).
 * Without an image the ids run the language model alone, as before. */
#include "model/gemma3_vision.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"

mhv_status mhv_gemma3_vision_config(const cJSON *root, mhv_config *c, const char *name,
                                    mhv_error *err)
{
    const cJSON *obj = mhv_json_get(root, "vision_config");
    if (!obj) /* a file of the language model alone: no image path */
        return MHV_OK;
    if (!cJSON_IsObject(obj))
        return mhv_fail(err, MHV_EFORMAT, name, "field 'vision_config' is not an object");
    mhv_config *vc = malloc(sizeof *vc);
    if (!vc)
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    int mm, boi, eoi, image;
    mhv_status st = mhv_config_parse_json(obj, "siglip_vision_model", name, vc, err);
    if (!st && strcmp(vc->model_type, "siglip_vision_model") != 0)
        st = mhv_fail(err, MHV_EUNSUPPORTED, name,
                      "vision_config model_type '%s' is not supported in gemma3 "
                      "(siglip_vision_model is)", vc->model_type);
    if (st ||
        (st = mhv_json_int(root, "mm_tokens_per_image", 256, 1, MHV_MAX_POSITIONS, &mm, name,
                           err)) ||
        (st = mhv_json_int(root, "boi_token_index", 255999, 0, MHV_MAX_VOCAB, &boi, name,
                           err)) ||
        (st = mhv_json_int(root, "eoi_token_index", 256000, 0, MHV_MAX_VOCAB, &eoi, name,
                           err)) ||
        (st = mhv_json_int(root, "image_token_index", 262144, 0, MHV_MAX_VOCAB, &image, name,
                           err)))
        goto out;
    c->image_in_text = 1, c->image_optional = 1, c->image_form = MHV_IMAGE_FORM_GEMMA3;
    c->image_token_id = image, c->image_boi_id = boi, c->image_eoi_id = eoi;
    c->image_tokens = mm;
    c->image_size = vc->image_size, c->patch_size = vc->patch_size;
    c->num_channels = vc->num_channels, c->image_extra = 0;
    c->image_hidden = vc->hidden_size, c->image_norm_eps = vc->layer_norm_eps;
    /* Gemma3MultiModalProjector's pooling: tokens_per_side = int(mm ** 0.5), kernel =
     * patches_per_side // tokens_per_side; sizes that do not give mm features leave the
     * image path out (transformers fails on them at the first image) */
    int side = vc->image_size / vc->patch_size, per = (int)sqrt((double)mm);
    while ((long)(per + 1) * (per + 1) <= mm)
        per++;
    while ((long)per * per > mm)
        per--;
    int k = per > 0 ? side / per : 0;
    c->image_pool = k > 0 && (long)(side / k) * (side / k) == mm ? k : 0;
out:
    free(vc);
    return st;
}

size_t mhv_gemma3_vision_floats(const mhv_config *c)
{
    return c->image_in_text ? 3 * (size_t)c->image_hidden : 0;
}

mhv_status mhv_gemma3_vision_load(mhv_model *m, mhv_wload *ld, const char *dir,
                                  mhv_error *err)
{
    /* as save_pretrained writes them, and under transformers 5's module names */
    static const char *const tower_names[][2] = {{"model.vision_tower.", ""},
                                                 {"vision_tower.", ""}};
    static const char *const proj[] = {"model.multi_modal_projector.", "multi_modal_projector.",
                                       NULL};
    mhv_config *c = &m->cfg;
    if (!c->image_in_text)
        return MHV_OK;
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    cJSON *root;
    mhv_status st = mhv_json_load(path, 16u << 20, &root, err);
    if (st)
        return st;
    mhv_config *vc = malloc(sizeof *vc);
    if (!vc)
        st = mhv_fail(err, MHV_ENOMEM, path, "out of memory");
    else if (!(st = mhv_config_parse_json(mhv_json_get(root, "vision_config"),
                                          "siglip_vision_model", path, vc, err)))
        st = mhv_model_open_part(m, vc, tower_names, 2, &m->image_tower, err);
    free(vc);
    cJSON_Delete(root);
    if (st)
        return st;
    if ((st = mhv_siglip_post_norm_load(m, ld, c->image_hidden, err)))
        return st;
    int H = c->hidden_size, Hv = c->image_hidden;
    mhv_wload_prefix(ld, proj, "mm_input_projection_weight");
    if ((st = mhv_wload_conv1d(ld, "mm_input_projection_weight", Hv, &H, 1, &m->mm_proj1,
                               err)) ||
        (st = mhv_wload_vec(ld, "mm_soft_emb_norm.weight", Hv, 0, &m->mm_norm_g, err)))
        return st;
    for (int i = 0; i < Hv; i++) /* Gemma3RMSNorm: 1 + weight, in fp32 */
        m->mm_norm_g[i] = 1.0f + m->mm_norm_g[i];
    return MHV_OK;
}

mhv_status mhv_siglip_post_norm_load(mhv_model *m, mhv_wload *ld, int width, mhv_error *err)
{
    /* by full name, as saved and under the modules' names: longer than a loader's prefix */
    static const char *const post[] = {"model.vision_tower.vision_model.post_layernorm",
                                       "vision_tower.vision_model.post_layernorm",
                                       "vision_tower.post_layernorm"};
    char w[96], b[96];
    for (int i = 0; i < 3 && !m->mm_post_g; i++) {
        int flags = MHV_W_BARE | (i < 2 ? MHV_W_OPTIONAL : 0);
        snprintf(w, sizeof w, "%s.weight", post[i]);
        snprintf(b, sizeof b, "%s.bias", post[i]);
        mhv_status st;
        if ((st = mhv_wload_vec(ld, w, width, flags, &m->mm_post_g, err)) ||
            (m->mm_post_g && (st = mhv_wload_vec(ld, b, width, MHV_W_BARE, &m->mm_post_b, err))))
            return st;
    }
    return MHV_OK;
}

/* Keeps the tower's last hidden state. */
typedef struct {
    int index;
    float *x;          /* (tokens, d) */
} last_sink;

static void keep_last(void *ctx, int index, const float *x, int n, int d)
{
    last_sink *s = ctx;
    if (index == s->index)
        memcpy(s->x, x, (size_t)n * (size_t)d * sizeof *x);
}

mhv_status mhv_siglip_last_state(mhv_nn *nn, const mhv_model *m, mhv_capture *vcap, float **x,
                                 int *tokens, int *side, mhv_error *err)
{
    const mhv_model *v = m->image_tower;
    mhv_image_grid g;
    *x = NULL;
    mhv_status st = mhv_model_image_grid(v, nn->image_h, nn->image_w, 0, &g, err);
    if (st)
        return st;
    int Hv = v->cfg.hidden_size, T = g.tokens;
    last_sink ls = {v->cfg.num_layers, malloc((size_t)T * (size_t)Hv * sizeof(float))};
    if (!ls.x)
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory for %d image patches", T);
    if (vcap->last < v->cfg.num_layers - 1)
        vcap->last = v->cfg.num_layers - 1;
    vcap->full_last = 1;
    nn->hidden_out = keep_last, nn->hidden_ctx = &ls;
    st = v->cfg.family->forward(nn, v, NULL, T, vcap, NULL, err);
    nn->hidden_out = NULL, nn->hidden_ctx = NULL;
    if (st) {
        free(ls.x);
        return st;
    }
    mhv_norm post = {MHV_NORM_LAYER, m->mm_post_g, m->mm_post_b, v->cfg.layer_norm_eps};
    mhv_nn_norm(nn, ls.x, ls.x, &post, T, Hv);
    *x = ls.x, *tokens = T, *side = g.cols;
    return MHV_OK;
}

/* The image's features in the language model's width: (image_tokens, H) into *proj. */
static mhv_status image_features(mhv_nn *nn, const mhv_model *m, mhv_capture *vcap,
                                 float **proj, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    float *x;
    int T, side;
    mhv_status st = mhv_siglip_last_state(nn, m, vcap, &x, &T, &side, err);
    if (st)
        return st;
    int Hv = c->image_hidden, H = c->hidden_size, k = c->image_pool, out = side / k;
    int F = out * out;
    if (!(*proj = malloc((size_t)F * (size_t)H * sizeof **proj))) {
        free(x);
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory for %d image features", F);
    }
    float *pooled = NULL, *f = NULL;
    mhv_nn_buf bufs[] = {{&pooled, (size_t)F * (size_t)Hv}, {&f, (size_t)F * H}};
    mhv_nn_shape shape = {F, Hv > H ? Hv : H, Hv > H ? Hv : H, 1};
    if (!(st = mhv_nn_begin(nn, &shape, bufs, 2, err))) {
        mhv_norm soft = {MHV_NORM_RMS, m->mm_norm_g, NULL, c->image_norm_eps};
        /* AvgPool2d over the (Hv, side, side) map: block (R, C) of k x k patches */
        for (int R = 0; R < out; R++)
            for (int C = 0; C < out; C++)
                for (int e = 0; e < Hv; e++) {
                    float sum = 0;
                    for (int r = R * k; r < R * k + k; r++)
                        for (int q = C * k; q < C * k + k; q++)
                            sum += x[((size_t)r * (size_t)side + (size_t)q) * (size_t)Hv +
                                     (size_t)e];
                    pooled[((size_t)R * (size_t)out + (size_t)C) * (size_t)Hv + (size_t)e] =
                        sum / (float)(k * k);
                }
        mhv_nn_norm(nn, pooled, pooled, &soft, F, Hv);
        mhv_nn_linear(nn, f, pooled, &m->mm_proj1, NULL, F, MHV_NN_NO_ACT);
        memcpy(*proj, f, (size_t)F * (size_t)H * sizeof *f);
    }
    free(x);
    if (st) {
        free(*proj);
        *proj = NULL;
    }
    return st;
}

mhv_status mhv_gemma3_image_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                    mhv_capture *cap, float *logits, mhv_gemma3_text_pass text,
                                    mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (!m->image_tower || !c->image_pool)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                        "gemma3: an image of %dx%d pixels in %d-pixel patches does not make "
                        "mm_tokens_per_image %d features: its image path is not available",
                        c->image_size, c->image_size, c->patch_size, c->image_tokens);
    int32_t *row = malloc((size_t)n * 5 * sizeof *row);
    if (!row)
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory");
    /* lo, hi of the full layers and the sliding ones: a query sees its block's later keys */
    int32_t *hi = row + n, *lo_s = row + 2 * (size_t)n, *lo_f = row + 3 * (size_t)n;
    int32_t *end = row + 4 * (size_t)n;
    int count = 0, w = c->sliding_window;
    for (int i = 0; i < n; i++)
        row[i] = ids[i] == c->image_token_id ? count++ : -1;
    for (int i = n - 1; i >= 0; i--) /* the last token of i's run of image tokens */
        end[i] = row[i] >= 0 ? (i + 1 < n && row[i + 1] >= 0 ? end[i + 1] : i) : i;
    for (int i = 0; i < n; i++) {
        hi[i] = end[i], lo_f[i] = 0;
        lo_s[i] = w > 0 && i >= w ? i - w + 1 : 0;
    }
    mhv_capture vcap = {.last = -1};
    float *proj = NULL;
    mhv_status st = MHV_OK;
    if (count != c->image_tokens)
        st = mhv_fail(err, MHV_EUSAGE, m->dir,
                      "the prompt holds %d image tokens, the image gives %d features", count,
                      c->image_tokens);
    if (!st)
        st = image_features(nn, m, nn->image_cap ? nn->image_cap : &vcap, &proj, err);
    if (!st) {
        nn->embed_given = proj, nn->embed_given_row = row, nn->embed_given_used = 0;
        nn->embed_given_scaled = 1;
        nn->key_lo[0] = lo_f, nn->key_hi[0] = hi;
        nn->key_lo[1] = lo_s, nn->key_hi[1] = hi;
        st = text(nn, m, ids, n, cap, logits, err);
        nn->embed_given = NULL, nn->embed_given_row = NULL, nn->embed_given_scaled = 0;
        nn->key_lo[0] = nn->key_hi[0] = nn->key_lo[1] = nn->key_hi[1] = NULL;
    }
    free(proj);
    free(row);
    return st;
}
