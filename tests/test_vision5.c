/* The image processors of the vision families of tests/gen/fam_dinov3.py, fam_aimv2.py ...
 * (tests/fixtures/goldens/vision-e2e-*.json, written by tests/gen/vis5gen.py): the PNG and
 * JPEG files of tests/fixtures/images/vis5 read as load_image reads them and preprocessed
 * as the fixture's preprocessor_config.json says, against transformers' processor's
 * pixel_values: within 1e-5 (the resizes of transformers' torchvision processors run in
 * float in torch, in double here), or one 8-bit level for PIL's 8-bit resampling. The
 * attentions of the same cases are tests/cli/vision5.sh's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "media/image.h"
#include "media/preprocess.h"

#include "testutil.h"

/* Every case of one golden; returns how many. */
static int check_file(const char *file, double *worst_out)
{
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/goldens/%s", file);
    cJSON *g = tu_read_json(path);
    const cJSON *c;
    int cases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(g, "cases"))
    {
        char dir[256], img[256];
        const char *name = cJSON_GetObjectItem(c, "case")->valuestring;
        snprintf(dir, sizeof dir, "tests/fixtures/%s",
                 cJSON_GetObjectItem(c, "fixture")->valuestring);
        snprintf(img, sizeof img, "tests/fixtures/%s",
                 cJSON_GetObjectItem(c, "image")->valuestring);
        mhv_preprocess p;
        mhv_image im;
        mhv_error err = {0};
        if (mhv_preprocess_load(dir, 0, &p, &err) || mhv_image_read(img, &im, &err))
            fail_msg("%s: %s: %s", name, err.file, err.msg);
        const cJSON *hw = cJSON_GetObjectItem(c, "pixels_hw");
        int h = cJSON_GetArrayItem(hw, 0)->valueint, w = cJSON_GetArrayItem(hw, 1)->valueint;
        int sw, sh;
        if (mhv_preprocess_size(&p, im.width, im.height, &sw, &sh, img, &err))
            fail_msg("%s: %s: %s", name, err.file, err.msg);
        if (sw != w || sh != h)
            fail_msg("%s: %dx%d pixels, transformers makes %dx%d", name, sw, sh, w, h);
        float *px = malloc((size_t)3 * (size_t)h * (size_t)w * sizeof *px);
        if (mhv_preprocess_run(&p, &im, h, w, px, NULL, img, &err))
            fail_msg("%s: %s: %s", name, err.file, err.msg);
        const cJSON *want = cJSON_GetObjectItem(c, "pixels"), *v;
        assert_int_equal(cJSON_GetArraySize(want), 3 * h * w);
        int i = 0;
        double worst = 0;
        cJSON_ArrayForEach(v, want)
        {
            int ch = i / (h * w);
            double level = p.float_resize ? 1e-5
                                          : (p.do_rescale ? p.rescale_factor : 1.0) /
                                                    (p.do_normalize ? p.std[ch] : 1.0) +
                                                1e-5;
            double d = fabs(px[i++] - v->valuedouble);
            worst = d > worst ? d : worst;
            if (d > level)
                fail_msg("%s: pixel value %d is %.8g, transformers gives %.8g", name, i - 1,
                         (double)px[i - 1], v->valuedouble);
        }
        print_message("%s: %s, %dx%d pixels, worst %.3g\n", name,
                      cJSON_GetObjectItem(c, "processor")->valuestring, w, h, worst);
        *worst_out = worst > *worst_out ? worst : *worst_out;
        free(px);
        mhv_image_free(&im);
        cases++;
    }
    cJSON_Delete(g);
    return cases;
}

static int is_e2e_golden(const struct dirent *d)
{
    size_t len = strlen(d->d_name);
    return strncmp(d->d_name, "vision-e2e-", 11) == 0 && len > 5 &&
           strcmp(d->d_name + len - 5, ".json") == 0;
}

static void test_processors(void **state)
{
    (void)state;
    struct dirent **list;
    int n = scandir("tests/fixtures/goldens", &list, is_e2e_golden, alphasort), cases = 0;
    double worst = 0;
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
        cases += check_file(list[i]->d_name, &worst);
        free(list[i]);
    }
    free(list);
    assert_true(cases >= 4);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* DINOv3ViTImageProcessor: chosen by model_type, its defaults, what it refuses. */
static void test_dinov3_processor(void **state)
{
    (void)state;
    char dir[] = "/tmp/mhv-vis5-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_file(path, "{\"model_type\": \"dinov3_vit\"}");
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    write_file(path, "{}");
    mhv_preprocess p;
    mhv_error err = {0};
    assert_int_equal(mhv_preprocess_load(dir, 16, &p, &err), MHV_OK);
    assert_true(p.float_resize && p.size_h == 224 && p.size_w == 224 && p.resample == 2);
    assert_true(!p.do_center_crop && !p.do_convert_rgb && fabs(p.mean[0] - 0.485) < 1e-12 &&
                fabs(p.std[2] - 0.225) < 1e-12);
    write_file(path, "{\"image_processor_type\": \"DINOv3ViTImageProcessor\", "
                        "\"resample\": 0}");
    assert_int_equal(mhv_preprocess_load(dir, 16, &p, &err), MHV_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "resample 0 (nearest) is not supported for "
                                    "DINOv3ViTImageProcessor"));
    write_file(path, "{\"image_processor_type\": \"DINOv3ViTImageProcessorFast\", "
                        "\"do_rescale\": false}");
    assert_int_equal(mhv_preprocess_load(dir, 16, &p, &err), MHV_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "do_resize without do_rescale is not supported"));
    write_file(path, "{\"image_processor_type\": \"DINOv3ViTImageProcessor\", "
                        "\"do_rescale\": false, \"do_resize\": false}");
    assert_int_equal(mhv_preprocess_load(dir, 16, &p, &err), MHV_OK);
    assert_true(p.float_resize && !p.do_resize);
    unlink(path);
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    rmdir(dir);
}

