/* bert.c - the BERT family: BERT, RoBERTa, XLM-RoBERTa, CamemBERT, ELECTRA, ERNIE (BertModel,
 * RobertaModel ..., their *ForMaskedLM / *ForSequenceClassification weights): learned
 * positions and token types, post-norm layers, bidirectional attention.
 *
 *   x = LN(tok[id] + type[t] + pos[p(i)])   (ELECTRA: then a projection to hidden_size;
 *                                            ERNIE use_task_id: + task[0] before the LN)
 *   per layer: x = LN1(x + O·attn(x));  x = LN2(x + down(act(up(x))))
 * The model_types differ only in data: the rows of `variants`. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

typedef struct {
    const char *model_type;
    const char *prefix;       /* of the *For* checkpoints: "bert.", "roberta." ... */
    int pad_positions;        /* positions from pad_token_id + 1 (fairseq's make_positions) */
    int pad_default;          /* pad_token_id when config.json omits it */
    int factorised;           /* embedding_size may differ from hidden_size (projected) */
    int embedding_default;    /* embedding_size when config.json omits it */
    int task_types;           /* use_task_id / task_type_vocab_size are read (ERNIE) */
} variant;

static const variant variants[] = {
    {"bert", "bert.", 0, 0, 0, 0, 0},
    {"roberta", "roberta.", 1, 1, 0, 0, 0},
    {"xlm-roberta", "roberta.", 1, 1, 0, 0, 0},
    {"camembert", "roberta.", 1, 1, 0, 0, 0},
    {"electra", "electra.", 0, 0, 1, 128, 0},
    {"ernie", "ernie.", 0, 0, 0, 0, 1},
};

static const char *const model_types[] = {"bert", "roberta", "xlm-roberta", "camembert",
                                          "electra", "ernie", NULL};

static const variant *variant_of(const mhv_config *c)
{
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        if (strcmp(variants[i].model_type, c->arch) == 0)
            return &variants[i];
    return &variants[0];
}

/* An eps in [0, 1] (missing or null: def). */
static mhv_status read_eps(const cJSON *root, const char *key, double def, float *out,
                           const char *name, mhv_error *err)
{
    const cJSON *it = mhv_json_get(root, key);
    if (!it) {
        *out = (float)def;
        return MHV_OK;
    }
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble < 0 ||
        it->valuedouble > 1)
        return mhv_fail(err, MHV_EFORMAT, name, "field '%s' is not a number in [0, 1]", key);
    *out = (float)it->valuedouble;
    return MHV_OK;
}

static mhv_status bert_config(const cJSON *root, mhv_config *c, const char *name,
                              mhv_error *err)
{
    const variant *v = variant_of(c);
    mhv_status st;
    static const mhv_size_keys keys = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "vocab_size", "max_position_embeddings",
                                       -1, -1, -1, -1, -1, 512};
    if ((st = mhv_config_sizes(root, &keys, 1, c, name, err)) ||
        (st = mhv_json_int(root, "type_vocab_size", 2, 1, 1024, &c->type_vocab_size, name,
                           err)) ||
        (st = read_eps(root, "layer_norm_eps", 1e-12, &c->layer_norm_eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_GELU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 1, &c->tie_word_embeddings, name,
                            err)))
        return st;
    /* Only absolute position embeddings are implemented; say so rather than compute wrongly. */
    const cJSON *pet = cJSON_GetObjectItemCaseSensitive(root, "position_embedding_type");
    if (pet && (!cJSON_IsString(pet) || strcmp(pet->valuestring, "absolute") != 0))
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "unsupported position_embedding_type (only 'absolute')");
    /* a decoder (causal self-attention, cross-attention) is another model than this one */
    int is_decoder, cross;
    if ((st = mhv_json_bool(root, "is_decoder", 0, &is_decoder, name, err)) ||
        (st = mhv_json_bool(root, "add_cross_attention", 0, &cross, name, err)))
        return st;
    if (is_decoder || cross)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "%s is not supported (the causal "
                        "decoder of *ForCausalLM)", is_decoder ? "is_decoder" :
                        "add_cross_attention");
    if (v->task_types) { /* ERNIE 2.0/3.0: a task type embedding, task 0 unless given */
        int use_task_id;
        if ((st = mhv_json_bool(root, "use_task_id", 0, &use_task_id, name, err)) ||
            (st = mhv_json_int(root, "task_type_vocab_size", 3, 1, 1024, &c->task_types, name,
                               err)))
            return st;
        if (!use_task_id)
            c->task_types = 0;
    }
    c->causal = 0;
    c->embedding_size = c->hidden_size;
    if (v->factorised &&
        (st = mhv_json_int(root, "embedding_size", v->embedding_default, 1, MHV_MAX_HIDDEN,
                           &c->embedding_size, name, err)))
        return st;
    c->pad_positions = v->pad_positions;
    if (v->pad_positions) {
        /* position rows pad_id + 1 .. max_position_embeddings - 1 are the usable ones */
        if ((st = mhv_json_int(root, "pad_token_id", v->pad_default, 0, MHV_MAX_VOCAB - 1,
                               &c->pad_id, name, err)))
            return st;
        if (c->max_positions <= c->pad_id + 1)
            return mhv_fail(err, MHV_EFORMAT, name,
                            "max_position_embeddings %d leaves no position after pad_token_id %d",
                            c->max_positions, c->pad_id);
        c->pos_offset = c->pad_id + 1;
        c->max_positions -= c->pos_offset;
    }
    return MHV_OK;
}

