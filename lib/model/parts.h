/* parts.h - the parts of a multimodal model (LLaVA's, Gemma 3's, PaliGemma's vision tower and
 * language model), each opened as a model of its own over a view of the whole checkpoint. */
#ifndef MHV_PARTS_H
#define MHV_PARTS_H

#include "model/model.h"

/* A part of m: config c (its family's reader has parsed it), its tensors through the view
 * renames(count) of m's checkpoint ({prefix in m's file, prefix the part's family reads}),
 * loaded by its family. *out: closed with mhv_model_close before m. */
mhv_status mhv_part_open(const mhv_model *m, const mhv_config *c,
                         const char *const (*renames)[2], int count, mhv_model **out,
                         mhv_error *err);

#endif
