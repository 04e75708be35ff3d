/* stats_fig.h - `mhaviz stats --format png`: each statistic as a layers x heads grid. */
#ifndef MHV_STATS_FIG_H
#define MHV_STATS_FIG_H

#include <stdio.h>

#include "fig/colormap.h"
#include "fig/font.h"
#include "fig/scene.h"
#include "analysis/stats.h"
#include "base/status.h"

/* What `stats --format png` takes of the figure options. */
typedef struct {
    mhv_cmap cmap;      /* viridis */
    int cell;           /* grid cell side in CSS px; 0 = 30 */
    int dpi;            /* 96 */
    int font_px;        /* head and layer numbers in CSS px, other text in proportion; 0 = 10 */
    int stretch;        /* --scale head|row: every panel from 0 to its largest value (masses
                         * too); default: masses 0..1, entropy and distance 0..their largest */
    int no_title;       /* no title line */
} mhv_stats_fig_params;

mhv_stats_fig_params mhv_stats_fig_default_params(void);
/* The --cell that prints the values (0 when p's cells already do): smaller cells are drawn
 * without them. */
int mhv_stats_values_cell(const mhv_stats_fig_params *p);

/* Lays out one panel per statistic plus one of kinds: rows are layers, columns heads, the
 * colour the mean; the scale of each panel in its title. `title` heads the figure. */
mhv_status mhv_stats_scene(const mhv_stats_acc *acc, const char *title,
                           const mhv_stats_fig_params *p, mhv_fontset *fs, mhv_scene *out,
                           mhv_error *err);
/* Rasterises the scene of acc to f as PNG (`name` for messages). */
mhv_status mhv_stats_png(FILE *f, const char *name, const mhv_stats_acc *acc, const char *title,
                         const mhv_stats_fig_params *p, mhv_fontset *fs, mhv_error *err);

#endif
