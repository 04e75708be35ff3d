/* granitemoe.c - Granite MoE (GraniteMoeModel, GraniteMoeForCausalLM) and Granite MoE with a
 * shared expert (GraniteMoeShared*): Granite's attention and multipliers (the embeddings times
 * embedding_multiplier, the scores times attention_multiplier, each sublayer's output times
 * residual_multiplier, the logits divided by logits_scaling) with a mixture of SwiGLU experts
 * in every layer: the router's top num_experts_per_tok logits softmaxed among themselves, the
 * experts added in index order; GraniteMoeShared adds its shared_mlp to the mixture, ungated.
 *
 *   x = embed_tokens[id] * em
 *   per layer: x += rm * o(attn(rope(q), rope(k), v)(rms_1(x)));  x += rm * (moe(h) + shared(h)),
 *              h = rms_2(x)
 *   logits = norm(x) · lm_head^T / logits_scaling
 * The checkpoint keeps each layer's experts fused: block_sparse_moe.input_linear (experts,
 * 2 inter, hidden), each expert's gate rows then its up rows, output_linear (experts, hidden,
 * inter), the router block_sparse_moe.router.layer; shared_mlp.input_linear (2 shared, hidden)
 * likewise gate then up, and shared_mlp.output_linear. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"granitemoe", "granitemoeshared", NULL};

static mhv_status granitemoe_config(const cJSON *root, mhv_config *c, const char *name,
                                    mhv_error *err)
{
    static const mhv_size_keys sizes = {MHV_DECODER_SIZE_KEYS, 4096, 32, 32, 11008, 32000, 2048};
    mhv_status st;
    if ((st = mhv_config_sizes(root, &sizes, 0, c, name, err)) ||
        (st = mhv_config_gqa(root, 0, 0, c, name, err)))
        return st;
    double eps;
    if ((st = mhv_json_num(root, "rms_norm_eps", 1e-6, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_SILU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 0, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "attention_bias", 0, &c->attn_bias, name, err)) ||
        (st = mhv_config_rope(root, &c->rope, name, err)) ||
        (st = mhv_json_num(root, "embedding_multiplier", 1.0, 0, 1e6, &c->embed_scale, name,
                           err)) ||
        (st = mhv_json_num(root, "attention_multiplier", 1.0, 0, 1e6, &c->attn_scale, name,
                           err)) ||
        (st = mhv_json_num(root, "residual_multiplier", 1.0, 0, 1e6, &c->residual_scale, name,
                           err)) ||
        (st = mhv_json_num(root, "logits_scaling", 1.0, 0, 1e6, &c->logits_div, name, err)) ||
        (st = mhv_json_int(root, "num_local_experts", 8, 1, MHV_MAX_EXPERTS, &c->num_experts,
                           name, err)) ||
        (st = mhv_json_int(root, "num_experts_per_tok", 2, 1, MHV_MAX_EXPERTS,
                           &c->experts_per_tok, name, err)))
        return st;
    if (c->experts_per_tok > c->num_experts)
        return mhv_fail(err, MHV_EFORMAT, name, "num_experts_per_tok %d exceeds the %d experts",
                        c->experts_per_tok, c->num_experts);
    if (c->experts_per_tok > MHV_MOE_MAX_TOPK)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "num_experts_per_tok %d exceeds %d",
                        c->experts_per_tok, MHV_MOE_MAX_TOPK);
    /* GraniteMoeSharedConfig: shared_intermediate_size, 0 (the default): no shared expert */
    if (strcmp(c->arch, "granitemoeshared") == 0 &&
        (st = mhv_json_int(root, "shared_intermediate_size", 0, 0, 4 * MHV_MAX_HIDDEN,
                           &c->shared_expert_size, name, err)))
        return st;
    c->moe_intermediate_size = c->intermediate_size;
    c->layer_norm_eps = (float)eps;
    c->attn_out_bias = c->attn_bias;
    c->causal = 1;
    return MHV_OK;
}

static size_t granitemoe_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, QD = (size_t)c->num_heads * (size_t)c->head_dim;
    size_t KVD = (size_t)c->num_kv_heads * (size_t)c->head_dim;
    /* the final norm; per layer two norms and the attention biases */
    return H + (size_t)c->num_layers * (3 * H + QD + 2 * KVD);
}

/* Layer l's router and fused experts, viewed expert by expert in m->experts, and its shared
 * expert when the config has one. */
