/* simd_math.h - the element-wise kernels written once for every vector width (ggml's
 * GGML_F32_VEC pattern): exp, tanh, GELU (erf and tanh forms), SiLU, ReLU, add, and the
 * attention's score extras (soft capping, bias).
 *
 * Included by avx2.c and avx512.c after they define, for their width W:
 *   V, V_SET1, V_ZERO, V_ADD, V_SUB, V_MUL, V_DIV, V_FMADD, V_FNMADD, V_MIN, V_MAX,
 *   V_ROUND (to nearest), V_ABS, V_SEL_GT(a, b, t, f) (a > b ? t : f lane by lane),
 *   V_POW2I(m) (2^m for integral m in [-127, 127], 0 at -127), V_LOADU, V_STOREU,
 *   V_LOAD_TAIL(p, n) / V_STORE_TAIL(p, v, n) (the first n < W lanes, the rest zero),
 *   V_W (lanes), VFN(name) (the vector function's name, e.g. exp8) and
 *   VK(name) (the kernel's name, e.g. gelu_erf_avx2).
 * Every lane is computed by the same operations in either width, so AVX2 and AVX-512 give
 * the same bytes. */

/* e^x to about 1 ulp: x = m·ln2 + r with ln2 split in two (Cody-Waite) so r is exact,
 * |r| <= ln2/2, a degree-6 polynomial (Cephes expf) for e^r, 2^m built in the exponent.
 * x below -88.38 (and -inf) gives 0, above 88.38 gives about 3.4e38. */
static inline V VFN(exp)(V x)
{
    x = V_MIN(V_MAX(x, V_SET1(-88.3762626647949f)), V_SET1(88.3762626647949f));
    V m = V_ROUND(V_MUL(x, V_SET1(1.44269504088896341f)));
    V r = V_FNMADD(m, V_SET1(0.693359375f), x);
    r = V_FNMADD(m, V_SET1(-2.12194440e-4f), r);
    V p = V_SET1(1.9875691500e-4f);
    p = V_FMADD(p, r, V_SET1(1.3981999507e-3f));
    p = V_FMADD(p, r, V_SET1(8.3334519073e-3f));
    p = V_FMADD(p, r, V_SET1(4.1665795894e-2f));
    p = V_FMADD(p, r, V_SET1(1.6666665459e-1f));
    p = V_FMADD(p, r, V_SET1(5.0000001201e-1f));
    p = V_FMADD(p, V_MUL(r, r), V_ADD(r, V_SET1(1.0f)));
    return V_MUL(p, V_POW2I(m));
}

/* x·Φ(x) = x/2 · (1 + erf(x/√2)). erf is N. Juffa's fp32 erff (max error 0.99 ulp): an odd
 * polynomial for |z| <= 0.9277 and 1 - exp(poly(|z|)) above, where 1 + erf is taken as
 * 2 - exp(..) or exp(..) directly, so negative x keep their relative accuracy. */
static inline V VFN(gelu_erf)(V x)
{
    V z = V_MUL(x, V_SET1(0.70710678118654752f));
    V t = V_ABS(z), s = V_MUL(z, z);
    /* |z| > 0.9277 */
    V r = V_FMADD(V_SET1(-1.72853470e-5f), t, V_SET1(3.83197126e-4f));
    V u = V_FMADD(V_SET1(-3.88396438e-3f), t, V_SET1(2.42546219e-2f));
    r = V_FMADD(r, s, u);
    r = V_FMADD(r, t, V_SET1(-1.06777877e-1f));
    r = V_FMADD(r, t, V_SET1(-6.34846687e-1f));
    r = V_FMADD(r, t, V_SET1(-1.28717512e-1f));
    r = V_FMADD(r, t, V_SUB(V_ZERO(), t));
    V e = VFN(exp)(r); /* erfc(|z|) */
    V big = V_SEL_GT(z, V_ZERO(), V_SUB(V_SET1(2.0f), e), e);
    /* |z| <= 0.9277 */
    V q = V_SET1(-5.96761703e-4f);
    q = V_FMADD(q, s, V_SET1(4.99119423e-3f));
    q = V_FMADD(q, s, V_SET1(-2.67681349e-2f));
    q = V_FMADD(q, s, V_SET1(1.12819925e-1f));
    q = V_FMADD(q, s, V_SET1(-3.76125336e-1f));
    q = V_FMADD(q, s, V_SET1(1.28379166e-1f));
    V small = V_ADD(V_SET1(1.0f), V_FMADD(q, z, z));
    V onep = V_SEL_GT(t, V_SET1(0.927734375f), big, small);
    return V_MUL(V_MUL(V_SET1(0.5f), x), onep);
}

/* x / (1 + e^-v): the logistic form of both the tanh GELU and SiLU, which keeps the
 * accuracy of exp for either sign (1 + tanh(u) = 2 / (1 + e^-2u)). */
