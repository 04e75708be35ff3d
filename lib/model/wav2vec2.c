/* wav2vec2.c - speech encoders over the waveform: wav2vec 2.0 (Wav2Vec2Model, *ForCTC ...),
 * HuBERT, data2vec-audio, WavLM, UniSpeech and UniSpeech-SAT, as transformers'
 * modeling_wav2vec2.py, modeling_hubert.py, modeling_data2vec_audio.py, modeling_wavlm.py,
 * modeling_unispeech.py and modeling_unispeech_sat.py compute them (UniSpeech's and
 * UniSpeech-SAT's encoders are wav2vec 2.0's modules under their own prefixes).
 *
 *   f = waveform (samples, 1)               (Wav2Vec2FeatureExtractor's input_values)
 *   for each conv i: f = act(norm_i(conv_i(f)))   no padding; norm: GroupNorm with a group
 *                                          per channel on conv 0 only ("group"), or a
 *                                          LayerNorm over the channels after every conv
 *                                          ("layer"); f is then (frames, conv_dim[last])
 *   x = projection(layer_norm(f))            (HuBERT's feat_proj_layer_norm false: no norm)
 *   x += act(pos_conv(x))                    grouped conv of kernel K, padding K / 2, the
 *                                          last output dropped for an even K (SamePad);
 *                                          weight = g * v / |v| over dims 0 and 1 (weight
 *                                          norm, dim 2); data2vec-audio: a stack of plain
 *                                          grouped convs, each followed by a LayerNorm
 *                                          without parameters and act, instead
 *   post-LN:  x = LN(x); each layer: x = LN1(x + attn(x)); x = LN2(x + ffn(x))
 *   stable:   each layer: x += attn(LN1(x)); x += ffn(LN2(x));  then LN(x)
 * Attention: q, k, v and out with biases, scores q·k * head_dim^-0.5 (eager: scaled after
 * the product); WavLM adds a relative position bias from layer 0's table of buckets, gated
 * per head and query by each layer (wavlm_gates). SpecAugment's masking is training-only; the quantizer, adapters and the
 * heads on top (CTC, classifiers) do not change the attention.
 * Accuracy: the feature encoder's long reductions are summed in 64-term blocks added
 * pairwise (SPEECH_SPLIT); a build with -DMHV_DEBUG_SPEECH dumps its stages (debug_dump). */
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/disentangled.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"wav2vec2",  "hubert",        "data2vec-audio",
                                          "wavlm",     "unispeech",     "unispeech-sat",
                                          "sew",       "sew-d",         NULL};

/* Rows of a convolution's im2col and of the positional convolution a linear layer takes at
 * once: bounds the unrolled input whatever the audio's length. */
#define SPEECH_CHUNK 512
/* The feature encoder's reductions (a convolution's cin * kernel: 1536 in the base models;
 * the projection's conv_dim) are cut into blocks of this many terms, each block a linear
 * layer of its own, the blocks' products added pairwise (split_linear). The kernels' FMA
 * chains over 512-long chunks err about twice as much as PyTorch's convolutions there, and
 * the error grows tenfold a convolution (the activations do) into every attention;
 * 64-term chains err less than PyTorch (bench/w2v_base_accuracy.py --stages). */
#define SPEECH_SPLIT 64
/* Rows split_linear takes at once: its partial sums stay in L2 (a base model's convolution:
 * 256 KiB each; 512 rows measured 10% slower on a 30 s clip). */
#define SPLIT_ROWS 128

/* config.json's list key of count ints in 1..hi into out (def when absent). */
static mhv_status int_list(const cJSON *root, const char *key, const int *def, int ndef,
                           int hi, int *out, int *count, const char *name, mhv_error *err)
{
    const cJSON *a = mhv_json_get(root, key);
    if (!a || cJSON_IsNull(a)) {
        memcpy(out, def, (size_t)ndef * sizeof *out);
        *count = ndef;
        return MHV_OK;
    }
    if (!cJSON_IsArray(a))
        return mhv_fail(err, MHV_EFORMAT, name, "%s is not a list", key);
    int n = cJSON_GetArraySize(a);
    if (n < 1 || n > MHV_MAX_SPEECH_CONVS)
        return mhv_fail(err, MHV_EFORMAT, name, "%s has %d entries (1-%d)", key, n,
                        MHV_MAX_SPEECH_CONVS);
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(a, i);
        if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
            v->valuedouble < 1 || v->valuedouble > hi)
            return mhv_fail(err, MHV_EFORMAT, name, "%s[%d] is not an integer in 1-%d", key, i,
                            hi);
        out[i] = (int)v->valuedouble;
    }
    *count = n;
    return MHV_OK;
}

/* a config.json flag that must be false (or absent / null) */
static mhv_status refuse_true(const cJSON *root, const char *key, const char *what,
                              const char *name, mhv_error *err)
{
    const cJSON *v = mhv_json_get(root, key);
    if (v && cJSON_IsTrue(v))
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "%s true is not supported (%s)", key, what);
    return MHV_OK;
}

/* SEW's and SEW-D's own fields: squeeze_factor; SEW-D's feature_layer_norm_eps and its
 * DeBERTa-v2 encoder's relative attention (SEWDConfig's defaults: relative_attention,
 * share_att_key, 256 position buckets, pos_att_type p2c and c2p, norm_rel_ebd layer_norm;
 * max_relative_positions and attention_head_size as DeBERTa-v2 reads them) */
static mhv_status sew_config(const cJSON *root, int sewd, mhv_config *c, const char *name,
                             mhv_error *err)
{
    mhv_status st;
    double feps;
    int rel, conv, head_size, H = c->hidden_size;
    if ((st = mhv_json_int(root, "squeeze_factor", 2, 1, 1 << 16, &c->speech_squeeze, name,
                           err)))
        return st;
    if (!sewd)
        return MHV_OK;
    if ((st = mhv_json_num(root, "feature_layer_norm_eps", 1e-5, 0, 1, &feps, name, err)) ||
        (st = mhv_json_int(root, "max_position_embeddings", 512, 1, MHV_MAX_POSITIONS,
                           &c->max_positions, name, err)) ||
        (st = mhv_json_bool(root, "relative_attention", 1, &rel, name, err)) ||
        (st = mhv_json_bool(root, "share_att_key", 1, &c->rel_share_key, name, err)) ||
        (st = mhv_json_int(root, "max_relative_positions", -1, -1, MHV_MAX_POSITIONS,
                           &c->rel_max, name, err)) ||
        (st = mhv_json_int(root, "position_buckets", 256, -1, MHV_MAX_POSITIONS,
                           &c->rel_buckets, name, err)) ||
        (st = mhv_json_int(root, "conv_kernel_size", 0, 0, 1024, &conv, name, err)) ||
        (st = mhv_json_int(root, "attention_head_size", H / c->num_heads, 1, MHV_MAX_HIDDEN,
                           &head_size, name, err)))
        return st;
    if (head_size != H / c->num_heads)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "attention_head_size %d is not supported "
                        "(only hidden_size / num_attention_heads)", head_size);
    if (conv > 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "conv_kernel_size %d is not supported (the "
                        "convolution after SEW-D's first layer)", conv);
    static const mhv_disent_defaults def = {1, 1, "layer_norm"};
    if ((st = mhv_disent_config(root, rel, &def, c, name, err)))
        return st;
    c->speech_proj_eps = (float)feps;
    c->speech_deberta = 1;
    return MHV_OK;
}

