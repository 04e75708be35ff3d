/* bench.c - `make bench`: the CPU's FMA peak, the GEMM and attention kernels against it, the
 * BERT-base-shaped forward pass on 1 and 2 threads in F32 and BF16 (2b: the AVX-512 blocking
 * knobs swept on a few shapes), and the same forward pass
 * in PyTorch (bench/torch_ref.py through $MHAVIZ_BENCH_PYTHON, default python3) timed in the
 * same invocation, printed as one table with ratios.
 *
 * Timings are the best of several runs: the machines here are shared, and the minimum is the
 * figure least disturbed by other processes. */
#include <dlfcn.h>
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/dtype.h"
#include "model/forward.h"
#include "base/heads.h"
#include "nn/kernels/cpucache.h"
#include "nn/kernels/kernels.h"
#include "model/model.h"
#include "base/pool.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* CPU time of the calling thread: the one-thread kernel timings (peak, GEMM, attention) use
 * it, so time the scheduler gives to other processes on a shared machine is not counted
 * (their effect on the shared caches and memory still is). */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ull;

static float frand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) / 16777216.0) * 2.0f - 1.0f;
}

/* ---- 1. FMA peak: independent FMA chains, more than latency x ports of them ---- */

__attribute__((target("avx2,fma"))) static double peak_avx2(long iters)
{
    __m256 a0 = _mm256_set1_ps(0.1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0;
    __m256 a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
    const __m256 m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
    double t = cpu_now();
    for (long i = 0; i < iters; i++) {
#define F(x) x = _mm256_fmadd_ps(x, m, c);
        F(a0) F(a1) F(a2) F(a3) F(a4) F(a5) F(a6) F(a7) F(a8) F(a9) F(a10) F(a11)
        __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5),
                         "+x"(a6), "+x"(a7), "+x"(a8), "+x"(a9), "+x"(a10), "+x"(a11));
#undef F
    }
    t = cpu_now() - t;
    volatile float sink = a0[0] + a1[0] + a2[0] + a3[0] + a4[0] + a5[0] + a6[0] + a7[0] + a8[0] +
                          a9[0] + a10[0] + a11[0];
    (void)sink;
    return (double)iters * 12 * 16 / t / 1e9;
}

__attribute__((target("avx512f"))) static double peak_avx512(long iters)
{
    __m512 a0 = _mm512_set1_ps(0.1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0;
    __m512 a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
    const __m512 m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(0.001f);
    double t = cpu_now();
    for (long i = 0; i < iters; i++) {
#define F(x) x = _mm512_fmadd_ps(x, m, c);
        F(a0) F(a1) F(a2) F(a3) F(a4) F(a5) F(a6) F(a7) F(a8) F(a9) F(a10) F(a11)
        __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5),
                         "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
#undef F
    }
    t = cpu_now() - t;
    volatile float sink = _mm512_reduce_add_ps(_mm512_add_ps(a0, a11)) + a1[0] + a2[0] + a3[0] +
                          a4[0] + a5[0] + a6[0] + a7[0] + a8[0] + a9[0] + a10[0];
    (void)sink;
    return (double)iters * 12 * 32 / t / 1e9;
}

static double best_of(double (*f)(long), long iters, int reps)
{
    double best = 0;
    for (int r = 0; r < reps; r++) {
        double g = f(iters);
        if (g > best)
            best = g;
    }
    return best;
}

/* ---- machine ---- */

static void print_machine(void)
{
    char model[256] = "unknown", line[8192];
    int has_flags = 0;
    char flags[512] = "";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
            model[strcspn(model, "\n")] = 0;
        } else if (!has_flags && !strncmp(line, "flags", 5)) {
            has_flags = 1;
            const char *want[] = {" avx ", " avx2 ", " fma ", " f16c ", " avx512f ", " avx512bw ",
                                  " avx512_bf16 ", " amx_tile "};
            for (size_t i = 0; i < sizeof want / sizeof *want; i++)
                if (strstr(line, want[i]))
                    strncat(flags, want[i] + 1, sizeof flags - strlen(flags) - 1);
        }
    }
    if (f)
        fclose(f);
    printf("machine: %s, %d online CPUs, flags: %s\n", model, mhv_pool_online_cpus(), flags);
    const mhv_cpu_caches *c = mhv_cpu_caches_get();
    printf("cpu: %s family %d model %d; caches (%s): L1d %zu KiB, L2 %zu KiB, L3 %zu KiB\n",
           c->vendor, c->family, c->model, c->source, c->l1d >> 10, c->l2 >> 10, c->l3 >> 10);
    const mhv_kernels *K = mhv_kernels_select(getenv("MHAVIZ_KERNEL"));
    char how[256];
    K->describe(how, sizeof how);
    printf("mhaviz kernels: %s: %s\n\n", K->name, how);
}

