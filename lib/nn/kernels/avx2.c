/* avx2.c - the kernel table for x86-64 with AVX2 + FMA (+ F16C for F16 weights).
 *
 * Compiled alone with -mavx2 -mfma -mf16c and only reached through mhv_kernels_avx2() after
 * dispatch.c has checked the CPU, so nothing here runs on a CPU without those extensions.
 *
 * The matrix multiply follows the BLIS layout: the reduction is cut in KC blocks, rows of A in
 * MC blocks packed into MR-row panels, columns of B packed into NR-column panels (converting
 * F16/BF16 weights to fp32 one panel at a time, so no fp32 copy of a weight matrix exists),
 * and a 6x16 register tile (12 ymm accumulators) does the FMAs. Every element of C is one FMA
 * chain over k in increasing order, the same whichever tile or thread computes it, so results
 * do not depend on how callers split the columns. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#define MR 6
#define NR 16
/* Measured on Zen 3 (32 KiB L1d, 512 KiB L2), BERT-base shapes at 128 and 512 rows: a KC of
 * 384 (a 24 KiB B panel in L1) and NC 512 beat 256/256 by 3-6%; see BENCHMARKS.md. */
#ifndef KC
#define KC 384
#endif
#ifndef MC
#define MC 132 /* multiple of MR; rows of A per block on the stack, (MC, KC) is 198 KiB */
#endif
#ifndef NC
#define NC 512 /* multiple of NR; columns of C per block */
#endif
#define QB 48  /* query rows per attention block; multiple of MR */

/* ---- element loads in the stored dtype ---- */

static inline float load1(const void *base, mhv_dtype dt, size_t i)
{
    switch (dt) {
    case MHV_DT_F16: return _cvtsh_ss(((const uint16_t *)base)[i]);
    case MHV_DT_BF16: {
        uint32_t u = (uint32_t)((const uint16_t *)base)[i] << 16;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    default: return ((const float *)base)[i];
    }
}

static inline __m256 load8(const void *base, mhv_dtype dt, size_t i)
{
    switch (dt) {
    case MHV_DT_F16:
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)base + i)));
    case MHV_DT_BF16: {
        __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)base + i));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    default: return _mm256_loadu_ps((const float *)base + i);
    }
}

