/* mobilebert.c - MobileBERT (MobileBertModel and the *For* heads' mobilebert. weights):
 * BERT's post-norm sublayers working in a narrow inner width B (intra_bottleneck_size)
 * between bottlenecks from and back to the hidden width H, several feed-forward networks a
 * layer, NoNorm (x * g + b) or LayerNorm for every norm.
 *
 *   e = tok[id] (embedding_size E); trigram_input: [e[i+1], e[i], e[i-1]] (zeros past the
 *       sentence's ends); through embedding_transformation when trigram or E != H;
 *   x = norm(e + pos[i] + type[t])
 *   per layer (use_bottleneck):
 *     li = norm(bn_in(x));  qk = norm(bn_attn(x)) (key_query_shared_bottleneck)
 *     a = norm(O·attn(q, k from qk; v from x) + li)   (use_bottleneck_attention: q, k, v
 *                                                      from li)
 *     num_feedforward_networks - 1 times: a = norm(down(act(up(a))) + a)
 *     t = norm(down(act(up(a))) + a);  x = norm(bn_out(t) + x)
 *   without the bottleneck B = H, li = x and x = t.
 * Norms take layer_norm_eps except the embeddings' and each layer's output.LayerNorm, which
 * transformers builds with LayerNorm's default 1e-5. The masked-LM head: t = LN(act(dense(x)))
 * (a LayerNorm whatever normalization_type), logits = t · [decoder^T; dense] + bias, i.e.
 * the decoder (vocab, E) over t's first E features plus the dense (H - E, vocab) matrix over
 * the rest. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"mobilebert", NULL};

#define DEFAULT_LN_EPS 1e-5f /* torch.nn.LayerNorm's, where transformers passes none */

static mhv_status mobilebert_config(const cJSON *root, mhv_config *c, const char *name,
                                    mhv_error *err)
{
    mhv_status st;
    double eps;
    const char *norm;
    static const mhv_size_keys keys = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "vocab_size", "max_position_embeddings",
                                       512, 24, 4, 512, 30522, 512};
    if ((st = mhv_config_sizes(root, &keys, 0, c, name, err)) ||
        (st = mhv_json_int(root, "type_vocab_size", 2, 1, 1024, &c->type_vocab_size, name,
                           err)) ||
        (st = mhv_json_num(root, "layer_norm_eps", 1e-12, 0, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_RELU, &c->act, name, err)) ||
        (st = mhv_json_int(root, "embedding_size", 128, 1, MHV_MAX_HIDDEN, &c->embedding_size,
                           name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 1, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "trigram_input", 1, &c->mb_trigram, name, err)) ||
        (st = mhv_json_bool(root, "use_bottleneck", 1, &c->mb_bottleneck, name, err)) ||
        (st = mhv_json_int(root, "intra_bottleneck_size", 128, 1, MHV_MAX_HIDDEN, &c->mb_inner,
                           name, err)) ||
        (st = mhv_json_bool(root, "use_bottleneck_attention", 0, &c->mb_bottleneck_attn, name,
                            err)) ||
        (st = mhv_json_bool(root, "key_query_shared_bottleneck", 1, &c->mb_shared_qk, name,
                            err)) ||
        (st = mhv_json_int(root, "num_feedforward_networks", 4, 1, 64, &c->mb_ffns, name,
                           err)) ||
        (st = mhv_json_str(root, "normalization_type", "no_norm", &norm, name, err)))
        return st;
    if (strcmp(norm, "no_norm") != 0 && strcmp(norm, "layer_norm") != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "normalization_type '%.40s' is not "
                        "supported (no_norm or layer_norm)", norm);
    c->mb_no_norm = strcmp(norm, "no_norm") == 0;
    if (!c->mb_bottleneck)
        c->mb_inner = c->hidden_size; /* true_hidden_size */
    int B = c->mb_inner;
    if (B % c->num_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name, "num_attention_heads %d does not divide the "
                        "attention width %d", c->num_heads, B);
    /* with the bottleneck but neither of its attention inputs, transformers projects the
     * queries and keys of width B from the hidden states of width H */
    if (c->mb_bottleneck && !c->mb_bottleneck_attn && !c->mb_shared_qk && B != c->hidden_size)
        return mhv_fail(err, MHV_EFORMAT, name, "use_bottleneck without "
                        "use_bottleneck_attention or key_query_shared_bottleneck needs "
                        "intra_bottleneck_size %d equal to hidden_size %d", B, c->hidden_size);
    c->head_dim = B / c->num_heads;
    c->num_kv_heads = c->num_heads;
    c->layer_norm_eps = (float)eps;
    c->causal = 0;
    return MHV_OK;
}

