/* Images (lib/media): PNGs read with libpng and preprocessed as transformers' PIL image
 * processors do, against tests/fixtures/images/goldens.json (tests/gen/gen_image_goldens.py:
 * ViTImageProcessorPil on RGB, RGBA, grey and palette PNGs; bilinear and nearest resizes, a
 * bicubic shortest-edge resize with a centre crop). mhaviz resamples as Pillow's Resample.c
 * (fixed point, horizontal pass first, 8 bits in between); Pillow 13 sometimes runs the
 * vertical pass first, which moves a value by one 8-bit level. So: every value within one
 * 8-bit level (1/255 / std after normalising), at least half of them exact (1e-5).
 * JPEGs decoded with libjpeg against PIL's decoding of the same files
 * (tests/gen/gen_jpeg_goldens.py: baseline 4:2:0, progressive 4:4:4, grey, an EXIF rotation),
 * every value exact. EXIF and XMP orientations against transformers' load_image (PIL's
 * exif_transpose; tests/gen/gen_exif_goldens.py: orientations 1..8 in JPEG, both byte orders,
 * and PNG; hostile EXIF that PIL reads past or refuses), every value exact, refusals in one
 * line. Hostile files fail cleanly. Each processor class's defaults for the keys a file
 * leaves out, the settings and the pixels, against AutoImageProcessor.from_pretrained on the
 * same files (tests/gen/gen_proc_defaults_goldens.py), and a tRNS colour refused under
 * do_convert_rgb. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "media/image.h"
#include "media/preprocess.h"

#include "testutil.h"

/* Every case of a goldens file (a configuration directory, an image, the pixel values):
 * within one 8-bit level, at least half exact; returns how many, *worst the largest
 * difference. */
static int check_goldens(const char *path, double *worst_out)
{
    cJSON *g = tu_read_json(path);
    const cJSON *c;
    int cases = 0;
    double worst = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(g, "cases"))
    {
        char dir[256], png[256];
        snprintf(dir, sizeof dir, "tests/fixtures/images/%s",
                 cJSON_GetObjectItem(c, "config")->valuestring);
        snprintf(png, sizeof png, "tests/fixtures/images/%s",
                 cJSON_GetObjectItem(c, "image")->valuestring);
        mhv_preprocess p;
        mhv_image im;
        mhv_error err = {0};
        if (mhv_preprocess_load(dir, 0, &p, &err) || mhv_image_read_png(png, &im, &err))
            fail_msg("%s: %s", err.file, err.msg);
        const cJSON *shape = cJSON_GetObjectItem(c, "shape");
        int h = cJSON_GetArrayItem(shape, 1)->valueint, w = cJSON_GetArrayItem(shape, 2)->valueint;
        int sw, sh; /* the size the processor gives, known before running it */
        if (mhv_preprocess_size(&p, im.width, im.height, &sw, &sh, png, &err))
            fail_msg("%s: %s", err.file, err.msg);
        assert_int_equal(sw, w);
        assert_int_equal(sh, h);
        float *px = malloc((size_t)3 * h * w * sizeof *px);
        if (mhv_preprocess_run(&p, &im, h, w, px, NULL, png, &err))
            fail_msg("%s: %s", err.file, err.msg);
        const cJSON *want = cJSON_GetObjectItem(c, "pixels");
        assert_int_equal(cJSON_GetArraySize(want), 3 * h * w);
        int i = 0, exact = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, want)
        {
            int ch = i / (h * w);
            double level = (p.do_rescale ? p.rescale_factor : 1.0) / (p.do_normalize ? p.std[ch] : 1.0);
            double d = fabs(px[i++] - v->valuedouble);
            if (d > worst)
                worst = d;
            exact += d <= 1e-5;
            if (d > level + 1e-5)
                fail_msg("%s with %s: pixel value %d is %.8g, PIL gives %.8g", png, dir, i - 1,
                         (double)px[i - 1], v->valuedouble);
        }
        if (exact < i / 2)
            fail_msg("%s with %s: only %d of %d values exact", png, dir, exact, i);
        free(px);
        mhv_image_free(&im);
        cases++;
    }
    cJSON_Delete(g);
    *worst_out = worst;
    return cases;
}

