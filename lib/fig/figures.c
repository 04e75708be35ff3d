#include "fig/figures.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fig/canvas.h"
#include "base/fileio.h"
#include "fig/png_out.h"
#include "fig/pdf.h"
#include "fig/svg.h"

mhv_status mhv_written_add(mhv_written *w, const char *path, int is_dir, mhv_error *err)
{
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 32;
        char **p = realloc(w->path, (size_t)cap * sizeof *p);
        if (p)
            w->path = p;
        unsigned char *d = p ? realloc(w->is_dir, (size_t)cap) : NULL;
        if (!p || !d)
            return mhv_fail(err, MHV_ENOMEM, path, "out of memory");
        w->is_dir = d;
        w->cap = cap;
    }
    char *s = strdup(path);
    if (!s)
        return mhv_fail(err, MHV_ENOMEM, path, "out of memory");
    w->path[w->n] = s;
    w->is_dir[w->n] = (unsigned char)(is_dir != 0);
    w->n++;
    return MHV_OK;
}

void mhv_written_undo(mhv_written *w)
{
    for (int i = w->n - 1; i >= 0; i--) {
        if (w->is_dir[i])
            rmdir(w->path[i]);
        else
            unlink(w->path[i]);
        free(w->path[i]);
    }
    w->n = 0;
}

void mhv_written_free(mhv_written *w)
{
    for (int i = 0; i < w->n; i++)
        free(w->path[i]);
    free(w->path);
    free(w->is_dir);
    memset(w, 0, sizeof *w);
}

static int digits(int v)
{
    int d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d < 2 ? 2 : d;
}

/* Rasterises or vectorises scene s into dir/base.{png,svg} as formats asks. */
static mhv_status emit(const char *dir, const char *base, int formats, const mhv_render_params *p,
                       mhv_fontset *fs, const mhv_scene *s, mhv_written *w, mhv_error *err)
{
    char path[4096];
    mhv_status st;
    if (formats & MHV_FIG_PNG) {
        if (snprintf(path, sizeof path, "%s/%s.png", dir, base) >= (int)sizeof path)
            return mhv_fail(err, MHV_EUSAGE, dir, "output path too long");
        mhv_canvas c;
        if ((st = mhv_canvas_new(s->width, s->height, &c, err)))
            return st;
        mhv_out out;
        if (!(st = mhv_canvas_draw(&c, s, fs, err)) && !(st = mhv_out_open(&out, path, err))) {
            if ((st = mhv_png_write(out.f, path, &c, s, p->dpi, err)))
                mhv_out_abort(&out);
            else if (!(st = mhv_out_commit(&out, err)))
                st = mhv_written_add(w, path, 0, err);
        }
        mhv_canvas_free(&c);
        if (st)
            return st;
    }
    if (formats & MHV_FIG_SVG) {
        if (snprintf(path, sizeof path, "%s/%s.svg", dir, base) >= (int)sizeof path)
            return mhv_fail(err, MHV_EUSAGE, dir, "output path too long");
        mhv_out out;
        if ((st = mhv_out_open(&out, path, err)))
            return st;
        if ((st = mhv_svg_write_labels(out.f, path, s, fs, p->svg_text, err))) {
            mhv_out_abort(&out);
            return st;
        }
        if ((st = mhv_out_commit(&out, err)) || (st = mhv_written_add(w, path, 0, err)))
            return st;
    }
    if (formats & MHV_FIG_PDF) {
        if (snprintf(path, sizeof path, "%s/%s.pdf", dir, base) >= (int)sizeof path)
            return mhv_fail(err, MHV_EUSAGE, dir, "output path too long");
        mhv_out out;
        if ((st = mhv_out_open(&out, path, err)))
            return st;
        if ((st = mhv_pdf_write(out.f, path, s, fs, p->dpi, err))) {
            mhv_out_abort(&out);
            return st;
        }
        if ((st = mhv_out_commit(&out, err)) || (st = mhv_written_add(w, path, 0, err)))
            return st;
    }
    return MHV_OK;
}

/* The directories of dir that do not exist yet, outermost first, made and recorded. */
static mhv_status make_dirs(const char *dir, mhv_written *w, mhv_error *err)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return mhv_fail(err, MHV_EUSAGE, dir, "path too long");
    for (char *q = buf + 1;; q++) {
        if (*q != '/' && *q != '\0')
            continue;
        char c = *q;
        *q = '\0';
        struct stat sb;
        if (stat(buf, &sb) != 0) {
            if (mkdir(buf, 0777) != 0)
                return mhv_fail(err, MHV_EIO, buf, "cannot create directory: %s",
                                strerror(errno));
            mhv_status st = mhv_written_add(w, buf, 1, err);
            if (st)
                return st;
        } else if (!S_ISDIR(sb.st_mode)) {
            return mhv_fail(err, MHV_EIO, buf, "not a directory");
        }
        *q = c;
        if (c == '\0')
            break;
    }
    return MHV_OK;
}

mhv_status mhv_figures_emit(const char *dir, const char *base, int formats,
                            const mhv_render_params *p, mhv_fontset *fs, const mhv_scene *s,
                            mhv_written *w, mhv_error *err)
{
    return emit(dir, base, formats, p, fs, s, w, err);
}

mhv_status mhv_figures_make_dirs(const char *dir, mhv_written *w, mhv_error *err)
{
    return make_dirs(dir, w, err);
}

