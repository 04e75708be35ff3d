/* test_torchbin.c - PyTorch checkpoints (torch.save zip: pytorch_model.bin, sharded with
 * pytorch_model.bin.index.json) read without running code: the zip reader, the restricted
 * pickle reader and their join into the safetensors tensor table.
 *
 * The bin-* fixtures are the safetensors fixtures' weights written by torch.save
 * (tests/gen/gen_torchbin_fixtures.py), so every tensor is compared with its safetensors
 * twin: names, dtypes, shapes and bytes. bin-views/ holds views, every dtype and pickle
 * protocol 4; bin-bad/ the hostile files, each refused with its one-line message. Files are
 * read into exact-size buffers so ASan catches any read past the end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/dtype.h"
#include "ckpt/pickle.h"
#include "ckpt/safetensors.h"
#include "ckpt/torchbin.h"

#define FIX "tests/fixtures/"

/* ---- helpers ---- */

/* The whole file in an exact-size buffer aligned to 64 bytes (as a mapping is). */
static uint8_t *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s: cannot open", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    assert_true(n > 0);
    uint8_t *buf = aligned_alloc(64, ((size_t)n + 63) / 64 * 64);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static void expect_error(const mhv_error *err, mhv_status got, mhv_status want,
                         const char *file, const char *substr)
{
    if (got != want || !strstr(err->msg, substr) || !strstr(err->file, file))
        fail_msg("status %d (want %d), error '%s: %s', want file '%s' and '%s'", got, want,
                 err->file, err->msg, file, substr);
    assert_null(strchr(err->msg, '\n'));
}

static const mhv_tensor *find(const mhv_tbin *tb, const char *name)
{
    for (size_t i = 0; i < tb->n; i++)
        if (strcmp(tb->t[i].name, name) == 0)
            return &tb->t[i];
    fail_msg("no tensor '%s'", name);
    return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Every tensor of the safetensors twin has the same name, dtype, shape and bytes in bin. */
static void same_tensors(const char *bin_dir, const char *st_dir, const char *source)
{
    mhv_st *bin = NULL, *ref = NULL;
    mhv_error err = {0};
    if (mhv_st_open_dir(bin_dir, &bin, &err) != MHV_OK)
        fail_msg("%s: %s", err.file, err.msg);
    if (mhv_st_open_dir(st_dir, &ref, &err) != MHV_OK)
        fail_msg("%s: %s", err.file, err.msg);
    assert_int_equal(mhv_st_count(bin), mhv_st_count(ref));
    assert_true(mhv_st_count(ref) > 10);
    for (size_t i = 0; i < mhv_st_count(ref); i++) {
        const mhv_tensor *r = mhv_st_at(ref, i);
        const mhv_tensor *t = mhv_st_find(bin, r->name);
        if (!t)
            fail_msg("%s: no tensor '%s'", bin_dir, r->name);
        assert_int_equal(t->dtype, r->dtype);
        assert_int_equal(t->ndim, r->ndim);
        for (int d = 0; d < r->ndim; d++)
            assert_int_equal(t->shape[d], r->shape[d]);
        assert_int_equal(t->numel, r->numel);
        assert_int_equal(t->nbytes, r->nbytes);
        assert_memory_equal(t->data, r->data, r->nbytes);
        assert_true(ends_with(t->file, ".bin"));
    }
    char want[512];
    snprintf(want, sizeof want, "%s/%s", bin_dir, source);
    assert_string_equal(mhv_st_source(bin), want);
    mhv_st_close(bin);
    mhv_st_close(ref);
}

/* ---- the real checkpoints against their safetensors twins ---- */

static void test_bert_f32_plain_dict(void **state)
{
    (void)state;
    same_tensors(FIX "bin-bert-f32", FIX "bert-relu", "pytorch_model.bin");
}

static void test_bert_f16_ordered_dict(void **state)
{
    (void)state;
    same_tensors(FIX "bin-bert-f16", FIX "bert-f16", "pytorch_model.bin");
}

static void test_bert_sharded(void **state)
{
    (void)state;
    same_tensors(FIX "bin-bert-sharded", FIX "bert-relu", "pytorch_model.bin.index.json");
    mhv_st *st = NULL;
    mhv_error err = {0};
    assert_int_equal(mhv_st_open_dir(FIX "bin-bert-sharded", &st, &err), MHV_OK);
    /* each tensor is labelled with its shard, as the index says */
    const mhv_tensor *a = mhv_st_find(st, "embeddings.word_embeddings.weight");
    const mhv_tensor *b = mhv_st_find(st, "pooler.dense.weight");
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a->file, "pytorch_model-00001-of-00003.bin");
    assert_string_equal(b->file, "pytorch_model-00003-of-00003.bin");
    mhv_st_close(st);
}

