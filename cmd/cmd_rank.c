/* cmd_rank.c - `mhaviz rank`: the heads that carry attention from one word to another. */
#include <getopt.h>
#include <math.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "outdir.h"
#include "analysis/finite.h"
#include "commands.h"
#include "model/forward.h"
#include "analysis/weighting.h"
#include "nn/blocks.h"
#include "base/heads.h"
#include "base/jsonw.h"
#include "analysis/rank.h"
#include "rank_seq2seq.h"
#include "run_figures.h"
#include "text/unicode.h"

static const char rank_usage[] =
    "usage: mhaviz rank --from WORD --to WORD [--model DIR] [--top K] [--nth K] [--to-nth K]\n"
    "                   [--heads SPEC] [--format table|json] [--truncate] [--substring]\n"
    "                   [--allow-unk] [--weighting attn|norm|norm-out]\n"
    "                   [--by attention|ablation] [--render] [--render-format png,svg,pdf]\n"
    "                   [--view matrix|lines|row] [figure options] [--out DIR]\n"
    "                   [--pairs [--stack enc|dec|cross] [--src-lang CODE] [--tgt-lang CODE]]\n"
    "                   FILE\n"
    "\n"
    "Ranks the heads by the attention the tokens of WORD (--from) pay to the tokens of\n"
    "WORD (--to), over the sentences of FILE (- for stdin) that contain both. Words are\n"
    "whole words of the sentence text (CJK, kana, Thai: any characters), mapped to the\n"
    "tokens whose character spans overlap them, whatever the tokenizer did.\n"
    "\n"
    "  --from WORD      the attending word (score: mean over its tokens)\n"
    "  --to WORD        the attended word (score: sum over its tokens)\n"
    "  --model DIR      Hugging Face model directory (default: $MHAVIZ_MODEL, else the\n"
    "                   bundled sample model)\n"
    "  --top K          list the K best heads (default 10; 0 = all)\n"
    "  --nth K          use the K-th occurrence of --from in each sentence (default 1)\n"
    "  --to-nth K       use the K-th occurrence of --to in each sentence (default 1)\n"
    "  --heads SPEC     rank only these heads (default all), e.g. 3:*,5:1\n"
    "  --format FMT     table (default): per head the score, -mean (score minus the mean\n"
    "                   score of all heads ranked) and /mean (score divided by that mean),\n"
    "                   after one '# line N:' comment per sentence naming the tokens\n"
    "                   matched; json: {\"from\", \"to\", \"sentences\": [{\"line\", \"from\":\n"
    "                   [{\"index\", \"text\"}...], \"to\": [...]}...], \"heads\": [{\"layer\",\n"
    "                   \"head\", \"score\"}...]}\n"
    "  --truncate       cut sentences longer than the model's positions instead of failing\n"
    "  --substring      match --from / --to anywhere, even inside a longer word (\"it\" in\n"
    "                   \"fit\"); default: whole words only\n"
    "  --allow-unk      rank a sentence where a word matched only the unknown token\n"
    "                   ([UNK]); default: report it and skip the sentence\n"
    "  --weighting W    score on attn (default: attention weights), norm (alpha_ij *\n"
    "                   ||v_j||) or norm-out (alpha_ij * ||v_j W_O^h||), rows normalised\n"
    "                   to sum 1 (run --help); named in the table's first line and json\n"
    "  --by KIND        attention (default): score by attention from --from to --to;\n"
    "                   ablation: by how much removing the head alone (its output zeroed)\n"
    "                   lowers the model's prediction of the --from word: masked-LM, the\n"
    "                   probability of its tokens masked; causal LM, the log-probability\n"
    "                   of each of its tokens after the text before it (mean over them)\n"
    "  --render         also draw the listed heads for each sentence used, the rows of\n"
    "                   --from and the columns of --to outlined: OUT/<stem>/L05-H03.png\n"
    "                   (<stem>-2, <stem>-3 ... for later lines), as run names them\n"
    "  --render-format LIST  comma list of png (default), svg, pdf; implies --render\n"
    "  --out DIR        where --render writes (default: mhaviz-out; not -)\n"
    "  --view VIEW      --render's figures: matrix (default), lines, or row (a bar chart\n"
    "                   of the --from word's attention, the --to word's bars coloured)\n"
    "  --colormap, --scale, --cell, --values, --dpi, --font, --font-size, --title,\n"
    "  --no-title, --model-name, --min-weight, --svg-text   as for run (mhaviz run --help)\n"
    "  --pairs          lines are FIRST<TAB>SECOND, as run --pairs. Encoders: the pair\n"
    "                   as tokenizer(first, second) encodes it; --from and --to may be in\n"
    "                   either sentence. Encoder-decoders (T5, BART, Marian): SOURCE<TAB>\n"
    "                   TARGET; ranks the heads of --stack (--weighting too)\n"
    "  --stack STACK    cross (default: --from in the target, --to in the source), enc\n"
    "                   (both in the source) or dec (both in the target)\n"
    "  --src-lang CODE, --tgt-lang CODE   mBART's, NLLB's and M2M100's codes, as for run\n"
    "  -h, --help       show this help\n";

