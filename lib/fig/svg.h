/* svg.h - a scene as a self-contained SVG: every glyph an outline <path> taken from the same
 * font as the PNG (renders identically without the font), every cell a <rect>, every line of
 * the line view a <line>, no raster. */
#ifndef MHV_SVG_H
#define MHV_SVG_H

#include <stdio.h>

#include "fig/font.h"
#include "fig/scene.h"
#include "base/status.h"

/* Writes s to f (`name` for messages). Text primitives become <g class="label|title|tick|
 * value"> holding one <path> per visible glyph; cells are <rect class="cell">, masked ones
 * filled with a hatch pattern. The scene's metadata goes into <title> and <desc>. */
mhv_status mhv_svg_write(FILE *f, const char *name, const mhv_scene *s, mhv_fontset *fs,
                         mhv_error *err);
/* The same, with as_text (--svg-text) every text run a <text> element naming the fonts'
 * families (font-family="'DejaVu Sans', 'WenQuanYi Micro Hei', sans-serif"), editable in
 * Inkscape or Illustrator; it then looks right only where those fonts are installed. */
mhv_status mhv_svg_write_labels(FILE *f, const char *name, const mhv_scene *s, mhv_fontset *fs,
                                int as_text, mhv_error *err);

#endif
