/* fuzz_image.c - an image file given to `run` on a vision model: PNG or JPEG bytes to
 * mhv_image_decode (which turns it upright by its EXIF orientation), then, when decoded,
 * preprocessed as ViT's defaults say (a bilinear resize to 16x16) and as a shortest-edge
 * bicubic resize with a centre crop. A file either fails with one line naming it and no
 * image, or gives an image of sane size whose preprocessing stays inside its buffers (ASan)
 * and gives finite values. The same bytes also go to the EXIF readers on their own, as TIFF
 * data and XMP (mhv_exif_orientation) and as PNG chunks (mhv_png_orientation) whatever
 * libpng would say of them: an orientation 1..8 or one line. */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "media/exif.h"
#include "media/image.h"
#include "media/png_exif.h"
#include "media/preprocess.h"

static void check_orientation(mhv_status st, int orientation, const mhv_error *err)
{
    if (st == MHV_OK)
        FUZZ_CHECK(orientation >= 1 && orientation <= 8);
    else
        FUZZ_CHECK(err->msg[0] && !strchr(err->msg, '\n') && strcmp(err->file, "fuzz.img") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mhv_image im;
    mhv_error err = {0};
    int orientation = 0;
    for (int jpeg = 0; jpeg < 2; jpeg++) {
        mhv_exif_meta m = {.exif = data, .exif_len = size, .xmp = data, .xmp_len = size,
                           .jpeg_dpi_from_exif = jpeg};
        orientation = 0;
        mhv_status st = mhv_exif_orientation(&m, &orientation, "fuzz.img", &err);
        check_orientation(st, orientation, &err);
    }
    orientation = 0;
    mhv_status st = mhv_png_orientation(data, size, "fuzz.img", &orientation, &err);
    check_orientation(st, orientation, &err);
    if (mhv_image_decode(data, size, "fuzz.img", &im, &err) != MHV_OK) {
        FUZZ_CHECK(im.rgb == NULL && err.msg[0] && !strchr(err.msg, '\n'));
        FUZZ_CHECK(strcmp(err.file, "fuzz.img") == 0);
        return 0;
    }
    FUZZ_CHECK(im.rgb && im.width >= 1 && im.height >= 1 && im.width <= MHV_IMAGE_MAX_SIDE &&
               im.height <= MHV_IMAGE_MAX_SIDE);
    /* big pictures are decoded, not resampled: the resize is what the other inputs test */
    if ((size_t)im.width * (size_t)im.height <= 512 * 512) {
        mhv_preprocess p = {.do_resize = 1, .resample = 2, .size_h = 16, .size_w = 16,
                            .do_rescale = 1, .rescale_factor = 1.0 / 255, .do_normalize = 1,
                            .mean = {0.5, 0.5, 0.5}, .std = {0.5, 0.5, 0.5}};
        float px[3 * 16 * 16];
        int box[4];
        FUZZ_CHECK(mhv_preprocess_run(&p, &im, 16, 16, px, box, "fuzz.img", &err) == MHV_OK);
        for (int i = 0; i < 3 * 16 * 16; i++)
            FUZZ_CHECK(isfinite(px[i]) && px[i] >= -1.0001f && px[i] <= 1.0001f);
        p.size_h = p.size_w = 0;
        p.shortest_edge = 12, p.resample = 3, p.do_center_crop = 1, p.crop_h = p.crop_w = 8;
        if (mhv_preprocess_run(&p, &im, 8, 8, px, box, "fuzz.img", &err) == MHV_OK)
            FUZZ_CHECK(box[2] == 8 && box[3] == 8 && box[0] >= 0 && box[1] >= 0);
        else
            FUZZ_CHECK(err.msg[0] && !strchr(err.msg, '\n'));
    }
    mhv_image_free(&im);
    return 0;
}