static void test_goldens(void **state)
{
    (void)state;
    double worst;
    assert_int_equal(check_goldens("tests/fixtures/images/goldens.json", &worst), 12);
    print_message("12 images within %.2g of transformers' PIL processor (one 8-bit level)\n", worst);
    /* BEiT's processor (tests/gen/gen_beit_proc_goldens.py): its defaults (bicubic), the
     * older file layout (sizes as numbers, feature_extractor_type), one mean for all */
    assert_int_equal(check_goldens("tests/fixtures/images/beit-goldens.json", &worst), 8);
    print_message("8 images within %.2g of transformers' BeitImageProcessor\n", worst);
}

/* A "defaults" value of tests/gen/gen_proc_defaults_goldens.py: null (transformers' None)
 * is 0. */
static double dflt(const cJSON *d, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(d, key);
    return cJSON_IsNumber(v) ? v->valuedouble : cJSON_IsTrue(v) ? 1 : 0;
}

/* Every processor class's defaults for the keys a file leaves out, against what
 * AutoImageProcessor.from_pretrained made of the same files: the settings, then the pixels
 * (every value or every stride-th; within one 8-bit level, at least half exact). */
static void test_class_defaults(void **state)
{
    (void)state;
    cJSON *g = tu_read_json("tests/fixtures/images/proc-defaults/goldens.json");
    const cJSON *cfg;
    int configs = 0, cases = 0;
    double worst = 0;
    cJSON_ArrayForEach(cfg, cJSON_GetObjectItem(g, "configs"))
    {
        char dir[256];
        const char *name = cJSON_GetObjectItem(cfg, "config")->valuestring;
        snprintf(dir, sizeof dir, "tests/fixtures/images/proc-defaults/%s", name);
        mhv_preprocess p;
        mhv_error err = {0};
        if (mhv_preprocess_load(dir, 0, &p, &err))
            fail_msg("%s: %s", err.file, err.msg);
        const cJSON *d = cJSON_GetObjectItem(cfg, "defaults");
        const cJSON *size = cJSON_GetObjectItem(d, "size");
        const cJSON *crop = cJSON_GetObjectItem(d, "crop_size");
        const cJSON *mean = cJSON_GetObjectItem(d, "image_mean");
        const cJSON *sd = cJSON_GetObjectItem(d, "image_std");
        if (p.resample != (int)dflt(d, "resample") ||
            p.do_center_crop != (int)dflt(d, "do_center_crop") ||
            p.do_convert_rgb != (int)dflt(d, "do_convert_rgb") ||
            p.shortest_edge != (int)dflt(size, "shortest_edge") ||
            (!p.shortest_edge && (p.size_h != (int)dflt(size, "height") ||
                                  p.size_w != (int)dflt(size, "width"))) ||
            (p.do_center_crop && (p.crop_h != (int)dflt(crop, "height") ||
                                  p.crop_w != (int)dflt(crop, "width"))))
            fail_msg("%s: settings differ from transformers' %s", name,
                     cJSON_GetObjectItem(cfg, "class")->valuestring);
        for (int c = 0; c < 3; c++)
            if (p.mean[c] != cJSON_GetArrayItem(mean, c)->valuedouble ||
                p.std[c] != cJSON_GetArrayItem(sd, c)->valuedouble)
                fail_msg("%s: mean or std of channel %d differs", name, c);
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(cfg, "cases"))
        {
            char png[256];
            snprintf(png, sizeof png, "tests/fixtures/images/%s",
                     cJSON_GetObjectItem(c, "image")->valuestring);
            mhv_image im;
            if (mhv_image_read(png, &im, &err))
                fail_msg("%s: %s", err.file, err.msg);
            const cJSON *shape = cJSON_GetObjectItem(c, "shape");
            int h = cJSON_GetArrayItem(shape, 1)->valueint;
            int w = cJSON_GetArrayItem(shape, 2)->valueint;
            int sw, sh, stride = cJSON_GetObjectItem(c, "stride")->valueint;
            if (mhv_preprocess_size(&p, im.width, im.height, &sw, &sh, png, &err))
                fail_msg("%s: %s", err.file, err.msg);
            if (sw != w || sh != h)
                fail_msg("%s with %s: %dx%d, transformers gives %dx%d", png, name, sw, sh, w, h);
            float *px = malloc((size_t)3 * h * w * sizeof *px);
            if (mhv_preprocess_run(&p, &im, h, w, px, NULL, png, &err))
                fail_msg("%s: %s", err.file, err.msg);
            int i = 0, n = 0, exact = 0;
            const cJSON *v;
            cJSON_ArrayForEach(v, cJSON_GetObjectItem(c, "pixels"))
            {
                int ch = i / (h * w);
                double level = p.rescale_factor / p.std[ch];
                double dd = fabs(px[i] - v->valuedouble);
                worst = dd > worst ? dd : worst;
                exact += dd <= 1e-5;
                if (dd > level + 1e-5)
                    fail_msg("%s with %s: pixel value %d is %.8g, transformers gives %.8g", png,
                             name, i, (double)px[i], v->valuedouble);
                i += stride, n++;
            }
            assert_int_equal(n, (3 * h * w + stride - 1) / stride);
            if (exact < n / 2)
                fail_msg("%s with %s: only %d of %d values exact", png, name, exact, n);
            free(px);
            mhv_image_free(&im);
            cases++;
        }
        configs++;
    }
    /* transparency load_image keeps (a tRNS colour): white under do_convert_rgb (CLIP, BiT,
     * SigLIP), as transformers' convert_to_rgb; a 16-bit grey key refused by name */
    int refused = 0, whitened = 0;
    cJSON_ArrayForEach(cfg, cJSON_GetObjectItem(g, "transparent"))
    {
        char dir[256], png[256];
        snprintf(dir, sizeof dir, "tests/fixtures/images/proc-defaults/%s",
                 cJSON_GetObjectItem(cfg, "config")->valuestring);
        snprintf(png, sizeof png, "tests/fixtures/images/proc-defaults/%s",
                 cJSON_GetObjectItem(cfg, "image")->valuestring);
        mhv_preprocess p;
        mhv_image im;
        mhv_error err = {0};
        if (mhv_preprocess_load(dir, 0, &p, &err) || mhv_image_read(png, &im, &err))
            fail_msg("%s: %s", err.file, err.msg);
        const cJSON *shape = cJSON_GetObjectItem(cfg, "shape");
        int h = cJSON_GetArrayItem(shape, 1)->valueint, w = cJSON_GetArrayItem(shape, 2)->valueint;
        float *px = malloc((size_t)3 * h * w * sizeof *px);
        mhv_status st = mhv_preprocess_run(&p, &im, h, w, px, NULL, png, &err);
        if (cJSON_IsTrue(cJSON_GetObjectItem(cfg, "refused"))) {
            assert_int_equal(st, MHV_EUNSUPPORTED);
            assert_non_null(
                strstr(err.msg, "16-bit PNG with a transparent colour (tRNS) under do_convert_rgb"));
            refused++;
        } else {
            if (st)
                fail_msg("%s with %s: %s", png, dir, err.msg);
            int i = 0, exact = 0;
            const cJSON *v;
            cJSON_ArrayForEach(v, cJSON_GetObjectItem(cfg, "pixels"))
            {
                double dd = fabs(px[i] - v->valuedouble);
                exact += dd <= 1e-5;
                if (dd > p.rescale_factor / p.std[i / (h * w)] + 1e-5)
                    fail_msg("%s with %s: pixel value %d differs", png, dir, i);
                i++;
            }
            assert_int_equal(i, 3 * h * w);
            assert_true(exact >= i / 2);
            whitened += cJSON_IsTrue(cJSON_GetObjectItem(cfg, "changed"));
        }
        free(px);
        mhv_image_free(&im);
    }
    assert_int_equal(refused, 3);
    assert_int_equal(whitened, 12);
    cJSON_Delete(g);
    assert_int_equal(configs, 20);
    print_message("%d processor configurations, %d images within %.2g of transformers\n",
                  configs, cases, worst);
}

