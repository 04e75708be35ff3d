/* forward.h - the forward pass, capturing the attention probabilities of selected heads. */
#ifndef MHV_FORWARD_H
#define MHV_FORWARD_H

#include <stdint.h>

#include "heads.h"
#include "model.h"
#include "status.h"

typedef struct {
    int layer, head;
    float *w;           /* (n, n): w[i*n + j] = attention of query i to key j */
} mhv_head_attn;

typedef struct {
    int n;              /* tokens */
    int count;          /* captured heads, in (layer, head) order */
    mhv_head_attn *heads;
    float *buf;         /* (count, n, n) storage behind heads[].w */
} mhv_attn;

/* Runs the model on ids(n) and fills out (caller frees with mhv_attn_free). Layers above the
 * last selected one are not computed. Ids must be < vocab size and n <= max positions
 * (MHV_EUSAGE otherwise, naming the limit). */
mhv_status mhv_forward(const mhv_model *m, const int32_t *ids, int n, const mhv_heads *sel,
                       mhv_attn *out, mhv_error *err);
void mhv_attn_free(mhv_attn *a);

#endif
