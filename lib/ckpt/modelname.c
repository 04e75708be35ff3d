#include "ckpt/modelname.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "text/unicode.h"

/* Base names that do not tell one model from another. */
static int generic(const char *s, size_t n)
{
    static const char *const words[] = {"model", "models", "checkpoint", "checkpoints", "ckpt",
                                        "hf", "weights", "final", "output", "outputs", "out",
                                        "pretrained", "snapshot", "export", "best", "latest"};
    if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return 1;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i]) == n && strncasecmp(s, words[i], n) == 0)
            return 1;
    return 0;
}

/* Length of p without trailing slashes (at least 1 for "/"). */
static size_t trim(const char *p, size_t n)
{
    while (n > 1 && p[n - 1] == '/')
        n--;
    return n;
}

/* Start of the last path component of p[0..n). */
static size_t base_at(const char *p, size_t n)
{
    size_t i = n;
    while (i > 0 && p[i - 1] != '/')
        i--;
    return i;
}

/* The last component of path[0..n), or the last two when the last alone is generic. */
static void tail_name(const char *path, size_t n, char *buf, size_t size)
{
    n = trim(path, n);
    size_t b = base_at(path, n);
    if (generic(path + b, n - b) && b > 1) {
        size_t pn = trim(path, b - 1), pb = base_at(path, pn);
        if (!generic(path + pb, pn - pb))
            b = pb;
    }
    snprintf(buf, size, "%.*s", (int)(n - b), path + b);
}

/* "org/name" from .../models--org--name/snapshots/<rev>; 0 when path is not in that form. */
static int hub_cache(const char *path, char *buf, size_t size)
{
    const char *m = NULL;
    for (const char *q = strstr(path, "/models--"); q; q = strstr(q + 1, "/models--"))
        m = q + 9;
    if (!m)
        return 0;
    const char *end = strchr(m, '/');
    if (!end || strncmp(end, "/snapshots/", 11) != 0 || !end[11] || strchr(end + 11, '/') != NULL)
        return 0;
    size_t o = 0;
    for (const char *q = m; q < end && o + 1 < size; q++) {
        if (q[0] == '-' && q[1] == '-' && q + 2 <= end) { /* the cache spells '/' as "--" */
            buf[o++] = '/';
            q++;
        } else {
            buf[o++] = *q;
        }
    }
    buf[o] = '\0';
    return o > 0;
}

/* config.json's "_name_or_path", when it names the model well. */
static int config_name(const char *dir, char *buf, size_t size)
{
    char path[PATH_MAX + 16], *text = NULL;
    size_t len;
    if (snprintf(path, sizeof path, "%s/config.json", dir) >= (int)sizeof path ||
        mhv_read_file(path, 1 << 20, &text, &len, NULL) != MHV_OK)
        return 0;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "_name_or_path");
    int ok = 0;
    if (cJSON_IsString(v) && v->valuestring[0] && strlen(v->valuestring) < 256 &&
        mhv_utf8_valid(v->valuestring, strlen(v->valuestring), NULL)) {
        const char *s = v->valuestring;
        ok = 1;
        for (const char *q = s; *q; q++)
            if ((unsigned char)*q < 0x20)
                ok = 0;
        const char *slash = strchr(s, '/');
        int hub_id = s[0] != '/' && s[0] != '.' && s[0] != '~' && (!slash || !strchr(slash + 1, '/'));
        if (ok && hub_id) {
            snprintf(buf, size, "%s", s);
        } else if (ok && !hub_cache(s, buf, size)) {
            /* a local path the model was saved from: its telling end, if it has one */
            tail_name(s, strlen(s), buf, size);
            ok = strchr(buf, '/') != NULL || !generic(buf, strlen(buf));
        }
    }
    cJSON_Delete(root);
    return ok;
}

void mhv_modelname_of(const char *dir, char *buf, size_t size)
{
    if (size == 0)
        return;
    buf[0] = '\0';
    if (config_name(dir, buf, size))
        return;
    mhv_modelname_of_dir(dir, buf, size);
}

/* A directory name may be any bytes; the model name goes into SVG, JSON and PNG text, which
 * must be UTF-8: an invalid sequence becomes U+FFFD, a control character '?'. */
static void clean_name(char *buf, size_t size)
{
    char out[512];
    size_t o = 0, len = strlen(buf);
    for (size_t i = 0; i < len && o + 4 < sizeof out;) {
        uint32_t cp;
        int n = mhv_utf8_decode(buf + i, len - i, &cp);
        if (n <= 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
            out[o++] = '?';
            i += (size_t)n;
        } else {
            memcpy(out + o, buf + i, (size_t)n);
            o += (size_t)n;
            i += (size_t)n;
        }
    }
    out[o] = '\0';
    /* cut at a character boundary when size is smaller */
    size_t k = o < size ? o : size - 1;
    while (k > 0 && k < o && ((unsigned char)out[k] & 0xc0) == 0x80)
        k--;
    memcpy(buf, out, k);
    buf[k] = '\0';
}

void mhv_modelname_of_dir(const char *dir, char *buf, size_t size)
{
    if (size == 0)
        return;
    buf[0] = '\0';
    char real[PATH_MAX];
    const char *path = realpath(dir, real) ? real : dir;
    if (!hub_cache(path, buf, size))
        tail_name(path, strlen(path), buf, size);
    clean_name(buf, size);
}
