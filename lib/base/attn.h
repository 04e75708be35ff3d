/* attn.h - the attention probabilities a forward pass captured, and what the writers need to
 * know of the model that made them. Analysis and figures see these types, never the
 * checkpoint loader. */
#ifndef MHV_ATTN_H
#define MHV_ATTN_H

#include "base/heads.h"
#include "base/status.h"

typedef struct {
    int layer, head;
    float *w;           /* (n, n): w[i*n + j] = attention of query i to key j */
} mhv_head_attn;

typedef struct {
    int n;              /* tokens */
    int count;          /* captured heads, in (layer, head) order */
    mhv_head_attn *heads;
    float *buf;         /* (count, n, n) storage behind heads[].w */
    int kv_group;       /* models with key/value heads (llama family): query heads per kv
                         * head, so head h reads kv head h / kv_group; 0 for the others */
    /* Value norms (Kobayashi et al. 2020), when the run asked for them: vnorm[k*n + j] is
     * ||v_j|| of captured head k's value vector for key j (MHV_VNORM_V), or ||v_j W_O^h||
     * through the head's slice of the output projection (MHV_VNORM_VO); NULL otherwise. */
    float *vnorm;       /* (count, n) */
    int vnorm_kind;
} mhv_attn;

enum { MHV_VNORM_NONE = 0, MHV_VNORM_V, MHV_VNORM_VO };

/* One slot per head of sel, in (layer, head) order, for n tokens (maps not zeroed). */
mhv_status mhv_attn_alloc(mhv_attn *a, const mhv_heads *sel, int n, mhv_error *err);
void mhv_attn_free(mhv_attn *a);

/* The model as reports and figure titles describe it. Strings are borrowed. */
typedef struct {
    const char *path;           /* the model directory */
    const char *architecture;   /* "bert", "gpt2", "llama", "mistral", "qwen2" ... */
    int num_layers, num_heads, hidden_size;
    int num_kv_heads;           /* 0 unless the family has key/value heads */
    const char *dtype;          /* of the weight matrices: "F32", "BF16" ... */
    int causal;
} mhv_model_info;

#endif
