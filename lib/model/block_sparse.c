/* block_sparse.c - BigBird's block-sparse attention (BigBird's encoder, BigBird-Pegasus's
 * encoder) as transformers 5.25 runs it in eval mode (BigBirdBlockSparseAttention), as a
 * score bias over a sentence of n tokens in nb = ceil(n / block) blocks.
 *
 * transformers pads the sentence to nb whole blocks with pad tokens, masked as keys: their
 * probabilities are exactly 0 (the -10000 penalty underflows exp) and they change no real
 * token's values, so mhaviz computes the n real tokens alone and keeps their (n, n) maps
 * (the padding's rows left out, as Longformer's). Query blocks 0 and nb - 1 see every key;
 * the others (1 .. nb - 2) see key blocks 0 and nb - 1 and their own with its two
 * neighbours, plus num_random_blocks random blocks, which out of training are all block 0
 * (transformers' eval draws none: its adjacency lists stay zero, the paper's plans for 1024,
 * 3072 and 4096 tokens as the others). So block 0 enters those
 * rows' softmax 1 + num_random_blocks times (bias log(1 + r)) while transformers' map shows
 * one copy (mhv_family_sparse_probs divides it back); the other keys are out of their
 * softmax (-inf). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"

static int middle_row(const mhv_sparse_geometry *g, int i, int n)
{
    int nb = (n + g->block - 1) / g->block, qb = i / g->block;
    return qb > 0 && qb < nb - 1;
}

void mhv_family_sparse_bias(const void *ctx, int h, const float *q, size_t ld_q, const float *k,
                            size_t ld_k, int n, float *b)
{
    (void)h, (void)q, (void)ld_q, (void)k, (void)ld_k;
    const mhv_sparse_geometry *g = ctx;
    int nb = (n + g->block - 1) / g->block;
    float repeat = (float)log(1.0 + g->random);
    for (int i = 0; i < n; i++) {
        float *row = b + (size_t)i * (size_t)n;
        int qb = i / g->block, middle = middle_row(g, i, n);
        for (int j = 0; j < n; j++) {
            int kb = j / g->block;
            if (!middle)
                row[j] = 0.0f;
            else if (kb == 0)
                row[j] = repeat;
            else
                row[j] = kb == nb - 1 || (kb >= qb - 1 && kb <= qb + 1) ? 0.0f : -INFINITY;
        }
    }
}

void mhv_family_sparse_probs(const void *ctx, float *probs, int n, const int *prow)
{
    const mhv_sparse_geometry *g = ctx;
    float copies = (float)(1 + g->random);
    int first = g->block < n ? g->block : n; /* the keys of block 0 */
    for (int i = 0; i < n; i++) {
        int r = prow ? prow[i] : i;
        if (r < 0 || !middle_row(g, i, n))
            continue;
        float *row = probs + (size_t)r * (size_t)n;
        for (int j = 0; j < first; j++)
            row[j] /= copies;
    }
}

mhv_status mhv_family_sparse_check(const mhv_model *m, int n, int positions_padded,
                                   int *sparse, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    *sparse = c->sparse_full_max > 0 && n > c->sparse_full_max;
    if (!*sparse)
        return MHV_OK;
    int64_t padded = ((int64_t)n + c->sparse_block - 1) / c->sparse_block * c->sparse_block;
    if (c->sparse_random == 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "block_sparse attention with "
                        "num_random_blocks 0 is not supported (transformers fails on it): a "
                        "sentence of %d tokens is longer than the %d run as original_full", n,
                        c->sparse_full_max);
    if (positions_padded && padded > c->max_positions)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "a sentence of %d tokens padded to %lld "
                        "(a multiple of block_size %d) exceeds max_position_embeddings %d", n,
                        (long long)padded, c->sparse_block, c->max_positions);
    return MHV_OK;
}

mhv_status mhv_family_sparse_config(const struct cJSON *root, int use_bias_default,
                                    mhv_config *c, const char *name, mhv_error *err)
{
    const char *type;
    int use_bias, block, random;
    mhv_status st;
    if ((st = mhv_json_str(root, "attention_type", "block_sparse", &type, name, err)) ||
        (st = mhv_json_bool(root, "use_bias", use_bias_default, &use_bias, name, err)) ||
        (st = mhv_json_int(root, "block_size", 64, 1, MHV_MAX_POSITIONS, &block, name, err)) ||
        (st = mhv_json_int(root, "num_random_blocks", 3, 0, MHV_MAX_POSITIONS, &random, name,
                           err)))
        return st;
    c->qkv_no_bias = !use_bias;
    if (strcmp(type, "block_sparse") == 0) {
        int64_t full = (5 + 2 * (int64_t)random) * block;
        c->sparse_full_max = (int)(full > MHV_MAX_POSITIONS ? MHV_MAX_POSITIONS : full);
        c->sparse_block = block;
        c->sparse_random = random;
    } else if (strcmp(type, "original_full") != 0) {
        return mhv_fail(err, MHV_EFORMAT, name, "attention_type '%.40s' is neither "
                        "original_full nor block_sparse", type);
    }
    return MHV_OK;
}
