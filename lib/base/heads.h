/* heads.h - which (layer, head) pairs a run captures: "all" or "3:7,5:*,*:0" (0-based). */
#ifndef MHV_HEADS_H
#define MHV_HEADS_H

#include <stddef.h>

#include "base/status.h"

typedef struct {
    int num_layers, num_heads;
    unsigned char *sel; /* (num_layers, num_heads): 1 when captured */
} mhv_heads;

/* Parses a head spec for a model of L layers and H heads. An out-of-range or malformed
 * spec is MHV_EUSAGE with a message naming the valid range. */
mhv_status mhv_heads_parse(const char *spec, int L, int H, mhv_heads *out, mhv_error *err);
/* The heads of an encoder-decoder model: "all", or items "enc:L:H", "dec:L:H", "cross:L:H"
 * (L and H numbers or "*"; "*:L:H" names every stack). The result has Le + 2*Ld layers of H
 * heads: the encoder's, then the decoder's self-attention, then its cross-attention
 * (mhv_heads_stack gives each as a view). */
mhv_status mhv_heads_parse_seq2seq(const char *spec, int Le, int Ld, int H, mhv_heads *out,
                                   mhv_error *err);
void mhv_heads_free(mhv_heads *h);
/* A view (not to be freed) of layers first..first+count-1 of h. */
static inline mhv_heads mhv_heads_stack(const mhv_heads *h, int first, int count)
{
    mhv_heads v = {count, h->num_heads, h->sel + (size_t)first * (size_t)h->num_heads};
    return v;
}
int mhv_heads_count(const mhv_heads *h);
/* Highest layer with a selected head, -1 when none. */
int mhv_heads_last_layer(const mhv_heads *h);
static inline int mhv_heads_has(const mhv_heads *h, int l, int k)
{
    return h->sel[l * h->num_heads + k];
}

#endif
