/* esm.c - the protein language models ESM-2 and ESM-1b (EsmModel, EsmForMaskedLM and the
 * other heads' esm. weights), as transformers' modeling_esm.py runs them:
 *
 *   e = tok[id]                        token_dropout: rows of <mask> zeroed, then every row
 *                                      (e * 0.88) / (1 - masks / length), per sentence
 *   x = e + pos[p(i)]                  absolute (ESM-1b): RoBERTa's positions from
 *                                      pad_token_id + 1; rotary (ESM-2): none here
 *   x = LN_emb(x)                      emb_layer_norm_before only
 *   per layer (pre-norm):  x = x + O·attn(LN1(x));  x = x + down(gelu(up(LN2(x))))
 *     attn: q = (Wq h + b) / sqrt(d) in fp32, then (rotary) q and k turn by the positions
 *     0.. of the sentence (pairs (j, j + d/2), ESM's own inv_freq: the checkpoint's stored
 *     one when it has it), scores q·k unscaled
 *   after the last layer LN_after(x), read only by the masked-LM head:
 *     logits = decoder(LN(gelu(dense(x)))) + bias
 * ESMFold (is_folding_model) is another model and is refused. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"esm", NULL};

static mhv_status esm_config(const cJSON *root, mhv_config *c, const char *name,
                             mhv_error *err)
{
    static const mhv_size_keys keys = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "vocab_size", "max_position_embeddings",
                                       768, 12, 12, 3072, -1, 1026};
    mhv_status st;
    double eps, theta;
    int is_decoder, cross, folding;
    if ((st = mhv_config_sizes(root, &keys, 1, c, name, err)) ||
        (st = mhv_json_num(root, "layer_norm_eps", 1e-12, 0, 1, &eps, name, err)) ||
        (st = mhv_json_num(root, "rope_theta", 10000.0, 0, 1e12, &theta, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 1, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "emb_layer_norm_before", 0, &c->esm_emb_norm, name, err)) ||
        (st = mhv_json_bool(root, "token_dropout", 0, &c->esm_token_dropout, name, err)) ||
        (st = mhv_json_bool(root, "is_folding_model", 0, &folding, name, err)) ||
        (st = mhv_json_bool(root, "is_decoder", 0, &is_decoder, name, err)) ||
        (st = mhv_json_bool(root, "add_cross_attention", 0, &cross, name, err)))
        return st;
    if (folding)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "is_folding_model (ESMFold, "
                        "EsmForProteinFolding) is not supported: its ESM-2 language model is, "
                        "as a checkpoint of its own");
    if (is_decoder || cross)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "%s is not supported (a causal ESM "
                        "decoder)", is_decoder ? "is_decoder" : "add_cross_attention");
    /* EsmConfig's default is "absolute"; transformers builds no positions at all for a null
     * (kept as None, not the default) or another value, which no ESM checkpoint has */
    const cJSON *pet = cJSON_GetObjectItemCaseSensitive(root, "position_embedding_type");
    const char *type = "absolute";
    if (pet && !cJSON_IsString(pet))
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "position_embedding_type that is not "
                        "'absolute' or 'rotary' is not supported");
    if (pet)
        type = pet->valuestring;
    if (strcmp(type, "rotary") == 0)
        c->esm_rotary = 1;
    else if (strcmp(type, "absolute") != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "position_embedding_type '%.40s' is not "
                        "supported (only 'absolute' and 'rotary')", type);
    if (c->esm_rotary && c->head_dim % 2)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "head size %d is odd: rotary positions "
                        "turn pairs of dimensions", c->head_dim);
    /* every pass computes the positions of padding_idx (transformers fails without one) */
    if ((st = mhv_json_int(root, "pad_token_id", -1, 0, c->vocab_size - 1, &c->pad_id, name,
                           err)))
        return st;
    if (c->esm_token_dropout &&
        (st = mhv_json_int(root, "mask_token_id", -1, 0, c->vocab_size - 1, &c->esm_mask_id,
                           name, err)))
        return st;
    if (!c->esm_rotary) { /* learned rows pad_id + 1 .. max_position_embeddings - 1 */
        c->pad_positions = 1;
        if (c->max_positions <= c->pad_id + 1)
            return mhv_fail(err, MHV_EFORMAT, name, "max_position_embeddings %d leaves no "
                            "position after pad_token_id %d", c->max_positions, c->pad_id);
        c->pos_offset = c->pad_id + 1;
        c->max_positions -= c->pos_offset;
    }
    c->rope = (mhv_rope){.theta = theta};
    c->layer_norm_eps = (float)eps;
    c->act = MHV_ACT_GELU; /* ESM's erf gelu whatever hidden_act says */
    c->embedding_size = c->hidden_size;
    c->causal = 0;
    return MHV_OK;
}