/* preprocessor_config.json text in a fresh directory, loaded. */
static mhv_status load_text(const char *json, mhv_preprocess *p, mhv_error *err)
{
    char dir[] = "/tmp/mhaviz-test-proc-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
    mhv_status st = mhv_preprocess_load(dir, 16, p, err);
    unlink(path);
    rmdir(dir);
    return st;
}

/* A file without a type beside a config.json whose model_type transformers maps to no
 * image processor (CLIP's vision tower alone) is refused, as AutoImageProcessor refuses it. */
static void test_processor_by_model_type(void **state)
{
    (void)state;
    char dir[] = "/tmp/mhaviz-test-proc-XXXXXX", path[2][64];
    assert_non_null(mkdtemp(dir));
    const char *names[2] = {"preprocessor_config.json", "config.json"};
    const char *text[2] = {"{\"size\": {\"height\": 16, \"width\": 16}}",
                           "{\"model_type\": \"clip_vision_model\"}"};
    for (int i = 0; i < 2; i++) {
        snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
        FILE *f = fopen(path[i], "w");
        assert_non_null(f);
        fputs(text[i], f);
        fclose(f);
    }
    mhv_preprocess p;
    mhv_error err = {0};
    assert_int_equal(mhv_preprocess_load(dir, 16, &p, &err), MHV_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "no image processor for model_type 'clip_vision_model'"));
    for (int i = 0; i < 2; i++)
        unlink(path[i]);
    rmdir(dir);
}