/* ---- 2. GEMM ---- */

/* GFLOP/s of y(M, N) = x(M, Kd) · W + b with W (N, Kd) in dtype dt, or with `transposed`
 * W stored (Kd, N) as GPT-2's Conv1D keeps it. */
static double time_linear(const mhv_kernels *K, int M, int Kd, int N, mhv_dtype dt,
                          int transposed, int reps)
{
    float *x = malloc((size_t)M * (size_t)Kd * sizeof *x);
    float *y = malloc((size_t)M * (size_t)N * sizeof *y);
    size_t nw = (size_t)Kd * (size_t)N;
    void *w = malloc(nw * mhv_dtype_size(dt));
    float *b = calloc((size_t)N, sizeof *b);
    for (size_t i = 0; i < (size_t)M * (size_t)Kd; i++)
        x[i] = frand();
    for (size_t i = 0; i < nw; i++) {
        float v = frand() * 0.05f;
        if (dt == MHV_DT_F32)
            ((float *)w)[i] = v;
        else
            ((uint16_t *)w)[i] = mhv_f32_to_bf16(v);
    }
    /* as the forward pass calls it: a table that packs x packs it into a buffer it keeps
     * (the pack is timed too) */
    float *xp = K->xpack && !transposed ? malloc(K->xpack_floats(M, Kd) * sizeof *xp) : NULL;
    double best = 1e30;
    for (int r = 0; r < reps + 1; r++) {
        double t = cpu_now();
        if (transposed) {
            K->linear_t_cols(y, x, w, dt, (size_t)N, b, M, Kd, N, 0, N);
        } else if (xp) {
            K->xpack(xp, x, M, Kd);
            K->linear_xp_cols(y, xp, w, dt, b, M, Kd, N, 0, N);
        } else {
            K->linear(y, x, w, dt, b, M, Kd, N);
        }
        t = cpu_now() - t;
        if (r > 0 && t < best)
            best = t;
    }
    free(x), free(y), free(w), free(b), free(xp);
    return 2.0 * M * Kd * (double)N / best / 1e9;
}

/* oneDNN's sgemm, loaded at run time (Debian's libdnnl-dev; `make bench` installs it) so the
 * bench builds without it: y = x W^T on one thread (OMP_NUM_THREADS=1 is set before
 * loading). NULL when the library is absent. oneDNN 2.x's C API has no BF16 GEMM function,
 * so it is timed on the F32 rows only. */
typedef int (*sgemm_fn)(char transa, char transb, int64_t M, int64_t N, int64_t K, float alpha,
                        const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                        float *C, int64_t ldc);

