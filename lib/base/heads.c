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
