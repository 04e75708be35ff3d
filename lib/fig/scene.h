/* scene.h - a figure as a display list, drawn identically by the raster (canvas), the SVG
 * and the PDF writer: filled rects, hatched rects (masked cells), straight lines and text
 * runs, in pixels, y down. */
#ifndef MHV_SCENE_H
#define MHV_SCENE_H

#include <stddef.h>
#include <stdint.h>

#include "fig/font.h"
#include "base/status.h"

typedef enum {
    MHV_PRIM_RECT = 0, MHV_PRIM_HATCH, MHV_PRIM_TEXT, MHV_PRIM_LINE, MHV_PRIM_IMAGE
} mhv_prim_kind;

/* What a primitive is, for SVG grouping and for tests. */
typedef enum {
    MHV_ROLE_OTHER = 0,
    MHV_ROLE_CELL,      /* one matrix cell (rect or hatch) */
    MHV_ROLE_LABEL,     /* one token label part */
    MHV_ROLE_TITLE,
    MHV_ROLE_TICK,      /* colourbar tick label, axis names */
    MHV_ROLE_VALUE,     /* a cell value */
    MHV_ROLE_CBAR,      /* a colourbar slice */
    MHV_ROLE_HIGHLIGHT, /* a box around highlighted rows or columns, a tick by their labels */
    MHV_ROLE_LINK,      /* a line of the line view: one weight from a query to a key */
    MHV_ROLE_BAR,       /* a bar of the row view */
    MHV_ROLE_IMAGE      /* a picture: an image attention is drawn over */
} mhv_role;

typedef struct {
    uint8_t kind, role;
    uint8_t rot;        /* text: 1 = turned 90 degrees counter-clockwise (reads upwards) */
    uint8_t rgb[3];     /* fill, or text colour; hatch: background */
    uint8_t rgb2[3];    /* hatch: line colour */
    uint8_t alpha;      /* line: opacity, 255 = opaque */
    float x, y, w, h;   /* rect; text: pen at the start of the baseline, w = size in px/em;
                         * line: from (x, y) to (w, h); image: the box it fills */
    float aux;          /* hatch: distance between the diagonal lines, px; line: width, px */
    uint32_t text;      /* text: offset into the scene's string pool; image: of its pixels */
    uint32_t len;
    uint16_t iw, ih;    /* image: pixels (ih, iw, 3) in the pool, scaled to the box without
                         * smoothing (a pixel stays a sharp square) */
} mhv_prim;

typedef struct {
    int width, height;         /* pixels */
    mhv_prim *prims;           /* (n,) painted in order over a white background */
    int n, cap;
    char *pool;                /* strings of text primitives and metadata */
    size_t pool_len, pool_cap;
    struct {
        uint32_t key, value;   /* offsets into pool */
    } meta[8];                 /* PNG text chunks / SVG metadata, e.g. "Model" */
    int n_meta;
    int oom;                   /* an append failed: the scene is incomplete */
} mhv_scene;

void mhv_scene_init(mhv_scene *s, int width, int height);
void mhv_scene_free(mhv_scene *s);
/* Appenders record allocation failure in s->oom instead of returning it, so layout code
 * stays readable; the caller checks once with mhv_scene_check. */
void mhv_scene_rect(mhv_scene *s, mhv_role role, float x, float y, float w, float h,
                    const uint8_t rgb[3]);
/* Diagonal lines `pitch` px apart, anchored to the page so neighbouring cells join up. */
void mhv_scene_hatch(mhv_scene *s, mhv_role role, float x, float y, float w, float h,
                     float pitch, const uint8_t bg[3], const uint8_t fg[3]);
/* A straight line with butt ends, `width` px wide, drawn over what is below it
 * with opacity alpha (0..255). */
void mhv_scene_line(mhv_scene *s, mhv_role role, float x0, float y0, float x1, float y1,
                    float width, const uint8_t rgb[3], uint8_t alpha);
void mhv_scene_text(mhv_scene *s, mhv_role role, float x, float y, float px, int rot,
                    const uint8_t rgb[3], const char *text, size_t len);
/* An RGB image rgb(ih, iw, 3) (copied; at most MHV_SCENE_IMAGE_MAX a side) filling the box
 * (x, y, w, h), each pixel a sharp rectangle. */
#define MHV_SCENE_IMAGE_MAX 4096
void mhv_scene_image(mhv_scene *s, mhv_role role, float x, float y, float w, float h,
                     const uint8_t *rgb, int iw, int ih);
void mhv_scene_meta(mhv_scene *s, const char *key, const char *value);
mhv_status mhv_scene_check(const mhv_scene *s, mhv_error *err);

static inline const char *mhv_prim_text(const mhv_scene *s, const mhv_prim *p)
{
    return s->pool + p->text;
}

static inline const uint8_t *mhv_prim_pixels(const mhv_scene *s, const mhv_prim *p)
{
    return (const uint8_t *)(s->pool + p->text);
}

static inline const char *mhv_scene_meta_key(const mhv_scene *s, int i)
{
    return s->pool + s->meta[i].key;
}

static inline const char *mhv_scene_meta_value(const mhv_scene *s, int i)
{
    return s->pool + s->meta[i].value;
}

#endif
