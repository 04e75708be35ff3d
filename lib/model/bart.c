/* bart.c - BART, mBART, Marian, M2M100 / NLLB, Pegasus, Blenderbot, BlenderbotSmall and MVP
 * (without its prompts: BART's layers) and PLBart (BART's layers)
 * (*ForConditionalGeneration / MarianMTModel and *Model): an encoder and a decoder of
 * LayerNorm layers with biases, absolute positions, scaled dot-product attention and a plain
 * feed-forward layer.
 *
 *   x = tok[id] * embed_scale + pos(i)  (then layernorm_embedding: BART, mBART, BlenderbotSmall's
 *                                        encoder; BlenderbotSmall's decoder: the norm of
 *                                        tok[id] alone, unscaled, then + pos(i))
 *   post-LN (BART, Marian, BlenderbotSmall): x = ln1(x + attn(x));  x = ln2(x + fc2(act(fc1(x))))
 *     decoder: y = ln1(y + attn_causal(y));  y = lnx(y + cross(y, e));  y = ln2(...)
 *   pre-LN (mBART, M2M100, Pegasus, Blenderbot): x += attn(ln1(x));  x += fc2(act(fc1(ln2(x))));
 *     e = layer_norm(x)
 *     decoder: y += attn_causal(ln1(y));  y += cross(lnx(y), e);  y += ffn(ln2(y));
 *              y = layer_norm(y)
 *   logits = y · lm_head^T + final_logits_bias
 * Positions: learned rows i + 2 (BART, mBART) or i (Blenderbot, BlenderbotSmall), or
 * sinusoidal (Marian and Pegasus, as transformers' MarianSinusoidalPositionalEmbedding builds
 * them: sines in the first half of a row, cosines in the second; M2M100 as
 * M2M100SinusoidalPositionalEmbedding: tensor2tensor's frequencies, rows counted as RoBERTa's
 * from pad_token_id + 1, the padding row zero). Marian may have separate source and target
 * vocabularies (share_encoder_decoder_embeddings false, decoder_vocab_size). The model_types
 * differ only in data: the rows of `variants`. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

/* How a variant's positions are made: learned rows from row 2 (BART) or row 0 (Blenderbot),
 * or sinusoidal. */
enum { POS_LEARNED, POS_LEARNED0, POS_MARIAN, POS_M2M };
/* Where layernorm_embedding is: none, after the positions are added, or (BlenderbotSmall's
 * decoder) on the token embeddings before the positions are added. */
enum { EMB_NORM_NONE, EMB_NORM_AFTER, EMB_NORM_DEC_FIRST };
/* A decoder vocabulary of its own: none, Marian's (share_encoder_decoder_embeddings false,
 * decoder_vocab_size), or FSMT's (src_vocab_size and tgt_vocab_size, always two embeddings,
 * the LM head decoder.output_projection) */
enum { VOCABS_SHARED, VOCABS_MARIAN, VOCABS_FSMT };

typedef struct {
    const char *model_type;
    int pre_norm;        /* mBART, M2M100, Pegasus, Blenderbot */
    int emb_norm;        /* layernorm_embedding: EMB_NORM_* */
    int positions;       /* POS_* */
    int vocab, start, eos; /* transformers' defaults */
    int max_positions;   /* max_position_embeddings' default */
    mhv_act act;         /* activation_function's default */
    int scale;           /* scale_embedding's default */
    int own_vocabs;      /* VOCABS_*: the decoder's own vocabulary */
    int dec_unscaled;    /* BlenderbotSmall: scale_embedding scales the encoder's tokens only */
    int d_model, enc_layers, dec_layers, heads, ffn; /* the config class's defaults (heads and
                                                      * ffn: both stacks') */
    int led;             /* LED: Longformer's local attention in the encoder (attention_window),
                          * each stack its own position table */
    int bigbird;         /* BigBird-Pegasus: BigBird's block-sparse attention in the encoder
                          * (model/block_sparse.c), its projections self.query, self.key,
                          * self.value and output; use_bias (default false) for every
                          * attention's q, k, v and output; the final norms named
                          * layernorm_embedding */
} variant;