static size_t mobilebert_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, B = (size_t)c->mb_inner, I = (size_t)c->intermediate_size;
    size_t F = (size_t)c->mb_ffns;
    /* embeddings: transformation bias, norm; a layer: q, k, v, o biases, their norm, the
     * bottlenecks (3 B + 3 H), every feed-forward network (I + 3 B) */
    return 3 * H + (size_t)c->num_layers * (12 * B + 3 * H + F * (I + 3 * B)) + 3 * H +
           (size_t)c->vocab_size; /* the masked-LM head */
}

/* prefix+name ".weight" (rows, cols) into *w and ".bias" into *b; then prefix+norm's weight
 * and bias (rows,) into *g, *nb (NoNorm and LayerNorm name them alike). */
static mhv_status load_dense_norm(mhv_wload *ld, const char *prefix, const char *name,
                                  const char *norm, int rows, int cols, mhv_mat *w, float **b,
                                  float **g, float **nb, mhv_error *err)
{
    char n[192];
    mhv_status st;
#define N(part, suffix) (snprintf(n, sizeof n, "%s%s.%s", prefix, part, suffix), n)
    if ((st = mhv_wload_mat(ld, N(name, "weight"), rows, cols, 0, w, err)) ||
        (st = mhv_wload_vec(ld, N(name, "bias"), rows, 0, b, err)) ||
        (st = mhv_wload_vec(ld, N(norm, "weight"), rows, 0, g, err)) ||
        (st = mhv_wload_vec(ld, N(norm, "bias"), rows, 0, nb, err)))
        return st;
#undef N
    return MHV_OK;
}

static mhv_status load_layer(mhv_wload *ld, const mhv_config *c, int l, mhv_layer *ly,
                             mhv_layer *ffns, mhv_error *err)
{
    int H = c->hidden_size, B = c->mb_inner, I = c->intermediate_size;
    int qk_in = c->mb_bottleneck ? B : H, v_in = c->mb_bottleneck_attn ? B : H;
    char p[64], q[192];
    snprintf(p, sizeof p, "encoder.layer.%d.", l);
    mhv_status st;
#define P(suffix) (snprintf(q, sizeof q, "%s%s", p, suffix), q)
    if ((st = mhv_wload_mat(ld, P("attention.self.query.weight"), B, qk_in, 0, &ly->q, err)) ||
        (st = mhv_wload_vec(ld, P("attention.self.query.bias"), B, 0, &ly->q_b, err)) ||
        (st = mhv_wload_mat(ld, P("attention.self.key.weight"), B, qk_in, 0, &ly->k, err)) ||
        (st = mhv_wload_vec(ld, P("attention.self.key.bias"), B, 0, &ly->k_b, err)) ||
        (st = mhv_wload_mat(ld, P("attention.self.value.weight"), B, v_in, 0, &ly->v, err)) ||
        (st = mhv_wload_vec(ld, P("attention.self.value.bias"), B, 0, &ly->v_b, err)) ||
        (st = load_dense_norm(ld, p, "attention.output.dense", "attention.output.LayerNorm", B,
                              B, &ly->o, &ly->o_b, &ly->ln_attn_g, &ly->ln_attn_b, err)) ||
        (st = mhv_wload_mat(ld, P("intermediate.dense.weight"), I, B, 0, &ly->ffn_up, err)) ||
        (st = mhv_wload_vec(ld, P("intermediate.dense.bias"), I, 0, &ly->ffn_up_b, err)) ||
        (st = load_dense_norm(ld, p, "output.dense", "output.LayerNorm", B, I, &ly->ffn_down,
                              &ly->ffn_down_b, &ly->ln_ffn_g, &ly->ln_ffn_b, err)))
        return st;
    if (c->mb_bottleneck &&
        ((st = load_dense_norm(ld, p, "bottleneck.input.dense", "bottleneck.input.LayerNorm", B,
                               H, &ly->bn_in, &ly->bn_in_b, &ly->bn_in_g, &ly->bn_in_nb, err)) ||
         (st = load_dense_norm(ld, p, "output.bottleneck.dense", "output.bottleneck.LayerNorm",
                               H, B, &ly->bn_out, &ly->bn_out_b, &ly->bn_out_g, &ly->bn_out_nb,
                               err))))
        return st;
    if (c->mb_bottleneck && c->mb_shared_qk && !c->mb_bottleneck_attn &&
        (st = load_dense_norm(ld, p, "bottleneck.attention.dense",
                              "bottleneck.attention.LayerNorm", B, H, &ly->bn_attn,
                              &ly->bn_attn_b, &ly->bn_attn_g, &ly->bn_attn_nb, err)))
        return st;
    for (int j = 0; j + 1 < c->mb_ffns; j++) {
        char f[96];
        snprintf(f, sizeof f, "%sffn.%d.", p, j);
        mhv_layer *fl = &ffns[j];
        snprintf(q, sizeof q, "%sintermediate.dense.weight", f);
        if ((st = mhv_wload_mat(ld, q, I, B, 0, &fl->ffn_up, err)))
            return st;
        snprintf(q, sizeof q, "%sintermediate.dense.bias", f);
        if ((st = mhv_wload_vec(ld, q, I, 0, &fl->ffn_up_b, err)) ||
            (st = load_dense_norm(ld, f, "output.dense", "output.LayerNorm", B, I, &fl->ffn_down,
                                  &fl->ffn_down_b, &fl->ln_ffn_g, &fl->ln_ffn_b, err)))
            return st;
    }
#undef P
    return MHV_OK;
}

