/* stack_expect.h - the encoder-decoder golden tests' comparison of the maps of one stack
 * (encoder, decoder, cross) with a golden's want[layer][head][i][j] (cmocka). Include after
 * cmocka.h, cjson/cJSON.h, math.h and base/attn.h. */
#ifndef MHV_TEST_STACK_EXPECT_H
#define MHV_TEST_STACK_EXPECT_H

/* The largest difference between a's heads of `stack` and want[layer][head][i][j]; the
 * decoder's maps must be exactly 0 above the diagonal. */
static inline double compare_stack(const mhv_attn *a, mhv_stack stack, const cJSON *want,
                                   int *seen)
{
    double worst = 0;
    for (int s = 0; s < a->count; s++) {
        const mhv_head_attn *h = &a->heads[s];
        if (h->stack != stack)
            continue;
        (*seen)++;
        const cJSON *wl = cJSON_GetArrayItem(cJSON_GetArrayItem(want, h->layer), h->head);
        assert_int_equal(cJSON_GetArraySize(wl), h->rows);
        for (int i = 0; i < h->rows; i++) {
            const cJSON *row = cJSON_GetArrayItem(wl, i);
            assert_int_equal(cJSON_GetArraySize(row), h->cols);
            for (int j = 0; j < h->cols; j++) {
                double got = h->w[(size_t)i * (size_t)h->cols + (size_t)j];
                double d = fabs(got - cJSON_GetArrayItem(row, j)->valuedouble);
                if (stack == MHV_STACK_DECODER && j > i && got != 0.0)
                    fail_msg("decoder map nonzero above the diagonal");
                if (d > worst)
                    worst = d;
            }
        }
    }
    return worst;
}

#endif
