/* logmel.c - Whisper's log-mel features (see logmel.h). */
#include "media/logmel.h"

#include <cjson/cJSON.h>
#include <complex.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/json.h"
#include "media/dft.h"

#define MEL_MAX_HZ 8000.0 /* WhisperFeatureExtractor's mel_filter_bank max_frequency */
#define MEL_FLOOR 1e-10   /* audio_utils.spectrogram's mel_floor */

mhv_logmel_cfg mhv_logmel_defaults(void)
{
    mhv_logmel_cfg c = {.feature_size = 80, .sampling_rate = 16000, .hop_length = 160,
                        .chunk_length = 30, .n_fft = 400, .padding_value = 0.0};
    c.n_samples = c.chunk_length * c.sampling_rate;
    c.frames = c.n_samples / c.hop_length;
    return c;
}

/* Frames the STFT makes of n samples padded by n_fft / 2 at both ends, less the last one
 * (which the extractor drops). */
static int kept_frames(int n, int n_fft, int hop)
{
    long long padded = (long long)n + 2 * (n_fft / 2);
    return (int)((padded - n_fft) / hop); /* 1 + floor(...) - 1 */
}

mhv_status mhv_logmel_load(const char *dir, mhv_logmel_cfg *c, mhv_error *err)
{
    *c = mhv_logmel_defaults();
    char path[4200];
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    if (!mhv_path_exists(path))
        return MHV_OK;
    cJSON *root;
    mhv_status st = mhv_json_load(path, 1u << 20, &root, err);
    if (st)
        return st;
    const char *type, *side;
    double dither;
    if ((st = mhv_json_str(root, "feature_extractor_type", "WhisperFeatureExtractor", &type,
                           path, err)) ||
        (st = mhv_json_int(root, "feature_size", 80, 1, 1024, &c->feature_size, path, err)) ||
        (st = mhv_json_int(root, "sampling_rate", 16000, 1, 1000000, &c->sampling_rate, path,
                           err)) ||
        (st = mhv_json_int(root, "hop_length", 160, 1, 1 << 20, &c->hop_length, path, err)) ||
        (st = mhv_json_int(root, "chunk_length", 30, 1, 3600, &c->chunk_length, path, err)) ||
        (st = mhv_json_int(root, "n_fft", 400, 2, 1 << 16, &c->n_fft, path, err)) ||
        (st = mhv_json_num(root, "padding_value", 0.0, -1e30, 1e30, &c->padding_value, path,
                           err)) ||
        (st = mhv_json_num(root, "dither", 0.0, -1e30, 1e30, &dither, path, err)) ||
        (st = mhv_json_str(root, "padding_side", "right", &side, path, err)))
        goto out;
    if (strcmp(type, "WhisperFeatureExtractor") != 0) {
        st = mhv_fail(err, MHV_EUNSUPPORTED, path, "feature_extractor_type '%.64s' is not "
                      "supported (WhisperFeatureExtractor is)", type);
    } else if (dither != 0.0) {
        st = mhv_fail(err, MHV_EUNSUPPORTED, path, "dither %g adds random noise to the audio: "
                      "only 0 is supported", dither);
    } else if (strcmp(side, "right") != 0) {
        st = mhv_fail(err, MHV_EUNSUPPORTED, path, "padding_side '%.32s' is not supported "
                      "(right is)", side);
    } else {
        long long ns = (long long)c->chunk_length * c->sampling_rate;
        if (ns > 200000000LL || ns <= c->n_fft / 2)
            st = mhv_fail(err, MHV_EUNSUPPORTED, path, "chunk_length %d s at %d Hz is %lld "
                          "samples: outside 1 + n_fft / 2 .. 200000000", c->chunk_length,
                          c->sampling_rate, ns);
        else if (c->sampling_rate / 2 < 1)
            st = mhv_fail(err, MHV_EFORMAT, path, "sampling_rate %d is too low",
                          c->sampling_rate);
        c->n_samples = (int)ns;
        c->frames = kept_frames(c->n_samples, c->n_fft, c->hop_length);
        if (!st && c->frames < 1)
            st = mhv_fail(err, MHV_EUNSUPPORTED, path, "chunk_length %d s makes no frame of "
                          "hop_length %d", c->chunk_length, c->hop_length);
    }
out:
    cJSON_Delete(root);
    return st;
}

/* ---- the slaney mel filters, as audio_utils.mel_filter_bank computes them (float64) ---- */

static double hz_to_mel(double f)
{
    if (f >= 1000.0)
        return 15.0 + log(f / 1000.0) * (27.0 / log(6.4));
    return 3.0 * f / 200.0;
}

static double mel_to_hz(double m)
{
    if (m >= 15.0)
        return 1000.0 * exp(log(6.4) / 27.0 * (m - 15.0));
    return 200.0 * m / 3.0;
}