static sgemm_fn load_onednn(void)
{
    setenv("OMP_NUM_THREADS", "1", 1);
    void *h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        h = dlopen("libdnnl.so", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return NULL;
    sgemm_fn f;
    *(void **)&f = dlsym(h, "dnnl_sgemm");
    return f;
}

static double time_onednn(sgemm_fn f, int M, int Kd, int N, int reps)
{
    float *x = malloc((size_t)M * (size_t)Kd * sizeof *x);
    float *w = malloc((size_t)N * (size_t)Kd * sizeof *w);
    float *y = malloc((size_t)M * (size_t)N * sizeof *y);
    for (size_t i = 0; i < (size_t)M * (size_t)Kd; i++)
        x[i] = frand();
    for (size_t i = 0; i < (size_t)N * (size_t)Kd; i++)
        w[i] = frand() * 0.05f;
    double best = 1e30;
    for (int r = 0; r < reps + 1; r++) {
        double t = cpu_now();
        /* row-major: y(M, N) = x(M, K) . W(N, K)^T */
        if (f('N', 'T', M, N, Kd, 1.0f, x, Kd, w, Kd, 0.0f, y, N) != 0)
            best = 0;
        t = cpu_now() - t;
        if (r > 0 && t < best)
            best = t;
    }
    free(x), free(w), free(y);
    return best > 0 ? 2.0 * M * Kd * (double)N / best / 1e9 : 0;
}

/* The GEMM shapes: BERT-base's and a 0.5B decoder's (Qwen2-0.5B) linear layers at 16, 32,
 * 128 and 512 rows, F32 and BF16 weights. */
static const struct { const char *what; int K, N; } gemm_mats[] = {
    {"BERT-base QKV/O", 768, 768},  {"BERT-base FFN up", 768, 3072},
    {"BERT-base FFN dn", 3072, 768}, {"0.5B dec. QO", 896, 896},
    {"0.5B dec. FFN up", 896, 4864}, {"0.5B dec. FFN dn", 4864, 896},
};
static const int gemm_rows[] = {16, 32, 128, 512};
#define N_MATS ((int)(sizeof gemm_mats / sizeof *gemm_mats))
#define N_ROWS ((int)(sizeof gemm_rows / sizeof *gemm_rows))

/* PyTorch's time (ms) for every shape of the table, [mat][rows][bf16], from
 * bench/torch_gemm.py run by $MHAVIZ_BENCH_PYTHON; 0 where not measured. */
static void run_torch_gemm(double ms[N_MATS][N_ROWS][2], int reps)
{
    char shapes[4096] = "", cmd[8192];
    for (int m = 0; m < N_MATS; m++)
        for (int r = 0; r < N_ROWS; r++)
            for (int b = 0; b < 2; b++) {
                char one[64];
                snprintf(one, sizeof one, "%s%d,%d,%d,%s", *shapes ? ";" : "", gemm_rows[r],
                         gemm_mats[m].K, gemm_mats[m].N, b ? "BF16" : "F32");
                strncat(shapes, one, sizeof shapes - strlen(shapes) - 1);
            }
    const char *py = getenv("MHAVIZ_BENCH_PYTHON");
    snprintf(cmd, sizeof cmd, "'%s' bench/torch_gemm.py --reps %d --shapes '%s' 2>&1",
             py && *py ? py : "python3", reps, shapes);
    memset(ms, 0, sizeof(double) * N_MATS * N_ROWS * 2);
    FILE *f = popen(cmd, "r");
    if (!f)
        return;
    char line[512], dt[8];
    int M, Kd, N;
    double t;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "GEMM %d %d %d %7s ms=%lf", &M, &Kd, &N, dt, &t) == 5)
            for (int m = 0; m < N_MATS; m++)
                for (int r = 0; r < N_ROWS; r++)
                    if (gemm_mats[m].K == Kd && gemm_mats[m].N == N && gemm_rows[r] == M)
                        ms[m][r][strcmp(dt, "BF16") == 0] = t;
    pclose(f);
}

static void gemm_section(const mhv_kernels *const *tables, int nt, double peak, int reps)
{
    sgemm_fn onednn = load_onednn();
    static double tms[N_MATS][N_ROWS][2];
    run_torch_gemm(tms, 2 * reps);
    printf("2. GEMM y(M,N) = x(M,K) W(N,K)^T, 1 thread, GFLOP/s and %% of the reference peak;\n"
           "   oneDNN %s (sgemm, F32 only); torch: PyTorch's F.linear (BF16 rows: both operands\n"
           "   bf16, its own arithmetic); last column: time of the widest mhaviz table / torch's\n",
           onednn ? "(libdnnl)" : "not found (apt-get install libdnnl-dev)");
    printf("   %-16s %-22s", "", "");
    for (int t = 0; t < nt; t++)
        printf(" %15s", tables[t]->name);
    printf(" %15s %15s %8s\n", "oneDNN", "torch", "t/torch");
    for (int m = 0; m < N_MATS; m++)
        for (int r = 0; r < N_ROWS; r++)
            for (int b = 0; b < 2; b++) {
                mhv_dtype dt = b ? MHV_DT_BF16 : MHV_DT_F32;
                int M = gemm_rows[r], Kd = gemm_mats[m].K, N = gemm_mats[m].N;
                double flop = 2.0 * M * Kd * (double)N, g = 0;
                printf("   %-16s %4d x %4d x %4d %-4s", gemm_mats[m].what, M, Kd, N,
                       mhv_dtype_name(dt));
                for (int t = 0; t < nt; t++) {
                    g = time_linear(tables[t], M, Kd, N, dt, 0, 2 * reps);
                    printf("   %6.1f %5.1f%%", g, 100 * g / peak);
                }
                double o = onednn && !b ? time_onednn(onednn, M, Kd, N, 2 * reps) : 0;
                if (o > 0)
                    printf("   %6.1f %5.1f%%", o, 100 * o / peak);
                else
                    printf(" %15s", "-");
                double tt = tms[m][r][b];
                if (tt > 0)
                    printf("   %6.1f %5.1f%%   %5.2fx\n", flop / tt / 1e6,
                           100 * flop / tt / 1e6 / peak, flop / g / 1e6 / tt);
                else
                    printf(" %15s %8s\n", "-", "-");
                fflush(stdout);
            }

    static const struct { const char *what; int M, K, N; } ts[] = {
        {"GPT-2 c_attn W^T", 128, 768, 2304}, {"GPT-2 c_proj W^T", 128, 3072, 768},
    };
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) {
        printf("   %-16s %4d x %4d x %4d F32 ", ts[i].what, ts[i].M, ts[i].K, ts[i].N);
        for (int t = 0; t < nt; t++) {
            double g = time_linear(tables[t], ts[i].M, ts[i].K, ts[i].N, MHV_DT_F32, 1, 2 * reps);
            printf("   %6.1f %5.1f%%", g, 100 * g / peak);
        }
        printf("\n");
        fflush(stdout);
    }
}

