/* olmoe.c - OLMoE (OlmoeModel, OlmoeForCausalLM): Llama's attention with an RMSNorm over the
 * whole query and key projections (before the rotation; clip_qkv clamps q, k and v after
 * them), and a mixture of SwiGLU experts in every layer: the router's softmax in fp32, the
 * top num_experts_per_tok experts (renormalised with norm_topk_prob), added in expert order.
 *
 *   x = embed_tokens[id]
 *   per layer: x += o(attn(rope(clip(qn(q))), rope(clip(kn(k))), clip(v))(rms_1(x)));
 *              x += moe(rms_2(x))
 *   logits = norm(x) · lm_head^T
 * save_pretrained writes the experts one by one (mlp.experts.E.gate_proj/up_proj/down_proj,
 * the router mlp.gate), as Qwen2-MoE's. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"olmoe", NULL};

static mhv_status olmoe_config(const cJSON *root, mhv_config *c, const char *name,
                               mhv_error *err)
{
    static const mhv_size_keys sizes = {MHV_DECODER_SIZE_KEYS, 2048, 16, 16, 2048, 50304, 4096};
    mhv_status st;
    if ((st = mhv_config_sizes(root, &sizes, 0, c, name, err)) ||
        (st = mhv_config_gqa(root, 0, 0, c, name, err)))
        return st;
    /* q_norm is of hidden_size: transformers fails on heads of another width */
    if (c->head_dim * c->num_heads != c->hidden_size)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "head_dim %d x %d heads other than hidden_size %d is not supported for "
                        "olmoe", c->head_dim, c->num_heads, c->hidden_size);
    /* num_local_experts is the attribute_map's other name of num_experts */
    const char *experts = mhv_json_get(root, "num_experts") ? "num_experts" : "num_local_experts";
    double eps;
    if ((st = mhv_json_num(root, "rms_norm_eps", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_SILU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 0, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "attention_bias", 0, &c->attn_bias, name, err)) ||
        (st = mhv_config_rope(root, &c->rope, name, err)) ||
        (st = mhv_json_int(root, experts, 64, 1, MHV_MAX_EXPERTS, &c->num_experts, name, err)) ||
        (st = mhv_json_int(root, "num_experts_per_tok", 8, 1, MHV_MAX_EXPERTS,
                           &c->experts_per_tok, name, err)) ||
        (st = mhv_json_bool(root, "norm_topk_prob", 0, &c->norm_topk_prob, name, err)))
        return st;
    if (c->experts_per_tok > c->num_experts)
        return mhv_fail(err, MHV_EFORMAT, name, "num_experts_per_tok %d exceeds the %d experts",
                        c->experts_per_tok, c->num_experts);
    /* null: OlmoeConfig's None, no clamp */
    if (mhv_json_get(root, "clip_qkv") &&
        (st = mhv_json_num(root, "clip_qkv", 0, 0, 1e30, &c->clip_qkv, name, err)))
        return st;
    c->moe_intermediate_size = c->intermediate_size;
    c->qk_norm = MHV_QK_NORM_FULL;
    c->layer_norm_eps = (float)eps;
    c->attn_out_bias = c->attn_bias;
    c->causal = 1;
    return MHV_OK;
}

static size_t olmoe_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, QD = (size_t)c->num_heads * (size_t)c->head_dim;
    size_t KVD = (size_t)c->num_kv_heads * (size_t)c->head_dim;
    /* the final norm; per layer two norms, the q/k norms and the attention biases */
    return H + (size_t)c->num_layers * (3 * H + 2 * QD + 3 * KVD);
}

/* Layer l's router and experts (mhv_decoder_load_experts): an MoE block in every layer. */
static mhv_status load_experts(mhv_model *m, mhv_wload *ld, int l, mhv_error *err)
{
    static const char *const names[3] = {"gate_proj", "up_proj", "down_proj"};
    return mhv_decoder_load_experts(m, ld, l, "mlp", names, m->cfg.intermediate_size,
                                    m->cfg.num_layers, err);
}

static mhv_status olmoe_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"model.", NULL}; /* OlmoeForCausalLM */
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
            (st = mhv_wload_vec(ld, N("self_attn.q_norm.weight"), QD, 0, &ly->q_norm_g, err)) ||
            (st = mhv_wload_vec(ld, N("self_attn.k_norm.weight"), KVD, 0, &ly->k_norm_g, err)) ||
            (st = mhv_wload_vec(ld, N("post_attention_layernorm.weight"), H, 0, &ly->ln_ffn_g,
                                err)) ||
            (st = load_experts(m, ld, l, err)))
            return st;
#undef N
    }
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

static mhv_status olmoe_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int d = c->head_dim;
    const mhv_moe moe = {
        .experts = c->num_experts, .top_k = c->experts_per_tok,
        .inter = c->moe_intermediate_size, .norm_topk = c->norm_topk_prob, .act = (int)c->act,
    };
    const mhv_decoder dec = {MHV_NORM_RMS, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_GATED, &moe};
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n,
                                      &(mhv_decoder_scratch){.rope_half = d / 2}, &p, err);
    if (st)
        return st;
    mhv_rotary rot = mhv_decoder_rope(&p, &c->rope, d, 0);

    mhv_embed emb = {.tok = &m->word_emb, .pad_id = -1};
    mhv_nn_embed(nn, p.x, &emb, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_norm qn = {MHV_NORM_RMS, ly->q_norm_g, NULL, c->layer_norm_eps};
        mhv_norm kn = {MHV_NORM_RMS, ly->k_norm_g, NULL, c->layer_norm_eps};
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.causal = 1, attn.rope = &rot, attn.clip = (float)c->clip_qkv;
        attn.q_norm = &qn, attn.k_norm = &kn, attn.qk_norm_full = 1;
        if (mhv_layer_pre_norm(nn, &dec, c, ly, &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

const mhv_family mhv_family_olmoe = {
    .name = "olmoe",
    .model_types = model_types,
    .config = olmoe_config,
    .vector_floats = olmoe_vector_floats,
    .load = olmoe_load,
    .forward = olmoe_forward,
    .packs = mhv_family_packs_any_rows,
};
