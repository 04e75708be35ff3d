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
#include "fig/canvas.h"
#include "fig/colormap.h"
#include "fig/figures.h"
#include "fig/png_out.h"
#include "media/image.h"
#include "media/preprocess.h"
#include "outdir.h"

/* The token labels: [CLS], [DIST] (DeiT), then r<row>c<col> for the patches. */
static void token_label(const mhv_config *c, int i, char *buf, size_t size)
{
    int side = c->image_size / c->patch_size;
    if (i < c->vision_extra)
        snprintf(buf, size, "%s", i == 0 ? "[CLS]" : "[DIST]");
    else
        snprintf(buf, size, "r%dc%d", (i - c->vision_extra) / side, (i - c->vision_extra) % side);
}

static void write_json_image(FILE *f, int index, const char *path, const mhv_image *im,
                             const int box[4], const mhv_config *c, const mhv_attn *a,
                             const char *aggregate)
{
    int n = a->n, side = c->image_size / c->patch_size;
    fputs(index ? ",\n  {\"path\": " : "\n  {\"path\": ", f);
    mhv_jsonw_str(f, path, strlen(path));
    fprintf(f, ", \"width\": %d, \"height\": %d, \"crop\": [%d, %d, %d, %d],\n", im->width,
            im->height, box[0], box[1], box[2], box[3]);
    fprintf(f, "   \"grid\": {\"rows\": %d, \"cols\": %d, \"patch_size\": %d, \"extra_tokens\": %d},\n",
            side, side, c->patch_size, c->vision_extra);
    fputs("   \"tokens\": [", f);
    for (int i = 0; i < n; i++) {
        char lab[32];
        token_label(c, i, lab, sizeof lab);
        fputs(i ? ", " : "", f);
        mhv_jsonw_str(f, lab, strlen(lab));
    }
    fputs("],\n   \"attentions\": [", f);
    for (int k = 0; k < a->count; k++) {
        if (aggregate)
            fprintf(f, "%s\n    {\"layer\": %d, \"aggregate\": \"%s\", \"weights\": [",
                    k ? "," : "", a->heads[k].layer, aggregate);
        else
            fprintf(f, "%s\n    {\"layer\": %d, \"head\": %d, \"weights\": [", k ? "," : "",
                    a->heads[k].layer, a->heads[k].head);
        for (int i = 0; i < n; i++) {
            fputs(i ? ",\n      " : "\n      ", f);
            mhv_jsonw_floats(f, a->heads[k].w + (size_t)i * (size_t)n, (size_t)n);
        }
        fputs("]}", f);
    }
    fputs("]}", f);
}

/* OUT/<dir>/L05-H03.png: the image the model saw (its preprocessed pixels brought back to
 * 0..255) at `zoom`, each patch tinted by the query's attention to it (colormap over
 * 0..the row's largest patch weight, alpha 0.6). */
static mhv_status write_overlay(const char *path, const float *px, const mhv_config *c,
                                const mhv_preprocess *pp, const float *row, mhv_cmap cmap,
                                mhv_error *err)
{
    int S = c->image_size, P = c->patch_size, side = S / P, zoom = S >= 224 ? 1 : (224 + S - 1) / S;
    float top = 0;
    for (int t = 0; t < side * side; t++)
        top = row[c->vision_extra + t] > top ? row[c->vision_extra + t] : top;
    mhv_canvas cv;
    mhv_status st = mhv_canvas_new(S * zoom, S * zoom, &cv, err);
    if (st)
        return st;
    for (int y = 0; y < S * zoom; y++)
        for (int x = 0; x < S * zoom; x++) {
            int sy = y / zoom, sx = x / zoom;
            float w = row[c->vision_extra + (sy / P) * side + sx / P];
            uint8_t tint[3];
            mhv_cmap_rgb(cmap, top > 0 ? w / top : 0, tint);
            for (int ch = 0; ch < 3; ch++) {
                double v = px[((size_t)ch * S + sy) * S + sx];
                if (pp->do_normalize)
                    v = v * pp->std[ch] + pp->mean[ch];
                if (pp->do_rescale && pp->rescale_factor > 0)
                    v /= pp->rescale_factor;
                v = v < 0 ? 0 : v > 255 ? 255 : v;
                cv.px[((size_t)y * cv.w + x) * 3 + ch] = (uint8_t)lround(0.4 * v + 0.6 * tint[ch]);
            }
        }
    mhv_out out;
    if (!(st = mhv_out_open(&out, path, err))) {
        st = mhv_png_write(out.f, path, &cv, NULL, 96, err);
        st = st ? (mhv_out_abort(&out), st) : mhv_out_commit(&out, err);
    }
    mhv_canvas_free(&cv);
    return st;
}

/* The image paths: the file itself when it is a .png, else its lines (a relative path
 * that does not exist as given is tried beside the list file). */
static mhv_status image_path(const char *list, const mhv_sentence *s, char *buf, size_t size)
{
    snprintf(buf, size, "%.*s", (int)s->len, s->text);
    if (buf[0] == '/' || mhv_path_exists(buf))
        return MHV_OK;
    const char *slash = strrchr(list, '/');
    if (slash && snprintf(buf, size, "%.*s/%.*s", (int)(slash - list), list, (int)s->len,
                          s->text) < (int)size && mhv_path_exists(buf))
        return MHV_OK;
    snprintf(buf, size, "%.*s", (int)s->len, s->text);
    return MHV_OK;
}