static void test_llama_bf16(void **state)
{
    (void)state;
    same_tensors(FIX "bin-dec-llama-bf16", FIX "dec-llama-bf16-gqa2-linear", "pytorch_model.bin");
}

/* the legacy (pre-1.6) stream: pickles, then each storage's count and bytes */
static void test_bert_legacy(void **state)
{
    (void)state;
    same_tensors(FIX "bin-bert-legacy", FIX "bert-relu", "pytorch_model.bin");
}

/* ---- views, dtypes, protocols ---- */

/* aligned: the file places storages at 64-byte offsets (zip records; not the legacy format) */
static void check_views(const char *path, int aligned)
{
    size_t size;
    uint8_t *buf = read_all(path, &size);
    mhv_tbin tb;
    mhv_error err = {0};
    if (mhv_tbin_parse(buf, size, path, &tb, &err) != MHV_OK)
        fail_msg("%s: %s", err.file, err.msg);
    assert_int_equal(tb.n, 17);
    /* in place: every tensor is a view of the buffer, storages at 64-byte offsets */
    for (size_t i = 0; i < tb.n; i++) {
        const uint8_t *p = tb.t[i].data;
        assert_true(p >= buf && p + tb.t[i].nbytes <= buf + size);
        assert_int_equal(tb.t[i].nbytes, (size_t)tb.t[i].numel * mhv_dtype_size(tb.t[i].dtype));
    }
    const mhv_tensor *full = find(&tb, "full");
    if (aligned)
        assert_int_equal(((const uint8_t *)full->data - buf) % 64, 0);
    assert_int_equal(full->dtype, MHV_DT_F32);
    assert_int_equal(full->ndim, 2);
    assert_int_equal(full->shape[0], 4);
    assert_int_equal(full->shape[1], 6);
    float v[24];
    memcpy(v, full->data, sizeof v);
    for (int i = 0; i < 24; i++)
        assert_true(v[i] == (float)i / 4);
    /* views share the storage of full */
    const mhv_tensor *rows = find(&tb, "rows"), *row = find(&tb, "row"), *unsq = find(&tb, "unsq");
    assert_ptr_equal(rows->data, (const float *)full->data + 6);
    assert_int_equal(rows->shape[0], 2);
    assert_ptr_equal(row->data, (const float *)full->data + 12);
    assert_int_equal(row->ndim, 1);
    assert_ptr_equal(unsq->data, (const float *)full->data + 18);
    assert_int_equal(unsq->ndim, 2);
    assert_int_equal(unsq->shape[0], 1);

    const mhv_tensor *t = find(&tb, "scalar");
    assert_int_equal(t->ndim, 0);
    assert_int_equal(t->numel, 1);
    memcpy(v, t->data, 4);
    assert_true(v[0] == 2.5f);
    t = find(&tb, "empty");
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->numel, 0);
    assert_int_equal(t->nbytes, 0);

    int64_t ids[3];
    t = find(&tb, "ids");
    assert_int_equal(t->dtype, MHV_DT_I64);
    memcpy(ids, t->data, sizeof ids);
    assert_true(ids[0] == -3 && ids[1] == 0 && ids[2] == (int64_t)1 << 40);
    t = find(&tb, "mask");
    assert_int_equal(t->dtype, MHV_DT_BOOL);
    assert_memory_equal(t->data, "\1\0\1", 3);
    t = find(&tb, "half");
    assert_int_equal(t->dtype, MHV_DT_F16);
    mhv_dtype_to_f32(v, t->data, MHV_DT_F16, 3);
    assert_true(v[0] == 1.0f && v[1] == -2.0f && v[2] == 0.5f);
    t = find(&tb, "bf");
    assert_int_equal(t->dtype, MHV_DT_BF16);
    mhv_dtype_to_f32(v, t->data, MHV_DT_BF16, 2);
    assert_true(v[0] == 1.0f && v[1] == 3.0f);
    double d;
    t = find(&tb, "f64");
    assert_int_equal(t->dtype, MHV_DT_F64);
    memcpy(&d, t->data, 8);
    assert_true(d == 0.25);
    int32_t i32;
    int16_t i16;
    t = find(&tb, "i32");
    assert_int_equal(t->dtype, MHV_DT_I32);
    memcpy(&i32, t->data, 4);
    assert_int_equal(i32, -7);
    t = find(&tb, "i16");
    assert_int_equal(t->dtype, MHV_DT_I16);
    memcpy(&i16, t->data, 2);
    assert_int_equal(i16, 300);
    t = find(&tb, "i8");
    assert_int_equal(t->dtype, MHV_DT_I8);
    assert_int_equal(((const int8_t *)t->data)[0], -1);
    t = find(&tb, "u8");
    assert_int_equal(t->dtype, MHV_DT_U8);
    assert_int_equal(((const uint8_t *)t->data)[0], 255);
    t = find(&tb, "param"); /* an nn.Parameter: _rebuild_parameter around the tensor */
    assert_int_equal(t->numel, 4);
    memcpy(v, t->data, 16);
    assert_true(v[0] == 1.0f && v[3] == 1.0f);
    t = find(&tb, "\xe5\x90\x8d\xe5\xad\x97"); /* 名字 */
    assert_int_equal(t->numel, 1);
    mhv_tbin_free(&tb);
    free(buf);
}