static size_t bert_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, E = (size_t)c->embedding_size;
    return 2 * E + H + (size_t)c->num_layers * (9 * H + (size_t)c->intermediate_size) +
           3 * H + (size_t)c->vocab_size; /* the masked-LM head */
}

/* The masked-LM head when the checkpoint has one (BertForMaskedLM: cls.predictions.*,
 * RobertaForMaskedLM: lm_head.*; decoder weight tied to the token embedding unless stored);
 * ELECTRA's generator head is not read. */
static mhv_status load_mlm_head(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    static const mhv_mlm_names bert = {
        "cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
        "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias",
        "cls.predictions.bias", "cls.predictions.decoder.bias", "cls.predictions.decoder.weight",
    };
    static const mhv_mlm_names roberta = {
        "lm_head.dense.weight", "lm_head.dense.bias", "lm_head.layer_norm.weight",
        "lm_head.layer_norm.bias", "lm_head.bias", NULL, "lm_head.decoder.weight",
    };
    if (strcmp(c->arch, "electra") == 0 || c->embedding_size != c->hidden_size)
        return MHV_OK;
    /* RobertaLMHead: gelu whatever hidden_act says; BertPredictionHeadTransform: hidden_act */
    int is_roberta = strcmp(variant_of(c)->prefix, "roberta.") == 0;
    mhv_mlm_names nm = is_roberta ? roberta : bert;
    if (!c->tie_word_embeddings) {
        /* untied, transformers 5 unties the decoder's bias from the head's bias too and adds
         * the decoder's (older files hold the same values under both names) */
        nm.bias = is_roberta ? "lm_head.decoder.bias" : "cls.predictions.decoder.bias";
        nm.bias_alt = is_roberta ? "lm_head.bias" : "cls.predictions.bias";
    }
    mhv_status st = mhv_layer_load_mlm_head(m, ld, &nm, is_roberta ? MHV_ACT_GELU : (int)c->act,
                                            err);
    if (!st && m->mlm_dense.data && !c->tie_word_embeddings &&
        m->mlm_decoder.data == m->word_emb.data)
        return mhv_fail(err, MHV_EFORMAT, m->dir, "tie_word_embeddings is false but the "
                        "checkpoint has no %s", nm.decoder);
    return st;
}

