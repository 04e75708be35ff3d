#include "analysis/stats.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/rows.h"
#include "analysis/weighting.h"
#include "base/fileio.h"
#include "base/json.h"
#include "base/jsonw.h"

#define EXACT_LIMIT ((int64_t)1 << 53) /* sums stay integers a JSON double holds exactly */
#define LOG2N_Q (-24)

static const char *const names[MHV_STAT_COUNT] = {"entropy", "distance", "first", "sep",
                                                  "prev",    "next",     "self"};

const char *mhv_stat_name(mhv_stat s)
{
    return (unsigned)s < MHV_STAT_COUNT ? names[s] : "?";
}

int mhv_stat_quantum_log2(mhv_stat s)
{
    /* distances reach hundreds of tokens: a coarser step keeps their sums in range */
    return s == MHV_STAT_DISTANCE ? -16 : -24;
}

void mhv_stats_head(const float *w, int n, const unsigned char *sep, mhv_stat_values *out)
{
    mhv_stats_head_rows(w, n, NULL, n, sep, out);
}

void mhv_stats_head_rows(const float *w, int n, const int *rows, int nrows,
                         const unsigned char *sep, mhv_stat_values *out)
{
    memset(out, 0, sizeof *out);
    int any_sep = 0, n_prev = 0, n_next = 0;
    for (int j = 0; sep && j < n; j++)
        any_sep |= sep[j];
    for (int r = 0; r < nrows; r++) {
        int i = rows ? rows[r] : r;
        const float *row = w + (size_t)r * (size_t)n;
        n_prev += i >= 1, n_next += i + 1 < n;
        double h = 0.0, d = 0.0, s = 0.0;
        for (int j = 0; j < n; j++) {
            double p = row[j];
            if (p > 0.0)
                h -= p * log2(p);
            d += p * fabs((double)(i - j));
            if (sep && sep[j])
                s += p;
        }
        out->v[MHV_STAT_ENTROPY] += h;
        out->v[MHV_STAT_DISTANCE] += d;
        out->v[MHV_STAT_FIRST] += row[0];
        out->v[MHV_STAT_SEP] += s;
        out->v[MHV_STAT_SELF] += row[i];
        if (i >= 1)
            out->v[MHV_STAT_PREV] += row[i - 1];
        if (i + 1 < n)
            out->v[MHV_STAT_NEXT] += row[i + 1];
    }
    for (int k = 0; k < MHV_STAT_COUNT; k++) {
        int had = k == MHV_STAT_PREV ? n_prev : k == MHV_STAT_NEXT ? n_next : nrows;
        if (k == MHV_STAT_SEP && !any_sep)
            had = 0;
        out->has[k] = had > 0;
        out->v[k] = had > 0 ? out->v[k] / had : 0.0;
    }
}

double mhv_stats_patch_distance(const float *w, int n, int extra, int cols, int *has)
{
    double sum = 0.0;
    int rows = 0;
    for (int i = extra; i < n; i++, rows++) {
        int ri = (i - extra) / cols, ci = (i - extra) % cols;
        const float *row = w + (size_t)i * (size_t)n;
        double d = 0.0;
        for (int j = extra; j < n; j++) {
            double dr = ri - (j - extra) / cols, dc = ci - (j - extra) % cols;
            d += row[j] * sqrt(dr * dr + dc * dc);
        }
        sum += d;
    }
    *has = rows > 0;
    return rows ? sum / rows : 0.0;
}