typedef struct {
    const char *from, *to, *model, *heads, *file;
    int top, nth, to_nth, json, truncate;
    int substring, allow_unk; /* --substring, --allow-unk */
    int32_t unk;            /* the tokenizer's unknown token; -1: none, or --allow-unk */
    const char *unk_piece;  /* its text, "[UNK]" */
    int render;         /* MHV_FIG_* mask of --render / --render-format, 0 = no figures */
    const char *out;    /* --out DIR */
    run_fig_opts fig;   /* --render's figure options (--colormap, --view row ...) */
    const char *fig_opt; /* the first one given, for "only with --render" */
    mhv_weighting weighting; /* --weighting */
    int causal;         /* the model is a causal LM */
    int32_t mask_id;    /* --by ablation, masked-LM: the mask token */
    int by_ablation;    /* --by ablation: score = what removing the head costs the prediction
                         * of the --from word */
    int pairs;          /* --pairs: encoder-decoder sentence pairs */
    mhv_stack stack;    /* --stack, MHV_STACK_SELF when not given */
    const char *src_lang, *tgt_lang; /* --src-lang, --tgt-lang (mBART) */
} rank_opts;

static int parse_count(const char *s, int min, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < min || v > 1000000)
        return -1;
    *out = (int)v;
    return 0;
}

/* "png", "svg", "png,svg" (either order) as a MHV_FIG_* mask; 0 for anything else. */
static int parse_figure_formats(const char *list)
{
    int mask = 0;
    for (const char *p = list;;) {
        size_t n = strcspn(p, ",");
        if (n == 3 && strncmp(p, "png", 3) == 0)
            mask |= MHV_FIG_PNG;
        else if (n == 3 && strncmp(p, "svg", 3) == 0)
            mask |= MHV_FIG_SVG;
        else if (n == 3 && strncmp(p, "pdf", 3) == 0)
            mask |= MHV_FIG_PDF;
        else
            return 0;
        if (p[n] == '\0')
            return mask;
        p += n + 1;
    }
}

/* getopt values of the options without a short letter */
enum { OPT_SUBSTRING = 1000, OPT_ALLOW_UNK, OPT_WEIGHTING, OPT_BY, OPT_PAIRS, OPT_STACK,
       OPT_SRC_LANG, OPT_TGT_LANG };

