/* s2s_audio.c - the inputs of a Whisper run (see s2s_audio.h). */
#include "s2s_audio.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/fileio.h"
#include "base/json.h"
#include "media/wav.h"
#include "model/forward.h"
#include "tok/whisper_lang.h"
#include "run_vision.h"
#include "s2s_text.h"

int s2s_audio_is_wav(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && strcasecmp(path + n - 4, ".wav") == 0;
}

mhv_status s2s_audio_input(const char *file, mhv_input *in, mhv_error *err)
{
    memset(in, 0, sizeof *in);
    if (!s2s_audio_is_wav(file) && cli_file_starts(file, 0, "RIFF", 4) &&
        cli_file_starts(file, 8, "WAVE", 4)) /* not "line 1: contains a NUL byte" */
        return mhv_fail(err, MHV_EINPUT, file, "a WAV file not named .wav: FILE is a .wav or "
                        "a list of them (rename it, or list it in a file)");
    if (!s2s_audio_is_wav(file))
        return mhv_input_read(file, in, err);
    size_t len = strlen(file);
    in->buf = malloc(len + 1);
    in->s = calloc(1, sizeof *in->s);
    if (!in->buf || !in->s) {
        mhv_input_free(in);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    memcpy(in->buf, file, len + 1);
    in->s[0] = (mhv_sentence){in->buf, len, 1};
    in->n = 1;
    snprintf(in->name, sizeof in->name, "%s", file);
    return MHV_OK;
}

/* tokenizer_config.json's language, task and predict_timestamps (WhisperTokenizer's
 * arguments), each NULL / 0 when absent; the strings into lang and task. */
static mhv_status tokenizer_settings(const char *dir, char *lang, char *task, size_t size,
                                     int *timestamps, mhv_error *err)
{
    char path[4200];
    cJSON *cfg = NULL;
    const char *v;
    lang[0] = task[0] = '\0';
    *timestamps = 0;
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    if (!mhv_path_exists(path))
        return MHV_OK;
    mhv_status st = mhv_json_load(path, (size_t)64 << 20, &cfg, err);
    if (st)
        return st;
    if (!(st = mhv_json_str(cfg, "language", "", &v, path, err)))
        snprintf(lang, size, "%s", v);
    if (!st && !(st = mhv_json_str(cfg, "task", "", &v, path, err)))
        snprintf(task, size, "%s", v);
    if (!st)
        st = mhv_json_bool(cfg, "predict_timestamps", 0, timestamps, path, err);
    cJSON_Delete(cfg);
    return st;
}

static mhv_status special_id(const mhv_tok *tok, const char *piece, const char *why,
                             int32_t *id, mhv_error *err)
{
    *id = mhv_tok_lookup(tok, piece, strlen(piece));
    if (*id < 0 || !mhv_tok_is_special(tok, *id))
        return mhv_fail(err, MHV_EUSAGE, "", "%s: the tokenizer has no special token %s", why,
                        piece);
    return MHV_OK;
}

mhv_status s2s_audio_open(s2s_audio *a, const mhv_model *m, const mhv_tok *tok,
                          const char *tgt_lang, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    memset(a, 0, sizeof *a);
    mhv_status st = mhv_logmel_load(m->dir, &a->fe, err);
    if (st)
        return st;
    char proc[4200];
    snprintf(proc, sizeof proc, "%s/preprocessor_config.json", m->dir);
    if (a->fe.feature_size != c->num_mel_bins)
        return mhv_fail(err, MHV_EUNSUPPORTED, proc, "feature_size %d is not config.json's "
                        "num_mel_bins %d", a->fe.feature_size, c->num_mel_bins);
    if (a->fe.frames != 2 * c->audio_positions)
        return mhv_fail(err, MHV_EUNSUPPORTED, proc, "the feature extractor makes %d frames "
                        "(chunk_length %d s, hop_length %d) but config.json's "
                        "max_source_positions %d takes %d: transformers refuses such input "
                        "features too", a->fe.frames, a->fe.chunk_length, a->fe.hop_length,
                        c->audio_positions, 2 * c->audio_positions);
    a->positions = c->audio_positions;
    a->seconds = 2.0 * a->fe.hop_length / a->fe.sampling_rate;
    a->eos = c->eos_id;
    if (!tok)
        return mhv_fail(err, MHV_EUSAGE, m->dir, "whisper needs its tokenizer (tokenizer.json) "
                        "for the decoder's prompt");
    char lang[64], task[64], piece[80];
    int timestamps;
    if ((st = tokenizer_settings(m->dir, lang, task, sizeof lang, &timestamps, err)))
        return st;
    if (tgt_lang && !tgt_lang[0]) /* not "no language": transformers refuses it too */
        return mhv_fail(err, MHV_EUSAGE, "", "--tgt-lang '' is not one of Whisper's languages "
                        "(a code such as en or a name such as english)");
    if (tgt_lang) { /* set_prefix_tokens(language=CODE, task="transcribe") */
        snprintf(lang, sizeof lang, "%s", tgt_lang);
        snprintf(task, sizeof task, "transcribe");
    }
    int32_t id;
    if ((st = special_id(tok, "<|startoftranscript|>", "the decoder's prompt", &id, err)))
        return st;
    a->prompt[a->np++] = id;
    if (lang[0]) { /* a name ("Hindi") or a code, as WhisperTokenizer's prefix_tokens */
        const char *code = mhv_whisper_language_code(lang);
        if (!code && tgt_lang)
            return mhv_fail(err, MHV_EUSAGE, "", "--tgt-lang '%.40s' is not one of Whisper's "
                            "languages (a code such as en or a name such as english)", lang);
        if (!code)
            return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "tokenizer_config.json's language "
                            "'%.40s' is not one of Whisper's (transformers refuses it too)", lang);
        snprintf(piece, sizeof piece, "<|%s|>", code);
        if ((st = special_id(tok, piece, tgt_lang ? "--tgt-lang" : "tokenizer_config.json's "
                             "language (give the code, such as en, with --tgt-lang)", &id, err)))
            return st;
        a->prompt[a->np++] = id;
    }
    if (task[0]) {
        if (strcmp(task, "transcribe") != 0 && strcmp(task, "translate") != 0)
            return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "tokenizer_config.json's task "
                            "'%.32s' is not transcribe or translate", task);
        snprintf(piece, sizeof piece, "<|%s|>", task);
        if ((st = special_id(tok, piece, "the task", &id, err)))
            return st;
        a->prompt[a->np++] = id;
    }
    if (!timestamps) {
        if ((st = special_id(tok, "<|notimestamps|>", "the decoder's prompt", &id, err)))
            return st;
        a->prompt[a->np++] = id;
    }
    return MHV_OK;
}