/* What BEiT's processor leaves to its defaults, and the options refused by name. */
static void test_processor_options(void **state)
{
    (void)state;
    mhv_preprocess p;
    mhv_error err = {0};
    /* BEiT: 224 x 224 bicubic; its crop 224 x 224 when asked without a size */
    assert_int_equal(load_text("{\"image_processor_type\": \"BeitImageProcessor\", "
                               "\"do_center_crop\": true}", &p, &err), MHV_OK);
    assert_int_equal(p.resample, 3);
    assert_true(p.size_h == 224 && p.size_w == 224 && p.crop_h == 224 && p.crop_w == 224);
    /* ViT's (and no type, no config.json): bilinear, 224 x 224 (transformers' default, not
     * the model's size); a crop needs its size */
    assert_int_equal(load_text("{\"image_processor_type\": \"ViTImageProcessor\"}", &p, &err),
                     MHV_OK);
    assert_true(p.resample == 2 && p.size_h == 224 && !p.do_center_crop && !p.do_convert_rgb);
    assert_int_equal(load_text("{\"do_center_crop\": true}", &p, &err), MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "do_center_crop without crop_size"));
    static const struct {
        const char *json, *msg;
    } refused[] = {
        {"{\"size\": {\"shortest_edge\": 16, \"longest_edge\": 30}}",
         "size with 'shortest_edge' and a longest edge or maximum is not supported"},
        {"{\"size\": {\"height\": 16, \"width\": 16, \"max_height\": 30, \"max_width\": 30}}",
         "size with 'max_height' is not supported"},
        {"{\"image_processor_type\": \"ConvNextImageProcessor\"}",
         "image processor 'ConvNextImageProcessor' is not supported"},
        /* transformers reads a FeatureExtractor name only as feature_extractor_type */
        {"{\"image_processor_type\": \"ViTFeatureExtractor\"}",
         "image processor 'ViTFeatureExtractor' is not supported"},
        {"{\"feature_extractor_type\": \"ConvNextFeatureExtractor\"}",
         "image processor 'ConvNextImageProcessor' is not supported"},
        {"{\"image_processor_type\": \"ViTImageProcessorSlow\"}",
         "image processor 'ViTImageProcessorSlow' is not supported"},
        {"{\"image_processor_type\": \"BeitImageProcessor\", \"resample\": 1}",
         "resample 1 is not supported"},
        {"{\"do_center_crop\": true, \"crop_size\": \"big\"}", "field 'crop_size' is not a size"},
        {"{\"size\": 0}", "field 'size' is not a size in pixels"},
        {"{\"image_mean\": [0.5, 0.5]}", "field 'image_mean' is not a list of 3 numbers"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        assert_int_not_equal(load_text(refused[i].json, &p, &err), MHV_OK);
        if (!strstr(err.msg, refused[i].msg))
            fail_msg("%s: '%s', expected '%s'", refused[i].json, err.msg, refused[i].msg);
    }
}

