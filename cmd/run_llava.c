/* run_llava.c - the prompts and the image of a LLaVA run (run_llava.h). */
#include "run_llava.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/json.h"
#include "media/image.h"
#include "media/preprocess.h"
#include "model/forward.h"

mhv_status run_llava_image_read(const mhv_model *m, const char *path, run_llava_image *im,
                                mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    memset(im, 0, sizeof *im);
    if (c->num_channels != 3)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                        "a vision tower of %d channels is not supported (3 are)",
                        c->num_channels);
    mhv_preprocess pp;
    mhv_image raw;
    int W, H;
    mhv_status st = mhv_preprocess_load(m->dir, c->image_size, &pp, err);
    if (st)
        return st;
    /* Qwen2-VL: the processor's patches must be the tower's (its token count follows) */
    if (c->image_merge > 0 && !pp.smart_factor)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                        "%s needs Qwen2VLImageProcessor (preprocessor_config.json)", c->arch);
    if (c->image_merge > 0 && (pp.smart_patch != c->patch_size ||
                               pp.smart_merge != c->image_merge ||
                               pp.smart_temporal != c->temporal_patch))
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                        "the image processor's patch_size %d, merge_size %d and "
                        "temporal_patch_size %d are not the vision tower's %d, %d and %d",
                        pp.smart_patch, pp.smart_merge, pp.smart_temporal, c->patch_size,
                        c->image_merge, c->temporal_patch);
    if ((st = mhv_image_read(path, &raw, err)))
        return st;
    mhv_image_grid g;
    if (!(st = mhv_preprocess_size(&pp, raw.width, raw.height, &W, &H, path, err)) &&
        !(st = mhv_model_image_grid(mhv_forward_image_tower(m), H, W, 0, &g, err))) {
        if (!(im->px = malloc((size_t)3 * (size_t)H * (size_t)W * sizeof *im->px)))
            st = mhv_fail(err, MHV_ENOMEM, path, "out of memory");
        else
            st = mhv_preprocess_run(&pp, &raw, H, W, im->px, NULL, path, err);
    } else if (st && err->file[0] == '\0') { /* the grid's refusal: name the image */
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        mhv_fail(err, st, path, "%s", msg);
    }
    mhv_image_free(&raw);
    if (st) {
        run_llava_image_free(im);
        return st;
    }
    if (c->image_form == MHV_IMAGE_FORM_PALIGEMMA) { /* one feature a patch */
        im->info = (mhv_report_image){.path = path, .width = W, .height = H, .rows = g.rows,
                                      .cols = g.cols, .count = g.tokens};
        return MHV_OK;
    }
    if (c->image_form == MHV_IMAGE_FORM_GEMMA3) { /* its features: blocks of patches */
        int k = c->image_pool > 0 ? c->image_pool : 1;
        im->info = (mhv_report_image){.path = path, .width = W, .height = H,
                                      .rows = g.rows / k, .cols = g.cols / k,
                                      .count = c->image_tokens};
        return MHV_OK;
    }
    /* the first feature's patch: the strategy "default" drops the tower's first token,
     * [CLS] or (SigLIP) the first patch */
    int patch0 = (c->image_full ? 0 : 1) - c->image_extra;
    im->info = (mhv_report_image){.path = path, .width = W, .height = H, .rows = g.rows,
                                  .cols = g.cols, .count = g.tokens - (c->image_full ? 0 : 1),
                                  .patch0 = patch0};
    if (c->image_merge > 0) { /* Qwen2-VL: one token per merged block, row by row */
        int M = c->image_merge;
        im->info.rows = g.rows / M, im->info.cols = g.cols / M;
        im->info.count = im->info.rows * im->info.cols, im->info.patch0 = 0;
    }
    return MHV_OK;
}

void run_llava_image_free(run_llava_image *im)
{
    free(im->px);
    memset(im, 0, sizeof *im);
}

/* s's "\n" as a newline and "\\" as a backslash, in place (the text only shrinks). */
static void unescape(mhv_sentence *s)
{
    char *t = (char *)s->text;
    size_t w = 0;
    for (size_t r = 0; r < s->len; r++) {
        if (t[r] == '\\' && r + 1 < s->len && (t[r + 1] == 'n' || t[r + 1] == '\\')) {
            t[w++] = t[r + 1] == 'n' ? '\n' : '\\';
            r++;
        } else {
            t[w++] = t[r];
        }
    }
    t[w] = '\0';
    s->len = w;
}