void mhv_stats_head_cross(const float *w, int rows, int cols, const unsigned char *sep,
                          mhv_stat_values *out)
{
    memset(out, 0, sizeof *out);
    int any_sep = 0;
    for (int j = 0; sep && j < cols; j++)
        any_sep |= sep[j];
    for (int i = 0; i < rows; i++) {
        const float *row = w + (size_t)i * (size_t)cols;
        /* the target position i carried onto the source: the diagonal of a rows x cols
         * rectangle through the cells' centres (i itself when rows == cols) */
        double diag = ((double)i + 0.5) * (double)cols / (double)rows - 0.5;
        double h = 0.0, d = 0.0, s = 0.0;
        for (int j = 0; j < cols; j++) {
            double p = row[j];
            if (p > 0.0)
                h -= p * log2(p);
            d += p * fabs((double)j - diag);
            if (sep && sep[j])
                s += p;
        }
        out->v[MHV_STAT_ENTROPY] += h;
        out->v[MHV_STAT_DISTANCE] += d;
        out->v[MHV_STAT_FIRST] += row[0];
        out->v[MHV_STAT_SEP] += s;
    }
    static const mhv_stat kept[] = {MHV_STAT_ENTROPY, MHV_STAT_DISTANCE, MHV_STAT_FIRST,
                                    MHV_STAT_SEP};
    for (size_t k = 0; k < sizeof kept / sizeof *kept; k++) {
        mhv_stat s = kept[k];
        int had = rows > 0 && (s != MHV_STAT_SEP || any_sep);
        out->has[s] = (unsigned char)had;
        out->v[s] = had ? out->v[s] / rows : 0.0;
    }
}

mhv_status mhv_stats_acc_init(mhv_stats_acc *acc, int num_layers, int num_heads,
                              mhv_error *err)
{
    memset(acc, 0, sizeof *acc);
    size_t cells = (size_t)num_layers * (size_t)num_heads * MHV_STAT_COUNT;
    if (num_layers < 1 || num_heads < 1 || num_layers > 4096 || num_heads > 4096)
        return mhv_fail(err, MHV_EUSAGE, "", "%d layers x %d heads is not a model shape",
                        num_layers, num_heads);
    acc->sum = calloc(cells, sizeof *acc->sum);
    acc->count = calloc(cells, sizeof *acc->count);
    if (!acc->sum || !acc->count) {
        mhv_stats_acc_free(acc);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    acc->num_layers = num_layers;
    acc->num_heads = num_heads;
    return MHV_OK;
}

void mhv_stats_acc_free(mhv_stats_acc *acc)
{
    free(acc->sum);
    free(acc->count);
    free(acc->shards);
    memset(acc, 0, sizeof *acc);
}

static int64_t fixed(double v, int q)
{
    return (int64_t)llround(ldexp(v, -q));
}

/* a += b, refusing to leave the exact range. */
static int add_exact(int64_t *a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(*a, b, &r) || r > EXACT_LIMIT || r < -EXACT_LIMIT)
        return -1;
    *a = r;
    return 0;
}

static mhv_status too_big(mhv_error *err)
{
    return mhv_fail(err, MHV_EUSAGE, "",
                    "statistics sums would lose exactness: split the corpus into shards "
                    "and report them separately");
}

mhv_status mhv_stats_acc_add(mhv_stats_acc *acc, const mhv_attn *a, const unsigned char *sep,
                             mhv_error *err)
{
    if (add_exact(&acc->log2n_sum, fixed(log2((double)a->n), LOG2N_Q)) ||
        add_exact(&acc->sentences, 1))
        return too_big(err);
    for (int k = 0; k < a->count; k++) {
        const mhv_head_attn *h = &a->heads[k];
        if (h->layer >= acc->num_layers || h->head >= acc->num_heads)
            continue;
        mhv_stat_values v;
        if (h->stack == MHV_STACK_CROSS) /* target rows x source columns, every row */
            mhv_stats_head_cross(h->w, h->rows, h->cols, sep, &v);
        else
            mhv_stats_head_rows(h->w, a->n, a->row_ids, mhv_attn_nrows(a), sep, &v);
        if (acc->patch_grid > 0 && h->stack != MHV_STACK_CROSS && !a->row_ids) {
            int has;
            int cols = acc->patch_cols > 0 ? acc->patch_cols : acc->patch_grid;
            v.v[MHV_STAT_DISTANCE] = mhv_stats_patch_distance(h->w, a->n, acc->patch_extra,
                                                              cols, &has);
            v.has[MHV_STAT_DISTANCE] = (unsigned char)has;
            if (acc->patch_extra == 0) /* no [CLS] (SigLIP): the first token is a patch */
                v.has[MHV_STAT_FIRST] = 0;
        }
        size_t c = ((size_t)h->layer * (size_t)acc->num_heads + (size_t)h->head) *
                   MHV_STAT_COUNT;
        for (int s = 0; s < MHV_STAT_COUNT; s++) {
            if (!v.has[s])
                continue;
            if (add_exact(&acc->sum[c + (size_t)s], fixed(v.v[s], mhv_stat_quantum_log2(s))) ||
                add_exact(&acc->count[c + (size_t)s], 1))
                return too_big(err);
        }
    }
    return MHV_OK;
}

