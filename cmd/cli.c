#include "cli.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/jsonw.h"

int cli_report(mhv_status st, const mhv_error *err)
{
    char line[1100];
    mhv_error_format(err, line, sizeof line);
    fprintf(stderr, "mhaviz: %s\n", line);
    return st == MHV_EUSAGE ? EXIT_USAGE : EXIT_FAIL;
}

__attribute__((format(printf, 1, 0))) static void say(const char *fmt, va_list ap)
{
    char raw[4096], line[4 * sizeof raw];
    vsnprintf(raw, sizeof raw, fmt, ap);
    fprintf(stderr, "mhaviz: %s\n", mhv_escape_controls(raw, line, sizeof line));
}

void cli_say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
}

void cli_put_escaped(FILE *f, const char *s)
{
    char small[256];
    size_t need = 4 * strlen(s) + 1;
    char *buf = need <= sizeof small ? small : malloc(need);
    if (!buf) {
        fputs("?", f);
        return;
    }
    fputs(mhv_escape_controls(s, buf, need), f);
    if (buf != small)
        free(buf);
}

void cli_tok_warn(const mhv_tok *tok)
{
    const char *w = tok ? mhv_tok_warning(tok) : NULL;
    if (w)
        cli_say("warning: %s", w);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cli_say("%s (see 'mhaviz %s --help')", msg, cmd);
    return EXIT_USAGE;
}

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

const char *cli_model_dir(const char *opt, char *buf, size_t size)
{
    if (opt)
        return opt;
    const char *env = getenv("MHAVIZ_MODEL");
    if (env && *env)
        return env;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        /* build/mhaviz, build/asan/mhaviz, PREFIX/bin/mhaviz */
        static const char *const rel[] = {"../samples/model", "../../samples/model",
                                          "../share/mhaviz/model"};
        for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
            char cand[PATH_MAX + 32];
            snprintf(cand, sizeof cand, "%s/%s", exe, rel[i]);
            char real[PATH_MAX];
            if (is_dir(cand) && realpath(cand, real)) {
                snprintf(buf, size, "%s", real);
                return buf;
            }
        }
    }
    snprintf(buf, size, "samples/model");
    return buf;
}

/* --ids for a model directory without a tokenizer: decimal ids separated by spaces, tabs
 * or commas; each token is labelled by its id. The forward pass checks the range. */
static mhv_status encode_bare_ids(const char *text, size_t len, mhv_encoding *enc,
                                  mhv_error *err)
{
    memset(enc, 0, sizeof *enc);
    size_t cap = len / 2 + 1; /* at most one id per two bytes */
    enc->ids = malloc(cap * sizeof *enc->ids);
    enc->pieces = calloc(cap, sizeof *enc->pieces);
    enc->spans = malloc(2 * cap * sizeof *enc->spans);
    if (!enc->ids || !enc->pieces || !enc->spans)
        goto nomem;
    for (size_t i = 0; i < len;) {
        if (text[i] == ' ' || text[i] == '\t' || text[i] == ',') {
            i++;
            continue;
        }
        size_t j = i;
        long v = 0;
        while (j < len && text[j] >= '0' && text[j] <= '9' && j - i < 10)
            v = v * 10 + (text[j++] - '0');
        if (j == i || v > INT32_MAX || (j < len && text[j] != ' ' && text[j] != '\t' && text[j] != ',')) {
            while (j < len && text[j] != ' ' && text[j] != '\t' && text[j] != ',')
                j++;
            mhv_encoding_free(enc);
            return mhv_fail(err, MHV_EINPUT, "", "'%.*s' is not a token id",
                            (int)(j - i > 30 ? 30 : j - i), text + i);
        }
        int k = enc->n++;
        enc->ids[k] = (int32_t)v;
        enc->spans[2 * k] = enc->spans[2 * k + 1] = -1;
        if (!(enc->pieces[k] = malloc(j - i + 1)))
            goto nomem;
        memcpy(enc->pieces[k], text + i, j - i);
        enc->pieces[k][j - i] = '\0';
        i = j;
    }
    return MHV_OK;
nomem:
    mhv_encoding_free(enc);
    return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
}

/* A line FIRST<TAB>SECOND as tokenizer(first, second); the second segment's spans are moved
 * to count characters of the whole line, so token texts and --rows read the line. */