static inline float hmax8(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* r[i] holds row i of an 8x8 block; afterwards r[i] holds column i. */
static inline void transpose8(__m256 r[8])
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* ---- packing ---- */

/* How B is given to gemm. */
typedef enum {
    B_NT,     /* B(k, j) = src[j*ld + k]: weight rows (out, in), or K rows (keys, d) */
    B_NN,     /* B(k, j) = src[k*ld + j]: V rows (keys, d), or weights stored (in, out) */
    B_PACKED, /* already packed panels: panel p at src + p*ld*NR, element (k, j) at [k*NR + j] */
} b_mode;

typedef struct {
    const void *src;
    mhv_dtype dt;
    b_mode mode;
    size_t ld; /* row stride in elements; for B_PACKED the full reduction length */
} b_src;

/* dst(kc, NR) = B(k0.., j0..j0+nj) zero-padded to NR columns. */
static void pack_b(float *restrict dst, const b_src *b, int k0, int kc, int j0, int nj)
{
    if (b->mode == B_NN) {
        size_t at = (size_t)k0 * b->ld + (size_t)j0; /* element (k0, j0) */
        for (int k = 0; k < kc; k++, at += b->ld, dst += NR) {
            if (nj == NR) {
                _mm256_storeu_ps(dst, load8(b->src, b->dt, at));
                _mm256_storeu_ps(dst + 8, load8(b->src, b->dt, at + 8));
            } else {
                for (int j = 0; j < NR; j++)
                    dst[j] = j < nj ? load1(b->src, b->dt, at + (size_t)j) : 0.0f;
            }
        }
        return;
    }
    /* B_NT: columns of B are rows of src; an 8x8 transpose turns 8 rows x 8 k into 8 k-rows */
    for (int half = 0; half < 2; half++) {
        int jb = half * 8, nv = nj - jb; /* valid columns in this half */
        int k = 0;
        if (nv >= 8) {
            for (; k + 8 <= kc; k += 8) {
                __m256 r[8];
                for (int t = 0; t < 8; t++)
                    r[t] = load8(b->src, b->dt, (size_t)(j0 + jb + t) * b->ld + (size_t)(k0 + k));
                transpose8(r);
                for (int t = 0; t < 8; t++)
                    _mm256_storeu_ps(dst + (size_t)(k + t) * NR + jb, r[t]);
            }
        }
        for (; k < kc; k++)
            for (int t = 0; t < 8; t++)
                dst[(size_t)k * NR + (size_t)(jb + t)] =
                    t < nv ? load1(b->src, b->dt, (size_t)(j0 + jb + t) * b->ld + (size_t)(k0 + k))
                           : 0.0f;
    }
}

/* dst = A(i0..i0+mc, k0..k0+kc) as MR-row panels, each (kc, MR), rows past mc zeroed.
 * Full panels go 8 k at a time through an 8x8 transpose (rows 6 and 7 zero) whose 8-float
 * stores overlap by 2: each is overwritten by the next, and the last one's 2 extra floats
 * land in the next panel (written after) or in the 8 floats of slack dst must have. */
static void pack_a(float *restrict dst, const float *a, size_t lda, int mc, int kc)
{
    for (int i = 0; i < mc; i += MR, dst += (size_t)MR * (size_t)kc) {
        int mi = mc - i < MR ? mc - i : MR;
        const float *rows[MR];
        for (int r = 0; r < MR; r++)
            rows[r] = a + (size_t)(i + (r < mi ? r : 0)) * lda;
        int k = 0;
        if (mi == MR) {
            for (; k + 8 <= kc; k += 8) {
                __m256 t[8];
                for (int r = 0; r < MR; r++)
                    t[r] = _mm256_loadu_ps(rows[r] + k);
                t[6] = t[7] = _mm256_setzero_ps();
                transpose8(t);
                for (int c = 0; c < 8; c++)
                    _mm256_storeu_ps(dst + (size_t)(k + c) * MR, t[c]);
            }
        }
        for (; k < kc; k++)
            for (int r = 0; r < MR; r++)
                dst[(size_t)k * MR + (size_t)r] = r < mi ? rows[r][k] : 0.0f;
    }
}

/* ---- the register tile ---- */

/* c(MR, NR) = (first ? bias-or-0 : c) + a(kc, MR)^T-panel · b(kc, NR)-panel. */
static void tile_6x16(int kc, const float *restrict a, const float *restrict b, float *c,
                      size_t ldc, const float *bias, int first)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int k = 0; k < kc; k++, a += MR, b += NR) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), x;
        x = _mm256_broadcast_ss(a + 0);
        c00 = _mm256_fmadd_ps(x, b0, c00), c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a + 1);
        c10 = _mm256_fmadd_ps(x, b0, c10), c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a + 2);
        c20 = _mm256_fmadd_ps(x, b0, c20), c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a + 3);
        c30 = _mm256_fmadd_ps(x, b0, c30), c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a + 4);
        c40 = _mm256_fmadd_ps(x, b0, c40), c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a + 5);
        c50 = _mm256_fmadd_ps(x, b0, c50), c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    __m256 i0, i1;
    if (first) {
        i0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
        i1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
    }
#define STORE_ROW(r, lo, hi)                                                                  \
    do {                                                                                      \
        float *cr = c + (size_t)(r) * ldc;                                                    \
        __m256 l0 = first ? i0 : _mm256_loadu_ps(cr), l1 = first ? i1 : _mm256_loadu_ps(cr + 8); \
        _mm256_storeu_ps(cr, _mm256_add_ps(l0, lo));                                          \
        _mm256_storeu_ps(cr + 8, _mm256_add_ps(l1, hi));                                      \
    } while (0)
    STORE_ROW(0, c00, c01);
    STORE_ROW(1, c10, c11);
    STORE_ROW(2, c20, c21);
    STORE_ROW(3, c30, c31);
    STORE_ROW(4, c40, c41);
    STORE_ROW(5, c50, c51);
#undef STORE_ROW
}

/* c(mi, NR) for mi < MR full-width rows (the last row panel): each element the same FMA
 * chain and the same final add as in tile_6x16, without the work of the absent rows. */
