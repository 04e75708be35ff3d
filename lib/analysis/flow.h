/* flow.h - attention flow (Abnar & Zuidema 2020, "Quantifying Attention Flow in
 * Transformers", section 3): how much of each input token can reach a position through the
 * layers, as a maximum flow.
 *
 * The layer graph has a node (m, x) for every token x at every depth m = 0..L: depth 0 is the
 * input tokens, depth m + 1 the output of layer m. Layer m joins each (m + 1, x) to each
 * (m, y) by an edge of capacity A_m[x][y], the attention that query x of layer m pays to key
 * y once the residual connection is mixed in (rollout.h: 0.5 * head mean + 0.5 * I, rows
 * renormalised). The flow of output position i of layer l to input token j is the maximum
 * flow from the source (l + 1, i) to the sink (0, j), each row then divided by its sum. */
#ifndef MHV_FLOW_H
#define MHV_FLOW_H

#include <stdint.h>

#include "base/status.h"

/* a: (num_layers, n, n) the capacities A_m, rows are queries (non-negative; rows summing
 * to 1 as rollout.h makes them). out: (num_layers, n, n),
 *   out[l][i][j] = maxflow((l+1, i) -> (0, j)) / sum_k maxflow((l+1, i) -> (0, k)),
 * so entry l covers layers 0..l like rollout's; a row whose flows are all 0 stays 0.
 * Computed with Dinic's algorithm in double precision, residual capacities below 1e-12
 * counted as 0. It solves num_layers * n * n flow problems, each on a graph of up to
 * (num_layers + 1) * n nodes: for a 12-layer model 0.1 s at 20 tokens, 3 s at 60, 20 s at
 * 100 (one core of a 2-core Zen 5; about the fourth power of n).
 * MHV_ENOMEM is the only failure. */
mhv_status mhv_flow(const double *a, int num_layers, int n, double *out, mhv_error *err);
/* The working memory mhv_flow allocates for num_layers layers of n tokens, in bytes. */
uint64_t mhv_flow_bytes(int num_layers, int n);

#endif