static mhv_status speech_config(const cJSON *root, mhv_config *c, const char *name,
                                mhv_error *err)
{
    static const int dim_def[] = {512, 512, 512, 512, 512, 512, 512};
    static const int stride_def[] = {5, 2, 2, 2, 2, 2, 2};
    static const int kernel_def[] = {10, 3, 3, 3, 3, 2, 2};
    /* SEW's and SEW-D's 13 convolutions */
    static const int sew_dim[] = {64, 128, 128, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512};
    static const int sew_stride[] = {5, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1};
    static const int sew_kernel[] = {10, 3, 1, 3, 1, 3, 1, 3, 1, 2, 1, 2, 1};
    static const char *const norms[] = {"group", "layer"};
    int hubert = strcmp(c->model_type, "hubert") == 0;
    int d2v = strcmp(c->model_type, "data2vec-audio") == 0;
    int wavlm = strcmp(c->model_type, "wavlm") == 0;
    int sewd = strcmp(c->model_type, "sew-d") == 0;
    int sew = sewd || strcmp(c->model_type, "sew") == 0; /* SEW's squeeze (both) */
    int nconv = sew ? 13 : 7;
    int nd, ns, nk, stable;
    mhv_status st;
    double eps;
    if ((st = mhv_json_int(root, "hidden_size", 768, 1, MHV_MAX_HIDDEN, &c->hidden_size, name,
                           err)) ||
        (st = mhv_json_int(root, "num_hidden_layers", 12, 1, MHV_MAX_LAYERS, &c->num_layers,
                           name, err)) ||
        (st = mhv_json_int(root, "num_attention_heads", 12, 1, MHV_MAX_HEADS, &c->num_heads,
                           name, err)) ||
        (st = mhv_json_int(root, "intermediate_size", 3072, 1, 4 * MHV_MAX_HIDDEN,
                           &c->intermediate_size, name, err)) ||
        /* the CTC head's vocabulary (null: the default); nothing here reads it */
        (st = mhv_json_int(root, "vocab_size", 32, 1, MHV_MAX_VOCAB, &c->vocab_size, name,
                           err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_GELU, &c->act, name, err)) ||
        (st = mhv_config_act(root, "feat_extract_activation", MHV_ACT_GELU, &c->speech_act,
                             name, err)) ||
        (st = mhv_json_num(root, "layer_norm_eps", sewd ? 1e-7 : 1e-5, 0, 1, &eps, name, err)) ||
        (st = mhv_json_enum(root, "feat_extract_norm", norms, 2, d2v,
                            &c->speech_conv_layer_norm, name, err)) ||
        (st = int_list(root, "conv_dim", sew ? sew_dim : dim_def, nconv, MHV_MAX_HIDDEN,
                       c->speech_conv_dim, &nd, name, err)) ||
        (st = int_list(root, "conv_stride", sew ? sew_stride : stride_def, nconv, 1 << 16,
                       c->speech_conv_stride, &ns, name, err)) ||
        (st = int_list(root, "conv_kernel", sew ? sew_kernel : kernel_def, nconv, 1 << 16,
                       c->speech_conv_kernel, &nk, name, err)) ||
        (st = mhv_json_bool(root, "conv_bias", 0, &c->speech_conv_bias, name, err)) ||
        (st = mhv_json_int(root, d2v ? "conv_pos_kernel_size" : "num_conv_pos_embeddings",
                           d2v ? 19 : 128, 1, 1 << 16, &c->speech_pos_kernel, name, err)) ||
        (d2v && (st = mhv_json_int(root, "num_conv_pos_embeddings", 5, 1, MHV_MAX_SPEECH_CONVS,
                                   &c->speech_pos_layers, name, err))) ||
        (st = mhv_json_int(root, "num_conv_pos_embedding_groups", 16, 1, MHV_MAX_HIDDEN,
                           &c->speech_pos_groups, name, err)) ||
        (st = mhv_json_bool(root, "do_stable_layer_norm", 0, &stable, name, err)) ||
        (st = mhv_json_bool(root, "feat_proj_layer_norm", 1, &c->speech_proj_norm, name,
                            err)) ||
        (wavlm && ((st = mhv_json_int(root, "num_buckets", 320, 2, 1 << 16,
                                      &c->rel_pos_buckets, name, err)) ||
                   (st = mhv_json_int(root, "max_bucket_distance", 800, 1, 1 << 24,
                                      &c->rel_pos_max_distance, name, err)))) ||
        /* (SEW's modules read none of these) */
        (!sew && (st = refuse_true(root, "add_adapter",
                                   "the adapter's convolutions after the encoder", name, err))) ||
        (!sew && (st = refuse_true(root, "conv_pos_batch_norm",
                                   "a BatchNorm before the positional convolution", name, err))))
        return st;
    if (sew && (st = sew_config(root, sewd, c, name, err)))
        return st;
    if (c->hidden_size % c->num_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name, "num_attention_heads %d does not divide "
                        "hidden_size %d", c->num_heads, c->hidden_size);
    c->head_dim = c->hidden_size / c->num_heads;
    if (nd != ns || nd != nk)
        return mhv_fail(err, MHV_EFORMAT, name, "conv_dim, conv_stride and conv_kernel have %d, "
                        "%d and %d entries: transformers requires as many", nd, ns, nk);
    const cJSON *attn_adapter = sew ? NULL : mhv_json_get(root, "adapter_attn_dim");
    if (attn_adapter && !cJSON_IsNull(attn_adapter))
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "adapter_attn_dim is not supported (the "
                        "attention adapters of MMS models)");
    if (c->hidden_size % c->speech_pos_groups != 0)
        return mhv_fail(err, MHV_EFORMAT, name, "num_conv_pos_embedding_groups %d does not "
                        "divide hidden_size %d", c->speech_pos_groups, c->hidden_size);
    if (!hubert)
        c->speech_proj_norm = 1; /* Wav2Vec2FeatureProjection always has it; SEW's layer_norm */
    if (sew) /* SEW's encoder is post-LN whatever do_stable_layer_norm says (it reads none) */
        stable = 0;
    if (d2v) /* Data2VecAudio: every conv has its LayerNorm, and the encoder is post-LN */
        c->speech_conv_layer_norm = 1, stable = 0;
    if (wavlm && c->rel_pos_buckets / 2 / 2 < 1)
        return mhv_fail(err, MHV_EFORMAT, name, "num_buckets %d is too small (4 at least)",
                        c->rel_pos_buckets);
    /* the samples a frame steps (mhv_config_speech_ratio): bounded, so their product is a
     * number (65536^7 overflowed); a step past INT_MAX samples makes no frame of any WAV */
    long step = c->speech_squeeze > 1 ? c->speech_squeeze : 1;
    for (int i = 0; i < ns; i++)
        if (__builtin_mul_overflow(step, (long)c->speech_conv_stride[i], &step) ||
            step > INT_MAX)
            return mhv_fail(err, MHV_EFORMAT, name, "conv_stride%s multiply to more than %d "
                            "samples a frame", sew ? " and squeeze_factor" : "", INT_MAX);
    c->speech = 1;
    c->speech_convs = nd;
    c->layer_norm_eps = (float)eps;
    if (!sewd) /* (SEW-D's feature_layer_norm_eps: sew_config) */
        c->speech_proj_eps = c->layer_norm_eps;
    c->pre_norm = stable;
    c->final_norm = stable;
    c->max_positions = MHV_MAX_POSITIONS; /* convolutional positions: no table to outgrow */
    c->num_kv_heads = c->num_heads;
    c->embedding_size = c->hidden_size;
    c->attn_bias = c->attn_out_bias = c->mlp_bias = 1;
    return MHV_OK;
}

