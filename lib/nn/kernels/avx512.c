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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpucache.h"
#include "kernels.h"

#define TP 32  /* tokens per packed x panel: two zmm */
#define WR 12  /* weight rows per register tile: 24 accumulators */
/* Reduction chunk: WR weight rows of it (24 KiB F32) stay in L1 while every token panel
 * passes over them. */
#ifndef KC
#define KC 512
#endif
#ifndef PFD
#define PFD 128 /* weight prefetch distance in floats: 64-256 measured alike, 0 or 512 slower */
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

/* The mask of the first n lanes (none for n <= 0, all for n >= 16). */
static inline __mmask16 lanes(int n)
{
    return (__mmask16)(n >= 16 ? 0xFFFF : n <= 0 ? 0 : (1u << n) - 1);
}

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

/* The n lanes of m (n <= 16) of a row of F16 or BF16 weights from src on, in fp32 (the
 * other lanes 0): F16 by F16C, BF16 by shifting it into the high half. */
static inline __m512 half16(const uint16_t *src, mhv_dtype dt, __mmask16 m)
{
    __m256i h = _mm256_maskz_loadu_epi16(m, src);
    if (dt == MHV_DT_F16)
        return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* dst(rows, KC)[:, 0..kc) = W(rows, ld)[:, k0..k0+kc) in fp32. */
static void convert_rows(float *dst, const void *w, mhv_dtype dt, size_t ld, int rows, int k0,
                         int kc)
{
    for (int r = 0; r < rows; r++) {
        const uint16_t *src = (const uint16_t *)w + (size_t)r * ld + (size_t)k0;
        float *d = dst + (size_t)r * KC;
        int k = 0;
        for (; k + 16 <= kc; k += 16) /* whole vectors: plain aligned stores are faster */
            _mm512_store_ps(d + k, half16(src + k, dt, 0xFFFF));
        if (k < kc)
            _mm512_mask_storeu_ps(d + k, lanes(kc - k), half16(src + k, dt, lanes(kc - k)));
    }
}

/* One step k of tile_fma. */
#define TILE_STEP(R, NV, w0, w1, w2, ldw, k, xp, acc)                                        \
    do {                                                                                      \
        __m512 x0 = _mm512_loadu_ps(xp), x1 = NV > 1 ? _mm512_loadu_ps((xp) + 16) : x0;       \
        _Pragma("GCC unroll 12") for (int i = 0; i < R; i++)                                  \
        {                                                                                     \
            const float *wb = i < 4 ? w0 : i < 8 ? w1 : w2;                                   \
            __m512 b = _mm512_set1_ps(wb[(size_t)(i & 3) * (ldw) + (size_t)(k)]);              \
            acc[i][0] = _mm512_fmadd_ps(b, x0, acc[i][0]);                                    \
            if (NV > 1)                                                                       \
                acc[i][1] = _mm512_fmadd_ps(b, x1, acc[i][1]);                                \
        }                                                                                     \
    } while (0)

/* The weight lines a tile asks for ahead of use, one per row every 16 steps: the rows of
 * `cur` from `lead` elements ahead of the step, continuing into the rows of `next` once past
 * `kc` when it is given (both ld bytes apart, esz bytes an element). cur NULL: only `next`,
 * from its start (the weights converted into a buffer are in L1 already; the next block to
 * convert is fetched while these tiles run instead of in a burst before it). */
typedef struct {
    const char *cur, *next;
    size_t ld;
    int esz, lead, kc;
} wstream;

static inline const char *wstream_at(const wstream *s, int k)
{
    int at = k + s->lead;
    if (!s->cur)
        return s->next + (size_t)at * (size_t)s->esz;
    if (s->next && at >= s->kc)
        return s->next + (size_t)(at - s->kc) * (size_t)s->esz;
    return s->cur + (size_t)at * (size_t)s->esz;
}

/* acc[i][v] += Σ_k w[i*ldw + k] · xp[k*xs + 16v .. +16] over k < kc, for i < R, v < NV,
 * with the weight lines of `pf` prefetched: with few tokens only one panel passes over the
 * rows, straight from memory (measured: forward at 16 and 32 tokens 5-10% faster than
 * leaving it to the hardware). */
static inline __attribute__((always_inline)) void
tile_fma(int R, int NV, int kc, const float *w, size_t ldw, const wstream *pf,
         const float *xp, size_t xs, __m512 acc[WR][2])
{
    const float *w0 = w, *w1 = w + 4 * ldw, *w2 = w + 8 * ldw;
    int k = 0;
    for (; k + 16 <= kc;) {
        const char *p = wstream_at(pf, k);
#pragma GCC unroll 12
        for (int i = 0; i < R; i++)
            _mm_prefetch(p + (size_t)i * pf->ld, _MM_HINT_T0);
        for (int e = k + 16; k < e; k++, xp += xs)
            TILE_STEP(R, NV, w0, w1, w2, ldw, k, xp, acc);
    }
    for (; k < kc; k++, xp += xs)
        TILE_STEP(R, NV, w0, w1, w2, ldw, k, xp, acc);
}

/* The prefetch of rows read in place: PFD elements ahead in the same rows. */
static inline wstream ahead(const float *w, size_t ldw)
{
    return (wstream){(const char *)w, NULL, ldw * sizeof(float), sizeof(float), PFD, 0};
}

/* Where a tile's accumulators come from and go. A chunk of the reduction (KC long) may be
 * cut into sub-blocks for the caches: its FMA chains then pause in `chain` between them,
 * unchanged (a stored and reloaded float is the same float), so the cut changes no byte. */
typedef struct {
    wstream pf;       /* the weight lines to prefetch */
    float *chain;     /* (WR, TP) the chunk's FMA chains so far, between sub-blocks */
    int chain_start;  /* this sub-block starts its chunk: the chains start from 0 */
    int chain_end;    /* this sub-block ends its chunk: the chains are added up */
    int first, last;  /* the chunk is the first / last of the reduction */
    float *kept;      /* (WR, TP) the sums of the chunks before this one */
    float *y;         /* y + token0 * ldy + column0 */
    size_t ldy;
    const float *bias;/* bias + column0, or NULL */
    int nt;           /* valid tokens of this panel (<= TP) */
} tile_io;

/* The tile of R weight rows x NV·16 tokens over one sub-block (see tile_io). */
static inline __attribute__((always_inline)) void
tile(int R, int NV, int kc, const float *w, size_t ldw, const float *xp, const tile_io *io)
{
    __m512 acc[WR][2];
    for (int i = 0; i < R; i++)
        for (int v = 0; v < NV; v++)
            acc[i][v] = io->chain_start ? _mm512_setzero_ps()
                                        : _mm512_load_ps(io->chain + (size_t)i * TP + 16 * v);
    tile_fma(R, NV, kc, w, ldw, &io->pf, xp, TP, acc);
    float *save = !io->chain_end ? io->chain : !io->last ? io->kept : NULL;
    if (io->chain_end && !io->first)
        for (int i = 0; i < R; i++)
            for (int v = 0; v < NV; v++)
                acc[i][v] = _mm512_add_ps(_mm512_load_ps(io->kept + (size_t)i * TP + 16 * v),
                                          acc[i][v]);
    if (save) {
        for (int i = 0; i < R; i++)
            for (int v = 0; v < NV; v++)
                _mm512_store_ps(save + (size_t)i * TP + 16 * v, acc[i][v]);
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
/* M(1) ... M(WR), and the table {NULL, p_1 ... p_WR} of functions made that way */
#define FOR_ROWS(M) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12)
#define ROW_FNS(p)                                                                            \
    {NULL, p##_1, p##_2, p##_3, p##_4, p##_5, p##_6, p##_7, p##_8, p##_9, p##_10, p##_11,    \
     p##_12}
_Static_assert(WR == 12, "FOR_ROWS and ROW_FNS list 12 rows");
FOR_ROWS(TILES)
#undef TILES
#undef TILE

static const tile_fn tiles[WR + 1][2] = {
    {NULL, NULL},           {tile_1_1, tile_1_2},   {tile_2_1, tile_2_2},
    {tile_3_1, tile_3_2},   {tile_4_1, tile_4_2},   {tile_5_1, tile_5_2},
    {tile_6_1, tile_6_2},   {tile_7_1, tile_7_2},   {tile_8_1, tile_8_2},
    {tile_9_1, tile_9_2},   {tile_10_1, tile_10_2}, {tile_11_1, tile_11_2},
    {tile_12_1, tile_12_2},
};

/* y(n, ldy)[:, o0..o1] = b (or 0): a linear layer with nothing to sum. */
static void fill_bias(float *y, size_t ldy, const float *b, int n, int o0, int o1)
{
    for (int i = 0; i < n; i++)
        for (int j = o0; j < o1; j++)
            y[(size_t)i * ldy + (size_t)j] = b ? b[j] : 0.0f;
}

/* ---- blocking from the caches ----
 *
 * The register tile (WR weight rows x TP tokens: 24 zmm accumulators, enough to cover the FMA
 * latency on two FMA ports, Intel's or AMD's, with one broadcast load per two FMAs) is fixed.
 * Around it the block sizes come from the caches read at run time (cpucache.h):
 * - sub-block kcb, a divisor of KC (so no chunk's FMA chain changes): the largest whose
 *   weight block (WR x kcb) fits in half of L1d, so it stays there while the token panels
 *   pass over it (512 with a 48 KiB L1d, 256 with 32 KiB);
 * - token group pg: the panels whose packed x over one chunk (pg x KC x TP floats) fits in
 *   half of L2, so the group's x comes from L2 while a weight block passes over it; the
 *   weights are read once per group;
 * - row super-blocks: KEPT_MAX / pg blocks of WR weight rows go chunk by chunk together
 *   (their earlier chunks' sums kept in a KEPT_MAX-tile buffer), so one chunk of the group's
 *   x serves all of them from L2 before the next chunk is read, instead of the whole
 *   reduction's x streaming past each row block (FFN down at 512 tokens: 3 MiB).
 * Tried: going chunk by chunk over all weight rows with the earlier chunks' sums kept in y
 * itself: 4-15% slower on Zen 5 (the sums' round trip through y and its transposes). */
enum { PG_MAX = 32, KCB_MIN = 64, KEPT_MAX = 64 };

/* The knobs `make bench --only sweep` turns (mhv_kernels_avx512_knobs): no byte depends on
 * them. */
static int knob_prefetch = PFD, knob_kept = KEPT_MAX;

void mhv_kernels_avx512_knobs(const mhv_avx512_knobs *k)
{
    knob_prefetch = k->prefetch > 0 ? k->prefetch : k->prefetch < 0 ? 0 : PFD;
    knob_kept = k->kept_tiles > 0 && k->kept_tiles < KEPT_MAX ? k->kept_tiles : KEPT_MAX;
}

/* Blocks of WR weight rows in a row super-block over a group of `panels` token panels: as
 * many as keep their sums in the kept buffer, at least one. */
static int super_blocks(int panels)
{
    return knob_kept < panels ? 1 : knob_kept / panels;
}

static void blocking(int *kcb, int *pg)
{
    const mhv_cpu_caches *c = mhv_cpu_caches_get();
    int k = KC;
    while (k > KCB_MIN && (size_t)k * WR * sizeof(float) > c->l1d / 2)
        k /= 2;
    size_t g = c->l2 / 2 / ((size_t)KC * TP * sizeof(float));
    *kcb = k;
    *pg = g < 1 ? 1 : g > PG_MAX ? PG_MAX : (int)g;
}

static void describe_avx512(char *buf, size_t size)
{
    int kcb, pg;
    blocking(&kcb, &pg);
    snprintf(buf, size,
             "tile %d weight rows x %d tokens (%d zmm accumulators), reduction in chunks of "
             "%d, sub-blocks of %d (from L1d), groups of %d tokens (from L2) x %d weight rows",
             WR, TP, 2 * WR, KC, kcb, pg * TP, super_blocks(pg) * WR);
}

/* One product y(n, out)[:, o0..o1] = x · W^T + b, x packed; and where its loops are. */
typedef struct {
    float *y;
    const float *xp;
    const char *w;      /* W(out, in) in its stored dtype */
    mhv_dtype wdt;
    size_t esz;
    const float *b;
    int n, in, out, o0, o1;
    float *wbuf;        /* (WR, KC) converted weights */
    float *chain;       /* (PG_MAX, WR, TP) each panel's chains paused between sub-blocks */
    int kcb;
} gemm;

/* Weight rows o.. (WR of them, r valid) over chunk c0..c1 for panels p0..p1, sub-block by
 * sub-block; the weights that come next start at row onext, column knext (for
 * prefetching; onext -1: none). */
static void row_block_chunk(const gemm *g, int o, int r, int c0, int c1, int p0, int p1,
                            float *kept, int onext, int knext)
{
    size_t in = (size_t)g->in, ldy = (size_t)g->out;
    const char *wo = g->w + (size_t)o * in * g->esz;
    for (int k0 = c0; k0 < c1; k0 += g->kcb) {
        int kc = c1 - k0 < g->kcb ? c1 - k0 : g->kcb;
        const float *wk = g->wbuf;
        size_t ldw = KC;
        wstream pf;
        /* the weights that come after these, fetched while the tiles run */
        const char *next = k0 + kc < c1 ? wo + (size_t)(k0 + kc) * g->esz
                           : onext >= 0 ? g->w + ((size_t)onext * in + (size_t)knext) * g->esz
                                        : NULL;
        if (g->wdt == MHV_DT_F32) {
            wk = (const float *)wo + k0, ldw = in;
            pf = (wstream){(const char *)wk, next, in * g->esz, (int)g->esz, knob_prefetch, kc};
        } else {
            convert_rows(g->wbuf, wo, g->wdt, in, r, k0, kc);
            pf = (wstream){NULL, next ? next : wo, in * g->esz, (int)g->esz, 0, kc};
        }
        for (int p = p0; p < p1; p++) {
            int nt = g->n - p * TP < TP ? g->n - p * TP : TP;
            tile_io io = {
                .pf = pf,
                .chain = g->chain + (size_t)(p - p0) * WR * TP,
                .kept = kept + (size_t)(p - p0) * WR * TP,
                .chain_start = k0 == c0, .chain_end = k0 + kc >= c1,
                .first = c0 == 0, .last = c1 >= g->in,
                .y = g->y + (size_t)p * TP * ldy + (size_t)o, .ldy = ldy,
                .bias = g->b ? g->b + o : NULL, .nt = nt,
            };
            tiles[r][nt > 16](kc, wk, ldw, g->xp + ((size_t)p * in + (size_t)k0) * TP, &io);
        }
    }
}

/* y(n, out)[:, o0..o1] = x · W(o0..o1, in)^T + b, x given packed by xpack. Loops, outside
 * in: token groups, blocks of WR weight rows, chunks, sub-blocks, the group's panels. */
static void linear_xp_cols_avx512(float *y, const float *xp, const void *w, mhv_dtype wdt,
                                  const float *b, int n, int in, int out, int o0, int o1)
{
    int np = (int)panels(n);
    if (in <= 0) {
        fill_bias(y, (size_t)out, b, n, o0, o1);
        return;
    }
    int kcb, pg;
    blocking(&kcb, &pg);
    float wbuf[WR * KC] __attribute__((aligned(64)));
    float chain[PG_MAX * WR * TP] __attribute__((aligned(64)));
    float kept[KEPT_MAX * WR * TP] __attribute__((aligned(64)));
    gemm g = {y, xp, w, wdt, mhv_dtype_size(wdt), b, n, in, out, o0, o1, wbuf, chain, kcb};
    for (int p0 = 0; p0 < np; p0 += pg) {
        int p1 = np - p0 < pg ? np : p0 + pg;
        /* ob row blocks at a time go chunk by chunk, their sums kept in `kept` */
        int ob = in <= KC ? 1 : super_blocks(p1 - p0);
        for (int os = o0; os < o1; os += ob * WR) {
            int oe = o1 - os < ob * WR ? o1 : os + ob * WR;
            for (int c0 = 0; c0 < in; c0 += KC) {
                int c1 = in - c0 < KC ? in : c0 + KC;
                for (int o = os; o < oe; o += WR) {
                    int r = oe - o < WR ? oe - o : WR;
                    float *kp = kept + (size_t)((o - os) / WR * (p1 - p0)) * WR * TP;
                    /* the weights after these: the next rows, the first rows' next chunk,
                     * or the next super-block's first */
                    int on = o + WR < oe ? o + WR : c1 < in ? os : oe < o1 ? oe : -1;
                    int kn = o + WR < oe ? c0 : c1 < in ? c1 : 0;
                    row_block_chunk(&g, o, r, c0, c1, p0, p1, kp, on, kn);
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

/* ---- weights stored (in, out): GPT-2's Conv1D ----
 *
 * Here W's rows run along the outputs, so W is the vector side as it is stored: a tile of
 * 12 tokens x 32 output columns broadcasts x from its rows in place against W(k, o..o+32),
 * read in place (F32) or from a zero-padded (in, 32) panel (F16/BF16, and the last columns).
 * Each element is a sum of KC-long FMA chains added in order, then + bias, as above. */

/* y(R tokens, ldy)[:, 0..nc) = x(R rows, stride in) · B(in, xs-strided, 32 columns) + bias. */
static inline __attribute__((always_inline)) void
ttile(int R, const float *x, int in, const float *bp, size_t xs, const float *bias, int nc,
      float *y, size_t ldy)
{
    float part[WR * TP] __attribute__((aligned(64)));
    int k0 = 0; /* in >= 1: the first chunk always runs */
    do {
        int kc = in - k0 < KC ? in - k0 : KC;
        __m512 acc[WR][2];
        for (int i = 0; i < R; i++)
            acc[i][0] = acc[i][1] = _mm512_setzero_ps();
        wstream pf = ahead(x + k0, (size_t)in);
        tile_fma(R, 2, kc, x + k0, (size_t)in, &pf, bp + (size_t)k0 * xs, xs, acc);
        for (int i = 0; i < R; i++)
            for (int v = 0; v < 2; v++) {
                float *pv = part + i * TP + 16 * v;
                _mm512_store_ps(pv, k0 ? _mm512_add_ps(_mm512_load_ps(pv), acc[i][v]) : acc[i][v]);
            }
    } while ((k0 += KC) < in);
    __mmask16 m0 = lanes(nc), m1 = lanes(nc - 16);
    __m512 b0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
    __m512 b1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
    for (int i = 0; i < R; i++) {
        _mm512_mask_storeu_ps(y + (size_t)i * ldy, m0, _mm512_add_ps(_mm512_load_ps(part + i * TP), b0));
        _mm512_mask_storeu_ps(y + (size_t)i * ldy + 16, m1,
                              _mm512_add_ps(_mm512_load_ps(part + i * TP + 16), b1));
    }
}

typedef void (*ttile_fn)(const float *x, int in, const float *bp, size_t xs, const float *bias,
                         int nc, float *y, size_t ldy);
#define TTILE(R)                                                                              \
    static void ttile_##R(const float *x, int in, const float *bp, size_t xs,                \
                          const float *bias, int nc, float *y, size_t ldy)                    \
    {                                                                                         \
        ttile(R, x, in, bp, xs, bias, nc, y, ldy);                                            \
    }
FOR_ROWS(TTILE)
#undef TTILE
static const ttile_fn ttiles[WR + 1] = ROW_FNS(ttile);

/* panel(in, TP) = W(:, o..o+nc) in fp32, columns past nc zero. */
static void tpanel(float *panel, const void *w, mhv_dtype dt, size_t ldw, int in, int o, int nc)
{
    __mmask16 m0 = lanes(nc), m1 = lanes(nc - 16);
    for (int k = 0; k < in; k++) {
        size_t at = (size_t)k * ldw + (size_t)o;
        __m512 v0, v1;
        if (dt == MHV_DT_F32) {
            v0 = _mm512_maskz_loadu_ps(m0, (const float *)w + at);
            v1 = _mm512_maskz_loadu_ps(m1, (const float *)w + at + 16);
        } else {
            v0 = half16((const uint16_t *)w + at, dt, m0);
            v1 = half16((const uint16_t *)w + at + 16, dt, m1);
        }
        _mm512_store_ps(panel + (size_t)k * TP, v0);
        _mm512_store_ps(panel + (size_t)k * TP + 16, v1);
    }
}

/* Up to this reduction length F32 weights are read in place; beyond, the rows of a 32-
 * column block (strided by the whole matrix width) span so many pages that copying them
 * into the panel first is faster (128 x 3072 x 768: 140 -> 205 GFLOP/s). */
#ifndef TP_DIRECT
#define TP_DIRECT 1024
#endif
static void linear_t_cols_avx512(float *y, const float *x, const void *w, mhv_dtype wdt,
                                 size_t ldw, const float *b, int n, int in, int out, int o0,
                                 int o1)
{
    if (in <= 0) {
        fill_bias(y, (size_t)out, b, n, o0, o1);
        return;
    }
    float *panel = aligned_alloc(64, (size_t)in * TP * sizeof *panel); /* (in, TP) */
    if (!panel) { /* the AVX2 path needs no buffer (other rounding, within the tolerance) */
        mhv_kernels_avx2()->linear_t_cols(y, x, w, wdt, ldw, b, n, in, out, o0, o1);
        return;
    }
    size_t ldy = (size_t)out;
    for (int o = o0; o < o1; o += TP) {
        int nc = o1 - o < TP ? o1 - o : TP;
        const float *bp = panel;
        size_t xs = TP;
        if (wdt == MHV_DT_F32 && nc == TP && in <= TP_DIRECT)
            bp = (const float *)w + o, xs = ldw;
        else
            tpanel(panel, w, wdt, ldw, in, o, nc);
        for (int t = 0; t < n; t += WR) {
            int r = n - t < WR ? n - t : WR;
            ttiles[r](x + (size_t)t * (size_t)in, in, bp, xs, b ? b + o : NULL, nc,
                      y + (size_t)t * ldy + (size_t)o, ldy);
        }
    }
    free(panel);
}

/* ---- element-wise functions (simd_math.h) on 16 lanes, tails masked ---- */

static inline __mmask16 tail_mask(size_t n)
{
    return (__mmask16)((1u << n) - 1);
}

#define V __m512
#define V_W 16
#define V_SET1 _mm512_set1_ps
#define V_ZERO _mm512_setzero_ps
#define V_ADD _mm512_add_ps
#define V_SUB _mm512_sub_ps
#define V_MUL _mm512_mul_ps
#define V_DIV _mm512_div_ps
#define V_FMADD _mm512_fmadd_ps
#define V_FNMADD _mm512_fnmadd_ps
#define V_MIN _mm512_min_ps
#define V_MAX _mm512_max_ps
#define V_ROUND(x) _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define V_ABS _mm512_abs_ps
#define V_SEL_GT(a, b, t, f) _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ), f, t)
#define V_POW2I(m)                                                                            \
    _mm512_castsi512_ps(                                                                      \
        _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(m), _mm512_set1_epi32(127)), 23))
#define V_LOADU _mm512_loadu_ps
#define V_STOREU _mm512_storeu_ps
#define V_LOAD_TAIL(p, n) _mm512_maskz_loadu_ps(tail_mask(n), p)
#define V_STORE_TAIL(p, v, n) _mm512_mask_storeu_ps(p, tail_mask(n), v)
#define VFN(name) name##16
#define VK(name) name##_avx512
#include "simd_math.h"

/* ---- softmax ---- */

/* p(width,): p[0..len) = softmax(p[0..len)) (scores already scaled), p[len..width) = 0.
 * With a sink logit (not NULL) it joins the max and the sum, its own share dropped. */
static void softmax_row(float *p, int len, int width, const float *sink)
{
    __m512 vm = _mm512_set1_ps(-INFINITY);
    for (int j = 0; j < len; j += 16)
        vm = _mm512_max_ps(vm, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), lanes(len - j),
                                                     p + j));
    float mx = _mm512_reduce_max_ps(vm);
    if (sink && *sink > mx)
        mx = *sink;
    /* a row of -inf scores would subtract -inf from -inf */
    if (mx == -INFINITY)
        mx = 0.0f;
    __m512 vmx = _mm512_set1_ps(mx), vsum = _mm512_setzero_ps();
    for (int j = 0; j < len; j += 16) {
        __mmask16 m = lanes(len - j);
        __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, p + j), vmx));
        e = _mm512_maskz_mov_ps(m, e);
        _mm512_mask_storeu_ps(p + j, m, e);
        vsum = _mm512_add_ps(vsum, e);
    }
    float sum = _mm512_reduce_add_ps(vsum);
    if (sink)
        sum += _mm512_cvtss_f32(exp16(_mm512_set1_ps(*sink - mx)));
    __m512 vi = _mm512_set1_ps(1.0f / sum);
    for (int j = 0; j < len; j += 16) {
        __mmask16 m = lanes(len - j);
        _mm512_mask_storeu_ps(p + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p + j), vi));
    }
    for (int j = len; j < width; j++)
        p[j] = 0.0f;
}