/* np.linspace(a, b, n)[i] */
static double linspace(double a, double b, int n, int i)
{
    if (i == n - 1)
        return b;
    return (double)i * ((b - a) / (double)(n - 1)) + a;
}

/* filt(bins, mels): the weight of frequency bin i in mel filter j. */
static void mel_filters(int bins, int mels, int rate, double *filt, double *ff)
{
    /* ff(mels + 2): the filters' corner frequencies */
    double m0 = hz_to_mel(0.0), m1 = hz_to_mel(MEL_MAX_HZ);
    for (int j = 0; j < mels + 2; j++)
        ff[j] = mel_to_hz(linspace(m0, m1, mels + 2, j));
    for (int i = 0; i < bins; i++) {
        double f = linspace(0.0, (double)(rate / 2), bins, i);
        for (int j = 0; j < mels; j++) {
            double down = -(ff[j] - f) / (ff[j + 1] - ff[j]);
            double up = (ff[j + 2] - f) / (ff[j + 2] - ff[j + 1]);
            double w = down < up ? down : up;
            filt[(size_t)i * (size_t)mels + (size_t)j] = w > 0.0 ? w : 0.0;
        }
    }
    for (int j = 0; j < mels; j++) {
        double enorm = 2.0 / (ff[j + 2] - ff[j]);
        for (int i = 0; i < bins; i++)
            filt[(size_t)i * (size_t)mels + (size_t)j] *= enorm;
    }
}

mhv_status mhv_logmel_run(const mhv_logmel_cfg *c, const float *samples, size_t n, float *out,
                          mhv_error *err)
{
    int N = c->n_fft, half = N / 2, bins = N / 2 + 1, mels = c->feature_size;
    int frames = c->frames;
    size_t len = (size_t)c->n_samples, padded = len + 2 * (size_t)half;
    double *x = malloc(padded * sizeof *x);
    double *win = malloc((size_t)N * sizeof *win);
    double *filt = malloc((size_t)bins * (size_t)mels * sizeof *filt);
    double *ff = malloc(((size_t)mels + 2) * sizeof *ff);
    double *power = malloc((size_t)bins * sizeof *power);
    double *logmel = malloc((size_t)mels * (size_t)frames * sizeof *logmel);
    double complex *buf = malloc((size_t)N * sizeof *buf), *spec = malloc((size_t)N * sizeof *spec);
    mhv_dft_plan pl = {0};
    mhv_status st = MHV_OK;
    if (!x || !win || !filt || !ff || !power || !logmel || !buf || !spec ||
        mhv_dft_plan_init(&pl, N)) {
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory for the log-mel spectrogram");
        goto done;
    }
    /* the float32 audio padded (or cut) to n_samples, then reflect-padded (np.pad reflect) */
    for (size_t i = 0; i < len; i++)
        x[half + i] = i < n ? (double)samples[i] : (double)(float)c->padding_value;
    for (int k = 0; k < half; k++) {
        x[half - 1 - k] = x[half + 1 + k];
        x[half + len + (size_t)k] = x[half + len - 2 - (size_t)k];
    }
    /* np.hanning(N + 1)[:-1]: 0.5 + 0.5 cos(pi k / N), k = -N, -N + 2, ... */
    for (int i = 0; i < N; i++)
        win[i] = 0.5 + 0.5 * cos(M_PI * (double)(2 * i - N) / (double)N);
    mel_filters(bins, mels, c->sampling_rate, filt, ff);
    for (int t = 0; t < frames; t++) {
        const double *fr = x + (size_t)t * (size_t)c->hop_length;
        for (int i = 0; i < N; i++)
            buf[i] = fr[i] * win[i];
        mhv_dft(&pl, buf, spec);
        for (int b = 0; b < bins; b++) { /* kept as complex64, |z| in float64, squared */
            double a = hypot((double)(float)creal(spec[b]), (double)(float)cimag(spec[b]));
            power[b] = a * a;
        }
        for (int j = 0; j < mels; j++) {
            double s = 0.0;
            for (int b = 0; b < bins; b++)
                s += filt[(size_t)b * (size_t)mels + (size_t)j] * power[b];
            logmel[(size_t)j * (size_t)frames + (size_t)t] = s;
        }
    }
    /* floor, log10 to float32, then the clamp to max - 8 and the scaling in float32 */
    float mx = -INFINITY;
    size_t cells = (size_t)mels * (size_t)frames;
    for (size_t i = 0; i < cells; i++) {
        double v = logmel[i] > MEL_FLOOR ? logmel[i] : MEL_FLOOR;
        out[i] = (float)log10(v);
        mx = out[i] > mx ? out[i] : mx;
    }
    float lo = mx - 8.0f;
    for (size_t i = 0; i < cells; i++)
        out[i] = ((out[i] > lo ? out[i] : lo) + 4.0f) / 4.0f;
done:
    free(x), free(win), free(filt), free(ff), free(power), free(logmel), free(buf), free(spec);
    mhv_dft_plan_free(&pl);
    return st;
}
