/* clip_text.c - the text towers of CLIP and SigLIP (CLIPTextModel,
 * CLIPTextModelWithProjection, SiglipTextModel; the text_model of CLIPModel and SiglipModel
 * through mhv_model_open_text_tower, whose sizes are config.json's text_config):
 * token and learned position embeddings, pre-norm layers with a QuickGELU (CLIP) or
 * tanh-GELU (SigLIP) MLP, a final LayerNorm. CLIP's attention is causal; SigLIP's sees the
 * whole sentence (SiglipProcessor pads nothing by default: the sentence as given, as with
 * padding=False; padding="max_length", which SigLIP was trained with and which passes no
 * attention mask, makes the pads tokens of the sentence: give them with --ids).
 *
 *   x = token_embedding[id] + position_embedding[i]
 *   per layer: x += out_proj(attn(layer_norm1(x)));  x += fc2(act(fc1(layer_norm2(x))))
 * The final LayerNorm, CLIP's pooling at the end-of-text token, SigLIP's head and the
 * projections shape the sentence's embedding, not the attention: they are not read. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"clip_text_model", "siglip_text_model", NULL};

static int is_siglip(const mhv_config *c)
{
    return strncmp(c->arch, "siglip", 6) == 0;
}

static mhv_status clip_text_config(const cJSON *root, mhv_config *c, const char *name,
                                   mhv_error *err)
{
    int siglip = is_siglip(c);
    /* CLIPTextConfig's and SiglipTextConfig's defaults */
    static const mhv_size_keys clip_keys = {"hidden_size", "num_hidden_layers",
                                            "num_attention_heads", "intermediate_size",
                                            "vocab_size", "max_position_embeddings",
                                            512, 12, 8, 2048, 49408, 77};
    static const mhv_size_keys siglip_keys = {"hidden_size", "num_hidden_layers",
                                              "num_attention_heads", "intermediate_size",
                                              "vocab_size", "max_position_embeddings",
                                              768, 12, 12, 3072, 32000, 64};
    mhv_status st;
    double eps;
    if ((st = mhv_config_sizes(root, siglip ? &siglip_keys : &clip_keys, 1, c, name, err)) ||
        (st = mhv_json_num(root, "layer_norm_eps", siglip ? 1e-6 : 1e-5, -1e-300, 1, &eps,
                           name, err)) ||
        (st = mhv_config_act(root, "hidden_act", siglip ? MHV_ACT_GELU_NEW : MHV_ACT_QUICK_GELU,
                             &c->act, name, err)))
        return st;
    c->layer_norm_eps = (float)eps;
    c->causal = !siglip;
    c->pre_norm = 1;
    c->final_norm = 1;
    c->attn_bias = c->attn_out_bias = c->mlp_bias = 1;
    return MHV_OK;
}

static size_t clip_text_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    return 2 * H + (size_t)c->num_layers * (10 * H + (size_t)c->intermediate_size);
}

static mhv_status clip_text_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"text_model.", NULL};
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size;
    mhv_wload_prefix(ld, prefixes, "embeddings.token_embedding.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embeddings.token_embedding.weight", c->vocab_size, H, 0,
                            &m->word_emb, err)) ||
        (st = mhv_wload_mat(ld, "embeddings.position_embedding.weight", c->max_positions, H, 0,
                            &m->pos_emb, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++)
        if ((st = mhv_layer_load_clip(ld, l, H, I, &m->layers[l], err)))
            return st;
    return MHV_OK;
}

static mhv_status clip_text_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                    mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    const mhv_decoder dec = {MHV_NORM_LAYER, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_PLAIN, NULL};
    mhv_decoder_scratch s = {0};
    mhv_decoder_pass p;
    (void)logits; /* no LM head */
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &s, &p, err);
    if (st)
        return st;
    mhv_embed e = {.tok = &m->word_emb, .pos = &m->pos_emb, .pad_id = -1};
    mhv_nn_embed(nn, p.x, &e, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        mhv_attn_layer attn = mhv_layer_attention(&m->layers[l], c);
        attn.causal = c->causal;
        if (mhv_layer_pre_norm(nn, &dec, c, &m->layers[l], &attn, l, &p, cap))
            break;
    }
    return MHV_OK;
}

const mhv_family mhv_family_clip_text = {
    .name = "clip_text",
    .model_types = model_types,
    .config = clip_text_config,
    .vector_floats = clip_text_vector_floats,
    .load = clip_text_load,
    .forward = clip_text_forward,
};
