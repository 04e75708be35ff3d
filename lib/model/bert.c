/* bert.c - the BERT family: BERT, RoBERTa, XLM-RoBERTa, CamemBERT, ELECTRA, ERNIE,
 * data2vec-text, XLM-RoBERTa-XL, Megatron-BERT, Longformer (BertModel, RobertaModel ...,
 * their *ForMaskedLM / *ForSequenceClassification weights): learned positions and token
 * types, bidirectional attention (Longformer's: a sliding window of attention_window / 2 keys
 * on either side, and the global tokens a run gives (nn->global: its global_attention_mask;
 * none by default, as LongformerModel without one)), post-norm layers or (XLM-RoBERTa-XL,
 * Megatron-BERT) pre-norm ones.
 *
 *   x = LN(tok[id] + type[t] + pos[p(i)])   (ELECTRA: then a projection to hidden_size;
 *                                            ERNIE use_task_id: + task[0] before the LN;
 *                                            pre-norm: no LN)
 *   post-norm layer: x = LN1(x + O·attn(x));  x = LN2(x + down(act(up(x))))
 *   pre-norm layer:  x = x + O·attn(LN1(x));  x = x + down(act(up(LN2(x)))); after the last
 *                    layer a final LN (read by the masked-LM head only)
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
    int roberta_head;         /* the masked-LM head is RobertaLMHead's lm_head.* (gelu) */
    const struct pre_ln *pre; /* pre-norm layers (their names), or NULL: post-norm */
    const mhv_size_keys *sizes; /* the config class's size defaults, or NULL: required */
    int type_vocab_default;     /* type_vocab_size when config.json omits it (0: 2) */
    double eps_default;         /* layer_norm_eps when config.json omits it (0: 1e-12) */
    int windowed;               /* attention_window: a sliding window per layer, the
                                 * position embedding added before the type (Longformer) */
    int bigbird;                /* attention_type, rescale_embeddings, use_bias (BigBird);
                                 * hidden_act gelu_new when config.json omits it */
} variant;

/* The weight names of a pre-norm variant: its layers' (ln_attn before attention, ln_ffn
 * before the feed-forward) and the encoder's final LayerNorm. */
struct pre_ln {
    mhv_dense_names layer;
    const char *final_norm;
};

static const struct pre_ln xlmr_xl = {
    {"attention.self.query", "attention.self.key", "attention.self.value",
     "attention.output.dense", "attention.self_attn_layer_norm", "intermediate.dense",
     "output.dense", "LayerNorm"},
    "encoder.LayerNorm"};
static const struct pre_ln megatron = {
    {"attention.self.query", "attention.self.key", "attention.self.value",
     "attention.output.dense", "attention.ln", "intermediate.dense", "output.dense", "ln"},
    "encoder.ln"};

/* the sizes' defaults of the config classes that have them (BertConfig's are required here,
 * as before transformers 5 gave them defaults) */
static const mhv_size_keys data2vec_sizes = {"hidden_size", "num_hidden_layers",
    "num_attention_heads", "intermediate_size", "vocab_size", "max_position_embeddings",
    768, 12, 12, 3072, 30522, 512};
static const mhv_size_keys xlmr_xl_sizes = {"hidden_size", "num_hidden_layers",
    "num_attention_heads", "intermediate_size", "vocab_size", "max_position_embeddings",
    2560, 36, 32, 10240, 250880, 514};
static const mhv_size_keys longformer_sizes = {"hidden_size", "num_hidden_layers",
    "num_attention_heads", "intermediate_size", "vocab_size", "max_position_embeddings",
    768, 12, 12, 3072, 30522, 512};
static const mhv_size_keys bigbird_sizes = {"hidden_size", "num_hidden_layers",
    "num_attention_heads", "intermediate_size", "vocab_size", "max_position_embeddings",
    768, 12, 12, 3072, 50358, 4096};
static const mhv_size_keys megatron_sizes = {"hidden_size", "num_hidden_layers",
    "num_attention_heads", "intermediate_size", "vocab_size", "max_position_embeddings",
    1024, 24, 16, 4096, 29056, 512};