void s2s_audio_path(const char *list, const mhv_sentence *s, char *path, size_t size)
{
    if (s2s_audio_is_wav(list) && strcmp(list, s->text) == 0)
        snprintf(path, size, "%s", list);
    else
        run_vision_path(list, s, path, size);
}

mhv_status s2s_audio_source(const s2s_audio *a, const char *list, const mhv_sentence *s,
                            char *path, size_t size, int *used, size_t *samples,
                            mhv_encoding *enc, mhv_error *err)
{
    mhv_sentence p = *s;
    const char *tab = memchr(s->text, '\t', s->len);
    if (tab)
        p.len = (size_t)(tab - s->text);
    s2s_audio_path(list, &p, path, size);
    mhv_wav w;
    mhv_status st = mhv_wav_read(path, a->fe.sampling_rate, &w, err);
    if (st)
        return st;
    /* the positions whose frames hold audio: 2 frames of hop_length samples each */
    size_t n = w.frames < (size_t)a->fe.n_samples ? w.frames : (size_t)a->fe.n_samples;
    size_t per = 2 * (size_t)a->fe.hop_length;
    size_t u = (n + per - 1) / per;
    *used = u < 1 ? 1 : u > (size_t)a->positions ? a->positions : (int)u;
    *samples = w.frames;
    mhv_wav_free(&w);
    return cli_position_encoding(a->positions, cli_time_label, &a->seconds, enc, err);
}