/* MobileBertForMaskedLM's / ForPreTraining's cls.predictions when the checkpoint has its
 * transform: the decoder (vocab, E) tied to the token embedding and its bias to
 * cls.predictions.bias unless tie_word_embeddings is false (transformers 5 unties both; a
 * file without decoder.bias then has the same values as cls.predictions.bias), and
 * the dense (H - E, vocab) matrix (none when E == H). */
static mhv_status load_mlm_head(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, E = c->embedding_size, V = c->vocab_size, opt = MHV_W_BARE;
    mhv_status st = mhv_wload_mat(ld, "cls.predictions.transform.dense.weight", H, H,
                                  opt | MHV_W_OPTIONAL, &m->mlm_dense, err);
    if (st || !m->mlm_dense.data)
        return st;
    int tied = c->tie_word_embeddings;
    if ((st = mhv_wload_vec(ld, "cls.predictions.transform.dense.bias", H, opt, &m->mlm_dense_b,
                            err)) ||
        (st = mhv_wload_vec(ld, "cls.predictions.transform.LayerNorm.weight", H, opt,
                            &m->mlm_ln_g, err)) ||
        (st = mhv_wload_vec(ld, "cls.predictions.transform.LayerNorm.bias", H, opt,
                            &m->mlm_ln_b, err)) ||
        (!tied && (st = mhv_wload_vec(ld, "cls.predictions.decoder.bias", V,
                                      opt | MHV_W_OPTIONAL, &m->mlm_bias, err))) ||
        (!m->mlm_bias &&
         (st = mhv_wload_vec(ld, "cls.predictions.bias", V, opt, &m->mlm_bias, err))))
        return st;
    if (tied)
        m->mlm_decoder = m->word_emb;
    else if ((st = mhv_wload_mat(ld, "cls.predictions.decoder.weight", V, E, opt,
                                 &m->mlm_decoder, err)))
        return st;
    int rest[1] = {V};
    char prefix[sizeof ld->prefix]; /* the head is outside the base model's prefix */
    memcpy(prefix, ld->prefix, sizeof prefix);
    ld->prefix[0] = '\0';
    if (H > E)
        st = mhv_wload_conv1d(ld, "cls.predictions.dense.weight", H - E, rest, 1,
                              &m->mlm_extra, err);
    memcpy(ld->prefix, prefix, sizeof prefix);
    if (st)
        return st;
    if (E > H)
        return mhv_fail(err, MHV_EFORMAT, m->dir, "embedding_size %d above hidden_size %d "
                        "leaves the masked-LM head's dense no rows", E, H);
    m->mlm_act = (int)c->act;
    return MHV_OK;
}

