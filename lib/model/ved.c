/* ved.c - vision encoder-decoders (VisionEncoderDecoderModel; model_type
 * vision-encoder-decoder): a vision transformer (encoder: vit, deit, beit) read by its own
 * family over a view of the checkpoint, and TrOCR's text decoder (decoder: trocr,
 * TrOCRForCausalLM) with cross-attention over the encoder's tokens: TrOCR's OCR models; or
 * GPT-2's with add_cross_attention (GPT2LMHeadModel: ViT-GPT2 captioners), or BERT's with
 * is_decoder and add_cross_attention (BertLMHeadModel).
 *
 *   e = layernorm(encoder(pixels))        ViTModel / DeiTModel's last_hidden_state (BEiT's
 *                                          without the norm under use_mean_pooling); the
 *                                          pooler is not used
 *   e = enc_to_dec_proj(e)                when the widths differ and the decoder has no
 *                                          cross_attention_hidden_size (its keys and values
 *                                          then read the encoder's width)
 *   y = embed_tokens[ids] * sqrt(d) (scale_embedding) + positions (learned: row i + 2;
 *       sinusoidal: RoBERTa's rule from pad_token_id, tensor2tensor's table); layernorm_embedding
 *   per layer (post-LN): y = ln1(y + attn_causal(y)); y = ln2(y + cross(y, e));
 *                        y = ln3(y + fc2(act(fc1(y))))
 *   logits = y · output_projection^T (tied to embed_tokens unless tie_word_embeddings false)
 * GPT-2 (pre-LN, Conv1D weights stored (in, out)):
 *   y = wte[ids] + wpe[i]
 *   per layer: y += attn_causal(ln_1(y)); y += cross(ln_cross_attn(y), e) (queries q_attn,
 *              keys and values c_attn's halves); y += c_proj(act(c_fc(ln_2(y))))
 *   logits = ln_f(y) · lm_head^T (tied to wte)
 * BERT: TrOCR's post-LN layers (eps and activation its own), the embeddings word + type 0 +
 *   position, then their LayerNorm; logits from its masked-LM head (cls.predictions).
 * The image comes from the forward driver in nn->pixels (mhv_forward_run_seq2seq_audio's
 * path, cfg.audio_positions the encoder's tokens); src is NULL. Encoder and decoder may
 * have different head counts: cfg.num_heads is the larger (the head selection's width),
 * each stack runs its own. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"vision-encoder-decoder", NULL};

static mhv_status encoder_config(const cJSON *root, const char *name, mhv_config *ec,
                                 int *norm, mhv_error *err)
{
    const cJSON *obj = mhv_json_get(root, "encoder");
    if (!obj || !cJSON_IsObject(obj))
        return mhv_fail(err, MHV_EFORMAT, name, "missing object 'encoder'");
    mhv_status st = mhv_config_parse_json(obj, "vit", name, ec, err);
    if (st)
        return st;
    if (!ec->vision || (strcmp(ec->arch, "vit") != 0 && strcmp(ec->arch, "deit") != 0 &&
                        strcmp(ec->arch, "beit") != 0))
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "encoder model_type '%s' is not supported in vision-encoder-decoder "
                        "(vit, deit and beit are)", ec->model_type);
    int mean_pool = 1;
    if (strcmp(ec->arch, "beit") == 0 &&
        (st = mhv_json_bool(obj, "use_mean_pooling", 1, &mean_pool, name, err)))
        return st;
    /* BeitModel's layernorm is an identity under use_mean_pooling (the pooler's own) */
    *norm = strcmp(ec->arch, "beit") != 0 || !mean_pool;
    return MHV_OK;
}

static mhv_status trocr_decoder(const cJSON *root, const cJSON *dec, int He, mhv_config *c,
                                const char *name, mhv_error *err);
static mhv_status gpt2_decoder(const cJSON *root, const cJSON *dec, mhv_config *c,
                               const char *name, mhv_error *err);

static mhv_status bert_decoder(const cJSON *root, const cJSON *dec, mhv_config *c,
                               const char *name, mhv_error *err);

static mhv_status ved_config(const cJSON *root, mhv_config *c, const char *name, mhv_error *err)
{
    mhv_config *ec = malloc(sizeof *ec);
    if (!ec)
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    int enc_norm = 0;
    mhv_status st = encoder_config(root, name, ec, &enc_norm, err);
    if (st) {
        free(ec);
        return st;
    }
    int He = ec->hidden_size, Hh = ec->num_heads, Le = ec->num_layers;
    int side = ec->image_size / ec->patch_size, tokens = ec->vision_extra + side * side;
    c->image_size = ec->image_size, c->patch_size = ec->patch_size;
    c->num_channels = ec->num_channels, c->image_extra = ec->vision_extra;
    free(ec);
    const cJSON *dec = mhv_json_get(root, "decoder");
    if (!dec || !cJSON_IsObject(dec))
        return mhv_fail(err, MHV_EFORMAT, name, "missing object 'decoder'");
    const char *dtype;
    if ((st = mhv_json_str(dec, "model_type", "bert", &dtype, name, err)))
        return st;
    if (strcmp(dtype, "gpt2") == 0)
        st = gpt2_decoder(root, dec, c, name, err);
    else if (strcmp(dtype, "bert") == 0)
        st = bert_decoder(root, dec, c, name, err);
    else if (strcmp(dtype, "trocr") == 0)
        st = trocr_decoder(root, dec, He, c, name, err);
    else
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "decoder model_type '%.60s' is not supported in vision-encoder-decoder "
                        "(trocr, gpt2 and bert are)", dtype);
    if (st)
        return st;
    if ((long)tokens > MHV_MAX_POSITIONS)
        return mhv_fail(err, MHV_EFORMAT, name, "the encoder's image has too many patches");
    int heads = c->ved_dec_heads, cross = c->ved_cross_hidden;
    c->num_layers = Le;
    c->ved_enc_heads = Hh;
    c->num_heads = heads > Hh ? heads : Hh;
    c->head_dim = c->hidden_size / heads;
    c->num_kv_heads = c->num_heads;
    c->embedding_size = c->hidden_size;
    c->intermediate_size = c->dec_intermediate_size;
    c->dec_vocab_size = c->vocab_size;
    c->ved_enc_norm = enc_norm;
    /* keys and values of the cross-attention read the encoder's width, or the decoder's
     * after enc_to_dec_proj */
    c->ved_cross_hidden = He == c->hidden_size || cross ? He : c->hidden_size;
    c->ved_enc_proj = He != c->hidden_size && !cross;
    c->attn_bias = c->attn_out_bias = c->mlp_bias = 1;
    c->enc_dec = 1;
    c->image_enc_dec = 1;
    c->audio_positions = tokens; /* the encoder's tokens: [CLS] (, [DIST]) and the patches */
    return MHV_OK;
}

