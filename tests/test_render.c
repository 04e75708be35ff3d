/* Figures end to end on hand-built attention: files written, PNGs decoded with libpng and
 * checked pixel by pixel against the colormap, SVGs parsed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fig/canvas.h"
#include "fig/figures.h"
#include "fig/png_out.h"
#include "fig/svg.h"
#include "base/fileio.h"

/* The sample sentence as bert-base-chinese tokenizes it, plus a WordPiece continuation. */
static const char *const PIECES[] = {"[CLS]", "苹", "果", "从", "树", "上", "掉",   "下",
                                     "来",    "，", "小", "明", "把", "它", "捡",   "起",
                                     "来",    "了", "。", "play", "##ing", "[SEP]"};
#define N ((int)(sizeof PIECES / sizeof PIECES[0]))
static unsigned char SPECIAL[N];

static mhv_fontset *fs;

static int setup(void **state)
{
    (void)state;
    SPECIAL[0] = SPECIAL[N - 1] = 1;
    mhv_font_params p = mhv_font_default_params();
    mhv_error err = {0};
    if (mhv_font_open(&p, &fs, &err)) {
        fprintf(stderr, "test_render: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mhv_font_close(fs);
    return 0;
}

/* Layers 0..L-1, heads 0..H-1; weights spread over [0, 1] so many colours are checked;
 * causal maps are zero above the diagonal like a decoder's. Rows need not sum to 1. */
static void make_attn(mhv_attn *a, int L, int H, int causal)
{
    memset(a, 0, sizeof *a);
    a->n = N;
    a->count = L * H;
    a->heads = calloc((size_t)(L * H), sizeof *a->heads);
    a->buf = calloc((size_t)(L * H * N * N), sizeof(float));
    assert_non_null(a->heads);
    assert_non_null(a->buf);
    for (int k = 0; k < L * H; k++) {
        a->heads[k] = (mhv_head_attn){.layer = k / H, .head = k % H, .w = a->buf + (size_t)k * N * N};
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                a->heads[k].w[i * N + j] =
                    causal && j > i ? 0.0f : (float)((i * 7 + j * 13 + k * 5) % 101) / 100.0f;
    }
}

static mhv_fig_input input(int causal)
{
    return (mhv_fig_input){.model = "test-model", .num_layers = 12, .num_heads = 12,
                           .causal = causal, .sentence = "苹果从树上掉下来，小明把它捡起来了。",
                           .n = N, .pieces = PIECES, .special = SPECIAL,
                           .kind = MHV_LABEL_WORDPIECE};
}

typedef struct {
    int w, h;
    uint8_t *px; /* (h, w, 3) */
} image;

static void read_png(const char *path, image *im)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&pi, path))
        fail_msg("%s: %s", path, pi.message);
    pi.format = PNG_FORMAT_RGB;
    im->w = (int)pi.width;
    im->h = (int)pi.height;
    im->px = malloc(PNG_IMAGE_SIZE(pi));
    assert_non_null(im->px);
    if (!png_image_finish_read(&pi, NULL, im->px, 0, NULL))
        fail_msg("%s: %s", path, pi.message);
}

static const uint8_t *at(const image *im, float x, float y)
{
    int xi = (int)floorf(x), yi = (int)floorf(y);
    assert_true(xi >= 0 && yi >= 0 && xi < im->w && yi < im->h);
    return im->px + ((size_t)yi * (size_t)im->w + (size_t)xi) * 3;
}

static int near(const uint8_t *a, const uint8_t *b, int tol)
{
    for (int k = 0; k < 3; k++)
        if (abs((int)a[k] - (int)b[k]) > tol)
            return 0;
    return 1;
}

/* Any pixel darker than the background in [x0, x1) x [y0, y1)? */
static int has_ink(const image *im, float x0, float y0, float x1, float y1)
{
    for (int y = (int)y0; y < (int)y1; y++)
        for (int x = (int)x0; x < (int)x1; x++) {
            const uint8_t *p = at(im, (float)x, (float)y);
            if (p[0] < 200 || p[1] < 200 || p[2] < 200)
                return 1;
        }
    return 0;
}

static void mkdtemp_or_fail(char *tmpl)
{
    assert_non_null(mkdtemp(tmpl));
}

static char *slurp(const char *path, size_t *len)
{
    char *s;
    mhv_error err = {0};
    if (mhv_read_file(path, 64u << 20, &s, len, &err))
        fail_msg("%s: %s", path, err.msg);
    return s;
}