mhv_status s2s_audio_features(const s2s_audio *a, const char *path, float **feats,
                              mhv_error *err)
{
    mhv_wav w;
    *feats = NULL;
    mhv_status st = mhv_wav_read(path, a->fe.sampling_rate, &w, err);
    if (st)
        return st;
    *feats = malloc((size_t)a->fe.feature_size * (size_t)a->fe.frames * sizeof **feats);
    if (!*feats)
        st = mhv_fail(err, MHV_ENOMEM, path, "out of memory for the log-mel features");
    else
        st = mhv_logmel_run(&a->fe, w.samples, w.frames, *feats, err);
    mhv_wav_free(&w);
    if (st) {
        free(*feats);
        *feats = NULL;
    }
    return st;
}

mhv_status s2s_audio_target(const s2s_audio *a, const mhv_tok *tok, const mhv_sentence *s,
                            cli_input_mode mode, mhv_encoding *out, mhv_error *err)
{
    if (mode == INPUT_IDS)
        return cli_encode_one(tok, s, INPUT_IDS, out, err);
    if (mode != INPUT_TEXT)
        return mhv_fail(err, MHV_EUSAGE, "", "whisper's transcripts are text or --ids");
    mhv_encoding te;
    mhv_status st = cli_encode_one(tok, s, INPUT_TEXT, &te, err);
    if (st)
        return st;
    /* the text's own tokens: those with a span (the template's have none) */
    int n = 0;
    for (int i = 0; i < te.n; i++)
        n += te.spans[2 * i] >= 0;
    int total = a->np + n + 1;
    memset(out, 0, sizeof *out);
    out->ids = malloc((size_t)total * sizeof *out->ids);
    out->pieces = calloc((size_t)total, sizeof *out->pieces);
    out->spans = malloc((size_t)total * 2 * sizeof *out->spans);
    if (!out->ids || !out->pieces || !out->spans) {
        mhv_encoding_free(&te);
        mhv_encoding_free(out);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    out->n = total;
    int k = 0;
    for (int i = 0; i < a->np; i++, k++)
        out->ids[k] = a->prompt[i], out->spans[2 * k] = out->spans[2 * k + 1] = -1;
    for (int i = 0; i < te.n; i++)
        if (te.spans[2 * i] >= 0) {
            out->ids[k] = te.ids[i];
            out->spans[2 * k] = te.spans[2 * i], out->spans[2 * k + 1] = te.spans[2 * i + 1];
            k++;
        }
    out->ids[k] = a->eos, out->spans[2 * k] = out->spans[2 * k + 1] = -1;
    mhv_encoding_free(&te);
    for (int i = 0; i < total; i++) {
        const char *piece = mhv_tok_piece(tok, out->ids[i]);
        if (!(out->pieces[i] = strdup(piece ? piece : "?"))) {
            mhv_encoding_free(out);
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        }
    }
    return MHV_OK;
}

/* ---- Whisper's generate: the decoder's first tokens ---- */

/* An integer token id of j (or -1 for null), else -2. */
static int32_t json_token(const cJSON *j)
{
    if (cJSON_IsNull(j))
        return -1;
    if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble >= MHV_MAX_VOCAB ||
        j->valuedouble != (double)(int32_t)j->valuedouble)
        return -2;
    return (int32_t)j->valuedouble;
}

static int has_id(const int32_t *v, int n, int32_t id)
{
    for (int i = 0; i < n; i++)
        if (v[i] == id)
            return 1;
    return 0;
}

/* The first highest logit among langs(n) after decoder_start_token_id. */
static mhv_status detect_language(const mhv_model *m, mhv_forward_ctx *fc, const float *feats,
                                  const int32_t *langs, int n, int32_t *out, mhv_error *err)
{
    int V = m->cfg.dec_vocab_size;
    float *logits = malloc((size_t)V * sizeof *logits);
    if (!logits)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory for logits");
    int32_t start = m->cfg.decoder_start_id;
    mhv_status st = mhv_forward_seq2seq_logits_audio(fc, m, feats, &start, 1, logits, err);
    /* torch's argmax over the masked row: the lowest index among equal maxima */
    int32_t best = -1;
    for (int v = 0; !st && v < V; v++)
        if (has_id(langs, n, v) && (best < 0 || logits[v] > logits[best]))
            best = v;
    free(logits);
    *out = best;
    return st;
}