static const variant variants[] = {
    {"bart", 0, EMB_NORM_AFTER, POS_LEARNED, 50265, 2, 2, 1024, MHV_ACT_GELU, 0, 0, 0,
     1024, 12, 12, 16, 4096, 0, 0},
    {"mbart", 1, EMB_NORM_AFTER, POS_LEARNED, 50265, -1, 2, 1024, MHV_ACT_GELU, 0, 0, 0,
     1024, 12, 12, 16, 4096, 0, 0},
    {"marian", 0, EMB_NORM_NONE, POS_MARIAN, 58101, 58100, 0, 1024, MHV_ACT_GELU, 0,
     VOCABS_MARIAN, 0,
     1024, 12, 12, 16, 4096, 0, 0},
    {"m2m_100", 1, EMB_NORM_NONE, POS_M2M, 128112, 2, 2, 1024, MHV_ACT_RELU, 1, 0, 0,
     1024, 12, 12, 16, 4096, 0, 0},
    {"pegasus", 1, EMB_NORM_NONE, POS_MARIAN, 50265, 0, 1, 1024, MHV_ACT_GELU, 0, 0, 0,
     1024, 12, 12, 16, 4096, 0, 0},
    {"blenderbot", 1, EMB_NORM_NONE, POS_LEARNED0, 8008, 1, 2, 128, MHV_ACT_GELU, 0, 0, 0,
     2560, 2, 24, 32, 10240, 0, 0},
    {"blenderbot-small", 0, EMB_NORM_DEC_FIRST, POS_LEARNED0, 50265, 1, 2, 512, MHV_ACT_GELU, 0,
     0, 1, 512, 8, 8, 16, 2048, 0, 0},
    /* FSMT (fairseq's WMT19 models): BART's post-LN layers, no embedding norm, fairseq's
     * sinusoidal positions counted from pad_token_id + 1 */
    {"fsmt", 0, EMB_NORM_NONE, POS_M2M, 42024, 2, 2, 1024, MHV_ACT_RELU, 1, VOCABS_FSMT, 0,
     1024, 12, 12, 16, 4096, 0, 0},
    /* PLBart: BART's layers, scale_embedding by default; the decoder starts with the
     * target's language id (shift_tokens_right), no decoder_start_token_id of its own */
    {"plbart", 0, EMB_NORM_AFTER, POS_LEARNED, 50005, -1, 2, 1024, MHV_ACT_GELU, 1, 0, 0,
     768, 6, 6, 12, 3072, 0, 0},
    /* LED: BART's layers, the encoder's self-attention Longformer's sliding window (and the
     * global tokens a run gives: none by default, as transformers), learned positions from
     * row 0 */
    {"led", 0, EMB_NORM_AFTER, POS_LEARNED0, 50265, 2, 2, 16384, MHV_ACT_GELU, 0, 0, 0,
     1024, 12, 12, 16, 4096, 1, 0},
    /* MVP without its prompts is BART */
    {"mvp", 0, EMB_NORM_AFTER, POS_LEARNED, 50267, 2, 2, 1024, MHV_ACT_GELU, 0, 0, 0,
     1024, 12, 12, 16, 4096, 0, 0},
    /* BigBird-Pegasus: Pegasus's pre-LN layers with learned positions from row 0, the
     * encoder's attention BigBird's */
    {"bigbird_pegasus", 1, EMB_NORM_NONE, POS_LEARNED0, 96103, 2, 1, 4096, MHV_ACT_GELU_NEW, 1,
     0, 0, 1024, 16, 16, 16, 4096, 0, 1},
};

static const char *const model_types[] = {"bart", "mbart", "marian", "m2m_100", "pegasus",
                                          "blenderbot", "blenderbot-small", "fsmt", "mvp",
                                          "plbart", "led", "bigbird_pegasus", NULL};

enum { BART_POS_OFFSET = 2 }; /* BartLearnedPositionalEmbedding.offset */

static const variant *variant_of(const mhv_config *c)
{
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        if (strcmp(variants[i].model_type, c->arch) == 0)
            return &variants[i];
    return &variants[0];
}

/* One attention_window entry: even and positive, as LEDEncoderSelfAttention asserts; a
 * query sees the keys within attention_window / 2 on either side (mhv_attn_layer.window
 * counts them: window / 2 + 1). */
static mhv_status led_window(const cJSON *it, int *w, const char *name, mhv_error *err)
{
    if (!cJSON_IsNumber(it) || it->valuedouble != (double)(int)it->valuedouble ||
        it->valueint <= 0 || it->valueint % 2 || it->valueint > 2 * MHV_MAX_POSITIONS)
        return mhv_fail(err, MHV_EFORMAT, name, "field 'attention_window' holds no even "
                        "positive window");
    *w = it->valueint / 2 + 1;
    return MHV_OK;
}

/* LED's attention_window (default 512): one for every encoder layer, or a list of one per
 * encoder layer, into c->attn_window. */
static mhv_status led_windows(const cJSON *root, mhv_config *c, const char *name,
                              mhv_error *err)
{
    const cJSON *aw = mhv_json_get(root, "attention_window");
    mhv_status st = MHV_OK;
    if (cJSON_IsArray(aw) && cJSON_GetArraySize(aw) != c->num_layers)
        return mhv_fail(err, MHV_EFORMAT, name, "field 'attention_window' lists %d windows for "
                        "%d encoder layers", cJSON_GetArraySize(aw), c->num_layers);
    for (int l = 0; l < c->num_layers && !st; l++) {
        if (!aw)
            c->attn_window[l] = 512 / 2 + 1;
        else
            st = led_window(cJSON_IsArray(aw) ? cJSON_GetArrayItem(aw, l) : aw,
                            &c->attn_window[l], name, err);
    }
    return st;
}

