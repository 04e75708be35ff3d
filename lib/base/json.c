#include "base/json.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/hash.h"

/* ---- allocation: out of memory is reported as such, not as "not valid JSON" ---- */

static _Thread_local int alloc_failed;
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static void *json_malloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        alloc_failed = 1;
    return p;
}

static void hooks_init(void)
{
    cJSON_Hooks h = {json_malloc, free};
    cJSON_InitHooks(&h);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* One pass over the text before cJSON sees it: refuses \u0000 inside a string (cJSON ends
 * the string there: "key.weight\u0000x" would read as "key.weight"), and estimates what
 * the parsed tree costs: a cJSON node (64 bytes + malloc's 16) per value and a block per
 * string, which is ~40x the text for "[0,0,0,...]". */
static mhv_status prescan(const char *t, size_t len, const char *name, const char *what,
                          mhv_error *err)
{
    size_t values = 1, strings = 0;
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = t[i];
        if (in_str) {
            if (c == '\\') {
                if (i + 5 < len && t[i + 1] == 'u' && memcmp(t + i + 2, "0000", 4) == 0)
                    return mhv_fail(err, MHV_EFORMAT, name, "%s%s\\u0000 in a string (byte %zu)",
                                    what ? what : "", what ? " has " : "", i);
                i++;
            } else if (c == '"') {
                in_str = 0;
            }
        } else if (c == '"') {
            in_str = 1;
            strings++;
        } else if (c == ',' || c == '[' || c == '{' || c == ':') {
            values++;
        }
    }
    double cost = (double)values * 80 + (double)strings * 32 + (double)len;
    if (cost > (double)MHV_JSON_MAX_PARSE_BYTES)
        return mhv_fail(err, MHV_ENOMEM, name,
                        "out of memory: parsing %s%sJSON would take about %.0f MB (limit %u MB)",
                        what ? what : "", what ? " " : "", cost / 1048576.0,
                        (unsigned)(MHV_JSON_MAX_PARSE_BYTES >> 20));
    return MHV_OK;
}

/* 1 when the object has a key twice (*dup is then that key); -1 when out of memory. Small
 * objects are compared pairwise; large ones go through a set under the keyed hash (keys
 * come from the file: no crafted collisions). */
static int has_duplicate(const cJSON *obj, size_t n, size_t **slots, size_t *nslots,
                         const cJSON ***items, size_t *nitems, const char **dup)
{
    if (n <= 8) {
        for (const cJSON *a = obj->child; a; a = a->next)
            for (const cJSON *b = a->next; b; b = b->next)
                if (strcmp(a->string, b->string) == 0) {
                    *dup = a->string;
                    return 1;
                }
        return 0;
    }
    size_t want = 16;
    while (want < 2 * n)
        want *= 2;
    if (want > *nslots) {
        free(*slots);
        *nslots = 0;
        if (!(*slots = malloc(want * sizeof **slots)))
            return -1;
        *nslots = want;
    }
    if (n > *nitems) {
        free((void *)*items);
        *nitems = 0;
        if (!(*items = malloc(n * sizeof **items)))
            return -1;
        *nitems = n;
    }
    memset(*slots, 0, want * sizeof **slots);
    size_t k = 0;
    for (const cJSON *c = obj->child; c; c = c->next, k++) {
        (*items)[k] = c;
        size_t i = (size_t)mhv_hash(c->string, strlen(c->string)) & (want - 1);
        while ((*slots)[i] && strcmp((*items)[(*slots)[i] - 1]->string, c->string) != 0)
            i = (i + 1) & (want - 1);
        if ((*slots)[i]) {
            *dup = c->string;
            return 1;
        }
        (*slots)[i] = k + 1;
    }
    return 0;
}

/* Duplicate keys: Python keeps the last, cJSON finds the first, Hugging Face's serde structs
 * refuse them; refusing is the one answer that never differs from the reference silently.
 * Walks the tree keeping only the ancestors (cJSON bounds the depth at CJSON_NESTING_LIMIT). */
static mhv_status check_keys(const cJSON *root, const char *name, const char *what,
                             mhv_error *err)
{
    enum { MAX_DEPTH = CJSON_NESTING_LIMIT + 2 };
    const cJSON **up = malloc(MAX_DEPTH * sizeof *up);
    const cJSON **items = NULL;
    size_t *slots = NULL, nslots = 0, nitems = 0;
    mhv_status st = MHV_OK;
    if (!up)
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    int d = 0;
    const cJSON *cur = root;
    for (;;) {
        if (cJSON_IsObject(cur) && cur->child && cur->child->next) {
            size_t n = 0;
            for (const cJSON *c = cur->child; c; c = c->next)
                n++;
            const char *dup = NULL;
            int r = has_duplicate(cur, n, &slots, &nslots, &items, &nitems, &dup);
            if (r < 0) {
                st = mhv_fail(err, MHV_ENOMEM, name, "out of memory");
                break;
            }
            if (r > 0) {
                st = mhv_fail(err, MHV_EFORMAT, name, "%s%sduplicate key '%.80s'",
                              what ? what : "", what ? " has a " : "", dup);
                break;
            }
        }
        if (cur->child && d < MAX_DEPTH) {
            up[d++] = cur;
            cur = cur->child;
            continue;
        }
        while (!cur->next && d > 0)
            cur = up[--d];
        if (d == 0)
            break;
        cur = cur->next;
    }
    free(slots);
    free((void *)items);
    free((void *)up);
    return st;
}

mhv_status mhv_json_parse_doc(const char *text, size_t len, const char *name, const char *what,
                              cJSON **out, mhv_error *err)
{
    *out = NULL;
    pthread_once(&hooks_once, hooks_init);
    mhv_status st = prescan(text, len, name, what, err);
    if (st)
        return st;
    /* cJSON recurses per nesting level, bounded by its CJSON_NESTING_LIMIT (1000) */
    const char *end = NULL;
    alloc_failed = 0;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!j) {
        if (alloc_failed)
            return mhv_fail(err, MHV_ENOMEM, name, "out of memory while parsing %s%sJSON",
                            what ? what : "", what ? " " : "");
        return mhv_fail(err, MHV_EFORMAT, name, "%s%snot valid JSON (near byte %zu)",
                        what ? what : "", what ? " is " : "",
                        end ? (size_t)(end - text) : (size_t)0);
    }
    size_t at = end ? (size_t)(end - text) : len;
    while (at < len && is_space(text[at]))
        at++;
    if (at < len && !(at + 1 == len && text[at] == '\0')) {
        cJSON_Delete(j);
        return mhv_fail(err, MHV_EFORMAT, name,
                        "%s%strailing bytes after the JSON object (byte %zu)", what ? what : "",
                        what ? " has " : "has ", at);
    }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return mhv_fail(err, MHV_EFORMAT, name, "%s%snot a JSON object", what ? what : "",
                        what ? " is " : "");
    }
    if ((st = check_keys(j, name, what, err))) {
        cJSON_Delete(j);
        return st;
    }
    *out = j;
    return MHV_OK;
}

