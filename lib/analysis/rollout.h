/* rollout.h - whole-layer views of captured attention: the head mean of each layer,
 * attention rollout and attention flow (Abnar & Zuidema 2020, "Quantifying Attention Flow in
 * Transformers"). */
#ifndef MHV_ROLLOUT_H
#define MHV_ROLLOUT_H

#include <stdint.h>

#include "base/attn.h"
#include "base/status.h"

typedef enum { MHV_AGG_MEAN = 0, MHV_AGG_ROLLOUT, MHV_AGG_FLOW } mhv_agg;

/* "mean", "rollout" or "flow"; anything else is MHV_EUSAGE naming the choices. */
mhv_status mhv_agg_parse(const char *s, mhv_agg *out, mhv_error *err);
const char *mhv_agg_name(mhv_agg a);

/* From a, which must hold every head of layers 0..num_layers-1, fills out with one entry per
 * layer (heads[l].layer = l, heads[l].head = -1; with a's kept rows (row_ids) only the mean,
 * of those rows, which out keeps too: rollout and flow are MHV_EUSAGE there):
 *   mean:    M_l = the average of layer l's heads;
 *   rollout: A_l = 0.5 * M_l + 0.5 * I with rows renormalised to sum 1,
 *            R_0 = A_0 and R_l = A_l R_{l-1}, so entry l covers layers 0..l;
 *   flow:    the same A_l as capacities of the layer graph, entry l row i the maximum flow
 *            from position i after layer l to each input token, rows normalised to sum 1
 *            (flow.h says exactly; slow: layers * n * n max-flow problems).
 * Computed in double, stored as float. out is freed with mhv_attn_free. */
mhv_status mhv_aggregate(const mhv_attn *a, int num_layers, int num_heads, mhv_agg kind,
                         mhv_attn *out, mhv_error *err);
/* The most memory mhv_aggregate holds at once besides its input, in bytes, for num_layers
 * layers of rows kept query rows (every row for rollout and flow) and n keys: its output
 * (one map per layer) and its working copies in double (flow's solver too). For
 * --max-memory: computed without running it. */
uint64_t mhv_aggregate_bytes(int num_layers, int rows, int n, mhv_agg kind);

#endif