static inline __attribute__((always_inline)) void
tile_rows(int mi, int kc, const float *restrict a, const float *restrict b, float *c,
          size_t ldc, const float *bias, int first)
{
    __m256 acc[MR - 1][2];
    for (int r = 0; r < mi; r++)
        acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++, a += MR, b += NR) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        for (int r = 0; r < mi; r++) {
            __m256 x = _mm256_broadcast_ss(a + r);
            acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
        }
    }
    for (int r = 0; r < mi; r++) {
        float *cr = c + (size_t)r * ldc;
        __m256 l0, l1;
        if (first) {
            l0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
            l1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
        } else {
            l0 = _mm256_loadu_ps(cr), l1 = _mm256_loadu_ps(cr + 8);
        }
        _mm256_storeu_ps(cr, _mm256_add_ps(l0, acc[r][0]));
        _mm256_storeu_ps(cr + 8, _mm256_add_ps(l1, acc[r][1]));
    }
}

#define TILE_ROWS(n)                                                                          \
    static void tile_rows_##n(int kc, const float *a, const float *b, float *c, size_t ldc,  \
                              const float *bias, int first)                                   \
    {                                                                                         \
        tile_rows(n, kc, a, b, c, ldc, bias, first);                                          \
    }
TILE_ROWS(1)
TILE_ROWS(2)
TILE_ROWS(3)
TILE_ROWS(4)
TILE_ROWS(5)
#undef TILE_ROWS

/* A partial tile goes through a full one in a buffer so that its elements see exactly the
 * operations a full tile's would. */
static void tile_edge(int kc, const float *a, const float *b, float *c, size_t ldc,
                      const float *bias, int first, int mi, int nj)
{
    float t[MR * NR] __attribute__((aligned(32)));
    float bb[NR] = {0};
    if (first && bias)
        memcpy(bb, bias, (size_t)nj * sizeof *bb);
    if (!first)
        for (int r = 0; r < mi; r++)
            memcpy(t + r * NR, c + (size_t)r * ldc, (size_t)nj * sizeof *t);
    tile_6x16(kc, a, b, t, NR, bias ? bb : NULL, first);
    for (int r = 0; r < mi; r++)
        memcpy(c + (size_t)r * ldc, t + r * NR, (size_t)nj * sizeof *t);
}

/* C(M, j0..j1) = A(M, K) · B(K, j0..j1) + bias[j]; A fp32 with row stride lda, C row stride
 * ldc. Only columns j0..j1 of C are written. */
static void gemm(int M, int j0, int j1, int K, const float *A, size_t lda, const b_src *B,
                 float *C, size_t ldc, const float *bias)
{
    _Static_assert(MC % MR == 0, "A blocks hold whole panels");
    static void (*const tile_short[MR])(int, const float *, const float *, float *, size_t,
                                        const float *, int) = {
        NULL, tile_rows_1, tile_rows_2, tile_rows_3, tile_rows_4, tile_rows_5};
    float astack[MC * KC + 8] __attribute__((aligned(64))); /* + pack_a's store slack */
    float bpack[KC * NR] __attribute__((aligned(64)));
    if (K <= 0) {
        for (int i = 0; i < M; i++)
            for (int j = j0; j < j1; j++)
                C[(size_t)i * ldc + (size_t)j] = bias ? bias[j] : 0.0f;
        return;
    }
    /* More rows than MC: every row in one A block on the heap, so each weight panel is
     * packed once per KC step and serves all rows (at 512 rows that beats keeping A in L2);
     * without memory, MC-row blocks on the stack. */
    float *apack = astack, *aheap = NULL;
    int mb = MC;
    if (M > MC) {
        size_t rows = (size_t)(M + MR - 1) / MR * MR;
        aheap = aligned_alloc(64, (rows * KC + 16) * sizeof *aheap);
        if (aheap)
            apack = aheap, mb = (int)rows;
    }
    /* Column blocks outermost, so the (M, NC) block of C stays in cache over the KC steps of
     * the reduction instead of streaming a wide C (FFN up: 128 x 3072) through L3 once per
     * step. */
    for (int jc = j0; jc < j1; jc += NC)
    for (int k0 = 0; k0 < K; k0 += KC) {
        int kc = K - k0 < KC ? K - k0 : KC, first = k0 == 0;
        int jend = j1 - jc < NC ? j1 : jc + NC;
        for (int i0 = 0; i0 < M; i0 += mb) {
            int mc = M - i0 < mb ? M - i0 : mb;
            pack_a(apack, A + (size_t)i0 * lda + (size_t)k0, lda, mc, kc);
            for (int j = jc; j < jend; j += NR) {
                int nj = jend - j < NR ? jend - j : NR;
                const float *bp;
                if (B->mode == B_PACKED) {
                    /* prepacked panels start at multiples of NR */
                    bp = (const float *)B->src + (size_t)(j / NR) * B->ld * NR + (size_t)k0 * NR;
                } else {
                    pack_b(bpack, B, k0, kc, j, nj);
                    bp = bpack;
                }
                const float *bj = bias ? bias + j : NULL;
                for (int i = 0; i < mc; i += MR) {
                    int mi = mc - i < MR ? mc - i : MR;
                    float *ct = C + (size_t)(i0 + i) * ldc + (size_t)j;
                    const float *ap = apack + (size_t)i * (size_t)kc;
                    if (nj < NR)
                        tile_edge(kc, ap, bp, ct, ldc, bj, first, mi, nj);
                    else if (mi == MR)
                        tile_6x16(kc, ap, bp, ct, ldc, bj, first);
                    else
                        tile_short[mi](kc, ap, bp, ct, ldc, bj, first);
                }
            }
        }
    }
    free(aheap);
}