/* logits(n, V) of the masked-LM head over x(n, H); t (n, H), a (n, max(E, H - E)), b (n, V)
 * are work space. */
static void mlm_logits(mhv_nn *nn, const mhv_model *m, const float *x, float *t, float *a,
                       float *b, float *logits, int n)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, E = c->embedding_size, V = c->vocab_size;
    mhv_norm ln = mhv_nn_layernorm(m->mlm_ln_g, m->mlm_ln_b, c->layer_norm_eps);
    mhv_nn_linear(nn, t, x, &m->mlm_dense, m->mlm_dense_b, n, m->mlm_act);
    mhv_nn_norm(nn, t, t, &ln, n, H);
    for (int i = 0; i < n; i++)
        memcpy(a + (size_t)i * (size_t)E, t + (size_t)i * (size_t)H, (size_t)E * sizeof *a);
    mhv_nn_linear(nn, logits, a, &m->mlm_decoder, NULL, n, MHV_NN_NO_ACT);
    if (H > E) {
        size_t R = (size_t)(H - E);
        for (int i = 0; i < n; i++)
            memcpy(a + (size_t)i * R, t + (size_t)i * (size_t)H + E, R * sizeof *a);
        mhv_nn_linear(nn, b, a, &m->mlm_extra, NULL, n, MHV_NN_NO_ACT);
        mhv_nn_add(nn, logits, b, n, V);
    }
    for (int i = 0; i < n; i++) /* += decoder.bias */
        nn->K->add(logits + (size_t)i * (size_t)V, m->mlm_bias, (size_t)V);
}

static mhv_status mobilebert_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    static const char *const prefixes[] = {"mobilebert.", NULL}; /* MobileBertFor* heads */
    int H = c->hidden_size, E = c->embedding_size, F = c->mb_ffns - 1;
    int in = c->mb_trigram ? 3 * E : E;
    mhv_wload_prefix(ld, prefixes, "embeddings.word_embeddings.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embeddings.word_embeddings.weight", c->vocab_size, E, 0,
                            &m->word_emb, err)) ||
        (st = mhv_wload_mat(ld, "embeddings.position_embeddings.weight", c->max_positions, H, 0,
                            &m->pos_emb, err)) ||
        (st = mhv_wload_mat(ld, "embeddings.token_type_embeddings.weight", c->type_vocab_size,
                            H, 0, &m->type_emb, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.LayerNorm.weight", H, 0, &m->emb_ln_g, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.LayerNorm.bias", H, 0, &m->emb_ln_b, err)))
        return st;
    if ((c->mb_trigram || E != H) &&
        ((st = mhv_wload_mat(ld, "embeddings.embedding_transformation.weight", H, in, 0,
                             &m->emb_proj, err)) ||
         (st = mhv_wload_vec(ld, "embeddings.embedding_transformation.bias", H, 0,
                             &m->emb_proj_b, err))))
        return st;
    if (F > 0 &&
        !(m->sub_layers = calloc((size_t)c->num_layers * (size_t)F, sizeof *m->sub_layers)))
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory");
    for (int l = 0; l < c->num_layers; l++)
        if ((st = load_layer(ld, c, l, &m->layers[l],
                             F > 0 ? m->sub_layers + (size_t)l * (size_t)F : NULL, err)))
            return st;
    return load_mlm_head(m, ld, err);
}

/* A norm of c's kind over g, b: NoNorm, or a LayerNorm of eps. */
static mhv_norm norm_of(const mhv_config *c, const float *g, const float *b, float eps)
{
    return (mhv_norm){c->mb_no_norm ? MHV_NORM_AFFINE : MHV_NORM_LAYER, g, b, eps};
}

/* x(n, H) = the embeddings before their norm: the token rows (emb (n, E)), as trigrams
 * (tri (n, 3E)) within each sentence of the pass, through the transformation, plus each
 * token's position (from its sentence's start) and type; row (H,) is work space. */
