/* run_vision.c - `mhaviz run` on vision transformers: images in, per-head attention over
 * the patches out (JSON with the patch grid; PNG overlays of one query's attention). */
#include "run_vision.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/finite.h"
#include "analysis/report.h"
#include "base/jsonw.h"
#include "fig/figures.h"
#include "fig/html_vision.h"
#include "fig/overlay.h"
#include "media/image.h"
#include "media/preprocess.h"
#include "outdir.h"

/* The token names: [CLS], [DIST] (DeiT) or [REG0].. (DINOv2's registers), then r<row>c<col>
 * for the patches of a grid `cols` wide. */
static void token_label(const mhv_config *c, int cols, int i, char *buf, size_t size)
{
    if (i < c->vision_extra && i > 0 && c->vision_registers)
        snprintf(buf, size, "[REG%d]", i - 1);
    else if (i < c->vision_extra)
        snprintf(buf, size, "%s", i == 0 ? "[CLS]" : "[DIST]");
    else
        snprintf(buf, size, "r%dc%d", (i - c->vision_extra) / cols, (i - c->vision_extra) % cols);
}

/* Swin: each stage's layers, grid, patch size in pixels (the image's patch doubled by each
 * merging), heads and token names: its heads' maps are over that grid. */
static void write_json_stages(FILE *f, const mhv_config *c, const mhv_image_grid *g)
{
    fputs("   \"stages\": [", f);
    int rows = g->rows, cols = g->cols, first = 0;
    for (int s = 0; s < c->swin_stages; s++) {
        fprintf(f, "%s\n    {\"stage\": %d, \"layers\": [%d, %d], \"rows\": %d, \"cols\": %d, "
                "\"patch_size\": %d, \"heads\": %d, \"tokens\": [", s ? "," : "", s + 1, first,
                first + c->swin_depths[s] - 1, rows, cols, c->patch_size << s, c->swin_heads[s]);
        for (int i = 0; i < rows * cols; i++) {
            char lab[32];
            token_label(c, cols, i, lab, sizeof lab);
            fputs(i ? ", " : "", f);
            mhv_jsonw_str(f, lab, strlen(lab));
        }
        fputs("]}", f);
        first += c->swin_depths[s];
        rows = (rows + 1) / 2, cols = (cols + 1) / 2;
    }
    fputs("],\n", f);
}

static void write_json_image(FILE *f, int index, const char *path, const mhv_image *im,
                             const int box[4], const double in_image[4], const mhv_config *c,
                             const mhv_image_grid *g, const mhv_attn *a, const char *aggregate,
                             const float *pool)
{
    int n = a->n;
    fputs(index ? ",\n  {\"path\": " : "\n  {\"path\": ", f);
    mhv_jsonw_str(f, path, strlen(path));
    fprintf(f, ", \"width\": %d, \"height\": %d, \"crop\": [%d, %d, %d, %d],\n", im->width,
            im->height, box[0], box[1], box[2], box[3]);
    fprintf(f, "   \"crop_in_image\": [%.6g, %.6g, %.6g, %.6g],\n", in_image[0], in_image[1],
            in_image[2], in_image[3]);
    fprintf(f, "   \"grid\": {\"rows\": %d, \"cols\": %d, \"patch_size\": %d, \"extra_tokens\": %d},\n",
            g->rows, g->cols, c->patch_size, c->vision_extra);
    fputs("   \"tokens\": [", f);
    for (int i = 0; i < n; i++) {
        char lab[32];
        token_label(c, g->cols, i, lab, sizeof lab);
        fputs(i ? ", " : "", f);
        mhv_jsonw_str(f, lab, strlen(lab));
    }
    fputs("],\n", f);
    if (c->swin)
        write_json_stages(f, c, g);
    fputs("   \"attentions\": [", f);
    for (int k = 0; k < a->count; k++) {
        int hn = c->swin ? a->heads[k].rows : n; /* Swin: the map of the layer's stage grid */
        if (aggregate)
            fprintf(f, "%s\n    {\"layer\": %d, \"aggregate\": \"%s\", \"weights\": [",
                    k ? "," : "", a->heads[k].layer, aggregate);
        else
            fprintf(f, "%s\n    {\"layer\": %d, \"head\": %d, \"weights\": [", k ? "," : "",
                    a->heads[k].layer, a->heads[k].head);
        for (int i = 0; i < hn; i++) {
            fputs(i ? ",\n      " : "\n      ", f);
            mhv_jsonw_floats(f, a->heads[k].w + (size_t)i * (size_t)hn, (size_t)hn);
        }
        fputs("]}", f);
    }
    fputs("]", f);
    if (pool) { /* the attention-pooling head: its probe's row over the tokens, per head */
        fputs(",\n   \"pool\": [", f);
        for (int h = 0; h < c->num_heads; h++) {
            fprintf(f, "%s\n    {\"head\": %d, \"weights\": ", h ? "," : "", h);
            mhv_jsonw_floats(f, pool + (size_t)h * (size_t)n, (size_t)n);
            fputs("}", f);
        }
        fputs("]", f);
    }
    fputs("}", f);
}