static size_t esm_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    return 2 * H + /* the embeddings' LayerNorm */
           (size_t)c->num_layers * (9 * H + (size_t)c->intermediate_size) +
           2 * H +                           /* emb_layer_norm_after */
           3 * H + (size_t)c->vocab_size +   /* the masked-LM head */
           (size_t)c->num_layers * (size_t)c->head_dim + /* stored inv_freqs */
           1;                                           /* the contact head's bias */
}

/* A stored rotary inv_freq, which transformers uses rather than computes: its own
 * rotary_embeddings.inv_freq, the name it saves it under
 * (encoder.layer.*.attention.self.rotary_embeddings.inv_freq, '*' and all), or each layer's,
 * as the hub's checkpoints hold it (renamed on loading: layers that disagree are refused, as
 * which one transformers keeps is not defined); NULL when none is stored. */
static mhv_status load_inv_freq(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const names[] = {
        "rotary_embeddings.inv_freq", "encoder.layer.*.attention.self.rotary_embeddings.inv_freq"};
    int half = m->cfg.head_dim / 2;
    mhv_status st = MHV_OK;
    for (size_t i = 0; i < sizeof names / sizeof *names && !st && !m->rope_inv_freq; i++)
        st = mhv_wload_vec(ld, names[i], half, MHV_W_OPTIONAL, &m->rope_inv_freq, err);
    if (st || m->rope_inv_freq)
        return st;
    for (int l = 0; l < m->cfg.num_layers; l++) {
        char name[96];
        float *v;
        snprintf(name, sizeof name, "encoder.layer.%d.attention.self.rotary_embeddings.inv_freq",
                 l);
        if ((st = mhv_wload_vec(ld, name, half, MHV_W_OPTIONAL, &v, err)) || !v)
            return st;
        if (l == 0)
            m->rope_inv_freq = v;
        else if (memcmp(v, m->rope_inv_freq, (size_t)half * sizeof *v) != 0)
            return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "the rotary inv_freq of layer %d "
                            "differs from layer 0's (transformers keeps one of them)", l);
    }
    return MHV_OK;
}

/* EsmModel's contact_head (Rao et al. 2020): a logistic regression over the attention maps
 * of every head, optional (a checkpoint may leave it out), its bias then required. */
static mhv_status load_contact_head(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    const int64_t dims[2] = {1, (int64_t)m->cfg.num_layers * m->cfg.num_heads};
    mhv_status st = mhv_wload_tensor(ld, "contact_head.regression.weight", dims, 2,
                                     MHV_W_OPTIONAL, &m->contact_w, err);
    if (st || !m->contact_w.data)
        return st;
    return mhv_wload_vec(ld, "contact_head.regression.bias", 1, 0, &m->contact_b, err);
}

static mhv_status esm_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    static const char *const prefixes[] = {"esm.", NULL}; /* EsmFor* heads */
    int H = c->hidden_size, I = c->intermediate_size;
    mhv_wload_prefix(ld, prefixes, "embeddings.word_embeddings.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embeddings.word_embeddings.weight", c->vocab_size, H, 0,
                            &m->word_emb, err)))
        return st;
    if (!c->esm_rotary &&
        (st = mhv_wload_mat(ld, "embeddings.position_embeddings.weight",
                            c->max_positions + c->pos_offset, H, 0, &m->pos_emb, err)))
        return st;
    if (c->esm_rotary && (st = load_inv_freq(m, ld, err)))
        return st;
    if (c->esm_emb_norm &&
        ((st = mhv_wload_vec(ld, "embeddings.layer_norm.weight", H, 0, &m->emb_ln_g, err)) ||
         (st = mhv_wload_vec(ld, "embeddings.layer_norm.bias", H, 0, &m->emb_ln_b, err))))
        return st;
    static const mhv_dense_names names = {
        "attention.self.query", "attention.self.key", "attention.self.value",
        "attention.output.dense", "attention.LayerNorm", "intermediate.dense", "output.dense",
        "LayerNorm"};
    for (int l = 0; l < c->num_layers; l++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "encoder.layer.%d.", l);
        if ((st = mhv_layer_load_dense(ld, prefix, &names, H, I, &m->layers[l], err)))
            return st;
    }
    if ((st = mhv_wload_vec(ld, "encoder.emb_layer_norm_after.weight", H, 0, &m->norm_g, err)) ||
        (st = mhv_wload_vec(ld, "encoder.emb_layer_norm_after.bias", H, 0, &m->norm_b, err)))
        return st;
    /* EsmLMHead: gelu, its decoder without a bias of its own, tied unless stored */
    static const mhv_mlm_names head = {
        "lm_head.dense.weight", "lm_head.dense.bias", "lm_head.layer_norm.weight",
        "lm_head.layer_norm.bias", "lm_head.bias", NULL, "lm_head.decoder.weight",
    };
    if ((st = mhv_layer_load_mlm_head(m, ld, &head, MHV_ACT_GELU, err)) ||
        (st = load_contact_head(m, ld, err)))
        return st;
    if (m->mlm_dense.data && !c->tie_word_embeddings && m->mlm_decoder.data == m->word_emb.data)
        return mhv_fail(err, MHV_EFORMAT, m->dir, "tie_word_embeddings is false but the "
                        "checkpoint has no lm_head.decoder.weight");
    return MHV_OK;
}