static void test_views_protocol2(void **state)
{
    (void)state;
    check_views(FIX "bin-views/views.bin", 1);
}

/* protocol 4: FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL */
static void test_views_protocol4(void **state)
{
    (void)state;
    check_views(FIX "bin-views/views-p4.bin", 1);
}

static void test_views_legacy(void **state)
{
    (void)state;
    check_views(FIX "bin-views/views-legacy.bin", 0);
}

static void check_crafted(const char *path)
{
    mhv_st *st = NULL;
    mhv_error err = {0};
    if (mhv_st_open_file(path, &st, &err) != MHV_OK)
        fail_msg("%s: %s", err.file, err.msg);
    assert_int_equal(mhv_st_count(st), 1);
    const mhv_tensor *w = mhv_st_find(st, "w");
    assert_non_null(w);
    float v[6], want[6] = {0.5f, -1.0f, 2.0f, 3.25f, -4.5f, 6.0f};
    memcpy(v, w->data, sizeof v);
    assert_memory_equal(v, want, sizeof v);
    assert_string_equal(mhv_st_source(st), path);
    mhv_st_close(st);
}

/* the test writer's own files: zip, zip with every size in zip64 fields, legacy */
static void test_crafted_and_zip64(void **state)
{
    (void)state;
    check_crafted(FIX "bin-views/crafted.bin");
    check_crafted(FIX "bin-views/crafted-zip64.bin");
    check_crafted(FIX "bin-views/crafted-legacy.bin");
}

/* ---- hostile files ---- */

static void bad_file(const char *name, mhv_status want, const char *substr)
{
    char path[256];
    snprintf(path, sizeof path, FIX "bin-bad/%s.bin", name);
    size_t size;
    uint8_t *buf = read_all(path, &size);
    mhv_tbin tb;
    mhv_error err = {0};
    mhv_status rc = mhv_tbin_parse(buf, size, path, &tb, &err);
    expect_error(&err, rc, want, path, substr);
    assert_int_equal(tb.n, 0);
    assert_null(tb.t);
    free(buf);
}