/* TrOCRConfig's fields of dec (cross_attention_hidden_size into c->ved_cross_hidden, 0
 * when null; the heads into ved_dec_heads); the start, end and pad tokens
 * VisionEncoderDecoderModel reads from root, else dec's. */
static mhv_status trocr_decoder(const cJSON *root, const cJSON *dec, int He, mhv_config *c,
                                const char *name, mhv_error *err)
{
    mhv_status st;
    int heads, scale, learned, ln_emb, cross = 0, start, eos, pad;
    const cJSON *ch = mhv_json_get(dec, "cross_attention_hidden_size");
    if ((st = mhv_json_int(dec, "vocab_size", 50265, 1, MHV_MAX_VOCAB, &c->vocab_size, name,
                           err)) ||
        (st = mhv_json_int(dec, "d_model", 1024, 1, MHV_MAX_HIDDEN, &c->hidden_size, name,
                           err)) ||
        (st = mhv_json_int(dec, "decoder_layers", 12, 1, MHV_MAX_LAYERS, &c->dec_layers, name,
                           err)) ||
        (st = mhv_json_int(dec, "decoder_attention_heads", 16, 1, MHV_MAX_HEADS, &heads, name,
                           err)) ||
        (st = mhv_json_int(dec, "decoder_ffn_dim", 4096, 1, 4 * MHV_MAX_HIDDEN,
                           &c->dec_intermediate_size, name, err)) ||
        (st = mhv_json_int(dec, "max_position_embeddings", 512, 1, MHV_MAX_POSITIONS - 8,
                           &c->max_positions, name, err)) ||
        (st = mhv_config_act(dec, "activation_function", MHV_ACT_GELU, &c->act, name, err)) ||
        (st = mhv_json_bool(dec, "scale_embedding", 0, &scale, name, err)) ||
        (st = mhv_json_bool(dec, "use_learned_position_embeddings", 1, &learned, name, err)) ||
        (st = mhv_json_bool(dec, "layernorm_embedding", 1, &ln_emb, name, err)) ||
        (st = mhv_json_bool(dec, "tie_word_embeddings", 1, &c->tie_word_embeddings, name,
                            err)) ||
        (ch && !cJSON_IsNull(ch) &&
         (st = mhv_json_int(dec, "cross_attention_hidden_size", 0, 1, MHV_MAX_HIDDEN, &cross,
                            name, err))) ||
        (st = mhv_config_token(dec, "decoder_start_token_id", 2, &start, name, err)) ||
        (st = mhv_config_token(dec, "eos_token_id", 2, &eos, name, err)) ||
        (st = mhv_config_token(dec, "pad_token_id", 1, &pad, name, err)) ||
        /* VisionEncoderDecoderModel reads its own (shift_tokens_right, generate) */
        (st = mhv_config_token(root, "decoder_start_token_id", start, &c->decoder_start_id,
                               name, err)) ||
        (st = mhv_config_token(root, "eos_token_id", eos, &c->eos_id, name, err)) ||
        (st = mhv_config_token(root, "pad_token_id", pad, &c->pad_id, name, err)))
        return st;
    if (c->hidden_size % heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "decoder_attention_heads %d does not divide d_model %d", heads,
                        c->hidden_size);
    if (cross && cross != He) /* transformers refuses it too */
        return mhv_fail(err, MHV_EFORMAT, name, "cross_attention_hidden_size %d is not the "
                        "encoder's hidden_size %d", cross, He);
    if (!learned && (c->pad_id < 0 || c->hidden_size < 4))
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "sinusoidal positions need pad_token_id "
                        "and d_model >= 4");
    c->ved_dec_heads = heads;
    c->ved_cross_hidden = cross;
    c->layer_norm_eps = 1e-5f; /* nn.LayerNorm's default */
    c->embed_scale = scale ? sqrt((double)c->hidden_size) : 0;
    c->pad_positions = !learned;
    c->pos_offset = learned ? 2 : 0; /* TrOCRLearnedPositionalEmbedding's offset */
    c->ved_ln_embedding = ln_emb;
    return MHV_OK;
}

/* BertConfig's fields of dec (a BertLMHeadModel with is_decoder and add_cross_attention);
 * the tokens as trocr_decoder's. */