static inline V VFN(x_sigmoid)(V x, V v)
{
    V e = VFN(exp)(V_SUB(V_ZERO(), v));
    return V_DIV(x, V_ADD(V_SET1(1.0f), e));
}

static inline V VFN(gelu_tanh)(V x)
{
    /* 2u = 2·sqrt(2/π)·(x + 0.044715 x³) */
    V x3 = V_MUL(V_MUL(x, x), x);
    V u = V_FMADD(V_SET1(0.044715f), x3, x);
    return VFN(x_sigmoid)(x, V_MUL(u, V_SET1(1.5957691216057308f)));
}

/* tanh(x) to about 2 ulp: an odd polynomial for |x| < 0.625 (x + x^3 P(x^2), P fitted to
 * tanh on that interval: 1.3 ulp), (1 - e^-2|x|) / (1 + e^-2|x|) with x's sign above (no
 * cancellation there: e^-2|x| <= 0.29). Gemma 2's soft capping, c·tanh(s/c). */
static inline V VFN(tanh)(V x)
{
    V ax = V_ABS(x), s = V_MUL(x, x);
    V p = V_SET1(0.002313850447535515f);
    p = V_FMADD(p, s, V_SET1(-0.008365538902580738f));
    p = V_FMADD(p, s, V_SET1(0.021776797249913216f));
    p = V_FMADD(p, s, V_SET1(-0.05396047607064247f));
    p = V_FMADD(p, s, V_SET1(0.13333310186862946f));
    p = V_FMADD(p, s, V_SET1(-0.3333333432674408f));
    V small = V_FMADD(V_MUL(x, s), p, x);
    V t = VFN(exp)(V_MUL(ax, V_SET1(-2.0f)));
    V big = V_DIV(V_SUB(V_SET1(1.0f), t), V_ADD(V_SET1(1.0f), t));
    big = V_SEL_GT(x, V_ZERO(), big, V_SUB(V_ZERO(), big));
    return V_SEL_GT(ax, V_SET1(0.625f), big, small);
}

static inline V VFN(silu)(V x) { return VFN(x_sigmoid)(x, x); }
static inline V VFN(relu)(V x) { return V_MAX(x, V_ZERO()); }

/* Applies f to x[0..n) W lanes at a time, the tail through V_LOAD_TAIL / V_STORE_TAIL. */
#define SIMD_MAP(x, n, f)                                                                     \
    do {                                                                                      \
        size_t i_ = 0;                                                                        \
        for (; i_ + V_W <= (n); i_ += V_W)                                                    \
            V_STOREU((x) + i_, f(V_LOADU((x) + i_)));                                         \
        if (i_ < (n))                                                                         \
            V_STORE_TAIL((x) + i_, f(V_LOAD_TAIL((x) + i_, (n) - i_)), (n) - i_);             \
    } while (0)

static void VK(gelu_erf)(float *x, size_t n) { SIMD_MAP(x, n, VFN(gelu_erf)); }
static void VK(gelu_tanh)(float *x, size_t n) { SIMD_MAP(x, n, VFN(gelu_tanh)); }
static void VK(silu)(float *x, size_t n) { SIMD_MAP(x, n, VFN(silu)); }
static void VK(relu)(float *x, size_t n) { SIMD_MAP(x, n, VFN(relu)); }

static void VK(add)(float *y, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + V_W <= n; i += V_W)
        V_STOREU(y + i, V_ADD(V_LOADU(y + i), V_LOADU(x + i)));
    if (i < n)
        V_STORE_TAIL(y + i, V_ADD(V_LOAD_TAIL(y + i, n - i), V_LOAD_TAIL(x + i, n - i)), n - i);
}

/* The scores p[0..len) of one query row (already scaled) as the attention's extras make
 * them, in the scalar kernel's order: soft capping c·tanh(s/c) when softcap > 0, then + the
 * row's bias when bias is not NULL. */
static void VK(score_extras)(float *p, size_t len, const float *bias, float softcap)
{
    V c = V_SET1(softcap);
    size_t j = 0;
#define SCORE_EXTRA(s, at, n)                                                                 \
    do {                                                                                      \
        if (softcap > 0)                                                                      \
            s = V_MUL(c, VFN(tanh)(V_DIV(s, c)));                                             \
        if (bias)                                                                             \
            s = V_ADD(s, n < V_W ? V_LOAD_TAIL(bias + at, n) : V_LOADU(bias + at));           \
    } while (0)
    for (; j + V_W <= len; j += V_W) {
        V s = V_LOADU(p + j);
        SCORE_EXTRA(s, j, V_W);
        V_STOREU(p + j, s);
    }
    if (j < len) {
        V s = V_LOAD_TAIL(p + j, len - j);
        SCORE_EXTRA(s, j, len - j);
        V_STORE_TAIL(p + j, s, len - j);
    }
#undef SCORE_EXTRA
}

#undef SIMD_MAP
