/* json.h - reading JSON files (config.json, tokenizer.json, index.json ...) with the checks
 * every reader needs: a size cap, "not valid JSON" naming the file, and typed fields whose
 * errors name the key.
 *
 * Fields follow Python's reading of the same file by transformers: a missing key and a
 * key whose value is null both take the default (a required field has none). */
#ifndef MHV_JSON_H
#define MHV_JSON_H

#include <stddef.h>

#include "base/status.h"

struct cJSON;

/* What parsing may cost in memory (the tree, not the text): the largest real tokenizer.json
 * (~30 MB) needs ~0.3 GB; a 100 MB safetensors header of small values would need 4 GB. */
#define MHV_JSON_MAX_PARSE_BYTES (1536u << 20)

/* Parses text(len) into a JSON object (caller frees with cJSON_Delete); `name` is the file
 * named in messages. MHV_EFORMAT: not valid JSON, not an object, bytes other than white space
 * after it, \u0000 inside a string (refused: cJSON would cut the string there), or a key
 * given twice in one object (refused: Python keeps the last, cJSON the first).
 * MHV_ENOMEM: the tree would exceed MHV_JSON_MAX_PARSE_BYTES, or memory ran out. */
mhv_status mhv_json_parse(const char *text, size_t len, const char *name, struct cJSON **out,
                          mhv_error *err);
/* The same, with `what` naming the document inside the file in messages ("header is not
 * valid JSON", "header has a duplicate key 'x'"). */
mhv_status mhv_json_parse_doc(const char *text, size_t len, const char *name, const char *what,
                              struct cJSON **out, mhv_error *err);
/* Reads path (a regular file of at most max_bytes) and parses it as above. */
mhv_status mhv_json_load(const char *path, size_t max_bytes, struct cJSON **out,
                         mhv_error *err);

/* The member `key` of obj, or NULL when absent or null. */
const struct cJSON *mhv_json_get(const struct cJSON *obj, const char *key);

/* An integral number in [lo, hi]. Missing or null: def, unless def < lo (then the field is
 * required and its absence is an error). */
mhv_status mhv_json_int(const struct cJSON *obj, const char *key, int def, int lo, int hi,
                        int *out, const char *name, mhv_error *err);
/* A finite number in (lo, hi]. Missing or null: def, unless def is NaN (required). */
mhv_status mhv_json_num(const struct cJSON *obj, const char *key, double def, double lo,
                        double hi, double *out, const char *name, mhv_error *err);
/* true or false. Missing or null: def. */
mhv_status mhv_json_bool(const struct cJSON *obj, const char *key, int def, int *out,
                         const char *name, mhv_error *err);
/* A string (borrowed from obj). Missing or null: def, unless def is NULL (required). */
mhv_status mhv_json_str(const struct cJSON *obj, const char *key, const char *def,
                        const char **out, const char *name, mhv_error *err);
/* A string that must be one of names[0..count) (a NULL-free table); *out is its index.
 * Missing or null: def (an index), unless def < 0 (required). Anything else is
 * MHV_EUNSUPPORTED naming the key and the value. */
mhv_status mhv_json_enum(const struct cJSON *obj, const char *key, const char *const *names,
                         int count, int def, int *out, const char *name, mhv_error *err);

#endif