/* ---- attention ----
 *
 * Per block of QB query rows: scores = Q·K^T with K^T packed once per head into key
 * panels (xpack's layout: the keys are the "tokens"), a tile of 12 query rows x 32 keys
 * with the query values broadcast from Q in place; softmax; then P·V with V read in place
 * (its rows are contiguous along the head dim), a tile of 6 query rows x 64 dims. */

#define QB 12     /* query rows per block with scratch scores: one score tile, in L1 */
#define QB_MAX 48 /* the most per block when the scores go straight into probs */
#define PR 6  /* query rows per P·V tile */

static size_t attention_scratch_avx512(int n, int d)
{
    return panels(n) * TP * (size_t)d + (size_t)QB * (size_t)n + 16;
}

/* s(R, ld_s)[:, p*TP ..] = scale · Q(R rows) · K^T for the keys of panel p below nk. */
static inline __attribute__((always_inline)) void
score_tile(int R, const float *q, size_t ld_q, const float *kt, int d, float scale, float *s,
           size_t ld_s, int nkeys)
{
    __m512 acc[WR][2];
    for (int i = 0; i < R; i++)
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    wstream pf = ahead(q, ld_q);
    tile_fma(R, 2, d, q, ld_q, &pf, kt, TP, acc);
    __m512 vs = _mm512_set1_ps(scale);
    __mmask16 m0 = lanes(nkeys), m1 = lanes(nkeys - 16);
    for (int i = 0; i < R; i++) {
        _mm512_mask_storeu_ps(s + (size_t)i * ld_s, m0, _mm512_mul_ps(acc[i][0], vs));
        if (nkeys > 16)
            _mm512_mask_storeu_ps(s + (size_t)i * ld_s + 16, m1, _mm512_mul_ps(acc[i][1], vs));
    }
}