/* ---- few rows: dot products against weight rows read in place ----
 *
 * With a handful of rows of x, transposing W into panels costs as much as the multiply it
 * feeds (each panel serves n/6 register tiles). Here a tile of DR rows of x and DC rows of W
 * keeps DR x DC accumulators; the DC weight rows (a few KiB) stay in L1 while every row block
 * of x (small, in L2) passes over them, so W streams from memory once, converted in
 * registers. */

#define DR 4 /* rows of x per dot tile */
#define DC 3 /* rows of W (output columns) per dot tile */
/* n at or below this takes the dot-product path (measured crossover on Zen 3, see
 * BENCHMARKS.md); a function of n alone, so every column split of one call agrees */
#ifndef DOT_MAX_N
#define DOT_MAX_N 48
#endif

/* y(r, c) with row stride ldy = x(r rows, stride ldx) · W(c rows of `in`)^T + bias(c).
 * Each value is one 8-lane FMA chain over k, hsum8, the k tail by fmaf in order, then the
 * bias: the same operations for any r, c, so the tile shape (and thread split) never changes
 * a byte. */
static inline __attribute__((always_inline)) void
dot_tile(int r, int c, mhv_dtype dt, const float *x, size_t ldx, const void *w, int in,
         const float *bias, float *y, size_t ldy)
{
    __m256 acc[DR][DC];
    for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++)
            acc[i][j] = _mm256_setzero_ps();
    int k = 0;
    for (; k + 8 <= in; k += 8) {
        __m256 wv[DC];
#pragma GCC unroll 4
        for (int j = 0; j < c; j++)
            wv[j] = load8(w, dt, (size_t)j * (size_t)in + (size_t)k);
#pragma GCC unroll 4
        for (int i = 0; i < r; i++) {
            __m256 xv = _mm256_loadu_ps(x + (size_t)i * ldx + (size_t)k);
#pragma GCC unroll 4
            for (int j = 0; j < c; j++)
                acc[i][j] = _mm256_fmadd_ps(xv, wv[j], acc[i][j]);
        }
    }
    for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++) {
            float s = hsum8(acc[i][j]);
            for (int t = k; t < in; t++)
                s = fmaf(x[(size_t)i * ldx + (size_t)t],
                         load1(w, dt, (size_t)j * (size_t)in + (size_t)t), s);
            y[(size_t)i * ldy + (size_t)j] = bias ? s + bias[j] : s;
        }
}

/* The partial tiles at the edges: the same arithmetic, not unrolled. */
static __attribute__((noinline)) void dot_tile_edge(int r, int c, mhv_dtype dt, const float *x,
                                                    size_t ldx, const void *w, int in,
                                                    const float *bias, float *y, size_t ldy)
{
    dot_tile(r, c, dt, x, ldx, w, in, bias, y, ldy);
}