#define ROBERTA_POS .pad_positions = 1, .pad_default = 1, .roberta_head = 1

static const variant variants[] = {
    {"bert", "bert.", .pad_positions = 0},
    {"roberta", "roberta.", ROBERTA_POS},
    {"xlm-roberta", "roberta.", ROBERTA_POS},
    {"camembert", "roberta.", ROBERTA_POS},
    {"electra", "electra.", .factorised = 1, .embedding_default = 128},
    {"ernie", "ernie.", .task_types = 1},
    {"data2vec-text", "data2vec_text.", ROBERTA_POS, .sizes = &data2vec_sizes},
    {"xlm-roberta-xl", "roberta.", ROBERTA_POS, .pre = &xlmr_xl, .sizes = &xlmr_xl_sizes,
     .type_vocab_default = 1, .eps_default = 1e-5},
    {"megatron-bert", "bert.", .pre = &megatron, .sizes = &megatron_sizes},
    {"longformer", "longformer.", ROBERTA_POS, .sizes = &longformer_sizes, .windowed = 1},
    {"big_bird", "bert.", .sizes = &bigbird_sizes, .bigbird = 1},
    /* Chinese-CLIP's text tower (ChineseCLIPTextModel; ChineseCLIPModel's text model through
     * mhv_model_open_text_tower): BERT, BertConfig's defaults */
    {"chinese_clip_text_model", "bert.", .sizes = &data2vec_sizes},
};

static const char *const model_types[] = {"bert", "roberta", "xlm-roberta", "camembert",
                                          "electra", "ernie", "data2vec-text",
                                          "xlm-roberta-xl", "megatron-bert", "longformer",
                                          "big_bird", "chinese_clip_text_model", NULL};

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

/* One attention_window entry: even and positive, as LongformerSelfAttention asserts. */
static mhv_status window_of(const cJSON *it, int *w, const char *name, mhv_error *err)
{
    if (!cJSON_IsNumber(it) || it->valuedouble != (double)(int)it->valuedouble ||
        it->valueint <= 0 || it->valueint % 2 || it->valueint > 2 * MHV_MAX_POSITIONS)
        return mhv_fail(err, MHV_EFORMAT, name, "field 'attention_window' holds no even "
                        "positive window");
    *w = it->valueint / 2 + 1; /* |i - j| <= attention_window / 2 */
    return MHV_OK;
}

/* Longformer's attention_window (default 512): one window for every layer, or a list of one
 * per layer. */
static mhv_status read_windows(const cJSON *root, mhv_config *c, const char *name,
                               mhv_error *err)
{
    const cJSON *aw = mhv_json_get(root, "attention_window");
    mhv_status st = MHV_OK;
    if (!aw) {
        for (int l = 0; l < c->num_layers; l++)
            c->attn_window[l] = 512 / 2 + 1;
        return MHV_OK;
    }
    if (cJSON_IsArray(aw)) {
        if (cJSON_GetArraySize(aw) != c->num_layers)
            return mhv_fail(err, MHV_EFORMAT, name, "field 'attention_window' lists %d windows "
                            "for %d layers", cJSON_GetArraySize(aw), c->num_layers);
        for (int l = 0; l < c->num_layers && !st; l++)
            st = window_of(cJSON_GetArrayItem(aw, l), &c->attn_window[l], name, err);
        return st;
    }
    for (int l = 0; l < c->num_layers && !st; l++)
        st = window_of(aw, &c->attn_window[l], name, err);
    return st;
}

/* BigBird: rescale_embeddings, and block_sparse attention (model/block_sparse.c) past the
 * length transformers runs as original_full; use_bias false: q, k and v without biases. */
static mhv_status read_bigbird(const cJSON *root, mhv_config *c, const char *name,
                               mhv_error *err)
{
    mhv_status st = mhv_json_bool(root, "rescale_embeddings", 0, &c->embed_rescale, name, err);
    return st ? st : mhv_family_sparse_config(root, 1, c, name, err);
}

