/* fuzz_index.c - model.safetensors.index.json: the weight_map, shard names (no path may leave
 * the model directory) and the tensor-to-shard agreement. The directory holds two small
 * valid shards, a.safetensors (tensors x, y) and b.safetensors (tensor z); the input is the
 * index. */
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "ckpt/safetensors.h"

static char dir[64], index_path[128];

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f && fwrite(data, 1, n, f) == n && fclose(f) == 0);
}

static void write_shard(const char *name, const char *header, size_t data_bytes)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t hl = strlen(header);
    uint8_t buf[512] = {0};
    FUZZ_CHECK(8 + hl + data_bytes <= sizeof buf);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)(hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    write_file(path, buf, 8 + hl + data_bytes);
}

static void cleanup(void)
{
    const char *names[] = {"a.safetensors", "b.safetensors", "model.safetensors.index.json"};
    char path[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    struct stat sb;
    snprintf(dir, sizeof dir, "%s/mhv-fuzz-index.XXXXXX",
             stat("/dev/shm", &sb) == 0 ? "/dev/shm" : "/tmp");
    FUZZ_CHECK(mkdtemp(dir));
    atexit(cleanup);
    snprintf(index_path, sizeof index_path, "%s/model.safetensors.index.json", dir);
    write_shard("a.safetensors",
                "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"y\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[8,16]}}",
                16);
    write_shard("b.safetensors", "{\"z\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,6]}}",
                6);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_file(index_path, data, size);
    mhv_st *st = NULL;
    mhv_error err = {0};
    if (mhv_st_open_dir(dir, &st, &err) == MHV_OK) {
        /* only the two shards exist, so at most their three tensors */
        FUZZ_CHECK(mhv_st_count(st) >= 1 && mhv_st_count(st) <= 3);
        for (size_t i = 0; i < mhv_st_count(st); i++) {
            const char *f = mhv_st_at(st, i)->file;
            FUZZ_CHECK(strcmp(f, "a.safetensors") == 0 || strcmp(f, "b.safetensors") == 0);
        }
        mhv_st_close(st);
    } else {
        FUZZ_CHECK(st == NULL && err.msg[0] && !strchr(err.msg, '\n'));
    }
    return 0;
}