/* The union of dst's and src's shard lists into *out (ascending), or an error naming a
 * shard in both. */
static mhv_status merge_shards(const mhv_stats_acc *dst, const mhv_stats_acc *src,
                               int32_t **out, int *n_out, mhv_error *err)
{
    *out = NULL;
    *n_out = 0;
    if (!src->n_shards && !dst->n_shards)
        return MHV_OK;
    if (src->n_shards && dst->n_shards && src->shard_n != dst->shard_n)
        return mhv_fail(err, MHV_EFORMAT, "", "shards of %d cannot be merged with shards of %d",
                        src->shard_n, dst->shard_n);
    int32_t *u = malloc(((size_t)dst->n_shards + (size_t)src->n_shards) * sizeof *u);
    if (!u)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    int a = 0, b = 0, n = 0;
    while (a < dst->n_shards || b < src->n_shards) {
        if (a < dst->n_shards && b < src->n_shards && dst->shards[a] == src->shards[b]) {
            mhv_status st = mhv_fail(err, MHV_EFORMAT, "", "shard %d/%d is already in the merge",
                                     (int)src->shards[b], src->shard_n);
            free(u);
            return st;
        }
        if (b >= src->n_shards || (a < dst->n_shards && dst->shards[a] < src->shards[b]))
            u[n++] = dst->shards[a++];
        else
            u[n++] = src->shards[b++];
    }
    *out = u;
    *n_out = n;
    return MHV_OK;
}

mhv_status mhv_stats_acc_merge(mhv_stats_acc *dst, const mhv_stats_acc *src, mhv_error *err)
{
    if (dst->num_layers != src->num_layers || dst->num_heads != src->num_heads)
        return mhv_fail(err, MHV_EFORMAT, "",
                        "cannot merge statistics of %d x %d heads into %d x %d heads",
                        src->num_layers, src->num_heads, dst->num_layers, dst->num_heads);
    if (strcmp(dst->rows, src->rows) != 0)
        return mhv_fail(err, MHV_EFORMAT, "", "cannot merge statistics of rows '%s' into rows "
                        "'%s'", src->rows[0] ? src->rows : "all", dst->rows[0] ? dst->rows : "all");
    if (dst->patch_grid != src->patch_grid || dst->patch_extra != src->patch_extra)
        return mhv_fail(err, MHV_EFORMAT, "", "cannot merge statistics of a %dx%d patch grid "
                        "into those of %s", src->patch_grid, src->patch_grid,
                        dst->patch_grid ? "another grid" : "text (1-D distances)");
    if (dst->audio != src->audio)
        return mhv_fail(err, MHV_EFORMAT, "", "cannot merge statistics of %s into those of %s",
                        src->audio ? "audio" : "text or images",
                        dst->audio ? "audio" : "text or images");
    if (strcmp(dst->stack, src->stack) != 0)
        return mhv_fail(err, MHV_EFORMAT, "", "cannot merge statistics of the %s stack into "
                        "the %s stack", src->stack[0] ? src->stack : "self",
                        dst->stack[0] ? dst->stack : "self");
    if (dst->weighting != src->weighting)
        return mhv_fail(err, MHV_EFORMAT, "", "cannot merge statistics of %s weighting into "
                        "%s weighting", mhv_weighting_name((mhv_weighting)src->weighting),
                        mhv_weighting_name((mhv_weighting)dst->weighting));
    int32_t *shards;
    int n_shards;
    mhv_status st = merge_shards(dst, src, &shards, &n_shards, err);
    if (st)
        return st;
    size_t cells = (size_t)dst->num_layers * (size_t)dst->num_heads * MHV_STAT_COUNT;
    /* checked first, so that a failed merge leaves dst as it was */
    for (size_t i = 0; i < cells; i++) {
        int64_t r;
        if (__builtin_add_overflow(dst->sum[i], src->sum[i], &r) || r > EXACT_LIMIT ||
            r < -EXACT_LIMIT || __builtin_add_overflow(dst->count[i], src->count[i], &r) ||
            r > EXACT_LIMIT) {
            free(shards);
            return too_big(err);
        }
    }
    int64_t s1 = dst->sentences, s2 = dst->log2n_sum;
    if (add_exact(&s1, src->sentences) || add_exact(&s2, src->log2n_sum)) {
        free(shards);
        return too_big(err);
    }
    for (size_t i = 0; i < cells; i++) {
        dst->sum[i] += src->sum[i];
        dst->count[i] += src->count[i];
    }
    dst->sentences = s1;
    dst->log2n_sum = s2;
    if (shards) {
        free(dst->shards);
        dst->shards = shards;
        dst->n_shards = n_shards;
        dst->shard_n = src->n_shards ? src->shard_n : dst->shard_n;
    }
    return MHV_OK;
}

