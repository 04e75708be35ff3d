/* xglm.c - XGLM (XGLMModel, XGLMForCausalLM): fairseq's decoder-only language model: token
 * embeddings times sqrt(d_model) (scale_embedding) plus tensor2tensor's sinusoidal positions
 * from row 2 (the row pad_token_id zero), pre-LayerNorm layers with biases everywhere, a
 * plain feed-forward layer, a final LayerNorm.
 *
 *   x = embed_tokens[id] * sqrt(d_model) + sinusoid(i + 2)
 *   per layer: x += out(attn(ln_1(x)));  x += fc2(act(fc1(ln_2(x))))
 *   logits = layer_norm(x) · lm_head^T
 * transformers scales q before the product; here the scores are scaled (same value up to
 * rounding, within the goldens' tolerance). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"xglm", NULL};

enum { XGLM_POS_OFFSET = 2 }; /* XGLMSinusoidalPositionalEmbedding.offset */

/* A size under its config.json name, or under the name attribute_map maps to it. */
static mhv_status size_field(const cJSON *root, const char *key, const char *alias, int def,
                             int lo, int hi, int *out, const char *name, mhv_error *err)
{
    const char *k = !mhv_json_get(root, key) && mhv_json_get(root, alias) ? alias : key;
    return mhv_json_int(root, k, def, lo, hi, out, name, err);
}

static mhv_status xglm_config(const cJSON *root, mhv_config *c, const char *name,
                              mhv_error *err)
{
    mhv_status st;
    int scale, cross;
    if ((st = size_field(root, "d_model", "hidden_size", 1024, 4, MHV_MAX_HIDDEN,
                         &c->hidden_size, name, err)) ||
        (st = size_field(root, "num_layers", "num_hidden_layers", 24, 1, MHV_MAX_LAYERS,
                         &c->num_layers, name, err)) ||
        (st = size_field(root, "attention_heads", "num_attention_heads", 16, 1, MHV_MAX_HEADS,
                         &c->num_heads, name, err)) ||
        (st = mhv_json_int(root, "ffn_dim", 4096, 1, 4 * MHV_MAX_HIDDEN, &c->intermediate_size,
                           name, err)) ||
        (st = mhv_json_int(root, "vocab_size", 256008, 1, MHV_MAX_VOCAB, &c->vocab_size, name,
                           err)) ||
        (st = mhv_json_int(root, "max_position_embeddings", 2048, 1,
                           MHV_MAX_POSITIONS - XGLM_POS_OFFSET, &c->max_positions, name, err)) ||
        (st = mhv_config_act(root, "activation_function", MHV_ACT_GELU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "scale_embedding", 1, &scale, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 1, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "add_cross_attention", 0, &cross, name, err)))
        return st;
    if (cross)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "add_cross_attention is not supported");
    if (c->hidden_size % c->num_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name, "attention_heads %d does not divide d_model %d",
                        c->num_heads, c->hidden_size);
    /* padding_idx of the positions: its row is zero; null: none */
    const cJSON *pad = cJSON_GetObjectItemCaseSensitive(root, "pad_token_id");
    c->pad_id = -1;
    if (!pad)
        c->pad_id = 1;
    else if (!cJSON_IsNull(pad) &&
             (st = mhv_json_int(root, "pad_token_id", 1, 0, c->vocab_size - 1, &c->pad_id, name,
                                err)))
        return st;
    c->head_dim = c->hidden_size / c->num_heads;
    c->num_kv_heads = c->num_heads;
    c->embedding_size = c->hidden_size;
    c->embed_scale = scale ? sqrt((double)c->hidden_size) : 0;
    c->layer_norm_eps = 1e-5f; /* nn.LayerNorm's default: XGLM has no eps setting */
    c->attn_bias = c->attn_out_bias = c->mlp_bias = 1;
    c->pre_norm = c->final_norm = 1;
    c->sinusoidal = 1;
    c->pos_offset = XGLM_POS_OFFSET;
    /* the sinusoids are computed for any length (transformers extends its table past
     * max_position_embeddings) */
    c->max_positions = MHV_MAX_POSITIONS - XGLM_POS_OFFSET;
    c->causal = 1;
    return MHV_OK;
}

static size_t xglm_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    return 2 * H + (size_t)c->num_layers * (9 * H + (size_t)c->intermediate_size);
}

static mhv_status xglm_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"model.", NULL}; /* XGLMForCausalLM */
    static const mhv_dense_names names = {
        "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj",
        "self_attn_layer_norm", "fc1", "fc2", "final_layer_norm"};
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size;
    mhv_wload_prefix(ld, prefixes, "embed_tokens.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embed_tokens.weight", c->vocab_size, H, 0, &m->word_emb,
                            err)) ||
        (st = mhv_wload_vec(ld, "layer_norm.weight", H, 0, &m->norm_g, err)) ||
        (st = mhv_wload_vec(ld, "layer_norm.bias", H, 0, &m->norm_b, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "layers.%d.", l);
        if ((st = mhv_layer_load_dense(ld, prefix, &names, H, c->intermediate_size,
                                       &m->layers[l], err)))
            return st;
    }
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

static mhv_status xglm_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                               mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size;
    const mhv_decoder dec = {MHV_NORM_LAYER, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_PLAIN, NULL};
    float *row; /* (H,) one position's sinusoid */
    mhv_decoder_scratch s = {.extra = {{&row, (size_t)H}}};
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &s, &p, err);
    if (st)
        return st;
    mhv_embed e = {.tok = &m->word_emb, .pad_id = -1, .scale = (float)c->embed_scale};
    mhv_nn_embed(nn, p.x, &e, ids, n, H);
    /* each packed sentence counts its positions from its first row */
    for (int t = 0, first = 0, sent = 0; t < n; t++) {
        if (nn->pack && t == nn->pack->off[sent + 1])
            first = nn->pack->off[++sent];
        mhv_family_t2t_position(mhv_nn_past(nn) + t - first + c->pos_offset, c->pad_id, H,
                                row);
        float *xt = p.x + (size_t)t * (size_t)H;
        for (int j = 0; j < H; j++)
            xt[j] += row[j];
    }
    for (int l = 0; l <= cap->last; l++) {
        mhv_attn_layer attn = mhv_layer_attention(&m->layers[l], c);
        attn.causal = 1;
        if (mhv_layer_pre_norm(nn, &dec, c, &m->layers[l], &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

const mhv_family mhv_family_xglm = {
    .name = "xglm",
    .model_types = model_types,
    .config = xglm_config,
    .vector_floats = xglm_vector_floats,
    .load = xglm_load,
    .forward = xglm_forward,
    .packs = mhv_family_packs_always,
};