enum { TOKEN_NONE = -1, TOKEN_DETECT = -2 };

mhv_status s2s_audio_gen_open(s2s_audio_gen *ag, const mhv_model *m, const char *tgt_lang,
                              mhv_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/generation_config.json", m->dir);
    memset(ag, 0, sizeof *ag);
    ag->detect_at = -1;
    cJSON *g = NULL;
    if (!mhv_path_exists(path))
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "--generate on whisper needs its "
                        "generation_config.json (Whisper's prompt and suppressed tokens)");
    mhv_status st = mhv_json_load(path, (size_t)64 << 20, &g, err);
    if (st)
        return st;
    const cJSON *langs = mhv_json_get(g, "lang_to_id"), *tasks = mhv_json_get(g, "task_to_id");
    const cJSON *fdi = mhv_json_get(g, "forced_decoder_ids"), *it;
    const char *language = NULL, *task = NULL;
    int multilingual = 1, timestamps = 0, start = m->cfg.decoder_start_id, no_ts = -1;
    int32_t *init = ag->init;
    int *n = &ag->n;
    if ((st = mhv_json_str(g, "language", "", &language, path, err)) ||
        (st = mhv_json_str(g, "task", "", &task, path, err)) ||
        (st = mhv_json_bool(g, "is_multilingual", 1, &multilingual, path, err)) ||
        (st = mhv_json_bool(g, "return_timestamps", 0, &timestamps, path, err)) ||
        (st = mhv_json_int(g, "decoder_start_token_id", start, 0, MHV_MAX_VOCAB - 1, &start,
                           path, err)) ||
        (st = mhv_json_int(g, "no_timestamps_token_id", -1, -1, MHV_MAX_VOCAB - 1, &no_ts, path,
                           err)))
        goto done;
    if (tgt_lang)
        language = tgt_lang;
    if (!language[0])
        language = NULL;
    if (!task[0])
        task = NULL;
    if (timestamps) {
        st = mhv_fail(err, MHV_EUNSUPPORTED, path, "return_timestamps is not supported "
                      "(WhisperTimeStampLogitsProcessor)");
        goto done;
    }
    if (!multilingual && (language || task)) {
        st = mhv_fail(err, MHV_EUSAGE, path, "an English-only model takes no language or task "
                      "(is_multilingual false), as transformers' generate says");
        goto done;
    }
    if ((language && !cJSON_IsObject(langs)) || (task && !cJSON_IsObject(tasks))) {
        st = mhv_fail(err, MHV_EUNSUPPORTED, path, "no %s: the generation config is not "
                      "Whisper's (transformers refuses a language or task without it)",
                      language && !cJSON_IsObject(langs) ? "lang_to_id" : "task_to_id");
        goto done;
    }
    init[(*n)++] = start;
    if (!language && !task && cJSON_IsArray(fdi)) { /* the old forced_decoder_ids */
        const cJSON *pair = fdi->child;
        for (int i = 1; pair && json_token(cJSON_GetArrayItem(pair, 0)) == i && *n < 6; i++) {
            int32_t id = json_token(cJSON_GetArrayItem(pair, 1));
            if (id < TOKEN_NONE) {
                st = mhv_fail(err, MHV_EFORMAT, path, "forced_decoder_ids holds a bad token id");
                goto done;
            }
            init[(*n)++] = id;
            pair = pair->next;
        }
        if (pair) {
            st = mhv_fail(err, MHV_EUNSUPPORTED, path, "forced_decoder_ids do not follow "
                          "Whisper's prompt (an entry for every index from 1)");
            goto done;
        }
    }
    int32_t lang_id = TOKEN_NONE;
    if (language) { /* generate's language_to_id: a lang_to_id token, a name or a code */
        char key[80];
        const char *code = mhv_whisper_language_code(language);
        snprintf(key, sizeof key, "%.70s", language);
        for (char *c = key; *c; c++)
            *c = *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : *c;
        if (!cJSON_GetObjectItemCaseSensitive(langs, key)) {
            if (!code) {
                st = mhv_fail(err, tgt_lang ? MHV_EUSAGE : MHV_EUNSUPPORTED, tgt_lang ? "" : path,
                              "%s '%.40s' is not one of Whisper's languages (a code such as en "
                              "or a name such as english)", tgt_lang ? "--tgt-lang" : "language",
                              language);
                goto done;
            }
            snprintf(key, sizeof key, "<|%s|>", code);
        }
        lang_id = json_token(cJSON_GetObjectItemCaseSensitive(langs, key));
        if (lang_id < 0) {
            st = mhv_fail(err, tgt_lang ? MHV_EUSAGE : MHV_EUNSUPPORTED, path, "language "
                          "%s is not in lang_to_id: this model does not take it", key);
            goto done;
        }
    } else if (cJSON_IsObject(langs) && (*n <= 1 || init[1] == TOKEN_NONE)) {
        /* detected for each audio (s2s_audio_gen_prompt) among lang_to_id's tokens */
        int count = cJSON_GetArraySize(langs);
        if (!(ag->langs = malloc(((size_t)count + 1) * sizeof *ag->langs))) {
            st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
            goto done;
        }
        cJSON_ArrayForEach(it, langs)
        {
            int32_t id = json_token(it);
            if (id < 0 || id >= m->cfg.dec_vocab_size) {
                st = mhv_fail(err, MHV_EFORMAT, path, "lang_to_id holds a token outside the "
                              "decoder's vocabulary");
                goto done;
            }
            ag->langs[ag->n_langs++] = id;
        }
        if (ag->n_langs == 0) {
            st = mhv_fail(err, MHV_EFORMAT, path, "lang_to_id is empty");
            goto done;
        }
        lang_id = TOKEN_DETECT;
    }
    if (lang_id != TOKEN_NONE) {
        if (*n > 1)
            init[1] = lang_id;
        else
            init[(*n)++] = lang_id;
    }
    if (task) {
        int32_t tid = json_token(cJSON_GetObjectItem(tasks, task));
        if (tid < 0) {
            st = mhv_fail(err, MHV_EUNSUPPORTED, path, "task '%.32s' is not in task_to_id", task);
            goto done;
        }
        /* appended, then every task token replaced by it (replace_or_add) */
        init[(*n)++] = tid;
        for (int i = 0; i < *n; i++)
            cJSON_ArrayForEach(it, tasks)
                if (json_token(it) == init[i])
                    init[i] = tid;
    } else if (language && cJSON_IsObject(tasks)) {
        int any = 0;
        cJSON_ArrayForEach(it, tasks)
            any |= has_id(init, *n, json_token(it));
        int32_t tr = json_token(cJSON_GetObjectItem(tasks, "transcribe"));
        if (!any && tr >= 0)
            init[(*n)++] = tr;
    }
    if (no_ts >= 0 && init[*n - 1] != no_ts)
        init[(*n)++] = no_ts;
    int k = 0; /* no None tokens; the detected language's place kept */
    for (int i = 0; i < *n; i++)
        if (init[i] != TOKEN_NONE) {
            if (init[i] == TOKEN_DETECT)
                ag->detect_at = k;
            init[k++] = init[i];
        }
    *n = k;
    if (language)
        snprintf(ag->language, sizeof ag->language, "%s", language);
