#include "media/preprocess.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/json.h"
#include "media/npsum.h"

/* The image processor classes mhaviz knows, with transformers 5.25's class defaults for the
 * keys a preprocessor_config.json leaves out (its PIL backend, image_processing_pil_*.py;
 * the torchvision classes of image_processing_*.py declare the same defaults). */
typedef struct {
    const char *name;      /* without transformers' "Pil" or legacy "Fast" suffix */
    int resample;          /* PIL's code */
    int size_h, size_w;    /* resize to this ... */
    int shortest_edge;     /* ... or the short side to this (then size_h, size_w are 0) */
    int square;            /* default_to_square: `size` as a number is a square, else an edge */
    int do_center_crop, crop; /* a crop_size left out is crop x crop (0: none) */
    double mean[3], std[3];
    int do_convert_rgb;
    int float_resize;      /* rescale, then resize floats (mhv_preprocess.float_resize) */
    int owlv2;             /* rescale, pad square, resize as scikit-image (mhv_preprocess.owlv2) */
    int rescale_alias;     /* OWL's processors: a "rescale" key sets do_rescale */
    int naflex;            /* SigLIP 2's patch budget (mhv_preprocess.naflex_patch) */
    int smart;             /* Qwen2-VL's smart_resize (mhv_preprocess.smart_factor) */
} proc_class;

#define HALF {0.5, 0.5, 0.5}
#define CLIP_MEAN {0.48145466, 0.4578275, 0.40821073}
#define CLIP_STD {0.26862954, 0.26130258, 0.27577711}
#define IMAGENET_MEAN {0.485, 0.456, 0.406}
#define IMAGENET_STD {0.229, 0.224, 0.225}

static const proc_class proc_classes[] = {
    {"ViTImageProcessor", 2, 224, 224, 0, 1, 0, 0, HALF, HALF, 0, 0, 0, 0, 0, 0},
    {"DeiTImageProcessor", 3, 256, 256, 0, 1, 1, 224, HALF, HALF, 0, 0, 0, 0, 0, 0},
    {"BeitImageProcessor", 3, 224, 224, 0, 1, 0, 224, HALF, HALF, 0, 0, 0, 0, 0, 0},
    {"BitImageProcessor", 3, 0, 0, 224, 0, 1, 224, CLIP_MEAN, CLIP_STD, 1, 0, 0, 0, 0, 0},
    {"CLIPImageProcessor", 3, 0, 0, 224, 0, 1, 224, CLIP_MEAN, CLIP_STD, 1, 0, 0, 0, 0, 0},
    {"SiglipImageProcessor", 3, 224, 224, 0, 0, 0, 0, HALF, HALF, 1, 0, 0, 0, 0, 0},
    /* Gemma 3's (without pan and scan) */
    {"Gemma3ImageProcessor", 2, 224, 224, 0, 1, 0, 0, HALF, HALF, 1, 0, 0, 0, 0, 0},
    /* torchvision only (no Pillow backend): rescale -> resize (floats) -> normalize */
    {"DINOv3ViTImageProcessor", 2, 224, 224, 0, 1, 0, 0, IMAGENET_MEAN, IMAGENET_STD, 0, 1, 0, 0, 0, 0},
    {"OwlViTImageProcessor", 3, 768, 768, 0, 1, 0, 768, CLIP_MEAN, CLIP_STD, 1, 0, 0, 1, 0, 0},
    /* its own pipeline: rescale -> pad square -> scikit-image's resize -> normalize */
    {"Owlv2ImageProcessor", 2, 960, 960, 0, 1, 0, 0, CLIP_MEAN, CLIP_STD, 1, 0, 1, 1, 0, 0},
    /* its own sizes: the largest whole-patch image within max_num_patches */
    {"Siglip2ImageProcessor", 2, 0, 0, 0, 1, 0, 0, HALF, HALF, 0, 0, 0, 0, 1, 0},
    /* its own sizes: smart_resize within min_pixels and max_pixels */
    {"Qwen2VLImageProcessor", 3, 0, 0, 0, 0, 0, 0, CLIP_MEAN, CLIP_STD, 1, 0, 0, 0, 0, 1},
};

/* AutoImageProcessor's class for a file naming none, by config.json's model_type (the
 * model types of mhaviz's vision families that transformers maps to a processor). */
static const struct {
    const char *model_type, *proc;
} model_procs[] = {
    {"vit", "ViTImageProcessor"},      {"vit_msn", "ViTImageProcessor"},
    {"ijepa", "ViTImageProcessor"},    {"deit", "DeiTImageProcessor"},
    {"dinov2", "BitImageProcessor"},   {"beit", "BeitImageProcessor"},
    {"data2vec-vision", "BeitImageProcessor"}, {"clip", "CLIPImageProcessor"},
    {"siglip", "SiglipImageProcessor"}, {"dinov3_vit", "DINOv3ViTImageProcessor"},
    {"aimv2", "CLIPImageProcessor"}, {"aimv2_vision_model", "CLIPImageProcessor"},
    {"owlvit", "OwlViTImageProcessor"}, {"owlv2", "Owlv2ImageProcessor"},
    {"siglip2", "Siglip2ImageProcessor"}, {"qwen2_vl", "Qwen2VLImageProcessor"},
    {"qwen2_5_vl", "Qwen2VLImageProcessor"}, {"swin", "ViTImageProcessor"},
    {"swinv2", "ViTImageProcessor"}, {"gemma3", "Gemma3ImageProcessor"},
    {"paligemma", "SiglipImageProcessor"},
};

/* The class named `type` as AutoImageProcessor reads the name: as given, or with the
 * backend suffix "Pil" or the legacy "Fast". NULL when mhaviz does not know it. */
static const proc_class *find_class(const char *type)
{
    size_t n = strlen(type);
    for (size_t i = 0; i < sizeof proc_classes / sizeof proc_classes[0]; i++) {
        size_t k = strlen(proc_classes[i].name);
        if (n >= k && strncmp(type, proc_classes[i].name, k) == 0 &&
            (type[k] == 0 || strcmp(type + k, "Pil") == 0 || strcmp(type + k, "Fast") == 0))
            return &proc_classes[i];
    }
    return NULL;
}

