#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt/modelname.h"

static char root[] = "/tmp/mhv-test-name.XXXXXX";

/* Makes root/rel (and its parents), with a config.json holding `config` unless NULL. */
static void make_dir(const char *rel, const char *config, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", root, rel);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    assert_int_equal(system(cmd), 0);
    if (config) {
        char f[1100];
        snprintf(f, sizeof f, "%s/config.json", path);
        FILE *fp = fopen(f, "w");
        assert_non_null(fp);
        fputs(config, fp);
        fclose(fp);
    }
}

static void name_is(const char *rel, const char *config, const char *want)
{
    char dir[1024], name[256];
    make_dir(rel, config, dir, sizeof dir);
    mhv_modelname_of(dir, name, sizeof name);
    assert_string_equal(name, want);
}

static void test_from_config(void **state)
{
    (void)state;
    name_is("a", "{\"_name_or_path\": \"bert-base-chinese\"}", "bert-base-chinese");
    name_is("b", "{\"_name_or_path\": \"nreimers/MiniLM-L6-H384-uncased\"}",
            "nreimers/MiniLM-L6-H384-uncased");
    /* saved from a local directory: its telling end */
    name_is("c", "{\"_name_or_path\": \"/home/me/runs/bert-zh/checkpoint/\"}", "bert-zh/checkpoint");
    name_is("d", "{\"_name_or_path\": \"/home/me/.cache/huggingface/hub/models--Qwen--Qwen2-0.5B"
                 "/snapshots/91d2aff3f957f99e4c74c962f2f408dcc88a18a8\"}", "Qwen/Qwen2-0.5B");
    /* empty, not a string, or saying nothing: the directory's name */
    name_is("my-bert", "{\"_name_or_path\": \"\"}", "my-bert");
    name_is("my-bert2", "{\"_name_or_path\": 3}", "my-bert2");
    name_is("tiny", "{\"_name_or_path\": \"./model\"}", "tiny");
    name_is("broken", "{not json", "broken");
}

static void test_from_directory(void **state)
{
    (void)state;
    name_is("gpt2-small", NULL, "gpt2-small");
    name_is("samples/model", "{}", "samples/model"); /* "model" alone says nothing */
    name_is("x/models--google-bert--bert-base-chinese/snapshots/8f23c25b06e129b6c986331a13d8d025a92cf0ea",
            NULL, "google-bert/bert-base-chinese");
    char dir[1024], name[256];
    make_dir("slash/", NULL, dir, sizeof dir);
    strcat(dir, "//");
    mhv_modelname_of(dir, name, sizeof name);
    assert_string_equal(name, "slash");
    mhv_modelname_of(dir, name, 4); /* cut, still terminated */
    assert_string_equal(name, "sla");
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_config),
        cmocka_unit_test(test_from_directory),
    };
    return cmocka_run_group_tests_name("modelname", tests, setup, teardown);
}