/* ---- the single-head figure against its own scene ----------------------------------- */

typedef struct {
    float x0, y0, cell;
    int cells;
} grid;

static grid cell_grid(const mhv_scene *s)
{
    grid g = {0, 0, 0, 0};
    for (int i = 0; i < s->n; i++) {
        const mhv_prim *p = &s->prims[i];
        if (p->role != MHV_ROLE_CELL)
            continue;
        if (g.cells == 0) {
            g.x0 = p->x;
            g.y0 = p->y;
            g.cell = p->w;
        }
        /* row-major, contiguous, square */
        int k = g.cells++;
        assert_float_equal(p->x, g.x0 + (float)(k % N) * g.cell, 1e-3);
        assert_float_equal(p->y, g.y0 + (float)(k / N) * g.cell, 1e-3);
        assert_float_equal(p->w, g.cell, 1e-3);
        assert_float_equal(p->h, g.cell, 1e-3);
    }
    assert_int_equal(g.cells, N * N);
    return g;
}

static void check_head_png(const char *path, const mhv_scene *s, const mhv_head_attn *h,
                           const mhv_render_params *p, int causal)
{
    image im;
    read_png(path, &im);
    assert_int_equal(im.w, s->width);
    assert_int_equal(im.h, s->height);
    grid g = cell_grid(s);
    float k = (float)p->dpi / 96.0f;
    int cell = p->cell ? p->cell : mhv_render_default_cell(N);
    assert_float_equal(g.cell, (float)cell * k, 1e-3);
    /* the matrix, labels on its left and top, the colourbar on its right all fit */
    assert_true(g.x0 + (float)N * g.cell + 30 * k < (float)im.w);
    assert_true(g.y0 + (float)N * g.cell <= (float)im.h);

    uint8_t zero[3];
    mhv_cmap_rgb(p->cmap, 0, zero);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            const uint8_t *c = at(&im, g.x0 + ((float)j + 0.5f) * g.cell,
                                  g.y0 + ((float)i + 0.5f) * g.cell);
            if (causal && j > i) { /* masked: visibly not the colour of zero */
                assert_false(near(c, zero, 40));
                continue;
            }
            uint8_t want[3];
            mhv_cmap_rgb(p->cmap, h->w[i * N + j], want);
            if (!near(c, want, 1))
                fail_msg("%s: cell (%d, %d) weight %.2f is %02x%02x%02x, colormap says "
                         "%02x%02x%02x", path, i, j, (double)h->w[i * N + j], c[0], c[1], c[2],
                         want[0], want[1], want[2]);
        }
    /* every token's label left of its row and above its column has ink */
    for (int i = 0; i < N; i++) {
        float y = g.y0 + (float)i * g.cell;
        if (!has_ink(&im, 0, y + 1, g.x0 - 1, y + g.cell - 1))
            fail_msg("%s: no ink in the row label of token %d '%s'", path, i, PIECES[i]);
        float x = g.x0 + (float)i * g.cell;
        if (!has_ink(&im, x + 1, g.y0 - 14 * k, x + g.cell - 1, g.y0 - 1))
            fail_msg("%s: no ink in the column label of token %d '%s'", path, i, PIECES[i]);
    }
    /* the colourbar runs from the top colour down to the bottom one */
    int prev = 256, slices = 0;
    for (int i = 0; i < s->n; i++) {
        const mhv_prim *q = &s->prims[i];
        if (q->role != MHV_ROLE_CBAR)
            continue;
        const uint8_t *c = at(&im, q->x + q->w / 2, q->y + q->h / 2);
        int best = 0, bd = 1 << 30;
        for (int e = 0; e < 256; e++) {
            uint8_t r[3];
            mhv_cmap_rgb(p->cmap, ((float)e + 0.5f) / 256.0f, r);
            int d = abs(r[0] - c[0]) + abs(r[1] - c[1]) + abs(r[2] - c[2]);
            if (d < bd) {
                bd = d;
                best = e;
            }
        }
        assert_true(bd <= 3);
        assert_true(best <= prev);
        if (slices == 0)
            assert_true(best >= 250);
        prev = best;
        slices++;
    }
    assert_true(slices >= 100);
    assert_true(prev <= 5);
    free(im.px);
}