static int is_png_name(const char *p)
{
    size_t n = strlen(p);
    return n > 4 && strcasecmp(p + n - 4, ".png") == 0;
}

mhv_status run_vision(const run_vis_opts *o, mhv_model *m, mhv_forward_ctx *fc, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int S = c->image_size, n = mhv_model_image_tokens(m), side = S / c->patch_size;
    if (o->query_patch && (o->query_r >= side || o->query_c >= side))
        return mhv_fail(err, MHV_EUSAGE, "", "--query %d,%d is outside the %dx%d patch grid",
                        o->query_r, o->query_c, side, side);
    int query = o->query_patch ? c->vision_extra + o->query_r * side + o->query_c : 0;
    mhv_heads sel = {0};
    mhv_input in = {0};
    mhv_preprocess pp;
    mhv_status st;
    if ((st = mhv_heads_parse(o->heads, c->num_layers, c->num_heads, &sel, err))) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return mhv_fail(err, st, "", "--heads: %s", msg);
    }
    if ((st = mhv_preprocess_load(m->dir, S, &pp, err)))
        goto done_sel;
    if (o->no_resize)
        pp.do_resize = 0, pp.do_center_crop = 0;
    if (is_png_name(o->file)) {
        static char one[4096];
        snprintf(one, sizeof one, "%s", o->file);
        in.n = 1;
        in.s = calloc(1, sizeof *in.s);
        if (!in.s) {
            st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
            goto done_sel;
        }
        in.s[0] = (mhv_sentence){one, strlen(one), 1};
        snprintf(in.name, sizeof in.name, "%s", o->file);
    } else if ((st = mhv_input_read(o->file, &in, err))) {
        goto done_sel;
    }
    char stem[256], path[4600];
    mhv_input_stem(o->file, stem, sizeof stem);
    cli_outdir od;
    if ((st = cli_outdir_begin(&od, o->out, err)))
        goto done_in;
    mhv_out json = {0};
    if (o->fig->json) {
        snprintf(path, sizeof path, "%s/%s.json", od.stage, stem);
        if ((st = mhv_out_open(&json, path, err)))
            goto fail;
        mhv_model_info info = mhv_model_describe(m);
        fputs("{\"mhaviz_version\": \"" MHV_VERSION "\",\n \"model\": ", json.f);
        mhv_report_model(json.f, &info);
        fputs(",\n \"images\": [", json.f);
    }
    float *px = malloc((size_t)c->num_channels * S * S * sizeof *px);
    if (!px) {
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        goto fail;
    }
    for (int i = 0; i < in.n; i++) {
        char img_path[4096];
        image_path(o->file, &in.s[i], img_path, sizeof img_path);
        mhv_image im;
        int box[4];
        mhv_attn a;
        if ((st = mhv_image_read_png(img_path, &im, err)))
            break;
        st = mhv_preprocess_run(&pp, &im, S, S, px, box, img_path, err);
        mhv_forward_opts fo = {.pixels = px};
        if (!st)
            st = mhv_forward_run_opts(fc, m, NULL, NULL, n, &sel, &fo, &a, err);
        if (!st && (st = mhv_attn_check_finite(&a, err)))
            mhv_attn_free(&a);
        if (st) {
            mhv_image_free(&im);
            if (!err->file[0])
                snprintf(err->file, sizeof err->file, "%.*s", (int)sizeof err->file - 1,
                         img_path);
            break;
        }
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
        if (o->fig->json)
            write_json_image(json.f, i, img_path, &im, box, c, &a,
                             o->aggregate ? mhv_agg_name(o->agg) : NULL);
        if (o->fig->formats & MHV_FIG_PNG) {
            char dir[4400];
            if (i)
                snprintf(dir, sizeof dir, "%s/%s-%d", od.stage, stem, i + 1);
            else
                snprintf(dir, sizeof dir, "%s/%s", od.stage, stem);
            st = mhv_mkdir_p(dir, err);
            for (int k = 0; !st && k < a.count; k++) {
                if (o->aggregate)
                    snprintf(path, sizeof path, "%s/L%02d-%s.png", dir, a.heads[k].layer,
                             mhv_agg_name(o->agg));
                else
                    snprintf(path, sizeof path, "%s/L%02d-H%02d.png", dir, a.heads[k].layer,
                             a.heads[k].head);
                st = write_overlay(path, px, c, &pp, a.heads[k].w + (size_t)query * (size_t)n,
                                   o->fig->render.cmap, err);
            }
        }
        mhv_attn_free(&a);
        mhv_image_free(&im);
        if (st)
            break;
    }
    free(px);
    if (st)
        goto fail;
    if (o->fig->json) {
        mhv_report_end(json.f);
        if ((st = mhv_out_commit(&json, err)))
            goto fail_stage;
    }
    st = cli_outdir_commit(&od, err);
    goto done_in;
fail:
    mhv_out_abort(&json);
fail_stage:
    cli_outdir_abort(&od, err);
done_in:
    mhv_input_free(&in);
done_sel:
    mhv_heads_free(&sel);
    return st;
}