static mhv_status bert_decoder(const cJSON *root, const cJSON *dec, mhv_config *c,
                               const char *name, mhv_error *err)
{
    mhv_status st;
    int heads, is_dec, cross_attn, start, eos, pad;
    double eps;
    const char *pos;
    if ((st = mhv_json_int(dec, "vocab_size", 30522, 1, MHV_MAX_VOCAB, &c->vocab_size, name,
                           err)) ||
        (st = mhv_json_int(dec, "hidden_size", 768, 1, MHV_MAX_HIDDEN, &c->hidden_size, name,
                           err)) ||
        (st = mhv_json_int(dec, "num_hidden_layers", 12, 1, MHV_MAX_LAYERS, &c->dec_layers,
                           name, err)) ||
        (st = mhv_json_int(dec, "num_attention_heads", 12, 1, MHV_MAX_HEADS, &heads, name,
                           err)) ||
        (st = mhv_json_int(dec, "intermediate_size", 3072, 1, 4 * MHV_MAX_HIDDEN,
                           &c->dec_intermediate_size, name, err)) ||
        (st = mhv_json_int(dec, "max_position_embeddings", 512, 1, MHV_MAX_POSITIONS,
                           &c->max_positions, name, err)) ||
        (st = mhv_json_int(dec, "type_vocab_size", 2, 1, 1 << 16, &c->type_vocab_size, name,
                           err)) ||
        (st = mhv_json_num(dec, "layer_norm_eps", 1e-12, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(dec, "hidden_act", MHV_ACT_GELU, &c->act, name, err)) ||
        (st = mhv_json_str(dec, "position_embedding_type", "absolute", &pos, name, err)) ||
        (st = mhv_json_bool(dec, "is_decoder", 0, &is_dec, name, err)) ||
        (st = mhv_json_bool(dec, "add_cross_attention", 0, &cross_attn, name, err)) ||
        (st = mhv_json_bool(dec, "tie_word_embeddings", 1, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_config_token(dec, "decoder_start_token_id", -1, &start, name, err)) ||
        (st = mhv_config_token(dec, "eos_token_id", -1, &eos, name, err)) ||
        (st = mhv_config_token(dec, "pad_token_id", 0, &pad, name, err)) ||
        (st = mhv_config_token(root, "decoder_start_token_id", start, &c->decoder_start_id,
                               name, err)) ||
        (st = mhv_config_token(root, "eos_token_id", eos, &c->eos_id, name, err)) ||
        (st = mhv_config_token(root, "pad_token_id", pad, &c->pad_id, name, err)))
        return st;
    if (!is_dec || !cross_attn)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "a bert decoder without is_decoder and "
                        "add_cross_attention is not supported in vision-encoder-decoder");
    if (strcmp(pos, "absolute") != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "the bert decoder's "
                        "position_embedding_type '%.40s' is not supported (absolute is)", pos);
    if (c->hidden_size % heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "num_attention_heads %d does not divide hidden_size %d", heads,
                        c->hidden_size);
    c->ved_dec_heads = heads;
    c->ved_cross_hidden = 0; /* BERT has no cross_attention_hidden_size */
    c->layer_norm_eps = (float)eps;
    c->ved_bert = 1;
    return MHV_OK;
}

/* GPT2Config's fields of dec (a GPT2LMHeadModel with add_cross_attention); the tokens as
 * trocr_decoder's. */
static mhv_status gpt2_decoder(const cJSON *root, const cJSON *dec, mhv_config *c,
                               const char *name, mhv_error *err)
{
    mhv_status st;
    int heads, cross_attn, scale_w, inv_layer, bos, eos, pad;
    double eps;
    if ((st = mhv_json_int(dec, "vocab_size", 50257, 1, MHV_MAX_VOCAB, &c->vocab_size, name,
                           err)) ||
        (st = mhv_json_int(dec, "n_embd", 768, 1, MHV_MAX_HIDDEN, &c->hidden_size, name,
                           err)) ||
        (st = mhv_json_int(dec, "n_layer", 12, 1, MHV_MAX_LAYERS, &c->dec_layers, name, err)) ||
        (st = mhv_json_int(dec, "n_head", 12, 1, MHV_MAX_HEADS, &heads, name, err)) ||
        (st = mhv_json_int(dec, "n_positions", 1024, 1, MHV_MAX_POSITIONS, &c->max_positions,
                           name, err)) ||
        (st = mhv_json_int(dec, "n_inner", 4 * c->hidden_size, 1, 4 * MHV_MAX_HIDDEN,
                           &c->dec_intermediate_size, name, err)) ||
        (st = mhv_json_num(dec, "layer_norm_epsilon", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(dec, "activation_function", MHV_ACT_GELU_NEW, &c->act, name,
                             err)) ||
        (st = mhv_json_bool(dec, "add_cross_attention", 0, &cross_attn, name, err)) ||
        (st = mhv_json_bool(dec, "scale_attn_weights", 1, &scale_w, name, err)) ||
        (st = mhv_json_bool(dec, "scale_attn_by_inverse_layer_idx", 0, &inv_layer, name,
                            err)) ||
        (st = mhv_json_bool(dec, "tie_word_embeddings", 1, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_config_token(dec, "bos_token_id", 50256, &bos, name, err)) ||
        (st = mhv_config_token(dec, "eos_token_id", 50256, &eos, name, err)) ||
        (st = mhv_config_token(dec, "pad_token_id", -1, &pad, name, err)) ||
        (st = mhv_config_token(dec, "decoder_start_token_id", bos, &bos, name, err)) ||
        (st = mhv_config_token(root, "decoder_start_token_id", bos, &c->decoder_start_id,
                               name, err)) ||
        (st = mhv_config_token(root, "eos_token_id", eos, &c->eos_id, name, err)) ||
        (st = mhv_config_token(root, "pad_token_id", pad, &c->pad_id, name, err)))
        return st;
    if (!cross_attn)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "a gpt2 decoder without "
                        "add_cross_attention is not supported in vision-encoder-decoder");
    if (!scale_w || inv_layer)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "the gpt2 decoder's %s is not supported",
                        inv_layer ? "scale_attn_by_inverse_layer_idx" : "scale_attn_weights "
                        "false");
    if (c->hidden_size % heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name, "n_head %d does not divide n_embd %d", heads,
                        c->hidden_size);
    c->ved_dec_heads = heads;
    c->ved_cross_hidden = 0; /* GPT-2 has no cross_attention_hidden_size */
    c->layer_norm_eps = (float)eps;
    c->ved_gpt2 = 1;
    return MHV_OK;
}

static size_t ved_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, W = H > (size_t)c->ved_cross_hidden
                                               ? H : (size_t)c->ved_cross_hidden;
    return 8 * W + (size_t)c->dec_vocab_size /* BERT's LM head bias */ +
           (size_t)c->dec_layers * (16 * H + (size_t)c->dec_intermediate_size);
}

