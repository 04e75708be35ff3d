/* gemma3_vision.h - the image path of Gemma 3 with vision (model/gemma3_vision.c), for
 * gemma.c's gemma3 rows. */
#ifndef MHV_GEMMA3_VISION_H
#define MHV_GEMMA3_VISION_H

#include "model/family.h"

struct cJSON;

/* A pass of the language model (gemma.c's forward). */
typedef mhv_status (*mhv_gemma3_text_pass)(mhv_nn *nn, const mhv_model *m, const int32_t *ids,
                                           int n, mhv_capture *cap, float *logits,
                                           mhv_error *err);

/* The image fields of c from a Gemma3Config root: vision_config (a SigLIP tower),
 * mm_tokens_per_image, boi/eoi/image_token_index. No vision_config: none (text only). */
mhv_status mhv_gemma3_vision_config(const struct cJSON *root, mhv_config *c, const char *name,
                                    mhv_error *err);
/* The fp32 vector floats the projector takes. */
size_t mhv_gemma3_vision_floats(const mhv_config *c);
/* The tower (m->image_tower, from dir's config.json) and the projector's tensors. */
mhv_status mhv_gemma3_vision_load(mhv_model *m, mhv_wload *ld, const char *dir,
                                  mhv_error *err);
/* text's pass over ids with nn->pixels' features in place of the image tokens and the
 * image tokens' mask. */
mhv_status mhv_gemma3_image_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                    mhv_capture *cap, float *logits, mhv_gemma3_text_pass text,
                                    mhv_error *err);

/* SigLIP towers of the multimodal models (Gemma 3, PaliGemma): the tower's post_layernorm
 * (width,) into m->mm_post_g, mm_post_b (its family reads it only with its pooling head). */
mhv_status mhv_siglip_post_norm_load(mhv_model *m, mhv_wload *ld, int width, mhv_error *err);
/* The last hidden state of m->image_tower over nn->pixels after that post_layernorm
 * (transformers' last_hidden_state): *x (tokens, tower hidden) malloc'd, its patch grid
 * *side a side; vcap says what the tower's pass keeps. */
mhv_status mhv_siglip_last_state(mhv_nn *nn, const mhv_model *m, mhv_capture *vcap, float **x,
                                 int *tokens, int *side, mhv_error *err);

#endif
