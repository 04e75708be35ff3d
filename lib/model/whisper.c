/* whisper.c - Whisper (WhisperForConditionalGeneration, WhisperModel): an audio encoder and a
 * text decoder of pre-LN layers, as transformers' modeling_whisper.py computes them.
 *
 *   encoder: x = gelu(conv2(gelu(conv1(features))))      features (mels, 2F) -> (F, d)
 *              conv1: kernel 3, padding 1; conv2: kernel 3, stride 2, padding 1
 *            x += embed_positions[0..F)                  (F = max_source_positions)
 *            x += attn(ln1(x));  x += fc2(act(fc1(ln2(x))));   e = layer_norm(x)
 *   decoder: y = embed_tokens[ids] + embed_positions[i]  (scale_embedding is never applied)
 *            y += attn_causal(ln1(y)); y += cross(lnx(y), e); y += ffn(ln2(y));
 *            y = layer_norm(y);  logits = y · proj_out^T (tied to embed_tokens)
 * Attention: q, v and out projections have biases, k has none; scores q·k / sqrt(head_dim)
 * (transformers scales q before the product: the same numbers up to rounding, exactly the
 * same for Whisper's head_dim 64). The encoder attends over all F frames, the 30-s window's
 * padding included (Whisper takes no attention mask). The features come from the forward
 * driver in nn->pixels (mhv_forward_run_seq2seq_audio); src is NULL. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"

static const char *const model_types[] = {"whisper", NULL};

static mhv_status whisper_config(const cJSON *root, mhv_config *c, const char *name,
                                 mhv_error *err)
{
    mhv_status st;
    int dec_heads, weighted;
    if ((st = mhv_json_int(root, "vocab_size", 51865, 1, MHV_MAX_VOCAB, &c->vocab_size, name,
                           err)) ||
        (st = mhv_json_int(root, "num_mel_bins", 80, 1, 4096, &c->num_mel_bins, name, err)) ||
        (st = mhv_json_int(root, "d_model", 384, 1, MHV_MAX_HIDDEN, &c->hidden_size, name,
                           err)) ||
        (st = mhv_json_int(root, "encoder_layers", 4, 1, MHV_MAX_LAYERS, &c->num_layers, name,
                           err)) ||
        (st = mhv_json_int(root, "decoder_layers", 4, 1, MHV_MAX_LAYERS, &c->dec_layers, name,
                           err)) ||
        (st = mhv_json_int(root, "encoder_attention_heads", 6, 1, MHV_MAX_HEADS, &c->num_heads,
                           name, err)) ||
        (st = mhv_json_int(root, "decoder_attention_heads", 6, 1, MHV_MAX_HEADS, &dec_heads,
                           name, err)) ||
        (st = mhv_json_int(root, "encoder_ffn_dim", 1536, 1, 4 * MHV_MAX_HIDDEN,
                           &c->intermediate_size, name, err)) ||
        (st = mhv_json_int(root, "decoder_ffn_dim", 1536, 1, 4 * MHV_MAX_HIDDEN,
                           &c->dec_intermediate_size, name, err)) ||
        (st = mhv_json_int(root, "max_source_positions", 1500, 1, 1 << 20, &c->audio_positions,
                           name, err)) ||
        (st = mhv_json_int(root, "max_target_positions", 448, 1, MHV_MAX_POSITIONS,
                           &c->max_positions, name, err)) ||
        (st = mhv_config_act(root, "activation_function", MHV_ACT_GELU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 1, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "use_weighted_layer_sum", 0, &weighted, name, err)) ||
        (st = mhv_config_token(root, "eos_token_id", 50256, &c->eos_id, name, err)) ||
        (st = mhv_config_token(root, "decoder_start_token_id", 50257, &c->decoder_start_id, name,
                               err)) ||
        (st = mhv_config_token(root, "pad_token_id", 50256, &c->pad_id, name, err)))
        return st;
    if (weighted)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "use_weighted_layer_sum is not supported "
                        "(WhisperForAudioClassification's pooled layers)");
    if (dec_heads != c->num_heads)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "decoder_attention_heads %d unlike encoder_attention_heads %d is not "
                        "supported", dec_heads, c->num_heads);
    if (c->hidden_size % c->num_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "encoder_attention_heads %d does not divide d_model %d", c->num_heads,
                        c->hidden_size);
    c->dec_vocab_size = c->vocab_size;
    c->head_dim = c->hidden_size / c->num_heads;
    c->num_kv_heads = c->num_heads;
    c->embedding_size = c->hidden_size;
    c->layer_norm_eps = 1e-5f; /* nn.LayerNorm's default */
    c->pre_norm = c->final_norm = 1;
    c->attn_bias = c->attn_out_bias = c->mlp_bias = 1;
    c->enc_dec = 1;
    return MHV_OK;
}