static void embed(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n, float *emb,
                  float *tri, float *x, float *row)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, E = c->embedding_size;
    size_t e = (size_t)E;
    mhv_embed tok = {.tok = &m->word_emb, .pad_id = -1};
    mhv_nn_embed(nn, emb, &tok, ids, n, E);
    int one[2] = {0, n};
    const int *off = nn->pack ? nn->pack->off : one;
    int count = nn->pack ? nn->pack->count : 1;
    const float *in = emb;
    if (c->mb_trigram) {
        memset(tri, 0, (size_t)n * 3 * e * sizeof *tri);
        for (int s = 0; s < count; s++)
            for (int i = off[s]; i < off[s + 1]; i++) {
                float *t = tri + (size_t)i * 3 * e;
                if (i + 1 < off[s + 1])
                    memcpy(t, emb + (size_t)(i + 1) * e, e * sizeof *t);
                memcpy(t + e, emb + (size_t)i * e, e * sizeof *t);
                if (i > off[s])
                    memcpy(t + 2 * e, emb + (size_t)(i - 1) * e, e * sizeof *t);
            }
        in = tri;
    }
    if (c->mb_trigram || E != H)
        mhv_nn_linear(nn, x, in, &m->emb_proj, m->emb_proj_b, n, MHV_NN_NO_ACT);
    else
        memcpy(x, emb, (size_t)n * (size_t)H * sizeof *x);
    /* inputs_embeds + position_embeddings + token_type_embeddings, in that order */
    for (int s = 0; s < count; s++)
        for (int i = off[s]; i < off[s + 1]; i++) {
            float *xi = x + (size_t)i * (size_t)H;
            mhv_mat_row(&m->pos_emb, i - off[s], row);
            nn->K->add(xi, row, (size_t)H);
            mhv_mat_row(&m->type_emb, nn->type_ids ? nn->type_ids[i] : 0, row);
            nn->K->add(xi, row, (size_t)H);
        }
}

