/* run_llava.c - the prompts and the image of a LLaVA run (run_llava.h). */
#include "run_llava.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/image.h"
#include "media/preprocess.h"
#include "model/forward.h"

mhv_status run_llava_image_read(const mhv_model *m, const char *path, run_llava_image *im,
                                mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    memset(im, 0, sizeof *im);
    if (c->num_channels != 3)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                        "a vision tower of %d channels is not supported (3 are)",
                        c->num_channels);
    mhv_preprocess pp;
    mhv_image raw;
    int W, H;
    mhv_status st = mhv_preprocess_load(m->dir, c->image_size, &pp, err);
    if (st)
        return st;
    /* Qwen2-VL: the processor's patches must be the tower's (its token count follows) */
    if (c->image_merge > 0 && !pp.smart_factor)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                        "%s needs Qwen2VLImageProcessor (preprocessor_config.json)", c->arch);
    if (c->image_merge > 0 && (pp.smart_patch != c->patch_size ||
                               pp.smart_merge != c->image_merge ||
                               pp.smart_temporal != c->temporal_patch))
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                        "the image processor's patch_size %d, merge_size %d and "
                        "temporal_patch_size %d are not the vision tower's %d, %d and %d",
                        pp.smart_patch, pp.smart_merge, pp.smart_temporal, c->patch_size,
                        c->image_merge, c->temporal_patch);
    if ((st = mhv_image_read(path, &raw, err)))
        return st;
    mhv_image_grid g;
    if (!(st = mhv_preprocess_size(&pp, raw.width, raw.height, &W, &H, path, err)) &&
        !(st = mhv_model_image_grid(mhv_forward_image_tower(m), H, W, 0, &g, err))) {
        if (!(im->px = malloc((size_t)3 * (size_t)H * (size_t)W * sizeof *im->px)))
            st = mhv_fail(err, MHV_ENOMEM, path, "out of memory");
        else
            st = mhv_preprocess_run(&pp, &raw, H, W, im->px, NULL, path, err);
    } else if (st && err->file[0] == '\0') { /* the grid's refusal: name the image */
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        mhv_fail(err, st, path, "%s", msg);
    }
    mhv_image_free(&raw);
    if (st) {
        run_llava_image_free(im);
        return st;
    }
    /* the first feature's patch: the strategy "default" drops the tower's first token,
     * [CLS] or (SigLIP) the first patch */
    int patch0 = (c->image_full ? 0 : 1) - c->image_extra;
    im->info = (mhv_report_image){.path = path, .width = W, .height = H, .rows = g.rows,
                                  .cols = g.cols, .count = g.tokens - (c->image_full ? 0 : 1),
                                  .patch0 = patch0};
    if (c->image_merge > 0) { /* Qwen2-VL: one token per merged block, row by row */
        int M = c->image_merge;
        im->info.rows = g.rows / M, im->info.cols = g.cols / M;
        im->info.count = im->info.rows * im->info.cols, im->info.patch0 = 0;
    }
    return MHV_OK;
}

void run_llava_image_free(run_llava_image *im)
{
    free(im->px);
    memset(im, 0, sizeof *im);
}

/* s's "\n" as a newline and "\\" as a backslash, in place (the text only shrinks). */
static void unescape(mhv_sentence *s)
{
    char *t = (char *)s->text;
    size_t w = 0;
    for (size_t r = 0; r < s->len; r++) {
        if (t[r] == '\\' && r + 1 < s->len && (t[r + 1] == 'n' || t[r + 1] == '\\')) {
            t[w++] = t[r + 1] == 'n' ? '\n' : '\\';
            r++;
        } else {
            t[w++] = t[r];
        }
    }
    t[w] = '\0';
    s->len = w;
}

/* e's one image token replaced by count tokens of the image id, labelled by their patches. */
static mhv_status expand(mhv_encoding *e, int at, const mhv_report_image *img, mhv_error *err)
{
    int n = e->n - 1 + img->count;
    int32_t *ids = malloc((size_t)n * sizeof *ids), *spans = malloc((size_t)n * 2 * sizeof *spans);
    char **pieces = calloc((size_t)n, sizeof *pieces);
    mhv_status st = MHV_OK;
    if (!ids || !spans || !pieces) {
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        goto out;
    }
    for (int i = 0, o = 0; i < e->n; i++) {
        int k = i == at ? img->count : 1;
        for (int j = 0; j < k; j++, o++) {
            char label[32];
            int p = j + img->patch0;
            if (p < 0)
                snprintf(label, sizeof label, "img cls");
            else
                snprintf(label, sizeof label, "img %d,%d", p / img->cols, p % img->cols);
            ids[o] = e->ids[i];
            spans[2 * o] = i == at ? -1 : e->spans[2 * i];
            spans[2 * o + 1] = i == at ? -1 : e->spans[2 * i + 1];
            if (!(pieces[o] = strdup(i == at ? label : e->pieces[i]))) {
                st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
                goto out;
            }
        }
    }
    mhv_encoding_free(e);
    *e = (mhv_encoding){.n = n, .ids = ids, .pieces = pieces, .spans = spans};
    return MHV_OK;
out:
    for (int i = 0; pieces && i < n; i++)
        free(pieces[i]);
    free(ids), free(spans), free(pieces);
    return st;
}

mhv_status run_llava_job_read(cli_job *job, const char *heads, const char *file,
                              cli_input_mode mode, const run_llava_image *im, mhv_error *err)
{
    const mhv_config *cfg = &job->m->cfg;
    mhv_status st;
    if ((st = mhv_heads_parse(heads, cfg->num_layers, cfg->num_heads, &job->sel, err))) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return mhv_fail(err, st, "", "--heads: %s", msg);
    }
    if ((st = mhv_input_read(file, &job->in, err)))
        return st;
    if (mode == INPUT_TEXT)
        for (int i = 0; i < job->in.n; i++)
            unescape(&job->in.s[i]);
    if (!(job->encs = calloc((size_t)job->in.n, sizeof *job->encs)))
        return mhv_fail(err, MHV_ENOMEM, job->in.name, "out of memory");
    /* the limit is the expanded prompt's: checked when it runs */
    if ((st = cli_encode_all(job->tok, &job->in, mode, MHV_MAX_POSITIONS, 0, job->encs, err)))
        return st;
    const char *piece = job->tok ? mhv_tok_piece(job->tok, cfg->image_token_id) : NULL;
    for (int i = 0; i < job->in.n; i++) {
        mhv_encoding *e = &job->encs[i];
        int count = 0, at = -1;
        for (int t = 0; t < e->n; t++)
            if (e->ids[t] == cfg->image_token_id)
                count++, at = at < 0 ? t : at;
        if (count != 1)
            return mhv_fail(err, MHV_EINPUT, job->in.name,
                            "line %d: the prompt holds %d image tokens (%s, id %d); %s reads "
                            "one image a line (--image): write it exactly once",
                            job->in.s[i].line, count, piece ? piece : "the image token",
                            cfg->image_token_id, cfg->arch);
        if ((st = expand(e, at, &im->info, err)))
            return st;
    }
    return MHV_OK;
}

int run_llava_first(const mhv_model *m, const mhv_encoding *enc)
{
    for (int t = 0; t < enc->n; t++)
        if (enc->ids[t] == m->cfg.image_token_id)
            return t;
    return -1;
}
