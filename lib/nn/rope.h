/* rope.h - rotary position embeddings in the Hugging Face "rotate half" convention.
 *
 * Dimension j of a head is paired with j + head_dim/2 (llama2.c and Meta's original code pair
 * j with j+1 instead; converted checkpoints permute q/k rows to match this). Frequencies
 * follow config.json: rope_theta and rope_scaling none, linear or llama3. */
#ifndef MHV_ROPE_H
#define MHV_ROPE_H

#include "ckpt/config.h"

/* inv_freq(head_dim/2,) as transformers computes it (fp32, scaled per c->rope_kind). */
void mhv_rope_inv_freq(const mhv_config *c, float *inv_freq);
/* cos, sin (n, half) for positions 0..n-1: angle = fp32(pos * inv_freq[j]), as transformers. */
void mhv_rope_table(const float *inv_freq, int half, int n, float *cos_t, float *sin_t);
/* Rotates x(n, heads, 2*half) in place (row stride ld floats) with the table of n positions. */
void mhv_rope_apply(float *x, int n, int heads, int half, size_t ld, const float *cos_t,
                    const float *sin_t);

#endif