static void test_bad_files(void **state)
{
    (void)state;
    bad_file("global-os-system", MHV_EFORMAT, "pickle global 'os.system' is not allowed");
    bad_file("opcode-obj", MHV_EFORMAT, "pickle opcode 0x6f ('o') at byte 28 is not allowed");
    bad_file("tensor-past-storage", MHV_EFORMAT,
             "tensor 'w' needs elements 4..10 of storage '0', which has 6");
    bad_file("not-contiguous", MHV_EFORMAT,
             "tensor 'w' is not contiguous (shape [2,3], stride [1,2]); only row-major");
    bad_file("torch-transposed", MHV_EFORMAT,
             "tensor 'w' is not contiguous (shape [3,2], stride [1,3])");
    bad_file("record-size", MHV_EFORMAT, "storage '0' of 100 x F32 has a 24-byte record");
    bad_file("no-record", MHV_EFORMAT, "storage '7' has no record 'archive/data/7'");
    bad_file("two-dtypes", MHV_EFORMAT, "storage '0' is declared as 6 x");
    bad_file("duplicate-name", MHV_EFORMAT, "tensor 'w' appears twice in the state dict");
    bad_file("not-a-tensor", MHV_EFORMAT, "state dict entry 'w' is not a tensor");
    bad_file("big-endian", MHV_EUNSUPPORTED, "byteorder record is 'big'");
    bad_file("compressed", MHV_EUNSUPPORTED,
             "entry 'archive/data/0' is compressed (method 8); torch.save stores entries "
             "uncompressed");
    bad_file("header-past-end", MHV_EFORMAT,
             "entry 'archive/data/0' has its local header at offset 2147483632");
    bad_file("legacy-count", MHV_EFORMAT,
             "storage '0' has 5 elements in the file but 6 in the pickle");
    bad_file("legacy-short", MHV_EFORMAT,
             "storage '0' (6 x F32) runs past the end of the file (file truncated?)");
    bad_file("legacy-trailing", MHV_EFORMAT, "2 bytes after the last storage");
    bad_file("legacy-unused-key", MHV_EFORMAT, "storage '1' of the key list is used by no tensor");
    bad_file("legacy-unlisted", MHV_EFORMAT, "storage '0' is not in the key list");
    bad_file("legacy-view", MHV_EFORMAT, "is a storage view (pre-1.0 torch.save)");
    bad_file("legacy-big-endian", MHV_EFORMAT, "checkpoint was saved big-endian");
    bad_file("legacy-global", MHV_EFORMAT,
             "pickle global 'os.system' is not allowed");
    bad_file("tar", MHV_EUNSUPPORTED, "tar-format torch.save checkpoints (torch<0.4) are not "
                                      "supported; re-save with torch>=1.6");
}

/* Every proper prefix of a checkpoint is refused cleanly (the end records are missing). */
static void every_truncation(const char *path)
{
    size_t size;
    uint8_t *whole = read_all(path, &size);
    for (size_t n = 0; n < size; n++) {
        uint8_t *buf = malloc(n ? n : 1);
        assert_non_null(buf);
        memcpy(buf, whole, n);
        mhv_tbin tb;
        mhv_error err = {0};
        mhv_status rc = mhv_tbin_parse(buf, n, "t.bin", &tb, &err);
        if (rc == MHV_OK)
            fail_msg("%s: prefix of %zu bytes accepted", path, n);
        assert_true(err.msg[0] != '\0');
        free(buf);
    }
    free(whole);
}

static void test_every_truncation(void **state)
{
    (void)state;
    every_truncation(FIX "bin-views/crafted-zip64.bin");
    every_truncation(FIX "bin-views/crafted-legacy.bin");
}

/* Every single-byte change is either refused or gives tensors inside the buffer. */
static void every_byte_flip(const char *path)
{
    size_t size;
    uint8_t *buf = read_all(path, &size);
    size_t ok = 0;
    for (size_t i = 0; i < size; i++) {
        buf[i] ^= 0x41;
        mhv_tbin tb;
        mhv_error err = {0};
        if (mhv_tbin_parse(buf, size, "t.bin", &tb, &err) == MHV_OK) {
            ok++;
            for (size_t k = 0; k < tb.n; k++) {
                const uint8_t *p = tb.t[k].data;
                assert_true(p >= buf && p + tb.t[k].nbytes <= buf + size);
            }
            mhv_tbin_free(&tb);
        } else {
            assert_true(err.msg[0] && !strchr(err.msg, '\n'));
        }
        buf[i] ^= 0x41;
    }
    /* flips in tensor data and padding are harmless: a good part of the file */
    assert_true(ok > size / 8);
    free(buf);
}

static void test_every_byte_flip(void **state)
{
    (void)state;
    every_byte_flip(FIX "bin-views/views-p4.bin");
    every_byte_flip(FIX "bin-views/views-legacy.bin");
}

/* ---- the pickle reader alone ---- */

static mhv_status pkl(const char *bytes, size_t n, mhv_pkl_state_dict *sd, mhv_error *err)
{
    uint8_t *buf = malloc(n ? n : 1); /* exact size for ASan */
    assert_non_null(buf);
    memcpy(buf, bytes, n);
    memset(sd, 0, sizeof *sd);
    mhv_status rc = mhv_pkl_read_state_dict(buf, n, "p.bin", sd, err);
    if (rc == MHV_OK)
        mhv_pkl_state_dict_free(sd);
    free(buf);
    return rc;
}

