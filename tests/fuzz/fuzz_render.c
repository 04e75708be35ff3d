/* fuzz_render.c - a head's figure for arbitrary token strings: label layout, the scene in
 * the matrix, line or row view, rasterising it (PNG canvas) or writing it as SVG or PDF, and
 * the HTML explorer's sentence block. Input: a flags byte (label kind, causal, scale, values,
 * SVG, view), a token count byte, then pieces separated by '\n'; the weights are taken from
 * the remaining bytes. Fonts are the system's (fonts-wqy-microhei, DejaVu). */
#include <string.h>

#include "fig/canvas.h"
#include "fuzz.h"
#include "fig/html.h"
#include "fig/pdf.h"
#include "fig/render.h"
#include "fig/svg.h"
#include "text/unicode.h"

static mhv_fontset *fonts;
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    mhv_error err = {0};
    mhv_font_params fp = mhv_font_default_params();
    if (mhv_font_open(&fp, &fonts, &err) != MHV_OK) {
        fprintf(stderr, "fuzz_render: %s: %s\n", err.file, err.msg);
        exit(1);
    }
    devnull = fopen("/dev/null", "wb");
    FUZZ_CHECK(devnull);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 4096)
        return 0;
    int flags = data[0], n = data[1] % 24 + 1;
    char *text = malloc(size - 1);
    FUZZ_CHECK(text);
    memcpy(text, data + 2, size - 2);
    text[size - 2] = '\0';
    const char *pieces[24];
    unsigned char special[24];
    char *p = text;
    for (int i = 0; i < n; i++) {
        char *nl = p ? strchr(p, '\n') : NULL;
        if (nl)
            *nl = '\0';
        pieces[i] = p && *p ? p : "x";
        special[i] = (unsigned char)(i == 0 || i == n - 1);
        p = nl ? nl + 1 : NULL;
    }
    /* pieces come from a vocabulary checked to be UTF-8, except byte-level ones */
    mhv_label_kind kind = flags & 1 ? MHV_LABEL_BYTELEVEL : MHV_LABEL_WORDPIECE;
    for (int i = 0; i < n; i++)
        if ((kind == MHV_LABEL_WORDPIECE || special[i]) &&
            !mhv_utf8_valid(pieces[i], strlen(pieces[i]), NULL))
            pieces[i] = "?";
    float *w = malloc((size_t)n * (size_t)n * sizeof *w);
    FUZZ_CHECK(w);
    for (int i = 0; i < n; i++) {
        float sum = 0;
        for (int j = 0; j < n; j++) {
            w[i * n + j] = (float)(1 + data[(size_t)(i * n + j) % size]);
            sum += w[i * n + j];
        }
        for (int j = 0; j < n; j++)
            w[i * n + j] /= sum;
    }
    mhv_render_params rp = mhv_render_default_params();
    rp.scale = (mhv_scale)((flags >> 2) % 3);
    rp.values = (flags >> 4) & 1;
    mhv_fig_input in = {.model = "fuzz", .num_layers = 12, .num_heads = 12,
                        .causal = (flags >> 1) & 1, .sentence = text, .n = n,
                        .pieces = pieces, .special = special, .kind = kind};
    mhv_head_attn h = {.layer = 3, .head = 7, .w = w};
    const mhv_head_attn *hp = &h;
    /* bits 6-7: matrix, lines, the row view of the first tokens, or the matrix as PDF */
    int view = flags >> 6;
    in.highlight = (mhv_highlight){0, n < 2 ? n : 2, n - 1, n, "fuzz"};
    rp.min_weight = (float)(flags & 0x0c) / 64.0f;
    mhv_scene sc;
    mhv_error err = {0};
    mhv_status st = view == 1   ? mhv_render_lines(&rp, fonts, &in, &hp, 1, &sc, &err)
                    : view == 2 ? mhv_render_row(&rp, fonts, &in, &h, &sc, &err)
                                : mhv_render_head(&rp, fonts, &in, &h, &sc, &err);
    if (st == MHV_OK) {
        FUZZ_CHECK(mhv_scene_check(&sc, &err) == MHV_OK);
        if (view == 3) {
            FUZZ_CHECK(mhv_pdf_write(devnull, "fuzz.pdf", &sc, fonts, 96, &err) == MHV_OK);
        } else if (flags & 0x20) {
            FUZZ_CHECK(mhv_svg_write_labels(devnull, "fuzz.svg", &sc, fonts, view == 2, &err) ==
                       MHV_OK);
        } else {
            mhv_canvas c;
            if (mhv_canvas_new(sc.width, sc.height, &c, &err) == MHV_OK) {
                FUZZ_CHECK(mhv_canvas_draw(&c, &sc, fonts, &err) == MHV_OK);
                mhv_canvas_free(&c);
            }
        }
        mhv_scene_free(&sc);
    }
    mhv_attn a = {.n = n, .count = 1, .heads = &h, .buf = w};
    FUZZ_CHECK(mhv_html_sentence(devnull, "fuzz.html", &in, &a, NULL, NULL, &err) == MHV_OK);
    free(w);
    free(text);
    return 0;
}
