/* run_contacts.h - `mhaviz run --contacts`: ESM's residue contacts predicted from every
 * head's attention by the checkpoint's contact head (analysis/contacts.h). */
#ifndef MHV_RUN_CONTACTS_H
#define MHV_RUN_CONTACTS_H

#include "model/forward.h"
#include "model/model.h"
#include "tok/tokenizer.h"

/* Refuses, by name, a model without a contact head (every family but ESM, and ESM
 * checkpoints without contact_head.regression.weight). */
mhv_status run_contacts_check(const mhv_model *m, mhv_error *err);

/* *p (L, L) (caller frees; NULL when L is 0) and *L: the contacts of the sentence enc from
 * attn, its maps from the run's pass when they hold every head over every row and are
 * attention weights still, else from a pass of its own over every head. */
mhv_status run_contacts_of(mhv_forward_ctx *fc, const mhv_model *m, const mhv_encoding *enc,
                           const mhv_attn *attn, float **p, int *L, mhv_error *err);

#endif
