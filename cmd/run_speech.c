/* run_speech.c - the inputs of a speech encoder's run (see run_speech.h). */
#include "run_speech.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/astfeat.h"
#include "media/w2vfeat.h"
#include "media/wav.h"
#include "s2s_audio.h"

/* What an AST patch's label says: when its frames start, where its bins start. */
typedef struct {
    int cols;
    double col_seconds;
    const double *row_hz;
} patch_labels;

/* [CLS], [DIST], then each patch by its first frame's start and its lowest mel bin's centre
 * ("0.30s:540Hz") */
static void patch_label(int i, char *buf, size_t size, const void *ctx)
{
    const patch_labels *p = ctx;
    if (i < 2) {
        snprintf(buf, size, "%s", i ? "[DIST]" : "[CLS]");
        return;
    }
    int k = i - 2;
    snprintf(buf, size, "%.2fs:%.0fHz", (k % p->cols) * p->col_seconds, p->row_hz[k / p->cols]);
}

/* The Audio Spectrogram Transformer's input: each WAV's filter bank features (max_length x
 * num_mel_bins) in (*waves)[i].x, n its samples; the tokens [CLS], [DIST] and the patches */
static mhv_status spectrogram_read(cli_job *job, const char *file, run_speech_wave *waves,
                                   mhv_error *err)
{
    const mhv_config *c = &job->m->cfg;
    mhv_astfeat_cfg fe;
    mhv_status st;
    if ((st = mhv_astfeat_load(job->m->dir, &fe, err)))
        return st;
    if (fe.num_mel_bins != c->spec_mels || fe.max_length != c->spec_frames)
        return mhv_fail(err, MHV_EFORMAT, job->m->dir, "preprocessor_config.json's "
                        "num_mel_bins %d and max_length %d are not config.json's %d and %d",
                        fe.num_mel_bins, fe.max_length, c->spec_mels, c->spec_frames);
    int rows = (c->spec_mels - c->patch_size) / c->spec_fstride + 1;
    int cols = (c->spec_frames - c->patch_size) / c->spec_tstride + 1;
    size_t cells = (size_t)fe.max_length * (size_t)fe.num_mel_bins;
    const mhv_input *in = &job->in;
    for (int i = 0; i < in->n; i++) {
        char path[4096];
        const mhv_sentence *s = &in->s[i];
        s2s_audio_path(file, s, path, sizeof path);
        mhv_wav w;
        if ((st = mhv_wav_read(path, fe.sampling_rate, &w, err)))
            return st;
        if (w.frames < MHV_AST_FRAME) {
            st = mhv_fail(err, MHV_EINPUT, path, "%zu samples are too short for one frame of "
                          "%s (%d)", w.frames, c->arch, MHV_AST_FRAME);
            mhv_wav_free(&w);
            return st;
        }
        double *row_hz = malloc((size_t)rows * sizeof *row_hz);
        waves[i].x = malloc(cells * sizeof(float));
        if (!row_hz || !waves[i].x) {
            free(row_hz);
            mhv_wav_free(&w);
            return mhv_fail(err, MHV_ENOMEM, path, "out of memory");
        }
        waves[i].row_hz = row_hz;
        for (int r = 0; r < rows; r++)
            row_hz[r] = mhv_astfeat_bin_hz(&fe, r * c->spec_fstride);
        int frames;
        st = mhv_astfeat_run(&fe, w.samples, w.frames, waves[i].x, &frames, err);
        waves[i].n = (long)w.frames;
        double col_seconds = (double)c->spec_tstride * MHV_AST_HOP / fe.sampling_rate;
        waves[i].info = (mhv_report_audio){strdup(path), fe.sampling_rate, (long)w.frames, 0,
                                           frames, fe.max_length, rows, cols, col_seconds,
                                           row_hz};
        mhv_wav_free(&w);
        if (st)
            return st;
        if (!waves[i].info.path)
            return mhv_fail(err, MHV_ENOMEM, path, "out of memory");
        patch_labels pl = {cols, col_seconds, row_hz};
        if ((st = cli_position_encoding(2 + rows * cols, patch_label, &pl, &job->encs[i], err)))
            return st;
    }
    return MHV_OK;
}

mhv_status run_speech_read(cli_job *job, const char *heads, const char *file,
                           run_speech_wave **waves, mhv_error *err)
{
    const mhv_config *c = &job->m->cfg;
    *waves = NULL;
    mhv_w2vfeat_cfg fe;
    mhv_status st;
    if ((st = mhv_heads_parse(heads, c->num_layers, c->num_heads, &job->sel, err)) ||
        (!c->spectrogram && (st = mhv_w2vfeat_load(job->m->dir, &fe, err))) ||
        (st = s2s_audio_input(file, &job->in, err)))
        return st;
    const mhv_input *in = &job->in;
    job->encs = calloc((size_t)in->n, sizeof *job->encs);
    *waves = calloc((size_t)in->n, sizeof **waves);
    if (!job->encs || !*waves)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    if (c->spectrogram)
        return spectrogram_read(job, file, *waves, err);
    long ratio = mhv_config_speech_ratio(c);
    for (int i = 0; i < in->n; i++) {
        char path[4096];
        const mhv_sentence *s = &in->s[i];
        s2s_audio_path(file, s, path, sizeof path);
        mhv_wav w;
        if ((st = mhv_wav_read(path, fe.sampling_rate, &w, err)))
            return st;
        long frames = mhv_config_speech_frames(c, (long)w.frames);
        if (frames < 1 || frames > CLI_MAX_TOKENS) {
            if (frames < 1)
                st = mhv_fail(err, MHV_EINPUT, path, "%zu samples are too short for one frame "
                              "of %s", w.frames, c->arch);
            else
                st = mhv_fail(err, MHV_EINPUT, path, "%zu samples are too long (more than %d "
                              "frames of %s)", w.frames, CLI_MAX_TOKENS, c->arch);
            mhv_wav_free(&w);
            return st;
        }
        if (!((*waves)[i].x = malloc((w.frames ? w.frames : 1) * sizeof(float)))) {
            mhv_wav_free(&w);
            return mhv_fail(err, MHV_ENOMEM, path, "out of memory");
        }
        mhv_w2vfeat_run(&fe, w.samples, w.frames, (*waves)[i].x);
        (*waves)[i].n = (long)w.frames;
        (*waves)[i].info = (mhv_report_audio){.path = strdup(path),
                                              .sampling_rate = fe.sampling_rate,
                                              .samples = (long)w.frames,
                                              .frame_seconds = (double)ratio / fe.sampling_rate};
        mhv_wav_free(&w);
        if (!(*waves)[i].info.path)
            return mhv_fail(err, MHV_ENOMEM, path, "out of memory");
        double step = (double)ratio / fe.sampling_rate;
        if ((st = cli_position_encoding((int)frames, cli_time_label, &step, &job->encs[i],
                                        err)))
            return st;
    }
    return MHV_OK;
}

void run_speech_free(run_speech_wave *waves, int n)
{
    for (int i = 0; waves && i < n; i++)
        free(waves[i].x), free((char *)waves[i].info.path), free(waves[i].row_hz);
    free(waves);
}