mhv_status mhv_stats_acc_set_shard(mhv_stats_acc *acc, int i, int n, mhv_error *err)
{
    if (n <= 1)
        return MHV_OK;
    int32_t *s = malloc(sizeof *s);
    if (!s)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    *s = i;
    free(acc->shards);
    acc->shards = s;
    acc->n_shards = 1;
    acc->shard_n = n;
    return MHV_OK;
}

double mhv_stats_mean(const mhv_stats_acc *acc, int layer, int head, mhv_stat s, int *ok)
{
    size_t c = ((size_t)layer * (size_t)acc->num_heads + (size_t)head) * MHV_STAT_COUNT +
               (size_t)s;
    *ok = acc->count[c] > 0;
    if (!*ok)
        return 0.0;
    return ldexp((double)acc->sum[c], mhv_stat_quantum_log2(s)) / (double)acc->count[c];
}

const char *mhv_stats_kind(const mhv_stats_acc *acc, int layer, int head)
{
    int ok;
    double m[MHV_STAT_COUNT];
    for (int s = 0; s < MHV_STAT_COUNT; s++)
        m[s] = mhv_stats_mean(acc, layer, head, (mhv_stat)s, &ok);
    const struct {
        double v;
        const char *kind;
    } c[] = {
        {m[MHV_STAT_SELF], "self"},
        {m[MHV_STAT_PREV], "positional-previous"},
        {m[MHV_STAT_NEXT], "positional-next"},
        {m[MHV_STAT_FIRST] + m[MHV_STAT_SEP], "sink"},
    };
    int best = 0;
    for (int i = 1; i < 4; i++)
        if (c[i].v > c[best].v)
            best = i;
    if (c[best].v >= 0.5)
        return c[best].kind;
    if (acc->sentences > 0) {
        double uniform = ldexp((double)acc->log2n_sum, LOG2N_Q) / (double)acc->sentences;
        if (m[MHV_STAT_ENTROPY] >= 0.75 * uniform)
            return "broad";
    }
    return "mixed";
}