static int parse(int argc, char **argv, rank_opts *o)
{
    static const struct option longopts[] = {
        {"from", required_argument, 0, 'F'},  {"to", required_argument, 0, 'T'},
        {"model", required_argument, 0, 'm'}, {"top", required_argument, 0, 'k'},
        {"nth", required_argument, 0, 'n'},   {"to-nth", required_argument, 0, 'N'},
        {"heads", required_argument, 0, 'H'}, {"format", required_argument, 0, 'f'},
        {"truncate", no_argument, 0, 't'},    {"help", no_argument, 0, 'h'},
        {"render", no_argument, 0, 'r'},      {"render-format", required_argument, 0, 'R'},
        {"out", required_argument, 0, 'o'},
        {"substring", no_argument, 0, OPT_SUBSTRING},
        {"allow-unk", no_argument, 0, OPT_ALLOW_UNK},
        {"weighting", required_argument, 0, OPT_WEIGHTING},
        {"by", required_argument, 0, OPT_BY},
        {"pairs", no_argument, 0, OPT_PAIRS},
        {"stack", required_argument, 0, OPT_STACK},
        {"src-lang", required_argument, 0, OPT_SRC_LANG},
        {"tgt-lang", required_argument, 0, OPT_TGT_LANG},
        RUN_FIG_LONGOPTS,
        {0, 0, 0, 0},
    };
    *o = (rank_opts){.heads = "all", .top = 10, .nth = 1, .to_nth = 1, .out = "mhaviz-out"};
    o->fig.render = mhv_render_default_params();
    int out_given = 0;
    const char *format = "table";
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'F': o->from = optarg; break;
        case 'T': o->to = optarg; break;
        case 'm': o->model = optarg; break;
        case 'H': o->heads = optarg; break;
        case 'f': format = optarg; break;
        case 't': o->truncate = 1; break;
        case OPT_SUBSTRING: o->substring = 1; break;
        case OPT_ALLOW_UNK: o->allow_unk = 1; break;
        case OPT_BY:
            if (strcmp(optarg, "attention") == 0)
                o->by_ablation = 0;
            else if (strcmp(optarg, "ablation") == 0)
                o->by_ablation = 1;
            else
                return cli_usage_error("rank", "--by '%s' is not attention or ablation", optarg);
            break;
        case OPT_WEIGHTING: {
            mhv_error e;
            if (mhv_weighting_parse(optarg, &o->weighting, &e))
                return cli_usage_error("rank", "--weighting '%s' is not attn, norm or norm-out",
                                       optarg);
            o->fig.weighting = mhv_weighting_name(o->weighting);
            o->fig.render.quantity = run_fig_quantity(o->weighting);
            break;
        }
        case 'r':
            if (!o->render) /* a --render-format given before stays */
                o->render = MHV_FIG_PNG;
            break;
        case 'R':
            if ((o->render = parse_figure_formats(optarg)) == 0)
                return cli_usage_error("rank", "--render-format '%s' is not supported (a comma "
                                       "list of png, svg, pdf)", optarg);
            break;
        case 'o':
            o->out = optarg;
            out_given = 1;
            break;
        case 'k':
            if (parse_count(optarg, 0, &o->top))
                return cli_usage_error("rank", "--top '%s' is not a count (0 = all)", optarg);
            break;
        case 'n':
        case 'N':
            if (parse_count(optarg, 1, c == 'n' ? &o->nth : &o->to_nth))
                return cli_usage_error("rank", "%s '%s' is not a positive number",
                                       c == 'n' ? "--nth" : "--to-nth", optarg);
            break;
        case OPT_PAIRS: o->pairs = 1; break;
        case OPT_SRC_LANG: o->src_lang = optarg; break;
        case OPT_TGT_LANG: o->tgt_lang = optarg; break;
        case OPT_STACK:
            if (strcmp(optarg, "enc") == 0 || strcmp(optarg, "encoder") == 0)
                o->stack = MHV_STACK_ENCODER;
            else if (strcmp(optarg, "dec") == 0 || strcmp(optarg, "decoder") == 0)
                o->stack = MHV_STACK_DECODER;
            else if (strcmp(optarg, "cross") == 0)
                o->stack = MHV_STACK_CROSS;
            else
                return cli_usage_error("rank", "--stack '%s' is not enc, dec or cross", optarg);
            break;
        case 'h': fputs(rank_usage, stdout); return -1;
        case ':': return cli_usage_error("rank", "option '%s' needs a value", argv[optind - 1]);
        default: {
            int rc = c >= FIG_OPT_FIRST && c < FIG_OPT_LAST
                         ? run_fig_option("rank", c, optarg, &o->fig) : 1;
            if (rc)
                return rc == 1 ? cli_usage_error("rank", "unknown option '%s'", argv[optind - 1])
                               : rc;
            if (!o->fig_opt)
                o->fig_opt = run_fig_option_name(c);
        }
        }
    }
    if (o->by_ablation && o->weighting != MHV_WEIGHT_ATTN)
        return cli_usage_error("rank", "--weighting is for --by attention");
    if (o->fig_opt && !o->render)
        return cli_usage_error("rank", "--%s is for --render's figures", o->fig_opt);
    if (strcmp(format, "table") == 0)
        o->json = 0;
    else if (strcmp(format, "json") == 0)
        o->json = 1;
    else
        return cli_usage_error("rank", "--format '%s' is not supported (supported: table, json)",
                               format);
    if (out_given && !o->render)
        return cli_usage_error("rank", "--out is for --render's figures");
    if (!o->from || !*o->from)
        return cli_usage_error("rank", "--from WORD is required");
    if (!o->to || !*o->to)
        return cli_usage_error("rank", "--to WORD is required");
    /* the words are quoted back in messages: never echo bytes that are not text */
    if (!mhv_utf8_valid(o->from, strlen(o->from), NULL) ||
        !mhv_utf8_valid(o->to, strlen(o->to), NULL))
        return cli_usage_error("rank", "--%s WORD is not valid UTF-8",
                               mhv_utf8_valid(o->from, strlen(o->from), NULL) ? "to" : "from");
    if (optind != argc - 1)
        return cli_usage_error("rank", optind >= argc ? "no input FILE given"
                                                      : "exactly one input FILE expected");
    o->file = argv[optind];
    if (o->stack != MHV_STACK_SELF && !o->pairs)
        return cli_usage_error("rank", "--stack needs --pairs (an encoder-decoder model)");
    if ((o->src_lang || o->tgt_lang) && !o->pairs)
        return cli_usage_error("rank", "--src-lang and --tgt-lang need --pairs (an "
                               "encoder-decoder model)");
    if (o->pairs && (o->render || o->by_ablation || o->truncate || o->allow_unk))
        return cli_usage_error("rank", "--pairs works without --render, --by ablation, "
                               "--truncate and --allow-unk");
    return 0;
}

/* The sentence in an error message, shortened: a corpus line can be long. */
static void excerpt(const mhv_sentence *s, char *buf, size_t size)
{
    size_t n = s->len, max = 120;
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s->text[n] & 0xC0) == 0x80)
            n--;
    }
    snprintf(buf, size, "%.*s%s", (int)n, s->text, n < s->len ? "..." : "");
}

/* "first" ... "tenth", then "11th", "22nd" ... */
static void ordinal(int k, char *buf, size_t size)
{
    static const char *const words[] = {"first", "second", "third", "fourth", "fifth",
                                        "sixth", "seventh", "eighth", "ninth", "tenth"};
    if (k >= 1 && k <= 10) {
        snprintf(buf, size, "%s", words[k - 1]);
        return;
    }
    const char *suffix = "th";
    if (k % 100 < 11 || k % 100 > 13)
        suffix = k % 10 == 1 ? "st" : k % 10 == 2 ? "nd" : k % 10 == 3 ? "rd" : "th";
    snprintf(buf, size, "%d%s", k, suffix);
}

/* The tokenizer's unknown token ([UNK] for WordPiece, <unk> for SentencePiece), -1 when it
 * has none (byte-level BPE spells every text). */
static int32_t unk_id(const mhv_tok *tok)
{
    static const char *const names[] = {"[UNK]", "<unk>"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        int32_t id = mhv_tok_lookup(tok, names[k], strlen(names[k]));
        if (id >= 0 && mhv_tok_is_special(tok, id))
            return id;
    }
    return -1;
}

/* What locate found in one sentence: used, or why not. */
enum { LOC_OK, LOC_ABSENT, LOC_FEW, LOC_CUT, LOC_UNK };

/* Finds both words into r ({from t0, t1, to t0, t1}); anything but LOC_OK leaves a message
 * in err: a word absent (LOC_ABSENT), fewer occurrences than --nth / --to-nth (LOC_FEW), cut
 * off by --truncate (LOC_CUT), or matched only the unknown token o->unk (LOC_UNK; r is
 * filled). */
