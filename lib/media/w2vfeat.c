/* w2vfeat.c - Wav2Vec2FeatureExtractor's input_values (see w2vfeat.h). */
#include "media/w2vfeat.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/json.h"
#include "media/npsum.h"

mhv_status mhv_w2vfeat_load(const char *dir, mhv_w2vfeat_cfg *c, mhv_error *err)
{
    c->sampling_rate = 16000;
    c->do_normalize = 1;
    char path[4200];
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    if (!mhv_path_exists(path))
        return MHV_OK;
    cJSON *root;
    mhv_status st = mhv_json_load(path, 1u << 20, &root, err);
    if (st)
        return st;
    const char *type;
    int size;
    if ((st = mhv_json_str(root, "feature_extractor_type", "Wav2Vec2FeatureExtractor", &type,
                           path, err)) ||
        (st = mhv_json_int(root, "feature_size", 1, 1, 1 << 20, &size, path, err)) ||
        (st = mhv_json_int(root, "sampling_rate", 16000, 1, 1000000, &c->sampling_rate, path,
                           err)) ||
        (st = mhv_json_bool(root, "do_normalize", 1, &c->do_normalize, path, err)))
        goto out;
    if (strcmp(type, "Wav2Vec2FeatureExtractor") != 0)
        st = mhv_fail(err, MHV_EUNSUPPORTED, path, "feature_extractor_type '%.64s' is not "
                      "supported (Wav2Vec2FeatureExtractor is)", type);
    else if (size != 1)
        st = mhv_fail(err, MHV_EUNSUPPORTED, path, "feature_size %d is not supported (1: the "
                      "waveform is)", size);
out:
    cJSON_Delete(root);
    return st;
}

float mhv_w2vfeat_sum(const float *x, size_t n)
{
    return 0.0f + mhv_np_sum_f32(x, n); /* the reduction starts from add's identity */
}

void mhv_w2vfeat_run(const mhv_w2vfeat_cfg *c, const float *samples, size_t n, float *out)
{
    if (!c->do_normalize || n == 0) {
        memcpy(out, samples, n * sizeof *out);
        return;
    }
    float count = (float)n;
    float mean = mhv_w2vfeat_sum(samples, n) / count;
    for (size_t i = 0; i < n; i++) { /* the squares first, where the result goes */
        float d = samples[i] - mean;
        out[i] = d * d;
    }
    float var = mhv_w2vfeat_sum(out, n) / count;
    float den = sqrtf(var + 1e-7f);
    for (size_t i = 0; i < n; i++)
        out[i] = (samples[i] - mean) / den;
}