static void run_head(const mhv_render_params *p, int causal)
{
    mhv_attn a;
    make_attn(&a, 1, 1, causal);
    mhv_fig_input in = input(causal);
    mhv_scene s;
    mhv_error err = {0};
    assert_int_equal(mhv_render_head(p, fs, &in, &a.heads[0], &s, &err), MHV_OK);
    char dir[] = "/tmp/mhv-test-render.XXXXXX";
    mkdtemp_or_fail(dir);
    char path[256];
    snprintf(path, sizeof path, "%s/h.png", dir);
    mhv_canvas c;
    assert_int_equal(mhv_canvas_new(s.width, s.height, &c, &err), MHV_OK);
    assert_int_equal(mhv_canvas_draw(&c, &s, fs, &err), MHV_OK);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(mhv_png_write(f, path, &c, &s, p->dpi, &err), MHV_OK);
    fclose(f);
    check_head_png(path, &s, &a.heads[0], p, causal);
    assert_int_equal(mhv_font_missing_count(fs), 0); /* CJK labels came from a real font */
    unlink(path);
    rmdir(dir);
    mhv_canvas_free(&c);
    mhv_scene_free(&s);
    mhv_attn_free(&a);
}

static void test_head_png_default(void **state)
{
    (void)state;
    mhv_render_params p = mhv_render_default_params();
    run_head(&p, 0);
}

static void test_head_png_causal_magma_print(void **state)
{
    (void)state;
    mhv_render_params p = mhv_render_default_params();
    p.cmap = MHV_CMAP_MAGMA;
    p.dpi = 192;
    p.cell = 14;
    run_head(&p, 1);
    p.cmap = MHV_CMAP_GRAY;
    p.dpi = 96;
    p.cell = 40;
    run_head(&p, 1);
}

static void test_values_contrast(void **state)
{
    (void)state;
    mhv_render_params p = mhv_render_default_params();
    p.values = 1;
    p.cell = 30;
    mhv_attn a;
    make_attn(&a, 1, 1, 0);
    mhv_fig_input in = input(0);
    mhv_scene s;
    mhv_error err = {0};
    assert_int_equal(mhv_render_head(&p, fs, &in, &a.heads[0], &s, &err), MHV_OK);
    int values = 0;
    for (int i = 0; i < s.n; i++) {
        const mhv_prim *q = &s.prims[i];
        if (q->role != MHV_ROLE_VALUE)
            continue;
        values++;
        /* dark text on light cells, white on dark ones */
        int light = q->rgb[0] == 0;
        assert_true(light || (q->rgb[0] == 255 && q->rgb[1] == 255 && q->rgb[2] == 255));
    }
    int nonzero = 0;
    for (int i = 0; i < N * N; i++)
        nonzero += a.heads[0].w[i] >= 0.005f;
    assert_int_equal(values, nonzero); /* zeros stay blank */
    assert_true(nonzero > N * N / 2);
    mhv_scene_free(&s);
    p.cell = 12; /* too small to hold a value */
    assert_int_equal(mhv_render_head(&p, fs, &in, &a.heads[0], &s, &err), MHV_OK);
    for (int i = 0; i < s.n; i++)
        assert_int_not_equal(s.prims[i].role, MHV_ROLE_VALUE);
    mhv_scene_free(&s);
    mhv_attn_free(&a);
}

static void test_gqa_title(void **state)
{
    (void)state;
    mhv_render_params p = mhv_render_default_params();
    mhv_attn a;
    make_attn(&a, 1, 1, 1);
    a.heads[0].head = 3;
    mhv_fig_input in = input(1);
    in.kv_group = 2;
    mhv_scene s;
    mhv_error err = {0};
    assert_int_equal(mhv_render_head(&p, fs, &in, &a.heads[0], &s, &err), MHV_OK);
    assert_string_equal(mhv_scene_meta_value(&s, 0), "test-model \xE2\x80\x94 layer 0, head 3 (kv head 1)");
    mhv_scene_free(&s);
    mhv_attn_free(&a);
}

