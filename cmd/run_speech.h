/* run_speech.h - the input of a speech encoder's run (wav2vec2, HuBERT): WAV files, the
 * waveform normalised as preprocessor_config.json says, its frames labelled by time; the
 * Audio Spectrogram Transformer's: the WAV's filter bank features, its patches labelled by
 * time and frequency. */
#ifndef MHV_RUN_SPEECH_H
#define MHV_RUN_SPEECH_H

#include "analysis/report.h"
#include "cli.h"

/* One WAV's input_values, and what the report says of it. */
typedef struct {
    float *x;               /* AST: the filter bank features (max_length, num_mel_bins) */
    long n;                 /* the samples */
    mhv_report_audio info;  /* path owned */
    double *row_hz;         /* AST: info.row_hz, owned */
} run_speech_wave;

/* With job->m a speech encoder: parses the heads spec, reads file (a .wav, or a list of
 * WAV paths one a line, relative paths tried beside the list too) into job->in (the paths
 * as lines), each WAV at the feature extractor's rate, normalised, into (*waves)[i], and
 * job->encs[i] its frames: pieces their start times ("0.02s"), ids 0... On failure the
 * caller still calls run_speech_free and cli_job_close. */
mhv_status run_speech_read(cli_job *job, const char *heads, const char *file,
                           run_speech_wave **waves, mhv_error *err);
void run_speech_free(run_speech_wave *waves, int n);

#endif