static mhv_status mobilebert_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                     mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (logits && !m->mlm_dense.data)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "no masked-LM head in the checkpoint "
                        "(MobileBertForMaskedLM's cls.predictions): no logits");
    int H = c->hidden_size, B = c->mb_inner, I = c->intermediate_size, E = c->embedding_size;
    int F = c->mb_ffns - 1, W = H > B ? H : B;
    if (cap->vnorm == MHV_VNORM_VO && B > H) /* the blocks keep W_O slices of hidden rows */
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "value norms through the output "
                        "projection (norm-out) are not supported with intra_bottleneck_size %d "
                        "above hidden_size %d", B, H);
    size_t N = (size_t)n, nb = N * (size_t)B;
    float *x;                        /* (n, H) the layers' stream */
    float *li, *qk;                  /* (n, B) the bottleneck's layer input, q/k input */
    float *q, *k, *v, *ctx, *a;      /* (n, B) */
    float *tmp;                      /* (n, max(H, B)) */
    float *out;                      /* (n, H) the output bottleneck's */
    float *ffn;                      /* (n, I) */
    float *emb, *tri;                /* (n, E), (n, 3E) embeddings before the transformation */
    float *row;                      /* (H,) */
    float *lg;                       /* (n, V) the head's second product, with logits */
    float *fa;                       /* (n, max(E, H - E)) a block of the head's features */
    const mhv_nn_buf bufs[] = {{&x, N * (size_t)H}, {&li, nb}, {&qk, nb}, {&q, nb}, {&k, nb},
                               {&v, nb}, {&ctx, nb}, {&a, nb}, {&tmp, N * (size_t)W},
                               {&out, N * (size_t)H},
                               {&ffn, N * (size_t)I}, {&emb, N * (size_t)E},
                               {&tri, c->mb_trigram ? 3 * N * (size_t)E : 0},
                               {&row, (size_t)H},
                               {&lg, logits ? N * (size_t)c->vocab_size : 0},
                               {&fa, logits ? N * (size_t)(E > H - E ? E : H - E) : 0}};
    int widest = W > I ? W : I;
    int in = c->mb_trigram ? 3 * E : E;
    widest = in > widest ? in : widest;
    mhv_nn_shape shape = {n, E > W ? E : W, widest, c->head_dim};
    mhv_status st = mhv_nn_begin(nn, &shape, bufs, (int)(sizeof bufs / sizeof bufs[0]), err);
    if (st)
        return st;
    embed(nn, m, ids, n, emb, tri, x, row);
    mhv_norm emb_norm = norm_of(c, m->emb_ln_g, m->emb_ln_b, DEFAULT_LN_EPS);
    mhv_nn_norm(nn, x, x, &emb_norm, n, H);

    float eps = c->layer_norm_eps;
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        const float *layer_in = x, *qk_in = x, *v_in = x;
        if (c->mb_bottleneck) {
            mhv_norm nin = norm_of(c, ly->bn_in_g, ly->bn_in_nb, eps);
            mhv_nn_linear(nn, li, x, &ly->bn_in, ly->bn_in_b, n, MHV_NN_NO_ACT);
            mhv_nn_norm(nn, li, li, &nin, n, B);
            layer_in = li;
            if (c->mb_bottleneck_attn) {
                qk_in = v_in = li;
            } else if (c->mb_shared_qk) {
                mhv_norm nat = norm_of(c, ly->bn_attn_g, ly->bn_attn_nb, eps);
                mhv_nn_linear(nn, qk, x, &ly->bn_attn, ly->bn_attn_b, n, MHV_NN_NO_ACT);
                mhv_nn_norm(nn, qk, qk, &nat, n, B);
                qk_in = qk;
            }
        }
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.x_v = v_in != qk_in ? v_in : NULL;
        mhv_nn_attention(nn, &attn, qk_in, n, l, &(mhv_attn_bufs){.q = q, .k = k, .v = v,
                                                                  .ctx = ctx}, cap);
        if (mhv_capture_done(cap, l))
            break;
        /* a = norm(O·ctx + layer input) */
        mhv_norm nattn = norm_of(c, ly->ln_attn_g, ly->ln_attn_b, eps);
        mhv_nn_linear(nn, a, ctx, &ly->o, ly->o_b, n, MHV_NN_NO_ACT);
        mhv_nn_add_norm(nn, a, layer_in, &nattn, n, B);
        for (int j = 0; j < F; j++) { /* a = norm(down(act(up(a))) + a) */
            const mhv_layer *fl = &m->sub_layers[(size_t)l * (size_t)F + (size_t)j];
            mhv_norm nf = norm_of(c, fl->ln_ffn_g, fl->ln_ffn_b, eps);
            mhv_nn_linear(nn, ffn, a, &fl->ffn_up, fl->ffn_up_b, n, (int)c->act);
            mhv_nn_linear(nn, tmp, ffn, &fl->ffn_down, fl->ffn_down_b, n, MHV_NN_NO_ACT);
            mhv_nn_add_norm(nn, tmp, a, &nf, n, B);
            memcpy(a, tmp, nb * sizeof *a);
        }
        /* t = norm(down(act(up(a))) + a) with LayerNorm's default eps */
        mhv_norm nout = norm_of(c, ly->ln_ffn_g, ly->ln_ffn_b, DEFAULT_LN_EPS);
        mhv_nn_linear(nn, ffn, a, &ly->ffn_up, ly->ffn_up_b, n, (int)c->act);
        mhv_nn_linear(nn, tmp, ffn, &ly->ffn_down, ly->ffn_down_b, n, MHV_NN_NO_ACT);
        mhv_nn_add_norm(nn, tmp, a, &nout, n, B);
        if (c->mb_bottleneck) { /* x = norm(bn_out(t) + x) */
            mhv_norm nbo = norm_of(c, ly->bn_out_g, ly->bn_out_nb, eps);
            mhv_nn_linear(nn, out, tmp, &ly->bn_out, ly->bn_out_b, n, MHV_NN_NO_ACT);
            mhv_nn_add_norm(nn, x, out, &nbo, n, H);
        } else {
            memcpy(x, tmp, N * (size_t)H * sizeof *x);
        }
    }
    if (logits) /* the transformed features in out (n, H) */
        mlm_logits(nn, m, x, out, fa, lg, logits, n);
    return MHV_OK;
}

const mhv_family mhv_family_mobilebert = {
    .name = "mobilebert",
    .model_types = model_types,
    .config = mobilebert_config,
    .vector_floats = mobilebert_vector_floats,
    .load = mobilebert_load,
    .forward = mobilebert_forward,
    .packs = mhv_family_packs_always,
};