static mhv_status bert_config(const cJSON *root, mhv_config *c, const char *name,
                              mhv_error *err)
{
    const variant *v = variant_of(c);
    mhv_status st;
    static const mhv_size_keys keys = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "vocab_size", "max_position_embeddings",
                                       -1, -1, -1, -1, -1, 512};
    if ((st = mhv_config_sizes(root, v->sizes ? v->sizes : &keys, 1, c, name, err)) ||
        (st = mhv_json_int(root, "type_vocab_size",
                           v->type_vocab_default ? v->type_vocab_default : 2, 1, 1024,
                           &c->type_vocab_size, name, err)) ||
        (st = read_eps(root, "layer_norm_eps", v->eps_default > 0 ? v->eps_default : 1e-12,
                       &c->layer_norm_eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", v->bigbird ? MHV_ACT_GELU_NEW : MHV_ACT_GELU,
                             &c->act, name, err)) ||
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
    if (v->windowed) {
        c->global_attn = 1;
        if ((st = mhv_json_int(root, "sep_token_id", 2, 0, MHV_MAX_VOCAB - 1, &c->global_sep_id,
                               name, err)))
            return st;
        return read_windows(root, c, name, err);
    }
    if (v->bigbird)
        return read_bigbird(root, c, name, err);
    return MHV_OK;
}

static size_t bert_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, E = (size_t)c->embedding_size;
    size_t per = variant_of(c)->windowed ? 12 : 9; /* Longformer: + the global biases */
    return 2 * E + H + (size_t)c->num_layers * (per * H + (size_t)c->intermediate_size) +
           3 * H + (size_t)c->vocab_size + /* the masked-LM head */
           2 * H;                          /* a pre-norm encoder's final LayerNorm */
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
    int is_roberta = variant_of(c)->roberta_head;
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

/* A pre-norm variant's embeddings (no LayerNorm), layers and final LayerNorm. */
static mhv_status load_pre_ln(mhv_model *m, mhv_wload *ld, const struct pre_ln *pre,
                              mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size;
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embeddings.word_embeddings.weight", c->vocab_size, H, 0,
                            &m->word_emb, err)) ||
        (st = mhv_wload_mat(ld, "embeddings.position_embeddings.weight",
                            c->max_positions + c->pos_offset, H, 0, &m->pos_emb, err)) ||
        (st = mhv_wload_mat(ld, "embeddings.token_type_embeddings.weight", c->type_vocab_size,
                            H, 0, &m->type_emb, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "encoder.layer.%d.", l);
        if ((st = mhv_layer_load_dense(ld, prefix, &pre->layer, H, I, &m->layers[l], err)))
            return st;
    }
    char g[96], b[96];
    snprintf(g, sizeof g, "%s.weight", pre->final_norm);
    snprintf(b, sizeof b, "%s.bias", pre->final_norm);
    if ((st = mhv_wload_vec(ld, g, H, 0, &m->norm_g, err)) ||
        (st = mhv_wload_vec(ld, b, H, 0, &m->norm_b, err)))
        return st;
    return load_mlm_head(m, ld, err);
}

/* One post-norm layer whose q, k and v have no biases (BigBird's use_bias false), in
 * mhv_layer_load_dense's order. */