static mhv_status bert_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    const char *const prefixes[] = {variant_of(c)->prefix, NULL}; /* *For* heads */
    int H = c->hidden_size, I = c->intermediate_size, E = c->embedding_size;
    mhv_wload_prefix(ld, prefixes, "embeddings.word_embeddings.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embeddings.word_embeddings.weight", c->vocab_size, E, 0,
                            &m->word_emb, err)) ||
        (st = mhv_wload_mat(ld, "embeddings.position_embeddings.weight",
                            c->max_positions + c->pos_offset, E, 0, &m->pos_emb, err)) ||
        (st = mhv_wload_mat(ld, "embeddings.token_type_embeddings.weight", c->type_vocab_size,
                            E, 0, &m->type_emb, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.LayerNorm.weight", E, 0, &m->emb_ln_g, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.LayerNorm.bias", E, 0, &m->emb_ln_b, err)))
        return st;
    if (c->task_types &&
        (st = mhv_wload_mat(ld, "embeddings.task_type_embeddings.weight", c->task_types, E, 0,
                            &m->task_emb, err)))
        return st;
    if (E != H &&
        ((st = mhv_wload_mat(ld, "embeddings_project.weight", H, E, 0, &m->emb_proj, err)) ||
         (st = mhv_wload_vec(ld, "embeddings_project.bias", H, 0, &m->emb_proj_b, err))))
        return st;
    static const mhv_dense_names names = {
        "attention.self.query", "attention.self.key", "attention.self.value",
        "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
        "output.dense", "output.LayerNorm"};
    for (int l = 0; l < c->num_layers; l++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "encoder.layer.%d.", l);
        if ((st = mhv_layer_load_dense(ld, prefix, &names, H, I, &m->layers[l], err)))
            return st;
    }
    return load_mlm_head(m, ld, err);
}

static mhv_status bert_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                               mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (logits && !m->mlm_dense.data)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "no masked-LM head in the checkpoint "
                        "(*ForMaskedLM's cls.predictions or lm_head): no logits");
    int H = c->hidden_size, I = c->intermediate_size, E = c->embedding_size;
    size_t nh = (size_t)n * (size_t)H;
    float *emb;    /* (n, E) embeddings before the projection (ELECTRA) */
    float *x;      /* (n, H) residual stream */
    float *q;      /* (n, H) */
    float *k;      /* (n, H) */
    float *v;      /* (n, H) */
    float *ctx;    /* (n, H) attention output before the projection */
    float *tmp;    /* (n, H) */
    float *ffn;    /* (n, I) */
    const mhv_nn_buf bufs[] = {{&x, nh}, {&q, nh}, {&k, nh}, {&v, nh}, {&ctx, nh}, {&tmp, nh},
                               {&ffn, (size_t)n * (size_t)I},
                               {&emb, E != H ? (size_t)n * (size_t)E : 0}};
    int widest = I > H ? I : H;
    mhv_nn_shape shape = {n, E > H ? E : H, E > widest ? E : widest, c->head_dim};
    mhv_status st = mhv_nn_begin(nn, &shape, bufs, (int)(sizeof bufs / sizeof bufs[0]), err);
    if (st)
        return st;

    mhv_norm emb_ln = mhv_nn_layernorm(m->emb_ln_g, m->emb_ln_b, c->layer_norm_eps);
    mhv_embed e = {.tok = &m->word_emb, .pos = &m->pos_emb, .type = &m->type_emb,
                   .norm = &emb_ln, .pos_offset = c->pos_offset,
                   .pad_id = c->pad_positions ? c->pad_id : -1,
                   .task = c->task_types ? &m->task_emb : NULL};
    if (E == H) {
        mhv_nn_embed(nn, x, &e, ids, n, H);
    } else {
        mhv_nn_embed(nn, emb, &e, ids, n, E);
        mhv_nn_linear(nn, x, emb, &m->emb_proj, m->emb_proj_b, n, MHV_NN_NO_ACT);
    }
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        mhv_nn_attention(nn, &attn, x, n, l, &(mhv_attn_bufs){.q = q, .k = k, .v = v, .ctx = ctx},
                         cap);
        if (mhv_capture_done(cap, l))
            break;
        mhv_layer_post_norm(nn, ly, c, x, ctx, tmp, ffn, n);
    }
    if (logits) /* the masked-LM head over every position */
        mhv_layer_mlm_head(nn, m, x, tmp, q, logits, n);
    return MHV_OK;
}

const mhv_family mhv_family_bert = {
    .name = "bert",
    .model_types = model_types,
    .config = bert_config,
    .vector_floats = bert_vector_floats,
    .load = bert_load,
    .forward = bert_forward,
    .packs = mhv_family_packs_always,
};