/* The processor class of preprocessor_config.json `root` in dir, as AutoImageProcessor
 * chooses it: image_processor_type, else feature_extractor_type with "FeatureExtractor"
 * read as "ImageProcessor", else by config.json's model_type; ViTImageProcessor when the
 * directory has no config.json either (mhaviz's choice: transformers refuses). */
static mhv_status find_proc_class(const cJSON *root, const char *dir, const char *path,
                                  const proc_class **out, mhv_error *err)
{
    const char *type = "", *fe = "";
    char name[256];
    mhv_status st;
    if ((st = mhv_json_str(root, "image_processor_type", "", &type, path, err)) ||
        (st = mhv_json_str(root, "feature_extractor_type", "", &fe, path, err)))
        return st;
    if (!type[0] && fe[0]) {
        const char *at = strstr(fe, "FeatureExtractor");
        if (at)
            snprintf(name, sizeof name, "%.*sImageProcessor%s", (int)(at - fe), fe,
                     at + strlen("FeatureExtractor"));
        else
            snprintf(name, sizeof name, "%s", fe);
        type = name;
    }
    if (!type[0]) {
        char cpath[4200];
        snprintf(cpath, sizeof cpath, "%s/config.json", dir);
        *out = &proc_classes[0];
        if (!mhv_path_exists(cpath))
            return MHV_OK;
        cJSON *cfg;
        const char *mt = "";
        if ((st = mhv_json_load(cpath, 64u << 20, &cfg, err)))
            return st;
        st = mhv_json_str(cfg, "model_type", "", &mt, cpath, err);
        for (size_t i = 0; !st && i < sizeof model_procs / sizeof model_procs[0]; i++)
            if (strcmp(mt, model_procs[i].model_type) == 0) {
                *out = find_class(model_procs[i].proc);
                cJSON_Delete(cfg);
                return MHV_OK;
            }
        if (!st)
            st = mhv_fail(err, MHV_EUNSUPPORTED, path,
                          "no image_processor_type, and transformers has no image processor for "
                          "model_type '%s'", mt);
        cJSON_Delete(cfg);
        return st;
    }
    if (!(*out = find_class(type)))
        return mhv_fail(err, MHV_EUNSUPPORTED, path,
                        "image processor '%s' is not supported (ViT, DeiT, BEiT, BiT, CLIP, "
                        "SigLIP, SigLIP 2, DINOv3, OWL-ViT, OWLv2, Qwen2-VL and Gemma 3 image "
                        "processors are)", type);
    return MHV_OK;
}

/* A {"height", "width"} object or, as transformers' get_size_dict takes it, a number: a
 * square when `square`, else the shortest edge (*edge). */
static mhv_status size_hw(const cJSON *v, const char *key, int square, int *h, int *w,
                          int *edge, const char *path, mhv_error *err)
{
    mhv_status st;
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!(d >= 1 && d <= MHV_IMAGE_MAX_SIDE) || d != (int)d)
            return mhv_fail(err, MHV_EFORMAT, path, "field '%s' is not a size in pixels", key);
        if (square)
            *h = *w = (int)d;
        else
            *edge = (int)d;
        return MHV_OK;
    }
    if (!cJSON_IsObject(v))
        return mhv_fail(err, MHV_EFORMAT, path, "field '%s' is not a size", key);
    const char *bad[] = {"longest_edge", "max_height", "max_width"};
    for (int i = 0; i < 3; i++)
        if (mhv_json_get(v, bad[i]))
            return mhv_fail(err, MHV_EUNSUPPORTED, path, "%s with '%s' is not supported", key,
                            bad[i]);
    if (edge && mhv_json_get(v, "shortest_edge"))
        return mhv_json_int(v, "shortest_edge", -1, 1, MHV_IMAGE_MAX_SIDE, edge, path, err);
    if ((st = mhv_json_int(v, "height", -1, 1, MHV_IMAGE_MAX_SIDE, h, path, err)))
        return st;
    return mhv_json_int(v, "width", -1, 1, MHV_IMAGE_MAX_SIDE, w, path, err);
}

/* Qwen2VLImageProcessor's sizes: size {shortest_edge: min_pixels, longest_edge:
 * max_pixels} (defaults 56 * 56 and 28 * 28 * 1280), min_pixels and max_pixels keys in
 * their place (its __init__'s backward compatibility), patch_size, merge_size,
 * temporal_patch_size; no crop. */
static mhv_status smart_settings(const cJSON *root, mhv_preprocess *p, const char *path,
                                 mhv_error *err)
{
    const cJSON *size = mhv_json_get(root, "size");
    double lo = 56 * 56, hi = 28 * 28 * 1280;
    mhv_status st;
    if (size && !cJSON_IsObject(size))
        return mhv_fail(err, MHV_EFORMAT, path, "field 'size' is not an object");
    if ((size && ((st = mhv_json_num(size, "shortest_edge", lo, 0, 1e12, &lo, path, err)) ||
                  (st = mhv_json_num(size, "longest_edge", hi, 0, 1e12, &hi, path, err)))) ||
        (st = mhv_json_num(root, "min_pixels", lo, 0, 1e12, &lo, path, err)) ||
        (st = mhv_json_num(root, "max_pixels", hi, 0, 1e12, &hi, path, err)) ||
        (st = mhv_json_int(root, "patch_size", 14, 1, 4096, &p->smart_patch, path, err)) ||
        (st = mhv_json_int(root, "merge_size", 2, 1, 64, &p->smart_merge, path, err)) ||
        (st = mhv_json_int(root, "temporal_patch_size", 2, 1, 64, &p->smart_temporal, path,
                           err)))
        return st;
    if (lo != floor(lo) || hi != floor(hi))
        return mhv_fail(err, MHV_EFORMAT, path, "min_pixels and max_pixels are not whole");
    p->min_pixels = (long)lo, p->max_pixels = (long)hi;
    p->smart_factor = p->smart_patch * p->smart_merge;
    p->do_center_crop = 0;
    if (!p->do_resize)
        return mhv_fail(err, MHV_EUNSUPPORTED, path,
                        "do_resize false is not supported for Qwen2VLImageProcessor (the sides "
                        "must be whole merged patches)");
    return MHV_OK;
}