static mhv_status encode_pair(const mhv_tok *tok, const mhv_sentence *s, mhv_encoding *enc,
                              mhv_error *err)
{
    const char *tab = memchr(s->text, '\t', s->len);
    if (!tab)
        return mhv_fail(err, MHV_EINPUT, "", "no TAB between the two sentences of a pair");
    size_t first = (size_t)(tab - s->text);
    mhv_status st = mhv_tok_encode_pair(tok, s->text, first, tab + 1, s->len - first - 1, enc,
                                        err);
    if (st)
        return st;
    int32_t shift = 1; /* the TAB */
    for (size_t i = 0; i < first; i++)
        shift += ((unsigned char)s->text[i] & 0xC0) != 0x80;
    for (int i = enc->boundary; i < enc->n; i++)
        if (enc->spans[2 * i] >= 0) {
            enc->spans[2 * i] += shift;
            enc->spans[2 * i + 1] += shift;
        }
    return MHV_OK;
}

static mhv_status encode_one(const mhv_tok *tok, const mhv_sentence *s, cli_input_mode mode,
                             mhv_encoding *enc, mhv_error *err)
{
    if (!tok && mode == INPUT_IDS)
        return encode_bare_ids(s->text, s->len, enc, err);
    switch (mode) {
    case INPUT_PRETOKENIZED: return mhv_tok_encode_pretokenized(tok, s->text, s->len, enc, err);
    case INPUT_IDS: return mhv_tok_encode_ids(tok, s->text, s->len, enc, err);
    case INPUT_PAIRS: return encode_pair(tok, s, enc, err);
    case INPUT_TEXT: break;
    }
    return mhv_tok_encode(tok, s->text, s->len, enc, err);
}

mhv_status cli_encode_one(const mhv_tok *tok, const mhv_sentence *s, cli_input_mode mode,
                          mhv_encoding *enc, mhv_error *err)
{
    return encode_one(tok, s, mode, enc, err);
}

const int32_t *cli_type_ids(const mhv_model *m, const mhv_encoding *enc)
{
    return m->cfg.type_vocab_size > 0 ? enc->type_ids : NULL;
}

char *cli_json_string(const char *s)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return NULL;
    mhv_jsonw_str(f, s, strlen(s));
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

