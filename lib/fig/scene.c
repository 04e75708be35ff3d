#include "fig/scene.h"

#include <stdlib.h>
#include <string.h>

void mhv_scene_init(mhv_scene *s, int width, int height)
{
    memset(s, 0, sizeof *s);
    s->width = width;
    s->height = height;
}

void mhv_scene_free(mhv_scene *s)
{
    free(s->prims);
    free(s->pool);
    memset(s, 0, sizeof *s);
}

static mhv_prim *push(mhv_scene *s)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 256;
        mhv_prim *p = realloc(s->prims, (size_t)cap * sizeof *p);
        if (!p) {
            s->oom = 1;
            return NULL;
        }
        s->prims = p;
        s->cap = cap;
    }
    mhv_prim *p = &s->prims[s->n++];
    memset(p, 0, sizeof *p);
    return p;
}

/* Copies len bytes plus a NUL into the pool; returns the offset, or UINT32_MAX on failure. */
static uint32_t intern_max(mhv_scene *s, const char *t, size_t len, size_t max)
{
    if (len > max || s->pool_len + len + 1 > UINT32_MAX) {
        s->oom = 1;
        return UINT32_MAX;
    }
    if (s->pool_len + len + 1 > s->pool_cap) {
        size_t cap = s->pool_cap ? 2 * s->pool_cap : 4096;
        while (cap < s->pool_len + len + 1)
            cap *= 2;
        char *p = realloc(s->pool, cap);
        if (!p) {
            s->oom = 1;
            return UINT32_MAX;
        }
        s->pool = p;
        s->pool_cap = cap;
    }
    uint32_t off = (uint32_t)s->pool_len;
    memcpy(s->pool + off, t, len);
    s->pool[off + len] = '\0';
    s->pool_len += len + 1;
    return off;
}

static uint32_t intern(mhv_scene *s, const char *t, size_t len)
{
    return intern_max(s, t, len, 1u << 20);
}

static void copy3(uint8_t d[3], const uint8_t c[3])
{
    d[0] = c[0];
    d[1] = c[1];
    d[2] = c[2];
}

void mhv_scene_rect(mhv_scene *s, mhv_role role, float x, float y, float w, float h,
                    const uint8_t rgb[3])
{
    mhv_prim *p = push(s);
    if (!p)
        return;
    *p = (mhv_prim){.kind = MHV_PRIM_RECT, .role = (uint8_t)role, .x = x, .y = y, .w = w, .h = h};
    copy3(p->rgb, rgb);
}

void mhv_scene_hatch(mhv_scene *s, mhv_role role, float x, float y, float w, float h,
                     float pitch, const uint8_t bg[3], const uint8_t fg[3])
{
    mhv_prim *p = push(s);
    if (!p)
        return;
    *p = (mhv_prim){.kind = MHV_PRIM_HATCH, .role = (uint8_t)role, .x = x, .y = y, .w = w, .h = h,
                    .aux = pitch};
    copy3(p->rgb, bg);
    copy3(p->rgb2, fg);
}

void mhv_scene_line(mhv_scene *s, mhv_role role, float x0, float y0, float x1, float y1,
                    float width, const uint8_t rgb[3], uint8_t alpha)
{
    mhv_prim *p = push(s);
    if (!p)
        return;
    *p = (mhv_prim){.kind = MHV_PRIM_LINE, .role = (uint8_t)role, .alpha = alpha, .x = x0,
                    .y = y0, .w = x1, .h = y1, .aux = width};
    copy3(p->rgb, rgb);
}

void mhv_scene_text(mhv_scene *s, mhv_role role, float x, float y, float px, int rot,
                    const uint8_t rgb[3], const char *text, size_t len)
{
    uint32_t off = intern(s, text, len);
    if (off == UINT32_MAX)
        return;
    mhv_prim *p = push(s);
    if (!p)
        return;
    *p = (mhv_prim){.kind = MHV_PRIM_TEXT, .role = (uint8_t)role, .rot = (uint8_t)(rot != 0),
                    .x = x, .y = y, .w = px, .text = off, .len = (uint32_t)len};
    copy3(p->rgb, rgb);
}

void mhv_scene_image(mhv_scene *s, mhv_role role, float x, float y, float w, float h,
                     const uint8_t *rgb, int iw, int ih)
{
    if (iw <= 0 || ih <= 0 || iw > MHV_SCENE_IMAGE_MAX || ih > MHV_SCENE_IMAGE_MAX) {
        s->oom = 1;
        return;
    }
    size_t len = (size_t)iw * (size_t)ih * 3;
    uint32_t off = intern_max(s, (const char *)rgb, len, len);
    if (off == UINT32_MAX)
        return;
    mhv_prim *p = push(s);
    if (!p)
        return;
    *p = (mhv_prim){.kind = MHV_PRIM_IMAGE, .role = (uint8_t)role, .x = x, .y = y, .w = w,
                    .h = h, .text = off, .len = (uint32_t)len, .iw = (uint16_t)iw,
                    .ih = (uint16_t)ih};
}

void mhv_scene_meta(mhv_scene *s, const char *key, const char *value)
{
    if (s->n_meta == (int)(sizeof s->meta / sizeof s->meta[0])) {
        s->oom = 1;
        return;
    }
    uint32_t k = intern(s, key, strlen(key));
    uint32_t v = intern(s, value, strlen(value));
    if (k == UINT32_MAX || v == UINT32_MAX)
        return;
    s->meta[s->n_meta].key = k;
    s->meta[s->n_meta].value = v;
    s->n_meta++;
}

mhv_status mhv_scene_check(const mhv_scene *s, mhv_error *err)
{
    if (s->oom)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory while laying out a figure");
    return MHV_OK;
}