static mhv_status load_layer_qkv_no_bias(mhv_wload *ld, const char *prefix,
                                         const mhv_dense_names *nm, int H, int I, mhv_layer *ly,
                                         mhv_error *err)
{
    const char *mats[4] = {nm->q, nm->k, nm->v, nm->o};
    mhv_mat *dst[4] = {&ly->q, &ly->k, &ly->v, &ly->o};
    char w[160], b[160];
    mhv_status st;
    for (int t = 0; t < 4; t++) {
        snprintf(w, sizeof w, "%s%s.weight", prefix, mats[t]);
        if ((st = mhv_wload_mat(ld, w, H, H, 0, dst[t], err)))
            return st;
    }
    snprintf(b, sizeof b, "%s%s.bias", prefix, nm->o);
    if ((st = mhv_wload_vec(ld, b, H, 0, &ly->o_b, err)))
        return st;
    struct { const char *name; int rows, cols; mhv_mat *mat; float **g, **b; } rest[] = {
        {nm->ln_attn, H, 0, NULL, &ly->ln_attn_g, &ly->ln_attn_b},
        {nm->ffn_up, I, H, &ly->ffn_up, NULL, &ly->ffn_up_b},
        {nm->ffn_down, H, I, &ly->ffn_down, NULL, &ly->ffn_down_b},
        {nm->ln_ffn, H, 0, NULL, &ly->ln_ffn_g, &ly->ln_ffn_b},
    };
    for (size_t t = 0; t < sizeof rest / sizeof rest[0]; t++) {
        snprintf(w, sizeof w, "%s%s.weight", prefix, rest[t].name);
        snprintf(b, sizeof b, "%s%s.bias", prefix, rest[t].name);
        if ((st = rest[t].mat ? mhv_wload_mat(ld, w, rest[t].rows, rest[t].cols, 0,
                                              rest[t].mat, err)
                              : mhv_wload_vec(ld, w, rest[t].rows, 0, rest[t].g, err)) ||
            (st = mhv_wload_vec(ld, b, rest[t].rows, 0, rest[t].b, err)))
            return st;
    }
    return MHV_OK;
}

static mhv_status bert_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    const char *const prefixes[] = {variant_of(c)->prefix, NULL}; /* *For* heads */
    int H = c->hidden_size, I = c->intermediate_size, E = c->embedding_size;
    mhv_wload_prefix(ld, prefixes, "embeddings.word_embeddings.weight");
    if (variant_of(c)->pre)
        return load_pre_ln(m, ld, variant_of(c)->pre, err);
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
        if ((st = c->qkv_no_bias ? load_layer_qkv_no_bias(ld, prefix, &names, H, I,
                                                           &m->layers[l], err)
                                 : mhv_layer_load_dense(ld, prefix, &names, H, I,
                                                        &m->layers[l], err)))
            return st;
        snprintf(prefix, sizeof prefix, "encoder.layer.%d.attention.self", l);
        if (variant_of(c)->windowed &&
            (st = mhv_layer_load_global(ld, prefix, H, &m->layers[l], err)))
            return st;
    }
    return load_mlm_head(m, ld, err);
}

/* A pre-norm variant's pass: the decoders' pre-norm layer (model/layers.h) without a mask. */
static mhv_status forward_pre_ln(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                 mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    static const mhv_decoder dec = {MHV_NORM_LAYER, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_PLAIN,
                                    NULL};
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &(mhv_decoder_scratch){0}, &p, err);
    if (st)
        return st;
    mhv_embed e = {.tok = &m->word_emb, .pos = &m->pos_emb, .type = &m->type_emb,
                   .pos_offset = c->pos_offset, .pad_id = c->pad_positions ? c->pad_id : -1};
    mhv_nn_embed(nn, p.x, &e, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        mhv_attn_layer attn = mhv_layer_attention(&m->layers[l], c);
        if (mhv_layer_pre_norm(nn, &dec, c, &m->layers[l], &attn, l, &p, cap))
            break;
    }
    if (logits) { /* the final LayerNorm, then the masked-LM head over every position */
        mhv_norm fin = mhv_nn_layernorm(m->norm_g, m->norm_b, c->layer_norm_eps);
        mhv_nn_norm(nn, p.x, p.x, &fin, n, c->hidden_size);
        mhv_layer_mlm_head(nn, m, p.x, p.tmp, p.xb, logits, n);
    }
    return MHV_OK;
}