/* ---- --only sweep: the AVX-512 blocking knobs on a few shapes ----
 *
 * For a CPU not measured before: the GEMM under each knob that changes no byte (sub-block of
 * the reduction and token group, through the caches they are derived from; weight prefetch
 * distance; row super-block), one at a time around the default, as a % of the default. What
 * wins by more than the noise is where that CPU's blocking should go. */
static void sweep_section(int reps)
{
    const mhv_kernels *K = mhv_kernels_avx512_if_supported();
    if (!K) {
        printf("\n2b. sweep: no AVX-512 on this CPU\n");
        return;
    }
    static mhv_cpu_caches base, c; /* the override keeps the pointer */
    base = *mhv_cpu_caches_get();
    static const struct { const char *name; int l1, l2, prefetch, kept; } var[] = {
        {"default", 0, 0, 0, 0},  {"L1d 32K", 32, 0, 0, 0},  {"L1d 16K", 16, 0, 0, 0},
        {"L2 256K", 0, 256, 0, 0}, {"L2 512K", 0, 512, 0, 0}, {"L2 2M", 0, 2048, 0, 0},
        {"pf none", 0, 0, -1, 0}, {"pf 64", 0, 0, 64, 0},    {"pf 256", 0, 0, 256, 0},
        {"pf 512", 0, 0, 512, 0}, {"kept 16", 0, 0, 0, 16},  {"kept 32", 0, 0, 0, 32},
    };
    static const struct { int M, K, N; mhv_dtype dt; } sh[] = {
        {16, 768, 768, MHV_DT_F32},    {16, 768, 768, MHV_DT_BF16},
        {32, 768, 3072, MHV_DT_F32},   {32, 768, 3072, MHV_DT_BF16},
        {128, 3072, 768, MHV_DT_F32},  {128, 768, 3072, MHV_DT_F32},
        {512, 768, 3072, MHV_DT_F32},  {512, 4864, 896, MHV_DT_F32},
        {512, 896, 4864, MHV_DT_BF16},
    };
    int nv = (int)(sizeof var / sizeof *var);
    printf("\n2b. sweep: avx512 GEMM, 1 thread: GFLOP/s of the default blocking, then each knob as a %% "
           "of it\n   (L1d/L2: the caches the sub-block and token group are derived from; pf: "
           "weight prefetch\n   distance in floats; kept: tiles of a row super-block)\n");
    printf("   %-20s", "");
    for (int v = 0; v < nv; v++)
        printf(" %8s", var[v].name);
    printf("\n");
    for (size_t i = 0; i < sizeof sh / sizeof *sh; i++) {
        printf("   %4d x %4d x %4d %-4s", sh[i].M, sh[i].K, sh[i].N, mhv_dtype_name(sh[i].dt));
        double g0 = 0;
        for (int v = 0; v < nv; v++) {
            c = base;
            if (var[v].l1)
                c.l1d = (size_t)var[v].l1 << 10;
            if (var[v].l2)
                c.l2 = (size_t)var[v].l2 << 10;
            mhv_cpu_caches_override(&c);
            mhv_kernels_avx512_knobs(&(mhv_avx512_knobs){var[v].prefetch, var[v].kept});
            double g = time_linear(K, sh[i].M, sh[i].K, sh[i].N, sh[i].dt, 0, 2 * reps);
            if (v == 0)
                printf(" %8.1f", g0 = g);
            else
                printf(" %7.1f%%", 100 * g / g0);
            fflush(stdout);
        }
        printf("\n");
    }
    mhv_cpu_caches_override(&base);
    mhv_kernels_avx512_knobs(&(mhv_avx512_knobs){0, 0});
}

/* ---- 3. attention: heads x one head each, probabilities written as for selected heads ---- */

/* The extras a family's heads add (kernels.h): none, a score bias (T5, ALiBi), Gemma 2's
 * soft capping, GPT-OSS's sink; or cross-attention over nk keys. */
