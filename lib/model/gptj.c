/* gptj.c - GPT-J (GPTJModel, GPTJForCausalLM) and CodeGen (CodeGenModel,
 * CodeGenForCausalLM): one LayerNorm ln_1 read by both the attention and the MLP (parallel),
 * rotary positions on the first rotary_dim dimensions of each head with GPT-J's interleaved
 * pairs (2i, 2i+1) and base 10000, no q/k/v/out biases, an LM head with a bias. CodeGen
 * stores q, k and v as one qkv_proj in four blocks of [q, v, k] rows (its mp_num, 4;
 * blocks.h mhv_attn_layer.fused_mp_blocks).
 *
 *   x = wte[id]
 *   per layer: h = ln_1(x);  x = (attn(h) + mlp(h)) + x
 *   attn: out_proj(softmax(rope(q) rope(k)^T / sqrt(d)) v),  mlp: fc_out(act(fc_in(h)))
 *   logits = ln_f(x) · lm_head^T + lm_head.bias */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"gptj", "codegen", NULL};

#define CODEGEN_MP 4 /* CodeGenAttention.mp_num: the blocks of qkv_proj */

static int is_codegen(const mhv_config *c)
{
    return strcmp(c->arch, "codegen") == 0;
}

static mhv_status gptj_config(const cJSON *root, mhv_config *c, const char *name,
                              mhv_error *err)
{
    mhv_status st;
    if ((st = mhv_json_int(root, "n_embd", 4096, 1, MHV_MAX_HIDDEN, &c->hidden_size, name,
                           err)) ||
        (st = mhv_json_int(root, "n_layer", 28, 1, MHV_MAX_LAYERS, &c->num_layers, name, err)) ||
        (st = mhv_json_int(root, "n_head", 16, 1, MHV_MAX_HEADS, &c->num_heads, name, err)) ||
        (st = mhv_json_int(root, "vocab_size", 50400, 1, MHV_MAX_VOCAB, &c->vocab_size, name,
                           err)) ||
        (st = mhv_json_int(root, "n_positions", 2048, 1, MHV_MAX_POSITIONS, &c->max_positions,
                           name, err)))
        return st;
    /* n_inner null means 4 * n_embd */
    if ((st = mhv_json_int(root, "n_inner", 4 * c->hidden_size, 1, 4 * MHV_MAX_HIDDEN,
                           &c->intermediate_size, name, err)))
        return st;
    if (c->hidden_size % c->num_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name, "n_head %d does not divide n_embd %d",
                        c->num_heads, c->hidden_size);
    if (is_codegen(c) && c->hidden_size % CODEGEN_MP != 0) /* transformers' view fails */
        return mhv_fail(err, MHV_EFORMAT, name, "n_embd %d is not a multiple of 4 (codegen)",
                        c->hidden_size);
    c->head_dim = c->hidden_size / c->num_heads;
    c->num_kv_heads = c->num_heads;
    /* GPTJConfig's default is 64; an explicit null rotates hidden_size dimensions (a whole
     * head only with one head) */
    const cJSON *rd = cJSON_GetObjectItemCaseSensitive(root, "rotary_dim");
    int rd_default = rd && cJSON_IsNull(rd) ? c->hidden_size : 64;
    if ((st = mhv_json_int(root, "rotary_dim", rd_default, 2, MHV_MAX_HIDDEN, &c->rotary_dims,
                           name, err)))
        return st;
    if (c->rotary_dims > c->head_dim || c->rotary_dims % 2 != 0)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "rotary_dim %d is odd or exceeds the head size %d", c->rotary_dims,
                        c->head_dim);
    double eps;
    if ((st = mhv_json_num(root, "layer_norm_epsilon", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "activation_function", MHV_ACT_GELU_NEW, &c->act, name,
                             err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 0, &c->tie_word_embeddings, name,
                            err)))
        return st;
    c->layer_norm_eps = (float)eps;
    c->rope.theta = 10000.0; /* fixed in GPT-J's sinusoidal table */
    c->parallel_residual = 1;
    c->mlp_bias = 1;
    c->causal = 1;
    return MHV_OK;
}