static void write_table(FILE *f, const mhv_stats_acc *acc, int csv)
{
    if (csv)
        fputs("layer,head", f);
    else
        fprintf(f, "%5s %4s", "layer", "head");
    for (int s = 0; s < MHV_STAT_COUNT; s++)
        fprintf(f, csv ? ",%s" : " %8s", names[s]);
    fputs(csv ? ",kind,sentences\n" : "  kind\n", f);
    for (int l = 0; l < acc->num_layers; l++)
        for (int h = 0; h < acc->num_heads; h++) {
            fprintf(f, csv ? "%d,%d" : "%5d %4d", l, h);
            for (int s = 0; s < MHV_STAT_COUNT; s++) {
                int ok;
                double v = mhv_stats_mean(acc, l, h, (mhv_stat)s, &ok);
                if (!ok)
                    fputs(csv ? "," : "        -", f);
                else
                    fprintf(f, csv ? ",%.6f" : " %8.4f", v);
            }
            size_t c = ((size_t)l * (size_t)acc->num_heads + (size_t)h) * MHV_STAT_COUNT;
            if (csv)
                fprintf(f, ",%s,%lld\n", mhv_stats_kind(acc, l, h), (long long)acc->count[c]);
            else
                fprintf(f, "  %s\n", mhv_stats_kind(acc, l, h));
        }
}

static void write_json(FILE *f, const mhv_stats_acc *acc, const char *model)
{
    fputs("{\"mhaviz_stats\": 1,\n \"model\": ", f);
    mhv_jsonw_str(f, model, strlen(model));
    if (acc->weighting != MHV_WEIGHT_ATTN)
        fprintf(f, ",\n \"weighting\": \"%s\"",
                mhv_weighting_name((mhv_weighting)acc->weighting));
    if (acc->rows[0]) {
        fputs(",\n \"rows\": ", f);
        mhv_jsonw_str(f, acc->rows, strlen(acc->rows));
    }
    if (acc->stack[0])
        fprintf(f, ",\n \"stack\": \"%s\"", acc->stack);
    if (acc->patch_grid)
        fprintf(f, ",\n \"patch_grid\": %d, \"patch_extra\": %d", acc->patch_grid,
                acc->patch_extra);
    if (acc->audio)
        fputs(",\n \"input\": \"audio\"", f);
    fprintf(f, ",\n \"num_layers\": %d, \"num_heads\": %d, \"sentences\": %lld,\n",
            acc->num_layers, acc->num_heads, (long long)acc->sentences);
    /* shards until all N are in: --merge refuses one given twice */
    if (acc->n_shards && acc->n_shards < acc->shard_n) {
        fprintf(f, " \"shard_n\": %d, \"shards\": [", acc->shard_n);
        for (int i = 0; i < acc->n_shards; i++)
            fprintf(f, "%s%d", i ? ", " : "", (int)acc->shards[i]);
        fputs("],\n", f);
    }
    fprintf(f, " \"log2_tokens_sum\": %lld, \"log2_tokens_step_log2\": %d,\n \"step_log2\": {",
            (long long)acc->log2n_sum, LOG2N_Q);
    for (int s = 0; s < MHV_STAT_COUNT; s++)
        fprintf(f, "%s\"%s\": %d", s ? ", " : "", names[s], mhv_stat_quantum_log2((mhv_stat)s));
    fputs("},\n \"heads\": [", f);
    for (int l = 0; l < acc->num_layers; l++)
        for (int h = 0; h < acc->num_heads; h++) {
            size_t c = ((size_t)l * (size_t)acc->num_heads + (size_t)h) * MHV_STAT_COUNT;
            fprintf(f, "%s\n  {\"layer\": %d, \"head\": %d, \"kind\": \"%s\"",
                    l || h ? "," : "", l, h, mhv_stats_kind(acc, l, h));
            for (int s = 0; s < MHV_STAT_COUNT; s++) {
                int ok;
                double v = mhv_stats_mean(acc, l, h, (mhv_stat)s, &ok);
                if (ok)
                    fprintf(f, ", \"%s\": %.9g", names[s], v);
                else
                    fprintf(f, ", \"%s\": null", names[s]);
            }
            fputs(",\n   \"sums\": [", f);
            for (int s = 0; s < MHV_STAT_COUNT; s++)
                fprintf(f, "%s%lld", s ? ", " : "", (long long)acc->sum[c + (size_t)s]);
            fputs("], \"counts\": [", f);
            for (int s = 0; s < MHV_STAT_COUNT; s++)
                fprintf(f, "%s%lld", s ? ", " : "", (long long)acc->count[c + (size_t)s]);
            fputs("]}", f);
        }
    fputs("\n ]}\n", f);
}