mhv_status cli_position_encoding(int n, cli_label_fn label, const void *ctx, mhv_encoding *e,
                                 mhv_error *err)
{
    memset(e, 0, sizeof *e);
    e->ids = malloc((size_t)n * sizeof *e->ids);
    e->pieces = calloc((size_t)n, sizeof *e->pieces);
    e->spans = malloc((size_t)n * 2 * sizeof *e->spans);
    if (!e->ids || !e->pieces || !e->spans) {
        mhv_encoding_free(e);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    e->n = n;
    for (int i = 0; i < n; i++) {
        char buf[32];
        label(i, buf, sizeof buf, ctx);
        e->ids[i] = i;
        e->spans[2 * i] = e->spans[2 * i + 1] = -1;
        if (!(e->pieces[i] = strdup(buf))) {
            mhv_encoding_free(e);
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        }
    }
    return MHV_OK;
}

void cli_time_label(int i, char *buf, size_t size, const void *step)
{
    double s = *(const double *)step;
    snprintf(buf, size, "%.*fs", s >= 0.01 ? 2 : 3, i * s);
}

/* Cuts e to max tokens. In text mode the special tokens the template added at the end
 * (BERT's [SEP]: no span in the text) are kept and the text tokens before them cut; the
 * template's leading ones (CLS, BOS) stay by themselves. A decoder that adds nothing at the
 * end keeps its first max tokens, never a last token after the cut. */
static void truncate_encoding(const mhv_tok *tok, mhv_encoding *e, int max, int text_mode)
{
    int tail = 0;
    while (text_mode && tok && tail < e->n && e->spans[2 * (e->n - 1 - tail)] < 0 &&
           mhv_tok_is_special(tok, e->ids[e->n - 1 - tail]))
        tail++;
    if (tail >= max)
        tail = 0;
    int keep = max - tail;
    for (int i = keep; i < e->n - tail; i++) {
        free(e->pieces[i]);
        e->pieces[i] = NULL;
    }
    for (int k = 0; k < tail; k++) {
        int from = e->n - tail + k, to = keep + k;
        e->pieces[to] = e->pieces[from];
        if (from != to)
            e->pieces[from] = NULL;
        e->ids[to] = e->ids[from];
        e->spans[2 * to] = e->spans[2 * from];
        e->spans[2 * to + 1] = e->spans[2 * from + 1];
    }
    e->n = max;
}

void cli_truncate(const mhv_tok *tok, mhv_encoding *e, int max, int text_mode)
{
    if (e->n > max && max > 0)
        truncate_encoding(tok, e, max, text_mode);
}

mhv_status cli_encode_all(const mhv_tok *tok, const mhv_input *in, cli_input_mode mode,
                          int max_tokens, int truncate, mhv_encoding *encs, mhv_error *err)
{
    memset(encs, 0, (size_t)in->n * sizeof *encs);
    long long total = 0;
    for (int i = 0; i < in->n; i++) {
        mhv_status st = encode_one(tok, &in->s[i], mode, &encs[i], err);
        if (st)
            return cli_fail_line(err, st, in, i);
        if (encs[i].n == 0)
            return mhv_fail(err, MHV_EINPUT, in->name, "line %d: no tokens", in->s[i].line);
        if (encs[i].n > max_tokens) {
            if (!truncate || mode == INPUT_PAIRS) /* a pair is not cut: which half? */
                return mhv_fail(err, MHV_EINPUT, in->name,
                                "line %d: %d tokens exceed the model's %d positions%s",
                                in->s[i].line, encs[i].n, max_tokens,
                                mode == INPUT_PAIRS ? "" : " (use --truncate)");
            cli_say("%s: line %d: truncated from %d to %d tokens", in->name, in->s[i].line,
                    encs[i].n, max_tokens);
            truncate_encoding(tok, &encs[i], max_tokens, mode == INPUT_TEXT);
        }
        /* every encoding is held until the run ends (~50 bytes a token): bounded */
        total += encs[i].n;
        if (total > CLI_MAX_TOKENS)
            return mhv_fail(err, MHV_EINPUT, in->name,
                            "line %d: more than %d tokens in all (split the input)",
                            in->s[i].line, CLI_MAX_TOKENS);
    }
    return MHV_OK;
}

void cli_free_encodings(mhv_encoding *encs, int n)
{
    if (!encs)
        return;
    for (int i = 0; i < n; i++)
        mhv_encoding_free(&encs[i]);
}

mhv_status cli_open_model(const char *dir, cli_input_mode mode, mhv_model **m, mhv_tok **tok,
                          mhv_error *err)
{
    mhv_status st;
    if ((st = mhv_model_open(dir, m, err)))
        return st;
    if ((*m)->cfg.vision || (*m)->cfg.speech) /* images or audio in: no tokenizer */
        return MHV_OK;
    if ((st = mhv_tok_open_dir(dir, tok, err))) {
        /* ids need no tokenizer: tokens are labelled by their ids. A directory without
         * tokenizer files (MHV_EIO) is normal for a bare checkpoint; one whose tokenizer
         * cannot be read deserves a warning. */
        if (mode != INPUT_IDS)
            return st;
        if (st != MHV_EIO) {
            char why[1100];
            mhv_error_format(err, why, sizeof why);
            cli_say("warning: %s; tokens are labelled by their ids", why);
        }
        *err = (mhv_error){0};
    }
    return MHV_OK;
}

mhv_status cli_refuse_non_text(const mhv_config *c, const char *cmd, mhv_error *err)
{
    const char *kind = c->image_enc_dec                    ? "image-to-text"
                       : c->audio_positions || c->speech ? "audio"
                       : c->vision                       ? "image"
                                                         : NULL;
    if (!kind)
        return MHV_OK;
    return mhv_fail(err, MHV_EUNSUPPORTED, "", "%s is not available for %s (%s) models yet: "
                    "run is", cmd, c->arch, kind);
}

mhv_status cli_job_read(cli_job *job, const char *heads, const char *file, cli_input_mode mode,
                        int truncate, mhv_error *err)
{
    const mhv_config *cfg = &job->m->cfg;
    mhv_status st;
    /* LLaVA: run reads its image (run_llava.h), the others none; Gemma 3: text alone too */
    if (cfg->image_in_text && !cfg->image_optional)
        return mhv_fail(err, MHV_EUNSUPPORTED, "", "%s reads an image with each prompt: run "
                        "--image takes it; this command does not yet", cfg->arch);
    if ((st = mhv_heads_parse(heads, cfg->num_layers, cfg->num_heads, &job->sel, err))) {
        char msg[sizeof err->msg]; /* the library names the spec; the user, the option */
        snprintf(msg, sizeof msg, "%s", err->msg);
        return mhv_fail(err, st, "", "--heads: %s", msg);
    }
    if ((st = mhv_input_read(file, &job->in, err)))
        return st;
    if (!(job->encs = calloc((size_t)job->in.n, sizeof *job->encs)))
        return mhv_fail(err, MHV_ENOMEM, job->in.name, "out of memory");
    return cli_encode_all(job->tok, &job->in, mode, cfg->max_positions, truncate, job->encs,
                          err);
}

void cli_job_close(cli_job *job)
{
    if (job->encs)
        cli_free_encodings(job->encs, job->in.n);
    free(job->encs);
    mhv_input_free(&job->in);
    mhv_heads_free(&job->sel);
    mhv_tok_close(job->tok);
    mhv_model_close(job->m);
}

mhv_status cli_fail_line(mhv_error *err, mhv_status st, const mhv_input *in, int i)
{
    /* the library names the token or the tensor; the user needs the file and line */
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err->msg);
    return mhv_fail(err, st, in->name, "line %d: %s", in->s[i].line, msg);
}

