/* rope.h - rotary position embeddings in the Hugging Face "rotate half" convention.
 *
 * Dimension j of a head is paired with j + head_dim/2 (llama2.c and Meta's original code pair
 * j with j+1 instead; converted checkpoints permute q/k rows to match this). Frequencies
 * follow config.json: rope_theta and rope_scaling none, linear, llama3 or yarn. */
#ifndef MHV_ROPE_H
#define MHV_ROPE_H

#include <stddef.h>

/* RoPE frequency scaling (config.json rope_scaling / rope_parameters). */
typedef enum { MHV_ROPE_NONE = 0, MHV_ROPE_LINEAR, MHV_ROPE_LLAMA3, MHV_ROPE_YARN } mhv_rope_kind;

typedef struct {
    double theta;              /* rope_theta */
    mhv_rope_kind kind;
    double factor;             /* linear and llama3 */
    double low_freq_factor, high_freq_factor; /* llama3 */
    int original_max_positions;               /* llama3, yarn */
    /* yarn (with factor and original_max_positions): pairs below the correction range keep
     * their frequency, those above are divided by factor, a linear ramp between; cos and sin
     * are multiplied by attention */
    double beta_fast, beta_slow;
    int truncate;             /* the correction range rounded outwards to whole pairs */
    double attention;
} mhv_rope;

/* inv_freq(head_dim/2,) as transformers computes it (fp32, scaled per r->kind). */
void mhv_rope_inv_freq(const mhv_rope *r, int head_dim, float *inv_freq);
/* Multiplies the cos and sin tables (count values each) by the rope's attention factor in
 * fp32, as transformers does (yarn); leaves them unchanged for the other kinds. */
void mhv_rope_table_scale(const mhv_rope *r, size_t count, float *cos_t, float *sin_t);
/* cos, sin (n, half) for positions 0..n-1: angle = fp32(pos * inv_freq[j]), as transformers. */
void mhv_rope_table(const float *inv_freq, int half, int n, float *cos_t, float *sin_t);
/* The same for positions first..first+n-1 (PaliGemma counts its positions from 1). */
void mhv_rope_table_from(const float *inv_freq, int half, int first, int n, float *cos_t,
                         float *sin_t);
/* cos, sin (n, half) where pair j of token i turns by pos[axis[j] * n + i] * inv_freq[j]:
 * positions along several axes (pos (axes, n)), each pair reading one (Qwen2-VL's
 * multimodal rotary: time, height and width sections; its vision tower's 2-D rotary); the
 * angle in fp32 as mhv_rope_table. */
void mhv_rope_table_axes(const float *inv_freq, int half, int n, const int *pos,
                         const unsigned char *axis, float *cos_t, float *sin_t);
/* Rotates x(n, heads, 2*half) in place (row stride ld floats) with the table of n positions:
 * dimension j with j + half. */
void mhv_rope_apply(float *x, int n, int heads, int half, size_t ld, const float *cos_t,
                    const float *sin_t);
/* The same with GPT-J's pairing: dimension 2j with 2j + 1. */
void mhv_rope_apply_pairs(float *x, int n, int heads, int half, size_t ld, const float *cos_t,
                          const float *sin_t);

#endif
