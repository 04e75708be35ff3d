/* run_llava.h - `mhaviz run` on LLaVA and Qwen2-VL (models that read an image with their
 * prompt; Qwen2-VL's image token <|image_pad|>, one token per merged block of patches): each
 * line of FILE is a prompt holding the image token once ("USER: <image>\nWhat is this?
 * ASSISTANT:", \n written as a backslash and n), the image is --image's, preprocessed as
 * the model's image processor says; the image token becomes one token per image feature, as
 * LlavaProcessor expands it, each labelled by its patch ("img 3,5"; the tower's [CLS]
 * "img cls" with the "full" strategy of a tower with one). */
#ifndef MHV_RUN_LLAVA_H
#define MHV_RUN_LLAVA_H

#include "analysis/report.h"
#include "cli.h"

typedef struct {
    float *px;                  /* (channels, height, width) as preprocessed */
    mhv_report_image info;      /* its size, grid and feature tokens (first: per line) */
} run_llava_image;

/* The image at path for m (cfg.image_in_text): read, turned upright and preprocessed. */
mhv_status run_llava_image_read(const mhv_model *m, const char *path, run_llava_image *im,
                                mhv_error *err);
void run_llava_image_free(run_llava_image *im);

/* cli_job_read for such a model: heads, lines (text: "\n" read as a newline, "\\" as a
 * backslash), encodings, each with its image token expanded; a line with no image token or
 * several is refused naming it. */
mhv_status run_llava_job_read(cli_job *job, const char *heads, const char *file,
                              cli_input_mode mode, const run_llava_image *im, mhv_error *err);

/* Token index of the first image feature of enc (the model's image token), -1: none. */
int run_llava_first(const mhv_model *m, const mhv_encoding *enc);

#endif