static mhv_status load_moe(mhv_model *m, mhv_wload *ld, int l, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    mhv_layer *ly = &m->layers[l];
    int H = c->hidden_size, I = c->moe_intermediate_size, E = c->num_experts;
    mhv_status st;
    if (!m->experts) {
        /* no more views than the files hold experts: a config's num_local_experts alone
         * would otherwise size this */
        if ((st = mhv_decoder_experts_fit(m, ld, c->num_layers, 3 * (uint64_t)H * (uint64_t)I,
                                          err)))
            return st;
        if (!(m->experts = calloc((size_t)c->num_layers * (size_t)E * 3, sizeof *m->experts)))
            return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory");
    }
    mhv_mat *g = m->experts + (size_t)l * (size_t)E * 3, *u = g + E, *d = u + E;
    ly->exp_gate = g, ly->exp_up = u, ly->exp_down = d;
    char n[160];
    mhv_mat gu, down;
    const int64_t gu_dims[3] = {E, 2 * (int64_t)I, H}, down_dims[3] = {E, H, I};
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.%s", l, suffix), n)
    if ((st = mhv_wload_mat(ld, N("block_sparse_moe.router.layer.weight"), E, H, 0, &ly->router,
                            err)) ||
        (st = mhv_wload_tensor(ld, N("block_sparse_moe.input_linear.weight"), gu_dims, 3, 0, &gu,
                               err)) ||
        (st = mhv_wload_tensor(ld, N("block_sparse_moe.output_linear.weight"), down_dims, 3, 0,
                               &down, err)))
        return st;
    /* (E, 2I * H) and (E, H * I) as (E * 2I, H) and (E * H, I): each expert a block of rows */
    if ((int64_t)E * 2 * I > INT_MAX || (int64_t)E * H > INT_MAX)
        return mhv_fail(err, MHV_EFORMAT, ld->ckpt_name,
                        "layer %d's experts have more than %d rows", l, INT_MAX);
    gu.rows = E * 2 * I, gu.cols = H;
    down.rows = E * H, down.cols = I;
    for (int e = 0; e < E; e++) {
        g[e] = mhv_mat_rows(&gu, e * 2 * I, I);
        u[e] = mhv_mat_rows(&gu, e * 2 * I + I, I);
        d[e] = mhv_mat_rows(&down, e * H, H);
    }
    int S = c->shared_expert_size;
    if (!S)
        return MHV_OK;
    mhv_mat sgu;
    if ((st = mhv_wload_mat(ld, N("shared_mlp.input_linear.weight"), 2 * S, H, 0, &sgu, err)) ||
        (st = mhv_wload_mat(ld, N("shared_mlp.output_linear.weight"), H, S, 0, &ly->ffn_down,
                            err)))
        return st;
#undef N
    ly->ffn_gate = mhv_mat_rows(&sgu, 0, S);
    ly->ffn_up = mhv_mat_rows(&sgu, S, S);
    return MHV_OK;
}

static mhv_status granitemoe_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"model.", NULL}; /* *ForCausalLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, V = c->vocab_size;
    int QD = c->num_heads * c->head_dim, KVD = c->num_kv_heads * c->head_dim;
    mhv_wload_prefix(ld, prefixes, "embed_tokens.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embed_tokens.weight", V, H, 0, &m->word_emb, err)) ||
        (st = mhv_wload_vec(ld, "norm.weight", H, 0, &m->norm_g, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.%s", l, suffix), n)
        if ((st = mhv_wload_vec(ld, N("input_layernorm.weight"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_decoder_load_attn_proj(ld, l, H, QD, KVD, c->attn_bias, ly, err)) ||
            (st = mhv_wload_vec(ld, N("post_attention_layernorm.weight"), H, 0, &ly->ln_ffn_g,
                                err)) ||
            (st = load_moe(m, ld, l, err)))
            return st;
#undef N
    }
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

static mhv_status granitemoe_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                     mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int d = c->head_dim;
    const mhv_moe moe = {
        .experts = c->num_experts, .top_k = c->experts_per_tok,
        .inter = c->moe_intermediate_size, .act = (int)c->act, .softmax_topk = 1,
        .s_inter = c->shared_expert_size, .s_ungated = 1,
    };
    const mhv_decoder dec = {MHV_NORM_RMS, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_GATED, &moe};
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n,
                                      &(mhv_decoder_scratch){.rope_half = d / 2}, &p, err);
    if (st)
        return st;
    mhv_rotary rot = mhv_decoder_rope(&p, &c->rope, d, 0);

    mhv_embed emb = {.tok = &m->word_emb, .pad_id = -1, .scale = (float)c->embed_scale};
    mhv_nn_embed(nn, p.x, &emb, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.causal = 1, attn.rope = &rot, attn.scale = (float)c->attn_scale;
        if (mhv_layer_pre_norm(nn, &dec, c, ly, &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

const mhv_family mhv_family_granitemoe = {
    .name = "granitemoe",
    .model_types = model_types,
    .config = granitemoe_config,
    .vector_floats = granitemoe_vector_floats,
    .load = granitemoe_load,
    .forward = granitemoe_forward,
    .packs = mhv_family_packs_any_rows,
};