/* The fp32 floats split_weight takes for a (out, in) matrix */
static size_t split_floats(size_t out, size_t in) { return in > SPEECH_SPLIT ? out * in : 0; }

static size_t speech_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, conv = 0;
    for (int i = 0; i < c->speech_convs; i++)
        conv += 3 * (size_t)c->speech_conv_dim[i];
    size_t pos = H * (H / (size_t)c->speech_pos_groups) * (size_t)c->speech_pos_kernel;
    if (c->speech_pos_layers) /* data2vec-audio's stack: biases, the norms' ones and zeros */
        pos = (size_t)c->speech_pos_layers * H + 2 * H;
    size_t rel = c->rel_pos_buckets > 0 /* WavLM: the table, each layer's gate */
                     ? (size_t)c->rel_pos_buckets * (size_t)c->num_heads +
                           (size_t)c->num_layers * (8 + (size_t)c->num_heads)
                     : 0;
    conv += split_floats(H, (size_t)c->speech_conv_dim[c->speech_convs - 1]);
    for (int i = 0; i < c->speech_convs; i++) /* split_weight's copies */
        conv += split_floats((size_t)c->speech_conv_dim[i],
                             (size_t)c->speech_conv_kernel[i] *
                                 (size_t)(i ? c->speech_conv_dim[i - 1] : 1));
    if (c->speech_deberta) /* SEW-D: the relative table's norm, each layer's Kr and Qr biases */
        rel = 2 * H + (size_t)c->num_layers * 2 * H;
    return conv + 2 * (size_t)c->speech_conv_dim[c->speech_convs - 1] + pos + 6 * H + rel +
           (size_t)c->num_layers * (9 * H + (size_t)c->intermediate_size);
}

/* The positional convolution's weight g * v / |v| (torch's weight norm over dim 2: a norm
 * for each kernel position k over the output and input channels), into the store as fp32.
 * g (1, 1, K) and v (H, H / G, K) are saved as parametrizations.weight.original0/1 by
 * torch's parametrizations, as weight_g/weight_v by the older nn.utils.weight_norm. */
static mhv_status load_pos_conv(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, K = c->speech_pos_kernel, Cg = H / c->speech_pos_groups;
    const int64_t gdims[3] = {1, 1, K}, vdims[3] = {H, Cg, K};
    static const char *const forms[2][2] = {
        {"encoder.pos_conv_embed.conv.parametrizations.weight.original0",
         "encoder.pos_conv_embed.conv.parametrizations.weight.original1"},
        {"encoder.pos_conv_embed.conv.weight_g", "encoder.pos_conv_embed.conv.weight_v"}};
    mhv_mat g = {0}, v = {0};
    mhv_status st;
    for (int f = 0; f < 2 && !g.data; f++) {
        if ((st = mhv_wload_tensor(ld, forms[f][0], gdims, 3, MHV_W_OPTIONAL, &g, err)))
            return st;
        if (g.data && (st = mhv_wload_tensor(ld, forms[f][1], vdims, 3, 0, &v, err)))
            return st;
    }
    if (!g.data)
        return mhv_fail(err, MHV_EFORMAT, ld->ckpt_name, "missing tensor "
                        "%sencoder.pos_conv_embed.conv.parametrizations.weight.original0 (or "
                        "weight_g): the positional convolution's weight norm", ld->prefix);
    size_t row = (size_t)Cg * (size_t)K;
    if (row * (size_t)H > INT_MAX)
        return mhv_fail(err, MHV_EUNSUPPORTED, ld->ckpt_name, "a positional convolution of "
                        "%zu weights is more than mhaviz takes", row * (size_t)H);
    float *w, *gk = malloc((size_t)K * sizeof *gk);
    double *norm = calloc((size_t)K, sizeof *norm);
    if (!gk || !norm) {
        free(gk), free(norm);
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory");
    }
    if ((st = mhv_wload_zeros(ld, (int)(row * (size_t)H), &w, err))) {
        free(gk), free(norm);
        return st;
    }
    mhv_mat_row(&g, 0, gk);
    for (int o = 0; o < H; o++) {
        float *r = w + (size_t)o * row;
        mhv_mat_row(&v, o, r);
        for (size_t i = 0; i < row; i++)
            norm[i % (size_t)K] += (double)r[i] * r[i];
    }
    for (int k = 0; k < K; k++)
        norm[k] = gk[k] / sqrt(norm[k]); /* the factor of column k: g / |v| */
    for (size_t i = 0; i < row * (size_t)H; i++)
        w[i] = (float)(w[i] * norm[i % (size_t)K]);
    free(gk), free(norm);
    m->speech_pos = (mhv_mat){.data = w, .dtype = MHV_DT_F32, .rows = H, .cols = (int)row};
    return mhv_wload_vec(ld, "encoder.pos_conv_embed.conv.bias", H, 0, &m->speech_pos_b, err);
}

/* data2vec-audio's positional convolutions: plain weights and biases, and the ones and zeros
 * of their parameterless LayerNorms */
static mhv_status load_pos_stack(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size;
    const int64_t dims[3] = {H, H / c->speech_pos_groups, c->speech_pos_kernel};
    char n[200];
    mhv_status st;
    for (int i = 0; i < c->speech_pos_layers; i++) {
        snprintf(n, sizeof n, "encoder.pos_conv_embed.layers.%d.conv.weight", i);
        if ((st = mhv_wload_tensor(ld, n, dims, 3, 0, &m->speech_pos_layer[i], err)))
            return st;
        snprintf(n, sizeof n, "encoder.pos_conv_embed.layers.%d.conv.bias", i);
        if ((st = mhv_wload_vec(ld, n, H, 0, &m->speech_pos_layer_b[i], err)))
            return st;
    }
    if ((st = mhv_wload_zeros(ld, H, &m->speech_pos_ones, err)) ||
        (st = mhv_wload_zeros(ld, H, &m->speech_pos_zeros, err)))
        return st;
    for (int i = 0; i < H; i++)
        m->speech_pos_ones[i] = 1.0f;
    return MHV_OK;
}