typedef void (*score_fn)(const float *q, size_t ld_q, const float *kt, int d, float scale,
                         float *s, size_t ld_s, int nkeys);
#define SCORE(R)                                                                              \
    static void score_##R(const float *q, size_t ld_q, const float *kt, int d, float scale,  \
                          float *s, size_t ld_s, int nkeys)                                   \
    {                                                                                         \
        score_tile(R, q, ld_q, kt, d, scale, s, ld_s, nkeys);                                 \
    }
FOR_ROWS(SCORE)
#undef SCORE
static const score_fn scores[WR + 1] = ROW_FNS(score);

/* o(R, ld_o)[:, 0..16·NV) = P(R rows, ld_p)[:, 0..nk) · V(nk, ld_v)[:, 0..16·NV), the last
 * vector masked to `mlast` lanes; with `resume` the FMA chains go on from o's values (a
 * block of keys after earlier ones: the same chains as in one pass). */
static inline __attribute__((always_inline)) void
pv_tile(int R, int NV, const float *p, size_t ld_p, const float *v, size_t ld_v, int nk,
        __mmask16 mlast, float *o, size_t ld_o, int resume)
{
    __m512 acc[PR][4];
#pragma GCC unroll 6
    for (int i = 0; i < R; i++)
#pragma GCC unroll 4
        for (int t = 0; t < NV; t++)
            acc[i][t] = resume ? _mm512_maskz_loadu_ps(t == NV - 1 ? mlast : 0xFFFF,
                                                       o + (size_t)i * ld_o + 16 * t)
                               : _mm512_setzero_ps();
    for (int j = 0; j < nk; j++, v += ld_v) {
        __m512 vv[4];
#pragma GCC unroll 4
        for (int t = 0; t < NV; t++)
            vv[t] = t == NV - 1 ? _mm512_maskz_loadu_ps(mlast, v + 16 * t) : _mm512_loadu_ps(v + 16 * t);
#pragma GCC unroll 6
        for (int i = 0; i < R; i++) {
            __m512 b = _mm512_set1_ps(p[(size_t)i * ld_p + (size_t)j]);
#pragma GCC unroll 4
            for (int t = 0; t < NV; t++)
                acc[i][t] = _mm512_fmadd_ps(b, vv[t], acc[i][t]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < R; i++)
#pragma GCC unroll 4
        for (int t = 0; t < NV; t++)
            _mm512_mask_storeu_ps(o + (size_t)i * ld_o + 16 * t, t == NV - 1 ? mlast : 0xFFFF,
                                  acc[i][t]);
}

typedef void (*pv_fn)(const float *p, size_t ld_p, const float *v, size_t ld_v, int nk,
                      __mmask16 mlast, float *o, size_t ld_o, int resume);
#define PV(R, NV)                                                                             \
    static void pv_##R##_##NV(const float *p, size_t ld_p, const float *v, size_t ld_v,      \
                              int nk, __mmask16 mlast, float *o, size_t ld_o, int resume)     \
    {                                                                                         \
        pv_tile(R, NV, p, ld_p, v, ld_v, nk, mlast, o, ld_o, resume);                         \
    }
#define PVS(R) PV(R, 1) PV(R, 2) PV(R, 3) PV(R, 4)
PVS(1) PVS(2) PVS(3) PVS(4) PVS(5) PVS(6)
#undef PVS
#undef PV
static const pv_fn pvs[PR + 1][5] = {
    {NULL},
    {NULL, pv_1_1, pv_1_2, pv_1_3, pv_1_4}, {NULL, pv_2_1, pv_2_2, pv_2_3, pv_2_4},
    {NULL, pv_3_1, pv_3_2, pv_3_3, pv_3_4}, {NULL, pv_4_1, pv_4_2, pv_4_3, pv_4_4},
    {NULL, pv_5_1, pv_5_2, pv_5_3, pv_5_4}, {NULL, pv_6_1, pv_6_2, pv_6_3, pv_6_4},
};

/* Query rows per block when the block's scores go straight into probs (no scratch): as
 * many as keep them (rows x n floats) in a quarter of L2, so each key panel and each V row
 * serves that many queries before it leaves the caches (long inputs: K^T and V of a head are
 * 0.5 MiB each at 2048 tokens), 12 to 48 and a multiple of 12. */
static int query_block(int keys)
{
    size_t fit = mhv_cpu_caches_get()->l2 / 4 / ((size_t)keys * sizeof(float)) / QB * QB;
    return fit < QB ? QB : fit > QB_MAX ? QB_MAX : (int)fit;
}

/* Keys per P·V block: as many V rows (d floats each) as fit in half of L1d, whole panels. */
static int key_block(int d)
{
    size_t fit = mhv_cpu_caches_get()->l1d / 2 / ((size_t)d * sizeof(float)) / TP * TP;
    return fit < TP ? TP : (int)fit;
}

/* Rows i0..i0+rows of probs·V into out, key block by key block (each tile's FMA chains go on
 * across blocks in key order, so the blocks change no byte). */
static void pv_block(const mhv_attn_args *a, const float *sb, int i0, int rows, int kb)
{
    int d = a->d, keys = mhv_attn_keys(a);
    int nk = mhv_attn_last_key(a, i0 + rows - 1) + 1; /* keys any row sees */
    for (int k0 = 0; k0 < nk; k0 += kb) {
        for (int r0 = 0; r0 < rows; r0 += PR) {
            int r = rows - r0 < PR ? rows - r0 : PR;
            /* keys before j0 or from nkr on have probability 0 in all these rows */
            int nkr = mhv_attn_last_key(a, i0 + r0 + r - 1) + 1;
            int j0 = mhv_attn_first_key(a, i0 + r0);
            int lo = k0 > j0 ? k0 : j0, hi = k0 + kb < nkr ? k0 + kb : nkr;
            if (lo >= hi)
                continue;
            for (int c0 = 0; c0 < d; c0 += 64) {
                int nc = d - c0 < 64 ? d - c0 : 64, nv = (nc + 15) / 16;
                pvs[r][nv](sb + (size_t)r0 * (size_t)keys + (size_t)lo, (size_t)keys,
                           a->v + (size_t)lo * a->ld_v + c0, a->ld_v, hi - lo,
                           lanes(nc - 16 * (nv - 1)),
                           a->out + (size_t)(i0 + r0) * a->ld_out + (size_t)c0, a->ld_out,
                           lo > j0);
            }
        }
    }
}

static void attention_avx512(const mhv_attn_args *a)
{
    int n = a->n, d = a->d, keys = mhv_attn_keys(a);
    if (!a->probs && !a->out)
        return;
    /* scratch: kt packed K^T (panels(keys), d, TP) | s (QB, keys) scores when probs is not
     * kept */
    float *kt = a->scratch;
    float *s = kt + panels(keys) * TP * (size_t)d;
    xpack_ld(kt, a->k, a->ld_k, keys, d);
    /* (rows, keys) straight into probs when every row is kept there in order */
    int direct = a->probs && !a->prow;
    int qb = direct ? query_block(keys) : QB, kb = key_block(d);
    for (int i0 = 0; i0 < n; i0 += qb) {
        int rows = n - i0 < qb ? n - i0 : qb;
        if (a->prow && mhv_attn_rows_idle(a, i0, i0 + rows))
            continue;
        float *sb = direct ? a->probs + (size_t)i0 * (size_t)keys : s;
        /* key panels outside, so each serves every row tile of the block from L1; the keys
         * any row of this block can see are first_key(i0) .. last_key(i0 + rows - 1) */
        int nkb = mhv_attn_last_key(a, i0 + rows - 1) + 1;
        for (int p = mhv_attn_first_key(a, i0) / TP; p * TP < nkb; p++)
            for (int r0 = 0; r0 < rows; r0 += WR) {
                int r = rows - r0 < WR ? rows - r0 : WR;
                /* these rows see keys up to last_key(i0 + r0 + r - 1) */
                int nkr = mhv_attn_last_key(a, i0 + r0 + r - 1) + 1;
                if (p * TP >= nkr)
                    continue;
                int nkeys = nkr - p * TP < TP ? nkr - p * TP : TP;
                scores[r](a->q + (size_t)(i0 + r0) * a->ld_q, a->ld_q,
                          kt + (size_t)p * TP * (size_t)d, d, a->scale,
                          sb + (size_t)r0 * (size_t)keys + (size_t)p * TP, (size_t)keys, nkeys);
            }
        for (int r = 0; r < rows; r++) {
            int i = i0 + r, first = mhv_attn_first_key(a, i), len = mhv_attn_last_key(a, i) + 1;
            float *row = sb + (size_t)r * (size_t)keys;
            for (int j = 0; j < first; j++) /* before a sliding window */
                row[j] = 0.0f;
            if (a->softcap > 0 || a->bias)
                score_extras_avx512(row + first, (size_t)(len - first),
                                    a->bias ? a->bias + (size_t)i * a->ld_bias + first : NULL,
                                    a->softcap);
            softmax_row(row + first, len - first, (a->probs ? keys : nkb) - first,
                        a->has_sink ? &a->sink : NULL);
        }
        for (int r = 0; !direct && a->probs && r < rows; r++) {
            float *keep = mhv_attn_prow(a, i0 + r);
            if (keep)
                memcpy(keep, sb + (size_t)r * (size_t)keys, (size_t)keys * sizeof *keep);
        }
        if (a->out)
            pv_block(a, sb, i0, rows, kb);
    }
}

static const mhv_kernels avx512_table = {
    .name = "avx512",
    .linear = linear_avx512,
    .linear_cols = linear_cols_avx512,
    .linear_t_cols = linear_t_cols_avx512,
    .xpack_floats = xpack_floats_avx512,
    .xpack = xpack_avx512,
    .xpack_rows = TP,
    .linear_xp_cols = linear_xp_cols_avx512,
    .describe = describe_avx512,
    .attention = attention_avx512,
    .attention_scratch = attention_scratch_avx512,
    .gelu_erf = gelu_erf_avx512,
    .gelu_tanh = gelu_tanh_avx512,
    .relu = relu_avx512,
    .silu = silu_avx512,
    .add = add_avx512,
};

const mhv_kernels *mhv_kernels_avx512(void)
{
    return &avx512_table;
}

#endif /* __x86_64__ */