/* q, k, v and out_proj of base, with biases; k and v read `in` columns */
static mhv_status load_attn(mhv_wload *ld, const char *base, int H, int in, mhv_mat *w,
                            float **b, mhv_error *err)
{
    static const char *const proj[] = {"q_proj", "k_proj", "v_proj", "out_proj"};
    char n[200];
    mhv_status st;
    for (int i = 0; i < 4; i++) {
        snprintf(n, sizeof n, "%s.%s", base, proj[i]);
        if ((st = mhv_wload_linear(ld, n, H, i == 1 || i == 2 ? in : H, &w[i], &b[i], err)))
            return st;
    }
    return MHV_OK;
}

/* The encoder: its family's model over the checkpoint's encoder.* names. */
static mhv_status open_encoder(mhv_model *m, mhv_error *err)
{
    static const char *const renames[][2] = {{"encoder.", ""}};
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", m->dir);
    cJSON *root;
    mhv_status st = mhv_json_load(path, 16u << 20, &root, err);
    if (st)
        return st;
    mhv_model *p = calloc(1, sizeof *p);
    if (!p) {
        cJSON_Delete(root);
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory");
    }
    snprintf(p->dir, sizeof p->dir, "%s", m->dir);
    st = mhv_config_parse_json(mhv_json_get(root, "encoder"), "vit", path, &p->cfg, err);
    cJSON_Delete(root);
    mhv_wload ld;
    if (!st && !(st = mhv_st_view(m->st, renames, 1, &p->st, err)) &&
        !(st = mhv_wload_init(&ld, p->st, p->dir, p->cfg.family->vector_floats(&p->cfg),
                              &p->store, err))) {
        if (!(p->layers = calloc((size_t)p->cfg.num_layers, sizeof *p->layers)))
            st = mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory");
        else
            st = p->cfg.family->load(p, &ld, err);
    }
    if (st) {
        mhv_model_close(p);
        return st;
    }
    p->dtype = p->layers[0].q.dtype;
    m->image_tower = p;
    return MHV_OK;
}

/* GPT2LMHeadModel's decoder.transformer.* (Conv1D weights read in place as transposed
 * views) and decoder.lm_head (tied to wte when absent and tie_word_embeddings). */
static mhv_status gpt2_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"decoder.transformer.", NULL};
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->dec_intermediate_size, V = c->dec_vocab_size;
    mhv_wload_prefix(ld, prefixes, "wte.weight");
    if (!ld->prefix[0])
        return mhv_fail(err, MHV_EFORMAT, m->dir, "no decoder.transformer.wte.weight: not a "
                        "VisionEncoderDecoderModel checkpoint with a GPT-2 decoder");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "wte.weight", V, H, 0, &m->dec_word_emb, err)) ||
        (st = mhv_wload_mat(ld, "wpe.weight", c->max_positions, H, 0, &m->dec_pos_emb, err)) ||
        (st = mhv_wload_pair(ld, "ln_f", H, 0, &m->norm_g, &m->norm_b, err)))
        return st;
    m->word_emb = m->dec_word_emb;
    const int w3[3] = {H, H, H}, w2[2] = {H, H}, wH[1] = {H}, wI[1] = {I};
    char n[200];
    for (int l = 0; l < c->dec_layers; l++) {
        mhv_layer *ly = &m->dec_layers[l];
        mhv_mat qkv[3], kv[2];
        float *qkv_b, *kv_b;
#define N(suffix) (snprintf(n, sizeof n, "h.%d.%s", l, suffix), n)
        if ((st = mhv_wload_pair(ld, N("ln_1"), H, 0, &ly->ln_attn_g, &ly->ln_attn_b, err)) ||
            (st = mhv_wload_conv1d(ld, N("attn.c_attn.weight"), H, w3, 3, qkv, err)) ||
            (st = mhv_wload_vec(ld, N("attn.c_attn.bias"), 3 * H, 0, &qkv_b, err)) ||
            (st = mhv_wload_conv1d(ld, N("attn.c_proj.weight"), H, wH, 1, &ly->o, err)) ||
            (st = mhv_wload_vec(ld, N("attn.c_proj.bias"), H, 0, &ly->o_b, err)) ||
            (st = mhv_wload_pair(ld, N("ln_cross_attn"), H, 0, &ly->ln_cross_g, &ly->ln_cross_b,
                                 err)) ||
            (st = mhv_wload_conv1d(ld, N("crossattention.q_attn.weight"), H, wH, 1, &ly->xq,
                                   err)) ||
            (st = mhv_wload_vec(ld, N("crossattention.q_attn.bias"), H, 0, &ly->xq_b, err)) ||
            (st = mhv_wload_conv1d(ld, N("crossattention.c_attn.weight"), H, w2, 2, kv, err)) ||
            (st = mhv_wload_vec(ld, N("crossattention.c_attn.bias"), 2 * H, 0, &kv_b, err)) ||
            (st = mhv_wload_conv1d(ld, N("crossattention.c_proj.weight"), H, wH, 1, &ly->xo,
                                   err)) ||
            (st = mhv_wload_vec(ld, N("crossattention.c_proj.bias"), H, 0, &ly->xo_b, err)) ||
            (st = mhv_wload_pair(ld, N("ln_2"), H, 0, &ly->ln_ffn_g, &ly->ln_ffn_b, err)) ||
            (st = mhv_wload_conv1d(ld, N("mlp.c_fc.weight"), H, wI, 1, &ly->ffn_up, err)) ||
            (st = mhv_wload_vec(ld, N("mlp.c_fc.bias"), I, 0, &ly->ffn_up_b, err)) ||
            (st = mhv_wload_conv1d(ld, N("mlp.c_proj.weight"), I, wH, 1, &ly->ffn_down, err)) ||
            (st = mhv_wload_vec(ld, N("mlp.c_proj.bias"), H, 0, &ly->ffn_down_b, err)))
            return st;
#undef N
        ly->q = qkv[0], ly->k = qkv[1], ly->v = qkv[2];
        ly->q_b = qkv_b, ly->k_b = qkv_b + H, ly->v_b = qkv_b + 2 * H;
        ly->xk = kv[0], ly->xv = kv[1];
        ly->xk_b = kv_b, ly->xv_b = kv_b + H;
    }
    if ((st = mhv_wload_mat(ld, "decoder.lm_head.weight", V, H, MHV_W_BARE | MHV_W_OPTIONAL,
                            &m->lm_head, err)))
        return st;
    if (!m->lm_head.data && c->tie_word_embeddings)
        m->lm_head = m->dec_word_emb;
    if (!m->lm_head.data)
        return mhv_fail(err, MHV_EFORMAT, m->dir, "no decoder.lm_head.weight and "
                        "tie_word_embeddings is false");
    return MHV_OK;
}