static void test_scale_modes(void **state)
{
    (void)state;
    mhv_render_params p = mhv_render_default_params();
    float w[9] = {0.2f, 0.1f, 0.0f, 0.1f, 0.4f, 0.0f, 0.3f, 0.3f, 0.4f}, t[9];
    mhv_render_norm(&p, 0, w, 3, t);
    assert_float_equal(t[4], 0.4f, 1e-6);
    p.scale = MHV_SCALE_HEAD;
    mhv_render_norm(&p, 0, w, 3, t);
    assert_float_equal(t[4], 1.0f, 1e-6);
    assert_float_equal(t[0], 0.5f, 1e-6);
    p.scale = MHV_SCALE_ROW;
    mhv_render_norm(&p, 1, w, 3, t); /* causal: row 0 sees key 0 only */
    assert_float_equal(t[0], 1.0f, 1e-6);
    assert_true(t[1] < 0 && t[2] < 0 && t[5] < 0);
    assert_float_equal(t[3], 0.25f, 1e-6);
    assert_float_equal(t[8], 1.0f, 1e-6);
}

/* ---- SVG ------------------------------------------------------------------------------ */

/* A small XML well-formedness checker: prolog, nested elements with quoted attributes,
 * character and entity references; returns 0 when well formed. */
static int xml_check(const char *s, char *why, size_t why_size)
{
    const char *stack[64];
    size_t lens[64];
    int depth = 0, roots = 0;
    if (strncmp(s, "<?xml ", 6) == 0) {
        s = strstr(s, "?>");
        if (!s)
            return snprintf(why, why_size, "unterminated prolog"), -1;
        s += 2;
    }
    while (*s) {
        if (*s == '&') {
            if (strncmp(s, "&amp;", 5) && strncmp(s, "&lt;", 4) && strncmp(s, "&gt;", 4) &&
                strncmp(s, "&quot;", 6) && strncmp(s, "&apos;", 6) && strncmp(s, "&#", 2))
                return snprintf(why, why_size, "bad entity at '%.20s'", s), -1;
            s++;
            continue;
        }
        if (*s == '>')
            return snprintf(why, why_size, "stray '>' at '%.20s'", s), -1;
        if (*s != '<') {
            if (depth == 0 && !strchr(" \t\r\n", *s))
                return snprintf(why, why_size, "text outside the root"), -1;
            s++;
            continue;
        }
        s++;
        int closing = *s == '/';
        if (closing)
            s++;
        const char *name = s;
        while (*s && !strchr(" \t\r\n/>", *s))
            s++;
        size_t nl = (size_t)(s - name);
        if (nl == 0)
            return snprintf(why, why_size, "empty tag name"), -1;
        if (closing) {
            if (depth == 0 || lens[depth - 1] != nl || strncmp(stack[depth - 1], name, nl))
                return snprintf(why, why_size, "mismatched </%.*s>", (int)nl, name), -1;
            depth--;
            while (*s == ' ')
                s++;
            if (*s++ != '>')
                return snprintf(why, why_size, "bad end tag"), -1;
            continue;
        }
        for (;;) { /* attributes */
            while (*s && strchr(" \t\r\n", *s))
                s++;
            if (*s == '/' && s[1] == '>') {
                s += 2;
                if (depth == 0)
                    roots++;
                break;
            }
            if (*s == '>') {
                s++;
                if (depth == 0)
                    roots++;
                if (depth == 64)
                    return snprintf(why, why_size, "too deep"), -1;
                stack[depth] = name;
                lens[depth++] = nl;
                break;
            }
            const char *an = s;
            while (*s && !strchr(" \t\r\n=/>", *s))
                s++;
            if (s == an || *s != '=' || (s[1] != '"' && s[1] != '\''))
                return snprintf(why, why_size, "bad attribute at '%.20s'", an), -1;
            char q = s[1];
            s += 2;
            while (*s && *s != q) {
                if (*s == '<')
                    return snprintf(why, why_size, "'<' in attribute"), -1;
                s++;
            }
            if (!*s)
                return snprintf(why, why_size, "unterminated attribute"), -1;
            s++;
        }
    }
    if (depth)
        return snprintf(why, why_size, "unclosed <%.*s>", (int)lens[depth - 1], stack[depth - 1]), -1;
    if (roots != 1)
        return snprintf(why, why_size, "%d root elements", roots), -1;
    return 0;
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* <path> elements inside <g class="label"> groups. */
static int label_paths(const char *s)
{
    int n = 0;
    for (const char *g = strstr(s, "<g class=\"label\""); g; g = strstr(g + 1, "<g class=\"label\"")) {
        const char *end = strstr(g, "</g>");
        assert_non_null(end);
        for (const char *p = strstr(g, "<path "); p && p < end; p = strstr(p + 1, "<path "))
            n++;
    }
    return n;
}

static void test_svg(void **state)
{
    (void)state;
    char why[200];
    assert_int_equal(xml_check("<a x=\"1\"><b/>t&amp;</a>", why, sizeof why), 0);
    assert_int_not_equal(xml_check("<a><b></a>", why, sizeof why), 0);
    assert_int_not_equal(xml_check("<a>&</a>", why, sizeof why), 0);
    assert_int_not_equal(xml_check("<a x=1></a>", why, sizeof why), 0);

    mhv_render_params p = mhv_render_default_params();
    mhv_attn a;
    make_attn(&a, 1, 1, 1);
    mhv_fig_input in = input(1);
    in.model = "a&b <model>"; /* must be escaped */
    mhv_scene s;
    mhv_error err = {0};
    assert_int_equal(mhv_render_head(&p, fs, &in, &a.heads[0], &s, &err), MHV_OK);
    char path[] = "/tmp/mhv-test-svg.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_int_equal(mhv_svg_write(f, path, &s, fs, &err), MHV_OK);
    fclose(f);
    size_t len;
    char *svg = slurp(path, &len);
    if (xml_check(svg, why, sizeof why))
        fail_msg("SVG not well formed: %s", why);
    assert_int_equal(count(svg, "<rect class=\"cell\""), N * N);
    assert_int_equal(count(svg, "url(#hatch"), N * (N - 1) / 2); /* masked cells */
    assert_null(strstr(svg, "<image"));
    assert_null(strstr(svg, "<text"));
    /* one <path> per visible glyph of every label */
    int glyphs = 0;
    for (int i = 0; i < s.n; i++) {
        const mhv_prim *q = &s.prims[i];
        if (q->kind != MHV_PRIM_TEXT || q->role != MHV_ROLE_LABEL)
            continue;
        mhv_placed g[64];
        int n = mhv_font_layout(fs, mhv_prim_text(&s, q), q->len, q->w, g, 64, NULL);
        for (int k = 0; k < n; k++) {
            mhv_path_op *ops;
            int m = mhv_font_outline(fs, g[k].g, q->w, &ops);
            free(ops);
            glyphs += m > 0;
        }
    }
    assert_true(glyphs >= 2 * (N + 10)); /* every token twice; [CLS] alone is 5 glyphs */
    assert_int_equal(label_paths(svg), glyphs);
    free(svg);
    unlink(path);
    mhv_scene_free(&s);
    mhv_attn_free(&a);
}

/* ---- highlighted rows and columns (rank --render) ------------------------------------ */

static void write_png(const mhv_scene *s, const char *path)
{
    mhv_error err = {0};
    mhv_canvas c;
    assert_int_equal(mhv_canvas_new(s->width, s->height, &c, &err), MHV_OK);
    assert_int_equal(mhv_canvas_draw(&c, s, fs, &err), MHV_OK);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(mhv_png_write(f, path, &c, s, 96, &err), MHV_OK);
    assert_int_equal(fclose(f), 0);
    mhv_canvas_free(&c);
}

/* Pixel (x, y) lies in the snapped rect of some highlight primitive. */
static int in_highlight(const mhv_scene *s, int x, int y)
{
    for (int i = 0; i < s->n; i++) {
        const mhv_prim *q = &s->prims[i];
        if (q->role == MHV_ROLE_HIGHLIGHT && x >= lrintf(q->x) && x < lrintf(q->x + q->w) &&
            y >= lrintf(q->y) && y < lrintf(q->y + q->h))
            return 1;
    }
    return 0;
}

static void test_highlight(void **state)
{
    (void)state;
    static const uint8_t black[3] = {0, 0, 0}, white[3] = {255, 255, 255};
    mhv_render_params p = mhv_render_default_params();
    mhv_attn a;
    make_attn(&a, 1, 1, 0);
    mhv_fig_input in = input(0);
    mhv_scene plain, hl;
    mhv_error err = {0};
    assert_int_equal(mhv_render_head(&p, fs, &in, &a.heads[0], &plain, &err), MHV_OK);
    /* 它 (token 13) attends to 苹果 (tokens 1 and 2) */
    in.highlight = (mhv_highlight){13, 14, 1, 3, NULL};
    assert_int_equal(mhv_render_head(&p, fs, &in, &a.heads[0], &hl, &err), MHV_OK);
    int boxes = 0;
    for (int i = 0; i < hl.n; i++)
        boxes += hl.prims[i].role == MHV_ROLE_HIGHLIGHT;
    assert_int_equal(boxes, 2 * 4 * 2 + 2); /* two frames per box, a tick per axis */

    char dir[] = "/tmp/mhv-test-hl.XXXXXX";
    mkdtemp_or_fail(dir);
    char p0[256], p1[256];
    snprintf(p0, sizeof p0, "%s/plain.png", dir);
    snprintf(p1, sizeof p1, "%s/hl.png", dir);
    write_png(&plain, p0);
    write_png(&hl, p1);
    image im0, im1;
    read_png(p0, &im0);
    read_png(p1, &im1);
    assert_int_equal(im0.w, im1.w);
    assert_int_equal(im0.h, im1.h);

    /* every cell keeps its colormap colour at its centre, boxed or not */
    grid g = cell_grid(&hl);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            uint8_t want[3];
            mhv_cmap_rgb(p.cmap, a.heads[0].w[i * N + j], want);
            const uint8_t *c = at(&im1, g.x0 + ((float)j + 0.5f) * g.cell,
                                  g.y0 + ((float)i + 0.5f) * g.cell);
            if (!near(c, want, 1))
                fail_msg("cell (%d, %d) changed under the highlight", i, j);
        }
    /* and nothing but the boxes and ticks differs from the plain figure */
    int changed = 0;
    for (int y = 0; y < im1.h; y++)
        for (int x = 0; x < im1.w; x++) {
            const uint8_t *u = at(&im0, (float)x, (float)y), *v = at(&im1, (float)x, (float)y);
            if (near(u, v, 0))
                continue;
            if (!in_highlight(&hl, x, y))
                fail_msg("pixel (%d, %d) changed outside the highlight", x, y);
            changed++;
        }
    assert_true(changed > 4 * N * (int)g.cell); /* two long boxes' worth */

    /* the boxes: 2 px black on the band's edge, 1 px white inside it, at 96 dpi */
    long ry = lrintf(g.y0 + 13 * g.cell), ry1 = lrintf(g.y0 + 14 * g.cell);
    long cx = lrintf(g.x0 + 1 * g.cell), cx1 = lrintf(g.x0 + 3 * g.cell);
    float mx = g.x0 + 8.5f * g.cell, my = g.y0 + 8.5f * g.cell; /* away from crossings */
    for (int d = 0; d < 2; d++) {
        assert_true(near(at(&im1, mx, (float)(ry + d)), black, 0));
        assert_true(near(at(&im1, mx, (float)(ry1 - 1 - d)), black, 0));
        assert_true(near(at(&im1, (float)(cx + d), my), black, 0));
        assert_true(near(at(&im1, (float)(cx1 - 1 - d), my), black, 0));
    }
    assert_true(near(at(&im1, mx, (float)(ry + 2)), white, 0));
    assert_true(near(at(&im1, mx, (float)(ry1 - 3)), white, 0));
    assert_true(near(at(&im1, (float)(cx + 2), my), white, 0));
    assert_true(near(at(&im1, (float)(cx1 - 3), my), white, 0));
    /* just outside the bands the cells are untouched */
    assert_true(near(at(&im1, mx, (float)(ry - 1)), at(&im0, mx, (float)(ry - 1)), 0));
    assert_true(near(at(&im1, (float)(cx1), my), at(&im0, (float)(cx1), my), 0));
    /* ticks in the gutter beside the 它 row label and under the 苹果 column labels */
    assert_true(near(at(&im1, g.x0 - 2, g.y0 + 13.5f * g.cell), black, 0));
    assert_true(near(at(&im0, g.x0 - 2, g.y0 + 13.5f * g.cell), white, 0));
    assert_true(near(at(&im1, g.x0 + 2 * g.cell, g.y0 - 2), black, 0));
    assert_true(near(at(&im0, g.x0 + 2 * g.cell, g.y0 - 2), white, 0));

    /* the same boxes in the SVG, and the note in the title */
    mhv_scene_free(&hl);
    in.highlight.note = "\xE5\xAE\x83 \xE2\x86\x92 \xE8\x8B\xB9\xE6\x9E\x9C"; /* 它 → 苹果 */
    assert_int_equal(mhv_render_head(&p, fs, &in, &a.heads[0], &hl, &err), MHV_OK);
    assert_string_equal(mhv_scene_meta_value(&hl, 0),
                        "test-model \xE2\x80\x94 layer 0, head 0 \xE2\x80\x94 outlined: "
                        "\xE5\xAE\x83 \xE2\x86\x92 \xE8\x8B\xB9\xE6\x9E\x9C");
    char ps[256];
    snprintf(ps, sizeof ps, "%s/hl.svg", dir);
    FILE *f = fopen(ps, "wb");
    assert_non_null(f);
    assert_int_equal(mhv_svg_write(f, ps, &hl, fs, &err), MHV_OK);
    fclose(f);
    size_t len;
    char *svg = slurp(ps, &len);
    assert_int_equal(count(svg, "<rect class=\"highlight\""), boxes);
    assert_int_equal(count(svg, "<rect class=\"cell\""), N * N);
    free(svg);

    /* out-of-range or empty ranges draw nothing */
    mhv_scene_free(&hl);
    in.highlight = (mhv_highlight){5, 5, 20, N + 1, NULL};
    assert_int_equal(mhv_render_head(&p, fs, &in, &a.heads[0], &hl, &err), MHV_OK);
    for (int i = 0; i < hl.n; i++)
        assert_int_not_equal(hl.prims[i].role, MHV_ROLE_HIGHLIGHT);

    unlink(p0);
    unlink(p1);
    unlink(ps);
    rmdir(dir);
    free(im0.px);
    free(im1.px);
    mhv_scene_free(&hl);
    mhv_scene_free(&plain);
    mhv_attn_free(&a);
}