static mhv_status bert_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                               mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (logits && !m->mlm_dense.data)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "no masked-LM head in the checkpoint "
                        "(*ForMaskedLM's cls.predictions or lm_head): no logits");
    if (variant_of(c)->pre)
        return forward_pre_ln(nn, m, ids, n, cap, logits, err);
    mhv_status st;
    int sparse;
    if ((st = mhv_family_sparse_check(m, n, 1, &sparse, err)))
        return st;
    if ((st = mhv_layer_global_check(nn, m, m->layers, c->num_layers, err)))
        return st;
    int H = c->hidden_size, I = c->intermediate_size, E = c->embedding_size;
    size_t nh = (size_t)n * (size_t)H, gh = nn->global ? nh : 0;
    float *emb;    /* (n, E) embeddings before the projection (ELECTRA) */
    float *x;      /* (n, H) residual stream */
    float *q;      /* (n, H) */
    float *k;      /* (n, H) */
    float *v;      /* (n, H) */
    float *ctx;    /* (n, H) attention output before the projection */
    float *tmp;    /* (n, H) */
    float *ffn;    /* (n, I) */
    float *gq, *gk, *gv; /* (n, H) Longformer's global projections, with global tokens */
    const mhv_nn_buf bufs[] = {{&x, nh}, {&q, nh}, {&k, nh}, {&v, nh}, {&ctx, nh}, {&tmp, nh},
                               {&ffn, (size_t)n * (size_t)I},
                               {&emb, E != H ? (size_t)n * (size_t)E : 0},
                               {&gq, gh}, {&gk, gh}, {&gv, gh}};
    int widest = I > H ? I : H;
    mhv_nn_shape shape = {n, E > H ? E : H, E > widest ? E : widest, c->head_dim};
    if ((st = mhv_nn_begin(nn, &shape, bufs, (int)(sizeof bufs / sizeof bufs[0]), err)) ||
        ((sparse || nn->global) && (st = mhv_nn_reserve_bias(nn, n, err))))
        return st;
    mhv_sparse_geometry geometry = {c->sparse_block, c->sparse_random};

    mhv_norm emb_ln = mhv_nn_layernorm(m->emb_ln_g, m->emb_ln_b, c->layer_norm_eps);
    mhv_embed e = {.tok = &m->word_emb, .pos = &m->pos_emb, .type = &m->type_emb,
                   .norm = &emb_ln, .pos_offset = c->pos_offset,
                   .pad_id = c->pad_positions ? c->pad_id : -1,
                   .task = c->task_types ? &m->task_emb : NULL,
                   .pos_first = variant_of(c)->windowed,
                   .scale = c->embed_rescale ? (float)sqrt((double)H) : 0};
    if (E == H) {
        mhv_nn_embed(nn, x, &e, ids, n, H);
    } else {
        mhv_nn_embed(nn, emb, &e, ids, n, E);
        mhv_nn_linear(nn, x, emb, &m->emb_proj, m->emb_proj_b, n, MHV_NN_NO_ACT);
    }
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.window = c->attn_window[l]; /* 0 but for Longformer */
        if (sparse) {
            attn.bias = mhv_family_sparse_bias, attn.bias_ctx = &geometry;
            attn.probs_post = mhv_family_sparse_probs;
        }
        mhv_layer_global(nn, ly, &attn);     /* Longformer's global tokens, when given */
        mhv_nn_attention(nn, &attn, x, n, l,
                         &(mhv_attn_bufs){.q = q, .k = k, .v = v, .ctx = ctx, .gq = gq,
                                          .gk = gk, .gv = gv},
                         cap);
        if (mhv_capture_done(cap, l))
            break;
        mhv_layer_post_norm(nn, ly, c, x, ctx, tmp, ffn, n);
    }
    if (logits) /* the masked-LM head over every position */
        mhv_layer_mlm_head(nn, m, x, tmp, q, logits, n);
    return MHV_OK;
}

/* BigBird's block_sparse models run one sentence at a time: whether a sentence is
 * block-sparse, and its blocks, follow its own length. */
static int bert_packs(const mhv_config *c)
{
    return c->sparse_full_max > 0 ? MHV_PACKS_NO : mhv_family_packs_always(c);
}

const mhv_family mhv_family_bert = {
    .name = "bert",
    .model_types = model_types,
    .config = bert_config,
    .vector_floats = bert_vector_floats,
    .load = bert_load,
    .forward = bert_forward,
    .packs = bert_packs,
};
