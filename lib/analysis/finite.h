/* finite.h - attention that is not a distribution: NaN or infinite weights in a checkpoint
 * make NaN probabilities, which would be drawn as uniform "0 attention", written as null and
 * averaged into statistics. Checked once after the forward pass, before any of that. */
#ifndef MHV_FINITE_H
#define MHV_FINITE_H

#include "base/attn.h"
#include "base/status.h"

/* MHV_EFORMAT naming the first captured head (layer, head, query row) with a NaN or
 * infinite probability; MHV_OK when every one is finite. */
mhv_status mhv_attn_check_finite(const mhv_attn *a, mhv_error *err);

#endif