enum { ATT_PLAIN, ATT_BIAS, ATT_SOFTCAP, ATT_SINK };

static double time_attention(const mhv_kernels *K, int heads, int n, int nk, int d, int extra,
                             int reps)
{
    size_t H = (size_t)heads * (size_t)d, big = (size_t)(n > nk ? n : nk), keys = (size_t)nk;
    float *q = malloc(big * H * sizeof *q), *k = malloc(big * H * sizeof *k);
    float *v = malloc(big * H * sizeof *v), *o = malloc(big * H * sizeof *o);
    float *p = malloc((size_t)n * keys * (size_t)heads * sizeof *p);
    float *bias = malloc((size_t)n * keys * sizeof *bias);
    float *s = malloc(K->attention_scratch((int)big, d) * sizeof *s);
    for (size_t i = 0; i < big * H; i++)
        q[i] = frand(), k[i] = frand(), v[i] = frand();
    for (size_t i = 0; i < (size_t)n * keys; i++)
        bias[i] = frand();
    double best = 1e30;
    for (int r = 0; r < reps + 1; r++) {
        double t = cpu_now();
        for (int h = 0; h < heads; h++) {
            size_t off = (size_t)h * (size_t)d;
            mhv_attn_args a = {
                .q = q + off, .k = k + off, .v = v + off, .n = n, .nk = nk, .d = d, .ld_q = H,
                .ld_k = H, .ld_v = H, .scale = 0.125f, .causal = 0,
                .probs = p + (size_t)h * (size_t)n * keys, .scratch = s, .out = o + off,
                .ld_out = H, .bias = extra == ATT_BIAS ? bias : NULL, .ld_bias = keys,
                .softcap = extra == ATT_SOFTCAP ? 50.0f : 0, .has_sink = extra == ATT_SINK,
            };
            K->attention(&a);
        }
        t = cpu_now() - t;
        if (r > 0 && t < best)
            best = t;
    }
    free(q), free(k), free(v), free(o), free(p), free(bias), free(s);
    return 4.0 * heads * (double)n * (double)nk * d / best / 1e9;
}

/* ---- 4. forward: a BERT-base-shaped model with random weights, built in memory ---- */

typedef struct {
    mhv_model m;
    void **blocks;
    int n_blocks;
} mem_model;

static void *keep(mem_model *mm, void *p)
{
    mm->blocks[mm->n_blocks++] = p;
    return p;
}

static mhv_mat rand_mat(mem_model *mm, int rows, int cols, mhv_dtype dt)
{
    size_t n = (size_t)rows * (size_t)cols;
    void *p = keep(mm, malloc(n * mhv_dtype_size(dt)));
    for (size_t i = 0; i < n; i++) {
        float v = frand() * 0.035f; /* about BERT's initializer_range 0.02 std */
        if (dt == MHV_DT_F32)
            ((float *)p)[i] = v;
        else
            ((uint16_t *)p)[i] = mhv_f32_to_bf16(v);
    }
    return (mhv_mat){.data = p, .dtype = dt, .rows = rows, .cols = cols};
}

static float *const_vec(mem_model *mm, int n, float v)
{
    float *p = keep(mm, malloc((size_t)n * sizeof *p));
    for (int i = 0; i < n; i++)
        p[i] = v;
    return p;
}

static float *rand_vec(mem_model *mm, int n)
{
    float *p = keep(mm, malloc((size_t)n * sizeof *p));
    for (int i = 0; i < n; i++)
        p[i] = frand() * 0.02f;
    return p;
}