void cli_progress(const char *label, int k, int n, int done)
{
    if (!isatty(STDERR_FILENO))
        return;
    if (done)
        fputs("\r\033[K", stderr);
    else
        fprintf(stderr, "\r%s %d/%d", label, k, n);
    fflush(stderr);
}

mhv_forward_params cli_forward_params(int threads)
{
    mhv_forward_params p = mhv_forward_default_params();
    p.threads = threads;
    p.kernel = getenv("MHAVIZ_KERNEL");
    /* tokens a packed pass holds; 0 turns packing off; other values keep the default */
    const char *pack = getenv("MHAVIZ_PACK_TOKENS");
    char *end;
    long v = pack && *pack ? strtol(pack, &end, 10) : -1;
    if (v >= 0 && v <= 65536 && !*end)
        p.pack_tokens = v ? (int)v : -1;
    return p;
}

mhv_font_params cli_font_params(const char *file)
{
    mhv_font_params p = mhv_font_default_params();
    const char *env = getenv("MHAVIZ_FONT");
    p.file = file;
    p.env = env && *env ? env : NULL;
    return p;
}

mhv_status cli_font_open(const char *file, mhv_fontset **fs, mhv_error *err)
{
    mhv_font_params p = cli_font_params(file);
    mhv_status st = mhv_font_open(&p, fs, err);
    if (st == MHV_EIO && !err->file[0]) { /* none found anywhere (a named file is named) */
        size_t len = strlen(err->msg);
        snprintf(err->msg + len, sizeof err->msg - len, ", or give --font FILE or MHAVIZ_FONT");
    }
    return st;
}

/* The memory the system could still give: MemAvailable of /proc/meminfo, 0 if unknown. */
int cli_file_starts(const char *path, size_t at, const char *magic, size_t n)
{
    unsigned char head[64];
    if (at + n > sizeof head)
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t got = fread(head, 1, at + n, f);
    fclose(f);
    return got == at + n && memcmp(head + at, magic, n) == 0;
}

uint64_t cli_available_memory(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            break;
    fclose(f);
    return (uint64_t)kb * 1024;
}

void cli_fmt_mem_need(char *buf, size_t size, const mhv_forward_mem *mem,
                      const cli_mem_extra *extra, uint64_t limit, int given)
{
    char n_s[32], w_s[32], a_s[32], m_s[32], e_s[64] = "", l_s[32];
    cli_fmt_bytes(n_s, sizeof n_s, cli_mem_total(mem, extra));
    cli_fmt_bytes(w_s, sizeof w_s, mem->weights);
    cli_fmt_bytes(a_s, sizeof a_s, mem->activations);
    cli_fmt_bytes(m_s, sizeof m_s, mem->maps);
    cli_fmt_bytes(l_s, sizeof l_s, limit);
    if (extra && extra->bytes) {
        char x_s[32];
        cli_fmt_bytes(x_s, sizeof x_s, extra->bytes);
        snprintf(e_s, sizeof e_s, ", %s %s", extra->what, x_s);
    }
    snprintf(buf, size, "about %s (weights %s, activations %s, attention maps %s%s), more than "
             "%s%s", n_s, w_s, a_s, m_s, e_s, given ? "--max-memory " : "the available ", l_s);
}

uint64_t cli_mem_total(const mhv_forward_mem *mem, const cli_mem_extra *extra)
{
    return mem->weights + mem->activations + mem->maps + (extra ? extra->bytes : 0);
}

void cli_fmt_bytes(char *buf, size_t size, uint64_t b)
{
    if (b >= (1ull << 30))
        snprintf(buf, size, "%.1f GiB", (double)b / (1ull << 30));
    else if (b >= (1ull << 20))
        snprintf(buf, size, "%.1f MiB", (double)b / (1ull << 20));
    else
        snprintf(buf, size, "%.1f KiB", (double)b / 1024);
}