static size_t whisper_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    return 8 * H + (size_t)c->num_layers * (10 * H + (size_t)c->intermediate_size) +
           (size_t)c->dec_layers * (16 * H + (size_t)c->dec_intermediate_size);
}

/* q (bias), k (none), v (bias), out (bias) of base */
static mhv_status load_attn(mhv_wload *ld, const char *base, int H, mhv_mat *w, float **b,
                            mhv_error *err)
{
    static const char *const proj[] = {"q_proj", "k_proj", "v_proj", "out_proj"};
    char n[200];
    mhv_status st;
    for (int i = 0; i < 4; i++) {
        snprintf(n, sizeof n, "%s.%s.weight", base, proj[i]);
        if ((st = mhv_wload_mat(ld, n, H, H, 0, &w[i], err)))
            return st;
        b[i] = NULL;
        if (i == 1)
            continue;
        snprintf(n, sizeof n, "%s.%s.bias", base, proj[i]);
        if ((st = mhv_wload_vec(ld, n, H, 0, &b[i], err)))
            return st;
    }
    return MHV_OK;
}

static mhv_status whisper_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    /* WhisperForConditionalGeneration, then WhisperModel */
    static const char *const prefixes[] = {"model.", NULL};
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, V = c->vocab_size, M = c->num_mel_bins;
    int Le = c->num_layers, Ld = c->dec_layers;
    mhv_wload_prefix(ld, prefixes, "encoder.conv1.weight");
    mhv_status st;
    /* WhisperForAudioClassification and the encoder alone have no decoder */
    mhv_mat probe;
    if ((st = mhv_wload_mat(ld, "decoder.embed_tokens.weight", V, H, MHV_W_OPTIONAL, &probe,
                            err)))
        return st;
    if (!probe.data)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "a Whisper encoder without its decoder "
                        "(WhisperForAudioClassification, WhisperEncoder) is not supported: "
                        "no decoder.embed_tokens.weight");
    mhv_layer *all = realloc(m->layers, (size_t)(Le + Ld) * sizeof *all);
    if (!all)
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory");
    memset(all + Le, 0, (size_t)Ld * sizeof *all);
    m->layers = all;
    m->dec_layers = all + Le;
    const int64_t k1[3] = {H, M, 3}, k2[3] = {H, H, 3};
    char n[200];
    if ((st = mhv_wload_tensor(ld, "encoder.conv1.weight", k1, 3, 0, &m->audio_conv1, err)) ||
        (st = mhv_wload_vec(ld, "encoder.conv1.bias", H, 0, &m->audio_conv1_b, err)) ||
        (st = mhv_wload_tensor(ld, "encoder.conv2.weight", k2, 3, 0, &m->audio_conv2, err)) ||
        (st = mhv_wload_vec(ld, "encoder.conv2.bias", H, 0, &m->audio_conv2_b, err)) ||
        (st = mhv_wload_mat(ld, "encoder.embed_positions.weight", c->audio_positions, H, 0,
                            &m->pos_emb, err)) ||
        (st = mhv_wload_mat(ld, "decoder.embed_positions.weight", c->max_positions, H, 0,
                            &m->dec_pos_emb, err)) ||
        (st = mhv_wload_pair(ld, "encoder.layer_norm", H, 0, &m->enc_norm_g, &m->enc_norm_b,
                             err)) ||
        (st = mhv_wload_pair(ld, "decoder.layer_norm", H, 0, &m->norm_g, &m->norm_b, err)))
        return st;
    m->dec_word_emb = m->word_emb = probe;
    for (int l = 0; l < Le + Ld; l++) {
        int dec = l >= Le, i = dec ? l - Le : l;
        int F = dec ? c->dec_intermediate_size : c->intermediate_size;
        mhv_layer *ly = &all[l];
        const char *stack = dec ? "decoder" : "encoder";
        mhv_mat w[4];
        float *b[4];
        snprintf(n, sizeof n, "%s.layers.%d.self_attn", stack, i);
        if ((st = load_attn(ld, n, H, w, b, err)))
            return st;
        ly->q = w[0], ly->k = w[1], ly->v = w[2], ly->o = w[3];
        ly->q_b = b[0], ly->v_b = b[2], ly->o_b = b[3];
        snprintf(n, sizeof n, "%s.layers.%d.self_attn_layer_norm", stack, i);
        if ((st = mhv_wload_pair(ld, n, H, 0, &ly->ln_attn_g, &ly->ln_attn_b, err)))
            return st;
        if (dec) {
            snprintf(n, sizeof n, "decoder.layers.%d.encoder_attn", i);
            if ((st = load_attn(ld, n, H, w, b, err)))
                return st;
            ly->xq = w[0], ly->xk = w[1], ly->xv = w[2], ly->xo = w[3];
            ly->xq_b = b[0], ly->xv_b = b[2], ly->xo_b = b[3];
            snprintf(n, sizeof n, "decoder.layers.%d.encoder_attn_layer_norm", i);
            if ((st = mhv_wload_pair(ld, n, H, 0, &ly->ln_cross_g, &ly->ln_cross_b, err)))
                return st;
        }
        snprintf(n, sizeof n, "%s.layers.%d.fc1", stack, i);
        if ((st = mhv_wload_linear(ld, n, F, H, &ly->ffn_up, &ly->ffn_up_b, err)))
            return st;
        snprintf(n, sizeof n, "%s.layers.%d.fc2", stack, i);
        if ((st = mhv_wload_linear(ld, n, H, F, &ly->ffn_down, &ly->ffn_down_b, err)))
            return st;
        snprintf(n, sizeof n, "%s.layers.%d.final_layer_norm", stack, i);
        if ((st = mhv_wload_pair(ld, n, H, 0, &ly->ln_ffn_g, &ly->ln_ffn_b, err)))
            return st;
    }
    /* proj_out is never under the prefix; tied to the decoder's embedding when absent (only
     * WhisperForConditionalGeneration has one: its weights sit under model.) */
    if ((st = mhv_wload_mat(ld, "proj_out.weight", V, H, MHV_W_BARE | MHV_W_OPTIONAL,
                            &m->lm_head, err)))
        return st;
    if (!m->lm_head.data && c->tie_word_embeddings && ld->prefix[0] != '\0')
        m->lm_head = m->dec_word_emb;
    return MHV_OK;
}