static int locate_why(const mhv_sentence *s, const mhv_encoding *e, const rank_opts *o,
                      const char *file, int r[4], mhv_error *err)
{
    const char *words[2] = {o->from, o->to};
    const char *flags[2] = {"--nth", "--to-nth"};
    int nths[2] = {o->nth, o->to_nth};
    mhv_rank_match how = o->substring ? MHV_RANK_SUBSTRING : MHV_RANK_WORDS;
    char ex[200];
    excerpt(s, ex, sizeof ex);
    for (int w = 0; w < 2; w++) {
        int got = mhv_rank_find(s->text, s->len, e, words[w], nths[w], how, &r[2 * w],
                                &r[2 * w + 1]);
        if (got < nths[w]) {
            int t0, t1; /* occurrences inside other words, which --substring would count */
            int inside = how == MHV_RANK_WORDS
                             ? mhv_rank_find(s->text, s->len, e, words[w], INT_MAX,
                                             MHV_RANK_SUBSTRING, &t0, &t1) - got
                             : 0;
            if (got == 0 && inside > 0) {
                mhv_fail(err, MHV_EINPUT, file,
                         "line %d: '%s' occurs only inside other words (%d time%s; --substring "
                         "counts those) in \"%s\"",
                         s->line, words[w], inside, inside == 1 ? "" : "s", ex);
                return LOC_ABSENT;
            }
            if (got == 0) {
                mhv_fail(err, MHV_EINPUT, file, "line %d: '%s' does not occur in \"%s\"",
                         s->line, words[w], ex);
                return LOC_ABSENT;
            }
            char hint[80] = "";
            if (inside > 0)
                snprintf(hint, sizeof hint, " (%d more inside other words: --substring counts "
                         "those)", inside);
            char nth[16];
            ordinal(nths[w], nth, sizeof nth);
            mhv_fail(err, MHV_EINPUT, file,
                     "line %d has %d occurrence%s of '%s'; %s %d asked for the %s%s, in \"%s\"",
                     s->line, got, got == 1 ? "" : "s", words[w], flags[w], nths[w], nth, hint,
                     ex);
            return LOC_FEW;
        }
        if (r[2 * w] == r[2 * w + 1]) {
            mhv_fail(err, MHV_EINPUT, file, "line %d: '%s' was cut off by --truncate", s->line,
                     words[w]);
            return LOC_CUT;
        }
    }
    for (int w = 0; w < 2; w++)
        if (mhv_rank_only_unk(e, r[2 * w], r[2 * w + 1], o->unk)) {
            int t0 = r[2 * w], t1 = r[2 * w + 1];
            char at[32];
            if (t1 - t0 == 1)
                snprintf(at, sizeof at, "token %d", t0);
            else
                snprintf(at, sizeof at, "tokens %d-%d", t0, t1 - 1);
            mhv_fail(err, MHV_EINPUT, file,
                     "line %d: '%s' is only the unknown token %s (%s): the vocabulary lacks "
                     "it; --allow-unk ranks it anyway",
                     s->line, words[w], o->unk_piece, at);
            return LOC_UNK;
        }
    return LOC_OK;
}

/* Finds both words; 0 when the sentence is not used (err says why). */
static int locate(const mhv_sentence *s, const mhv_encoding *e, const rank_opts *o,
                  const char *file, int r[4], mhv_error *err)
{
    return locate_why(s, e, o, file, r, err) == LOC_OK;
}

/* The tokens [t0, t1) as `token 13 "它"` or `tokens 1 "苹", 2 "果"` (json = 0), or as
 * [{"index": 13, "text": "它"}] (json = 1). */
static void print_tokens(const mhv_tok *tok, const mhv_encoding *e, int t0, int t1, int json)
{
    if (json)
        fputs("[", stdout);
    else
        printf("token%s ", t1 - t0 == 1 ? "" : "s");
    for (int t = t0; t < t1; t++) {
        char text[256];
        mhv_tok_token_text(tok, e->ids[t], text, sizeof text);
        if (json)
            printf("%s{\"index\": %d, \"text\": ", t > t0 ? ", " : "", t);
        else
            printf("%s%d ", t > t0 ? ", " : "", t);
        mhv_jsonw_str(stdout, text, strlen(text));
        if (json)
            fputs("}", stdout);
    }
    if (json)
        fputs("]", stdout);
}

/* What each sentence matched: the sentences used, and those skipped for the unknown token. */
typedef struct {
    const mhv_input *in;
    const mhv_encoding *encs;
    const mhv_tok *tok;
    const int (*r)[4];          /* (in->n, 4) the token ranges locate found */
    const unsigned char *why;   /* (in->n,) LOC_* */
} rank_matches;

static void print_matches_table(const rank_matches *mt, const rank_opts *o)
{
    for (int i = 0; i < mt->in->n; i++) {
        if (mt->why[i] != LOC_OK && mt->why[i] != LOC_UNK)
            continue;
        printf("# line %d: %s'%s' = ", mt->in->s[i].line,
               mt->why[i] == LOC_UNK ? "skipped, only unknown tokens: " : "", o->from);
        print_tokens(mt->tok, &mt->encs[i], mt->r[i][0], mt->r[i][1], 0);
        printf("; '%s' = ", o->to);
        print_tokens(mt->tok, &mt->encs[i], mt->r[i][2], mt->r[i][3], 0);
        fputs("\n", stdout);
    }
}

