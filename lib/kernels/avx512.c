/* avx512.c - the kernel table for x86-64 with AVX-512 (F, BW, DQ, VL) + FMA + F16C.
 *
 * Compiled alone with -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma -mf16c and only
 * reached through mhv_kernels_avx512() after dispatch.c has checked the CPU.
 *
 * Linear layers: y(n, out) = x(n, in) · W(out, in)^T. Both operands are contiguous along the
 * reduction, so one must be transposed for a register tile; x is the small one. It is packed
 * once per call (xpack) into panels of 32 tokens, (in, 32) each, and a tile of WR weight rows
 * x 32 tokens keeps 2·WR zmm accumulators: per k, WR scalars of W broadcast straight from the
 * weight rows (F32 in place; F16/BF16 converted chunk by chunk into a small buffer) against
 * two vectors of packed x. So no weight panel is ever packed and no fp32 copy of a weight
 * matrix exists. The tile holds y transposed (a vector per output column); it is transposed
 * back 16x16 in registers when stored.
 *
 * Every y element is a sum of FMA chains, one per KC-long chunk of the reduction in
 * increasing k, added up in chunk order, then + bias: the chunks depend on `in` alone, so
 * neither the tile shape nor how callers split the columns changes a byte. (Chunked sums
 * also keep the rounding error near that of KC-term sums rather than `in`-term ones.) */
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#define TP 32  /* tokens per packed x panel: two zmm */
#define WR 12  /* weight rows per register tile: 24 accumulators */
/* Reduction chunk: WR weight rows of it (24 KiB F32) stay in L1 while every token panel
 * passes over them. */
#ifndef KC
#define KC 512
#endif
/* How far ahead in a weight row the tiles prefetch, in elements. */
#ifndef PFD
#define PFD 256
#endif

/* ---- 16x16 transpose ---- */

/* r[i] holds row i of a 16x16 block; afterwards r[i] holds column i. */
static inline __attribute__((always_inline)) void transpose16(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    /* within each 128-bit lane L of r[4g + j]: column 4L + j of rows 4g..4g+3 */
    for (int g = 0; g < 16; g += 4) {
        r[g] = _mm512_shuffle_ps(t[g], t[g + 2], 0x44);
        r[g + 1] = _mm512_shuffle_ps(t[g], t[g + 2], 0xEE);
        r[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0x44);
        r[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
    }
    for (int j = 0; j < 4; j++) {
        __m512 u = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88);
        __m512 v = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xDD);
        __m512 u2 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
        __m512 v2 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xDD);
        t[j] = _mm512_shuffle_f32x4(u, u2, 0x88);      /* column j */
        t[4 + j] = _mm512_shuffle_f32x4(v, v2, 0x88);  /* column 4 + j */
        t[8 + j] = _mm512_shuffle_f32x4(u, u2, 0xDD);  /* column 8 + j */
        t[12 + j] = _mm512_shuffle_f32x4(v, v2, 0xDD); /* column 12 + j */
    }
    for (int i = 0; i < 16; i++)
        r[i] = t[i];
}

static inline __mmask16 lanes(int n) { return (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1); }

/* ---- packing x ---- */

static size_t panels(int n) { return ((size_t)n + TP - 1) / TP; }

static size_t xpack_floats_avx512(int n, int in)
{
    return panels(n) * (size_t)TP * (size_t)in + 16;
}

/* xp(panels, in, TP): xp[(p*in + k)*TP + t] = x[(p*TP + t)*ldx + k], tokens past n zero.
 * 16 tokens x 16 k at a time through a register transpose. */
static void xpack_ld(float *xp, const float *x, size_t ldx, int n, int in)
{
    for (int p = 0; p < (int)panels(n); p++)
        for (int half = 0; half < 2; half++) {
            int t0 = p * TP + half * 16, nt = n - t0;
            float *dst = xp + (size_t)p * (size_t)in * TP + half * 16;
            if (nt <= 0) {
                for (int k = 0; k < in; k++)
                    _mm512_storeu_ps(dst + (size_t)k * TP, _mm512_setzero_ps());
                continue;
            }
            int k = 0;
            if (nt >= 16)
                for (; k + 16 <= in; k += 16) {
                    __m512 r[16];
#pragma GCC unroll 16
                    for (int t = 0; t < 16; t++)
                        r[t] = _mm512_loadu_ps(x + (size_t)(t0 + t) * ldx + (size_t)k);
                    transpose16(r);
#pragma GCC unroll 16
                    for (int c = 0; c < 16; c++)
                        _mm512_storeu_ps(dst + (size_t)(k + c) * TP, r[c]);
                }
            for (; k < in; k += 16) { /* the edges: masked loads, zero rows */
                int nk = in - k < 16 ? in - k : 16;
                __mmask16 mk = lanes(nk);
                __m512 r[16];
                for (int t = 0; t < 16; t++)
                    r[t] = t < nt ? _mm512_maskz_loadu_ps(mk, x + (size_t)(t0 + t) * ldx + (size_t)k)
                                  : _mm512_setzero_ps();
                transpose16(r);
                for (int c = 0; c < nk; c++)
                    _mm512_storeu_ps(dst + (size_t)(k + c) * TP, r[c]);
            }
        }
}