/* transformers' smart_resize (in double, as Python; round() to even): sides in whole
 * factors, the area within [lo, hi], the aspect kept as closely as may be. */
static void smart_size(int w, int h, int factor, long lo, long hi, int *nw, int *nh)
{
    double f = factor;
    double hb = nearbyint(h / f) * f, wb = nearbyint(w / f) * f;
    if (hb * wb > (double)hi) {
        double beta = sqrt((double)h * w / (double)hi);
        hb = fmax(f, floor(h / beta / f) * f);
        wb = fmax(f, floor(w / beta / f) * f);
    } else if (hb * wb < (double)lo) {
        double beta = sqrt((double)lo / ((double)h * w));
        hb = ceil(h * beta / f) * f;
        wb = ceil(w * beta / f) * f;
    }
    *nh = hb > MHV_IMAGE_MAX_SIDE * 2.0 ? MHV_IMAGE_MAX_SIDE * 2 : (int)hb;
    *nw = wb > MHV_IMAGE_MAX_SIDE * 2.0 ? MHV_IMAGE_MAX_SIDE * 2 : (int)wb;
}

mhv_status mhv_preprocess_load(const char *dir, int image_size, mhv_preprocess *p,
                               mhv_error *err)
{
    *p = (mhv_preprocess){.do_resize = 1, .resample = 2, .size_h = image_size,
                          .size_w = image_size, .do_rescale = 1, .rescale_factor = 1.0 / 255,
                          .do_normalize = 1, .mean = {0.5, 0.5, 0.5}, .std = {0.5, 0.5, 0.5}};
    char path[4200];
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    /* without it, a processor's own file (LlavaProcessor.save_pretrained) may hold the image
     * processor's settings under "image_processor" */
    int in_processor = !mhv_path_exists(path);
    if (in_processor)
        snprintf(path, sizeof path, "%s/processor_config.json", dir);
    if (!mhv_path_exists(path))
        return MHV_OK;
    cJSON *file_root;
    mhv_status st = mhv_json_load(path, 1u << 20, &file_root, err);
    if (st)
        return st;
    cJSON *root = file_root;
    if (in_processor) {
        root = cJSON_GetObjectItemCaseSensitive(file_root, "image_processor");
        if (!cJSON_IsObject(root)) { /* none there: the defaults, as without a file */
            cJSON_Delete(file_root);
            return MHV_OK;
        }
    }
    const proc_class *pc;
    if ((st = find_proc_class(root, dir, path, &pc, err)))
        goto out;
    p->size_h = pc->size_h, p->size_w = pc->size_w, p->shortest_edge = pc->shortest_edge;
    memcpy(p->mean, pc->mean, sizeof p->mean);
    memcpy(p->std, pc->std, sizeof p->std);
    const cJSON *size = mhv_json_get(root, "size"), *crop = mhv_json_get(root, "crop_size");
    int square_clip = 0;
    if ((st = mhv_json_bool(root, "do_resize", 1, &p->do_resize, path, err)) ||
        (st = mhv_json_int(root, "resample", pc->resample, 0, 5, &p->resample, path, err)) ||
        (st = mhv_json_bool(root, "do_center_crop", pc->do_center_crop, &p->do_center_crop,
                            path, err)) ||
        (st = mhv_json_bool(root, "do_rescale", 1, &p->do_rescale, path, err)) ||
        (st = mhv_json_num(root, "rescale_factor", 1.0 / 255, 0, 1e6, &p->rescale_factor, path,
                           err)) ||
        (st = mhv_json_bool(root, "do_normalize", 1, &p->do_normalize, path, err)) ||
        (st = mhv_json_bool(root, "do_convert_rgb", pc->do_convert_rgb, &p->do_convert_rgb,
                            path, err)))
        goto out;
    if (pc->rescale_alias && mhv_json_get(root, "rescale") && /* OWL's __init__ alias */
        (st = mhv_json_bool(root, "rescale", 1, &p->do_rescale, path, err)))
        goto out;
    if (strcmp(pc->name, "CLIPImageProcessor") == 0 &&
        (st = mhv_json_bool(root, "use_square_size", 0, &square_clip, path, err)))
        goto out;
    if (strcmp(pc->name, "Gemma3ImageProcessor") == 0) { /* null in its files: off */
        const cJSON *pas = mhv_json_get(root, "do_pan_and_scan");
        if (pas && !cJSON_IsNull(pas) && !cJSON_IsFalse(pas)) {
            st = mhv_fail(err, MHV_EUNSUPPORTED, path, "do_pan_and_scan is not supported for "
                          "%s (its crops add images to the prompt)", pc->name);
            goto out;
        }
    }
    p->float_resize = pc->float_resize;
    if (p->float_resize && p->resample == 0) { /* torchvision's nearest is not PIL's */
        st = mhv_fail(err, MHV_EUNSUPPORTED, path,
                      "resample 0 (nearest) is not supported for %s", pc->name);
        goto out;
    }
    if (p->float_resize && p->do_resize && !p->do_rescale) { /* it would resize 8-bit pixels */
        st = mhv_fail(err, MHV_EUNSUPPORTED, path,
                      "do_resize without do_rescale is not supported for %s", pc->name);
        goto out;
    }
    p->owlv2 = pc->owlv2;
    if (p->owlv2) { /* its _preprocess: no crop; resample only says whether to blur */
        p->do_center_crop = 0;
        if ((st = mhv_json_bool(root, "do_pad", 1, &p->pad_square, path, err)))
            goto out;
        if (size && !(cJSON_IsNumber(size) || (mhv_json_get(size, "height") &&
                                               mhv_json_get(size, "width")))) {
            st = mhv_fail(err, MHV_EUNSUPPORTED, path,
                          "size without height and width is not supported for %s", pc->name);
            goto out;
        }
    }
    if (pc->naflex) { /* its _preprocess: no crop, its own size, always resized */
        p->do_center_crop = 0;
        if ((st = mhv_json_int(root, "patch_size", 16, 1, 4096, &p->naflex_patch, path, err)) ||
            (st = mhv_json_int(root, "max_num_patches", 256, 1, 1 << 20, &p->max_num_patches,
                               path, err)))
            goto out;
        if (!p->do_resize) {
            st = mhv_fail(err, MHV_EUNSUPPORTED, path,
                          "do_resize false is not supported for %s (it cuts the image as it is "
                          "into patches)", pc->name);
            goto out;
        }
    }
    if (pc->smart && (st = smart_settings(root, p, path, err)))
        goto out;
    if (!p->owlv2 && p->resample != 0 && p->resample != 2 && p->resample != 3) {
        st = mhv_fail(err, MHV_EUNSUPPORTED, path,
                      "resample %d is not supported (0 nearest, 2 bilinear, 3 bicubic)", p->resample);
        goto out;
    }
    if (square_clip) { /* CLIPImageProcessor's KOSMOS-2 form: its default edge, square */
        p->size_h = p->size_w = pc->shortest_edge, p->shortest_edge = 0;
    } else if (size && !pc->naflex && !pc->smart) {
        if (cJSON_IsObject(size) && mhv_json_get(size, "shortest_edge") &&
            (mhv_json_get(size, "longest_edge") || mhv_json_get(size, "max_height") ||
             mhv_json_get(size, "max_width"))) {
            st = mhv_fail(err, MHV_EUNSUPPORTED, path, "size with 'shortest_edge' and a "
                          "longest edge or maximum is not supported");
            goto out;
        }
        p->size_h = p->size_w = p->shortest_edge = 0;
        if ((st = size_hw(size, "size", pc->square, &p->size_h, &p->size_w, &p->shortest_edge,
                          path, err)))
            goto out;
    }
    if (p->do_center_crop) {
        if (crop)
            st = size_hw(crop, "crop_size", 1, &p->crop_h, &p->crop_w, NULL, path, err);
        else if (pc->crop)
            p->crop_h = p->crop_w = pc->crop;
        else
            st = mhv_fail(err, MHV_EFORMAT, path, "do_center_crop without crop_size");
        if (st)
            goto out;
    }
    const char *keys[2] = {"image_mean", "image_std"};
    double *dst[2] = {p->mean, p->std};
    for (int k = 0; k < 2; k++) {
        const cJSON *a = mhv_json_get(root, keys[k]);
        if (!a)
            continue;
        int one = cJSON_IsNumber(a); /* transformers: one number for every channel */
        if (!one && (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 3)) {
            st = mhv_fail(err, MHV_EFORMAT, path, "field '%s' is not a list of 3 numbers", keys[k]);
            goto out;
        }
        for (int c = 0; c < 3; c++) {
            const cJSON *v = one ? a : cJSON_GetArrayItem(a, c);
            if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || (k && v->valuedouble == 0)) {
                st = mhv_fail(err, MHV_EFORMAT, path, "field '%s' holds a bad number", keys[k]);
                goto out;
            }
            dst[k][c] = v->valuedouble;
        }
    }