/* BertLMHeadModel's decoder.bert.* and its masked-LM head decoder.cls.predictions.* (the
 * decoder tied to the word embeddings unless stored). */
static mhv_status bert_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"decoder.bert.", NULL};
    static const mhv_mlm_names head = {
        "decoder.cls.predictions.transform.dense.weight",
        "decoder.cls.predictions.transform.dense.bias",
        "decoder.cls.predictions.transform.LayerNorm.weight",
        "decoder.cls.predictions.transform.LayerNorm.bias",
        "decoder.cls.predictions.decoder.bias", "decoder.cls.predictions.bias",
        "decoder.cls.predictions.decoder.weight"};
    mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->dec_intermediate_size, V = c->dec_vocab_size;
    mhv_wload_prefix(ld, prefixes, "embeddings.word_embeddings.weight");
    if (!ld->prefix[0])
        return mhv_fail(err, MHV_EFORMAT, m->dir, "no decoder.bert.embeddings.word_embeddings."
                        "weight: not a VisionEncoderDecoderModel checkpoint with a BERT decoder");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embeddings.word_embeddings.weight", V, H, 0, &m->dec_word_emb,
                            err)) ||
        (st = mhv_wload_mat(ld, "embeddings.position_embeddings.weight", c->max_positions, H, 0,
                            &m->dec_pos_emb, err)) ||
        (st = mhv_wload_mat(ld, "embeddings.token_type_embeddings.weight", c->type_vocab_size,
                            H, 0, &m->type_emb, err)) ||
        (st = mhv_wload_pair(ld, "embeddings.LayerNorm", H, 0, &m->dec_emb_ln_g,
                             &m->dec_emb_ln_b, err)))
        return st;
    m->word_emb = m->dec_word_emb;
    char n[200];
    for (int l = 0; l < c->dec_layers; l++) {
        mhv_layer *ly = &m->dec_layers[l];
#define LIN(sfx, r, cl, w, b)                                                                 \
    (snprintf(n, sizeof n, "encoder.layer.%d.%s", l, sfx),                                   \
     mhv_wload_linear(ld, n, r, cl, w, b, err))
#define LN(sfx, g, b)                                                                         \
    (snprintf(n, sizeof n, "encoder.layer.%d.%s", l, sfx), mhv_wload_pair(ld, n, H, 0, g, b, err))
        if ((st = LIN("attention.self.query", H, H, &ly->q, &ly->q_b)) ||
            (st = LIN("attention.self.key", H, H, &ly->k, &ly->k_b)) ||
            (st = LIN("attention.self.value", H, H, &ly->v, &ly->v_b)) ||
            (st = LIN("attention.output.dense", H, H, &ly->o, &ly->o_b)) ||
            (st = LN("attention.output.LayerNorm", &ly->ln_attn_g, &ly->ln_attn_b)) ||
            (st = LIN("crossattention.self.query", H, H, &ly->xq, &ly->xq_b)) ||
            (st = LIN("crossattention.self.key", H, H, &ly->xk, &ly->xk_b)) ||
            (st = LIN("crossattention.self.value", H, H, &ly->xv, &ly->xv_b)) ||
            (st = LIN("crossattention.output.dense", H, H, &ly->xo, &ly->xo_b)) ||
            (st = LN("crossattention.output.LayerNorm", &ly->ln_cross_g, &ly->ln_cross_b)) ||
            (st = LIN("intermediate.dense", I, H, &ly->ffn_up, &ly->ffn_up_b)) ||
            (st = LIN("output.dense", H, I, &ly->ffn_down, &ly->ffn_down_b)) ||
            (st = LN("output.LayerNorm", &ly->ln_ffn_g, &ly->ln_ffn_b)))
            return st;
#undef LIN
#undef LN
    }
    if ((st = mhv_layer_load_mlm_head(m, ld, &head, (int)c->act, err)))
        return st;
    if (!m->mlm_dense.data)
        return mhv_fail(err, MHV_EFORMAT, m->dir, "no decoder.cls.predictions: the BERT "
                        "decoder has no LM head");
    if (!c->tie_word_embeddings && m->mlm_decoder.data == m->word_emb.data)
        return mhv_fail(err, MHV_EFORMAT, m->dir, "no decoder.cls.predictions.decoder.weight "
                        "and tie_word_embeddings is false");
    m->lm_head = m->mlm_decoder; /* the driver's check that there are logits */
    return MHV_OK;
}