static void print_matches_json(const rank_matches *mt, const rank_opts *o)
{
    fputs("{\"from\": ", stdout);
    mhv_jsonw_str(stdout, o->from, strlen(o->from));
    fputs(", \"to\": ", stdout);
    mhv_jsonw_str(stdout, o->to, strlen(o->to));
    if (o->weighting != MHV_WEIGHT_ATTN)
        printf(", \"weighting\": \"%s\"", mhv_weighting_name(o->weighting));
    if (o->by_ablation)
        printf(", \"by\": \"ablation\"");
    fputs(",\n \"sentences\": [", stdout);
    int k = 0;
    for (int i = 0; i < mt->in->n; i++) {
        if (mt->why[i] != LOC_OK && mt->why[i] != LOC_UNK)
            continue;
        printf("%s\n  {\"line\": %d, ", k++ ? "," : "", mt->in->s[i].line);
        if (mt->why[i] == LOC_UNK)
            fputs("\"skipped\": \"unknown token\", ", stdout);
        fputs("\"from\": ", stdout);
        print_tokens(mt->tok, &mt->encs[i], mt->r[i][0], mt->r[i][1], 1);
        fputs(", \"to\": ", stdout);
        print_tokens(mt->tok, &mt->encs[i], mt->r[i][2], mt->r[i][3], 1);
        fputs("}", stdout);
    }
    fputs("],\n \"heads\": ", stdout);
}

static void print_table(const mhv_rank_entry *e, int k, int total, double mean,
                        const rank_opts *o, int used, const rank_matches *mt)
{
    if (o->by_ablation)
        printf("# heads ranked by how much removing each lowers the %s of '%s' over %d "
               "sentence%s; mean of %d heads %.4f\n",
               o->causal ? "log-probability" : "masked probability", o->from, used,
               used == 1 ? "" : "s", total, mean);
    else
    printf("# heads ranked by %s%sattention from '%s' to '%s' over %d sentence%s; mean of %d "
           "heads %.4f\n",
           o->weighting != MHV_WEIGHT_ATTN ? mhv_weighting_name(o->weighting) : "",
           o->weighting != MHV_WEIGHT_ATTN ? "-weighted " : "", o->from, o->to, used, used == 1 ? "" : "s", total, mean);
    print_matches_table(mt, o);
    printf("%4s %5s %4s %8s %9s %7s\n", "rank", "layer", "head", "score", "-mean", "/mean");
    for (int i = 0; i < k; i++) {
        char ratio[32];
        if (mean > 0)
            snprintf(ratio, sizeof ratio, "%.2fx", e[i].score / mean);
        else
            snprintf(ratio, sizeof ratio, "-");
        printf("%4d %5d %4d %8.4f %+9.4f %7s\n", i + 1, e[i].layer, e[i].head, e[i].score,
               e[i].score - mean, ratio);
    }
}

static void print_json(const mhv_rank_entry *e, int k, const rank_opts *o,
                       const rank_matches *mt)
{
    print_matches_json(mt, o);
    fputs("[", stdout);
    for (int i = 0; i < k; i++) {
        printf("%s{\"layer\": %d, \"head\": %d, \"score\": ", i ? ",\n  " : "", e[i].layer,
               e[i].head);
        mhv_jsonw_float(stdout, (float)e[i].score);
        fputs("}", stdout);
    }
    fputs("]}\n", stdout);
}

/* The model's prediction of the tokens [f0, f1) of e with the heads of ab removed (NULL:
 * none): masked-LM (mask_id >= 0), those tokens masked and the mean probability of the
 * originals; causal, the mean log-probability of each after the tokens before it. */
static mhv_status predict_from(mhv_forward_ctx *fc, const mhv_model *m, int32_t mask_id,
                               const mhv_encoding *e, int32_t *ids, int f0, int f1,
                               const mhv_head_ablation *ab, float *logits, double *out,
                               mhv_error *err)
{
    int V = m->cfg.vocab_size;
    memcpy(ids, e->ids, (size_t)e->n * sizeof *ids);
    if (mask_id >= 0)
        for (int t = f0; t < f1; t++)
            ids[t] = mask_id;
    mhv_status st = mhv_forward_logits_ablated(fc, m, ids, e->n, ab, logits, err);
    if (st)
        return st;
    double sum = 0;
    for (int t = f0; t < f1; t++) {
        const float *z = logits + (size_t)(mask_id >= 0 ? t : t - 1) * (size_t)V;
        double mx = z[0], se = 0;
        for (int v = 1; v < V; v++)
            mx = z[v] > mx ? z[v] : mx;
        for (int v = 0; v < V; v++)
            se += exp((double)z[v] - mx);
        double lp = (double)z[e->ids[t]] - mx - log(se);
        sum += mask_id >= 0 ? exp(lp) : lp;
    }
    *out = sum / (f1 - f0);
    if (!isfinite(*out))
        return mhv_fail(err, MHV_EINPUT, "", "the logits are not finite");
    return MHV_OK;
}

/* --by ablation: adds to acc, for each head of sel, the prediction of [f0, f1) without
 * ablation minus that with the head alone zeroed. */