out:
    cJSON_Delete(file_root);
    return st;
}

/* ---- PIL's resampling (Resample.c): per output pixel, a filter whose support grows with
 * the shrink factor (antialiasing), normalised weights in 22-bit fixed point, 8-bit
 * results rounded and clipped after each pass ---- */

static double f_bilinear(double x)
{
    x = fabs(x);
    return x < 1 ? 1 - x : 0;
}

static double f_bicubic(double x)
{
    const double a = -0.5;
    x = fabs(x);
    if (x < 1)
        return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2)
        return (((x - 5) * x + 8) * x - 4) * a;
    return 0;
}

#define PRECISION_BITS (32 - 8 - 2)

typedef struct {
    int *start, *count;   /* (out,) first input pixel and how many */
    int32_t *k;           /* (out, ksize) fixed-point weights */
    int ksize;
} coeffs;

static int make_coeffs(int in, int out, int resample, coeffs *c)
{
    double (*f)(double) = resample == 3 ? f_bicubic : f_bilinear;
    double support = resample == 3 ? 2 : 1, scale = (double)in / out;
    double filterscale = scale < 1 ? 1 : scale;
    support *= filterscale;
    c->ksize = (int)ceil(support) * 2 + 1;
    c->start = malloc((size_t)out * sizeof *c->start);
    c->count = malloc((size_t)out * sizeof *c->count);
    c->k = calloc((size_t)out * (size_t)c->ksize, sizeof *c->k);
    double *w = malloc((size_t)c->ksize * sizeof *w);
    if (!c->start || !c->count || !c->k || !w) {
        free(w);
        return -1;
    }
    for (int o = 0; o < out; o++) {
        double center = (o + 0.5) * scale, ss = 1.0 / filterscale, sum = 0;
        int xmin = (int)(center - support + 0.5), xmax;
        if (xmin < 0)
            xmin = 0;
        xmax = (int)(center + support + 0.5);
        if (xmax > in)
            xmax = in;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            w[x] = f((x + xmin - center + 0.5) * ss);
            sum += w[x];
        }
        for (int x = 0; x < xmax; x++) {
            double v = sum != 0 ? w[x] / sum : 0;
            c->k[(size_t)o * c->ksize + x] =
                (int32_t)(v < 0 ? v * (1 << PRECISION_BITS) - 0.5 : v * (1 << PRECISION_BITS) + 0.5);
        }
        c->start[o] = xmin;
        c->count[o] = xmax;
    }
    free(w);
    return 0;
}

static void free_coeffs(coeffs *c)
{
    free(c->start), free(c->count), free(c->k);
}

