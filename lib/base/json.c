#include "base/json.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"

mhv_status mhv_json_parse(const char *text, size_t len, const char *name, cJSON **out,
                          mhv_error *err)
{
    *out = NULL;
    /* cJSON recurses per nesting level, bounded by its CJSON_NESTING_LIMIT (1000) */
    cJSON *j = cJSON_ParseWithLength(text, len);
    if (!j)
        return mhv_fail(err, MHV_EFORMAT, name, "not valid JSON");
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return mhv_fail(err, MHV_EFORMAT, name, "not a JSON object");
    }
    *out = j;
    return MHV_OK;
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