#define PKL_BAD(lit, substr)                                                                \
    do {                                                                                    \
        mhv_pkl_state_dict sd_;                                                             \
        mhv_error err_ = {0};                                                               \
        mhv_status rc_ = pkl(lit, sizeof lit - 1, &sd_, &err_);                             \
        expect_error(&err_, rc_, MHV_EFORMAT, "p.bin", substr);                             \
    } while (0)

static void test_pickle_opcodes(void **state)
{
    (void)state;
    mhv_pkl_state_dict sd;
    mhv_error err = {0};
    assert_int_equal(pkl("\x80\x02}.", 4, &sd, &err), MHV_OK); /* an empty state dict */
    /* Python 2's strings (SHORT_BINSTRING, BINSTRING) are strings too */
    PKL_BAD("\x80\x02}(U\x01wT\x01\x00\x00\x00vu.", "state dict entry 'w' is not a tensor");
    PKL_BAD("\x80\x04\x8c\x02os\x8c\x06system\x93.", "pickle global 'os.system' is not allowed");
    PKL_BAD("\x80\x02" "c\x01\xff\nx\n.", "pickle global '??.x' is not allowed");
    PKL_BAD("\x80\x02" "ctorch\nUntypedStorage\n.", "pickle global 'torch.UntypedStorage'");
    PKL_BAD("\x80\x02}0.", "pickle opcode 0x30 ('0') at byte 3 is not allowed");
    PKL_BAD("\x80\x02].", "the pickle is not a state dict");
    PKL_BAD("\x80\x02}K\x01" "a.", "pickle APPEND at byte 5 has no list to fill");
    PKL_BAD("\x80\x02}(K\x01" "e.", "pickle APPENDS at byte 6 has no list to fill");
    PKL_BAD("\x80\x02\x82\x01.", "pickle opcode 0x82 at byte 2 is not allowed");
    PKL_BAD("\x80\x06}.", "pickle protocol 6 is not supported");
    PKL_BAD("\x80\x02}q\x05.", "pickle memo index 5 at byte 3 skips ahead of 0");
    PKL_BAD("\x80\x02h\x00.", "pickle memo index 0 at byte 2 was never set");
    PKL_BAD("\x80\x02(.", "pickle stack underflow at byte 3");
    PKL_BAD("\x80\x02}}.", "values left on its stack");
    PKL_BAD("\x80\x02}.x", "1 bytes after the end of the pickle");
    PKL_BAD("\x80\x02}", "pickle ends without STOP");
    PKL_BAD("\x80\x02X\x05\x00\x00\x00" "ab.", "pickle string at byte 2 runs past the end");
    PKL_BAD("\x80\x02X\x01\x00\x00\x00\xff.", "is not UTF-8 or contains a NUL byte");
    PKL_BAD("\x80\x02X\x01\x00\x00\x00\x00.", "is not UTF-8 or contains a NUL byte");
    PKL_BAD("\x80\x02\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09.", "wider than 64 bits");
    PKL_BAD("\x80\x02K\x01.", "the pickle is not a state dict");
    PKL_BAD("\x80\x02}K\x01K\x02s.", "state dict key 0 is not a string");
    PKL_BAD("\x80\x02" "ccollections\nOrderedDict\nK\x01\x85R.", "OrderedDict at byte");
    PKL_BAD("\x80\x02" "ctorch\nFloatStorage\n)R.", "calls something other than");
    PKL_BAD("\x80\x02K\x01)R.", "calls something other than");
    PKL_BAD("\x80\x02K\x01Q.", "persistent id at byte 4 is not a ('storage'");
    PKL_BAD("\x80\x02}(K\x01u.", "odd number of items");
    PKL_BAD("\x80\x02K\x01(K\x01K\x02u.", "no dict to fill");
    PKL_BAD("\x80\x02K\x01N\x85" "b.", "sets state on something other than a dict");
    /* the tuple ops cannot reach under a mark */
    PKL_BAD("\x80\x02}(\x85.", "pickle stack underflow at byte 4");
    /* _rebuild_tensor_v2 with a negative storage offset, then a 9-dimensional size */
    PKL_BAD("\x80\x02}(X\x01\x00\x00\x00w"
            "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\n"
            "X\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x06tQJ\xff\xff\xff\xff))\x89}tR",
            "_rebuild_tensor_v2 at byte");
    PKL_BAD("\x80\x02}(X\x01\x00\x00\x00w"
            "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\n"
            "X\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x06tQK\x00"
            "(K\x01K\x01K\x01K\x01K\x01K\x01K\x01K\x01K\x01t"
            "(K\x01K\x01K\x01K\x01K\x01K\x01K\x01K\x01K\x01t\x89}tR",
            "size is not a tuple of at most 8 non-negative ints");
    /* storage element count that cannot be a byte size */
    PKL_BAD("\x80\x02}(X\x01\x00\x00\x00w"
            "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\n"
            "X\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpu\x8a\x01\xfftQK\x00))\x89}tR",
            "element count is not a non-negative int");
}

