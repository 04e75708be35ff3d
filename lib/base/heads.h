/* heads.h - which (layer, head) pairs a run captures: "all" or "3:7,5:*,*:0" (0-based). */
#ifndef MHV_HEADS_H
#define MHV_HEADS_H

#include "base/status.h"

typedef struct {
    int num_layers, num_heads;
    unsigned char *sel; /* (num_layers, num_heads): 1 when captured */
} mhv_heads;

/* Parses a head spec for a model of L layers and H heads. An out-of-range or malformed
 * spec is MHV_EUSAGE with a message naming the valid range. */
mhv_status mhv_heads_parse(const char *spec, int L, int H, mhv_heads *out, mhv_error *err);
void mhv_heads_free(mhv_heads *h);
int mhv_heads_count(const mhv_heads *h);
/* Highest layer with a selected head, -1 when none. */
int mhv_heads_last_layer(const mhv_heads *h);
static inline int mhv_heads_has(const mhv_heads *h, int l, int k)
{
    return h->sel[l * h->num_heads + k];
}

#endif
