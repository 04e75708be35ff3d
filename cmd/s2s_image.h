/* s2s_image.h - the inputs of a vision encoder-decoder run (TrOCR: cfg.image_enc_dec): each
 * line is an image (PNG or JPEG) or, with --pairs, IMAGE<TAB>TEXT; the image preprocessed
 * as the model's preprocessor_config.json says (ViTImageProcessor, DeiTImageProcessor ...)
 * to the encoder's own size, the encoder's tokens labelled as the vision figures name them
 * ([CLS], [DIST], r3c5). The decoder's input is the texts' usual (s2s_text.h). */
#ifndef MHV_S2S_IMAGE_H
#define MHV_S2S_IMAGE_H

#include "cli.h"

/* The input of a run: the file itself when it is a .png, .jpg or .jpeg, else its lines. */
mhv_status s2s_image_input(const char *file, mhv_input *in, mhv_error *err);

/* Line s's image (list: the list file, for paths relative to it): its path into path (the
 * part before a TAB), and the encoder's tokens as a labelled encoding (ids 0..). */
mhv_status s2s_image_source(const mhv_model *m, const char *list, const mhv_sentence *s,
                            char *path, size_t size, mhv_encoding *enc, mhv_error *err);

/* px (channels, S, S) of the image at path (caller frees), S the encoder's image_size;
 * an image the processor does not bring to S x S is refused (the encoder's positions are
 * not interpolated). */
mhv_status s2s_image_pixels(const mhv_model *m, const char *path, float **px, mhv_error *err);

/* The report's "image" member (",\n   \"image\": {...}": the path, the size the model saw,
 * the patch grid and the tokens before the patches), or NULL when out of memory (caller
 * frees). */
char *s2s_image_json(const mhv_model *m, const char *path);

#endif