static void test_bad_images(void **state)
{
    (void)state;
    mhv_image im;
    mhv_error err = {0};
    assert_int_equal(mhv_image_read_png("tests/fixtures/images/goldens.json", &im, &err),
                     MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "not a PNG image"));
    /* a PNG cut short */
    size_t len;
    char *data = tu_read_file("tests/fixtures/images/rgb-37x23.png", &len);
    char path[] = "/tmp/mhaviz-test-image-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len / 2), (ssize_t)(len / 2));
    close(fd);
    assert_int_equal(mhv_image_read_png(path, &im, &err), MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "damaged PNG"));
    assert_null(im.rgb);
    unlink(path);
    free(data);
    /* a processor that does not give the model's size says so */
    mhv_preprocess p;
    assert_int_equal(mhv_preprocess_load("tests/fixtures/images/vit-bilinear", 0, &p, &err), 0);
    assert_int_equal(mhv_image_read_png("tests/fixtures/images/grey-16x16.png", &im, &err), 0);
    float px[3 * 24 * 24];
    assert_int_equal(mhv_preprocess_run(&p, &im, 24, 24, px, NULL, "grey", &err), MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "the model takes 24x24"));
    mhv_image_free(&im);
}

/* A PNG's start as its header gives the size: signature, IHDR (8-bit RGB, or 16-bit grey,
 * which takes the decoder's other path), a few bytes of IDAT; into buf, its length
 * returned. The decoder must refuse from the header alone. */
static size_t png_head(uint32_t w, uint32_t h, int grey16, unsigned char *buf)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    size_t n = 0;
    memcpy(buf, sig, 8), n = 8;
    const unsigned char ihdr[17] = {'I', 'H', 'D', 'R', (unsigned char)(w >> 24),
                                    (unsigned char)(w >> 16), (unsigned char)(w >> 8),
                                    (unsigned char)w, (unsigned char)(h >> 24),
                                    (unsigned char)(h >> 16), (unsigned char)(h >> 8),
                                    (unsigned char)h, grey16 ? 16 : 8, grey16 ? 0 : 2, 0, 0, 0};
    const unsigned char idat[4 + 8] = {'I', 'D', 'A', 'T', 0x78, 0x9c, 0x63, 0, 0, 0, 0, 0};
    const struct { const unsigned char *p; size_t len; } chunks[2] = {{ihdr, 17}, {idat, 12}};
    for (int c = 0; c < 2; c++) {
        size_t len = chunks[c].len - 4;
        unsigned char lb[4] = {0, 0, 0, (unsigned char)len};
        memcpy(buf + n, lb, 4), n += 4;
        memcpy(buf + n, chunks[c].p, chunks[c].len), n += chunks[c].len;
        uLong crc = crc32(0L, chunks[c].p, (uInt)chunks[c].len);
        unsigned char cb[4] = {(unsigned char)(crc >> 24), (unsigned char)(crc >> 16),
                               (unsigned char)(crc >> 8), (unsigned char)crc};
        memcpy(buf + n, cb, 4), n += 4;
    }
    return n;
}

/* A baseline JPEG's markers up to its scan: SOI, SOF0 of w x h (3 components), SOS. */
static size_t jpeg_head(unsigned w, unsigned h, unsigned char *buf)
{
    const unsigned char head[] = {
        0xFF, 0xD8,                                                 /* SOI */
        0xFF, 0xC0, 0, 17, 8, (unsigned char)(h >> 8), (unsigned char)h,
        (unsigned char)(w >> 8), (unsigned char)w, 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0,
        0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0, 3, 0, 0, 63, 0,           /* SOS */
        0, 0, 0, 0};
    memcpy(buf, head, sizeof head);
    return sizeof head;
}

/* Past PIL's decompression-bomb limit (178956970 pixels: 16000 x 16000 would decode to 1 GB
 * before any resize) refused from the header, as PIL's Image.open refuses it. */
