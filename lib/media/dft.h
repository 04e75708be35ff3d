/* dft.h - a mixed-radix discrete Fourier transform in float64 (numpy's FFT's arithmetic
 * differs from it by rounding only), for the audio front ends (logmel.c, astfeat.c). */
#ifndef MHV_DFT_H
#define MHV_DFT_H

#include <complex.h>
#include <stddef.h>

typedef struct {
    int N;
    double complex *tw;     /* (N,) exp(-2 pi i k / N) */
    double complex *tmp;    /* (N,) */
} mhv_dft_plan;

/* A plan for N-point transforms; 0, or -1 when out of memory (nothing to free then). */
int mhv_dft_plan_init(mhv_dft_plan *pl, int N);
void mhv_dft_plan_free(mhv_dft_plan *pl);

/* out(N) = the DFT of in(N), out != in. */
void mhv_dft(const mhv_dft_plan *pl, const double complex *in, double complex *out);

#endif
