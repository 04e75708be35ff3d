/* opt.c - OPT (OPTModel, OPTForCausalLM): learned positions offset by 2, ReLU, LayerNorm
 * before (do_layer_norm_before, most sizes) or after (OPT-350m) each block, and token
 * embeddings of word_embed_proj_dim projected in and out when it differs from hidden_size.
 *
 *   x = project_in(embed_tokens[id]) + embed_positions[i + 2]
 *   pre-LN:  x += attn(ln_1(x));  x += fc2(act(fc1(ln_2(x))))
 *   post-LN: x = ln_1(x + attn(x));  x = ln_2(x + fc2(act(fc1(x))))
 *   logits = project_out(final_layer_norm(x)) · lm_head^T   (no final norm with post-LN)
 * transformers scales q before the product; here the scores are scaled (same value up to
 * rounding, within the goldens' tolerance). */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"opt", NULL};

enum { OPT_POS_OFFSET = 2 }; /* OPTLearnedPositionalEmbedding.offset */

static mhv_status opt_config(const cJSON *root, mhv_config *c, const char *name,
                             mhv_error *err)
{
    mhv_status st;
    if ((st = mhv_json_int(root, "hidden_size", 768, 1, MHV_MAX_HIDDEN, &c->hidden_size, name,
                           err)) ||
        (st = mhv_json_int(root, "num_hidden_layers", 12, 1, MHV_MAX_LAYERS, &c->num_layers,
                           name, err)) ||
        (st = mhv_json_int(root, "num_attention_heads", 12, 1, MHV_MAX_HEADS, &c->num_heads,
                           name, err)) ||
        (st = mhv_json_int(root, "ffn_dim", 3072, 1, 4 * MHV_MAX_HIDDEN, &c->intermediate_size,
                           name, err)) ||
        (st = mhv_json_int(root, "vocab_size", 50272, 1, MHV_MAX_VOCAB, &c->vocab_size, name,
                           err)) ||
        (st = mhv_json_int(root, "max_position_embeddings", 2048, 1,
                           MHV_MAX_POSITIONS - OPT_POS_OFFSET, &c->max_positions, name, err)))
        return st;
    if ((st = mhv_json_int(root, "word_embed_proj_dim", c->hidden_size, 1, MHV_MAX_HIDDEN,
                           &c->embedding_size, name, err)))
        return st;
    if (c->hidden_size % c->num_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "num_attention_heads %d does not divide hidden_size %d", c->num_heads,
                        c->hidden_size);
    c->head_dim = c->hidden_size / c->num_heads;
    c->num_kv_heads = c->num_heads;
    int affine, remove_final;
    if ((st = mhv_config_act(root, "activation_function", MHV_ACT_RELU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 1, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "enable_bias", 1, &c->attn_bias, name, err)) ||
        (st = mhv_json_bool(root, "do_layer_norm_before", 1, &c->pre_norm, name, err)) ||
        (st = mhv_json_bool(root, "_remove_final_layer_norm", 0, &remove_final, name, err)) ||
        (st = mhv_json_bool(root, "layer_norm_elementwise_affine", 1, &affine, name, err)))
        return st;
    if (!affine)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "layer_norm_elementwise_affine false is not supported");
    c->final_norm = c->pre_norm && !remove_final;
    c->layer_norm_eps = 1e-5f; /* nn.LayerNorm's default: OPT has no eps setting */
    c->attn_out_bias = c->mlp_bias = c->attn_bias;
    c->pos_offset = OPT_POS_OFFSET;
    c->causal = 1;
    return MHV_OK;
}

static size_t opt_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    return 2 * H + (size_t)c->num_layers * (9 * H + (size_t)c->intermediate_size);
}

static mhv_status opt_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    /* OPTForCausalLM, then OPTModel */
    static const char *const prefixes[] = {"model.decoder.", "decoder.", NULL};
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size, E = c->embedding_size;
    int b = c->attn_bias ? 0 : MHV_W_OPTIONAL;
    mhv_wload_prefix(ld, prefixes, "embed_tokens.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embed_tokens.weight", V, E, 0, &m->word_emb, err)) ||
        (st = mhv_wload_mat(ld, "embed_positions.weight", c->max_positions + c->pos_offset, H,
                            0, &m->pos_emb, err)))
        return st;
    if (c->final_norm &&
        ((st = mhv_wload_vec(ld, "final_layer_norm.weight", H, 0, &m->norm_g, err)) ||
         (st = mhv_wload_vec(ld, "final_layer_norm.bias", H, 0, &m->norm_b, err))))
        return st;
    if (E != H &&
        ((st = mhv_wload_mat(ld, "project_in.weight", H, E, 0, &m->emb_proj, err)) ||
         (st = mhv_wload_mat(ld, "project_out.weight", E, H, 0, &m->out_proj, err))))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.%s", l, suffix), n)