static uint8_t clip8(int64_t v)
{
    v >>= PRECISION_BITS;
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

/* dst(h, out_w, 3) = src(h, w, 3) resampled along rows. */
static void pass_h(const uint8_t *src, int w, int h, uint8_t *dst, int out_w, const coeffs *c)
{
    for (int y = 0; y < h; y++)
        for (int o = 0; o < out_w; o++)
            for (int ch = 0; ch < 3; ch++) {
                int64_t ss = 1 << (PRECISION_BITS - 1);
                const int32_t *k = c->k + (size_t)o * c->ksize;
                for (int x = 0; x < c->count[o]; x++)
                    ss += (int64_t)src[((size_t)y * w + (size_t)(c->start[o] + x)) * 3 + ch] * k[x];
                dst[((size_t)y * out_w + o) * 3 + ch] = clip8(ss);
            }
}

/* dst(out_h, w, 3) = src(h, w, 3) resampled along columns. */
static void pass_v(const uint8_t *src, int w, uint8_t *dst, int out_h, const coeffs *c)
{
    for (int o = 0; o < out_h; o++)
        for (int x = 0; x < w; x++)
            for (int ch = 0; ch < 3; ch++) {
                int64_t ss = 1 << (PRECISION_BITS - 1);
                const int32_t *k = c->k + (size_t)o * c->ksize;
                for (int y = 0; y < c->count[o]; y++)
                    ss += (int64_t)src[((size_t)(c->start[o] + y) * w + (size_t)x) * 3 + ch] * k[y];
                dst[((size_t)o * w + x) * 3 + ch] = clip8(ss);
            }
}

/* PIL's nearest neighbour: source pixel floor((o + 0.5) * in / out). */
static void nearest(const mhv_image *im, uint8_t *dst, int ow, int oh)
{
    for (int y = 0; y < oh; y++) {
        int sy = (int)((y + 0.5) * im->height / oh);
        for (int x = 0; x < ow; x++) {
            int sx = (int)((x + 0.5) * im->width / ow);
            memcpy(dst + ((size_t)y * ow + x) * 3, im->rgb + ((size_t)sy * im->width + sx) * 3, 3);
        }
    }
}

/* im resized to ow x oh into *out (malloc'ed). */
static int resize(const mhv_image *im, int ow, int oh, int resample, uint8_t **out)
{
    *out = malloc((size_t)ow * oh * 3);
    if (!*out)
        return -1;
    if (resample == 0) {
        nearest(im, *out, ow, oh);
        return 0;
    }
    int w = im->width, h = im->height;
    const uint8_t *src = im->rgb;
    uint8_t *mid = NULL;
    coeffs ch = {0}, cv = {0};
    int rc = -1;
    if (ow != w) { /* PIL resamples horizontally first, then vertically */
        if (make_coeffs(w, ow, resample, &ch) || !(mid = malloc((size_t)ow * h * 3)))
            goto done;
        pass_h(src, w, h, mid, ow, &ch);
        src = mid, w = ow;
    }
    if (oh != h) {
        if (make_coeffs(h, oh, resample, &cv))
            goto done;
        pass_v(src, w, *out, oh, &cv);
    } else {
        memcpy(*out, src, (size_t)ow * oh * 3);
    }
    rc = 0;
done:
    free(mid);
    free_coeffs(&ch), free_coeffs(&cv);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- torch's antialiased resize of floats (F.interpolate, antialias=True,
 * align_corners=False), as transformers' torchvision processors resize after rescaling:
 * PIL's filters (the triangle, Keys' cubic with a = -0.5) stretched by the shrink factor,
 * over the inputs within reach of the centre, weights normalised to sum 1; in double (torch:
 * float), along the columns, then the rows ---- */

typedef struct {
    int *start, *count;   /* (out,) first input and how many */
    double *w;            /* (out, k) */
    int k;
} ftaps;

static int float_taps(int in, int out, int resample, ftaps *t)
{
    double (*f)(double) = resample == 3 ? f_bicubic : f_bilinear;
    double scale = (double)in / out, support = (resample == 3 ? 2 : 1) * (scale >= 1 ? scale : 1);
    double inv = scale >= 1 ? 1 / scale : 1;
    t->k = (int)ceil(support) * 2 + 1;
    t->start = malloc((size_t)out * sizeof *t->start);
    t->count = malloc((size_t)out * sizeof *t->count);
    t->w = calloc((size_t)out * (size_t)t->k, sizeof *t->w);
    if (!t->start || !t->count || !t->w)
        return -1;
    for (int o = 0; o < out; o++) {
        double centre = scale * (o + 0.5), sum = 0, *w = t->w + (size_t)o * (size_t)t->k;
        long lo = (long)(centre - support + 0.5), hi = (long)(centre + support + 0.5);
        lo = lo < 0 ? 0 : lo;
        hi = hi > in ? in : hi;
        int count = (int)(hi - lo) < t->k ? (int)(hi - lo) : t->k;
        for (int j = 0; j < count; j++)
            sum += w[j] = f(((double)j + (double)lo - centre + 0.5) * inv);
        for (int j = 0; j < count; j++)
            w[j] = sum != 0 ? w[j] / sum : 0;
        t->start[o] = (int)lo, t->count[o] = count;
    }
    return 0;
}

static void free_ftaps(ftaps *t)
{
    free(t->start), free(t->count), free(t->w);
}

/* dst(oh, ow, 3) = src(h, w, 3) resized; 1 when out of memory. */
static int float_resize(const float *src, int w, int h, float *dst, int ow, int oh, int resample)
{
    ftaps tx = {0}, ty = {0};
    double *mid = malloc((size_t)h * (size_t)ow * 3 * sizeof *mid); /* (h, ow, 3) */
    int rc = 1;
    if (!mid || float_taps(w, ow, resample, &tx) || float_taps(h, oh, resample, &ty))
        goto done;
    for (int y = 0; y < h; y++)
        for (int o = 0; o < ow; o++)
            for (int c = 0; c < 3; c++) {
                double acc = 0;
                const double *k = tx.w + (size_t)o * (size_t)tx.k;
                for (int j = 0; j < tx.count[o]; j++)
                    acc += k[j] * src[((size_t)y * (size_t)w + (size_t)(tx.start[o] + j)) * 3 + (size_t)c];
                mid[((size_t)y * (size_t)ow + (size_t)o) * 3 + (size_t)c] = acc;
            }
    for (int o = 0; o < oh; o++)
        for (int x = 0; x < ow; x++)
            for (int c = 0; c < 3; c++) {
                double acc = 0;
                const double *k = ty.w + (size_t)o * (size_t)ty.k;
                for (int j = 0; j < ty.count[o]; j++)
                    acc += k[j] * mid[((size_t)(ty.start[o] + j) * (size_t)ow + (size_t)x) * 3 + (size_t)c];
                dst[((size_t)o * (size_t)ow + (size_t)x) * 3 + (size_t)c] = (float)acc;
            }
    rc = 0;
done:
    free(mid);
    free_ftaps(&tx), free_ftaps(&ty);
    return rc;
}

