/* s2s_image.c - the image of a vision encoder-decoder's line (s2s_image.h). */
#include "s2s_image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/image.h"
#include "media/preprocess.h"
#include "run_vision.h"

mhv_status s2s_image_input(const char *file, mhv_input *in, mhv_error *err)
{
    return run_vision_input(file, in, err); /* an image itself, or a list of lines */
}

/* The label of encoder token i of the config ctx: [CLS], [DIST], then rROWcCOL. */
static void token_label(int i, char *buf, size_t size, const void *ctx)
{
    const mhv_config *c = ctx;
    int E = c->image_extra, side = c->image_size / c->patch_size;
    if (i < E)
        snprintf(buf, size, "%s", i == 0 ? "[CLS]" : "[DIST]");
    else
        snprintf(buf, size, "r%dc%d", (i - E) / side, (i - E) % side);
}

mhv_status s2s_image_source(const mhv_model *m, const char *list, const mhv_sentence *s,
                            char *path, size_t size, mhv_encoding *e, mhv_error *err)
{
    mhv_sentence p = *s;
    const char *tab = memchr(s->text, '\t', s->len);
    if (tab)
        p.len = (size_t)(tab - s->text);
    if (strcmp(list, s->text) == 0) /* the image given directly */
        snprintf(path, size, "%s", list);
    else
        run_vision_path(list, &p, path, size);
    return cli_position_encoding(m->cfg.audio_positions, token_label, &m->cfg, e, err);
}

mhv_status s2s_image_pixels(const mhv_model *m, const char *path, float **px, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int S = c->image_size, C = c->num_channels;
    *px = NULL;
    if (C != 3)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                        "an encoder of %d channels is not supported (3 are)", C);
    mhv_preprocess pp;
    mhv_image raw;
    int W, H;
    mhv_status st = mhv_preprocess_load(m->dir, S, &pp, err);
    if (st || (st = mhv_image_read(path, &raw, err)))
        return st;
    if (!(st = mhv_preprocess_size(&pp, raw.width, raw.height, &W, &H, path, err)) &&
        (W != S || H != S))
        st = mhv_fail(err, MHV_EUNSUPPORTED, path,
                      "the image comes to %dx%d pixels after preprocessing; the encoder takes "
                      "%dx%d (its positions are not interpolated)", W, H, S, S);
    if (!st && !(*px = malloc((size_t)C * (size_t)S * (size_t)S * sizeof **px)))
        st = mhv_fail(err, MHV_ENOMEM, path, "out of memory");
    if (!st)
        st = mhv_preprocess_run(&pp, &raw, S, S, *px, NULL, path, err);
    mhv_image_free(&raw);
    if (st) {
        free(*px);
        *px = NULL;
    }
    return st;
}

char *s2s_image_json(const mhv_model *m, const char *path)
{
    const mhv_config *c = &m->cfg;
    char *q = cli_json_string(path);
    size_t cap = q ? 256 + strlen(q) : 0;
    char *s = q ? malloc(cap) : NULL;
    int side = c->image_size / c->patch_size;
    if (s)
        snprintf(s, cap,
                 ",\n   \"image\": {\"path\": %s, \"width\": %d, \"height\": %d, "
                 "\"patch_size\": %d, \"rows\": %d, \"cols\": %d, \"extra_tokens\": %d}",
                 q, c->image_size, c->image_size, c->patch_size, side, side, c->image_extra);
    free(q);
    return s;
}