/* Aggregates are drawn like heads, titled by what they average, and named apart. */
static void test_aggregate_figures(void **state)
{
    (void)state;
    mhv_render_params p = mhv_render_default_params();
    mhv_attn a;
    make_attn(&a, 3, 1, 0);
    for (int l = 0; l < 3; l++)
        a.heads[l].head = -1;
    mhv_fig_input in = input(0);
    in.num_layers = 3;
    char dir[] = "/tmp/mhv-test-agg.XXXXXX";
    mkdtemp_or_fail(dir);
    mhv_written w = {0};
    mhv_error err = {0};
    static const char *const kinds[] = {"mean", "rollout"};
    for (int k = 0; k < 2; k++) {
        in.aggregate = kinds[k];
        assert_int_equal(mhv_figures_write(dir, MHV_FIG_PNG, &p, fs, &in, &a, &w, &err), MHV_OK);
        mhv_scene s;
        assert_int_equal(mhv_render_head(&p, fs, &in, &a.heads[2], &s, &err), MHV_OK);
        assert_string_equal(mhv_scene_meta_value(&s, 0),
                            k ? "test-model \xE2\x80\x94 rollout of layers 0..2"
                              : "test-model \xE2\x80\x94 layer 2, mean of heads");
        mhv_scene_free(&s);
    }
    assert_int_equal(w.n, 6); /* no layer grids, no overview */
    static const char *const names[] = {"L00-mean.png",    "L01-mean.png",    "L02-mean.png",
                                        "L00-rollout.png", "L01-rollout.png", "L02-rollout.png"};
    for (int i = 0; i < 6; i++) {
        char path[300];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        assert_string_equal(w.path[i], path);
        image im;
        read_png(path, &im);
        free(im.px);
    }
    mhv_written_undo(&w);
    mhv_written_free(&w);
    assert_int_equal(rmdir(dir), 0);
    mhv_attn_free(&a);
}

