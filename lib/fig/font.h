/* font.h - label fonts: discovery, per-glyph fallback across faces, a rasterised glyph cache.
 *
 * Faces are TrueType/OpenType files (TTC collections included) read with stb_truetype from a
 * read-only mapping. A fontset is searched in order for each character, so Latin and CJK may
 * come from different files. A character no face has is drawn as a placeholder box and
 * remembered, so the caller can report it once. Fonts may come from anywhere (--font, user
 * fonts found by fontconfig): the table directory and the tables stb_truetype reads are
 * checked before it sees a face, composite glyphs are bounded before it draws them, and the
 * file is mapped inside a window of zero pages that catches what stb reads unchecked. */
#ifndef MHV_FONT_H
#define MHV_FONT_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

typedef struct mhv_fontset mhv_fontset;

typedef struct {
    const char *file;   /* --font: searched first; missing or unreadable is an error */
    const char *env;    /* the CLI's $MHAVIZ_FONT, or NULL: same rule, after file (named
                         * MHAVIZ_FONT in messages) */
    int system;         /* also search fontconfig's matches and well-known paths */
} mhv_font_params;

/* file NULL, env NULL, system 1 (the library reads no environment variable). */
mhv_font_params mhv_font_default_params(void);

/* Builds the fontset: file, env, then (with system) fontconfig's sans-serif and zh-cn matches
 * when built with fontconfig, then well-known paths (fonts-wqy-microhei, fonts-noto-cjk,
 * DejaVu ...). No face at all is MHV_EIO pointing at fonts/README.md. */
mhv_status mhv_font_open(const mhv_font_params *p, mhv_fontset **out, mhv_error *err);
void mhv_font_close(mhv_fontset *fs);

int mhv_font_count(const mhv_fontset *fs);
/* "path" or "path#index" for face i (for messages and metadata). */
const char *mhv_font_name(const mhv_fontset *fs, int i);
/* The family name face i gives itself ("DejaVu Sans"), UTF-8, in buf; "" when it has none
 * (SVG --svg-text and PDF name the fonts). */
void mhv_font_family(const mhv_fontset *fs, int i, char *buf, size_t size);

/* A glyph of one face; face -1 means no face has the character (placeholder box). */
typedef struct {
    int face, glyph;
    uint32_t cp;
} mhv_glyph;

/* A glyph placed on a line: pen position x (px) from the start of the run. */
typedef struct {
    mhv_glyph g;
    float x;
} mhv_placed;

/* Lays out UTF-8 text (no line breaks) at `px` pixels per em: fills out(cap,) and returns the
 * number of glyphs; *width gets the advance of the whole run. Invalid UTF-8 shows as U+FFFD;
 * characters that draw nothing (zero-width joiners, variation selectors) are skipped. */
int mhv_font_layout(mhv_fontset *fs, const char *s, size_t len, float px, mhv_placed *out,
                    int cap, float *width);
/* Width of the run in px. */
float mhv_font_width(mhv_fontset *fs, const char *s, size_t len, float px);
/* Ascent (positive, above the baseline) and descent (positive, below) of the first face. */
void mhv_font_vmetrics(const mhv_fontset *fs, float px, float *ascent, float *descent);

/* An 8-bit coverage bitmap (h, w) whose top-left is (x0, y0) from the pen on the baseline
 * (y down). Rasterised on first use at that size and cached in the fontset; NULL when out of
 * memory. The pointer is valid until the next call (the cache may grow). The placeholder box of a missing character is a bitmap like any other. */
typedef struct {
    int w, h, x0, y0;
    const uint8_t *alpha;   /* (h, w) */
} mhv_glyph_bitmap;
const mhv_glyph_bitmap *mhv_font_bitmap(mhv_fontset *fs, mhv_glyph g, float px);

/* An outline command in px, y down, origin at the pen on the baseline:
 * 'M' move to (x, y), 'L' line to (x, y), 'Q' quadratic via (cx, cy), 'C' cubic via (cx, cy),
 * (cx1, cy1). Contours are closed implicitly. */
typedef struct {
    char op;
    float x, y, cx, cy, cx1, cy1;
} mhv_path_op;
/* Outline of g at px (caller frees *ops); returns the count, 0 for an empty glyph (space),
 * -1 when out of memory. A missing character's outline is its placeholder box. */
int mhv_font_outline(mhv_fontset *fs, mhv_glyph g, float px, mhv_path_op **ops);

/* Characters laid out so far that no face has, in first-seen order (each once). */
int mhv_font_missing_count(const mhv_fontset *fs);
uint32_t mhv_font_missing(const mhv_fontset *fs, int i);

#endif
