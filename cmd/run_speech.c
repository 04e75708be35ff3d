/* run_speech.c - the inputs of a speech encoder's run (see run_speech.h). */
#include "run_speech.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/w2vfeat.h"
#include "media/wav.h"
#include "run_vision.h"
#include "s2s_audio.h"

mhv_status run_speech_read(cli_job *job, const char *heads, const char *file,
                           run_speech_wave **waves, mhv_error *err)
{
    const mhv_config *c = &job->m->cfg;
    *waves = NULL;
    mhv_w2vfeat_cfg fe;
    mhv_status st;
    if ((st = mhv_heads_parse(heads, c->num_layers, c->num_heads, &job->sel, err)) ||
        (st = mhv_w2vfeat_load(job->m->dir, &fe, err)) ||
        (st = s2s_audio_input(file, &job->in, err)))
        return st;
    const mhv_input *in = &job->in;
    job->encs = calloc((size_t)in->n, sizeof *job->encs);
    *waves = calloc((size_t)in->n, sizeof **waves);
    if (!job->encs || !*waves)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    long ratio = mhv_config_speech_ratio(c);
    for (int i = 0; i < in->n; i++) {
        char path[4096];
        const mhv_sentence *s = &in->s[i];
        if (s2s_audio_is_wav(file) && strcmp(file, s->text) == 0)
            snprintf(path, sizeof path, "%s", file);
        else
            run_vision_path(file, s, path, sizeof path);
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
        (*waves)[i].info = (mhv_report_audio){strdup(path), fe.sampling_rate, (long)w.frames,
                                              (double)ratio / fe.sampling_rate};
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
        free(waves[i].x), free((char *)waves[i].info.path);
    free(waves);
}