static mhv_status ved_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"decoder.model.decoder.", NULL};
    const mhv_config *c = &m->cfg;
    mhv_status st = open_encoder(m, err);
    if (st)
        return st;
    const mhv_model *v = m->image_tower;
    int H = c->hidden_size, He = v->cfg.hidden_size, Hk = c->ved_cross_hidden;
    int V = c->dec_vocab_size, Le = c->num_layers, Ld = c->dec_layers;
    int F = c->dec_intermediate_size;
    mhv_layer *all = realloc(m->layers, (size_t)(Le + Ld) * sizeof *all);
    if (!all)
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory");
    /* the encoder's layers seen from m: the driver's checks and reports read them */
    memcpy(all, v->layers, (size_t)Le * sizeof *all);
    memset(all + Le, 0, (size_t)Ld * sizeof *all);
    m->layers = all;
    m->dec_layers = all + Le;
    if (c->ved_enc_norm &&
        (st = mhv_wload_pair(ld, "encoder.layernorm", He, 0, &m->enc_norm_g, &m->enc_norm_b, err)))
        return st;
    if (c->ved_enc_proj &&
        (st = mhv_wload_linear(ld, "enc_to_dec_proj", H, He, &m->mm_proj1, &m->mm_proj1_b, err)))
        return st;
    if (c->ved_gpt2)
        return gpt2_load(m, ld, err);
    if (c->ved_bert)
        return bert_load(m, ld, err);
    mhv_wload_prefix(ld, prefixes, "embed_tokens.weight");
    if (!ld->prefix[0])
        return mhv_fail(err, MHV_EFORMAT, m->dir, "no decoder.model.decoder.embed_tokens.weight: "
                        "not a VisionEncoderDecoderModel checkpoint");
    if ((st = mhv_wload_mat(ld, "embed_tokens.weight", V, H, 0, &m->dec_word_emb, err)) ||
        (!c->pad_positions &&
         (st = mhv_wload_mat(ld, "embed_positions.weight", c->max_positions + 2, H, 0,
                             &m->dec_pos_emb, err))) ||
        (c->ved_ln_embedding &&
         (st = mhv_wload_pair(ld, "layernorm_embedding", H, 0, &m->dec_emb_ln_g,
                              &m->dec_emb_ln_b, err))))
        return st;
    m->word_emb = m->dec_word_emb;
    char n[200];
    for (int l = 0; l < Ld; l++) {
        mhv_layer *ly = &m->dec_layers[l];
        mhv_mat w[4];
        float *b[4];
        snprintf(n, sizeof n, "layers.%d.self_attn", l);
        if ((st = load_attn(ld, n, H, H, w, b, err)))
            return st;
        ly->q = w[0], ly->k = w[1], ly->v = w[2], ly->o = w[3];
        ly->q_b = b[0], ly->k_b = b[1], ly->v_b = b[2], ly->o_b = b[3];
        snprintf(n, sizeof n, "layers.%d.encoder_attn", l);
        if ((st = load_attn(ld, n, H, Hk, w, b, err)))
            return st;
        ly->xq = w[0], ly->xk = w[1], ly->xv = w[2], ly->xo = w[3];
        ly->xq_b = b[0], ly->xk_b = b[1], ly->xv_b = b[2], ly->xo_b = b[3];
        snprintf(n, sizeof n, "layers.%d.self_attn_layer_norm", l);
        if ((st = mhv_wload_pair(ld, n, H, 0, &ly->ln_attn_g, &ly->ln_attn_b, err)))
            return st;
        snprintf(n, sizeof n, "layers.%d.encoder_attn_layer_norm", l);
        if ((st = mhv_wload_pair(ld, n, H, 0, &ly->ln_cross_g, &ly->ln_cross_b, err)))
            return st;
        snprintf(n, sizeof n, "layers.%d.fc1", l);
        if ((st = mhv_wload_linear(ld, n, F, H, &ly->ffn_up, &ly->ffn_up_b, err)))
            return st;
        snprintf(n, sizeof n, "layers.%d.fc2", l);
        if ((st = mhv_wload_linear(ld, n, H, F, &ly->ffn_down, &ly->ffn_down_b, err)))
            return st;
        snprintf(n, sizeof n, "layers.%d.final_layer_norm", l);
        if ((st = mhv_wload_pair(ld, n, H, 0, &ly->ln_ffn_g, &ly->ln_ffn_b, err)))
            return st;
    }
    /* TrOCRForCausalLM's output_projection, tied to embed_tokens unless the decoder's
     * tie_word_embeddings is false (save_pretrained leaves a tied one out) */
    if ((st = mhv_wload_mat(ld, "decoder.output_projection.weight", V, H,
                            MHV_W_BARE | MHV_W_OPTIONAL, &m->lm_head, err)))
        return st;
    if (!m->lm_head.data && c->tie_word_embeddings)
        m->lm_head = m->dec_word_emb;
    if (!m->lm_head.data)
        return mhv_fail(err, MHV_EFORMAT, m->dir, "no decoder.output_projection.weight and "
                        "tie_word_embeddings is false");
    return MHV_OK;
}

/* Keeps the encoder's last hidden state (index layers) out of its pass. */
typedef struct {
    float *x;
    int index;
    size_t floats;
} last_sink;

static void keep_last(void *ctx, int index, const float *x, int n, int d)
{
    last_sink *s = ctx;
    if (index == s->index && (size_t)n * (size_t)d == s->floats)
        memcpy(s->x, x, s->floats * sizeof *x);
}

static mhv_status ved_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                              mhv_capture *cap, float *logits, mhv_error *err)
{
    (void)nn, (void)ids, (void)n, (void)cap, (void)logits;
    return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "%s is an encoder-decoder model",
                    m->cfg.arch);
}

/* y(n, H) = y + ctx · o^T + o_b, then the layer norm (post-LN) */
static void residual(mhv_nn *nn, const mhv_config *c, float *y, const float *ctx,
                     const mhv_mat *o, const float *o_b, const float *g, const float *b,
                     float *tmp, int n)
{
    mhv_nn_linear(nn, tmp, ctx, o, o_b, n, MHV_NN_NO_ACT);
    mhv_norm ln = mhv_nn_layernorm(g, b, c->layer_norm_eps);
    mhv_nn_add_norm(nn, y, tmp, &ln, n, c->hidden_size);
}

/* The decoder's input embeddings x(n, H) of ids: scaled tokens, positions, the norm. */
static void embed(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n, float *x,
                  float *row)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size;
    if (c->ved_bert) { /* word + type 0 + position, then the LayerNorm */
        mhv_norm ln = mhv_nn_layernorm(m->dec_emb_ln_g, m->dec_emb_ln_b, c->layer_norm_eps);
        mhv_embed be = {.tok = &m->dec_word_emb, .pos = &m->dec_pos_emb, .type = &m->type_emb,
                        .norm = &ln, .pad_id = -1};
        mhv_nn_embed(nn, x, &be, ids, n, H);
        return;
    }
    mhv_embed e = {.tok = &m->dec_word_emb, .pad_id = -1};
    mhv_nn_embed(nn, x, &e, ids, n, H);
    if (c->embed_scale > 0) { /* TrOCRScaledWordEmbedding: fp32 times the scale */
        float scale = (float)c->embed_scale;
        for (size_t t = 0, len = (size_t)n * (size_t)H; t < len; t++)
            x[t] *= scale;
    }
    for (int i = 0, rank = 0; i < n; i++) {
        if (c->pad_positions) { /* sinusoidal: pads at the padding row, others counted */
            int p = ids[i] == c->pad_id ? c->pad_id : c->pad_id + 1 + rank++;
            mhv_family_t2t_position(p, c->pad_id, H, row);
        } else {
            mhv_mat_row(&m->dec_pos_emb, mhv_nn_past(nn) + i + c->pos_offset, row);
        }
        nn->K->add(x + (size_t)i * (size_t)H, row, (size_t)H);
    }
    if (m->dec_emb_ln_g) {
        mhv_norm ln = mhv_nn_layernorm(m->dec_emb_ln_g, m->dec_emb_ln_b, c->layer_norm_eps);
        mhv_nn_norm(nn, x, x, &ln, n, H);
    }
}