/* *out (h, w, 3): im's pixels rescaled as torch multiplies 8-bit pixels by a Python float
 * (both in fp32), resized to ow x oh when that differs (malloc'd); 1 when out of memory. */
static int float_pixels(const mhv_preprocess *p, const mhv_image *im, int ow, int oh,
                        float **out)
{
    size_t n = (size_t)im->width * (size_t)im->height * 3;
    float *src = malloc(n * sizeof *src), f = (float)p->rescale_factor;
    if (!src)
        return 1;
    for (size_t i = 0; i < n; i++)
        src[i] = p->do_rescale ? (float)im->rgb[i] * f : (float)im->rgb[i];
    if (ow == im->width && oh == im->height) {
        *out = src;
        return 0;
    }
    *out = malloc((size_t)ow * (size_t)oh * 3 * sizeof **out);
    int rc = !*out || float_resize(src, im->width, im->height, *out, ow, oh, p->resample);
    free(src);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- OWLv2's resize (scikit-image's, as Owlv2ImageProcessor copies it): scipy.ndimage's
 * gaussian_filter (mode mirror, truncate 4) along each shrinking axis, then its zoom (order 1,
 * mode mirror, grid_mode), each pass rounded to fp32 as scipy stores it, then clipped to the
 * input's range ---- */

/* i mirrored into 0..n-1 (scipy's mirror: d c b | a b c d | c b a) */
static int mirror(long i, int n)
{
    if (n <= 1)
        return 0;
    long period = 2L * (n - 1);
    i = i < 0 ? -i : i;
    i %= period;
    return (int)(i >= n ? period - i : i);
}

/* x(h, w, 3) blurred in place along rows (axis 0) or columns (axis 1) with scipy's
 * gaussian_filter1d of sigma; 1 when out of memory. */
static int gauss_axis(float *x, int h, int w, int axis, double sigma)
{
    int r = (int)(4.0 * sigma + 0.5), n = axis ? w : h, other = axis ? h : w;
    double *k = malloc((size_t)(2 * r + 1) * sizeof *k), *line = malloc((size_t)n * sizeof *line);
    if (!k || !line) {
        free(k), free(line);
        return 1;
    }
    double a = -0.5 / (sigma * sigma);
    for (int j = -r; j <= r; j++)
        k[j + r] = exp(a * (double)(j * j));
    double sum = mhv_np_sum_f64(k, (size_t)(2 * r + 1));
    for (int j = 0; j <= 2 * r; j++)
        k[j] /= sum;
    const double *c = k + r; /* c[-r .. r] */
    for (int o = 0; o < other; o++)
        for (int ch = 0; ch < 3; ch++) {
            size_t step = axis ? 3 : (size_t)w * 3, base = axis ? (size_t)o * (size_t)w * 3
                                                              : (size_t)o * 3;
            for (int i = 0; i < n; i++)
                line[i] = x[base + (size_t)i * step + (size_t)ch];
            for (int i = 0; i < n; i++) { /* scipy's symmetric loop: the outer pairs first */
                double t = line[i] * c[0];
                for (int j = -r; j < 0; j++)
                    t += (line[mirror(i + j, n)] + line[mirror(i - j, n)]) * c[j];
                x[base + (size_t)i * step + (size_t)ch] = (float)t;
            }
        }
    free(k), free(line);
    return 0;
}

/* One axis of scipy's zoom (order 1, grid_mode, mirror): output o reads i0 and i1 with
 * weights w0, w1. */
static void zoom_taps(int in, int out, int *i0, int *i1, double *w0, double *w1)
{
    double zoom = (double)in / (double)out;
    for (int o = 0; o < out; o++) {
        double cc = ((double)o + 0.5) * zoom - 0.5;
        if (in > 1 && cc < 0) { /* scipy's map_coordinate, mirror */
            double sz2 = 2.0 * in - 2;
            cc = sz2 * (double)(long)(-cc / sz2) + cc;
            cc = cc <= 1 - in ? cc + sz2 : -cc;
        } else if (in > 1 && cc > in - 1) {
            double sz2 = 2.0 * in - 2;
            cc -= sz2 * (double)(long)(cc / sz2);
            if (cc >= in)
                cc = sz2 - cc;
        } else if (in <= 1) {
            cc = 0;
        }
        long start = (long)floor(cc);
        double f = cc - (double)start;
        i0[o] = mirror(start, in), i1[o] = mirror(start + 1, in);
        w0[o] = 1.0 - f, w1[o] = f;
    }
}

/* *out (oh, ow, 3): OWLv2's pixels of im: rescaled, padded, resized and clipped (malloc'd);
 * 1 when out of memory. */