#define DOT_FULL(name, DT)                                                                    \
    static void name(const float *x, size_t ldx, const void *w, int in, const float *bias,    \
                     float *y, size_t ldy)                                                    \
    {                                                                                         \
        dot_tile(DR, DC, DT, x, ldx, w, in, bias, y, ldy);                                    \
    }
DOT_FULL(dot_full_f32, MHV_DT_F32)
DOT_FULL(dot_full_f16, MHV_DT_F16)
DOT_FULL(dot_full_bf16, MHV_DT_BF16)
#undef DOT_FULL

/* y(n, out)[:, o0..o1] = x(n, in) · W(o0..o1, in)^T + b, W rows read in place. */
static void dot_cols(float *y, const float *x, const void *w, mhv_dtype dt, const float *b,
                     int n, int in, int out, int o0, int o1)
{
    void (*full)(const float *, size_t, const void *, int, const float *, float *, size_t) =
        dt == MHV_DT_F16 ? dot_full_f16 : dt == MHV_DT_BF16 ? dot_full_bf16 : dot_full_f32;
    size_t esz = mhv_dtype_size(dt), ldy = (size_t)out, ldx = (size_t)in;
    for (int o = o0; o < o1; o += DC) {
        int c = o1 - o < DC ? o1 - o : DC;
        const void *wo = (const char *)w + (size_t)o * (size_t)in * esz;
        const float *bo = b ? b + o : NULL;
        for (int i = 0; i < n; i += DR) {
            int r = n - i < DR ? n - i : DR;
            const float *xi = x + (size_t)i * ldx;
            float *yi = y + (size_t)i * ldy + (size_t)o;
            if (r == DR && c == DC)
                full(xi, ldx, wo, in, bo, yi, ldy);
            else
                dot_tile_edge(r, c, dt, xi, ldx, wo, in, bo, yi, ldy);
        }
    }
}

static void linear_cols_avx2(float *y, const float *x, const void *w, mhv_dtype wdt,
                             const float *b, int n, int in, int out, int o0, int o1)
{
    if (n <= DOT_MAX_N) {
        dot_cols(y, x, w, wdt, b, n, in, out, o0, o1);
        return;
    }
    b_src B = {.src = w, .dt = wdt, .mode = B_NT, .ld = (size_t)in};
    gemm(n, o0, o1, in, x, (size_t)in, &B, y, (size_t)out, b);
}

/* y(n, out)[:, o0..o1] = x(n, in) · W + b with W stored (in, ldw), w at column 0: rows of W
 * are rows of B, packed (and converted) panel by panel like V. */
static void linear_t_cols_avx2(float *y, const float *x, const void *w, mhv_dtype wdt,
                               size_t ldw, const float *b, int n, int in, int out, int o0,
                               int o1)
{
    b_src B = {.src = w, .dt = wdt, .mode = B_NN, .ld = ldw};
    gemm(n, o0, o1, in, x, (size_t)in, &B, y, (size_t)out, b);
}

static void linear_avx2(float *y, const float *x, const void *w, mhv_dtype wdt, const float *b,
                        int n, int in, int out)
{
    linear_cols_avx2(y, x, w, wdt, b, n, in, out, 0, out);
}

/* ---- element-wise functions (simd_math.h) on 8 lanes ---- */

static inline __m256 load_tail8(const float *p, size_t n)
{
    float t[8] __attribute__((aligned(32))) = {0};
    memcpy(t, p, n * sizeof(float));
    return _mm256_load_ps(t);
}

static inline void store_tail8(float *p, __m256 v, size_t n)
{
    float t[8] __attribute__((aligned(32)));
    _mm256_store_ps(t, v);
    memcpy(p, t, n * sizeof(float));
}

