/* rank_internal.h - the generated table behind rank.c's word characters. */
#ifndef MHV_RANK_INTERNAL_H
#define MHV_RANK_INTERNAL_H

#include "text/unicode.h"

/* General categories Mc and Me, sorted (lib/analysis/rank_tables.c). */
extern const mhv_uc_range mhv_rank_mark_ranges[];
extern const int mhv_rank_mark_ranges_n;

#endif
