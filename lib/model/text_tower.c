/* text_tower.c - the text tower of a dual-encoder image-text checkpoint (CLIPModel,
 * SiglipModel, ChineseCLIPModel), opened beside the vision tower the checkpoint's model_type
 * runs: its text_config read by the text family's config reader, its text_model. weights
 * seen under the names that family reads. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/model.h"

static const struct {
    const char *model_type, *text_type;
} towers[] = {
    {"clip", "clip_text_model"},
    {"siglip", "siglip_text_model"},
    {"chinese_clip", "chinese_clip_text_model"},
};

mhv_status mhv_model_open_text_tower(mhv_model *m, mhv_error *err)
{
    static const char *const renames[][2] = {{"text_model.", ""}};
    const char *text_type = NULL;
    for (size_t i = 0; i < sizeof towers / sizeof towers[0]; i++)
        if (strcmp(m->cfg.model_type, towers[i].model_type) == 0)
            text_type = towers[i].text_type;
    if (!text_type)
        return mhv_fail(err, MHV_EUSAGE, "", "%s has no text tower (clip, siglip and "
                        "chinese_clip have)", m->cfg.model_type);
    if (m->text_model)
        return MHV_OK;
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", m->dir);
    cJSON *root;
    mhv_status st = mhv_json_load(path, 16u << 20, &root, err);
    if (st)
        return st;
    const cJSON *tc = mhv_json_get(root, "text_config");
    mhv_config *c = malloc(sizeof *c); /* a config is large */
    if (!tc || !cJSON_IsObject(tc))
        st = mhv_fail(err, MHV_EFORMAT, path, "missing object 'text_config'");
    else if (!c)
        st = mhv_fail(err, MHV_ENOMEM, path, "out of memory");
    else if (!(st = mhv_config_parse_json(tc, text_type, path, c, err)) &&
             strcmp(c->model_type, text_type) != 0)
        st = mhv_fail(err, MHV_EUNSUPPORTED, path, "text_config model_type '%s' is not "
                      "supported in %s (%s is)", c->model_type, m->cfg.model_type, text_type);
    if (!st)
        st = mhv_model_open_part(m, c, renames, 1, &m->text_model, err);
    free(c);
    cJSON_Delete(root);
    return st;
}