void mhv_stats_write(FILE *f, mhv_stats_format fmt, const mhv_stats_acc *acc,
                     const char *model)
{
    if (fmt == MHV_STATS_JSON)
        write_json(f, acc, model);
    else
        write_table(f, acc, fmt == MHV_STATS_CSV);
}

/* An integer field that a double holds exactly, within [lo, hi]. */
static int get_int(const cJSON *obj, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= (double)lo && v->valuedouble <= (double)hi))
        return -1;
    *out = (int64_t)v->valuedouble;
    return (double)*out == v->valuedouble ? 0 : -1;
}

static int get_int_array(const cJSON *obj, const char *key, int64_t lo, int64_t *out)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != MHV_STAT_COUNT)
        return -1;
    int i = 0;
    for (const cJSON *v = a->child; v; v = v->next, i++) {
        if (!cJSON_IsNumber(v))
            return -1;
        if (!(v->valuedouble >= (double)lo && v->valuedouble <= (double)EXACT_LIMIT))
            return -1;
        out[i] = (int64_t)v->valuedouble;
        if ((double)out[i] != v->valuedouble)
            return -1;
    }
    return 0;
}

/* The largest value one sentence can give statistic s: log2 of 2^31 tokens bits of
 * entropy, 2^31 tokens of distance, a mass of 1 for the others. */
static double stat_max(mhv_stat s)
{
    return s == MHV_STAT_ENTROPY ? 31.0 : s == MHV_STAT_DISTANCE ? 2147483648.0 : 1.0;
}

/* One head's sums and counts against the file's own sentence count. */
static mhv_status check_sums(const mhv_stats_acc *acc, size_t c, const char *path, int i, int l,
                             int k, mhv_error *err)
{
    for (int s = 0; s < MHV_STAT_COUNT; s++) {
        int64_t sum = acc->sum[c * MHV_STAT_COUNT + (size_t)s];
        int64_t n = acc->count[c * MHV_STAT_COUNT + (size_t)s];
        /* each sentence adds a rounded value: up to half a step more than the largest */
        double top = (ldexp(stat_max((mhv_stat)s), -mhv_stat_quantum_log2((mhv_stat)s)) + 1.0) *
                     (double)n;
        if (n > acc->sentences || sum < 0 || (n == 0 && sum != 0) || (double)sum > top)
            return mhv_fail(err, MHV_EFORMAT, path, "heads[%d] (%d:%d): %s sum %lld over %lld of "
                            "%lld sentences cannot be", i, l, k, names[s], (long long)sum,
                            (long long)n, (long long)acc->sentences);
    }
    return MHV_OK;
}

/* The optional shard ids of a part: "shard_n": N, "shards": [I, ...] ascending. */
static mhv_status read_shards(const cJSON *root, const char *path, mhv_stats_acc *acc,
                              mhv_error *err)
{
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(root, "shards");
    int64_t n;
    if (!ids && !cJSON_GetObjectItemCaseSensitive(root, "shard_n"))
        return MHV_OK;
    if (get_int(root, "shard_n", 2, INT32_MAX, &n) || !cJSON_IsArray(ids) ||
        cJSON_GetArraySize(ids) < 1 || cJSON_GetArraySize(ids) >= n)
        return mhv_fail(err, MHV_EFORMAT, path, "invalid shard_n or shards");
    int m = cJSON_GetArraySize(ids);
    if (!(acc->shards = malloc((size_t)m * sizeof *acc->shards)))
        return mhv_fail(err, MHV_ENOMEM, path, "out of memory");
    acc->shard_n = (int)n;
    int j = 0;
    for (const cJSON *v = ids->child; v; v = v->next, j++) {
        double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
        if (!(d >= 0 && d < (double)n && d == floor(d)) ||
            (j > 0 && (int32_t)d <= acc->shards[j - 1]))
            return mhv_fail(err, MHV_EFORMAT, path, "shards[%d] is not a shard id above the "
                            "previous one, below %d", j, (int)n);
        acc->shards[j] = (int32_t)d;
        acc->n_shards = j + 1;
    }
    return MHV_OK;
}