/* WavLM's layer l: its gate of the relative position bias, and layer 0's table of it */
static mhv_status load_wavlm_gate(mhv_model *m, mhv_wload *ld, int l, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    mhv_layer *ly = &m->layers[l];
    int NH = c->num_heads;
    const int64_t cdims[4] = {1, NH, 1, 1};
    char n[200];
    mhv_status st;
    mhv_mat k;
    snprintf(n, sizeof n, "encoder.layers.%d.attention.gru_rel_pos_linear", l);
    if ((st = mhv_wload_linear(ld, n, 8, c->head_dim, &ly->rel_gate, &ly->rel_gate_b, err)))
        return st;
    snprintf(n, sizeof n, "encoder.layers.%d.attention.gru_rel_pos_const", l);
    if ((st = mhv_wload_tensor(ld, n, cdims, 4, 0, &k, err)) ||
        (st = mhv_wload_zeros(ld, NH, &ly->rel_gate_const, err)))
        return st;
    mhv_mat_row(&k, 0, ly->rel_gate_const);
    if (l > 0)
        return MHV_OK;
    mhv_mat t;
    int B = c->rel_pos_buckets;
    if ((st = mhv_wload_mat(ld, "encoder.layers.0.attention.rel_attn_embed.weight", B, NH, 0,
                            &t, err)) ||
        (st = mhv_wload_zeros(ld, B * NH, &m->speech_rel_table, err)))
        return st;
    for (int b = 0; b < B; b++)
        mhv_mat_row(&t, b, m->speech_rel_table + (size_t)b * (size_t)NH);
    return MHV_OK;
}

/* w (out, in) with in > SPEECH_SPLIT replaced by an fp32 copy in the store laid out for
 * split_linear: block p (columns p * SPEECH_SPLIT .. , up to SPEECH_SPLIT of them) as its own
 * (out, len) matrix at out * p * SPEECH_SPLIT floats; w then describes that copy. */
static mhv_status split_weight(const mhv_model *m, mhv_wload *ld, mhv_mat *w, mhv_error *err)
{
    int in = w->cols, out = w->rows;
    mhv_status st;
    if (in <= SPEECH_SPLIT)
        return MHV_OK;
    if ((size_t)out * (size_t)in > INT_MAX) /* the store's lengths are ints */
        return mhv_fail(err, MHV_EUNSUPPORTED, ld->ckpt_name, "a feature encoder weight of %zu "
                        "elements is more than mhaviz takes", (size_t)out * (size_t)in);
    float *blk, *row = malloc((size_t)in * sizeof *row);
    if (!row)
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory");
    if ((st = mhv_wload_zeros(ld, out * in, &blk, err))) {
        free(row);
        return st;
    }
    for (int o = 0; o < out; o++) {
        mhv_mat_row(w, o, row);
        for (int k0 = 0; k0 < in; k0 += SPEECH_SPLIT) {
            int len = in - k0 < SPEECH_SPLIT ? in - k0 : SPEECH_SPLIT;
            memcpy(blk + (size_t)out * (size_t)k0 + (size_t)o * (size_t)len, row + k0,
                   (size_t)len * sizeof *row);
        }
    }
    free(row);
    w->data = blk;
    w->dtype = MHV_DT_F32;
    return MHV_OK;
}


/* SEW-D's encoder: DeBERTa-v2's layers and relative table under encoder.encoder. */
static mhv_status load_sewd_layers(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    static const mhv_dense_names names = {
        "attention.self.query_proj", "attention.self.key_proj", "attention.self.value_proj",
        "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
        "output.dense", "output.LayerNorm"};
    mhv_status st;
    if ((st = mhv_disent_load_table(m, ld, "encoder.encoder.rel_embeddings.weight",
                                    "encoder.encoder.LayerNorm", err)))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        char n[160];
        snprintf(n, sizeof n, "encoder.encoder.layer.%d.", l);
        if ((st = mhv_layer_load_dense(ld, n, &names, c->hidden_size, c->intermediate_size,
                                       &m->layers[l], err)) ||
            (st = mhv_disent_load_layer(ld, c, n, &m->layers[l], err)))
            return st;
    }
    return MHV_OK;
}