static void test_pixel_limit(void **state)
{
    (void)state;
    unsigned char buf[128];
    mhv_image im;
    mhv_error err = {0};
    for (int grey16 = 0; grey16 < 2; grey16++) {
        size_t n = png_head(16000, 16000, grey16, buf);
        assert_int_equal(mhv_image_decode(buf, n, "big.png", &im, &err), MHV_EFORMAT);
        assert_string_equal(err.file, "big.png");
        assert_string_equal(err.msg, "image of 16000x16000 pixels: 256000000 pixels exceed the "
                                     "limit of 178956970 (PIL's decompression-bomb limit)");
        assert_null(im.rgb);
        /* 16384 x 10923 is 178962432 pixels, one row past (10922 rows are under) */
        n = png_head(16384, 10923, grey16, buf);
        assert_int_equal(mhv_image_decode(buf, n, "big.png", &im, &err), MHV_EFORMAT);
        assert_non_null(strstr(err.msg, "178962432 pixels exceed the limit of 178956970"));
    }
    size_t n = jpeg_head(16000, 16000, buf);
    assert_int_equal(mhv_image_decode(buf, n, "big.jpg", &im, &err), MHV_EFORMAT);
    assert_string_equal(err.file, "big.jpg");
    assert_non_null(strstr(err.msg, "image of 16000x16000 pixels: 256000000 pixels exceed"));
    n = png_head(16385, 2, 0, buf);
    assert_int_equal(mhv_image_decode(buf, n, "wide.png", &im, &err), MHV_EFORMAT);
    assert_string_equal(err.msg, "image of 16385x2 pixels (at most 16384 on a side)");
}

static void test_jpeg(void **state)
{
    (void)state;
    cJSON *g = tu_read_json("tests/fixtures/images/jpeg/decoded.json");
    const cJSON *c;
    int cases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(g, "cases"))
    {
        char path[256];
        snprintf(path, sizeof path, "tests/fixtures/images/jpeg/%s",
                 cJSON_GetObjectItem(c, "image")->valuestring);
        mhv_image im;
        mhv_error err = {0};
        if (mhv_image_read(path, &im, &err))
            fail_msg("%s: %s", path, err.msg);
        assert_int_equal(im.width, cJSON_GetObjectItem(c, "width")->valueint);
        assert_int_equal(im.height, cJSON_GetObjectItem(c, "height")->valueint);
        const cJSON *rgb = cJSON_GetObjectItem(c, "rgb"), *v;
        assert_int_equal(cJSON_GetArraySize(rgb), im.width * im.height * 3);
        int i = 0, diff = 0;
        cJSON_ArrayForEach(v, rgb) diff += im.rgb[i++] != v->valueint;
        if (diff)
            fail_msg("%s: %d of %d values differ from PIL's", path, diff, i);
        mhv_image_free(&im);
        cases++;
    }
    assert_int_equal(cases, 4);
    cJSON_Delete(g);
    /* the same reader takes PNGs */
    mhv_image im;
    mhv_error err = {0};
    assert_int_equal(mhv_image_read("tests/fixtures/images/grey-16x16.png", &im, &err), 0);
    assert_int_equal(im.width, 16);
    mhv_image_free(&im);
    /* CMYK is refused by name; a JPEG cut short, or damaged inside, in one line */
    assert_int_equal(mhv_image_read("tests/fixtures/images/jpeg/cmyk.jpg", &im, &err),
                     MHV_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "CMYK JPEG images are not supported"));
    size_t len;
    char *data = tu_read_file("tests/fixtures/images/jpeg/baseline-420.jpg", &len);
    assert_int_equal(mhv_image_decode((unsigned char *)data, len * 2 / 3, "cut.jpg", &im, &err),
                     MHV_EFORMAT);
    assert_string_equal(err.msg, "damaged JPEG: the file ends early");
    assert_null(im.rgb);
    assert_int_equal(mhv_image_decode((unsigned char *)data, 40, "head.jpg", &im, &err),
                     MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "damaged JPEG: "));
    assert_null(strchr(err.msg, '\n'));
    assert_null(im.rgb);
    assert_int_equal(mhv_image_decode((unsigned char *)"GIF89a", 6, "x.gif", &im, &err),
                     MHV_EFORMAT);
    assert_string_equal(err.msg, "not a PNG or JPEG image");
    assert_string_equal(err.file, "x.gif");
    free(data);
}

/* Every case of dir/goldens.json: load_image's pixels exactly, or refused in one line holding
 * the golden's words. Counts the cases, the refusals and the images 9 wide. */
