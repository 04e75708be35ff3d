/* npsum.c - numpy's pairwise sum (see npsum.h), one body for both element types. */
#include "media/npsum.h"

#define NP_PAIRWISE(name, T)                                                                  \
    T name(const T *a, size_t n)                                                              \
    {                                                                                         \
        if (n < 8) {                                                                          \
            T res = (T)-0.0;                                                                  \
            for (size_t i = 0; i < n; i++)                                                    \
                res += a[i];                                                                  \
            return res;                                                                       \
        }                                                                                     \
        if (n <= 128) {                                                                       \
            T r[8];                                                                           \
            size_t i;                                                                         \
            for (int j = 0; j < 8; j++)                                                       \
                r[j] = a[j];                                                                  \
            for (i = 8; i < n - (n % 8); i += 8)                                              \
                for (int j = 0; j < 8; j++)                                                   \
                    r[j] += a[i + (size_t)j];                                                 \
            T res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));        \
            for (; i < n; i++)                                                                \
                res += a[i];                                                                  \
            return res;                                                                       \
        }                                                                                     \
        size_t n2 = n / 2;                                                                    \
        n2 -= n2 % 8;                                                                         \
        return name(a, n2) + name(a + n2, n - n2);                                            \
    }

NP_PAIRWISE(mhv_np_sum_f64, double)
NP_PAIRWISE(mhv_np_sum_f32, float)
