/* relbucket.c - T5's relative position buckets (T5, mT5, UMT5, MPNet). */
#include <math.h>

#include "model/family.h"

int mhv_family_t5_bucket(int rp, int bidirectional, int buckets, int max_distance)
{
    int b = 0;
    if (bidirectional) {
        buckets /= 2;
        if (rp > 0)
            b += buckets;
        rp = rp < 0 ? -rp : rp;
    } else {
        rp = rp < 0 ? -rp : 0;
    }
    int max_exact = buckets / 2;
    if (rp < max_exact)
        return b + rp;
    float r = logf((float)rp / (float)max_exact) /
              (float)log((double)max_distance / (double)max_exact) * (float)(buckets - max_exact);
    if (!(r < (float)buckets)) /* (the config keeps r finite; a guard) */
        return b + buckets - 1;
    long large = max_exact + (long)r;
    return b + (int)(large < buckets - 1 ? large : buckets - 1);
}
