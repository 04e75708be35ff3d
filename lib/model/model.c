#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/family.h"

mhv_status mhv_model_open(const char *dir, mhv_model **out, mhv_error *err)
{
    *out = NULL;
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return mhv_fail(err, MHV_EIO, dir, "not a model directory");
    mhv_model *m = calloc(1, sizeof *m);
    if (!m)
        return mhv_fail(err, MHV_ENOMEM, dir, "out of memory");
    snprintf(m->dir, sizeof m->dir, "%s", dir);

    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    mhv_wload ld;
    const mhv_family *f;
    mhv_status st = mhv_config_load(path, &m->cfg, err);
    if (st || (st = mhv_st_open_dir(dir, &m->st, err)))
        goto fail;
    f = m->cfg.family;
    if ((st = mhv_wload_init(&ld, m->st, dir, f->vector_floats(&m->cfg), &m->store, err)))
        goto fail;
    if (!(m->layers = calloc((size_t)m->cfg.num_layers, sizeof *m->layers))) {
        st = mhv_fail(err, MHV_ENOMEM, dir, "out of memory");
        goto fail;
    }
    if ((st = f->load(m, &ld, err)))
        goto fail;
    m->dtype = m->layers[0].q.dtype;
    *out = m;
    return MHV_OK;
fail:
    mhv_model_close(m);
    return st;
}

void mhv_model_close(mhv_model *m)
{
    if (!m)
        return;
    mhv_model_close(m->image_tower); /* views of m->st */
    mhv_model_close(m->text_model);
    mhv_st_close(m->st);
    mhv_wstore_free(&m->store);
    free(m->layers);
    free(m->experts);
    free(m->sub_layers);
    free(m);
}

mhv_status mhv_model_open_part(const mhv_model *m, const mhv_config *c,
                               const char *const (*renames)[2], int count, mhv_model **out,
                               mhv_error *err)
{
    *out = NULL;
    mhv_model *p = calloc(1, sizeof *p);
    if (!p)
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory");
    p->cfg = *c;
    snprintf(p->dir, sizeof p->dir, "%s", m->dir);
    mhv_wload ld;
    mhv_status st;
    if ((st = mhv_st_view(m->st, renames, count, &p->st, err)) ||
        (st = mhv_wload_init(&ld, p->st, p->dir, p->cfg.family->vector_floats(&p->cfg),
                             &p->store, err)))
        goto fail;
    if (!(p->layers = calloc((size_t)p->cfg.num_layers, sizeof *p->layers))) {
        st = mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory");
        goto fail;
    }
    if ((st = p->cfg.family->load(p, &ld, err)))
        goto fail;
    p->dtype = p->layers[0].q.dtype;
    *out = p;
    return MHV_OK;
fail:
    mhv_model_close(p);
    return st;
}

void mhv_model_mirror_text(mhv_model *m)
{
    const mhv_model *t = m->text_model;
    memcpy(m->layers, t->layers, (size_t)m->cfg.num_layers * sizeof *m->layers);
    m->word_emb = t->word_emb, m->lm_head = t->lm_head, m->lm_head_b = t->lm_head_b;
    m->norm_g = t->norm_g, m->norm_b = t->norm_b;
}

mhv_model_info mhv_model_describe(const mhv_model *m)
{
    const mhv_config *c = &m->cfg;
    return (mhv_model_info){
        .path = m->dir, .architecture = c->arch, .num_layers = c->num_layers,
        .num_heads = c->num_heads, .hidden_size = c->hidden_size,
        .num_kv_heads = c->kv_heads ? c->num_kv_heads : 0,
        .dtype = mhv_dtype_name(m->dtype), .causal = c->causal,
        .num_decoder_layers = c->enc_dec ? c->dec_layers : 0,
    };
}

int mhv_model_image_tokens(const mhv_model *m)
{
    const mhv_config *c = &m->cfg;
    int side = c->vision ? c->image_size / c->patch_size : 0;
    return c->vision ? c->vision_extra + side * side : 0;
}

mhv_status mhv_model_image_grid(const mhv_model *m, int height, int width, int interpolate_pos,
                                mhv_image_grid *g, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    memset(g, 0, sizeof *g);
    if (!c->vision)
        return mhv_fail(err, MHV_EUSAGE, "", "%s takes token ids, not an image", c->arch);
    int S = c->image_size, P = c->patch_size, side = S / P;
    if (height < 1 || width < 1 || (!c->swin && (height < P || width < P)))
        return mhv_fail(err, MHV_EUSAGE, "",
                        "the image comes to %dx%d pixels after preprocessing: less than one "
                        "%dx%d patch", width, height, P, P);
    if (c->vision_patch_hwc && (height % P || width % P)) /* no convolution to drop a rest */
        return mhv_fail(err, MHV_EUSAGE, "",
                        "the image comes to %dx%d pixels after preprocessing: %s takes whole "
                        "%dx%d patches only", width, height, c->arch, P, P);
    g->rows = height / P, g->cols = width / P;
    if (c->swin) /* Swin pads the image with zeros to whole patches */
        g->rows = (height + P - 1) / P, g->cols = (width + P - 1) / P;
    if ((long)g->rows * g->cols + c->vision_extra > MHV_MAX_POSITIONS)
        return mhv_fail(err, MHV_EUSAGE, "",
                        "the image comes to %dx%d pixels after preprocessing: %dx%d patches "
                        "are too many", width, height, g->cols, g->rows);
    g->tokens = c->vision_extra + g->rows * g->cols;
    g->interpolate = g->rows != side || g->cols != side;
    if (c->vision_pos == MHV_VPOS_NEVER && g->interpolate)
        return mhv_fail(err, MHV_EUSAGE, "",
                        "the image comes to %dx%d pixels after preprocessing: %dx%d patches; %s "
                        "takes its own %dx%d grid only (transformers resizes no positions for it)",
                        width, height, g->cols, g->rows, c->arch, side, side);
    int asked = interpolate_pos || c->vision_pos == MHV_VPOS_ALWAYS;
    if (!asked && (c->vision_pos == MHV_VPOS_ASKED_GRID ? g->interpolate
                                                        : height != S || width != S))
        return mhv_fail(err, MHV_EUSAGE, "",
                        "the image comes to %dx%d pixels after preprocessing; %s takes %dx%d "
                        "unless its position embeddings are interpolated",
                        width, height, c->arch, S, S);
    /* PyTorch's antialiased resize to one column comes out as its first row everywhere
     * (2.x): transformers' positions there are not the resize's */
    if (g->interpolate && c->vision_pos_aa && g->cols == 1 && g->rows != side)
        return mhv_fail(err, MHV_EUNSUPPORTED, "",
                        "an image one patch wide is not supported for %s (PyTorch's "
                        "antialiased resize of its positions to one column is wrong)", c->arch);
    return MHV_OK;
}

int mhv_model_heads_fit(const mhv_model *m, mhv_heads *sel)
{
    int cleared = 0;
    for (int l = 0; l < sel->num_layers && l < m->cfg.num_layers; l++)
        for (int h = mhv_config_layer_heads(&m->cfg, l); h < sel->num_heads; h++)
            if (sel->sel[l * sel->num_heads + h]) {
                sel->sel[l * sel->num_heads + h] = 0;
                cleared++;
            }
    return cleared;
}

void mhv_model_layer_grid(const mhv_model *m, int l, int rows0, int cols0, int *rows,
                          int *cols)
{
    *rows = rows0, *cols = cols0;
    for (int s = mhv_config_swin_stage(&m->cfg, l); s > 0; s--)
        *rows = (*rows + 1) / 2, *cols = (*cols + 1) / 2;
}