/* GPT-2's decoder over tgt(nt) with cross-attention to e(ns, H) (pre-LN), into the caps
 * and logits as ved_seq2seq's. */
static mhv_status gpt2_decode(mhv_nn *nn, const mhv_model *m, const int32_t *tgt, int nt,
                              const float *e, int ns, const mhv_attn_bufs *ab, float *x,
                              float *xb, float *ffn, float *tmp, mhv_capture *cap,
                              float *logits)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, NH = c->ved_dec_heads, d = c->head_dim;
    const float scale = (float)(1.0 / sqrt((double)d));
    mhv_embed emb = {.tok = &m->dec_word_emb, .pos = &m->dec_pos_emb, .pad_id = -1};
    mhv_nn_embed(nn, x, &emb, tgt, nt, H);
    int last = logits ? c->dec_layers - 1 : cap[1].last;
    for (int l = 0; l <= last; l++) {
        const mhv_layer *ly = &m->dec_layers[l];
        mhv_norm ln1 = mhv_nn_layernorm(ly->ln_attn_g, ly->ln_attn_b, c->layer_norm_eps);
        mhv_norm lnx = mhv_nn_layernorm(ly->ln_cross_g, ly->ln_cross_b, c->layer_norm_eps);
        mhv_norm ln2 = mhv_nn_layernorm(ly->ln_ffn_g, ly->ln_ffn_b, c->layer_norm_eps);
        mhv_attn_layer attn = {.wq = &ly->q, .wk = &ly->k, .wv = &ly->v, .bq = ly->q_b,
                               .bk = ly->k_b, .bv = ly->v_b, .heads = NH, .kv_heads = NH,
                               .head_dim = d, .scale = scale, .causal = 1, .wo = &ly->o};
        mhv_nn_norm(nn, xb, x, &ln1, nt, H);
        mhv_nn_attention(nn, &attn, xb, nt, l, ab, &cap[1]);
        mhv_nn_linear(nn, tmp, ab->ctx, &ly->o, ly->o_b, nt, MHV_NN_NO_ACT);
        mhv_nn_add(nn, x, tmp, nt, H);
        mhv_attn_layer cross = {.wq = &ly->xq, .wk = &ly->xk, .wv = &ly->xv, .bq = ly->xq_b,
                                .bk = ly->xk_b, .bv = ly->xv_b, .heads = NH, .kv_heads = NH,
                                .head_dim = d, .scale = scale, .wo = &ly->xo};
        mhv_nn_norm(nn, xb, x, &lnx, nt, H);
        int done = !logits && l == last;
        mhv_nn_cross_attention(nn, &cross, xb, nt, e, ns, l, ab, &cap[2], done);
        if (done)
            break;
        mhv_nn_linear(nn, tmp, ab->ctx, &ly->xo, ly->xo_b, nt, MHV_NN_NO_ACT);
        mhv_nn_add(nn, x, tmp, nt, H);
        mhv_nn_norm(nn, xb, x, &ln2, nt, H);
        mhv_nn_linear(nn, ffn, xb, &ly->ffn_up, ly->ffn_up_b, nt, (int)c->act);
        mhv_nn_linear(nn, tmp, ffn, &ly->ffn_down, ly->ffn_down_b, nt, MHV_NN_NO_ACT);
        mhv_nn_add(nn, x, tmp, nt, H);
    }
    if (logits) {
        int lr = mhv_nn_logit_rows(nn, nt); /* the last lr positions */
        float *xl = x + (size_t)(nt - lr) * (size_t)H;
        mhv_norm lnf = mhv_nn_layernorm(m->norm_g, m->norm_b, c->layer_norm_eps);
        mhv_nn_norm(nn, xl, xl, &lnf, lr, H);
        mhv_nn_linear(nn, logits, xl, &m->lm_head, NULL, lr, MHV_NN_NO_ACT);
    }
    return MHV_OK;
}

/* The decoder continues a cached target (nn->kv) unless its sinusoidal positions count the
 * target's pads (TrOCR's). */
static int ved_caches(const mhv_config *c)
{
    return !c->pad_positions;
}