static mhv_status ablation_scores(mhv_forward_ctx *fc, const mhv_model *m, int32_t mask_id,
                                  const mhv_encoding *e, int f0, int f1, const mhv_heads *sel,
                                  mhv_rank_acc *acc, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int L = c->num_layers, H = c->num_heads;
    float *logits = malloc((size_t)e->n * (size_t)c->vocab_size * sizeof *logits);
    int32_t *ids = malloc((size_t)e->n * sizeof *ids);
    unsigned char *off = calloc((size_t)L * (size_t)H, 1);
    mhv_status st = MHV_OK;
    if (!logits || !ids || !off) {
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        goto out;
    }
    double base;
    if ((st = predict_from(fc, m, mask_id, e, ids, f0, f1, NULL, logits, &base, err)))
        goto out;
    mhv_head_ablation ab = {L, H, c->head_dim, off, NULL, NULL};
    for (int k = 0; k < L * H; k++) {
        if (!sel->sel[k])
            continue;
        off[k] = 1;
        double v;
        st = predict_from(fc, m, mask_id, e, ids, f0, f1, &ab, logits, &v, err);
        off[k] = 0;
        if (st)
            goto out;
        acc->sum[k] += base - v;
        acc->count[k]++;
    }
out:
    free(logits);
    free(ids);
    free(off);
    return st;
}

/* --render: the k best heads of every sentence that has both words, the rows of --from
 * and the columns of --to outlined, into OUT/<stem>[-i]/ as `run` names them. Sentences are
 * run again, for the chosen heads only, so that the first pass holds no attention. On
 * failure every file written is removed: they are drawn in a staging directory (cmd/outdir.h). */