/* xcol(rows, cin * 3): the inputs of a width-3 convolution with padding 1 and `stride`, as
 * rows of the kernel's (cin, 3) layout. in(t, cin) at in[t * ld_t + c * ld_c]: in_len
 * positions. */
static void im2col3(float *xcol, const float *in, size_t ld_t, size_t ld_c, int cin,
                    int in_len, int rows, int stride)
{
    for (int t = 0; t < rows; t++) {
        float *r = xcol + (size_t)t * (size_t)cin * 3;
        for (int k = 0; k < 3; k++) {
            int s = t * stride + k - 1;
            int inside = s >= 0 && s < in_len;
            for (int ch = 0; ch < cin; ch++)
                r[(size_t)ch * 3 + (size_t)k] =
                    inside ? in[(size_t)s * ld_t + (size_t)ch * ld_c] : 0.0f;
        }
    }
}

static void pre_norm(mhv_nn *nn, const mhv_config *c, float *y, const float *x, const float *g,
                     const float *b, int n)
{
    mhv_norm ln = mhv_nn_layernorm(g, b, c->layer_norm_eps);
    mhv_nn_norm(nn, y, x, &ln, n, c->hidden_size);
}

/* x(n, H) += fc2(act(fc1(ln(x)))) */
static void ffn_block(mhv_nn *nn, const mhv_config *c, const mhv_layer *ly, float *x, float *xb,
                      float *ffn, float *tmp, int n)
{
    pre_norm(nn, c, xb, x, ly->ln_ffn_g, ly->ln_ffn_b, n);
    mhv_nn_linear(nn, ffn, xb, &ly->ffn_up, ly->ffn_up_b, n, (int)c->act);
    mhv_nn_linear(nn, tmp, ffn, &ly->ffn_down, ly->ffn_down_b, n, MHV_NN_NO_ACT);
    mhv_nn_add(nn, x, tmp, n, c->hidden_size);
}