#define BIAS(suffix, len, dst) (!b && (st = mhv_wload_vec(ld, N(suffix), len, 0, dst, err)))
        if ((st = mhv_wload_vec(ld, N("self_attn_layer_norm.weight"), H, 0, &ly->ln_attn_g,
                                err)) ||
            (st = mhv_wload_vec(ld, N("self_attn_layer_norm.bias"), H, 0, &ly->ln_attn_b,
                                err)) ||
            (st = mhv_wload_mat(ld, N("self_attn.q_proj.weight"), H, H, 0, &ly->q, err)) ||
            (st = mhv_wload_mat(ld, N("self_attn.k_proj.weight"), H, H, 0, &ly->k, err)) ||
            (st = mhv_wload_mat(ld, N("self_attn.v_proj.weight"), H, H, 0, &ly->v, err)) ||
            (st = mhv_wload_mat(ld, N("self_attn.out_proj.weight"), H, H, 0, &ly->o, err)) ||
            BIAS("self_attn.q_proj.bias", H, &ly->q_b) ||
            BIAS("self_attn.k_proj.bias", H, &ly->k_b) ||
            BIAS("self_attn.v_proj.bias", H, &ly->v_b) ||
            BIAS("self_attn.out_proj.bias", H, &ly->o_b) ||
            (st = mhv_wload_vec(ld, N("final_layer_norm.weight"), H, 0, &ly->ln_ffn_g, err)) ||
            (st = mhv_wload_vec(ld, N("final_layer_norm.bias"), H, 0, &ly->ln_ffn_b, err)) ||
            (st = mhv_wload_mat(ld, N("fc1.weight"), I, H, 0, &ly->ffn_up, err)) ||
            (st = mhv_wload_mat(ld, N("fc2.weight"), H, I, 0, &ly->ffn_down, err)) ||
            BIAS("fc1.bias", I, &ly->ffn_up_b) || BIAS("fc2.bias", H, &ly->ffn_down_b))
            return st;
#undef BIAS
#undef N
    }
    /* lm_head.weight is (vocab, word_embed_proj_dim) */
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

static mhv_status opt_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                              mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, E = c->embedding_size;
    size_t N = (size_t)n;
    const int proj = E != H;
    const mhv_decoder dec = {MHV_NORM_LAYER, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_PLAIN, NULL};
    float *emb;    /* (n, E) token embeddings before project_in, and x after project_out */
    float *pos;    /* (n, H) position embeddings when projected */
    float *posid;  /* (n,) int32 position rows */
    mhv_decoder_scratch s = {
        .embed_width = E,
        .extra = {{&emb, proj ? N * (size_t)E : 0}, {&pos, proj ? N * (size_t)H : 0},
                  {&posid, proj ? N : 0}},
    };
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &s, &p, err);
    if (st)
        return st;

    float *x = p.x;
    if (!proj) {
        mhv_embed e = {.tok = &m->word_emb, .pos = &m->pos_emb, .pos_offset = c->pos_offset,
                       .pad_id = -1};
        mhv_nn_embed(nn, x, &e, ids, n, H);
    } else {
        /* project_in(tok) + pos: the positions are rows of embed_positions looked up as
         * tokens */
        int32_t *pid = (int32_t *)(void *)posid;
        for (int i = 0; i < n; i++) /* after a cached step's past positions */
            pid[i] = mhv_nn_past(nn) + i + c->pos_offset;
        mhv_embed e = {.tok = &m->word_emb, .pad_id = -1};
        mhv_embed pe = {.tok = &m->pos_emb, .pad_id = -1};
        mhv_nn_embed(nn, emb, &e, ids, n, E);
        mhv_nn_embed(nn, pos, &pe, pid, n, H);
        mhv_nn_linear(nn, x, emb, &m->emb_proj, NULL, n, MHV_NN_NO_ACT);
        mhv_nn_add(nn, x, pos, n, H);
    }
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.causal = 1;
        if (c->pre_norm) {
            if (mhv_layer_pre_norm(nn, &dec, c, ly, &attn, l, &p, cap))
                break;
            continue;
        }
        /* do_layer_norm_before false (OPT-350m): BERT's post-norm sublayers */
        mhv_nn_attention(nn, &attn, x, n, l, &p.attn, cap);
        if (mhv_capture_done(cap, l))
            break;
        mhv_layer_post_norm(nn, ly, c, x, p.attn.ctx, p.tmp, p.ffn, n);
    }
    if (logits) {
        int lr = mhv_nn_logit_rows(nn, n); /* the last lr positions */
        float *xl = x + (size_t)(n - lr) * (size_t)H;
        const float *h = xl;
        if (c->final_norm) {
            mhv_norm ln_f = mhv_nn_layernorm(m->norm_g, m->norm_b, c->layer_norm_eps);
            mhv_nn_norm(nn, xl, xl, &ln_f, lr, H);
        }
        if (proj) {
            mhv_nn_linear(nn, emb, xl, &m->out_proj, NULL, lr, MHV_NN_NO_ACT); /* (lr, E) */
            h = emb;
        }
        mhv_nn_linear(nn, logits, h, &m->lm_head, NULL, lr, MHV_NN_NO_ACT); /* (lr, vocab) */
    }
    return MHV_OK;
}

/* The projected embeddings (OPT-350m) number the positions of the whole pass. */
static int opt_packs(const mhv_config *c)
{
    return c->embedding_size == c->hidden_size ? MHV_PACKS_ROWS : MHV_PACKS_NO;
}


const mhv_family mhv_family_opt = {
    .name = "opt",
    .model_types = model_types,
    .config = opt_config,
    .vector_floats = opt_vector_floats,
    .load = opt_load,
    .forward = opt_forward,
    .packs = opt_packs,
    .caches = mhv_family_caches_always, /* its positions count from a cached step's first */
};
