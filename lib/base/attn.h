/* attn.h - the attention probabilities a forward pass captured, and what the writers need to
 * know of the model that made them. Analysis and figures see these types, never the
 * checkpoint loader. */
#ifndef MHV_ATTN_H
#define MHV_ATTN_H

#include "base/heads.h"
#include "base/status.h"

/* Which attention a captured head belongs to. Encoder-only and decoder-only models have
 * one stack, MHV_STACK_SELF; encoder-decoder models three. */
typedef enum {
    MHV_STACK_SELF = 0,
    MHV_STACK_ENCODER,      /* the encoder's self-attention: source x source */
    MHV_STACK_DECODER,      /* the decoder's causal self-attention: target x target */
    MHV_STACK_CROSS         /* the decoder's attention to the encoder: target x source */
} mhv_stack;

typedef struct {
    int layer, head;
    float *w;           /* (n, n): w[i*n + j] = attention of query i to key j; for
                         * encoder-decoder models (rows, cols) */
    /* added for encoder-decoder models; self-only runs have stack MHV_STACK_SELF and
     * rows = cols = n */
    mhv_stack stack;
    int rows, cols;     /* queries, keys: w[i*cols + j] */
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
    float *vnorm;       /* (count, n); encoder-decoder runs: each head's (cols,) in turn
                         * (the keys of its stack: source, target, source) */
    int vnorm_kind;
    int rows;           /* with row_ids: the query rows kept, each w then (rows, n), row r
                         * holding query row_ids[r] */
    int *row_ids;       /* (rows,) ascending query positions, or NULL when every row is kept */
    /* encoder-decoder runs (mhv_attn_alloc_seq2seq): source and target tokens, n ==
     * n_src; both 0 for the other models */
    int n_src, n_tgt;
} mhv_attn;

/* The query rows an encoder-decoder run's maps keep (run --rows): src (n_src,) ascending
 * source positions, the rows of the encoder's maps, or NULL: every source row; tgt
 * (n_tgt,) ascending positions of the decoder's input, the rows of the decoder's and the
 * cross-attention's maps, or NULL: every target row. Borrowed. */
typedef struct {
    const int *src, *tgt;
    int n_src, n_tgt;
} mhv_s2s_rows;

/* Rows per map: n unless a selection kept fewer. */
static inline int mhv_attn_nrows(const mhv_attn *a)
{
    return a->row_ids ? a->rows : a->n;
}

enum { MHV_VNORM_NONE = 0, MHV_VNORM_V, MHV_VNORM_VO };

/* One slot per head of sel, in (layer, head) order, for n tokens (maps not zeroed). */
mhv_status mhv_attn_alloc(mhv_attn *a, const mhv_heads *sel, int n, mhv_error *err);
void mhv_attn_free(mhv_attn *a);
/* mhv_attn_alloc keeping only query rows row_ids(nrows) (ascending, each < n; copied), or
 * every row when row_ids is NULL. With per_layer, slots for the largest layer of sel only
 * (heads[] filled by whoever reuses them layer by layer). */
mhv_status mhv_attn_alloc_rows(mhv_attn *a, const mhv_heads *sel, int n, const int *row_ids,
                               int nrows, int per_layer, mhv_error *err);
/* The map row of query i, or -1 when it was not kept. */
int mhv_attn_row_of(const mhv_attn *a, int i);
/* For an encoder-decoder run: sel as mhv_heads_parse_seq2seq makes it (encoder layers, then
 * decoder layers, then cross-attention layers); the encoder's maps are (ns, ns), the
 * decoder's (nt, nt), the cross-attention's (nt, ns); slots in that order. */
mhv_status mhv_attn_alloc_seq2seq(mhv_attn *a, const mhv_heads *sel, int enc_layers,
                                  int dec_layers, int ns, int nt, mhv_error *err);
/* "self", "encoder", "decoder", "cross" */
const char *mhv_stack_name(mhv_stack s);

/* The model as reports and figure titles describe it. Strings are borrowed. */
typedef struct {
    const char *path;           /* the model directory */
    const char *architecture;   /* "bert", "gpt2", "llama", "mistral", "qwen2" ... */
    int num_layers, num_heads, hidden_size;
    int num_kv_heads;           /* 0 unless the family has key/value heads */
    const char *dtype;          /* of the weight matrices: "F32", "BF16" ... */
    int causal;
    /* encoder-decoder models: num_layers and num_heads are the encoder's; 0 for the others */
    int num_decoder_layers;
} mhv_model_info;

#endif