static int owlv2_pixels(const mhv_preprocess *p, const mhv_image *im, int ow, int oh,
                        float **out)
{
    int w = im->width, h = im->height, S = w > h ? w : h;
    int pw = p->pad_square ? S : w, ph = p->pad_square ? S : h;
    float *x = calloc((size_t)pw * (size_t)ph * 3, sizeof *x); /* (ph, pw, 3) */
    if (!x)
        return 1;
    for (int y = 0; y < h; y++)
        for (int i = 0; i < w * 3; i++) {
            double v = im->rgb[((size_t)y * (size_t)w) * 3 + (size_t)i];
            x[(size_t)y * (size_t)pw * 3 + (size_t)i] =
                p->do_rescale ? (float)(v * p->rescale_factor) : (float)v;
        }
    if (!p->do_resize) {
        *out = x;
        return 0;
    }
    size_t n = (size_t)pw * (size_t)ph * 3;
    float lo = x[0], hi = x[0];
    for (size_t i = 1; i < n; i++)
        lo = x[i] < lo ? x[i] : lo, hi = x[i] > hi ? x[i] : hi;
    /* sigma = max(0, (in / out - 1) / 2) per axis; transformers hands resample over as
     * anti_aliasing, so resample 0 blurs nothing */
    double sy = ((double)ph / oh - 1) / 2, sx = ((double)pw / ow - 1) / 2;
    if ((p->resample && sy > 1e-15 && gauss_axis(x, ph, pw, 0, sy)) ||
        (p->resample && sx > 1e-15 && gauss_axis(x, ph, pw, 1, sx))) {
        free(x);
        return 1;
    }
    int *yi0 = malloc((size_t)oh * 2 * sizeof *yi0), *xi0 = malloc((size_t)ow * 2 * sizeof *xi0);
    double *yw = malloc((size_t)oh * 2 * sizeof *yw), *xw = malloc((size_t)ow * 2 * sizeof *xw);
    *out = malloc((size_t)ow * (size_t)oh * 3 * sizeof **out);
    if (!yi0 || !xi0 || !yw || !xw || !*out) {
        free(x), free(yi0), free(xi0), free(yw), free(xw), free(*out);
        *out = NULL;
        return 1;
    }
    int *yi1 = yi0 + oh, *xi1 = xi0 + ow;
    double *yw1 = yw + oh, *xw1 = xw + ow;
    zoom_taps(ph, oh, yi0, yi1, yw, yw1);
    zoom_taps(pw, ow, xi0, xi1, xw, xw1);
    for (int y = 0; y < oh; y++)
        for (int i = 0; i < ow; i++)
            for (int ch = 0; ch < 3; ch++) {
                const int rows[2] = {yi0[y], yi1[y]}, cols[2] = {xi0[i], xi1[i]};
                const double wr[2] = {yw[y], yw1[y]}, wc[2] = {xw[i], xw1[i]};
                double t = 0;
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++)
                        t += (double)x[((size_t)rows[a] * (size_t)pw + (size_t)cols[b]) * 3 +
                                       (size_t)ch] * wr[a] * wc[b];
                float v = (float)t;
                (*out)[((size_t)y * (size_t)ow + (size_t)i) * 3 + (size_t)ch] =
                    v < lo ? lo : v > hi ? hi : v; /* np.clip to the input's range */
            }
    free(x), free(yi0), free(xi0), free(yw), free(xw);
    return 0;
}

/* transformers' get_image_size_for_max_num_patches: a binary search over the scale (in
 * double, as Python's floats) for the largest h x w, each rounded up to whole patches, whose
 * patch count stays within the budget. */
static int naflex_side(double scale, int size, int P)
{
    double s = size * scale;
    s = ceil(s / P) * P;
    return s < P ? P : s > MHV_IMAGE_MAX_SIDE * 2.0 ? MHV_IMAGE_MAX_SIDE * 2 : (int)s;
}

static void naflex_size(int w, int h, int P, int most, int *nw, int *nh)
{
    const double eps = 1e-5;
    double lo = eps / 10, hi = 100.0;
    while (hi - lo >= eps) {
        double scale = (lo + hi) / 2;
        double count = ((double)naflex_side(scale, h, P) / P) * ((double)naflex_side(scale, w, P) / P);
        if (count <= most)
            lo = scale;
        else
            hi = scale;
    }
    *nh = naflex_side(lo, h, P), *nw = naflex_side(lo, w, P);
}

/* The size the resize gives an image of w x h (w, h themselves without a resize). */
static void resized_size(const mhv_preprocess *p, int w, int h, int *nw, int *nh)
{
    *nw = w, *nh = h;
    if (p->naflex_patch && p->do_resize) {
        naflex_size(w, h, p->naflex_patch, p->max_num_patches, nw, nh);
        return;
    }
    if (p->smart_factor) {
        smart_size(w, h, p->smart_factor, p->min_pixels, p->max_pixels, nw, nh);
        return;
    }
    if (p->owlv2 && p->pad_square) /* padded to a square first */
        *nw = *nh = w > h ? w : h;
    if (!p->do_resize)
        return;
    *nw = p->size_w, *nh = p->size_h;
    if (p->shortest_edge) { /* transformers' get_resize_output_image_size */
        int s = p->shortest_edge;
        if (w <= h)
            *nw = s, *nh = (int)((double)s * h / w);
        else
            *nh = s, *nw = (int)((double)s * w / h);
    }
}

void mhv_preprocess_box_in_image(const mhv_preprocess *p, const mhv_image *im, const int box[4],
                                 double out[4])
{
    int nw, nh;
    resized_size(p, im->width, im->height, &nw, &nh);
    int pw = im->width, ph = im->height; /* OWLv2 resizes the padded square */
    if (p->owlv2 && p->pad_square)
        pw = ph = pw > ph ? pw : ph;
    double sx = nw > 0 ? (double)pw / nw : 1, sy = nh > 0 ? (double)ph / nh : 1;
    out[0] = box[0] * sx, out[1] = box[1] * sy, out[2] = box[2] * sx, out[3] = box[3] * sy;
}