static mhv_status speech_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    /* *ForCTC, *ForSequenceClassification ...: under the base model's name */
    static const char *const prefixes[] = {"wav2vec2.",  "hubert.",        "data2vec_audio.",
                                           "wavlm.",     "unispeech.",     "unispeech_sat.",
                                           "sew.",       "sew_d.",         NULL};
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size;
    int last = c->speech_conv_dim[c->speech_convs - 1];
    int sew = c->speech_squeeze > 0; /* SEW's projection is there only when last != H */
    mhv_wload_prefix(ld, prefixes, sew ? "feature_extractor.conv_layers.0.conv.weight"
                                       : "feature_projection.projection.weight");
    char n[200];
    mhv_status st;
    for (int i = 0; i < c->speech_convs; i++) {
        int cin = i ? c->speech_conv_dim[i - 1] : 1, cout = c->speech_conv_dim[i];
        const int64_t dims[3] = {cout, cin, c->speech_conv_kernel[i]};
        snprintf(n, sizeof n, "feature_extractor.conv_layers.%d.conv.weight", i);
        if ((st = mhv_wload_tensor(ld, n, dims, 3, 0, &m->speech_conv[i], err)))
            return st;
        if ((st = split_weight(m, ld, &m->speech_conv[i], err)))
            return st;
        if (c->speech_conv_bias) {
            snprintf(n, sizeof n, "feature_extractor.conv_layers.%d.conv.bias", i);
            if ((st = mhv_wload_vec(ld, n, cout, 0, &m->speech_conv_b[i], err)))
                return st;
        }
        if (c->speech_conv_layer_norm || i == 0) {
            snprintf(n, sizeof n, "feature_extractor.conv_layers.%d.layer_norm", i);
            if ((st = mhv_wload_pair(ld, n, cout, 0, &m->speech_conv_g[i], &m->speech_conv_nb[i],
                                err)))
                return st;
        }
    }
    if ((c->speech_proj_norm &&
         (st = mhv_wload_pair(ld, sew ? "layer_norm" : "feature_projection.layer_norm", last, 0,
                              &m->speech_proj_g, &m->speech_proj_nb, err))) ||
        ((!sew || last != H) &&
         ((st = mhv_wload_linear(ld, sew ? "feature_projection" : "feature_projection.projection",
                                 H, last, &m->speech_proj, &m->speech_proj_b, err)) ||
          (st = split_weight(m, ld, &m->speech_proj, err)))) ||
        (st = c->speech_pos_layers ? load_pos_stack(m, ld, err) : load_pos_conv(m, ld, err)))
        return st;
    if (c->speech_deberta)
        return load_sewd_layers(m, ld, err);
    if ((st = mhv_wload_pair(ld, "encoder.layer_norm", H, 0, &m->enc_norm_g, &m->enc_norm_b, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        static const char *const proj[] = {"q_proj", "k_proj", "v_proj", "out_proj"};
        mhv_mat *w[] = {&ly->q, &ly->k, &ly->v, &ly->o};
        float **b[] = {&ly->q_b, &ly->k_b, &ly->v_b, &ly->o_b};
        for (int i = 0; i < 4; i++) {
            snprintf(n, sizeof n, "encoder.layers.%d.attention.%s", l, proj[i]);
            if ((st = mhv_wload_linear(ld, n, H, H, w[i], b[i], err)))
                return st;
        }
        snprintf(n, sizeof n, "encoder.layers.%d.layer_norm", l);
        if ((st = mhv_wload_pair(ld, n, H, 0, &ly->ln_attn_g, &ly->ln_attn_b, err)) ||
            (c->rel_pos_buckets > 0 && (st = load_wavlm_gate(m, ld, l, err))))
            return st;
        snprintf(n, sizeof n, "encoder.layers.%d.feed_forward.intermediate_dense", l);
        if ((st = mhv_wload_linear(ld, n, I, H, &ly->ffn_up, &ly->ffn_up_b, err)))
            return st;
        snprintf(n, sizeof n, "encoder.layers.%d.feed_forward.output_dense", l);
        if ((st = mhv_wload_linear(ld, n, H, I, &ly->ffn_down, &ly->ffn_down_b, err)))
            return st;
        snprintf(n, sizeof n, "encoder.layers.%d.final_layer_norm", l);
        if ((st = mhv_wload_pair(ld, n, H, 0, &ly->ln_ffn_g, &ly->ln_ffn_b, err)))
            return st;
    }
    return MHV_OK;
}

/* xcol(rows, cin * K): the inputs of output positions t0 .. t0+rows of a convolution of
 * kernel K, `stride` apart, starting at input position t * stride - pad, as rows of the
 * kernel's (cin, K) layout; in(len, ld) holds the channels c0 .. c0+cin of each position;
 * positions outside 0 .. len are zeros. */
static void im2col(float *xcol, const float *in, size_t ld, int c0, int cin, long len, long t0,
                   int rows, int K, int stride, int pad)
{
    for (int r = 0; r < rows; r++) {
        float *o = xcol + (size_t)r * (size_t)cin * (size_t)K;
        long s0 = (t0 + r) * stride - pad;
        for (int k = 0; k < K; k++) {
            long s = s0 + k;
            if (s < 0 || s >= len) {
                for (int ch = 0; ch < cin; ch++)
                    o[(size_t)ch * (size_t)K + (size_t)k] = 0.0f;
                continue;
            }
            const float *p = in + (size_t)s * ld + (size_t)c0;
            for (int ch = 0; ch < cin; ch++)
                o[(size_t)ch * (size_t)K + (size_t)k] = p[ch];
        }
    }
}

/* PyTorch's GroupNorm with a group per channel over x(len, C): each channel normalised over
 * time (biased variance, eps 1e-5), then times g plus b; statistics in double, in st (2C,),
 * each channel's sums taken in time order while the rows are read in memory order. */
static void channel_norm(float *x, long len, int C, const float *g, const float *b, double *st)
{
    double *mean = st, *rstd = st + C;
    for (int ch = 0; ch < C; ch++)
        mean[ch] = rstd[ch] = 0;
    for (long t = 0; t < len; t++) {
        const float *r = x + (size_t)t * (size_t)C;
        for (int ch = 0; ch < C; ch++)
            mean[ch] += r[ch];
    }
    for (int ch = 0; ch < C; ch++)
        mean[ch] /= (double)len;
    for (long t = 0; t < len; t++) {
        const float *r = x + (size_t)t * (size_t)C;
        for (int ch = 0; ch < C; ch++) {
            double d = r[ch] - mean[ch];
            rstd[ch] += d * d;
        }
    }
    for (int ch = 0; ch < C; ch++)
        rstd[ch] = 1.0 / sqrt(rstd[ch] / (double)len + 1e-5);
    for (long t = 0; t < len; t++) {
        float *r = x + (size_t)t * (size_t)C;
        for (int ch = 0; ch < C; ch++)
            r[ch] = (float)((r[ch] - mean[ch]) * rstd[ch] * g[ch] + b[ch]);
    }
}

/* The lengths after each convolution of samples samples into len[0 .. convs). */
static void conv_lengths(const mhv_config *c, long samples, long *len)
{
    for (int i = 0; i < c->speech_convs; i++) {
        samples = (samples - c->speech_conv_kernel[i]) / c->speech_conv_stride[i] + 1;
        len[i] = samples;
    }
}

/* out(n, H) = a grouped convolution of w (H, H / groups * kernel) and b over in(len, H),
 * `stride` apart (SEW's squeeze; else 1 and len = n), padded by kernel / 2 at both ends, the
 * first n outputs (SamePad: an even kernel's last one dropped; SEW: cut to the pooled
 * frames), then act; group by group through xcol and part (SPEECH_CHUNK rows). */
static void pos_conv(mhv_nn *nn, const mhv_config *c, const mhv_mat *w, const float *b,
                     const float *in, long len, int stride, float *out, int n, float *xcol,
                     float *part, int act)
{
    int H = c->hidden_size, G = c->speech_pos_groups, Cg = H / G, K = c->speech_pos_kernel;
    for (int g = 0; g < G; g++) {
        mhv_mat wg = mhv_mat_rows(w, g * Cg, Cg);
        for (int t0 = 0; t0 < n; t0 += SPEECH_CHUNK) {
            int rows = n - t0 < SPEECH_CHUNK ? n - t0 : SPEECH_CHUNK;
            im2col(xcol, in, (size_t)H, g * Cg, Cg, len, t0, rows, K, stride, K / 2);
            mhv_nn_linear(nn, part, xcol, &wg, b + (size_t)g * (size_t)Cg, rows, act);
            for (int r = 0; r < rows; r++)
                memcpy(out + (size_t)(t0 + r) * (size_t)H + (size_t)g * (size_t)Cg,
                       part + (size_t)r * (size_t)Cg, (size_t)Cg * sizeof *out);
        }
    }
}

/* The levels of split_linear's stack of partial sums beyond y for an in-long reduction */
static int split_levels(long in)
{
    long blocks = (in + SPEECH_SPLIT - 1) / SPEECH_SPLIT;
    int levels = 0;
    while ((1L << levels) < blocks)
        levels++;
    return levels;
}

/* y(rows, w.rows) = x(rows, w.cols) · W^T + b, then act, over w laid out by split_weight
 * (rows <= SPLIT_ROWS): each block of the reduction a linear layer of its own (its columns
 * of x gathered into xp, (rows, SPEECH_SPLIT)), the blocks' products added pairwise as they
 * come (a stack of sums of 1, 2, 4 ... blocks: y and split_levels(w.cols) more of (rows,
 * w.rows) in stack), the bias last. */
static void split_block(mhv_nn *nn, float *y, const float *x, const mhv_mat *w,
                        const float *b, int rows, int act, float *xp, float *stack)
{
    int in = w->cols, out = w->rows, depth = 0;
    size_t part = (size_t)rows * (size_t)out;
    long count[64]; /* blocks summed at each level: decreasing powers of two */
#define LEVEL(i) ((i) ? stack + (size_t)((i) - 1) * part : y)
    for (int k0 = 0; k0 < in; k0 += SPEECH_SPLIT) {
        int len = in - k0 < SPEECH_SPLIT ? in - k0 : SPEECH_SPLIT;
        for (int r = 0; r < rows; r++)
            memcpy(xp + (size_t)r * (size_t)len, x + (size_t)r * (size_t)in + (size_t)k0,
                   (size_t)len * sizeof *xp);
        mhv_mat wb = {.data = (const float *)w->data + (size_t)out * (size_t)k0,
                      .dtype = MHV_DT_F32, .rows = out, .cols = len};
        mhv_nn_linear(nn, LEVEL(depth), xp, &wb, NULL, rows, MHV_NN_NO_ACT);
        count[depth++] = 1;
        while (depth >= 2 && count[depth - 1] == count[depth - 2]) {
            mhv_nn_add(nn, LEVEL(depth - 2), LEVEL(depth - 1), rows, out);
            count[depth - 2] *= 2;
            depth--;
        }
    }
    for (; depth >= 2; depth--) /* the smaller sums into the larger, smallest first */
        mhv_nn_add(nn, LEVEL(depth - 2), LEVEL(depth - 1), rows, out);
#undef LEVEL
    if (b)
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < out; o++)
                y[(size_t)r * (size_t)out + (size_t)o] += b[o];
    if (act != MHV_NN_NO_ACT)
        mhv_nn_act(nn, y, act, rows, out);
}

