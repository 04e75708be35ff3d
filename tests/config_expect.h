/* config_expect.h - the checks of the config-reader tests (cmocka): a config.json text read
 * as the file config.json, accepted into c or refused with a phrase. Include after cmocka.h
 * and model/config.h. */
#ifndef MHV_TEST_CONFIG_EXPECT_H
#define MHV_TEST_CONFIG_EXPECT_H

#include <string.h>

static inline mhv_status config_parse(const char *json, mhv_config *c, mhv_error *err)
{
    memset(err, 0, sizeof *err);
    return mhv_config_parse(json, strlen(json), "config.json", c, err);
}

static inline void config_ok(const char *json, mhv_config *c)
{
    mhv_error err;
    if (config_parse(json, c, &err) != MHV_OK)
        fail_msg("%s: %s", json, err.msg);
}

/* The config is refused (MHV_EUNSUPPORTED or MHV_EFORMAT) with `want` in the message. */
static inline void config_refused(const char *json, const char *want)
{
    mhv_config c;
    mhv_error err;
    if (config_parse(json, &c, &err) == MHV_OK)
        fail_msg("accepted: %s", json);
    if (!strstr(err.msg, want))
        fail_msg("%s: message '%s' lacks '%s'", json, err.msg, want);
}

#endif