static mem_model *bert_base(mhv_dtype dt)
{
    mem_model *mm = calloc(1, sizeof *mm);
    mhv_config *c = &mm->m.cfg;
    mhv_config_set_type(c, "bert", NULL);
    c->hidden_size = 768, c->num_layers = 12, c->num_heads = 12, c->num_kv_heads = 12;
    c->head_dim = 64, c->intermediate_size = 3072, c->vocab_size = 21128;
    c->max_positions = 512, c->type_vocab_size = 2, c->layer_norm_eps = 1e-12f;
    c->act = MHV_ACT_GELU, c->causal = 0;
    int H = 768, I = 3072;
    mm->blocks = calloc(512, sizeof *mm->blocks);
    mm->m.dtype = dt;
    mm->m.word_emb = rand_mat(mm, c->vocab_size, H, dt);
    mm->m.pos_emb = rand_mat(mm, c->max_positions, H, dt);
    mm->m.type_emb = rand_mat(mm, 2, H, dt);
    mm->m.emb_ln_g = const_vec(mm, H, 1.0f), mm->m.emb_ln_b = const_vec(mm, H, 0.0f);
    mm->m.layers = keep(mm, calloc((size_t)c->num_layers, sizeof *mm->m.layers));
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &mm->m.layers[l];
        ly->q = rand_mat(mm, H, H, dt), ly->k = rand_mat(mm, H, H, dt);
        ly->v = rand_mat(mm, H, H, dt), ly->o = rand_mat(mm, H, H, dt);
        ly->ffn_up = rand_mat(mm, I, H, dt), ly->ffn_down = rand_mat(mm, H, I, dt);
        ly->q_b = rand_vec(mm, H), ly->k_b = rand_vec(mm, H), ly->v_b = rand_vec(mm, H);
        ly->o_b = rand_vec(mm, H), ly->ffn_up_b = rand_vec(mm, I), ly->ffn_down_b = rand_vec(mm, H);
        ly->ln_attn_g = const_vec(mm, H, 1.0f), ly->ln_attn_b = const_vec(mm, H, 0.0f);
        ly->ln_ffn_g = const_vec(mm, H, 1.0f), ly->ln_ffn_b = const_vec(mm, H, 0.0f);
    }
    return mm;
}

static void mem_model_free(mem_model *mm)
{
    for (int i = 0; i < mm->n_blocks; i++)
        free(mm->blocks[i]);
    free(mm->blocks);
    free(mm);
}

/* Best wall time in ms of a forward pass capturing `heads` on `threads` threads. */
static double time_forward(const mhv_model *m, int n, int threads, const char *heads, int reps)
{
    mhv_forward_params p = {.threads = threads};
    mhv_forward_ctx *c;
    mhv_error err = {0};
    mhv_heads sel;
    if (mhv_forward_ctx_new(&p, &c, &err) ||
        mhv_heads_parse(heads, m->cfg.num_layers, m->cfg.num_heads, &sel, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        exit(1);
    }
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    for (int i = 0; i < n; i++)
        ids[i] = 100 + (int32_t)((unsigned)(i * 7919) % 20000u);
    double best = 1e30;
    for (int r = 0; r < reps + 1; r++) {
        mhv_attn a;
        double t = now();
        if (mhv_forward_run(c, m, ids, n, &sel, &a, &err)) {
            fprintf(stderr, "bench: %s\n", err.msg);
            exit(1);
        }
        t = now() - t;
        mhv_attn_free(&a);
        if (r > 0 && t < best) /* the first run warms the pool, arena and page tables */
            best = t;
    }
    free(ids);
    mhv_heads_free(&sel);
    mhv_forward_ctx_free(c);
    return best * 1e3;
}

/* ---- 5. PyTorch, same shapes, same threads ---- */

#define N_SEQ 4
static const int fwd_seqs[N_SEQ] = {16, 32, 128, 512};

/* A PyTorch to compare with: bench/torch_ref.py run by `python` with --impl `impl` and the
 * environment assignments `env` in front. */
typedef struct {
    const char *label;
    const char *python;
    const char *impl;
    const char *env;
    int target;          /* one of the two the targets are set against */
    double ms[N_SEQ][2]; /* [seq][threads-1], best of the rounds; 0 = not measured */
    int measured;
} torch_ref;

/* Runs r once, lowering r->ms to what it measures; describes the run when `verbose`. */
static void run_torch(torch_ref *r, int reps, int verbose)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s '%s' bench/torch_ref.py --impl %s --seqs 16,32,128,512 --threads 1,2 "
             "--reps %d 2>&1",
             r->env, r->python, r->impl, reps);
    FILE *f = popen(cmd, "r");
    if (!f)
        return;
    char line[4096], last[4096] = "";
    int got = 0;
    while (fgets(line, sizeof line, f)) {
        int seq, th;
        double ms;
        if (sscanf(line, "RESULT seq=%d threads=%d ms=%lf", &seq, &th, &ms) == 3) {
            for (int i = 0; i < N_SEQ; i++)
                if (fwd_seqs[i] == seq && th >= 1 && th <= 2) {
                    double *t = &r->ms[i][th - 1];
                    if (*t == 0 || ms < *t)
                        *t = ms;
                    got = 1;
                }
        } else {
            snprintf(last, sizeof last, "%s", line);
            if (verbose)
                printf("     %s", line);
        }
    }
    int rc = pclose(f);
    r->measured |= got;
    if (!got && verbose)
        printf("     (not measured: exit status %d%s%s)\n", rc, *last ? ": " : "", last);
}