mhv_status mhv_preprocess_size(const mhv_preprocess *p, int w, int h, int *out_w, int *out_h,
                               const char *name, mhv_error *err)
{
    int nw, nh;
    if (p->smart_factor && (w > 200.0 * h || h > 200.0 * w)) /* smart_resize's ValueError */
        return mhv_fail(err, MHV_EUSAGE, name, "an aspect ratio above 200 (%dx%d pixels) is "
                        "refused by Qwen2VLImageProcessor", w, h);
    resized_size(p, w, h, &nw, &nh);
    *out_w = nw, *out_h = nh;
    if (nw < 1 || nh < 1 || nw > MHV_IMAGE_MAX_SIDE || nh > MHV_IMAGE_MAX_SIDE)
        return mhv_fail(err, MHV_EUSAGE, name, "cannot resize to %dx%d", nw, nh);
    if (p->do_center_crop) {
        if (p->crop_h > nh || p->crop_w > nw)
            return mhv_fail(err, MHV_EUSAGE, name, "a %dx%d crop does not fit in %dx%d pixels",
                            p->crop_w, p->crop_h, nw, nh);
        *out_w = p->crop_w, *out_h = p->crop_h;
    }
    return MHV_OK;
}

/* transformers' convert_to_rgb of a PIL image with a transparent colour: RGBA with alpha 0
 * on that colour and 255 elsewhere, composited onto white, so exactly white and unchanged
 * pixels. A copy of im's pixels into *out (malloc'd); 1 when out of memory. */
static int white_key(const mhv_image *im, uint8_t **out)
{
    size_t n = (size_t)im->width * (size_t)im->height;
    uint8_t *px = malloc(n * 3);
    if (!px)
        return 1;
    memcpy(px, im->rgb, n * 3);
    for (size_t i = 0; i < n; i++)
        if (memcmp(px + 3 * i, im->key, 3) == 0)
            memset(px + 3 * i, 255, 3);
    *out = px;
    return 0;
}

mhv_status mhv_preprocess_run(const mhv_preprocess *p, const mhv_image *im, int out_h,
                              int out_w, float *out, int box[4], const char *name,
                              mhv_error *err)
{
    int w = im->width, h = im->height;
    uint8_t *buf = NULL, *whitened = NULL;
    mhv_image lit;
    if (p->do_convert_rgb && im->transparent == MHV_TRNS_REFUSED)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "%s under do_convert_rgb is not supported (transformers paints its "
                        "transparent pixels white)",
                        im->refused_why);
    if (p->do_convert_rgb && im->transparent == MHV_TRNS_KEY) {
        if (white_key(im, &whitened))
            return mhv_fail(err, MHV_ENOMEM, name, "out of memory for the image");
        lit = *im, lit.rgb = whitened, im = &lit;
    }
    const uint8_t *px = im->rgb;
    float *fpx = NULL; /* (h, w, 3) with float_resize: rescaled (and resized) pixels */
    if (p->float_resize || p->owlv2) {
        int nw = w, nh = h;
        if (p->do_resize || p->owlv2)
            resized_size(p, w, h, &nw, &nh);
        if (nw < 1 || nh < 1 || nw > MHV_IMAGE_MAX_SIDE || nh > MHV_IMAGE_MAX_SIDE) {
            free(whitened);
            return mhv_fail(err, MHV_EUSAGE, name, "cannot resize to %dx%d", nw, nh);
        }
        if (p->owlv2 ? owlv2_pixels(p, im, nw, nh, &fpx) : float_pixels(p, im, nw, nh, &fpx)) {
            free(whitened);
            return mhv_fail(err, MHV_ENOMEM, name, "out of memory resizing the image");
        }
        w = nw, h = nh;
    } else if (p->do_resize) {
        int nw, nh;
        resized_size(p, w, h, &nw, &nh);
        if (nw < 1 || nh < 1 || nw > MHV_IMAGE_MAX_SIDE || nh > MHV_IMAGE_MAX_SIDE) {
            free(whitened);
            return mhv_fail(err, MHV_EUSAGE, name, "cannot resize to %dx%d", nw, nh);
        }
        if (nw != w || nh != h) {
            if (resize(im, nw, nh, p->resample, &buf)) {
                free(whitened);
                return mhv_fail(err, MHV_ENOMEM, name, "out of memory resizing the image");
            }
            px = buf, w = nw, h = nh;
        }
    }
    int top = 0, left = 0, ch = h, cw = w;
    if (p->do_center_crop) {
        if (p->crop_h > h || p->crop_w > w) {
            free(buf), free(whitened), free(fpx);
            return mhv_fail(err, MHV_EUSAGE, name, "a %dx%d crop does not fit in %dx%d pixels",
                            p->crop_w, p->crop_h, w, h);
        }
        top = (h - p->crop_h) / 2, left = (w - p->crop_w) / 2; /* transformers' center_crop */
        ch = p->crop_h, cw = p->crop_w;
    }
    if (ch != out_h || cw != out_w) {
        free(buf), free(whitened), free(fpx);
        return mhv_fail(err, MHV_EUSAGE, name,
                        "the image comes to %dx%d pixels after preprocessing; the model takes "
                        "%dx%d",
                        cw, ch, out_w, out_h);
    }
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < ch; y++)
            for (int x = 0; x < cw; x++) {
                size_t at = ((size_t)(top + y) * w + (size_t)(left + x)) * 3 + (size_t)c;
                double v = fpx ? fpx[at] : px[at];
                if (p->do_rescale && !fpx)
                    v = (float)(v * p->rescale_factor);
                if (p->do_normalize)
                    v = (v - (float)p->mean[c]) / (float)p->std[c];
                out[((size_t)c * ch + y) * cw + x] = (float)v;
            }
    if (box)
        box[0] = left, box[1] = top, box[2] = cw, box[3] = ch;
    free(buf), free(whitened), free(fpx);
    return MHV_OK;
}

void mhv_preprocess_picture(const mhv_preprocess *p, const float *px, int channels, int height,
                            int width, uint8_t *rgb)
{
    size_t plane = (size_t)height * (size_t)width;
    for (size_t i = 0; i < plane; i++)
        for (int ch = 0; ch < 3; ch++) {
            int from = ch < channels ? ch : 0;
            double v = px[(size_t)from * plane + i];
            if (p->do_normalize)
                v = v * p->std[from < 3 ? from : 0] + p->mean[from < 3 ? from : 0];
            if (p->do_rescale && p->rescale_factor > 0)
                v /= p->rescale_factor;
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            rgb[i * 3 + (size_t)ch] = (uint8_t)lround(v);
        }
}