/* ---- the files of a sentence ------------------------------------------------------- */

static void test_files_metadata_determinism(void **state)
{
    (void)state;
    mhv_render_params p = mhv_render_default_params();
    mhv_attn a;
    make_attn(&a, 2, 2, 0);
    mhv_fig_input in = input(0);
    char root[] = "/tmp/mhv-test-files.XXXXXX";
    mkdtemp_or_fail(root);
    char d1[300], d2[300];
    snprintf(d1, sizeof d1, "%s/one/s", root);
    snprintf(d2, sizeof d2, "%s/two", root);
    mhv_written w = {0};
    mhv_error err = {0};
    assert_int_equal(mhv_figures_write(d1, MHV_FIG_PNG | MHV_FIG_SVG, &p, fs, &in, &a, &w, &err),
                     MHV_OK);
    assert_int_equal(mhv_figures_write(d2, MHV_FIG_PNG | MHV_FIG_SVG, &p, fs, &in, &a, &w, &err),
                     MHV_OK);
    static const char *const names[] = {"L00-H00", "L00-H01", "L00", "L01-H00", "L01-H01",
                                        "L01", "model"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        for (int svg = 0; svg < 2; svg++) {
            char p1[400], p2[400];
            snprintf(p1, sizeof p1, "%s/%s.%s", d1, names[i], svg ? "svg" : "png");
            snprintf(p2, sizeof p2, "%s/%s.%s", d2, names[i], svg ? "svg" : "png");
            size_t l1, l2;
            char *b1 = slurp(p1, &l1), *b2 = slurp(p2, &l2);
            assert_int_equal(l1, l2); /* the same input gives the same bytes */
            assert_memory_equal(b1, b2, l1);
            free(b1);
            free(b2);
            if (!svg) {
                image im;
                read_png(p1, &im);
                assert_true(im.w > 100 && im.h > 100);
                free(im.px);
            }
        }
    /* 7 figures x 2 formats x 2 directories + the directories "one", "one/s", "two" */
    assert_int_equal(w.n, 7 * 2 * 2 + 3);

    /* iTXt: the Chinese sentence survives as UTF-8 */
    char p1[400];
    snprintf(p1, sizeof p1, "%s/L01-H00.png", d1);
    FILE *f = fopen(p1, "rb");
    assert_non_null(f);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng failed");
    png_init_io(png, f);
    png_read_info(png, info);
    png_textp text;
    int nt = 0;
    png_get_text(png, info, &text, &nt);
    int found = 0;
    for (int i = 0; i < nt; i++) {
        if (strcmp(text[i].key, "Sentence") == 0) {
            assert_int_equal(text[i].compression, PNG_ITXT_COMPRESSION_NONE);
            assert_string_equal(text[i].text, in.sentence);
            found |= 1;
        }
        if (strcmp(text[i].key, "Layer") == 0 && strcmp(text[i].text, "1") == 0)
            found |= 2;
        if (strcmp(text[i].key, "Head") == 0 && strcmp(text[i].text, "0") == 0)
            found |= 4;
        if (strcmp(text[i].key, "Model") == 0 && strcmp(text[i].text, "test-model") == 0)
            found |= 8;
    }
    assert_int_equal(found, 15);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);

    mhv_written_undo(&w);
    mhv_written_free(&w);
    assert_int_equal(rmdir(root), 0); /* undo left nothing behind */
    mhv_attn_free(&a);
}