/* The token names of a model's image, one allocation (names[i] into it). */
typedef struct {
    char **names;       /* (n,) */
    unsigned char *special; /* (n,) 1 for the tokens before the patches */
} vis_tokens;

static mhv_status tokens_make(const mhv_config *c, int n, int cols, vis_tokens *t,
                              mhv_error *err)
{
    free(t->names);
    t->names = malloc((size_t)n * (sizeof *t->names + 16) + (size_t)n);
    if (!t->names)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    char *text = (char *)(t->names + n);
    t->special = (unsigned char *)(text + (size_t)n * 16);
    for (int i = 0; i < n; i++) {
        t->names[i] = text + (size_t)i * 16;
        token_label(c, cols, i, t->names[i], 16);
        t->special[i] = i < c->vision_extra;
    }
    return MHV_OK;
}

/* The figures of one image in dir: per head (or per layer's aggregate view) the overlay
 * L05-H03 and per layer the grid of its heads' overlays L05; with --view matrix the token
 * x token heatmaps instead (mhv_figures_write, patch labels). */
static mhv_status image_figures(const run_vis_opts *o, run_figs *rf, const mhv_render_params *rp,
                                const char *dir, const mhv_fig_input *in,
                                const mhv_overlay_input *im, const mhv_attn *a, mhv_error *err)
{
    const run_fig_opts *fo = o->fig;
    if (fo->view_set && fo->render.view == MHV_VIEW_MATRIX)
        return mhv_figures_write(dir, fo->formats, &fo->render, rf->fs, in, a, &rf->written,
                                 err);
    mhv_status st = mhv_figures_make_dirs(dir, &rf->written, err);
    char base[64];
    for (int k = 0; !st && k < a->count; k++) {
        const mhv_head_attn *h = &a->heads[k];
        mhv_scene sc;
        if (im->query < 0)
            snprintf(base, sizeof base, "pool-H%02d", h->head);
        else if (o->aggregate)
            snprintf(base, sizeof base, "L%02d-%s", h->layer, mhv_agg_name(o->agg));
        else
            snprintf(base, sizeof base, "L%02d-H%02d", h->layer, h->head);
        if ((st = mhv_render_overlay(rp, rf->fs, in, im, h, &sc, err)))
            break;
        st = mhv_figures_emit(dir, base, fo->formats, rp, rf->fs, &sc, &rf->written, err);
        mhv_scene_free(&sc);
    }
    for (int k = 0; !st && !o->aggregate && k < a->count; k++) {
        if (k && a->heads[k].layer == a->heads[k - 1].layer)
            continue;
        mhv_scene sc;
        if (im->query < 0)
            snprintf(base, sizeof base, "pool");
        else
            snprintf(base, sizeof base, "L%02d", a->heads[k].layer);
        if ((st = mhv_render_overlay_layer(rp, rf->fs, in, im, a, a->heads[k].layer, &sc, err)))
            break;
        st = mhv_figures_emit(dir, base, fo->formats, rp, rf->fs, &sc, &rf->written, err);
        mhv_scene_free(&sc);
    }
    /* several layers: every head at a glance, as text runs' model figure */
    if (!st && !o->aggregate && im->query >= 0 && a->count &&
        a->heads[0].layer != a->heads[a->count - 1].layer) {
        mhv_scene sc;
        if (!(st = mhv_render_overlay_model(rp, rf->fs, in, im, a, &sc, err)))
            st = mhv_figures_emit(dir, "model", fo->formats, rp, rf->fs, &sc, &rf->written, err);
        mhv_scene_free(&sc);
    }
    return st;
}