/* The figure of one head in the view p asks for. */
static mhv_status head_figure(const mhv_render_params *p, mhv_fontset *fs,
                              const mhv_fig_input *in, const mhv_head_attn *h, mhv_scene *s,
                              mhv_error *err)
{
    if (in->row_ids && p->view != MHV_VIEW_MATRIX)
        return mhv_fail(err, MHV_EUSAGE, "", "kept query rows are drawn in the matrix view only");
    if (p->view == MHV_VIEW_LINES)
        return mhv_render_lines(p, fs, in, &h, 1, s, err);
    if (p->view == MHV_VIEW_ROW)
        return mhv_render_row(p, fs, in, h, s, err);
    return mhv_render_head(p, fs, in, h, s, err);
}

/* A layer's figure: its heads in a grid of matrices, or overlaid in the line view. */
static mhv_status layer_figure(const mhv_render_params *p, mhv_fontset *fs,
                               const mhv_fig_input *in, const mhv_attn *a, int layer,
                               mhv_scene *s, mhv_error *err)
{
    if (in->row_ids && p->view != MHV_VIEW_MATRIX)
        return mhv_fail(err, MHV_EUSAGE, "", "kept query rows are drawn in the matrix view only");
    if (p->view != MHV_VIEW_LINES)
        return mhv_render_layer(p, fs, in, a, layer, s, err);
    const mhv_head_attn **hs = malloc((size_t)a->count * sizeof *hs);
    if (!hs)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    int k = 0;
    for (int i = 0; i < a->count; i++)
        if (a->heads[i].layer == layer)
            hs[k++] = &a->heads[i];
    mhv_status st = mhv_render_lines(p, fs, in, hs, k, s, err);
    free(hs);
    return st;
}

/* Walks every figure of the sentence; with dir == NULL only builds them in memory. */
static mhv_status each_figure(const char *dir, int formats, const mhv_render_params *p,
                              mhv_fontset *fs, const mhv_fig_input *in0, const mhv_attn *a,
                              mhv_written *w, mhv_error *err)
{
    mhv_fig_input grouped = *in0;
    if (a->kv_group > 0)
        grouped.kv_group = a->kv_group;
    const mhv_fig_input *in = &grouped;
    int dl = digits(in->num_layers - 1), dh = digits(in->num_heads - 1);
    char base[64];
    mhv_scene s;
    mhv_status st = MHV_OK;
    int layers = 0;
    for (int i = 0; i < a->count && !st; i++) {
        const mhv_head_attn *h = &a->heads[i];
        if ((st = head_figure(p, fs, in, h, &s, err)))
            break;
        snprintf(base, sizeof base, "L%0*d-H%0*d", dl, h->layer, dh, h->head);
        st = dir ? emit(dir, base, formats, p, fs, &s, w, err) : MHV_OK;
        if (!dir && !st && (formats & MHV_FIG_PNG)) {
            mhv_canvas c;
            if (!(st = mhv_canvas_new(s.width, s.height, &c, err)))
                st = mhv_canvas_draw(&c, &s, fs, err);
            mhv_canvas_free(&c);
        }
        mhv_scene_free(&s);
        /* a layer's grid follows its last head; the row view has head figures only */
        if (!st && p->view != MHV_VIEW_ROW &&
            (i + 1 == a->count || a->heads[i + 1].layer != h->layer)) {
            layers++;
            if ((st = layer_figure(p, fs, in, a, h->layer, &s, err)))
                break;
            snprintf(base, sizeof base, "L%0*d", dl, h->layer);
            st = dir ? emit(dir, base, formats, p, fs, &s, w, err) : MHV_OK;
            mhv_scene_free(&s);
        }
    }
    if (!st && layers > 1) {
        if ((st = mhv_render_model(p, fs, in, a, &s, err)))
            return st;
        st = dir ? emit(dir, "model", formats, p, fs, &s, w, err) : MHV_OK;
        mhv_scene_free(&s);
    }
    return st;
}

mhv_status mhv_figures_write(const char *dir, int formats, const mhv_render_params *p,
                             mhv_fontset *fs, const mhv_fig_input *in, const mhv_attn *a,
                             mhv_written *w, mhv_error *err)
{
    if (in->aggregate) /* one view per layer: no grids of heads to draw */
        return mhv_figures_write_heads(dir, formats, p, fs, in, a, w, err);
    mhv_status st = make_dirs(dir, w, err);
    if (st)
        return st;
    return each_figure(dir, formats, p, fs, in, a, w, err);
}

mhv_status mhv_figures_write_heads(const char *dir, int formats, const mhv_render_params *p,
                                   mhv_fontset *fs, const mhv_fig_input *in0, const mhv_attn *a,
                                   mhv_written *w, mhv_error *err)
{
    mhv_fig_input in = *in0;
    if (a->kv_group > 0)
        in.kv_group = a->kv_group;
    int dl = digits(in.num_layers - 1), dh = digits(in.num_heads - 1);
    mhv_status st = make_dirs(dir, w, err);
    for (int i = 0; i < a->count && !st; i++) {
        const mhv_head_attn *h = &a->heads[i];
        char base[64];
        if (in.aggregate)
            snprintf(base, sizeof base, "L%0*d-%.20s", dl, h->layer, in.aggregate);
        else
            snprintf(base, sizeof base, "L%0*d-H%0*d", dl, h->layer, dh, h->head);
        mhv_scene s;
        if ((st = head_figure(p, fs, &in, h, &s, err)))
            break;
        st = emit(dir, base, formats, p, fs, &s, w, err);
        mhv_scene_free(&s);
    }
    return st;
}

mhv_status mhv_figures_render_only(int formats, const mhv_render_params *p, mhv_fontset *fs,
                                   const mhv_fig_input *in, const mhv_attn *a, mhv_error *err)
{
    return each_figure(NULL, formats, p, fs, in, a, NULL, err);
}
