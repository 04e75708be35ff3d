/* npsum.h - numpy's sum of a contiguous array (pairwise_sum of loops_utils.h.src), whose
 * order of additions the feature extractors' and processors' results depend on. */
#ifndef MHV_NPSUM_H
#define MHV_NPSUM_H

#include <stddef.h>

/* a(n) summed as numpy sums a float64 / a float32 array: below 8 elements in order from
 * -0.0, up to 128 in eight interleaved accumulators, above that split in halves at a
 * multiple of 8 and each half summed so. */
double mhv_np_sum_f64(const double *a, size_t n);
float mhv_np_sum_f32(const float *a, size_t n);

#endif
