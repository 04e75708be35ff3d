/* contacts.h - ESM's residue contacts from attention (Rao et al. 2020), as transformers'
 * EsmModel.predict_contacts and EsmContactPredictionHead compute them:
 *
 *   A_c      the map of head c = layer * heads + head (every head of every layer), rows and
 *            columns of the tokens of id MHV_CONTACTS_EOS_ID zeroed, then the first and the
 *            last token dropped (the <cls> and <eos> EsmTokenizer adds): L = n - 2 residues
 *   S_c      A_c + A_c^T
 *   N_c      S_c - r r^T / t   (average product correction: r the row sums of S_c, which
 *                               are its column sums, t their total)
 *   P        sigmoid(b + sum_c w_c N_c)
 *
 * Computed in double from the fp32 maps (transformers runs it in fp32), rounded to fp32 at
 * the end; serial, so the result does not depend on any thread count. */
#ifndef MHV_CONTACTS_H
#define MHV_CONTACTS_H

#include <stdint.h>

#include "base/attn.h"
#include "base/status.h"

/* The eos id EsmContactPredictionHead masks: its eos_idx, 2 (ESM's <eos>) whatever the
 * config says, as transformers builds it. */
#define MHV_CONTACTS_EOS_ID 2

/* The residues of a sentence of n tokens: n - 2, 0 when fewer than 3 tokens. */
int mhv_contacts_len(int n);

/* out(L, L), L = mhv_contacts_len(a->n): the contact probabilities of the residues (tokens
 * 1 .. n - 2) from a, which must hold every head of `layers` x `heads` in (layer, head)
 * order over every row (MHV_EUSAGE otherwise); ids(n) the sentence's tokens; w(layers *
 * heads) and b the regression's weight and bias. */
mhv_status mhv_contacts_compute(const mhv_attn *a, int layers, int heads, const int32_t *ids,
                                const float *w, float b, float *out, mhv_error *err);

#endif