static void test_failure_leaves_nothing(void **state)
{
    (void)state;
    mhv_render_params p = mhv_render_default_params();
    p.cell = 200; /* 22 tokens x 200 px x 8: beyond the largest canvas */
    p.dpi = 768;
    mhv_attn a;
    make_attn(&a, 1, 2, 0);
    mhv_fig_input in = input(0);
    char root[] = "/tmp/mhv-test-fail.XXXXXX";
    mkdtemp_or_fail(root);
    char d[300];
    snprintf(d, sizeof d, "%s/x/y", root);
    mhv_written w = {0};
    mhv_error err = {0};
    assert_int_equal(mhv_figures_write(d, MHV_FIG_SVG | MHV_FIG_PNG, &p, fs, &in, &a, &w, &err),
                     MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "too large"));
    mhv_written_undo(&w);
    mhv_written_free(&w);
    assert_int_equal(rmdir(root), 0);

    /* a directory that cannot be made: a file is in the way */
    char root2[] = "/tmp/mhv-test-fail.XXXXXX", file[300];
    mkdtemp_or_fail(root2);
    snprintf(file, sizeof file, "%s/f", root2);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(d, sizeof d, "%s/f/sub", root2);
    p = mhv_render_default_params();
    assert_int_equal(mhv_figures_write(d, MHV_FIG_PNG, &p, fs, &in, &a, &w, &err), MHV_EIO);
    assert_non_null(strstr(err.msg, "not a directory"));
    assert_int_equal(w.n, 0);
    mhv_written_free(&w);
    unlink(file);
    assert_int_equal(rmdir(root2), 0);
    mhv_attn_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_png_default),
        cmocka_unit_test(test_head_png_causal_magma_print),
        cmocka_unit_test(test_values_contrast),
        cmocka_unit_test(test_scale_modes),
        cmocka_unit_test(test_gqa_title),
        cmocka_unit_test(test_svg),
        cmocka_unit_test(test_highlight),
        cmocka_unit_test(test_aggregate_figures),
        cmocka_unit_test(test_files_metadata_determinism),
        cmocka_unit_test(test_failure_leaves_nothing),
    };
    return cmocka_run_group_tests_name("render", tests, setup, teardown);
}