done:
    cJSON_Delete(g);
    if (st)
        s2s_audio_gen_close(ag);
    return st;
}

void s2s_audio_gen_close(s2s_audio_gen *ag)
{
    free(ag->langs);
    ag->langs = NULL;
    ag->n_langs = 0;
}

mhv_status s2s_audio_gen_prompt(const s2s_audio_gen *ag, const mhv_model *m,
                                mhv_forward_ctx *fc, const float *feats, int32_t *prompt,
                                mhv_error *err)
{
    memcpy(prompt, ag->init, (size_t)ag->n * sizeof *prompt);
    if (ag->detect_at < 0)
        return MHV_OK;
    return detect_language(m, fc, feats, ag->langs, ag->n_langs, &prompt[ag->detect_at], err);
}

mhv_status s2s_audio_alignment_heads(const mhv_model *m, char **spec, mhv_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/generation_config.json", m->dir);
    *spec = NULL;
    if (!mhv_path_exists(path))
        return mhv_fail(err, MHV_EUSAGE, "", "--heads alignment: %s has no "
                        "generation_config.json (its alignment_heads)", m->dir);
    cJSON *g;
    mhv_status st = mhv_json_load(path, (size_t)64 << 20, &g, err);
    if (st)
        return st;
    const cJSON *ah = mhv_json_get(g, "alignment_heads"), *pair;
    int n = cJSON_IsArray(ah) ? cJSON_GetArraySize(ah) : 0;
    if (n == 0) {
        cJSON_Delete(g);
        return mhv_fail(err, MHV_EUSAGE, path, "--heads alignment: no alignment_heads");
    }
    size_t cap = (size_t)n * 32 + 1, len = 0;
    char *s = malloc(cap);
    if (!s) {
        cJSON_Delete(g);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    s[0] = '\0';
    cJSON_ArrayForEach(pair, ah)
    {
        int32_t l = json_token(cJSON_GetArrayItem(pair, 0));
        int32_t h = json_token(cJSON_GetArrayItem(pair, 1));
        if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2 || l < 0 || h < 0 ||
            l >= m->cfg.dec_layers || h >= m->cfg.num_heads) {
            free(s);
            cJSON_Delete(g);
            return mhv_fail(err, MHV_EFORMAT, path, "alignment_heads holds an entry that is not "
                            "[decoder layer, head] of the model");
        }
        len += (size_t)snprintf(s + len, cap - len, "%scross:%d:%d", len ? "," : "", (int)l,
                                (int)h);
    }
    cJSON_Delete(g);
    *spec = s;
    return MHV_OK;
}

