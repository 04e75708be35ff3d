/* alibi.c - ALiBi slopes (BLOOM, Falcon-RW; MPT's own). */
#include <math.h>

#include "model/family.h"

void mhv_family_alibi_slopes(int heads, float *slopes)
{
    int p = 1;
    while (p * 2 <= heads)
        p *= 2;
    float base = (float)pow(2.0, -pow(2.0, -(log2((double)p) - 3)));
    for (int i = 0; i < p; i++)
        slopes[i] = (float)pow((double)base, (double)(i + 1));
    float extra = (float)pow(2.0, -pow(2.0, -(log2((double)(2 * p)) - 3)));
    for (int i = 0; p + i < heads; i++)
        slopes[p + i] = (float)pow((double)extra, (double)(2 * i + 1));
}

void mhv_family_alibi_slopes_mpt(int heads, double bias_max, float *slopes)
{
    int p = 1;
    while (p < heads)
        p *= 2;
    float step = (float)(bias_max / p);
    /* with fewer heads than p: the slopes of even k first, then those of odd k */
    for (int h = 0; h < heads; h++) {
        int k = p == heads ? h : h < p / 2 ? 2 * h + 1 : 2 * (h - p / 2);
        float base = (float)(k + 1) * step;
        slopes[h] = 1.0f / powf(2.0f, base);
    }
}