static mhv_status bart_config(const cJSON *root, mhv_config *c, const char *name,
                              mhv_error *err)
{
    const variant *v = variant_of(c);
    mhv_status st;
    int dec_heads, scale, share = 1;
    int fsmt = v->own_vocabs == VOCABS_FSMT;
    if ((st = mhv_json_int(root, fsmt ? "src_vocab_size" : "vocab_size", v->vocab, 1,
                           MHV_MAX_VOCAB, &c->vocab_size, name, err)) ||
        (st = mhv_json_int(root, "d_model", v->d_model, 1, MHV_MAX_HIDDEN, &c->hidden_size, name,
                           err)) ||
        (st = mhv_json_int(root, "encoder_layers", v->enc_layers, 1, MHV_MAX_LAYERS,
                           &c->num_layers, name, err)) ||
        (st = mhv_json_int(root, "decoder_layers", v->dec_layers, 1, MHV_MAX_LAYERS,
                           &c->dec_layers, name, err)) ||
        (st = mhv_json_int(root, "encoder_attention_heads", v->heads, 1, MHV_MAX_HEADS,
                           &c->num_heads, name, err)) ||
        (st = mhv_json_int(root, "decoder_attention_heads", v->heads, 1, MHV_MAX_HEADS, &dec_heads,
                           name, err)) ||
        (st = mhv_json_int(root, "encoder_ffn_dim", v->ffn, 1, 4 * MHV_MAX_HIDDEN,
                           &c->intermediate_size, name, err)) ||
        (st = mhv_json_int(root, "decoder_ffn_dim", v->ffn, 1, 4 * MHV_MAX_HIDDEN,
                           &c->dec_intermediate_size, name, err)) ||
        (st = mhv_json_int(root, v->led ? "max_encoder_position_embeddings"
                                        : "max_position_embeddings",
                           v->max_positions, 1, MHV_MAX_POSITIONS - BART_POS_OFFSET,
                           &c->max_positions, name, err)) ||
        (st = mhv_config_act(root, "activation_function", v->act, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "scale_embedding", v->scale, &scale, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", !fsmt, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_config_token(root, "eos_token_id", v->eos, &c->eos_id, name, err)))
        return st;
    /* mBART's decoder starts with eos unless config.json says otherwise */
    int start = v->start >= 0 ? v->start : c->eos_id;
    if ((st = mhv_config_token(root, "decoder_start_token_id", start, &c->decoder_start_id, name,
                               err)))
        return st;
    /* *ForCausalLM (the decoder alone, under model.decoder) is another model than this one */
    int is_decoder;
    if ((st = mhv_json_bool(root, "is_decoder", 0, &is_decoder, name, err)))
        return st;
    if (is_decoder)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "is_decoder is not supported (the "
                        "decoder alone of *ForCausalLM)");
    int prompts = 0;
    if (strcmp(v->model_type, "mvp") == 0 &&
        (st = mhv_json_bool(root, "use_prompt", 0, &prompts, name, err)))
        return st;
    if (prompts) /* MvpPrompt's key/value prefixes in every layer */
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "use_prompt is not supported");
    if (dec_heads != c->num_heads)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "decoder_attention_heads %d unlike encoder_attention_heads %d is not "
                        "supported", dec_heads, c->num_heads);
    if (c->hidden_size % c->num_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "encoder_attention_heads %d does not divide d_model %d", c->num_heads,
                        c->hidden_size);
    c->dec_vocab_size = c->vocab_size;
    if (fsmt && (st = mhv_json_int(root, "tgt_vocab_size", v->vocab, 1, MHV_MAX_VOCAB,
                                   &c->dec_vocab_size, name, err)))
        return st;
    share = !fsmt;
    if (v->own_vocabs == VOCABS_MARIAN) {
        if ((st = mhv_json_bool(root, "share_encoder_decoder_embeddings", 1, &share, name,
                                err)) ||
            (st = mhv_json_int(root, "decoder_vocab_size", c->vocab_size, 1, MHV_MAX_VOCAB,
                               &c->dec_vocab_size, name, err)))
            return st;
        if (share)
            c->dec_vocab_size = c->vocab_size;
    }
    c->separate_emb = !share;
    c->head_dim = c->hidden_size / c->num_heads;
    c->num_kv_heads = c->num_heads;
    c->embedding_size = c->hidden_size;
    c->layer_norm_eps = 1e-5f; /* nn.LayerNorm's default: no eps setting */
    c->pre_norm = v->pre_norm;
    c->final_norm = v->pre_norm;
    c->sinusoidal = v->positions == POS_MARIAN || v->positions == POS_M2M;
    c->pos_offset = v->positions == POS_LEARNED ? BART_POS_OFFSET : 0;
    if (v->positions == POS_M2M) {
        /* rows pad_token_id + 1 .. pad_token_id + max_position_embeddings; tensor2tensor's
         * frequencies divide by half of d_model less one */
        if ((st = mhv_config_token(root, "pad_token_id", 1, &c->pad_id, name, err)))
            return st;
        if (c->hidden_size < 4)
            return mhv_fail(err, MHV_EFORMAT, name, "d_model %d is below 4 (sinusoidal "
                            "positions of half of it less one frequencies)", c->hidden_size);
        c->pad_positions = 1;
    }
    c->dec_max_positions = c->max_positions;
    if (v->led && ((st = mhv_json_int(root, "max_decoder_position_embeddings", 1024, 1,
                                      MHV_MAX_POSITIONS, &c->dec_max_positions, name, err)) ||
                   (st = led_windows(root, c, name, err))))
        return st;
    c->embed_scale = scale ? sqrt((double)c->hidden_size) : 0;
    c->attn_bias = c->attn_out_bias = c->mlp_bias = 1;
    c->enc_dec = 1;
    c->global_attn = v->led; /* the encoder's Longformer attention */
    if (v->bigbird)
        return mhv_family_sparse_config(root, 0, c, name, err);
    return MHV_OK;
}