/* e's one image token replaced by count tokens of the image id, labelled by their patches. */
static mhv_status expand(mhv_encoding *e, int at, const mhv_report_image *img, mhv_error *err)
{
    int n = e->n - 1 + img->count;
    int32_t *ids = malloc((size_t)n * sizeof *ids), *spans = malloc((size_t)n * 2 * sizeof *spans);
    char **pieces = calloc((size_t)n, sizeof *pieces);
    mhv_status st = MHV_OK;
    if (!ids || !spans || !pieces) {
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        goto out;
    }
    for (int i = 0, o = 0; i < e->n; i++) {
        int k = i == at ? img->count : 1;
        for (int j = 0; j < k; j++, o++) {
            char label[32];
            int p = j + img->patch0;
            if (p < 0)
                snprintf(label, sizeof label, "img cls");
            else
                snprintf(label, sizeof label, "img %d,%d", p / img->cols, p % img->cols);
            ids[o] = e->ids[i];
            spans[2 * o] = i == at ? -1 : e->spans[2 * i];
            spans[2 * o + 1] = i == at ? -1 : e->spans[2 * i + 1];
            if (!(pieces[o] = strdup(i == at ? label : e->pieces[i]))) {
                st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
                goto out;
            }
        }
    }
    mhv_encoding_free(e);
    *e = (mhv_encoding){.n = n, .ids = ids, .pieces = pieces, .spans = spans};
    return MHV_OK;
out:
    for (int i = 0; pieces && i < n; i++)
        free(pieces[i]);
    free(ids), free(spans), free(pieces);
    return st;
}