char *s2s_audio_json(const s2s_audio *a, const char *path, size_t samples, int used)
{
    char *q = cli_json_string(path);
    size_t cap = q ? 512 + strlen(q) + (size_t)a->positions * 16 : 0, len = 0;
    char *s = q ? malloc(cap) : NULL;
    if (!s) {
        free(q);
        return NULL;
    }
    len += (size_t)snprintf(s, cap, ",\n   \"audio\": {\"path\": %s", q);
    free(q);
    len += (size_t)snprintf(s + len, cap - len,
                            ", \"sampling_rate\": %d, \"samples\": %zu, \"seconds\": %.6g, "
                            "\"window_seconds\": %d, \"position_seconds\": %.6g, "
                            "\"positions\": %d, \"positions_with_audio\": %d,\n    "
                            "\"position_times\": [",
                            a->fe.sampling_rate, samples,
                            (double)samples / a->fe.sampling_rate, a->fe.chunk_length,
                            a->seconds, a->positions, used);
    for (int i = 0; i < a->positions; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s%.6g", i ? ", " : "", i * a->seconds);
    snprintf(s + len, cap - len, "]}");
    return s;
}

void s2s_audio_gen_json(const s2s_audio_gen *ag, const struct s2s_gen_s *gen,
                        const mhv_model *m, char *buf, size_t size)
{
    char desc[1900];
    mhv_gen_describe(&gen->cfg, ag->n, mhv_forward_gen_positions(m), desc, (int)sizeof desc);
    size_t n = (size_t)snprintf(buf, size, "{\"from\": \"%s\", \"decoder_prompt\": [",
                                gen->file);
    for (int i = 0; i < ag->n && n < size; i++) {
        if (i == ag->detect_at)
            n += (size_t)snprintf(buf + n, size - n, "%snull", i ? ", " : "");
        else
            n += (size_t)snprintf(buf + n, size - n, "%s%d", i ? ", " : "", (int)ag->init[i]);
    }
    if (n < size && (ag->detect_at >= 0 || ag->language[0]))
        n += (size_t)snprintf(buf + n, size - n, "], \"language\": \"%s\"",
                              ag->detect_at >= 0 ? "detected" : ag->language);
    else if (n < size)
        n += (size_t)snprintf(buf + n, size - n, "], \"language\": null");
    if (gen->overridden[0] && n < size)
        n += (size_t)snprintf(buf + n, size - n, ", \"greedy\": \"--greedy instead of %s\"",
                              gen->overridden);
    if (n < size)
        snprintf(buf + n, size - n, ", %s", desc + 1);
}
