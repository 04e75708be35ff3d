/* t2t_positions.c - tensor2tensor's sinusoidal positions (M2M100, XGLM). */
#include <math.h>
#include <string.h>

#include "model/family.h"

void mhv_family_t2t_position(int p, int pad, int H, float *row)
{
    int half = H / 2;
    memset(row, 0, (size_t)H * sizeof *row);
    if (p == pad)
        return;
    float step = (float)-(log(10000.0) / (double)(half - 1));
    for (int k = 0; k < half; k++) {
        float a = (float)p * expf((float)k * step);
        row[k] = sinf(a);
        row[half + k] = cosf(a);
    }
}