static mhv_status render_top(mhv_forward_ctx *fc, const mhv_model *m, const mhv_tok *tok,
                             const mhv_input *in, const mhv_encoding *encs,
                             const mhv_rank_entry *top, int k, const rank_opts *o,
                             mhv_error *err)
{
    int L = m->cfg.num_layers, H = m->cfg.num_heads;
    mhv_heads sel = {L, H, calloc((size_t)L * (size_t)H, 1)};
    size_t nlen = strlen(o->from) + strlen(o->to) + 8;
    char *note = malloc(nlen);
    if (!sel.sel || !note) {
        free(note);
        mhv_heads_free(&sel);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    for (int e = 0; e < k; e++)
        sel.sel[top[e].layer * H + top[e].head] = 1;
    snprintf(note, nlen, "%s \xE2\x86\x92 %s", o->from, o->to); /* "它 → 苹果" */
    char stem[256];
    mhv_input_stem(o->file, stem, sizeof stem);
    run_fig_opts fo = o->fig;
    fo.formats = o->render;
    int longest = 0;
    for (int i = 0; i < in->n; i++)
        longest = encs[i].n > longest ? encs[i].n : longest;
    run_fig_values_warn(&fo, longest);
    /* written into a staging directory moved into --out at the end (cmd/outdir.h) */
    cli_outdir od;
    mhv_status st = cli_outdir_begin(&od, o->out, err);
    if (st) {
        free(note);
        mhv_heads_free(&sel);
        return st;
    }
    run_figs figs;
    st = run_figs_begin(&figs, &fo, m, tok, err);
    for (int i = 0; !st && i < in->n; i++) {
        int r[4];
        mhv_error miss = {0};
        if (!locate(&in->s[i], &encs[i], o, in->name, r, &miss))
            continue;
        cli_progress("rank --render", i + 1, in->n, 0);
        mhv_attn attn;
        if ((st = mhv_forward_run(fc, m, encs[i].ids, encs[i].n, &sel, &attn, err))) {
            cli_fail_line(err, st, in, i);
            break;
        }
        if ((st = mhv_attn_check_finite(&attn, err)) ||
            (st = mhv_weighting_apply(&attn, o->weighting, NULL, err))) {
            mhv_attn_free(&attn);
            cli_fail_line(err, st, in, i);
            break;
        }
        mhv_highlight hl = {r[0], r[1], r[2], r[3], note};
        st = run_figs_heads(&figs, od.stage, stem, i, &in->s[i], &encs[i], &attn, &hl, err);
        mhv_attn_free(&attn);
    }
    cli_progress("rank --render", in->n, in->n, 1);
    run_figs_end(&figs, st == MHV_OK);
    if (st)
        cli_outdir_abort(&od, err);
    else
        st = cli_outdir_commit(&od, err);
    free(note);
    mhv_heads_free(&sel);
    return st;
}

/* Sentences located for the ranking, waiting to run as packed forward passes
 * (mhv_forward_run_pack): their maps are added to the ranking in input order. */
typedef struct {
    int count, tokens;
    int budget, cap;        /* tokens and sentences a pack holds */
    int *idx;               /* (cap,) the input sentence of each */
    int (*rows)[64];        /* (cap,) the --from word's query rows */
    mhv_forward_item *items;
    mhv_attn *outs;
} rank_pack;

static mhv_status rank_pack_init(rank_pack *p, mhv_forward_ctx *fc, const mhv_model *m,
                                 mhv_error *err)
{
    memset(p, 0, sizeof *p);
    p->budget = mhv_forward_pack_tokens(fc, m);
    p->cap = p->budget < 1 ? 1 : p->budget < 256 ? p->budget : 256;
    p->idx = malloc((size_t)p->cap * sizeof *p->idx);
    p->rows = malloc((size_t)p->cap * sizeof *p->rows);
    p->items = malloc((size_t)p->cap * sizeof *p->items);
    p->outs = malloc((size_t)p->cap * sizeof *p->outs);
    if (!p->idx || !p->rows || !p->items || !p->outs)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    return MHV_OK;
}

static void rank_pack_free(rank_pack *p)
{
    free(p->idx), free(p->rows), free(p->items), free(p->outs);
}

/* Runs the pending sentences and adds their maps to acc, in order; a failure names its
 * sentence's line. */
static mhv_status rank_pack_flush(rank_pack *p, mhv_forward_ctx *fc, const cli_job *job,
                                  const rank_opts *o, const int (*rg)[4], mhv_rank_acc *acc,
                                  mhv_error *err)
{
    int done = 0, n = p->count;
    p->count = p->tokens = 0;
    if (!n)
        return MHV_OK;
    mhv_status st = mhv_forward_run_pack(fc, job->m, p->items, n, &job->sel, p->outs, &done,
                                         err);
    int failed = st ? p->idx[done] : -1;
    for (int s = 0; s < done; s++) {
        mhv_attn *a = &p->outs[s];
        const int *r = rg[p->idx[s]];
        if (!st && ((st = mhv_attn_check_finite(a, err)) ||
                    (st = mhv_weighting_apply(a, o->weighting, NULL, err))))
            failed = p->idx[s];
        if (!st)
            mhv_rank_acc_add(acc, a, r[0], r[1], r[2], r[3]);
        mhv_attn_free(a);
    }
    if (st)
        cli_fail_line(err, st, &job->in, failed);
    return st;
}

int cmd_rank(int argc, char **argv)
{
    rank_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;

    char model_buf[4096];
    const char *dir = cli_model_dir(o.model, model_buf, sizeof model_buf);
    mhv_error err = {0};
    cli_job job = {0};
    mhv_rank_acc acc = {0};
    mhv_rank_entry *ranked = NULL;
    int (*rg)[4] = NULL;        /* (job.in.n, 4) token ranges of each sentence */
    unsigned char *why = NULL;  /* (job.in.n,) LOC_* of each sentence */
    mhv_forward_ctx *fc = NULL;
    rank_pack pk = {0};
    mhv_forward_params fp = cli_forward_params(0);
    fp.value_norms = mhv_weighting_vnorm(o.weighting);
    mhv_status st;
    if ((st = cli_open_model(dir, INPUT_TEXT, &job.m, &job.tok, &err)))
        goto done;
    if ((st = cli_refuse_non_text(&job.m->cfg, "rank", &err)))
        goto done;
    /* an encoder's sentence pairs are ranked as sentences, with their token type ids */
    int enc_pairs = o.pairs && !job.m->cfg.enc_dec && !job.m->cfg.causal;
    if (enc_pairs && o.weighting != MHV_WEIGHT_ATTN) {
        st = mhv_fail(&err, MHV_EUSAGE, "", "--weighting with --pairs is for encoder-decoder "
                      "models; not available for an encoder's pairs yet");
        goto done;
    }
    if (enc_pairs && o.stack != MHV_STACK_SELF) {
        st = mhv_fail(&err, MHV_EUSAGE, "", "--stack is for encoder-decoder models; %s is an "
                      "encoder", job.m->cfg.arch);
        goto done;
    }
    if (!enc_pairs && job.m->cfg.enc_dec != o.pairs) {
        st = mhv_fail(&err, MHV_EUSAGE, "", o.pairs ? "--pairs needs a text encoder or an "
                      "encoder-decoder model; %s is neither" : "%s is an encoder-decoder model: "
                      "rank it with --pairs (lines SOURCE<TAB>TARGET) and --stack",
                      job.m->cfg.arch);
        goto done;
    }
    if (o.pairs && !enc_pairs) {
        rank_s2s_opts so = {.from = o.from, .to = o.to, .heads = o.heads, .file = o.file,
                            .top = o.top, .nth = o.nth, .to_nth = o.to_nth, .json = o.json,
                            .how = o.substring ? MHV_RANK_SUBSTRING : MHV_RANK_WORDS,
                            .stack = o.stack ? o.stack : MHV_STACK_CROSS,
                            .src_lang = o.src_lang, .tgt_lang = o.tgt_lang,
                            .weighting = o.weighting};
        st = rank_seq2seq(&so, job.m, job.tok, &err);
        goto done;
    }
    if ((st = cli_job_read(&job, o.heads, o.file, enc_pairs ? INPUT_PAIRS : INPUT_TEXT,
                           o.truncate, &err)))
        goto done;
    o.unk = o.allow_unk ? -1 : unk_id(job.tok);
    o.unk_piece = o.unk >= 0 ? mhv_tok_piece(job.tok, o.unk) : "";
    int L = job.m->cfg.num_layers, H = job.m->cfg.num_heads;
    ranked = calloc((size_t)L * (size_t)H, sizeof *ranked);
    rg = calloc((size_t)job.in.n + 1, sizeof *rg);
    why = calloc((size_t)job.in.n + 1, sizeof *why);
    if (!ranked || !rg || !why) {
        st = mhv_fail(&err, MHV_ENOMEM, job.in.name, "out of memory");
        goto done;
    }
    if ((st = mhv_rank_acc_init(&acc, L, H, &err)) ||
        (st = mhv_forward_ctx_new(&fp, &fc, &err)) ||
        (st = rank_pack_init(&pk, fc, job.m, &err)))
        goto done;

    int used = 0, skipped = 0, skipped_unk = 0, skipped_first = 0;
    o.causal = job.m->cfg.causal;
    o.mask_id = -1;
    if (o.by_ablation && !o.causal) {
        o.mask_id = mhv_tok_lookup(job.tok, "[MASK]", 6);
        if (o.mask_id < 0)
            o.mask_id = mhv_tok_lookup(job.tok, "<mask>", 6);
        if (o.mask_id < 0) {
            st = mhv_fail(&err, MHV_EUNSUPPORTED, dir, "the tokenizer has no [MASK] or <mask> "
                          "token to predict");
            goto done;
        }
    }
    mhv_error first_few = {0}, first_unk = {0}; /* why no sentence was used, when none is */
    for (int i = 0; i < job.in.n; i++) {
        int *r = rg[i];
        mhv_error miss = {0};
        why[i] = (unsigned char)locate_why(&job.in.s[i], &job.encs[i], &o, job.in.name, r,
                                           &miss);
        if (why[i] != LOC_OK) {
            if (job.in.n == 1) {
                err = miss;
                st = MHV_EINPUT;
                goto done;
            }
            if (why[i] == LOC_FEW && !first_few.msg[0])
                first_few = miss;
            if (why[i] == LOC_UNK && !first_unk.msg[0])
                first_unk = miss;
            if (why[i] == LOC_UNK)
                skipped_unk++;
            else
                skipped++;
            continue;
        }
        cli_progress("rank", i + 1, job.in.n, 0);
        if (o.by_ablation) {
            int f0 = r[0] > 0 || !o.causal ? r[0] : 1; /* nothing predicts a first token */
            if (f0 >= r[1]) {
                skipped_first++;
                continue;
            }
            if ((st = ablation_scores(fc, job.m, o.mask_id, &job.encs[i], f0, r[1], &job.sel,
                                      &acc, &err))) {
                cli_progress("rank", job.in.n, job.in.n, 1);
                cli_fail_line(&err, st, &job.in, i);
                goto done;
            }
            used++;
            continue;
        }
        /* consecutive sentences of up to pk.budget tokens run as one pass */
        if (pk.count && (pk.count == pk.cap || pk.tokens + job.encs[i].n > pk.budget) &&
            (st = rank_pack_flush(&pk, fc, &job, &o, (const int (*)[4])rg, &acc, &err))) {
            cli_progress("rank", job.in.n, job.in.n, 1);
            goto done;
        }
        /* only the --from word's query rows are kept: what the score reads */
        int *from_rows = pk.rows[pk.count], nfrom = r[1] - r[0] <= 64 ? r[1] - r[0] : 0;
        for (int q = 0; q < nfrom; q++)
            from_rows[q] = r[0] + q;
        pk.idx[pk.count] = i;
        pk.items[pk.count++] = (mhv_forward_item){job.encs[i].ids,
                                                  cli_type_ids(job.m, &job.encs[i]),
                                                  job.encs[i].n, nfrom ? from_rows : NULL, nfrom};
        pk.tokens += job.encs[i].n;
        used++;
    }
    if ((st = rank_pack_flush(&pk, fc, &job, &o, (const int (*)[4])rg, &acc, &err))) {
        cli_progress("rank", job.in.n, job.in.n, 1);
        goto done;
    }
    cli_progress("rank", job.in.n, job.in.n, 1);
    if (used == 0) {
        /* the most telling reason: an --nth past the count, else the unknown token */
        if (first_few.msg[0])
            err = first_few;
        else if (first_unk.msg[0])
            err = first_unk;
        else
            mhv_fail(&err, MHV_EINPUT, job.in.name, "no sentence contains both '%s' and '%s'",
                     o.from, o.to);
        st = MHV_EINPUT;
        goto done;
    }
    if (skipped_first)
        cli_say("%s: skipped %d of %d sentences where '%s' is the first token (nothing "
                "predicts it)", job.in.name, skipped_first, job.in.n, o.from);
    if (skipped)
        cli_say("%s: skipped %d of %d sentences lacking '%s' or '%s'", job.in.name, skipped,
                job.in.n, o.from, o.to);
    if (skipped_unk)
        cli_say("%s: skipped %d of %d sentences where '%s' or '%s' is only the unknown token "
                "%s (--allow-unk ranks them)", job.in.name, skipped_unk, job.in.n, o.from, o.to,
                o.unk_piece);
    double mean;
    int total = mhv_rank_acc_result(&acc, ranked, &mean);
    int k = o.top == 0 || o.top > total ? total : o.top;
    /* figures first: a run that cannot write them prints no ranking either */
    if (o.render &&
        (st = render_top(fc, job.m, job.tok, &job.in, job.encs, ranked, k, &o, &err)))
        goto done;
    rank_matches mt = {&job.in, job.encs, job.tok, (const int (*)[4])rg, why};
    if (o.json)
        print_json(ranked, k, &o, &mt);
    else
        print_table(ranked, k, total, mean, &o, used, &mt);
    if (fflush(stdout) != 0 || ferror(stdout))
        st = mhv_fail(&err, MHV_EIO, "<stdout>", "write error");
done:
    rank_pack_free(&pk);
    mhv_forward_ctx_free(fc);
    mhv_rank_acc_free(&acc);
    free(ranked);
    free(rg);
    free(why);
    cli_job_close(&job);
    return st ? cli_report(st, &err) : EXIT_OK;
}