/* Swin: the figures of each stage with heads in a, in dir/stage1, dir/stage2 ... (as
 * transformers names its stages): each over the stage's own grid (its tokens the merged
 * patches of patch_size * 2^s pixels), the query the token holding the image patch asked
 * for (--query ROW,COL of the first stage's grid). */
static mhv_status swin_figures(const run_vis_opts *o, run_figs *rf, const mhv_render_params *rp,
                               const char *dir, const mhv_fig_input *in0,
                               const mhv_overlay_input *im0, const mhv_attn *a,
                               const mhv_config *c, mhv_error *err)
{
    vis_tokens tk = {0};
    mhv_status st = MHV_OK;
    int rows = im0->rows, cols = im0->cols, k = 0;
    for (int s = 0; s < c->swin_stages && !st; s++) {
        int first = k;
        while (k < a->count && mhv_config_swin_stage(c, a->heads[k].layer) == s)
            k++;
        if (k > first) {
            int N = rows * cols;
            char sub[4500];
            snprintf(sub, sizeof sub, "%s/stage%d", dir, s + 1);
            if ((st = tokens_make(c, N, cols, &tk, err)))
                break;
            mhv_fig_input in = *in0;
            in.n = N, in.pieces = (const char *const *)tk.names, in.special = tk.special;
            mhv_overlay_input im = *im0;
            im.rows = rows, im.cols = cols, im.patch = im0->patch << s;
            im.names = in.pieces;
            im.query = (o->query_r >> s) * cols + (o->query_c >> s);
            mhv_attn view = {.n = N, .count = k - first, .heads = a->heads + first};
            st = image_figures(o, rf, rp, sub, &in, &im, &view, err);
        }
        rows = (rows + 1) / 2, cols = (cols + 1) / 2;
    }
    free(tk.names);
    return st;
}

/* A dual image-text model (clip, siglip, chinese_clip) runs its vision tower on a list of
 * images: a line that names no file is most likely a sentence meant for its text tower. */
static void text_tower_hint(const mhv_model *m, const char *path, mhv_error *err)
{
    static const char *const duals[] = {"clip", "siglip", "chinese_clip"};
    if (!err || mhv_path_exists(path))
        return;
    for (size_t i = 0; i < sizeof duals / sizeof duals[0]; i++)
        if (strcmp(m->cfg.model_type, duals[i]) == 0) {
            size_t len = strlen(err->msg);
            snprintf(err->msg + len, sizeof err->msg - len, " (%s reads images; --text-tower "
                     "runs its text tower on sentences)", duals[i]);
        }
}

/* The image paths: the file itself when it is an image, else its lines (a relative path
 * that does not exist as given is tried beside the list file). */