/* split_block over rows (any count) SPLIT_ROWS at a time; w.cols <= SPEECH_SPLIT: one
 * linear layer (w as loaded) */
static void split_linear(mhv_nn *nn, float *y, const float *x, const mhv_mat *w,
                         const float *b, int rows, int act, float *xp, float *stack)
{
    if (w->cols <= SPEECH_SPLIT) {
        mhv_nn_linear(nn, y, x, w, b, rows, act);
        return;
    }
    for (int r0 = 0; r0 < rows; r0 += SPLIT_ROWS)
        split_block(nn, y + (size_t)r0 * (size_t)w->rows, x + (size_t)r0 * (size_t)w->cols, w, b,
                    rows - r0 < SPLIT_ROWS ? rows - r0 : SPLIT_ROWS, act, xp, stack);
}

/* WavLM's bucket of relative position rp = key - query (its _relative_positions_bucket, the
 * logarithm in fp32 and max_exact added before the truncation) */
static int wavlm_bucket(int rp, int buckets, int max_distance)
{
    int half = buckets / 2, b = rp > 0 ? half : 0, max_exact = half / 2;
    rp = rp < 0 ? -rp : rp;
    if (rp < max_exact)
        return b + rp;
    float r = logf((float)rp / (float)max_exact) /
              (float)log((double)max_distance / (double)max_exact) * (float)(half - max_exact);
    float large = (float)max_exact + r;
    if (!(large < (float)half)) /* (finite for any config; a guard) */
        return b + half - 1;
    return b + ((long)large < half - 1 ? (int)(long)large : half - 1);
}

/* WavLM's gated relative position bias: head h's bias of query i and key j is
 * gate[h][i] * table[bucket(j - i)][h], the product in fp32 as torch takes it */
typedef struct {
    const float *gate;      /* (heads, n) */
    const float *table;     /* (buckets, heads) */
    const int32_t *bucket;  /* (2n - 1,) bucket of rp = j - i at rp + n - 1 */
    int heads;
} wavlm_bias;

static void wavlm_bias_fill(const void *ctx, int h, const float *q, size_t ld_q, const float *k,
                            size_t ld_k, int n, float *b)
{
    (void)q, (void)ld_q, (void)k, (void)ld_k;
    const wavlm_bias *w = ctx;
    for (int i = 0; i < n; i++) {
        float g = w->gate[(size_t)h * (size_t)n + (size_t)i];
        for (int j = 0; j < n; j++)
            b[(size_t)i * (size_t)n + (size_t)j] =
                g * w->table[(size_t)w->bucket[j - i + n - 1] * (size_t)w->heads + (size_t)h];
    }
}

/* gate(heads, n) of WavLM's layer ly from its attention input x(n, H): for each head's slice
 * of each row, y = rel_gate · slice + b (8,), a = sigmoid(y0 + .. + y3), c = sigmoid(y4 + ..
 * + y7), gate = a * (c * const[h] - 1) + 2, in fp32; proj holds (n * heads, 8) */
static void wavlm_gates(mhv_nn *nn, const mhv_config *c, const mhv_layer *ly, const float *x,
                        int n, float *proj, float *gate)
{
    int NH = c->num_heads;
    int d = c->head_dim, rows = n * NH; /* (the blocks' scratch holds SPEECH_CHUNK rows) */
    for (int r0 = 0; r0 < rows; r0 += SPEECH_CHUNK)
        mhv_nn_linear(nn, proj + (size_t)r0 * 8, x + (size_t)r0 * (size_t)d, &ly->rel_gate,
                      ly->rel_gate_b, rows - r0 < SPEECH_CHUNK ? rows - r0 : SPEECH_CHUNK,
                      MHV_NN_NO_ACT);
    for (int i = 0; i < n; i++)
        for (int h = 0; h < NH; h++) {
            const float *y = proj + ((size_t)i * (size_t)NH + (size_t)h) * 8;
            float sa = ((y[0] + y[1]) + y[2]) + y[3], sb = ((y[4] + y[5]) + y[6]) + y[7];
            float ga = 1.0f / (1.0f + expf(-sa)), gb = 1.0f / (1.0f + expf(-sb));
            gate[(size_t)h * (size_t)n + (size_t)i] = ga * (gb * ly->rel_gate_const[h] - 1.0f) + 2.0f;
        }
}

/* A debugging aid compiled only with -DMHV_DEBUG_SPEECH (`CFLAGS=-DMHV_DEBUG_SPEECH make`;
 * the library reads no environment otherwise): with $MHAVIZ_DEBUG_SPEECH naming a directory,
 * each stage of the front end is written there as raw float32 (frames, channels),
 * STAGE.f32 (conv0 .. convN, features, normed, projected, pos_conv), for
 * bench/w2v_base_accuracy.py --stages to set against transformers' own. Best effort: a file
 * that cannot be written is skipped. */