static size_t bart_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    size_t per = variant_of(c)->led ? 13 : 10; /* LED: + the encoder's global biases */
    return 8 * H + (size_t)c->num_layers * (per * H + (size_t)c->intermediate_size) +
           (size_t)c->dec_layers * (16 * H + (size_t)c->dec_intermediate_size);
}

/* BART's projection names, LED encoder's (Longformer's, its output beside them) and
 * BigBird-Pegasus encoder's */
static const char *const bart_proj[] = {"q_proj", "k_proj", "v_proj", "out_proj"};
static const char *const led_proj[] = {"longformer_self_attn.query", "longformer_self_attn.key",
                                       "longformer_self_attn.value", "output"};
static const char *const bigbird_proj[] = {"self.query", "self.key", "self.value", "output"};

/* The four projections under base, with their biases unless the model has none
 * (qkv_no_bias: BigBird-Pegasus's use_bias false; b[i] then NULL). */
static mhv_status load_attn_named(mhv_wload *ld, const mhv_config *c, const char *base,
                                  const char *const *proj, int H, mhv_mat *w, float **b,
                                  mhv_error *err)
{
    char n[200];
    mhv_status st;
    for (int i = 0; i < 4; i++) {
        snprintf(n, sizeof n, "%s.%s.weight", base, proj[i]);
        if ((st = mhv_wload_mat(ld, n, H, H, 0, &w[i], err)))
            return st;
        b[i] = NULL;
        snprintf(n, sizeof n, "%s.%s.bias", base, proj[i]);
        if (!c->qkv_no_bias && (st = mhv_wload_vec(ld, n, H, 0, &b[i], err)))
            return st;
    }
    return MHV_OK;
}

static mhv_status load_attn(mhv_wload *ld, const mhv_config *c, const char *base, int H,
                            mhv_mat *w, float **b, mhv_error *err)
{
    return load_attn_named(ld, c, base, bart_proj, H, w, b, err);
}