void run_vision_path(const char *list, const mhv_sentence *s, char *buf, size_t size)
{
    const char *t = s->text;
    int n = (int)s->len;
    /* a list's line without the whitespace around it (spaces, tabs, a CR left by an editor),
     * as the shell's `read` takes it; the file given directly is its own name */
    if (strcmp(list, s->text) != 0) {
        while (n > 0 && strchr(" \t\r\f\v", t[n - 1]))
            n--;
        while (n > 0 && strchr(" \t\r\f\v", t[0]))
            t++, n--;
    }
    snprintf(buf, size, "%.*s", n, t);
    if (buf[0] == '/' || mhv_path_exists(buf))
        return;
    const char *slash = strrchr(list, '/');
    if (slash && snprintf(buf, size, "%.*s/%.*s", (int)(slash - list), list, n, t) < (int)size &&
        mhv_path_exists(buf))
        return;
    snprintf(buf, size, "%.*s", n, t);
}

/* An image given directly rather than a list of them: .png, .jpg, .jpeg. */
static int is_image_name(const char *p)
{
    size_t n = strlen(p);
    return (n > 4 && (strcasecmp(p + n - 4, ".png") == 0 || strcasecmp(p + n - 4, ".jpg") == 0)) ||
           (n > 5 && strcasecmp(p + n - 5, ".jpeg") == 0);
}

mhv_status run_vision_input(const char *file, mhv_input *in, mhv_error *err)
{
    memset(in, 0, sizeof *in);
    if (!is_image_name(file) && (cli_file_starts(file, 0, "\x89PNG", 4) ||
                                 cli_file_starts(file, 0, "\xff\xd8\xff", 3)))
        return mhv_fail(err, MHV_EINPUT, file, "an image not named .png, .jpg or .jpeg: FILE "
                        "is an image or a list of them (rename it, or list it in a file)");
    if (!is_image_name(file))
        return mhv_input_read(file, in, err);
    size_t len = strlen(file);
    in->buf = malloc(len + 1);
    in->s = calloc(1, sizeof *in->s);
    if (!in->buf || !in->s) {
        mhv_input_free(in);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    memcpy(in->buf, file, len + 1);
    in->s[0] = (mhv_sentence){in->buf, len, 1};
    in->n = 1;
    snprintf(in->name, sizeof in->name, "%s", file);
    return MHV_OK;
}

mhv_status run_vision_grid(const mhv_model *m, int height, int width, int interpolate_pos,
                           mhv_image_grid *g, mhv_error *err)
{
    mhv_status st = mhv_model_image_grid(m, height, width, interpolate_pos, g, err);
    mhv_error ignored;
    if (st && !interpolate_pos && mhv_model_image_grid(m, height, width, 1, g, &ignored) == 0) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        mhv_fail(err, st, err->file, "%s (--interpolate-pos, as transformers' "
                 "interpolate_pos_encoding)", msg);
    }
    return st;
}

/* Swin's heads: a stage has its own count, a selection is as wide as the most of them.
 * An item naming a head past its layer's count is refused; patterns ("all", "*:3") keep the
 * heads that exist. */
static mhv_status swin_heads(const char *spec, const mhv_model *m, mhv_heads *sel,
                             mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    char item[64];
    for (const char *p = spec; *p;) {
        size_t len = strcspn(p, ",");
        snprintf(item, sizeof item, "%.*s", (int)(len < sizeof item ? len : sizeof item - 1), p);
        int l, h;
        char tail;
        if (sscanf(item, "%d:%d%c", &l, &h, &tail) == 2 && l >= 0 && l < c->num_layers &&
            h >= mhv_config_layer_heads(c, l))
            return mhv_fail(err, MHV_EUSAGE, "", "--heads: %s: layer %d of %s has %d heads "
                            "(stage %d)", item, l, c->arch, mhv_config_layer_heads(c, l),
                            mhv_config_swin_stage(c, l) + 1);
        p += len + (p[len] == ',');
    }
    mhv_model_heads_fit(m, sel);
    return MHV_OK;
}

/* The buffers of one image, grown to the largest so far. */
typedef struct {
    float *px;          /* (channels, height, width) the preprocessed image */
    uint8_t *picture;   /* (height, width, 3) what the model saw, to draw on */
    float *pool_w;      /* (heads, n) the pooling head's rows, when asked */
    mhv_head_attn *pool_heads; /* (heads,) */
    size_t px_cap, pic_cap, pool_cap;
} vis_bufs;

