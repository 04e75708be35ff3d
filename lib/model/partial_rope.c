/* partial_rope.c - rotary settings of the families that rotate part of each head. */
#include <cjson/cJSON.h>

#include "base/json.h"
#include "model/family.h"

mhv_status mhv_family_partial_rope(const cJSON *root, int d, const char *theta_key,
                                   const char *pct_key, double pct_default, mhv_rope *r,
                                   int *rot_dims, const char *name, mhv_error *err)
{
    mhv_status st;
    double base, pct;
    if ((st = mhv_json_num(root, theta_key, 10000.0, 0, 1e12, &base, name, err)) ||
        (st = mhv_json_num(root, pct_key, pct_default, -1e-300, 1, &pct, name, err)))
        return st;
    cJSON *dup = cJSON_Duplicate(root, 1);
    if (!dup)
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    cJSON *sc = cJSON_GetObjectItemCaseSensitive(dup, "rope_scaling");
    if (!cJSON_IsObject(sc))
        sc = cJSON_GetObjectItemCaseSensitive(dup, "rope_parameters");
    if (cJSON_IsObject(sc)) {
        if ((st = mhv_json_num(sc, "rope_theta", base, 0, 1e12, &base, name, err)) ||
            (st = mhv_json_num(sc, "partial_rotary_factor", pct, -1e-300, 1, &pct, name, err)))
            goto out;
        /* read here; the shared reader accepts only whole-head rotations */
        cJSON_DeleteItemFromObjectCaseSensitive(sc, "partial_rotary_factor");
    }
    if ((st = mhv_config_rope(dup, r, name, err)))
        goto out;
    r->theta = base;
    *rot_dims = (int)((double)d * pct);
    if (*rot_dims % 2 != 0)
        st = mhv_fail(err, MHV_EFORMAT, name,
                      "rotary dimensions %d (head size %d x %g) are odd", *rot_dims, d, pct);
out:
    cJSON_Delete(dup);
    return st;
}