/* Code points of s[0 .. len). */
static int chars(const char *s, size_t len)
{
    int n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* Where a processor's expansion put its tokens into a line: px characters from p0 of the
 * expanded text stand where pb characters from p0 of the line were; the line has lc. */
typedef struct {
    int p0, pb, px, lc;
} insert_at;

/* e as the expanded text of line s encodes it, finished: without the post-processor's
 * special tokens when drop_added (tokens of no text: the processor turns them off), the
 * image tokens labelled by their place in the image's grid, the spans of the others mapped
 * back to the line (the inserted tokens' to what they stand for; past the line: none). */
static mhv_status finish_encoding(const cli_job *job, const mhv_sentence *s, int drop_added,
                                  const insert_at *at, const mhv_report_image *img,
                                  mhv_encoding *e, mhv_error *err)
{
    const mhv_config *c = &job->m->cfg;
    int k = 0, o = 0;
    for (int t = 0; t < e->n; t++) {
        int32_t *sp = &e->spans[2 * t];
        if (drop_added && sp[0] < 0 && e->ids[t] != c->image_token_id) {
            free(e->pieces[t]);
            e->pieces[t] = NULL;
            continue;
        }
        if (e->ids[t] == c->image_token_id) {
            char label[32];
            snprintf(label, sizeof label, "img %d,%d", k / img->cols, k % img->cols);
            k++;
            char *l = strdup(label);
            if (!l)
                return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
            free(e->pieces[t]);
            e->pieces[t] = l;
            sp[0] = sp[1] = -1;
        }
        for (int j = 0; j < 2 && sp[0] >= 0; j++) /* after the insert, in it, before it */
            sp[j] = sp[j] >= at->p0 + at->px ? sp[j] - at->px + at->pb
                    : sp[j] > at->p0          ? (j ? at->p0 + at->pb : at->p0)
                                              : sp[j];
        if (sp[0] >= at->lc) /* past the line (PaliGemma's final "\n") */
            sp[0] = sp[1] = -1;
        e->ids[o] = e->ids[t], e->pieces[o] = e->pieces[t];
        e->spans[2 * o] = sp[0], e->spans[2 * o + 1] = sp[1];
        o++;
    }
    e->n = o;
    if (k != img->count) /* image tokens written as text too */
        return mhv_fail(err, MHV_EINPUT, job->in.name, "line %d: the prompt holds %d image "
                        "tokens (%s) besides the image's", s->line, k - img->count,
                        mhv_tok_piece(job->tok, c->image_token_id));
    return MHV_OK;
}

/* Where text holds piece: *count times, the first at *at (NULL: none). */
static void find_piece(const char *text, const char *piece, int *count, const char **at)
{
    size_t n = strlen(piece);
    *count = 0, *at = NULL;
    for (const char *p = strstr(text, piece); p; p = strstr(p + n, piece))
        (*count)++, *at = *at ? *at : p;
}

/* Gemma3Processor's prompt: s's one begin-of-image text replaced by "\n\n" boi, the image
 * tokens, eoi "\n\n" before it is tokenized (so the text around may merge with the
 * newlines, as there). */
static mhv_status gemma3_encode(const cli_job *job, const mhv_sentence *s,
                                const mhv_report_image *img, mhv_encoding *e, mhv_error *err)
{
    const mhv_config *c = &job->m->cfg;
    const char *boi = mhv_tok_piece(job->tok, c->image_boi_id);
    const char *tok_img = mhv_tok_piece(job->tok, c->image_token_id);
    const char *eoi = mhv_tok_piece(job->tok, c->image_eoi_id);
    if (!boi || !tok_img || !eoi || !boi[0])
        return mhv_fail(err, MHV_EFORMAT, job->m->dir, "the tokenizer lacks gemma3's image "
                        "tokens (ids %d, %d, %d)", c->image_boi_id, c->image_token_id,
                        c->image_eoi_id);
    size_t B = strlen(boi), I = strlen(tok_img), E = strlen(eoi);
    int count;
    const char *at;
    find_piece(s->text, boi, &count, &at);
    if (count != 1)
        return mhv_fail(err, MHV_EINPUT, job->in.name,
                        "line %d: the prompt holds %d image tokens (%s, id %d); %s reads one "
                        "image a line (--image): write it exactly once", s->line, count, boi,
                        c->image_boi_id, c->arch);
    size_t P = (size_t)(at - s->text), X = 4 + B + (size_t)img->count * I + E;
    char *text = malloc(s->len - B + X + 1);
    if (!text)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    char *w = text;
    memcpy(w, s->text, P), w += P;
    memcpy(w, "\n\n", 2), w += 2;
    memcpy(w, boi, B), w += B;
    for (int k = 0; k < img->count; k++)
        memcpy(w, tok_img, I), w += I;
    memcpy(w, eoi, E), w += E;
    memcpy(w, "\n\n", 2), w += 2;
    memcpy(w, at + B, s->len - P - B), w += s->len - P - B;
    *w = '\0';
    mhv_status st = mhv_tok_encode(job->tok, text, (size_t)(w - text), e, err);
    insert_at ia = {chars(s->text, P), chars(boi, B), chars(text + P, X),
                    chars(s->text, s->len)};
    free(text);
    return st ? st : finish_encoding(job, s, 0, &ia, img, e, err);
}

/* The tokenizer's bos_token and eos_token (tokenizer_config.json): PaliGemmaProcessor writes
 * them into the prompt (bos) and after a suffix (eos). */
typedef struct {
    char bos[256], eos[256];
} pali_marks;

static mhv_status pali_marks_read(const mhv_model *m, pali_marks *pm, mhv_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", m->dir);
    cJSON *root;
    mhv_status st = mhv_json_load(path, 64u << 20, &root, err);
    if (st)
        return st;
    const char *keys[2] = {"bos_token", "eos_token"};
    char *dst[2] = {pm->bos, pm->eos};
    for (int k = 0; k < 2 && !st; k++) {
        const cJSON *b = mhv_json_get(root, keys[k]);
        if (cJSON_IsObject(b))
            b = mhv_json_get(b, "content");
        if (!cJSON_IsString(b) || !b->valuestring[0] || strlen(b->valuestring) >= sizeof pm->bos)
            st = mhv_fail(err, MHV_EFORMAT, path, "no %s (paligemma's prompt %s)", keys[k],
                          k ? "ends a suffix with it" : "starts with it");
        else
            snprintf(dst[k], sizeof pm->bos, "%s", b->valuestring);
    }
    cJSON_Delete(root);
    return st;
}

/* PaliGemmaProcessor's prompt: bos after the image token (the line's, else one put first),
 * "\n" at the end, the image token as image_tokens of them; tokenized without the
 * post-processor's special tokens (the processor turns add_bos_token off). */
static mhv_status paligemma_prefix(const cli_job *job, const mhv_sentence *s, const char *bos,
                                   const mhv_report_image *img, mhv_encoding *e,
                                   mhv_error *err)
{
    const mhv_config *c = &job->m->cfg;
    const char *tok_img = mhv_tok_piece(job->tok, c->image_token_id);
    if (!tok_img || !tok_img[0])
        return mhv_fail(err, MHV_EFORMAT, job->m->dir, "the tokenizer lacks paligemma's image "
                        "token (id %d)", c->image_token_id);
    size_t I = strlen(tok_img), O = strlen(bos);
    int count;
    const char *at;
    find_piece(s->text, tok_img, &count, &at);
    if (count > 1)
        return mhv_fail(err, MHV_EINPUT, job->in.name,
                        "line %d: the prompt holds %d image tokens (%s, id %d); %s reads one "
                        "image a line (--image): write it once or leave it out", s->line,
                        count, tok_img, c->image_token_id, c->arch);
    size_t P = at ? (size_t)(at - s->text) : 0, R = at ? I : 0; /* the line's image token */
    size_t X = (size_t)img->count * I + O;
    char *text = malloc(s->len - R + X + 2);
    if (!text)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    char *w = text;
    memcpy(w, s->text, P), w += P;
    for (int k = 0; k < img->count; k++)
        memcpy(w, tok_img, I), w += I;
    memcpy(w, bos, O), w += O;
    memcpy(w, s->text + P + R, s->len - P - R), w += s->len - P - R;
    *w++ = '\n';
    *w = '\0';
    mhv_status st = mhv_tok_encode(job->tok, text, (size_t)(w - text), e, err);
    insert_at ia = {chars(s->text, P), chars(s->text + P, R), chars(text + P, X),
                    chars(s->text, s->len)};
    free(text);
    return st ? st : finish_encoding(job, s, 1, &ia, img, e, err);
}

/* PaliGemmaProcessor(text=prefix, suffix=suffix): a line PREFIX<TAB>SUFFIX is the prefix as
 * above (token type 0) and the suffix's tokens, then eos (type 1: causal), as the tokenizer
 * encodes the pair (each part on its own); a line without a tab is a prefix alone. */
static mhv_status paligemma_encode(const cli_job *job, const mhv_sentence *s,
                                   const pali_marks *pm, const mhv_report_image *img,
                                   mhv_encoding *e, mhv_error *err)
{
    const char *tab = memchr(s->text, '\t', s->len);
    if (!tab)
        return paligemma_prefix(job, s, pm->bos, img, e, err);
    size_t P = (size_t)(tab - s->text), S = s->len - P - 1, E = strlen(pm->eos);
    char *pre = malloc(P + 1), *suf = malloc(S + E + 1);
    mhv_encoding se = {0};
    mhv_status st = MHV_OK;
    if (!pre || !suf) {
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        goto out;
    }
    memcpy(pre, s->text, P), pre[P] = '\0';
    memcpy(suf, tab + 1, S), memcpy(suf + S, pm->eos, E), suf[S + E] = '\0';
    mhv_sentence ps = {pre, P, s->line};
    if ((st = paligemma_prefix(job, &ps, pm->bos, img, e, err)) ||
        (st = mhv_tok_encode(job->tok, suf, S + E, &se, err)))
        goto out;
    int base = chars(s->text, P) + 1, lc = chars(s->text, s->len), n = e->n + se.n;
    int32_t *ids = realloc(e->ids, (size_t)n * sizeof *ids);
    if (ids)
        e->ids = ids;
    int32_t *spans = ids ? realloc(e->spans, (size_t)n * 2 * sizeof *spans) : NULL;
    if (spans)
        e->spans = spans;
    char **pieces = spans ? realloc(e->pieces, (size_t)n * sizeof *pieces) : NULL;
    if (pieces)
        e->pieces = pieces;
    int32_t *types = pieces ? calloc((size_t)n, sizeof *types) : NULL;
    if (!types) {
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        goto out;
    }
    int o = e->n;
    e->boundary = o;
    for (int t = 0; t < se.n; t++) {
        int32_t a = se.spans[2 * t], b = se.spans[2 * t + 1];
        if (a < 0) { /* the post-processor's own: the processor turns them off */
            free(se.pieces[t]);
            continue;
        }
        e->ids[o] = se.ids[t], e->pieces[o] = se.pieces[t], types[o] = 1;
        a += base, b += base;
        e->spans[2 * o] = a < lc ? a : -1; /* eos: past the line */
        e->spans[2 * o + 1] = a < lc ? (b < lc ? b : lc) : -1;
        o++;
    }
    free(se.pieces); /* its pieces are e's now, or freed */
    se.pieces = NULL, se.n = 0;
    e->n = o, e->type_ids = types;
    if (e->boundary == o) /* an empty suffix: eos alone still follows */
        e->boundary = 0;
out:
    mhv_encoding_free(&se);
    free(pre);
    free(suf);
    return st;
}

mhv_status run_llava_job_read(cli_job *job, const char *heads, const char *file,
                              cli_input_mode mode, const run_llava_image *im, mhv_error *err)
{
    const mhv_config *cfg = &job->m->cfg;
    mhv_status st;
    if ((st = mhv_heads_parse(heads, cfg->num_layers, cfg->num_heads, &job->sel, err))) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return mhv_fail(err, st, "", "--heads: %s", msg);
    }
    if ((st = mhv_input_read(file, &job->in, err)))
        return st;
    if (mode == INPUT_TEXT)
        for (int i = 0; i < job->in.n; i++)
            unescape(&job->in.s[i]);
    if (!(job->encs = calloc((size_t)job->in.n, sizeof *job->encs)))
        return mhv_fail(err, MHV_ENOMEM, job->in.name, "out of memory");
    if (cfg->image_form != MHV_IMAGE_FORM_LLAVA) { /* the processor's text, tokenized */
        pali_marks pm;
        if (mode != INPUT_TEXT || !job->tok)
            return mhv_fail(err, MHV_EUSAGE, "", "%s reads its prompts as text with --image "
                            "(--ids and --pretokenized do not apply)", cfg->arch);
        if (cfg->image_form == MHV_IMAGE_FORM_PALIGEMMA &&
            (st = pali_marks_read(job->m, &pm, err)))
            return st;
        for (int i = 0; i < job->in.n; i++)
            if ((st = cfg->image_form == MHV_IMAGE_FORM_GEMMA3
                          ? gemma3_encode(job, &job->in.s[i], &im->info, &job->encs[i], err)
                          : paligemma_encode(job, &job->in.s[i], &pm, &im->info,
                                             &job->encs[i], err)))
                return st;
        return MHV_OK;
    }
    /* the limit is the expanded prompt's: checked when it runs */
    if ((st = cli_encode_all(job->tok, &job->in, mode, MHV_MAX_POSITIONS, 0, job->encs, err)))
        return st;
    const char *piece = job->tok ? mhv_tok_piece(job->tok, cfg->image_token_id) : NULL;
    for (int i = 0; i < job->in.n; i++) {
        mhv_encoding *e = &job->encs[i];
        int count = 0, at = -1;
        for (int t = 0; t < e->n; t++)
            if (e->ids[t] == cfg->image_token_id)
                count++, at = at < 0 ? t : at;
        if (count != 1)
            return mhv_fail(err, MHV_EINPUT, job->in.name,
                            "line %d: the prompt holds %d image tokens (%s, id %d); %s reads "
                            "one image a line (--image): write it exactly once",
                            job->in.s[i].line, count, piece ? piece : "the image token",
                            cfg->image_token_id, cfg->arch);
        if ((st = expand(e, at, &im->info, err)))
            return st;
    }
    return MHV_OK;
}

int run_llava_first(const mhv_model *m, const mhv_encoding *enc)
{
    for (int t = 0; t < enc->n; t++)
        if (enc->ids[t] == m->cfg.image_token_id)
            return t;
    return -1;
}
