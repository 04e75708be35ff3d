#include "fig/colormap.h"

#include <math.h>
#include <string.h>

static const char *const names[MHV_CMAP_COUNT] = {"viridis", "magma",   "inferno",
                                                  "plasma",  "cividis", "gray"};

mhv_status mhv_cmap_parse(const char *name, mhv_cmap *out, mhv_error *err)
{
    for (int i = 0; i < MHV_CMAP_COUNT; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (mhv_cmap)i;
            return MHV_OK;
        }
    return mhv_fail(err, MHV_EUSAGE, "",
                    "unknown colormap '%s' (viridis, magma, inferno, plasma, cividis, gray)", name);
}

const char *mhv_cmap_name(mhv_cmap c)
{
    return (unsigned)c < MHV_CMAP_COUNT ? names[c] : "?";
}

int mhv_cmap_index(float t)
{
    if (!(t > 0.0f)) /* also NaN */
        return 0;
    if (t >= 1.0f)
        return 255;
    int i = (int)(t * 256.0f);
    return i > 255 ? 255 : i;
}

void mhv_cmap_rgb(mhv_cmap c, float t, uint8_t rgb[3])
{
    if ((unsigned)c >= MHV_CMAP_COUNT)
        c = MHV_CMAP_VIRIDIS;
    const float *e = mhv_cmap_tables[c][mhv_cmap_index(t)];
    for (int k = 0; k < 3; k++)
        rgb[k] = (uint8_t)lrintf(e[k] * 255.0f);
}