#define V __m256
#define V_W 8
#define V_SET1 _mm256_set1_ps
#define V_ZERO _mm256_setzero_ps
#define V_ADD _mm256_add_ps
#define V_SUB _mm256_sub_ps
#define V_MUL _mm256_mul_ps
#define V_DIV _mm256_div_ps
#define V_FMADD _mm256_fmadd_ps
#define V_FNMADD _mm256_fnmadd_ps
#define V_MIN _mm256_min_ps
#define V_MAX _mm256_max_ps
#define V_ROUND(x) _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define V_ABS(x) _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x)
#define V_SEL_GT(a, b, t, f) _mm256_blendv_ps(f, t, _mm256_cmp_ps(a, b, _CMP_GT_OQ))
#define V_POW2I(m)                                                                            \
    _mm256_castsi256_ps(                                                                      \
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(m), _mm256_set1_epi32(127)), 23))
#define V_LOADU _mm256_loadu_ps
#define V_STOREU _mm256_storeu_ps
#define V_LOAD_TAIL load_tail8
#define V_STORE_TAIL store_tail8
#define VFN(name) name##8
#define VK(name) name##_avx2
#include "simd_math.h"

/* p(width,): p[0..len) = softmax(p[0..len) * scale), p[len..width) = 0. With a sink logit
 * (not NULL) it joins the max and the sum, its own share dropped. */
static void softmax_row(float *p, int len, int width, float scale, const float *sink)
{
    const __m256 vs = _mm256_set1_ps(scale);
    __m256 vm = _mm256_set1_ps(-INFINITY);
    int j = 0;
    for (; j + 8 <= len; j += 8) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(p + j), vs);
        _mm256_storeu_ps(p + j, v);
        vm = _mm256_max_ps(vm, v);
    }
    float mx = hmax8(vm);
    for (; j < len; j++) {
        p[j] *= scale;
        if (p[j] > mx)
            mx = p[j];
    }
    if (sink && *sink > mx)
        mx = *sink;
    /* a row of -inf scores would subtract -inf from -inf */
    if (mx == -INFINITY)
        mx = 0.0f;
    __m256 vmx = _mm256_set1_ps(mx), vsum = _mm256_setzero_ps();
    float tail[8] __attribute__((aligned(32)));
    for (j = 0; j + 8 <= len; j += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(p + j), vmx));
        _mm256_storeu_ps(p + j, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    if (j < len) {
        /* the tail through the same vector exp, padded with -inf (e = 0) */
        for (int t = 0; t < 8; t++)
            tail[t] = j + t < len ? p[j + t] - mx : -INFINITY;
        __m256 e = exp8(_mm256_load_ps(tail));
        vsum = _mm256_add_ps(vsum, e);
        _mm256_store_ps(tail, e);
        for (int t = 0; j + t < len; t++)
            p[j + t] = tail[t];
    }
    float sum = hsum8(vsum);
    if (sink)
        sum += _mm256_cvtss_f32(exp8(_mm256_set1_ps(*sink - mx)));
    float inv = 1.0f / sum;
    __m256 vi = _mm256_set1_ps(inv);
    for (j = 0; j + 8 <= len; j += 8)
        _mm256_storeu_ps(p + j, _mm256_mul_ps(_mm256_loadu_ps(p + j), vi));
    for (; j < len; j++)
        p[j] *= inv;
    for (j = len; j < width; j++)
        p[j] = 0.0f;
}

/* ---- attention ---- */

static size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

static size_t attention_scratch_avx2(int n, int d)
{
    size_t un = (size_t)n, ud = (size_t)d;
    return (size_t)QB * un + round_up(un, NR) * ud + un * round_up(ud, NR) + 16;
}

/* kt: K as B_PACKED panels of scores = Q·K^T (reduction d, columns = keys);
 * vp: V as B_PACKED panels of P·V (reduction = keys, columns = d). */
static void pack_kv(float *kt, float *vp, const mhv_attn_args *a, int want_v)
{
    int n = mhv_attn_keys(a), d = a->d;
    b_src K = {.src = a->k, .dt = MHV_DT_F32, .mode = B_NT, .ld = a->ld_k};
    for (int j = 0; j < n; j += NR)
        for (int k0 = 0; k0 < d; k0 += KC) {
            int kc = d - k0 < KC ? d - k0 : KC;
            pack_b(kt + (size_t)(j / NR) * (size_t)d * NR + (size_t)k0 * NR, &K, k0, kc, j,
                   n - j < NR ? n - j : NR);
        }
    if (!want_v)
        return;
    b_src V = {.src = a->v, .dt = MHV_DT_F32, .mode = B_NN, .ld = a->ld_v};
    for (int j = 0; j < d; j += NR)
        for (int k0 = 0; k0 < n; k0 += KC) {
            int kc = n - k0 < KC ? n - k0 : KC;
            pack_b(vp + (size_t)(j / NR) * (size_t)n * NR + (size_t)k0 * NR, &V, k0, kc, j,
                   d - j < NR ? d - j : NR);
        }
}