mhv_status mhv_stats_read_json(const char *path, mhv_stats_acc *acc, char *model, size_t size,
                               mhv_error *err)
{
    memset(acc, 0, sizeof *acc);
    char *text;
    size_t len;
    mhv_status st = mhv_read_file(path, (size_t)1 << 30, &text, &len, err);
    if (st)
        return st;
    cJSON *root;
    st = mhv_json_parse(text, len, path, &root, err);
    free(text);
    if (st)
        return st;
    int64_t ver, L, H;
    const cJSON *heads = cJSON_GetObjectItemCaseSensitive(root, "heads");
    if (get_int(root, "mhaviz_stats", 1, 1, &ver)) {
        st = mhv_fail(err, MHV_EFORMAT, path, "not the JSON output of 'mhaviz stats'");
        goto done;
    }
    if (get_int(root, "num_layers", 1, 4096, &L) || get_int(root, "num_heads", 1, 4096, &H) ||
        !cJSON_IsArray(heads)) {
        st = mhv_fail(err, MHV_EFORMAT, path, "missing or invalid num_layers, num_heads or heads");
        goto done;
    }
    /* before allocating L x H cells: the file must hold every one of them */
    if (cJSON_GetArraySize(heads) != L * H) {
        st = mhv_fail(err, MHV_EFORMAT, path, "lists %d heads, not the %lld of %lld layers x "
                      "%lld heads", cJSON_GetArraySize(heads), (long long)(L * H), (long long)L,
                      (long long)H);
        goto done;
    }
    if ((st = mhv_stats_acc_init(acc, (int)L, (int)H, err)))
        goto done;
    const cJSON *mj = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (model && size)
        snprintf(model, size, "%s", cJSON_IsString(mj) ? mj->valuestring : "");
    const cJSON *wj = cJSON_GetObjectItemCaseSensitive(root, "weighting");
    if (wj) { /* absent: attention weights */
        mhv_weighting w;
        mhv_error e;
        if (!cJSON_IsString(wj) || mhv_weighting_parse(wj->valuestring, &w, &e)) {
            st = mhv_fail(err, MHV_EFORMAT, path, "weighting is not attn, norm or norm-out");
            goto done;
        }
        acc->weighting = (int)w;
    }
    const cJSON *rj = cJSON_GetObjectItemCaseSensitive(root, "rows");
    if (rj) { /* absent: every row */
        if (!cJSON_IsString(rj) || strlen(rj->valuestring) >= sizeof acc->rows ||
            !rj->valuestring[0] || mhv_rows_check(rj->valuestring, NULL)) {
            st = mhv_fail(err, MHV_EFORMAT, path, "\"rows\" is not a row selection");
            goto done;
        }
        snprintf(acc->rows, sizeof acc->rows, "%s", rj->valuestring);
    }
    const cJSON *sj = cJSON_GetObjectItemCaseSensitive(root, "stack");
    if (sj) { /* absent: a model of one stack */
        if (!cJSON_IsString(sj) || (strcmp(sj->valuestring, "encoder") != 0 &&
                                    strcmp(sj->valuestring, "decoder") != 0 &&
                                    strcmp(sj->valuestring, "cross") != 0)) {
            st = mhv_fail(err, MHV_EFORMAT, path, "stack is not encoder, decoder or cross");
            goto done;
        }
        snprintf(acc->stack, sizeof acc->stack, "%s", sj->valuestring);
    }
    if (cJSON_GetObjectItemCaseSensitive(root, "patch_grid")) { /* absent: text, 1-D */
        int64_t g, e;
        if (get_int(root, "patch_grid", 1, 1 << 16, &g) ||
            get_int(root, "patch_extra", 0, 1 << 10, &e)) {
            st = mhv_fail(err, MHV_EFORMAT, path, "invalid patch_grid or patch_extra");
            goto done;
        }
        acc->patch_grid = (int)g, acc->patch_extra = (int)e;
    }
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(root, "input"); /* absent: text */
    if (input) {
        if (!cJSON_IsString(input) || strcmp(input->valuestring, "audio") != 0) {
            st = mhv_fail(err, MHV_EFORMAT, path, "input is not \"audio\"");
            goto done;
        }
        acc->audio = 1;
    }
    int64_t q;
    if (get_int(root, "sentences", 0, EXACT_LIMIT, &acc->sentences) ||
        get_int(root, "log2_tokens_sum", 0, EXACT_LIMIT, &acc->log2n_sum) ||
        get_int(root, "log2_tokens_step_log2", LOG2N_Q, LOG2N_Q, &q)) {
        st = mhv_fail(err, MHV_EFORMAT, path, "missing or invalid sentences or log2_tokens_sum");
        goto done;
    }
    if ((st = read_shards(root, path, acc, err)))
        goto done;
    /* at least one sentence (a shard may have none), of at most 2^31 tokens: log2 of each
     * is in [0, 31] */
    if ((acc->sentences < 1 && !acc->n_shards) ||
        (double)acc->log2n_sum > ldexp(31.0, -LOG2N_Q) * (double)acc->sentences) {
        st = mhv_fail(err, MHV_EFORMAT, path, "%lld sentences with log2_tokens_sum %lld cannot "
                      "be", (long long)acc->sentences, (long long)acc->log2n_sum);
        goto done;
    }
    /* sums written with another step cannot be added exactly */
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(root, "step_log2");
    for (int s = 0; s < MHV_STAT_COUNT; s++) {
        int64_t v;
        if (get_int(steps, names[s], -64, 64, &v) || v != mhv_stat_quantum_log2((mhv_stat)s)) {
            st = mhv_fail(err, MHV_EFORMAT, path, "step_log2.%s differs from this version's %d",
                          names[s], mhv_stat_quantum_log2((mhv_stat)s));
            goto done;
        }
    }
    unsigned char *seen = calloc((size_t)(L * H), 1);
    if (!seen) {
        st = mhv_fail(err, MHV_ENOMEM, path, "out of memory");
        goto done;
    }
    int i = 0;
    for (const cJSON *h = heads->child; h; h = h->next, i++) {
        int64_t l, k;
        if (get_int(h, "layer", 0, L - 1, &l) || get_int(h, "head", 0, H - 1, &k)) {
            st = mhv_fail(err, MHV_EFORMAT, path, "heads[%d]: layer or head out of range", i);
            break;
        }
        size_t c = (size_t)(l * H + k);
        if (seen[c]) {
            st = mhv_fail(err, MHV_EFORMAT, path, "heads[%d]: head %d:%d listed twice", i,
                          (int)l, (int)k);
            break;
        }
        seen[c] = 1;
        if (get_int_array(h, "sums", -EXACT_LIMIT, acc->sum + c * MHV_STAT_COUNT) ||
            get_int_array(h, "counts", 0, acc->count + c * MHV_STAT_COUNT)) {
            st = mhv_fail(err, MHV_EFORMAT, path, "heads[%d]: sums or counts are not %d exact "
                          "integers", i, MHV_STAT_COUNT);
            break;
        }
        if ((st = check_sums(acc, c, path, i, (int)l, (int)k, err)))
            break;
    }
    free(seen);
done:
    cJSON_Delete(root);
    if (st)
        mhv_stats_acc_free(acc);
    return st;
}
