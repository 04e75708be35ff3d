/* pdf.h - a scene as a one-page vector PDF, written directly (no library), like svg.h.
 *
 * Cells, bars and colourbars are filled paths, lines of the line view stroked paths with
 * their opacity, masked cells hatched with clipped strokes. Text stays text: each run is
 * shown with Type 3 fonts whose glyph procedures are the outlines of the very glyphs the PNG
 * rasterises (from the same font files), so the fonts are embedded, only the glyphs used are
 * stored, any viewer shows the same shapes, and a ToUnicode map keeps the text searchable and
 * copyable. Type 3 rather than embedded TrueType: CJK fonts are megabytes and subsetting
 * TrueType would be a font library of its own. */
#ifndef MHV_PDF_H
#define MHV_PDF_H

#include <stdio.h>

#include "fig/font.h"
#include "fig/scene.h"
#include "base/status.h"

/* Writes s to f (`name` for messages). dpi: how many scene pixels make an inch (the figure's
 * --dpi), so the page has the same physical size whatever the resolution asked for. */
mhv_status mhv_pdf_write(FILE *f, const char *name, const mhv_scene *s, mhv_fontset *fs, int dpi,
                         mhv_error *err);

#endif