/* MHAVIZ_BENCH_CACHES=L1D,L2 (KiB) times the kernels with the blocks they would choose on a
 * CPU with those caches (for comparing block sizes on one machine). */
static void override_caches(void)
{
    static mhv_cpu_caches c;
    const char *e = getenv("MHAVIZ_BENCH_CACHES");
    unsigned long l1, l2;
    if (!e || sscanf(e, "%lu,%lu", &l1, &l2) != 2)
        return;
    c = *mhv_cpu_caches_get();
    c.l1d = (size_t)l1 << 10, c.l2 = (size_t)l2 << 10, c.source = "MHAVIZ_BENCH_CACHES";
    mhv_cpu_caches_override(&c);
}

int main(int argc, char **argv)
{
    /* --quick: fewer repetitions; --only gemm|attention|forward: that section (after the
     * peak) */
    int quick = 0;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: bench [--quick] [--only gemm|attention|forward|sweep]\n");
            return 2;
        }
    }
    int reps = quick ? 2 : 5;
    override_caches();
    print_machine();
    const mhv_kernels *K = mhv_kernels_select(getenv("MHAVIZ_KERNEL"));
    /* the fast tables this CPU has, compared side by side in sections 2 and 3 */
    const mhv_kernels *tables[2];
    int nt = 0;
    if (mhv_kernels_avx2_if_supported())
        tables[nt++] = mhv_kernels_avx2_if_supported();
    if (mhv_kernels_avx512_if_supported())
        tables[nt++] = mhv_kernels_avx512_if_supported();
    if (!nt)
        tables[nt++] = K;

    long it = quick ? 20000000 : 100000000;
    double p2 = best_of(peak_avx2, it, 3), p5 = 0;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        p5 = best_of(peak_avx512, it / 2, 3);
    double peak = p5 > p2 ? p5 : p2;
    printf("1. fp32 FMA peak per core: AVX2 %.1f GFLOP/s", p2);
    if (p5 > 0)
        printf(", AVX-512 %.1f GFLOP/s", p5);
    else
        printf(", AVX-512 not on this CPU");
    printf("  -> reference peak %.1f GFLOP/s\n\n", peak);

    if (!only || strcmp(only, "gemm") == 0)
        gemm_section(tables, nt, peak, reps);
    if (!only || strcmp(only, "sweep") == 0)
        sweep_section(reps);
    if (!only || strcmp(only, "attention") == 0) {
        printf("\n3. attention, 12 heads x dim 64, probabilities written, 1 thread, GFLOP/s and %% "
               "of peak\n  %10s", "");
        for (int t = 0; t < nt; t++)
            printf(" %15s", tables[t]->name);
        printf("\n");
        static const int as[] = {16, 128, 512, 2048};
        for (int i = 0; i < 4; i++) {
            printf("   seq %4d ", as[i]);
            for (int t = 0; t < nt; t++) {
                double g = time_attention(tables[t], 12, as[i], as[i], 64, ATT_PLAIN,
                                          as[i] >= 2048 ? 2 : 2 * reps);
                printf("   %6.1f %5.1f%%", g, 100 * g / peak);
            }
            printf("\n");
            fflush(stdout);
        }
        /* the heads the scalar kernel used to take, and an encoder-decoder's cross-attention */
        static const struct {
            const char *name;
            int n, nk, extra;
        } xs[] = {{"512 + bias", 512, 512, ATT_BIAS},  {"512 + cap", 512, 512, ATT_SOFTCAP},
                  {"512 + sink", 512, 512, ATT_SINK},   {"x 50x1500", 50, 1500, ATT_PLAIN}};
        for (int i = 0; i < 4; i++) {
            printf("   %-10s", xs[i].name);
            for (int t = 0; t < nt; t++) {
                double g = time_attention(tables[t], 12, xs[i].n, xs[i].nk, 64, xs[i].extra,
                                          2 * reps);
                printf("   %6.1f %5.1f%%", g, 100 * g / peak);
            }
            printf("\n");
            fflush(stdout);
        }
        printf("   (bias: T5/ALiBi score bias; cap: Gemma 2 soft capping; sink: GPT-OSS; x: "
               "cross-attention, 50 queries over 1500 keys)\n");

    }
    if (!only || strcmp(only, "forward") == 0) {
        printf("\n4. BERT-base-shaped forward (12 layers, 768, 12 heads, vocab 21128), every head "
               "captured, %s kernels, ms\n", K->name);
        printf("5. PyTorch, same model shape, fp32, eager attention with the probabilities "
               "returned:\n");
        const char *py = getenv("MHAVIZ_BENCH_PYTHON");
        const char *dpy = getenv("MHAVIZ_BENCH_DEBIAN_PYTHON");
        /* Debian's OpenBLAS, OpenMP build, whichever libblas.so.3 the alternatives point at */
        const char *oblas = "LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp";
        char oblas512[256];
        snprintf(oblas512, sizeof oblas512, "%s OPENBLAS_CORETYPE=SkylakeX", oblas);
        /* A and B are what users run; C is B with OpenBLAS told to use its AVX-512 kernels,
         * which its CPU detection does not pick on every AVX-512 CPU (Zen 5: Haswell) */
        torch_ref refs[3] = {
            {"A: PyPI torch + transformers BertModel", py && *py ? py : "python3", "transformers",
             "", 1, {{0}}, 0},
            {"B: Debian python3-torch + OpenBLAS", dpy && *dpy ? dpy : "/usr/bin/python3", "plain",
             oblas, 1, {{0}}, 0},
            {"C: as B with OPENBLAS_CORETYPE=SkylakeX (not a default)",
             dpy && *dpy ? dpy : "/usr/bin/python3", "plain", oblas512, 0, {{0}}, 0},
        };
        int nrefs = p5 > 0 ? 3 : 2;
        /* Rounds of mhaviz then PyTorch, keeping each cell's best: on a shared machine the load
         * drifts, and alternating keeps either side from getting only the quiet minutes. */
        int rounds = quick ? 1 : 2;
        double ms[2][N_SEQ][2] = {{{0}}}; /* [dtype][seq][threads-1] */
        for (int round = 0; round < rounds; round++) {
            for (int t = 0; t < 2; t++) {
                mhv_dtype dt = t ? MHV_DT_BF16 : MHV_DT_F32;
                mem_model *mm = bert_base(dt);
                for (int s = 0; s < N_SEQ; s++)
                    for (int th = 1; th <= 2; th++) {
                        /* 2 threads vary most from run to run on a shared host */
                        double v = time_forward(&mm->m, fwd_seqs[s], th, "all",
                                                fwd_seqs[s] >= 512 && th == 1 ? (reps + 1) / 2
                                                                              : reps);
                        double *cell = &ms[t][s][th - 1];
                        if (*cell == 0 || v < *cell)
                            *cell = v;
                    }
                mem_model_free(mm);
            }
            for (int r = 0; r < nrefs; r++) {
                if (round == 0)
                    printf("   %s (%s)\n", refs[r].label, refs[r].python);
                if (round == 0 || refs[r].measured)
                    run_torch(&refs[r], reps, round == 0);
            }
            fflush(stdout);
        }
        /* the whole-run target's shape: one head of layer 0 */
        mem_model *mm = bert_base(MHV_DT_F32);
        double one_head = time_forward(&mm->m, 32, 2, "0:0", reps);
        mem_model_free(mm);

        printf("\n   seq thr | mhaviz F32   BF16 |");
        for (int r = 0; r < nrefs; r++)
            if (refs[r].measured)
                printf(" %c ms   F32/%c |", refs[r].label[0], refs[r].label[0]);
        printf(" F32 / faster of A, B\n");
        for (int s = 0; s < N_SEQ; s++)
            for (int th = 1; th <= 2; th++) {
                printf("   %3d  %d  | %8.1f %7.1f |", fwd_seqs[s], th, ms[0][s][th - 1],
                       ms[1][s][th - 1]);
                double fastest = 0;
                for (int r = 0; r < nrefs; r++) {
                    if (!refs[r].measured)
                        continue;
                    double t = refs[r].ms[s][th - 1];
                    if (t > 0)
                        printf(" %7.1f %6.2fx |", t, ms[0][s][th - 1] / t);
                    else
                        printf(" %7s %7s |", "-", "-");
                    if (refs[r].target && t > 0 && (fastest == 0 || t < fastest))
                        fastest = t;
                }
                if (fastest > 0)
                    printf("   %.2fx (target %s)\n", ms[0][s][th - 1] / fastest,
                           fwd_seqs[s] <= 32 ? "<= 0.5x" : "<= 0.8x");
                else
                    printf("   -\n");
            }
        printf("   2-thread speed-up (F32): ");
        for (int s = 0; s < N_SEQ; s++)
            printf("seq %d %.2fx  ", fwd_seqs[s], ms[0][s][0] / ms[0][s][1]);
        printf("\n   --heads 0:0 at seq 32, 2 threads (layer 0, one head: the rest is skipped): "
               "%.2f ms\n",
               one_head);
    }
    return 0;
}