/* x(n, H): each sentence's token rows, token_dropout's rescaling and the learned positions. */
static void esm_embed(const mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n, float *x,
                      float *row)
{
    const mhv_config *c = &m->cfg;
    size_t H = (size_t)c->hidden_size;
    int one[2] = {0, n};
    const int *off = nn->pack ? nn->pack->off : one;
    /* 1 - 0.15 * 0.8 (ESM's training mask ratio) is 0.88 in double, as in Python */
    const float kept_train = (float)0.88;
    for (int s = 0; s < (nn->pack ? nn->pack->count : 1); s++) {
        int masks = 0, rank = 0;
        for (int i = off[s]; i < off[s + 1]; i++) {
            mhv_mat_row(&m->word_emb, ids[i], x + (size_t)i * H);
            if (c->esm_token_dropout && ids[i] == c->esm_mask_id) {
                memset(x + (size_t)i * H, 0, H * sizeof *x);
                masks++;
            }
        }
        if (c->esm_token_dropout) { /* in fp32 as torch: (e * 0.88) / (1 - masks / len) */
            float ratio = (float)masks / (float)(off[s + 1] - off[s]);
            float denom = 1.0f - ratio;
            for (size_t k = (size_t)off[s] * H; k < (size_t)off[s + 1] * H; k++)
                x[k] = (x[k] * kept_train) / denom;
        }
        if (c->esm_rotary)
            continue;
        for (int i = off[s]; i < off[s + 1]; i++) { /* fairseq's make_positions */
            int p = ids[i] == c->pad_id ? c->pad_id : c->pad_id + 1 + rank++;
            mhv_mat_row(&m->pos_emb, p, row);
            for (size_t k = 0; k < H; k++)
                x[(size_t)i * H + k] += row[k];
        }
    }
}

static mhv_status esm_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                              mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (logits && !m->mlm_dense.data)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "no masked-LM head in the checkpoint "
                        "(EsmForMaskedLM's lm_head): no logits");
    static const mhv_decoder dec = {MHV_NORM_LAYER, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_PLAIN,
                                    NULL};
    int half = c->esm_rotary ? c->head_dim / 2 : 0;
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &(mhv_decoder_scratch){.rope_half = half},
                                      &p, err);
    if (st)
        return st;
    esm_embed(nn, m, ids, n, p.x, p.tmp);
    if (c->esm_emb_norm) {
        mhv_norm ln = mhv_nn_layernorm(m->emb_ln_g, m->emb_ln_b, c->layer_norm_eps);
        mhv_nn_norm(nn, p.x, p.x, &ln, n, c->hidden_size);
    }
    mhv_rotary rope = {0};
    if (half) {
        if (m->rope_inv_freq)
            memcpy(p.inv_freq, m->rope_inv_freq, (size_t)half * sizeof *p.inv_freq);
        else
            mhv_rope_inv_freq(&c->rope, c->head_dim, p.inv_freq);
        mhv_rope_table(p.inv_freq, half, n, p.cos_t, p.sin_t);
        rope = (mhv_rotary){p.cos_t, p.sin_t, half, 0, n};
    }
    for (int l = 0; l <= cap->last; l++) {
        mhv_attn_layer attn = mhv_layer_attention(&m->layers[l], c);
        attn.q_scale = (float)pow((double)c->head_dim, -0.5); /* ESM scales q (Python's
                                                               * d ** -0.5), before turning it */
        attn.scale = 1.0f;
        attn.rope = half ? &rope : NULL;
        if (mhv_layer_pre_norm(nn, &dec, c, &m->layers[l], &attn, l, &p, cap))
            break;
    }
    if (logits) { /* emb_layer_norm_after, then the masked-LM head over every position */
        mhv_norm fin = mhv_nn_layernorm(m->norm_g, m->norm_b, c->layer_norm_eps);
        mhv_nn_norm(nn, p.x, p.x, &fin, n, c->hidden_size);
        mhv_layer_mlm_head(nn, m, p.x, p.tmp, p.xb, logits, n);
    }
    return MHV_OK;
}

const mhv_family mhv_family_esm = {
    .name = "esm",
    .model_types = model_types,
    .config = esm_config,
    .vector_floats = esm_vector_floats,
    .load = esm_load,
    .forward = esm_forward,
    .packs = mhv_family_packs_always,
};