mhv_status mhv_json_parse(const char *text, size_t len, const char *name, cJSON **out,
                          mhv_error *err)
{
    return mhv_json_parse_doc(text, len, name, NULL, out, err);
}

mhv_status mhv_json_load(const char *path, size_t max_bytes, cJSON **out, mhv_error *err)
{
    char *text;
    size_t len;
    *out = NULL;
    mhv_status st = mhv_read_file(path, max_bytes, &text, &len, err);
    if (st)
        return st;
    st = mhv_json_parse(text, len, path, out, err);
    free(text);
    return st;
}

const cJSON *mhv_json_get(const cJSON *obj, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    return it && !cJSON_IsNull(it) ? it : NULL;
}

mhv_status mhv_json_int(const cJSON *obj, const char *key, int def, int lo, int hi, int *out,
                        const char *name, mhv_error *err)
{
    const cJSON *it = mhv_json_get(obj, key);
    if (!it) {
        if (def < lo)
            return mhv_fail(err, MHV_EFORMAT, name, "missing field '%s'", key);
        *out = def;
        return MHV_OK;
    }
    if (!cJSON_IsNumber(it))
        return mhv_fail(err, MHV_EFORMAT, name, "field '%s' is not a number", key);
    double v = it->valuedouble;
    if (!isfinite(v) || v != floor(v))
        return mhv_fail(err, MHV_EFORMAT, name, "field '%s' is not an integer", key);
    if (v < lo || v > hi)
        return mhv_fail(err, MHV_EFORMAT, name, "field '%s' is %.0f, outside [%d, %d]", key, v,
                        lo, hi);
    *out = (int)v;
    return MHV_OK;
}

mhv_status mhv_json_num(const cJSON *obj, const char *key, double def, double lo, double hi,
                        double *out, const char *name, mhv_error *err)
{
    const cJSON *it = mhv_json_get(obj, key);
    if (!it) {
        if (isnan(def))
            return mhv_fail(err, MHV_EFORMAT, name, "missing field '%s'", key);
        *out = def;
        return MHV_OK;
    }
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || !(it->valuedouble > lo) ||
        it->valuedouble > hi)
        return mhv_fail(err, MHV_EFORMAT, name, "field '%s' is not a number in (%g, %g]", key,
                        lo, hi);
    *out = it->valuedouble;
    return MHV_OK;
}

mhv_status mhv_json_bool(const cJSON *obj, const char *key, int def, int *out, const char *name,
                         mhv_error *err)
{
    const cJSON *it = mhv_json_get(obj, key);
    if (!it) {
        *out = def;
        return MHV_OK;
    }
    if (!cJSON_IsBool(it))
        return mhv_fail(err, MHV_EFORMAT, name, "field '%s' is not true or false", key);
    *out = cJSON_IsTrue(it);
    return MHV_OK;
}

mhv_status mhv_json_str(const cJSON *obj, const char *key, const char *def, const char **out,
                        const char *name, mhv_error *err)
{
    const cJSON *it = mhv_json_get(obj, key);
    if (!it) {
        if (!def)
            return mhv_fail(err, MHV_EFORMAT, name, "missing field '%s'", key);
        *out = def;
        return MHV_OK;
    }
    if (!cJSON_IsString(it))
        return mhv_fail(err, MHV_EFORMAT, name, "field '%s' is not a string", key);
    *out = it->valuestring;
    return MHV_OK;
}

mhv_status mhv_json_enum(const cJSON *obj, const char *key, const char *const *names, int count,
                         int def, int *out, const char *name, mhv_error *err)
{
    const char *s;
    mhv_status st = mhv_json_str(obj, key, def >= 0 ? "" : NULL, &s, name, err);
    if (st)
        return st;
    if (!mhv_json_get(obj, key)) {
        *out = def;
        return MHV_OK;
    }
    for (int i = 0; i < count; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return MHV_OK;
        }
    return mhv_fail(err, MHV_EUNSUPPORTED, name, "unsupported %s '%.64s'", key, s);
}