/* A pickle of nothing but pushes is stopped at the object budget, before its memory grows
 * with the input. */
static void test_pickle_object_budget(void **state)
{
    (void)state;
    size_t n = MHV_PKL_MAX_OBJECTS / 2 + 16;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    memset(buf, 'N', n);
    buf[0] = 0x80;
    buf[1] = 2;
    buf[n - 1] = '.';
    mhv_pkl_state_dict sd;
    mhv_error err = {0};
    mhv_status rc = mhv_pkl_read_state_dict(buf, n, "p.bin", &sd, &err);
    expect_error(&err, rc, MHV_EFORMAT, "p.bin", "pickle holds more than 16777216 objects");
    free(buf);
}

/* ---- the directory: safetensors first, then pytorch_model.bin ---- */

static void copy_file(const char *from, const char *to)
{
    size_t n;
    uint8_t *buf = read_all(from, &n);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    fclose(f);
    free(buf);
}

static void test_dir_order_and_missing_shard(void **state)
{
    (void)state;
    char dir[] = "/tmp/mhv-torchbin-XXXXXX", a[128], b[128];
    assert_non_null(mkdtemp(dir));
    snprintf(a, sizeof a, "%s/model.safetensors", dir);
    snprintf(b, sizeof b, "%s/pytorch_model.bin", dir);
    copy_file(FIX "bert-relu/model.safetensors", a);
    copy_file(FIX "bin-bert-f32/pytorch_model.bin", b);
    mhv_st *st = NULL;
    mhv_error err = {0};
    assert_int_equal(mhv_st_open_dir(dir, &st, &err), MHV_OK);
    assert_string_equal(mhv_st_source(st), a);
    mhv_st_close(st);
    unlink(a);
    assert_int_equal(mhv_st_open_dir(dir, &st, &err), MHV_OK);
    assert_string_equal(mhv_st_source(st), b);
    assert_string_equal(mhv_st_at(st, 0)->file, "pytorch_model.bin");
    mhv_st_close(st);
    unlink(b);

    /* a sharded checkpoint with a shard gone: the index and the shard are named */
    const char *files[] = {"pytorch_model.bin.index.json", "pytorch_model-00001-of-00003.bin",
                           "pytorch_model-00003-of-00003.bin"};
    for (int i = 0; i < 3; i++) {
        snprintf(a, sizeof a, FIX "bin-bert-sharded/%s", files[i]);
        snprintf(b, sizeof b, "%s/%s", dir, files[i]);
        copy_file(a, b);
    }
    snprintf(a, sizeof a, "%s/pytorch_model.bin.index.json", dir);
    mhv_status rc = mhv_st_open_dir(dir, &st, &err);
    expect_error(&err, rc, MHV_EIO, a, "shard 'pytorch_model-00002-of-00003.bin' is missing");
    assert_null(st);
    for (int i = 0; i < 3; i++) {
        snprintf(b, sizeof b, "%s/%s", dir, files[i]);
        unlink(b);
    }
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bert_f32_plain_dict),
        cmocka_unit_test(test_bert_f16_ordered_dict),
        cmocka_unit_test(test_bert_sharded),
        cmocka_unit_test(test_llama_bf16),
        cmocka_unit_test(test_bert_legacy),
        cmocka_unit_test(test_views_protocol2),
        cmocka_unit_test(test_views_protocol4),
        cmocka_unit_test(test_views_legacy),
        cmocka_unit_test(test_crafted_and_zip64),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_every_byte_flip),
        cmocka_unit_test(test_pickle_opcodes),
        cmocka_unit_test(test_pickle_object_budget),
        cmocka_unit_test(test_dir_order_and_missing_shard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
