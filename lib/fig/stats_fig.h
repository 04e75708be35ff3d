/* stats_fig.h - `mhaviz stats --format png`: each statistic as a layers x heads grid. */
#ifndef MHV_STATS_FIG_H
#define MHV_STATS_FIG_H

#include <stdio.h>

#include "fig/font.h"
#include "fig/scene.h"
#include "analysis/stats.h"
#include "base/status.h"

/* Lays out one panel per statistic plus one of kinds: rows are layers, columns heads, the
 * colour (viridis) the mean; masses on a fixed 0..1 scale, entropy and distance from 0 to
 * the largest head's value (printed in the panel title). `title` heads the figure. */
mhv_status mhv_stats_scene(const mhv_stats_acc *acc, const char *title, mhv_fontset *fs,
                           mhv_scene *out, mhv_error *err);
/* Rasterises the scene of acc to f as PNG (`name` for messages). */
mhv_status mhv_stats_png(FILE *f, const char *name, const mhv_stats_acc *acc, const char *title,
                         mhv_fontset *fs, mhv_error *err);

#endif