static size_t gptj_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    return 2 * H + (size_t)c->vocab_size +
           (size_t)c->num_layers * (3 * H + (size_t)c->intermediate_size);
}

static mhv_status gptj_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"transformer.", NULL}; /* GPTJForCausalLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size;
    mhv_wload_prefix(ld, prefixes, "wte.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "wte.weight", V, H, 0, &m->word_emb, err)) ||
        (st = mhv_wload_vec(ld, "ln_f.weight", H, 0, &m->norm_g, err)) ||
        (st = mhv_wload_vec(ld, "ln_f.bias", H, 0, &m->norm_b, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "h.%d.%s", l, suffix), n)
        if ((st = mhv_wload_vec(ld, N("ln_1.weight"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_wload_vec(ld, N("ln_1.bias"), H, 0, &ly->ln_attn_b, err)) ||
            (st = mhv_wload_mat(ld, N("attn.out_proj.weight"), H, H, 0, &ly->o, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.fc_in.weight"), I, H, 0, &ly->ffn_up, err)) ||
            (st = mhv_wload_vec(ld, N("mlp.fc_in.bias"), I, 0, &ly->ffn_up_b, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.fc_out.weight"), H, I, 0, &ly->ffn_down, err)) ||
            (st = mhv_wload_vec(ld, N("mlp.fc_out.bias"), H, 0, &ly->ffn_down_b, err)))
            return st;
        if (is_codegen(c) ? (st = mhv_wload_mat(ld, N("attn.qkv_proj.weight"), 3 * H, H, 0,
                                                &ly->qkv, err))
                          : ((st = mhv_wload_mat(ld, N("attn.q_proj.weight"), H, H, 0, &ly->q,
                                                 err)) ||
                             (st = mhv_wload_mat(ld, N("attn.k_proj.weight"), H, H, 0, &ly->k,
                                                 err)) ||
                             (st = mhv_wload_mat(ld, N("attn.v_proj.weight"), H, H, 0, &ly->v,
                                                 err))))
            return st;
#undef N
    }
    /* a GPTJModel saved alone has no head; the bias is the head's own even when the weight is
     * tied to wte */
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", "lm_head.bias", err);
}

static mhv_status gptj_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                               mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int half = c->rotary_dims / 2;
    /* attention and MLP both read ln_1(x) */
    const mhv_decoder dec = {MHV_NORM_LAYER, MHV_RESIDUAL_PARALLEL_ONE_NORM, MHV_MLP_PLAIN, NULL};
    mhv_decoder_pass p;
    int fused = is_codegen(c);
    mhv_decoder_scratch s = {.rope_half = half, .qkv_rows = fused ? 3 * c->hidden_size : 0};
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &s, &p, err);
    if (st)
        return st;
    mhv_rotary rot = mhv_decoder_rope(&p, &c->rope, 2 * half, 1);

    mhv_embed emb = {.tok = &m->word_emb, .pad_id = -1};
    mhv_nn_embed(nn, p.x, &emb, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        mhv_attn_layer attn = mhv_layer_attention(&m->layers[l], c);
        mhv_qkv_grouped qkv = {&m->layers[l].qkv, NULL};
        attn.causal = 1, attn.rope = half ? &rot : NULL;
        if (fused)
            attn.fused = &qkv, attn.fused_mp_blocks = CODEGEN_MP;
        if (mhv_layer_pre_norm(nn, &dec, c, &m->layers[l], &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab), lm_head's bias */
    return MHV_OK;
}

const mhv_family mhv_family_gptj = {
    .name = "gptj",
    .model_types = model_types,
    .config = gptj_config,
    .vector_floats = gptj_vector_floats,
    .load = gptj_load,
    .forward = gptj_forward,
    .packs = mhv_family_packs_always,
};