static mhv_status bart_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    /* *ForConditionalGeneration (LED's under led.), then *Model */
    static const char *const prefixes[] = {"model.", "led.", NULL};
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, V = c->vocab_size, Vd = c->dec_vocab_size;
    int Le = c->num_layers, Ld = c->dec_layers;
    mhv_layer *all = realloc(m->layers, (size_t)(Le + Ld) * sizeof *all);
    if (!all)
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory");
    memset(all + Le, 0, (size_t)Ld * sizeof *all);
    m->layers = all;
    m->dec_layers = all + Le;
    mhv_wload_prefix(ld, prefixes, "decoder.layers.0.self_attn.q_proj.weight");
    mhv_status st;
    /* tied embeddings are saved under one of their names (FSMT's tied ones under the
     * decoder's: one vocabulary) */
    int fsmt_tied = variant_of(c)->own_vocabs == VOCABS_FSMT && c->tie_word_embeddings &&
                    V == Vd;
    mhv_mat shared;
    if ((st = mhv_wload_mat(ld, "shared.weight", V, H, MHV_W_OPTIONAL, &shared, err)) ||
        (st = mhv_wload_mat(ld, "encoder.embed_tokens.weight", V, H,
                            shared.data || fsmt_tied ? MHV_W_OPTIONAL : 0, &m->word_emb, err)))
        return st;
    if (!m->word_emb.data)
        m->word_emb = shared;
    if ((st = mhv_wload_mat(ld, "decoder.embed_tokens.weight", Vd, H,
                            c->separate_emb ? 0 : MHV_W_OPTIONAL, &m->dec_word_emb, err)))
        return st;
    if (!m->dec_word_emb.data)
        m->dec_word_emb = m->word_emb;
    if (!m->word_emb.data) /* FSMT tied: the encoder's is the decoder's */
        m->word_emb = m->dec_word_emb;
    /* Marian's sinusoidal table is computed unless the file holds it (MarianModel saves
     * it, and transformers then uses the stored rows); M2M100's is never stored */
    int pf = c->sinusoidal ? MHV_W_OPTIONAL : 0;
    if (variant_of(c)->positions != POS_M2M &&
        ((st = mhv_wload_mat(ld, "encoder.embed_positions.weight",
                             c->max_positions + c->pos_offset, H, pf, &m->pos_emb, err)) ||
         (st = mhv_wload_mat(ld, "decoder.embed_positions.weight",
                             c->dec_max_positions + c->pos_offset, H, pf, &m->dec_pos_emb,
                             err))))
        return st;
    /* FSMT's checkpoints hold their tables (rows up to pad_token_id + max_positions), which
     * transformers uses as they are */
    if (variant_of(c)->own_vocabs == VOCABS_FSMT &&
        ((st = mhv_wload_mat(ld, "encoder.embed_positions.weight",
                             c->max_positions + c->pad_id + 1, H, MHV_W_OPTIONAL, &m->pos_emb,
                             err)) ||
         (st = mhv_wload_mat(ld, "decoder.embed_positions.weight",
                             c->max_positions + c->pad_id + 1, H, MHV_W_OPTIONAL,
                             &m->dec_pos_emb, err))))
        return st;
    if (variant_of(c)->emb_norm != EMB_NORM_NONE &&
        ((st = mhv_wload_pair(ld, "encoder.layernorm_embedding", H, 0, &m->emb_ln_g,
                              &m->emb_ln_b, err)) ||
         (st = mhv_wload_pair(ld, "decoder.layernorm_embedding", H, 0, &m->dec_emb_ln_g,
                              &m->dec_emb_ln_b, err))))
        return st;
    int bigbird = variant_of(c)->bigbird;
    if (c->final_norm &&
        ((st = mhv_wload_pair(ld, bigbird ? "encoder.layernorm_embedding" : "encoder.layer_norm",
                              H, 0, &m->enc_norm_g, &m->enc_norm_b, err)) ||
         (st = mhv_wload_pair(ld, bigbird ? "decoder.layernorm_embedding" : "decoder.layer_norm",
                              H, 0, &m->norm_g, &m->norm_b, err))))
        return st;
    char base[160];
    for (int l = 0; l < Le + Ld; l++) {
        int dec = l >= Le, i = dec ? l - Le : l;
        int F = dec ? c->dec_intermediate_size : c->intermediate_size;
        mhv_layer *ly = &all[l];
        const char *stack = dec ? "decoder" : "encoder";
        mhv_mat w[4];
        float *b[4];
        snprintf(base, sizeof base, "%s.layers.%d.self_attn", stack, i);
        const char *const *proj = dec                  ? bart_proj
                                  : variant_of(c)->led ? led_proj
                                  : bigbird            ? bigbird_proj
                                                       : bart_proj;
        if ((st = load_attn_named(ld, c, base, proj, H, w, b, err)))
            return st;
        ly->q = w[0], ly->k = w[1], ly->v = w[2], ly->o = w[3];
        ly->q_b = b[0], ly->k_b = b[1], ly->v_b = b[2], ly->o_b = b[3];
        snprintf(base, sizeof base, "encoder.layers.%d.self_attn.longformer_self_attn", i);
        if (variant_of(c)->led && !dec && (st = mhv_layer_load_global(ld, base, H, ly, err)))
            return st;
        snprintf(base, sizeof base, "%s.layers.%d.self_attn_layer_norm", stack, i);
        if ((st = mhv_wload_pair(ld, base, H, 0, &ly->ln_attn_g, &ly->ln_attn_b, err)))
            return st;
        if (dec) {
            snprintf(base, sizeof base, "decoder.layers.%d.encoder_attn", i);
            if ((st = load_attn(ld, c, base, H, w, b, err)))
                return st;
            ly->xq = w[0], ly->xk = w[1], ly->xv = w[2], ly->xo = w[3];
            ly->xq_b = b[0], ly->xk_b = b[1], ly->xv_b = b[2], ly->xo_b = b[3];
            snprintf(base, sizeof base, "decoder.layers.%d.encoder_attn_layer_norm", i);
            if ((st = mhv_wload_pair(ld, base, H, 0, &ly->ln_cross_g, &ly->ln_cross_b, err)))
                return st;
        }
        char n[200];
        snprintf(n, sizeof n, "%s.layers.%d.fc1.weight", stack, i);
        if ((st = mhv_wload_mat(ld, n, F, H, 0, &ly->ffn_up, err)))
            return st;
        snprintf(n, sizeof n, "%s.layers.%d.fc1.bias", stack, i);
        if ((st = mhv_wload_vec(ld, n, F, 0, &ly->ffn_up_b, err)))
            return st;
        snprintf(n, sizeof n, "%s.layers.%d.fc2.weight", stack, i);
        if ((st = mhv_wload_mat(ld, n, H, F, 0, &ly->ffn_down, err)))
            return st;
        snprintf(n, sizeof n, "%s.layers.%d.fc2.bias", stack, i);
        if ((st = mhv_wload_vec(ld, n, H, 0, &ly->ffn_down_b, err)))
            return st;
        snprintf(base, sizeof base, "%s.layers.%d.final_layer_norm", stack, i);
        if ((st = mhv_wload_pair(ld, base, H, 0, &ly->ln_ffn_g, &ly->ln_ffn_b, err)))
            return st;
    }
    if (variant_of(c)->own_vocabs == VOCABS_FSMT) {
        /* the decoder's output_projection (FSMTModel has it too), tied to its embedding
         * when tie_word_embeddings */
        if ((st = mhv_wload_mat(ld, "decoder.output_projection.weight", Vd, H,
                                c->tie_word_embeddings ? MHV_W_OPTIONAL : 0, &m->lm_head, err)))
            return st;
        if (!m->lm_head.data)
            m->lm_head = m->dec_word_emb;
        return MHV_OK;
    }
    /* lm_head.weight and final_logits_bias are never under the prefix */
    if ((st = mhv_wload_mat(ld, "lm_head.weight", Vd, H, MHV_W_BARE | MHV_W_OPTIONAL,
                            &m->lm_head, err)) ||
        (st = mhv_wload_mat(ld, "final_logits_bias", 1, Vd, MHV_W_BARE | MHV_W_OPTIONAL,
                            &m->final_logits_bias, err)))
        return st;
    /* a tied head whose file kept only the embedding: only with final_logits_bias, which
     * only the *ForConditionalGeneration models have (M2M100's has none: its weights under
     * model. tell it from M2M100Model) */
    int generation = m->final_logits_bias.data ||
                     (variant_of(c)->positions == POS_M2M && ld->prefix[0] != '\0');
    if (!m->lm_head.data && c->tie_word_embeddings && generation)
        m->lm_head = m->dec_word_emb;
    return MHV_OK;
}