static void attention_avx2(const mhv_attn_args *a)
{
    int n = a->n, d = a->d, keys = mhv_attn_keys(a);
    if (!a->probs && !a->out)
        return;
    /* scratch: s (QB, keys) scores when probs is not kept | kt packed K | vp packed V */
    float *s = a->scratch;
    float *kt = s + (size_t)QB * (size_t)keys;
    float *vp = kt + round_up((size_t)keys, NR) * (size_t)d;
    pack_kv(kt, vp, a, a->out != NULL);
    b_src K = {.src = kt, .dt = MHV_DT_F32, .mode = B_PACKED, .ld = (size_t)d};
    b_src V = {.src = vp, .dt = MHV_DT_F32, .mode = B_PACKED, .ld = (size_t)keys};
    for (int i0 = 0; i0 < n; i0 += QB) {
        int rows = n - i0 < QB ? n - i0 : QB;
        int nk = mhv_attn_last_key(a, i0 + rows - 1) + 1; /* keys any row of this block sees */
        if (a->prow && mhv_attn_rows_idle(a, i0, i0 + rows))
            continue;
        /* (rows, keys) straight into probs when every row is kept there in order */
        int direct = a->probs && !a->prow;
        float *sb = direct ? a->probs + (size_t)i0 * (size_t)keys : s;
        /* from the key panel of the block's first key: the keys before are masked */
        int j0 = mhv_attn_first_key(a, i0) / NR * NR;
        gemm(rows, j0, nk, d, a->q + (size_t)i0 * a->ld_q, a->ld_q, &K, sb, (size_t)keys, NULL);
        for (int r = 0; r < rows; r++) {
            int i = i0 + r, first = mhv_attn_first_key(a, i), len = mhv_attn_last_key(a, i) + 1;
            float *row = sb + (size_t)r * (size_t)keys, scale = a->scale;
            for (int j = 0; j < first; j++) /* before a sliding window */
                row[j] = 0.0f;
            if (a->softcap > 0 || a->bias) { /* scaled first: the extras act on scaled scores */
                for (int j = first; j < len; j++)
                    row[j] *= scale;
                score_extras_avx2(row + first, (size_t)(len - first),
                                  a->bias ? a->bias + (size_t)i * a->ld_bias + first : NULL,
                                  a->softcap);
                scale = 1.0f;
            }
            softmax_row(row + first, len - first, (a->probs ? keys : nk) - first, scale,
                        a->has_sink ? &a->sink : NULL);
        }
        for (int r = 0; !direct && a->probs && r < rows; r++) {
            float *keep = mhv_attn_prow(a, i0 + r);
            if (keep)
                memcpy(keep, sb + (size_t)r * (size_t)keys, (size_t)keys * sizeof *keep);
        }
        if (!a->out)
            continue;
        /* a two-sided window (ModernBERT's local layers) sums from the block's first key: the
         * keys before have probability 0 in every row (the causal windows of Mistral keep
         * their sums from key 0, and so their bytes) */
        int kw = a->window > 0 && !a->causal ? mhv_attn_first_key(a, i0) : 0;
        b_src Vw = V;
        Vw.src = vp + (size_t)kw * NR;
        gemm(rows, 0, d, nk - kw, sb + kw, (size_t)keys, &Vw, a->out + (size_t)i0 * a->ld_out,
             a->ld_out, NULL);
    }
}

/* ---- element-wise ---- */