static void xpack_avx512(float *xp, const float *x, int n, int in)
{
    xpack_ld(xp, x, (size_t)in, n, in);
}

/* ---- weights: F32 in place, F16/BF16 converted by chunk ---- */

/* dst(rows, kc) = W rows r0.. columns k0..k0+kc in fp32. */
static void convert_rows(float *dst, const void *w, mhv_dtype dt, size_t ld, int rows, int k0,
                         int kc)
{
    for (int r = 0; r < rows; r++) {
        const uint16_t *src = (const uint16_t *)w + (size_t)r * ld + (size_t)k0;
        float *d = dst + (size_t)r * KC;
        for (int k = 0; k < kc; k += 16) {
            __mmask16 m = lanes(kc - k);
            __m256i h = _mm256_maskz_loadu_epi16(m, src + k);
            __m512 f = dt == MHV_DT_F16
                           ? _mm512_cvtph_ps(h)
                           : _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
            _mm512_mask_storeu_ps(d + k, m, f);
        }
    }
}

/* ---- the register tile ---- */

/* acc[i][v] += Σ_k w[i*ldw + k] · xp[k*TP + 16v .. +16] over k < kc, for i < R, v < NV.
 * Each step also prefetches one line, pf + (k % R)·pfld + k·pfstep: the weight rows ahead of
 * the ones in use, which only the first token panel reads from memory; with few tokens there
 * is no second panel to hide that latency. */
static inline __attribute__((always_inline)) void
tile_fma(int R, int NV, int kc, const float *w, size_t ldw, const float *xp, const char *pf,
         size_t pfld, size_t pfstep, __m512 acc[WR][2])
{
    const float *w0 = w, *w1 = w + 4 * ldw, *w2 = w + 8 * ldw;
    for (int k = 0; k < kc; k++, xp += TP) {
        _mm_prefetch(pf + (size_t)(k % R) * pfld + (size_t)k * pfstep, _MM_HINT_T0);
        __m512 x0 = _mm512_loadu_ps(xp), x1 = NV > 1 ? _mm512_loadu_ps(xp + 16) : x0;
#pragma GCC unroll 12
        for (int i = 0; i < R; i++) {
            const float *wb = i < 4 ? w0 : i < 8 ? w1 : w2;
            __m512 b = _mm512_set1_ps(wb[(size_t)(i & 3) * ldw + (size_t)k]);
            acc[i][0] = _mm512_fmadd_ps(b, x0, acc[i][0]);
            if (NV > 1)
                acc[i][1] = _mm512_fmadd_ps(b, x1, acc[i][1]);
        }
    }
}

/* Where a tile's accumulators come from and go. */
typedef struct {
    float *part;      /* (WR, TP) sums of the chunks before this one */
    int first, last;  /* first / last chunk of the reduction */
    float *y;         /* y + token0 * ldy + column0 */
    size_t ldy;
    const float *bias;/* bias + column0, or NULL */
    int nt;           /* valid tokens of this panel (<= TP) */
    const char *pf;   /* what to prefetch (see tile_fma) */
    size_t pfld, pfstep;
} tile_io;

/* The tile of R weight rows x NV·16 tokens over one chunk (see tile_io). */
static inline __attribute__((always_inline)) void
tile(int R, int NV, int kc, const float *w, size_t ldw, const float *xp, const tile_io *io)
{
    __m512 acc[WR][2];
    for (int i = 0; i < R; i++)
        for (int v = 0; v < NV; v++)
            acc[i][v] = _mm512_setzero_ps();
    tile_fma(R, NV, kc, w, ldw, xp, io->pf, io->pfld, io->pfstep, acc);
    if (!io->first)
        for (int i = 0; i < R; i++)
            for (int v = 0; v < NV; v++)
                acc[i][v] = _mm512_add_ps(_mm512_load_ps(io->part + (size_t)i * TP + 16 * v),
                                          acc[i][v]);
    if (!io->last) {
        for (int i = 0; i < R; i++)
            for (int v = 0; v < NV; v++)
                _mm512_store_ps(io->part + (size_t)i * TP + 16 * v, acc[i][v]);
        return;
    }
    __mmask16 mr = lanes(R);
    __m512 b = io->bias ? _mm512_maskz_loadu_ps(mr, io->bias) : _mm512_setzero_ps();
    for (int v = 0; v < NV; v++) {
        int nt = io->nt - 16 * v;
        if (nt <= 0)
            break;
        __m512 r[16];
        for (int i = 0; i < 16; i++)
            r[i] = i < R ? acc[i][v] : _mm512_setzero_ps();
        transpose16(r); /* r[t]: columns 0..R of token 16v + t */
        float *yv = io->y + (size_t)(16 * v) * io->ldy;
        for (int t = 0; t < 16 && t < nt; t++)
            _mm512_mask_storeu_ps(yv + (size_t)t * io->ldy, mr, _mm512_add_ps(r[t], b));
    }
}

typedef void (*tile_fn)(int kc, const float *w, size_t ldw, const float *xp, const tile_io *io);