/* x(n, H) = tok[ids] * scale (when scaled) + position rows, then norm (when g; norm_first:
 * the norm of the scaled tokens, then the positions added). row: (H,) scratch. */
static void embed(mhv_nn *nn, const mhv_config *c, float *x, const mhv_mat *tok,
                  const mhv_mat *pos, const int32_t *ids, int n, const float *g, const float *b,
                  int scaled, int norm_first, float *row)
{
    int H = c->hidden_size, past = mhv_nn_past(nn); /* a cached step's first position */
    mhv_embed e = {.tok = tok, .pad_id = -1};
    mhv_nn_embed(nn, x, &e, ids, n, H);
    float scale = (float)c->embed_scale;
    mhv_norm ln = mhv_nn_layernorm(g, b, c->layer_norm_eps);
    if (scaled && c->embed_scale > 0)
        for (size_t t = 0, len = (size_t)n * (size_t)H; t < len; t++)
            x[t] *= scale;
    if (g && norm_first)
        mhv_nn_norm(nn, x, x, &ln, n, H);
    for (int i = 0, rank = 0; i < n; i++) {
        float *xi = x + (size_t)i * (size_t)H;
        if (c->pad_positions) { /* M2M100, FSMT: RoBERTa's rule, pads at the padding row */
            int p = ids[i] == c->pad_id ? c->pad_id : c->pad_id + 1 + rank++;
            if (pos->data) /* FSMT's table as the file holds it */
                mhv_mat_row(pos, p, row);
            else
                mhv_family_t2t_position(p, c->pad_id, H, row);
        } else if (!pos->data) {
            /* transformers: angle pos / 10000^(2 (j // 2) / dim) in float64, the even j's
             * sines in columns 0..ceil(dim/2), the odd j's cosines after */
            int sentinel = (H + 1) / 2;
            for (int t = 0; t < H; t++) {
                int j = t < sentinel ? 2 * t : 2 * (t - sentinel) + 1;
                double a = (double)(past + i) /
                           pow(10000.0, (double)(2 * (j / 2)) / (double)H);
                row[t] = (float)(t < sentinel ? sin(a) : cos(a));
            }
        } else {
            mhv_mat_row(pos, past + i + c->pos_offset, row);
        }
        nn->K->add(xi, row, (size_t)H);
    }
    if (g && !norm_first)
        mhv_nn_norm(nn, x, x, &ln, n, H);
}

/* x(n, H) gets the feed-forward layer, pre- or post-norm. */
static void ffn_block(mhv_nn *nn, const mhv_config *c, const mhv_layer *ly, float *x, float *xb,
                      float *ffn, float *tmp, int n)
{
    int H = c->hidden_size;
    mhv_norm ln = mhv_nn_layernorm(ly->ln_ffn_g, ly->ln_ffn_b, c->layer_norm_eps);
    const float *in = x;
    if (c->pre_norm) {
        mhv_nn_norm(nn, xb, x, &ln, n, H);
        in = xb;
    }
    mhv_nn_linear(nn, ffn, in, &ly->ffn_up, ly->ffn_up_b, n, (int)c->act);
    mhv_nn_linear(nn, tmp, ffn, &ly->ffn_down, ly->ffn_down_b, n, MHV_NN_NO_ACT);
    if (c->pre_norm)
        mhv_nn_add(nn, x, tmp, n, H);
    else
        mhv_nn_add_norm(nn, x, tmp, &ln, n, H);
}