/* The OWL processors' defaults, OWL-ViT's "rescale" alias, OWLv2's padding and what it
 * ignores (a crop) or refuses */
static void test_owl_processors(void **state)
{
    (void)state;
    char dir[] = "/tmp/mhv-vis5-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    mhv_preprocess p;
    mhv_error err = {0};
    write_file(path, "{\"image_processor_type\": \"OwlViTImageProcessor\", \"rescale\": false}");
    assert_int_equal(mhv_preprocess_load(dir, 16, &p, &err), MHV_OK);
    assert_true(p.size_h == 768 && p.size_w == 768 && p.resample == 3 && !p.do_center_crop &&
                !p.do_rescale && p.do_convert_rgb && !p.owlv2 && fabs(p.mean[0] - 0.48145466) < 1e-12);
    write_file(path, "{\"feature_extractor_type\": \"OwlViTFeatureExtractor\", \"do_center_crop\": "
                     "true, \"size\": 20}");
    assert_int_equal(mhv_preprocess_load(dir, 16, &p, &err), MHV_OK);
    assert_true(p.size_h == 20 && p.size_w == 20 && p.do_rescale && p.do_center_crop &&
                p.crop_h == 768);
    write_file(path, "{\"image_processor_type\": \"Owlv2ImageProcessor\", \"do_center_crop\": "
                     "true, \"crop_size\": 8, \"resample\": 1}");
    assert_int_equal(mhv_preprocess_load(dir, 16, &p, &err), MHV_OK);
    assert_true(p.owlv2 && p.pad_square && p.size_h == 960 && p.size_w == 960 &&
                !p.do_center_crop && p.resample == 1 && p.do_convert_rgb);
    int w, h;
    assert_int_equal(mhv_preprocess_size(&p, 37, 23, &w, &h, "x", &err), MHV_OK);
    assert_true(w == 960 && h == 960);
    write_file(path, "{\"image_processor_type\": \"Owlv2ImageProcessorPil\", \"do_resize\": false}");
    assert_int_equal(mhv_preprocess_load(dir, 16, &p, &err), MHV_OK);
    assert_int_equal(mhv_preprocess_size(&p, 37, 23, &w, &h, "x", &err), MHV_OK);
    assert_true(w == 37 && h == 37); /* padded only */
    write_file(path, "{\"image_processor_type\": \"Owlv2ImageProcessor\", \"do_resize\": false, "
                     "\"do_pad\": false}");
    assert_int_equal(mhv_preprocess_load(dir, 16, &p, &err), MHV_OK);
    assert_int_equal(mhv_preprocess_size(&p, 37, 23, &w, &h, "x", &err), MHV_OK);
    assert_true(w == 37 && h == 23);
    write_file(path, "{\"image_processor_type\": \"Owlv2ImageProcessor\", \"size\": "
                     "{\"shortest_edge\": 20}}");
    assert_int_equal(mhv_preprocess_load(dir, 16, &p, &err), MHV_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "size without height and width is not supported for "
                                    "Owlv2ImageProcessor"));
    unlink(path);
    rmdir(dir);
}

/* SigLIP 2's processor: its size for images of many shapes, as transformers'
 * get_image_size_for_max_num_patches gives it (tests/gen/fam_siglip2.py), and what it
 * refuses */
static void test_siglip2_sizes(void **state)
{
    (void)state;
    char dir[] = "/tmp/mhv-vis5-XXXXXX", path[256], text[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    cJSON *g = tu_read_json("tests/fixtures/goldens/siglip2-sizes.json");
    const cJSON *c;
    int count = 0;
    mhv_error err = {0};
    mhv_preprocess p;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(g, "cases"))
    {
        int v[6];
        for (int i = 0; i < 6; i++)
            v[i] = cJSON_GetArrayItem(c, i)->valueint;
        snprintf(text, sizeof text, "{\"image_processor_type\": \"Siglip2ImageProcessor\", "
                 "\"patch_size\": %d, \"max_num_patches\": %d}", v[2], v[3]);
        write_file(path, text);
        assert_int_equal(mhv_preprocess_load(dir, 16, &p, &err), MHV_OK);
        int w, h;
        assert_int_equal(mhv_preprocess_size(&p, v[1], v[0], &w, &h, "x", &err), MHV_OK);
        if (h != v[4] || w != v[5])
            fail_msg("%dx%d, patch %d, at most %d: %dx%d, transformers makes %dx%d", v[1], v[0],
                     v[2], v[3], w, h, v[5], v[4]);
        count++;
    }
    assert_true(count > 100);
    cJSON_Delete(g);
    write_file(path, "{\"image_processor_type\": \"Siglip2ImageProcessor\", \"do_resize\": false}");
    assert_int_equal(mhv_preprocess_load(dir, 16, &p, &err), MHV_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "do_resize false is not supported for Siglip2ImageProcessor"));
    write_file(path, "{\"image_processor_type\": \"Siglip2ImageProcessorFast\", \"size\": 40, "
                     "\"do_center_crop\": true, \"crop_size\": 8}");
    assert_int_equal(mhv_preprocess_load(dir, 16, &p, &err), MHV_OK);
    assert_true(p.naflex_patch == 16 && p.max_num_patches == 256 && !p.do_center_crop &&
                p.resample == 2 && !p.do_convert_rgb);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_processors),
        cmocka_unit_test(test_dinov3_processor),
        cmocka_unit_test(test_owl_processors),
        cmocka_unit_test(test_siglip2_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