#ifdef MHV_DEBUG_SPEECH
static void debug_dump(const char *stage, const float *x, size_t count)
{
    const char *dir = getenv("MHAVIZ_DEBUG_SPEECH");
    if (!dir)
        return;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.f32", dir, stage);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(x, sizeof *x, count, f);
        fclose(f);
    }
}
#else
static inline void debug_dump(const char *stage, const float *x, size_t count)
{
    (void)stage, (void)x, (void)count;
}
#endif

static mhv_status speech_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                 mhv_capture *cap, float *logits, mhv_error *err)
{
    (void)ids;
    const mhv_config *c = &m->cfg;
    if (logits)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "%s has no logits mhaviz computes (the "
                        "CTC head is not supported)", c->arch);
    long samples = nn->audio_samples;
    if (mhv_config_speech_frames(c, samples) != n)
        return mhv_fail(err, MHV_EUSAGE, "", "%ld samples make %ld frames for %s, not %d",
                        samples, mhv_config_speech_frames(c, samples), c->arch, n);
    int H = c->hidden_size, I = c->intermediate_size, d = c->head_dim, NH = c->num_heads;
    int Cg = H / c->speech_pos_groups, K = c->speech_pos_kernel;
    int convs = c->speech_convs, last = c->speech_conv_dim[convs - 1];
    long len[MHV_MAX_SPEECH_CONVS];
    conv_lengths(c, samples, len);
    size_t ping = 0, pong = 0, cols = (size_t)Cg * (size_t)K;
    int widest = (int)cols;
    for (int i = 0; i < convs; i++) {
        size_t out = (size_t)len[i] * (size_t)c->speech_conv_dim[i];
        size_t in = (size_t)(i ? c->speech_conv_dim[i - 1] : 1) * (size_t)c->speech_conv_kernel[i];
        if (i % 2)
            pong = out > pong ? out : pong;
        else
            ping = out > ping ? out : ping;
        cols = in > cols ? in : cols;
        widest = (int)in > widest ? (int)in : widest;
    }
    /* split_linear's partial sums: the feature encoder's (at most) and the projection's */
    size_t sums = (size_t)split_levels(last) * (size_t)H;
    for (int i = 0; i < convs; i++) {
        long in = (long)(i ? c->speech_conv_dim[i - 1] : 1) * c->speech_conv_kernel[i];
        size_t s = (size_t)split_levels(in) * (size_t)c->speech_conv_dim[i];
        sums = s > sums ? s : sums;
    }
    widest = H > widest ? H : widest;
    widest = I > widest ? I : widest;
    widest = last > widest ? last : widest;
    size_t N = (size_t)n;
    /* SEW: the T projected frames are averaged squeeze at a time into the n the layers see */
    int sew = c->speech_squeeze > 0, T = (int)len[convs - 1];
    mhv_disent_pass pass = {0}; /* SEW-D's relative positions */
    mhv_status st;
    if (c->speech_deberta && (st = mhv_disent_begin(c, n, &pass, err)))
        return st;
    size_t RH = (size_t)pass.rows * (size_t)H;
    float *fa, *fb, *xcol, *part, *x, *xb, *pos, *q, *k, *v, *ctx, *tmp, *ffn, *gproj, *gate;
    float *bucket_f, *gstat, *xp, *partials, *feat, *relE, *pos_k, *pos_q;
    int wavlm = c->rel_pos_buckets > 0; /* WavLM's gated relative position bias */
    size_t NW = wavlm ? N : 0;
    const mhv_nn_buf bufs[] = {
        {&gproj, NW * (size_t)NH * 8}, {&gate, NW * (size_t)NH}, {&bucket_f, 2 * NW},
        {&gstat, 4 * (size_t)c->speech_conv_dim[0]}, /* channel_norm's doubles */
        {&fa, ping}, {&fb, pong}, {&xcol, (size_t)SPEECH_CHUNK * cols},
        {&part, (size_t)SPEECH_CHUNK * (size_t)Cg}, {&x, N * (size_t)H}, {&xb, N * (size_t)H},
        {&pos, N * (size_t)H}, {&q, N * (size_t)H}, {&k, N * (size_t)H}, {&v, N * (size_t)H},
        {&ctx, N * (size_t)H}, {&tmp, N * (size_t)H}, {&ffn, N * (size_t)I},
        {&xp, (size_t)SPEECH_CHUNK * SPEECH_SPLIT}, {&partials, (size_t)SPLIT_ROWS * sums},
        {&feat, sew ? (size_t)T * (size_t)H : 0}, {&relE, RH}, {&pos_k, RH}, {&pos_q, RH}};
    int most = n > pass.rows ? n : pass.rows; /* rows a linear layer takes at once */
    mhv_nn_shape shape = {most > SPEECH_CHUNK ? most : SPEECH_CHUNK, H, widest, d};
    st = mhv_nn_begin(nn, &shape, bufs, (int)(sizeof bufs / sizeof bufs[0]), err);
    if (!st && pass.rows)
        st = mhv_nn_reserve_bias(nn, n, err);
    if (!st && !nn->audio)
        st = mhv_fail(err, MHV_EUSAGE, "", "%s takes a waveform, not token ids", c->arch);
    if (st) {
        mhv_disent_end(&pass);
        return st;
    }
    int32_t *bucket = (int32_t *)(void *)bucket_f;
    wavlm_bias wb = {gate, m->speech_rel_table, bucket, NH};
    if (wavlm) {
        if ((st = mhv_nn_reserve_bias(nn, n, err)))
            return st;
        for (int r = -(n - 1); r <= n - 1; r++)
            bucket[r + n - 1] = wavlm_bucket(r, c->rel_pos_buckets, c->rel_pos_max_distance);
    }

    /* the feature encoder: each convolution as im2col chunks through a linear layer */
    const float *in = nn->audio;
    long in_len = samples;
    int cin = 1;
    float *out = fa;
    for (int i = 0; i < convs; i++) {
        int cout = c->speech_conv_dim[i], kw = c->speech_conv_kernel[i];
        int normed = m->speech_conv_g[i] != NULL;
        out = i % 2 ? fb : fa;
        for (long t0 = 0; t0 < len[i]; t0 += SPEECH_CHUNK) {
            int rows = (int)(len[i] - t0 < SPEECH_CHUNK ? len[i] - t0 : SPEECH_CHUNK);
            im2col(xcol, in, (size_t)cin, 0, cin, in_len, t0, rows, kw,
                   c->speech_conv_stride[i], 0);
            split_linear(nn, out + (size_t)t0 * (size_t)cout, xcol, &m->speech_conv[i],
                         m->speech_conv_b[i], rows, normed ? MHV_NN_NO_ACT : (int)c->speech_act,
                         xp, partials);
        }
        if (normed) {
            if (c->speech_conv_layer_norm) {
                mhv_norm ln = mhv_nn_layernorm(m->speech_conv_g[i], m->speech_conv_nb[i], 1e-5f);
                mhv_nn_norm(nn, out, out, &ln, (int)len[i], cout);
            } else {
                channel_norm(out, len[i], cout, m->speech_conv_g[i], m->speech_conv_nb[i],
                             (double *)(void *)gstat);
            }
            mhv_nn_act(nn, out, (int)c->speech_act, (int)len[i], cout);
        }
        char stage[16];
        snprintf(stage, sizeof stage, "conv%d", i);
        debug_dump(stage, out, (size_t)len[i] * (size_t)cout);
        in = out, in_len = len[i], cin = cout;
    }

    debug_dump("features", out, (size_t)T * (size_t)last);
    /* the feature projection (SEW's only when conv_dim[-1] != hidden_size) */
    if (c->speech_proj_norm) {
        mhv_norm ln = mhv_nn_layernorm(m->speech_proj_g, m->speech_proj_nb, c->speech_proj_eps);
        mhv_nn_norm(nn, out, out, &ln, T, last);
    }
    debug_dump("normed", out, (size_t)T * (size_t)last);
    float *proj = sew ? feat : x;
    if (!m->speech_proj.data)
        memcpy(proj, out, (size_t)T * (size_t)H * sizeof *proj);
    for (int t0 = 0; t0 < T && m->speech_proj.data; t0 += SPEECH_CHUNK)
        split_linear(nn, proj + (size_t)t0 * (size_t)H, out + (size_t)t0 * (size_t)last,
                     &m->speech_proj, m->speech_proj_b,
                     T - t0 < SPEECH_CHUNK ? T - t0 : SPEECH_CHUNK, MHV_NN_NO_ACT, xp, partials);
    debug_dump("projected", proj, (size_t)T * (size_t)H);
    if (sew) /* SEW's AvgPool1d(squeeze, squeeze) of the projected frames */
        for (int t = 0; t < n; t++)
            for (int ch = 0; ch < H; ch++) {
                float s = 0;
                for (int j = 0; j < c->speech_squeeze; j++)
                    s += feat[((size_t)t * (size_t)c->speech_squeeze + (size_t)j) * (size_t)H +
                              (size_t)ch];
                x[(size_t)t * (size_t)H + (size_t)ch] = s / (float)c->speech_squeeze;
            }

    /* the positional convolution (wav2vec2, HuBERT; SEW's strided over the projected
     * frames), or data2vec-audio's stack of them each with its parameterless LayerNorm,
     * alternating between pos and xb */
    const float *pin = sew ? feat : x;
    float *pout = pos;
    int stack = c->speech_pos_layers > 0;
    for (int i = 0; i < (stack ? c->speech_pos_layers : 1); i++) {
        pout = i % 2 ? xb : pos;
        pos_conv(nn, c, stack ? &m->speech_pos_layer[i] : &m->speech_pos,
                 stack ? m->speech_pos_layer_b[i] : m->speech_pos_b, pin, sew ? T : n,
                 sew ? c->speech_squeeze : 1, pout, n, xcol, part,
                 stack ? MHV_NN_NO_ACT : (int)c->speech_act);
        if (stack) {
            mhv_norm ln = mhv_nn_layernorm(m->speech_pos_ones, m->speech_pos_zeros, 1e-5f);
            mhv_nn_norm(nn, pout, pout, &ln, n, H);
            mhv_nn_act(nn, pout, (int)c->speech_act, n, H);
        }
        pin = pout;
    }
    debug_dump("pos_conv", pout, (size_t)n * (size_t)H);
    mhv_nn_add(nn, x, pout, n, H);
    if (c->speech_deberta) { /* SEW-D: DeBERTa-v2's layers, no norm before them */
        mhv_disent_table(nn, m, &pass, relE);
        for (int l = 0; l <= cap->last; l++) {
            const mhv_layer *ly = &m->layers[l];
            mhv_disent_attention(nn, c, ly, NULL, &pass, relE, pos_k, pos_q, x, l,
                                 &(mhv_attn_bufs){.q = q, .k = k, .v = v, .ctx = ctx}, cap);
            if (mhv_capture_done(cap, l))
                break;
            mhv_layer_post_norm(nn, ly, c, x, ctx, tmp, ffn, n);
        }
        mhv_disent_end(&pass);
        return MHV_OK;
    }
    mhv_norm enc_ln = mhv_nn_layernorm(m->enc_norm_g, m->enc_norm_b, c->layer_norm_eps);
    if (!c->pre_norm)
        mhv_nn_norm(nn, x, x, &enc_ln, n, H);

    const mhv_attn_bufs ab = {.q = q, .k = k, .v = v, .ctx = ctx};
    const float scale = (float)(1.0 / sqrt((double)d));
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_attn_layer attn = {.wq = &ly->q, .wk = &ly->k, .wv = &ly->v, .bq = ly->q_b,
                               .bk = ly->k_b, .bv = ly->v_b, .heads = NH, .kv_heads = NH,
                               .head_dim = d, .scale = scale, .wo = &ly->o};
        mhv_norm ln1 = mhv_nn_layernorm(ly->ln_attn_g, ly->ln_attn_b, c->layer_norm_eps);
        mhv_norm ln2 = mhv_nn_layernorm(ly->ln_ffn_g, ly->ln_ffn_b, c->layer_norm_eps);
        if (c->pre_norm)
            mhv_nn_norm(nn, xb, x, &ln1, n, H);
        if (wavlm) {
            wavlm_gates(nn, c, ly, c->pre_norm ? xb : x, n, gproj, gate);
            attn.bias = wavlm_bias_fill, attn.bias_ctx = &wb;
        }
        mhv_nn_attention(nn, &attn, c->pre_norm ? xb : x, n, l, &ab, cap);
        if (mhv_capture_done(cap, l))
            break;
        mhv_nn_linear(nn, tmp, ctx, &ly->o, ly->o_b, n, MHV_NN_NO_ACT);
        if (c->pre_norm) {
            mhv_nn_add(nn, x, tmp, n, H);
            mhv_nn_norm(nn, xb, x, &ln2, n, H);
            mhv_nn_linear(nn, ffn, xb, &ly->ffn_up, ly->ffn_up_b, n, (int)c->act);
            mhv_nn_linear(nn, tmp, ffn, &ly->ffn_down, ly->ffn_down_b, n, MHV_NN_NO_ACT);
            mhv_nn_add(nn, x, tmp, n, H);
        } else {
            mhv_nn_add_norm(nn, x, tmp, &ln1, n, H);
            mhv_nn_linear(nn, ffn, x, &ly->ffn_up, ly->ffn_up_b, n, (int)c->act);
            mhv_nn_linear(nn, tmp, ffn, &ly->ffn_down, ly->ffn_down_b, n, MHV_NN_NO_ACT);
            mhv_nn_add_norm(nn, x, tmp, &ln2, n, H);
        }
    }
    return MHV_OK;
}

const mhv_family mhv_family_wav2vec2 = {
    .name = "wav2vec2",
    .model_types = model_types,
    .config = speech_config,
    .vector_floats = speech_vector_floats,
    .load = speech_load,
    .forward = speech_forward,
};