static mhv_status whisper_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                  mhv_capture *cap, float *logits, mhv_error *err)
{
    (void)nn, (void)ids, (void)n, (void)cap, (void)logits;
    return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "whisper is an encoder-decoder model");
}

static mhv_status whisper_seq2seq(mhv_nn *nn, const mhv_model *m, const int32_t *src, int ns,
                                  const int32_t *tgt, int nt, mhv_capture *cap, float *logits,
                                  mhv_error *err)
{
    (void)src;
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, M = c->num_mel_bins, T = 2 * ns;
    int F = c->intermediate_size > c->dec_intermediate_size ? c->intermediate_size
                                                            : c->dec_intermediate_size;
    int N = T > nt ? T : nt, NH = c->num_heads, d = c->head_dim;
    int widest = F > 3 * H ? F : 3 * H;
    widest = widest > 3 * M ? widest : 3 * M;
    size_t n = (size_t)N, cols = (size_t)(3 * M > 3 * H ? 3 * M : 3 * H);
    float *xe, *xd, *xb, *q, *k, *v, *ctx, *tmp, *ffn, *row, *xcol, *conv;
    const mhv_nn_buf bufs[] = {
        {&xe, (size_t)ns * (size_t)H}, {&xd, (size_t)nt * (size_t)H}, {&xb, n * (size_t)H},
        {&q, n * (size_t)H}, {&k, n * (size_t)H}, {&v, n * (size_t)H}, {&ctx, n * (size_t)H},
        {&tmp, n * (size_t)H}, {&ffn, n * (size_t)F}, {&row, (size_t)H},
        {&xcol, (size_t)T * cols}, {&conv, (size_t)T * (size_t)H}};
    mhv_nn_shape shape = {N, H, widest, d};
    mhv_status st = mhv_nn_begin(nn, &shape, bufs, (int)(sizeof bufs / sizeof bufs[0]), err);
    if (st)
        return st;
    if (!nn->pixels)
        return mhv_fail(err, MHV_EUSAGE, "", "whisper takes audio features, not token ids");
    const mhv_attn_bufs ab = {.q = q, .k = k, .v = v, .ctx = ctx};
    const float scale = (float)(1.0 / sqrt((double)d));

    /* encoder: features (M, T) -> conv1 (T, H) -> conv2 (ns, H), GELU after each (under
     * generation once per source: nn's encoder memo) */
    size_t enc_floats = (size_t)ns * (size_t)H;
    mhv_nn_kv *kv = nn->kv; /* the decoder's key/value cache, not the encoder's */
    nn->kv = NULL;
    if (mhv_nn_memo_load(nn, 0, xe, enc_floats))
        goto decoder;
    im2col3(xcol, nn->pixels, 1, (size_t)T, M, T, T, 1);
    mhv_nn_linear(nn, conv, xcol, &m->audio_conv1, m->audio_conv1_b, T, MHV_ACT_GELU);
    im2col3(xcol, conv, (size_t)H, 1, H, T, ns, 2);
    mhv_nn_linear(nn, xe, xcol, &m->audio_conv2, m->audio_conv2_b, ns, MHV_ACT_GELU);
    for (int i = 0; i < ns; i++) {
        mhv_mat_row(&m->pos_emb, i, row);
        nn->K->add(xe + (size_t)i * (size_t)H, row, (size_t)H);
    }
    for (int l = 0; l <= cap[0].last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_attn_layer attn = {.wq = &ly->q, .wk = &ly->k, .wv = &ly->v, .bq = ly->q_b,
                               .bv = ly->v_b, .heads = NH, .kv_heads = NH, .head_dim = d,
                               .scale = scale, .wo = &ly->o};
        pre_norm(nn, c, xb, xe, ly->ln_attn_g, ly->ln_attn_b, ns);
        mhv_nn_attention(nn, &attn, xb, ns, l, &ab, &cap[0]);
        if (mhv_capture_done(&cap[0], l))
            break;
        mhv_nn_linear(nn, tmp, ctx, &ly->o, ly->o_b, ns, MHV_NN_NO_ACT);
        mhv_nn_add(nn, xe, tmp, ns, H);
        ffn_block(nn, c, ly, xe, xb, ffn, tmp, ns);
    }
    if (cap[1].last < 0 && !logits) {
        nn->kv = kv;
        return MHV_OK;
    }
    pre_norm(nn, c, xe, xe, m->enc_norm_g, m->enc_norm_b, ns);
    mhv_nn_memo_store(nn, 0, xe, enc_floats);

decoder:;
    nn->kv = kv;
    mhv_embed e = {.tok = &m->dec_word_emb, .pad_id = -1};
    mhv_nn_embed(nn, xd, &e, tgt, nt, H);
    for (int i = 0; i < nt; i++) {
        mhv_mat_row(&m->dec_pos_emb, mhv_nn_past(nn) + i, row); /* after a cached step's */
        nn->K->add(xd + (size_t)i * (size_t)H, row, (size_t)H);
    }
    int last = logits ? c->dec_layers - 1 : cap[1].last;
    for (int l = 0; l <= last; l++) {
        const mhv_layer *ly = &m->dec_layers[l];
        mhv_attn_layer attn = {.wq = &ly->q, .wk = &ly->k, .wv = &ly->v, .bq = ly->q_b,
                               .bv = ly->v_b, .heads = NH, .kv_heads = NH, .head_dim = d,
                               .scale = scale, .causal = 1, .wo = &ly->o};
        pre_norm(nn, c, xb, xd, ly->ln_attn_g, ly->ln_attn_b, nt);
        mhv_nn_attention(nn, &attn, xb, nt, l, &ab, &cap[1]);
        mhv_nn_linear(nn, tmp, ctx, &ly->o, ly->o_b, nt, MHV_NN_NO_ACT);
        mhv_nn_add(nn, xd, tmp, nt, H);
        mhv_attn_layer cross = {.wq = &ly->xq, .wk = &ly->xk, .wv = &ly->xv, .bq = ly->xq_b,
                                .bv = ly->xv_b, .heads = NH, .kv_heads = NH, .head_dim = d,
                                .scale = scale, .wo = &ly->xo};
        pre_norm(nn, c, xb, xd, ly->ln_cross_g, ly->ln_cross_b, nt);
        int done = !logits && l == last;
        mhv_nn_cross_attention(nn, &cross, xb, nt, xe, ns, l, &ab, &cap[2], done);
        if (done)
            break;
        mhv_nn_linear(nn, tmp, ctx, &ly->xo, ly->xo_b, nt, MHV_NN_NO_ACT);
        mhv_nn_add(nn, xd, tmp, nt, H);
        ffn_block(nn, c, ly, xd, xb, ffn, tmp, nt);
    }
    if (logits) {
        int lr = mhv_nn_logit_rows(nn, nt); /* the last lr positions */
        float *xl = xd + (size_t)(nt - lr) * (size_t)H;
        pre_norm(nn, c, xl, xl, m->norm_g, m->norm_b, lr);
        mhv_nn_linear(nn, logits, xl, &m->lm_head, NULL, lr, MHV_NN_NO_ACT);
    }
    return MHV_OK;
}

const mhv_family mhv_family_whisper = {
    .name = "whisper",
    .model_types = model_types,
    .config = whisper_config,
    .vector_floats = whisper_vector_floats,
    .load = whisper_load,
    .forward = whisper_forward,
    .seq2seq = whisper_seq2seq,
    .caches = mhv_family_caches_always,
};
