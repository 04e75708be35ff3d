/* parts.c - a part of a multimodal model as a model of its own (parts.h). */
#include "model/parts.h"

#include <stdio.h>
#include <stdlib.h>

#include "model/family.h"

mhv_status mhv_part_open(const mhv_model *m, const mhv_config *c,
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
