/* preprocess.h - an image prepared as a vision model's image processor prepares it
 * (preprocessor_config.json): resized (PIL's resampling: bilinear, bicubic or nearest, with
 * its antialiasing when shrinking, in 8 bits between the two passes as PIL computes), centre
 * cropped, rescaled and normalised, into (3, height, width) floats. */
#ifndef MHV_PREPROCESS_H
#define MHV_PREPROCESS_H

#include <stdint.h>

#include "base/status.h"
#include "media/image.h"

typedef struct {
    int do_resize, resample;        /* PIL's codes: 0 nearest, 2 bilinear, 3 bicubic */
    int size_h, size_w;             /* resize to this ... */
    int shortest_edge;              /* ... or the short side to this (aspect kept); 0: not */
    int do_center_crop, crop_h, crop_w;
    int do_rescale;
    double rescale_factor;
    int do_normalize;
    double mean[3], std[3];
    int do_convert_rgb;             /* transformers' convert_to_rgb (see mhv_preprocess_run) */
    /* transformers' torchvision processors that rescale before resizing (DINOv3): the
     * 8-bit pixels rescaled to floats, then resized as torch's F.interpolate (antialias=True,
     * bilinear or bicubic) resizes floats, not PIL's 8-bit resampling */
    int float_resize;
    /* transformers' Owlv2ImageProcessor: rescaled to fp32, padded to a square with zeros
     * (bottom and right; pad_square, do_pad), resized as scikit-image resizes (a Gaussian
     * blur of sigma (factor - 1) / 2 along each shrinking axis unless resample is 0, then
     * linear interpolation, mirrored edges) and clipped to the padded image's range */
    int owlv2, pad_square;
    /* transformers' Siglip2ImageProcessor (NaFlex): each image resized to the largest size in
     * whole naflex_patch patches whose count stays within max_num_patches, the aspect kept
     * as its binary search over the scale keeps it (0: not this processor) */
    int naflex_patch, max_num_patches;
    /* transformers' Qwen2VLImageProcessor: each image resized by smart_resize to sides in
     * whole smart_factor (patch_size x merge_size) pixels, its area brought within
     * [min_pixels, max_pixels] (0: not this processor); its patch_size, merge_size and
     * temporal_patch_size, which the model's must equal */
    int smart_factor;
    long min_pixels, max_pixels;
    int smart_patch, smart_merge, smart_temporal;
} mhv_preprocess;

/* The processor of a model directory: DIR/preprocessor_config.json when present (the keys
 * it leaves out as its processor class's defaults in transformers; a class mhaviz does not
 * know is MHV_EUNSUPPORTED), else ViTImageProcessor's defaults for a model of image_size
 * (resize to it, bilinear, rescale, normalise by 0.5). */
mhv_status mhv_preprocess_load(const char *dir, int image_size, mhv_preprocess *p,
                               mhv_error *err);

/* The size *out_w x *out_h that mhv_preprocess_run makes of an image of w x h pixels: the
 * resize's (w x h without one), then the centre crop's. MHV_EUSAGE (naming `name`) when the
 * resize leaves the range of images or the crop does not fit. */
mhv_status mhv_preprocess_size(const mhv_preprocess *p, int w, int h, int *out_w, int *out_h,
                               const char *name, mhv_error *err);

/* out(3, out_h, out_w) from im (an image as transformers' load_image gives it: RGB, so
 * do_convert_rgb changes nothing but a PNG's transparent colour, painted white under it;
 * a tRNS whose effect mhaviz does not match, im->transparent MHV_TRNS_REFUSED, is
 * MHV_EUNSUPPORTED under it); the crop box in the resized image's pixels goes to box (x, y, w, h)
 * when non-NULL. MHV_EUSAGE when the result is not out_h x out_w (not the
 * size mhv_preprocess_size gives). `name` names the image in messages. */
mhv_status mhv_preprocess_run(const mhv_preprocess *p, const mhv_image *im, int out_h,
                              int out_w, float *out, int box[4], const char *name,
                              mhv_error *err);

/* box (x, y, w, h) of mhv_preprocess_run, in the resized image's pixels, carried back to
 * im's own pixels (scaled by im's size over the resized size; fractional). */
void mhv_preprocess_box_in_image(const mhv_preprocess *p, const mhv_image *im, const int box[4],
                                 double out[4]);

/* rgb(height, width, 3): the model's input px(channels, height, width) brought back to
 * 8-bit RGB (normalisation and rescaling undone, clamped): the picture the model saw, to
 * draw on. A model of one channel is shown grey; of more than three, by its first three. */
void mhv_preprocess_picture(const mhv_preprocess *p, const float *px, int channels, int height,
                            int width, uint8_t *rgb);

#endif