static void check_load_image(const char *dir, int *cases, int *refused, int *nine_wide)
{
    char gpath[256];
    snprintf(gpath, sizeof gpath, "%s/goldens.json", dir);
    cJSON *g = tu_read_json(gpath);
    const cJSON *c;
    *cases = *refused = *nine_wide = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(g, "cases"))
    {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, cJSON_GetObjectItem(c, "image")->valuestring);
        mhv_image im;
        mhv_error err = {0};
        mhv_status st = mhv_image_read(path, &im, &err);
        const cJSON *words = cJSON_GetObjectItem(c, "error");
        (*cases)++;
        if (words) {
            if (st != MHV_EFORMAT || !strstr(err.msg, words->valuestring) || strchr(err.msg, '\n'))
                fail_msg("%s: status %d, '%s', expected a refusal with '%s'", path, st, err.msg,
                         words->valuestring);
            assert_string_equal(err.file, path);
            assert_null(im.rgb);
            (*refused)++;
            continue;
        }
        if (st)
            fail_msg("%s: %s", path, err.msg);
        if (im.width != cJSON_GetObjectItem(c, "width")->valueint ||
            im.height != cJSON_GetObjectItem(c, "height")->valueint)
            fail_msg("%s: %dx%d, PIL's is %dx%d", path, im.width, im.height,
                     cJSON_GetObjectItem(c, "width")->valueint,
                     cJSON_GetObjectItem(c, "height")->valueint);
        *nine_wide += im.width == 9;
        const cJSON *rgb = cJSON_GetObjectItem(c, "rgb"), *v;
        assert_int_equal(cJSON_GetArraySize(rgb), im.width * im.height * 3);
        int i = 0, diff = 0;
        cJSON_ArrayForEach(v, rgb) diff += im.rgb[i++] != v->valueint;
        if (diff)
            fail_msg("%s: %d of %d values differ from load_image's", path, diff, i);
        mhv_image_free(&im);
    }
    cJSON_Delete(g);
}

/* Every file of tests/fixtures/images/exif (tests/gen/gen_exif_goldens.py). */
static void test_exif(void **state)
{
    (void)state;
    int cases, refused, turned;
    check_load_image("tests/fixtures/images/exif", &cases, &refused, &turned);
    assert_int_equal(cases, 77);
    assert_int_equal(refused, 11);
    assert_true(turned >= 12); /* the side-swapping orientations 5..8, thrice */
}

/* PNGs libpng's simplified reader would decode otherwise than PIL: 16-bit samples and gAMA
 * chunks (tests/gen/gen_png_raw_goldens.py). */
static void test_png_raw(void **state)
{
    (void)state;
    int cases, refused, nine;
    check_load_image("tests/fixtures/images/png-raw", &cases, &refused, &nine);
    assert_int_equal(cases, 11);
    assert_int_equal(refused, 0);
}

/* Each orientation of one picture differs from the others: the goldens above could not pass
 * with two orientations mixed up. */
static void test_exif_orientations_differ(void **state)
{
    (void)state;
    mhv_image im[8];
    mhv_error err = {0};
    for (int o = 1; o <= 8; o++) {
        char path[128];
        snprintf(path, sizeof path, "tests/fixtures/images/exif/png-%d.png", o);
        if (mhv_image_read(path, &im[o - 1], &err))
            fail_msg("%s: %s", path, err.msg);
    }
    for (int a = 0; a < 8; a++)
        for (int b = a + 1; b < 8; b++)
            assert_true(im[a].width != im[b].width ||
                        memcmp(im[a].rgb, im[b].rgb, (size_t)im[a].width * im[a].height * 3));
    for (int o = 0; o < 8; o++)
        mhv_image_free(&im[o]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goldens),
        cmocka_unit_test(test_png_raw),
        cmocka_unit_test(test_class_defaults),
        cmocka_unit_test(test_processor_options),
        cmocka_unit_test(test_processor_by_model_type),
        cmocka_unit_test(test_pixel_limit),
        cmocka_unit_test(test_jpeg),
        cmocka_unit_test(test_exif),
        cmocka_unit_test(test_exif_orientations_differ),
        cmocka_unit_test(test_bad_images),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
