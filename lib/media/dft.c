/* dft.c - the mixed-radix DFT (see dft.h). */
#include "media/dft.h"

#include <math.h>
#include <stdlib.h>

int mhv_dft_plan_init(mhv_dft_plan *pl, int N)
{
    pl->N = N;
    pl->tw = malloc((size_t)N * sizeof *pl->tw);
    pl->tmp = malloc((size_t)N * sizeof *pl->tmp);
    if (!pl->tw || !pl->tmp) {
        mhv_dft_plan_free(pl);
        return -1;
    }
    for (int k = 0; k < N; k++)
        pl->tw[k] = cexp(-2.0 * M_PI * I * (double)k / (double)N);
    return 0;
}

void mhv_dft_plan_free(mhv_dft_plan *pl)
{
    free(pl->tw), free(pl->tmp);
    pl->tw = pl->tmp = NULL;
}

static int smallest_factor(int n)
{
    for (int p = 2; (long long)p * p <= n; p++)
        if (n % p == 0)
            return p;
    return n;
}

/* out(n) = the DFT of in[0], in[stride], ... (n of them); step: N / n in the twiddles. */
static void dft_rec(const mhv_dft_plan *pl, const double complex *in, size_t stride, int n,
                    size_t step, double complex *out)
{
    if (n == 1) {
        out[0] = in[0];
        return;
    }
    int p = smallest_factor(n), m = n / p;
    for (int r = 0; r < p; r++)
        dft_rec(pl, in + (size_t)r * stride, stride * (size_t)p, m, step * (size_t)p,
                out + (size_t)r * (size_t)m);
    /* X[k + q m] = sum_r Y_r[k] w^(r (k + q m)): the same p slots are read and written */
    size_t N = (size_t)pl->N;
    for (int k = 0; k < m; k++) {
        for (int r = 0; r < p; r++)
            pl->tmp[r] = out[(size_t)r * (size_t)m + (size_t)k];
        for (int q = 0; q < p; q++) {
            size_t kk = (size_t)k + (size_t)q * (size_t)m;
            double complex s = pl->tmp[0];
            for (int r = 1; r < p; r++)
                s += pl->tmp[r] * pl->tw[(step * (size_t)r * kk) % N];
            out[kk] = s;
        }
    }
}

void mhv_dft(const mhv_dft_plan *pl, const double complex *in, double complex *out)
{
    dft_rec(pl, in, 1, pl->N, 1, out);
}