/* x(n, H) += out_proj(ctx), then the norm when post-norm. */
static void residual(mhv_nn *nn, const mhv_config *c, float *x, const float *ctx,
                     const mhv_mat *o, const float *o_b, const float *g, const float *b,
                     float *tmp, int n)
{
    mhv_nn_linear(nn, tmp, ctx, o, o_b, n, MHV_NN_NO_ACT);
    mhv_norm ln = mhv_nn_layernorm(g, b, c->layer_norm_eps);
    if (c->pre_norm)
        mhv_nn_add(nn, x, tmp, n, c->hidden_size);
    else
        mhv_nn_add_norm(nn, x, tmp, &ln, n, c->hidden_size);
}

/* The decoder continues a cached target (nn->kv) unless its positions count the target's
 * pads (M2M100, NLLB, FSMT: RoBERTa's rule over the whole target). */
static int bart_caches(const mhv_config *c)
{
    return !c->pad_positions;
}

static mhv_status bart_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                               mhv_capture *cap, float *logits, mhv_error *err)
{
    (void)nn, (void)ids, (void)n, (void)cap, (void)logits;
    return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "%s is an encoder-decoder model",
                    m->cfg.arch);
}

static mhv_status bart_seq2seq(mhv_nn *nn, const mhv_model *m, const int32_t *src, int ns,
                               const int32_t *tgt, int nt, mhv_capture *cap, float *logits,
                               mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (variant_of(c)->own_vocabs == VOCABS_FSMT && !nn->measure)
        for (int i = 0; i < nt; i++)
            if (tgt[i] == c->pad_id) /* fairseq's decoder padding mask */
                return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "FSMT masks pad_token_id %d in "
                                "the decoder's input: a target holding it is not supported",
                                c->pad_id);
    if (variant_of(c)->led && mhv_nn_past(nn) + nt > c->dec_max_positions && !nn->measure)
        return mhv_fail(err, MHV_EUSAGE, "", "%d target tokens: the decoder takes 1 to %d "
                        "(max_decoder_position_embeddings)", mhv_nn_past(nn) + nt,
                        c->dec_max_positions);
    int sparse; /* BigBird-Pegasus's encoder block-sparse (its padding takes no positions) */
    mhv_status st = mhv_family_sparse_check(m, ns, 0, &sparse, err);
    if (st)
        return st;
    int H = c->hidden_size, F = c->intermediate_size > c->dec_intermediate_size
                                    ? c->intermediate_size
                                    : c->dec_intermediate_size;
    int N = ns > nt ? ns : nt, NH = c->num_heads, d = c->head_dim, Vd = c->dec_vocab_size;
    size_t n = (size_t)N, gh = nn->global ? (size_t)ns * (size_t)H : 0;
    float *xe, *xd, *xb, *q, *k, *v, *ctx, *tmp, *ffn, *row, *bias;
    float *gq, *gk, *gv; /* (ns, H) LED's global projections, with global tokens */
    const mhv_nn_buf bufs[] = {
        {&xe, (size_t)ns * (size_t)H}, {&xd, (size_t)nt * (size_t)H}, {&xb, n * (size_t)H},
        {&q, n * (size_t)H}, {&k, n * (size_t)H}, {&v, n * (size_t)H}, {&ctx, n * (size_t)H},
        {&tmp, n * (size_t)H}, {&ffn, n * (size_t)F}, {&row, (size_t)H},
        {&bias, logits ? (size_t)Vd : 0}, {&gq, gh}, {&gk, gh}, {&gv, gh}};
    mhv_nn_shape shape = {N, H, F > H ? F : H, d};
    st = mhv_nn_begin(nn, &shape, bufs, (int)(sizeof bufs / sizeof bufs[0]), err);
    if (st || ((nn->global || sparse) && (st = mhv_nn_reserve_bias(nn, ns, err))) ||
        (st = mhv_layer_global_check(nn, m, m->layers, c->num_layers, err)))
        return st;
    const mhv_attn_bufs ab = {.q = q, .k = k, .v = v, .ctx = ctx, .gq = gq, .gk = gk, .gv = gv};
    const float scale = (float)(1.0 / sqrt((double)d));
    mhv_sparse_geometry geometry = {c->sparse_block, c->sparse_random};

    /* encoder (under generation once per source: nn's encoder memo; the decoder's key/value
     * cache is not its) */
    const variant *vt = variant_of(c);
    size_t enc_floats = (size_t)ns * (size_t)H;
    mhv_nn_kv *kv = nn->kv;
    nn->kv = NULL;
    if (mhv_nn_memo_load(nn, 0, xe, enc_floats))
        goto decoder;
    embed(nn, c, xe, &m->word_emb, &m->pos_emb, src, ns, m->emb_ln_g, m->emb_ln_b, 1, 0, row);
    for (int l = 0; l <= cap[0].last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_attn_layer attn = {.wq = &ly->q, .wk = &ly->k, .wv = &ly->v, .bq = ly->q_b,
                               .bk = ly->k_b, .bv = ly->v_b, .heads = NH, .kv_heads = NH,
                               .head_dim = d, .scale = scale, .wo = &ly->o,
                               .window = vt->led ? c->attn_window[l] : 0};
        mhv_layer_global(nn, ly, &attn); /* LED's global tokens, when given */
        if (sparse) {
            attn.bias = mhv_family_sparse_bias, attn.bias_ctx = &geometry;
            attn.probs_post = mhv_family_sparse_probs;
        }
        const float *in = xe;
        if (c->pre_norm) {
            mhv_norm ln = mhv_nn_layernorm(ly->ln_attn_g, ly->ln_attn_b, c->layer_norm_eps);
            mhv_nn_norm(nn, xb, xe, &ln, ns, H);
            in = xb;
        }
        mhv_nn_attention(nn, &attn, in, ns, l, &ab, &cap[0]);
        if (mhv_capture_done(&cap[0], l))
            break;
        residual(nn, c, xe, ctx, &ly->o, ly->o_b, ly->ln_attn_g, ly->ln_attn_b, tmp, ns);
        ffn_block(nn, c, ly, xe, xb, ffn, tmp, ns);
    }
    if (cap[1].last < 0 && !logits) {
        nn->kv = kv;
        return MHV_OK;
    }
    if (c->final_norm) {
        mhv_norm ln = mhv_nn_layernorm(m->enc_norm_g, m->enc_norm_b, c->layer_norm_eps);
        mhv_nn_norm(nn, xe, xe, &ln, ns, H);
    }
    mhv_nn_memo_store(nn, 0, xe, enc_floats);

