#include "base/heads.h"

#include <stdlib.h>
#include <string.h>

/* Parses "*" or a decimal index below `limit` from [s, end). Returns -1 for "*", -2 when
 * malformed, -3 when out of range. */
static int parse_index(const char *s, const char *end, int limit)
{
    if (end - s == 1 && *s == '*')
        return -1;
    if (s == end || end - s > 9)
        return end - s > 9 ? -3 : -2;
    int v = 0;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -2;
        v = v * 10 + (*p - '0');
    }
    return v < limit ? v : -3;
}

mhv_status mhv_heads_parse(const char *spec, int L, int H, mhv_heads *out, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    out->num_layers = L;
    out->num_heads = H;
    out->sel = calloc((size_t)L * (size_t)H, 1);
    if (!out->sel)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    if (strcmp(spec, "all") == 0) {
        memset(out->sel, 1, (size_t)L * (size_t)H);
        return MHV_OK;
    }
    const char *p = spec;
    for (;;) {
        const char *item_end = strchr(p, ',');
        if (!item_end)
            item_end = p + strlen(p);
        const char *colon = memchr(p, ':', (size_t)(item_end - p));
        if (!colon) {
            mhv_heads_free(out);
            return mhv_fail(err, MHV_EUSAGE, "",
                            "'%.*s' is not LAYER:HEAD (e.g. 3:7, 5:*, *:0 or all)",
                            (int)(item_end - p), p);
        }
        int l = parse_index(p, colon, L), h = parse_index(colon + 1, item_end, H);
        if (l == -2 || h == -2) {
            mhv_heads_free(out);
            return mhv_fail(err, MHV_EUSAGE, "",
                            "'%.*s' is not LAYER:HEAD (e.g. 3:7, 5:*, *:0 or all)",
                            (int)(item_end - p), p);
        }
        if (l == -3 || h == -3) {
            mhv_heads_free(out);
            return mhv_fail(err, MHV_EUSAGE, "",
                            "'%.*s' is out of range (layers 0-%d, heads 0-%d)",
                            (int)(item_end - p), p, L - 1, H - 1);
        }
        for (int a = 0; a < L; a++)
            for (int b = 0; b < H; b++)
                if ((l < 0 || l == a) && (h < 0 || h == b))
                    out->sel[a * H + b] = 1;
        if (!*item_end)
            break;
        p = item_end + 1;
    }
    return MHV_OK;
}

mhv_status mhv_heads_parse_seq2seq(const char *spec, int Le, int Ld, int H, mhv_heads *out,
                                   mhv_error *err)
{
    static const char *const names[] = {"enc", "dec", "cross"};
    const char *usage = "is not enc:LAYER:HEAD, dec:LAYER:HEAD or cross:LAYER:HEAD (e.g. "
                        "cross:5:*, enc:*:0 or all)";
    int total = Le + 2 * Ld;
    memset(out, 0, sizeof *out);
    out->num_layers = total;
    out->num_heads = H;
    out->sel = calloc((size_t)total * (size_t)H, 1);
    if (!out->sel)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    if (strcmp(spec, "all") == 0) {
        memset(out->sel, 1, (size_t)total * (size_t)H);
        return MHV_OK;
    }
    const char *p = spec;
    for (;;) {
        const char *item_end = strchr(p, ',');
        if (!item_end)
            item_end = p + strlen(p);
        int len = (int)(item_end - p);
        const char *c1 = memchr(p, ':', (size_t)len);
        const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(item_end - c1 - 1)) : NULL;
        int stack = -2; /* -1: every stack */
        if (c1 && c1 - p == 1 && *p == '*')
            stack = -1;
        for (int s = 0; c1 && s < 3; s++)
            if ((size_t)(c1 - p) == strlen(names[s]) && strncmp(p, names[s], (size_t)(c1 - p)) == 0)
                stack = s;
        if (stack == -2 || !c2) {
            mhv_heads_free(out);
            return mhv_fail(err, MHV_EUSAGE, "", "'%.*s' %s", len, p, usage);
        }
        int firsts[3] = {0, Le, Le + Ld}, counts[3] = {Le, Ld, Ld};
        for (int s = 0; s < 3; s++) {
            if (stack >= 0 && s != stack)
                continue;
            int l = parse_index(c1 + 1, c2, counts[s]), h = parse_index(c2 + 1, item_end, H);
            if (l == -2 || h == -2) {
                mhv_heads_free(out);
                return mhv_fail(err, MHV_EUSAGE, "", "'%.*s' %s", len, p, usage);
            }
            if (l == -3 || h == -3) {
                mhv_heads_free(out);
                return mhv_fail(err, MHV_EUSAGE, "",
                                "'%.*s' is out of range (%s layers 0-%d, heads 0-%d)", len, p,
                                stack < 0 ? "decoder" : names[s], counts[s] - 1, H - 1);
            }
            for (int a = 0; a < counts[s]; a++)
                for (int b = 0; b < H; b++)
                    if ((l < 0 || l == a) && (h < 0 || h == b))
                        out->sel[(firsts[s] + a) * H + b] = 1;
        }
        if (!*item_end)
            break;
        p = item_end + 1;
    }
    return MHV_OK;
}

void mhv_heads_free(mhv_heads *h)
{
    if (!h)
        return;
    free(h->sel);
    h->sel = NULL;
}

int mhv_heads_count(const mhv_heads *h)
{
    int n = 0;
    for (int i = 0; i < h->num_layers * h->num_heads; i++)
        n += h->sel[i];
    return n;
}

int mhv_heads_last_layer(const mhv_heads *h)
{
    for (int l = h->num_layers - 1; l >= 0; l--)
        for (int k = 0; k < h->num_heads; k++)
            if (mhv_heads_has(h, l, k))
                return l;
    return -1;
}