static void layernorm_avx2(float *x, const float *g, const float *b, int n, int d, float eps)
{
    /* Sums in double like the reference: LayerNorm is a small share of the time, and fp32
     * sums over 768+ values would drift from it by more than the matrix multiplies do. */
    for (int i = 0; i < n; i++) {
        float *r = x + (size_t)i * (size_t)d;
        __m256d s0 = _mm256_setzero_pd(), s1 = s0;
        int t = 0;
        for (; t + 8 <= d; t += 8) {
            __m256 v = _mm256_loadu_ps(r + t);
            s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
            s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
        }
        double acc[4];
        _mm256_storeu_pd(acc, _mm256_add_pd(s0, s1));
        double mean = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for (; t < d; t++)
            mean += r[t];
        mean /= d;
        __m256d vm = _mm256_set1_pd(mean);
        s0 = _mm256_setzero_pd(), s1 = s0;
        for (t = 0; t + 8 <= d; t += 8) {
            __m256 v = _mm256_loadu_ps(r + t);
            __m256d a0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), vm);
            __m256d a1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), vm);
            s0 = _mm256_fmadd_pd(a0, a0, s0);
            s1 = _mm256_fmadd_pd(a1, a1, s1);
        }
        _mm256_storeu_pd(acc, _mm256_add_pd(s0, s1));
        double var = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for (; t < d; t++)
            var += (r[t] - mean) * (r[t] - mean);
        var /= d;
        double inv = 1.0 / sqrt(var + eps);
        __m256d vi = _mm256_set1_pd(inv);
        for (t = 0; t + 4 <= d; t += 4) {
            __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(r + t));
            __m256d y = _mm256_mul_pd(_mm256_mul_pd(_mm256_sub_pd(v, vm), vi),
                                      _mm256_cvtps_pd(_mm_loadu_ps(g + t)));
            y = _mm256_add_pd(y, _mm256_cvtps_pd(_mm_loadu_ps(b + t)));
            _mm_storeu_ps(r + t, _mm256_cvtpd_ps(y));
        }
        for (; t < d; t++)
            r[t] = (float)((r[t] - mean) * inv * g[t] + b[t]);
    }
}

static void rmsnorm_avx2(float *x, const float *g, int n, int d, float eps)
{
    /* the sum of squares in double, as layernorm_avx2 and the reference */
    for (int i = 0; i < n; i++) {
        float *r = x + (size_t)i * (size_t)d;
        __m256d s0 = _mm256_setzero_pd(), s1 = s0;
        int t = 0;
        for (; t + 8 <= d; t += 8) {
            __m256 v = _mm256_loadu_ps(r + t);
            __m256d a0 = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
            __m256d a1 = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
            s0 = _mm256_fmadd_pd(a0, a0, s0);
            s1 = _mm256_fmadd_pd(a1, a1, s1);
        }
        double acc[4];
        _mm256_storeu_pd(acc, _mm256_add_pd(s0, s1));
        double ss = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for (; t < d; t++)
            ss += (double)r[t] * r[t];
        double inv = 1.0 / sqrt(ss / d + eps);
        __m256d vi = _mm256_set1_pd(inv);
        for (t = 0; t + 4 <= d; t += 4) {
            __m256d v = _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(r + t)), vi);
            v = _mm256_mul_pd(v, _mm256_cvtps_pd(_mm_loadu_ps(g + t)));
            _mm_storeu_ps(r + t, _mm256_cvtpd_ps(v));
        }
        for (; t < d; t++)
            r[t] = (float)(r[t] * inv * g[t]);
    }
}

static void describe_avx2(char *buf, size_t size)
{
    snprintf(buf, size,
             "tile %d x %d (%d ymm accumulators), KC %d (fixed: it is the chunk of every sum), "
             "MC %d, NC %d (tuned on Zen 3), dot products up to %d rows",
             MR, NR, MR * NR / 8, KC, MC, NC, DOT_MAX_N);
}

static const mhv_kernels avx2_table = {
    .name = "avx2",
    .describe = describe_avx2,
    .linear = linear_avx2,
    .linear_cols = linear_cols_avx2,
    .linear_t_cols = linear_t_cols_avx2,
    .linear_rows_switch = DOT_MAX_N,
    .attention = attention_avx2,
    .attention_scratch = attention_scratch_avx2,
    .layernorm = layernorm_avx2,
    .rmsnorm = rmsnorm_avx2,
    .gelu_erf = gelu_erf_avx2,
    .gelu_tanh = gelu_tanh_avx2,
    .relu = relu_avx2,
    .silu = silu_avx2,
    .add = add_avx2,
};

const mhv_kernels *mhv_kernels_avx2(void)
{
    return &avx2_table;
}

#endif /* __x86_64__ */