decoder:
    nn->kv = kv;
    embed(nn, c, xd, &m->dec_word_emb, &m->dec_pos_emb, tgt, nt, m->dec_emb_ln_g,
          m->dec_emb_ln_b, !vt->dec_unscaled, vt->emb_norm == EMB_NORM_DEC_FIRST, row);
    int last = logits ? c->dec_layers - 1 : cap[1].last;
    for (int l = 0; l <= last; l++) {
        const mhv_layer *ly = &m->dec_layers[l];
        mhv_attn_layer attn = {.wq = &ly->q, .wk = &ly->k, .wv = &ly->v, .bq = ly->q_b,
                               .bk = ly->k_b, .bv = ly->v_b, .heads = NH, .kv_heads = NH,
                               .head_dim = d, .scale = scale, .causal = 1, .wo = &ly->o};
        const float *in = xd;
        if (c->pre_norm) {
            mhv_norm ln = mhv_nn_layernorm(ly->ln_attn_g, ly->ln_attn_b, c->layer_norm_eps);
            mhv_nn_norm(nn, xb, xd, &ln, nt, H);
            in = xb;
        }
        mhv_nn_attention(nn, &attn, in, nt, l, &ab, &cap[1]);
        residual(nn, c, xd, ctx, &ly->o, ly->o_b, ly->ln_attn_g, ly->ln_attn_b, tmp, nt);
        mhv_attn_layer cross = {.wq = &ly->xq, .wk = &ly->xk, .wv = &ly->xv, .bq = ly->xq_b,
                                .bk = ly->xk_b, .bv = ly->xv_b, .heads = NH, .kv_heads = NH,
                                .head_dim = d, .scale = scale, .wo = &ly->xo};
        in = xd;
        if (c->pre_norm) {
            mhv_norm ln = mhv_nn_layernorm(ly->ln_cross_g, ly->ln_cross_b, c->layer_norm_eps);
            mhv_nn_norm(nn, xb, xd, &ln, nt, H);
            in = xb;
        }
        int done = !logits && l == last;
        mhv_nn_cross_attention(nn, &cross, in, nt, xe, ns, l, &ab, &cap[2], done);
        if (done)
            break;
        residual(nn, c, xd, ctx, &ly->xo, ly->xo_b, ly->ln_cross_g, ly->ln_cross_b, tmp, nt);
        ffn_block(nn, c, ly, xd, xb, ffn, tmp, nt);
    }
    if (logits) {
        int lr = mhv_nn_logit_rows(nn, nt); /* the last lr positions */
        float *xl = xd + (size_t)(nt - lr) * (size_t)H;
        if (c->final_norm) {
            mhv_norm ln = mhv_nn_layernorm(m->norm_g, m->norm_b, c->layer_norm_eps);
            mhv_nn_norm(nn, xl, xl, &ln, lr, H);
        }
        mhv_nn_linear(nn, logits, xl, &m->lm_head, NULL, lr, MHV_NN_NO_ACT);
        if (m->final_logits_bias.data) {
            mhv_mat_row(&m->final_logits_bias, 0, bias);
            for (int i = 0; i < lr; i++)
                nn->K->add(logits + (size_t)i * (size_t)Vd, bias, (size_t)Vd);
        }
    }
    return MHV_OK;
}

const mhv_family mhv_family_bart = {
    .name = "bart",
    .model_types = model_types,
    .config = bart_config,
    .vector_floats = bart_vector_floats,
    .load = bart_load,
    .forward = bart_forward,
    .seq2seq = bart_seq2seq,
    .caches = bart_caches,
};