#define TILE(R, NV)                                                                           \
    static void tile_##R##_##NV(int kc, const float *w, size_t ldw, const float *xp,         \
                                const tile_io *io)                                            \
    {                                                                                         \
        tile(R, NV, kc, w, ldw, xp, io);                                                      \
    }
#define TILES(R) TILE(R, 1) TILE(R, 2)
TILES(1) TILES(2) TILES(3) TILES(4) TILES(5) TILES(6)
TILES(7) TILES(8) TILES(9) TILES(10) TILES(11) TILES(12)
#undef TILES
#undef TILE

static const tile_fn tiles[WR + 1][2] = {
    {NULL, NULL},           {tile_1_1, tile_1_2},   {tile_2_1, tile_2_2},
    {tile_3_1, tile_3_2},   {tile_4_1, tile_4_2},   {tile_5_1, tile_5_2},
    {tile_6_1, tile_6_2},   {tile_7_1, tile_7_2},   {tile_8_1, tile_8_2},
    {tile_9_1, tile_9_2},   {tile_10_1, tile_10_2}, {tile_11_1, tile_11_2},
    {tile_12_1, tile_12_2},
};

/* y(n, out)[:, o0..o1] = x · W(o0..o1, in)^T + b, x given packed by xpack. */
static void linear_xp_cols_avx512(float *y, const float *xp, const void *w, mhv_dtype wdt,
                                  const float *b, int n, int in, int out, int o0, int o1)
{
    int np = (int)panels(n);
    size_t ldy = (size_t)out;
    if (in <= 0) {
        for (int i = 0; i < n; i++)
            for (int j = o0; j < o1; j++)
                y[(size_t)i * ldy + (size_t)j] = b ? b[j] : 0.0f;
        return;
    }
    float wbuf[WR * KC] __attribute__((aligned(64))); /* (WR, KC) converted weights */
    /* (PG, WR, TP): the accumulators of PG panels saved between chunks of the reduction;
     * panels go in groups of PG so this stays on the stack (W is re-read once per group,
     * i.e. only beyond PG * TP = 1024 tokens) */
    enum { PG = 32 };
    float part[PG * WR * TP] __attribute__((aligned(64)));
    size_t esz = mhv_dtype_size(wdt);
    for (int p0 = 0; p0 < np; p0 += PG) {
        int p1 = np - p0 < PG ? np : p0 + PG;
        for (int o = o0; o < o1; o += WR) {
            int r = o1 - o < WR ? o1 - o : WR;
            const char *wo = (const char *)w + (size_t)o * (size_t)in * esz;
            for (int k0 = 0; k0 < in; k0 += KC) {
                int kc = in - k0 < KC ? in - k0 : KC;
                const float *wk = wbuf;
                size_t ldw = KC;
                /* F32: the rows in use, PFD floats ahead; F16/BF16: the next chunk */
                const char *pf = wo + ((size_t)k0 + PFD) * esz;
                if (wdt == MHV_DT_F32)
                    wk = (const float *)wo + k0, ldw = (size_t)in;
                else
                    convert_rows(wbuf, wo, wdt, (size_t)in, r, k0, kc);
                for (int p = p0; p < p1; p++) {
                    int nt = n - p * TP < TP ? n - p * TP : TP;
                    tile_io io = {
                        .part = part + (size_t)(p - p0) * WR * TP,
                        .first = k0 == 0, .last = k0 + kc >= in,
                        .y = y + (size_t)p * TP * ldy + (size_t)o, .ldy = ldy,
                        .bias = b ? b + o : NULL, .nt = nt,
                        .pf = pf, .pfld = (size_t)in * esz, .pfstep = esz,
                    };
                    tiles[r][nt > 16](kc, wk, ldw,
                                      xp + ((size_t)p * (size_t)in + (size_t)k0) * TP, &io);
                }
            }
        }
    }
}

static void linear_cols_avx512(float *y, const float *x, const void *w, mhv_dtype wdt,
                               const float *b, int n, int in, int out, int o0, int o1)
{
    float *xp = aligned_alloc(64, xpack_floats_avx512(n, in) * sizeof *xp);
    if (!xp) { /* the AVX2 path needs no buffer (other rounding, within the tolerance) */
        mhv_kernels_avx2()->linear_cols(y, x, w, wdt, b, n, in, out, o0, o1);
        return;
    }
    xpack_avx512(xp, x, n, in);
    linear_xp_cols_avx512(y, xp, w, wdt, b, n, in, out, o0, o1);
    free(xp);
}

static void linear_avx512(float *y, const float *x, const void *w, mhv_dtype wdt,
                          const float *b, int n, int in, int out)
{
    linear_cols_avx512(y, x, w, wdt, b, n, in, out, 0, out);
}

static const mhv_kernels avx512_table = {
    .name = "avx512",
    .linear = linear_avx512,
    .linear_cols = linear_cols_avx512,
    .xpack_floats = xpack_floats_avx512,
    .xpack = xpack_avx512,
    .linear_xp_cols = linear_xp_cols_avx512,
};

const mhv_kernels *mhv_kernels_avx512(void)
{
    return &avx512_table;
}

#endif /* __x86_64__ */