static int grow(void **p, size_t *cap, size_t bytes)
{
    if (bytes <= *cap)
        return 0;
    void *q = realloc(*p, bytes);
    if (!q)
        return -1;
    *p = q, *cap = bytes;
    return 0;
}

static mhv_status bufs_fit(vis_bufs *b, const mhv_config *c, int h, int w, int n, int pool,
                           mhv_error *err)
{
    size_t plane = (size_t)h * (size_t)w, heads = (size_t)c->num_heads;
    if (grow((void **)&b->px, &b->px_cap, (size_t)c->num_channels * plane * sizeof *b->px) ||
        grow((void **)&b->picture, &b->pic_cap, plane * 3) ||
        (pool && grow((void **)&b->pool_w, &b->pool_cap, heads * (size_t)n * sizeof *b->pool_w)) ||
        (pool && !b->pool_heads && !(b->pool_heads = calloc(heads, sizeof *b->pool_heads))))
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    return MHV_OK;
}

static void bufs_free(vis_bufs *b)
{
    free(b->px), free(b->picture), free(b->pool_w), free(b->pool_heads);
}

mhv_status run_vision(const run_vis_opts *o, mhv_model *m, mhv_forward_ctx *fc, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    const run_fig_opts *fo = o->fig;
    int overlays = fo->formats && !(fo->view_set && fo->render.view == MHV_VIEW_MATRIX);
    if (fo->view_set && fo->render.view != MHV_VIEW_MATRIX)
        return mhv_fail(err, MHV_EUSAGE, "", "--view %s is for text models (vision models: "
                        "overlays, or --view matrix)",
                        fo->render.view == MHV_VIEW_LINES ? "lines" : "row");
    if (fo->weighting && strcmp(fo->weighting, "attn") != 0)
        return mhv_fail(err, MHV_EUSAGE, "", "--weighting %s is not available for vision "
                        "models yet", fo->weighting);
    if (overlays && fo->render.values)
        return mhv_fail(err, MHV_EUSAGE, "", "--values prints weights in matrix cells: the "
                        "overlays have none (give --view matrix)");
    if (o->query_cls && c->vision_extra == 0)
        return mhv_fail(err, MHV_EUSAGE, "", "--query cls: %s has no [CLS] token (give --query "
                        "ROW,COL%s)", c->arch, m->pool_probe ? " or pool" : "");
    if (c->swin && (fo->html || o->aggregate))
        return mhv_fail(err, MHV_EUNSUPPORTED, "", "%s is not available for %s yet (its "
                        "stages have token grids of their own%s)",
                        fo->html ? "--format html" : "--aggregate", c->arch,
                        fo->html ? ": give png, svg, pdf or json" : "");
    /* a model without [CLS] but with a pooling head (SigLIP) draws its probe by default */
    int pool = o->query_pool || (!o->query_patch && c->vision_extra == 0 && m->pool_probe);
    if (pool && !m->pool_probe)
        return mhv_fail(err, MHV_EUSAGE, "", "--query pool: %s has no attention-pooling head",
                        c->arch);
    if (pool && o->aggregate)
        return mhv_fail(err, MHV_EUSAGE, "", "--query pool draws the pooling head, not "
                        "--aggregate views");
    if (overlays && !pool && !o->query_patch && c->vision_extra == 0)
        return mhv_fail(err, MHV_EUSAGE, "", "%s has no [CLS] token: give --query ROW,COL (a "
                        "patch) for the overlays, or --view matrix", c->arch);
    /* the overlays' colours default to each picture's own range: a query's weights spread
     * over hundreds of patches are invisible on 0..1 */
    mhv_render_params rp = fo->render;
    if (!fo->scale_set)
        rp.scale = MHV_SCALE_HEAD;
    mhv_heads sel = {0};
    mhv_input in = {0};
    mhv_preprocess pp;
    vis_tokens tk = {0};
    vis_bufs vb = {0};
    run_figs rf;
    mhv_status st;
    if ((st = mhv_heads_parse(o->heads, c->num_layers, c->num_heads, &sel, err))) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return mhv_fail(err, st, "", "--heads: %s", msg);
    }
    if (c->swin && (st = swin_heads(o->heads, m, &sel, err)))
        goto done_sel;
    if ((st = run_figs_begin(&rf, fo, m, NULL, err)))
        goto done_sel;
    if ((st = mhv_preprocess_load(m->dir, c->image_size, &pp, err)))
        goto done_figs;
    if (o->no_resize)
        pp.do_resize = 0, pp.do_center_crop = 0;
    if ((st = run_vision_input(o->file, &in, err)))
        goto done_figs;
    char stem[256], path[4600];
    mhv_input_stem(o->file, stem, sizeof stem);
    cli_outdir od;
    if ((st = cli_outdir_begin(&od, o->out, err)))
        goto done_in;
    mhv_out json = {0}, html = {0};
    char html_path[4600];
    if (fo->html) {
        snprintf(html_path, sizeof html_path, "%s/%s.html", od.stage, stem);
        mhv_html_vision_info hi = {rf.model_name, in.name, fo->render.cmap,
                                   fo->scale_set && fo->render.scale == MHV_SCALE_FIXED,
                                   o->aggregate ? mhv_agg_name(o->agg) : NULL};
        if ((st = mhv_out_open(&html, html_path, err)) ||
            (st = mhv_html_vision_begin(html.f, html_path, &hi, err)))
            goto fail;
    }
    if (fo->json) {
        snprintf(path, sizeof path, "%s/%s.json", od.stage, stem);
        if ((st = mhv_out_open(&json, path, err)))
            goto fail;
        mhv_model_info info = mhv_model_describe(m);
        fputs("{\"mhaviz_version\": \"" MHV_VERSION "\",\n \"model\": ", json.f);
        mhv_report_model(json.f, &info);
        fputs(",\n \"images\": [", json.f);
    }
    for (int i = 0; i < in.n; i++) {
        char img_path[4096];
        run_vision_path(o->file, &in.s[i], img_path, sizeof img_path);
        mhv_image im;
        mhv_image_grid g = {0};
        int box[4], W = 0, H = 0;
        mhv_attn a;
        if ((st = mhv_image_read(img_path, &im, err))) {
            if (strcmp(o->file, in.s[i].text) != 0) /* a list's line */
                text_tower_hint(m, img_path, err);
            break;
        }
        /* the image's own size after preprocessing, and the patch grid the model makes of it */
        if (!(st = mhv_preprocess_size(&pp, im.width, im.height, &W, &H, img_path, err)) &&
            !(st = run_vision_grid(m, H, W, o->interpolate_pos, &g, err)) &&
            o->query_patch && (o->query_r >= g.rows || o->query_c >= g.cols))
            st = mhv_fail(err, MHV_EUSAGE, "", "--query %d,%d is outside the %dx%d patch grid",
                          o->query_r, o->query_c, g.rows, g.cols);
        int n = g.tokens;
        if (!st && !(st = bufs_fit(&vb, c, H, W, n, pool, err)) &&
            !(st = tokens_make(c, n, g.cols, &tk, err)))
            st = mhv_preprocess_run(&pp, &im, H, W, vb.px, box, img_path, err);
        mhv_forward_opts fwo = {.pixels = vb.px, .image_h = H, .image_w = W,
                                .interpolate_pos = o->interpolate_pos,
                                .pool_attn = pool ? vb.pool_w : NULL};
        if (!st)
            st = mhv_forward_run_opts(fc, m, NULL, NULL, n, &sel, &fwo, &a, err);
        if (!st && (st = mhv_attn_check_finite(&a, err)))
            mhv_attn_free(&a);
        if (st) {
            mhv_image_free(&im);
            if (!err->file[0])
                snprintf(err->file, sizeof err->file, "%.*s", (int)sizeof err->file - 1,
                         img_path);
            break;
        }
        int query = pool ? -1 : o->query_patch ? c->vision_extra + o->query_r * g.cols + o->query_c
                                               : 0;
        if (o->aggregate) { /* a layer's view in place of its heads */
            mhv_attn agg;
            st = mhv_aggregate(&a, c->num_layers, c->num_heads, o->agg, &agg, err);
            mhv_attn_free(&a);
            if (st) {
                mhv_image_free(&im);
                break;
            }
            a = agg;
        }
        double in_image[4];
        mhv_preprocess_box_in_image(&pp, &im, box, in_image);
        float *pool_w = pool ? vb.pool_w : NULL;
        if (fo->json)
            write_json_image(json.f, i, img_path, &im, box, in_image, c, &g, &a,
                             o->aggregate ? mhv_agg_name(o->agg) : NULL, pool_w);
        if (fo->formats || fo->html)
            mhv_preprocess_picture(&pp, vb.px, c->num_channels, H, W, vb.picture);
        if (fo->html) {
            mhv_html_vision_picture hp = {vb.picture, W, H, g.rows, g.cols, c->patch_size,
                                          c->vision_extra};
            st = mhv_html_vision_image(html.f, html_path, i, img_path, &hp,
                                       (const char *const *)tk.names, query < 0 ? 0 : query,
                                       &a, pool_w, c->num_heads, err);
        }
        if (!st && fo->formats) {
            char dir[4400];
            if (i)
                snprintf(dir, sizeof dir, "%s/%s-%d", od.stage, stem, i + 1);
            else
                snprintf(dir, sizeof dir, "%s/%s", od.stage, stem);
            mhv_fig_input fin = {
                .model = rf.model_name, .num_layers = c->num_layers,
                .num_heads = c->num_heads, .sentence = img_path, .n = n,
                .pieces = (const char *const *)tk.names, .special = tk.special,
                .kind = MHV_LABEL_WORDPIECE,
                .aggregate = o->aggregate ? mhv_agg_name(o->agg) : NULL,
            };
            mhv_overlay_input oin = {vb.picture, W, H, g.rows, g.cols, c->patch_size,
                                     c->vision_extra, (const char *const *)tk.names, query};
            /* the pooling head's heads as one-row maps, drawn in place of the layers' */
            mhv_attn pa = {.n = n, .count = c->num_heads, .heads = vb.pool_heads};
            for (int h = 0; pool && h < c->num_heads; h++)
                vb.pool_heads[h] = (mhv_head_attn){.layer = c->num_layers, .head = h,
                                                   .w = vb.pool_w + (size_t)h * (size_t)n,
                                                   .rows = 1, .cols = n};
            if (c->swin)
                st = swin_figures(o, &rf, &rp, dir, &fin, &oin, &a, c, err);
            else
                st = image_figures(o, &rf, &rp, dir, &fin, &oin, pool && overlays ? &pa : &a,
                                   err);
        }
        mhv_attn_free(&a);
        mhv_image_free(&im);
        if (st)
            break;
    }
    if (st)
        goto fail;
    if (fo->html && ((st = mhv_html_vision_end(html.f, html_path, err)) ||
                     (st = mhv_out_commit(&html, err))))
        goto fail;
    if (fo->json) {
        mhv_report_end(json.f);
        if ((st = mhv_out_commit(&json, err)))
            goto fail_stage;
    }
    st = cli_outdir_commit(&od, err);
    goto done_in;
fail:
    mhv_out_abort(&json);
    mhv_out_abort(&html);
fail_stage:
    cli_outdir_abort(&od, err);
done_in:
    mhv_input_free(&in);
done_figs:
    run_figs_end(&rf, st == MHV_OK);
    free(tk.names);
    bufs_free(&vb);
done_sel:
    mhv_heads_free(&sel);
    return st;
}