static mhv_status ved_seq2seq(mhv_nn *nn, const mhv_model *m, const int32_t *src, int ns,
                              const int32_t *tgt, int nt, mhv_capture *cap, float *logits,
                              mhv_error *err)
{
    (void)src;
    const mhv_config *c = &m->cfg;
    const mhv_model *v = m->image_tower;
    int H = c->hidden_size, He = v->cfg.hidden_size, Hk = c->ved_cross_hidden;
    int F = c->dec_intermediate_size, NH = c->ved_dec_heads, d = c->head_dim;
    int N = ns > nt ? ns : nt, Ld = c->dec_layers;
    size_t enc_in = (size_t)ns * (size_t)He, enc_out = (size_t)ns * (size_t)Hk;
    size_t tower = 0;
    if (nn->measure) { /* the encoder's own arena first */
        mhv_error ignored;
        nn->measured = 0;
        v->cfg.family->forward(nn, v, NULL, ns, &cap[0], NULL, &ignored);
        tower = nn->measured;
        nn->measured = 0;
    } else if (!nn->pixels) {
        return mhv_fail(err, MHV_EUSAGE, "", "%s takes an image, not token ids", c->arch);
    }
    /* the encoder's output (He wide), kept across its pass and the decoder's arena */
    float *kept = NULL;
    int hit = 0;
    if (!nn->measure) {
        if (!(kept = malloc((enc_out > enc_in ? enc_out : enc_in) * sizeof *kept)))
            return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory for the encoder's output");
        hit = mhv_nn_memo_load(nn, 0, kept, enc_out);
        if (!hit) {
            last_sink sink = {kept, v->cfg.num_layers, enc_in};
            /* the image is the encoder's own size (the driver's pixels carry none) */
            int ih = nn->image_h, iw = nn->image_w;
            nn->image_h = nn->image_w = v->cfg.image_size;
            nn->hidden_out = keep_last, nn->hidden_ctx = &sink;
            mhv_nn_kv *kv = nn->kv; /* the decoder's key/value cache, not the tower's */
            nn->kv = NULL;
            mhv_status st = v->cfg.family->forward(nn, v, NULL, ns, &cap[0], NULL, err);
            nn->kv = kv;
            nn->hidden_out = NULL, nn->hidden_ctx = NULL;
            nn->image_h = ih, nn->image_w = iw;
            if (st || (cap[1].last < 0 && !logits)) {
                free(kept);
                return st;
            }
        }
    }
    float *xe, *xin, *xd, *xb, *q, *k, *vv, *ctx, *tmp, *ffn, *row;
    size_t n = (size_t)N, W = (size_t)(H > Hk ? H : Hk);
    const mhv_nn_buf bufs[] = {
        {&xe, enc_out}, {&xin, enc_in}, {&xd, (size_t)nt * (size_t)H}, {&xb, n * (size_t)H},
        {&q, n * (size_t)H}, {&k, n * (size_t)H}, {&vv, n * (size_t)H}, {&ctx, n * (size_t)H},
        {&tmp, n * (size_t)H}, {&ffn, n * (size_t)F}, {&row, W}};
    int widest = F > H ? F : H;
    widest = widest > He ? widest : He;
    mhv_nn_shape shape = {N, H, widest, d};
    mhv_status st = mhv_nn_begin(nn, &shape, bufs, (int)(sizeof bufs / sizeof bufs[0]), err);
    if (nn->measure) {
        nn->measured = (tower > nn->measured ? tower : nn->measured) + enc_out * sizeof(float);
        return st;
    }
    if (st) {
        free(kept);
        return st;
    }
    if (hit) {
        memcpy(xe, kept, enc_out * sizeof *xe);
    } else {
        memcpy(xin, kept, enc_in * sizeof *xin);
        if (m->enc_norm_g) {
            mhv_norm ln = mhv_nn_layernorm(m->enc_norm_g, m->enc_norm_b,
                                           v->cfg.layer_norm_eps);
            mhv_nn_norm(nn, xin, xin, &ln, ns, He);
        }
        if (c->ved_enc_proj)
            mhv_nn_linear(nn, xe, xin, &m->mm_proj1, m->mm_proj1_b, ns, MHV_NN_NO_ACT);
        else
            memcpy(xe, xin, enc_out * sizeof *xe);
        mhv_nn_memo_store(nn, 0, xe, enc_out);
    }
    free(kept);

    const mhv_attn_bufs ab = {.q = q, .k = k, .v = vv, .ctx = ctx};
    const float scale = (float)(1.0 / sqrt((double)d));
    if (c->ved_gpt2)
        return gpt2_decode(nn, m, tgt, nt, xe, ns, &ab, xd, xb, ffn, tmp, cap, logits);
    embed(nn, m, tgt, nt, xd, row);
    int last = logits ? Ld - 1 : cap[1].last;
    for (int l = 0; l <= last; l++) {
        const mhv_layer *ly = &m->dec_layers[l];
        mhv_attn_layer attn = {.wq = &ly->q, .wk = &ly->k, .wv = &ly->v, .bq = ly->q_b,
                               .bk = ly->k_b, .bv = ly->v_b, .heads = NH, .kv_heads = NH,
                               .head_dim = d, .scale = scale, .causal = 1, .wo = &ly->o};
        mhv_nn_attention(nn, &attn, xd, nt, l, &ab, &cap[1]);
        residual(nn, c, xd, ctx, &ly->o, ly->o_b, ly->ln_attn_g, ly->ln_attn_b, tmp, nt);
        mhv_attn_layer cross = {.wq = &ly->xq, .wk = &ly->xk, .wv = &ly->xv, .bq = ly->xq_b,
                                .bk = ly->xk_b, .bv = ly->xv_b, .heads = NH, .kv_heads = NH,
                                .head_dim = d, .scale = scale, .wo = &ly->xo};
        int done = !logits && l == last;
        mhv_nn_cross_attention(nn, &cross, xd, nt, xe, ns, l, &ab, &cap[2], done);
        if (done)
            break;
        residual(nn, c, xd, ctx, &ly->xo, ly->xo_b, ly->ln_cross_g, ly->ln_cross_b, tmp, nt);
        mhv_nn_linear(nn, ffn, xd, &ly->ffn_up, ly->ffn_up_b, nt, (int)c->act);
        residual(nn, c, xd, ffn, &ly->ffn_down, ly->ffn_down_b, ly->ln_ffn_g, ly->ln_ffn_b,
                 tmp, nt);
    }
    if (logits) {
        int lr = mhv_nn_logit_rows(nn, nt); /* the last lr positions */
        float *xl = xd + (size_t)(nt - lr) * (size_t)H;
        if (c->ved_bert) /* its masked-LM head */
            mhv_layer_mlm_head(nn, m, xl, tmp, xb, logits, lr);
        else
            mhv_nn_linear(nn, logits, xl, &m->lm_head, NULL, lr, MHV_NN_NO_ACT);
    }
    return MHV_OK;
}

const mhv_family mhv_family_ved = {
    .name = "vision-encoder-decoder",
    .model_types = model_types,
    .config = ved_config,
    .vector_floats = ved_vector_floats,
    .load = ved_load,
    .forward = ved_forward,
    .seq2seq = ved_seq2seq,
    .caches = ved_caches,
};
