/* astfeat.c - ASTFeatureExtractor's Kaldi-style filter bank features (see astfeat.h). */
#include "media/astfeat.h"

#include <cjson/cJSON.h>
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/json.h"
#include "media/dft.h"
#include "media/npsum.h"

#define AST_FFT 512           /* the DFT's length: 257 frequency bins */
#define AST_MIN_HZ 20.0       /* the lowest filter's lower edge */
#define AST_PREEMPHASIS 0.97
/* spectrogram()'s mel_floor as ASTFeatureExtractor writes it: float32's epsilon mistyped
 * (1.1920929550e-07, not 2^-23 = 1.1920928955e-07); the value used is this one */
#define AST_MEL_FLOOR 1.192092955078125e-07

mhv_status mhv_astfeat_load(const char *dir, mhv_astfeat_cfg *c, mhv_error *err)
{
    *c = (mhv_astfeat_cfg){16000, 128, 1024, 1, -4.2677393, 4.5689974};
    char path[4200];
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    if (!mhv_path_exists(path))
        return MHV_OK;
    cJSON *root;
    mhv_status st = mhv_json_load(path, 1u << 20, &root, err);
    if (st)
        return st;
    const char *type;
    int size;
    if ((st = mhv_json_str(root, "feature_extractor_type", "ASTFeatureExtractor", &type, path,
                           err)) ||
        (st = mhv_json_int(root, "feature_size", 1, 1, 1 << 20, &size, path, err)) ||
        (st = mhv_json_int(root, "sampling_rate", 16000, 2 * (int)AST_MIN_HZ + 1, 1000000,
                           &c->sampling_rate, path, err)) ||
        (st = mhv_json_int(root, "num_mel_bins", 128, 1, 256, &c->num_mel_bins, path, err)) ||
        (st = mhv_json_int(root, "max_length", 1024, 1, 1 << 16, &c->max_length, path, err)) ||
        (st = mhv_json_bool(root, "do_normalize", 1, &c->do_normalize, path, err)) ||
        (st = mhv_json_num(root, "mean", -4.2677393, -1e30, 1e30, &c->mean, path, err)) ||
        (st = mhv_json_num(root, "std", 4.5689974, -1e30, 1e30, &c->std, path, err)))
        goto out;
    if (strcmp(type, "ASTFeatureExtractor") != 0)
        st = mhv_fail(err, MHV_EUNSUPPORTED, path, "feature_extractor_type '%.64s' is not "
                      "supported (ASTFeatureExtractor is)", type);
    else if (size != 1)
        st = mhv_fail(err, MHV_EUNSUPPORTED, path, "feature_size %d is not supported (1: the "
                      "waveform is)", size);
    else if (c->do_normalize && c->std == 0)
        st = mhv_fail(err, MHV_EFORMAT, path, "std 0 divides the features by zero");
out:
    cJSON_Delete(root);
    return st;
}

static double hz_to_mel(double f) { return 1127.0 * log(1.0 + f / 700.0); }

/* np.linspace(a, b, n)[i] */
static double linspace(double a, double b, int n, int i)
{
    if (i == n - 1)
        return b;
    return (double)i * ((b - a) / (double)(n - 1)) + a;
}

double mhv_astfeat_bin_hz(const mhv_astfeat_cfg *c, int j)
{
    double m = linspace(hz_to_mel(AST_MIN_HZ), hz_to_mel((double)(c->sampling_rate / 2)),
                        c->num_mel_bins + 2, j + 1);
    return 700.0 * (exp(m / 1127.0) - 1.0);
}

/* filt(bins, mels): audio_utils.mel_filter_bank(bins, mels, 20, rate // 2, rate, None,
 * "kaldi", triangularize_in_mel_space=True), in float64; mf (mels + 2) scratch. */
static void mel_filters(int bins, int mels, int rate, double *filt, double *mf)
{
    double m0 = hz_to_mel(AST_MIN_HZ), m1 = hz_to_mel((double)(rate / 2));
    for (int j = 0; j < mels + 2; j++)
        mf[j] = linspace(m0, m1, mels + 2, j);
    double width = (double)rate / (double)((bins - 1) * 2);
    for (int i = 0; i < bins; i++) {
        double f = hz_to_mel(width * (double)i);
        for (int j = 0; j < mels; j++) {
            double down = -(mf[j] - f) / (mf[j + 1] - mf[j]);
            double up = (mf[j + 2] - f) / (mf[j + 2] - mf[j + 1]);
            double w = down < up ? down : up;
            filt[(size_t)i * (size_t)mels + (size_t)j] = w > 0.0 ? w : 0.0;
        }
    }
}

mhv_status mhv_astfeat_run(const mhv_astfeat_cfg *c, const float *samples, size_t n,
                           float *out, int *frames_out, mhv_error *err)
{
    int bins = AST_FFT / 2 + 1, mels = c->num_mel_bins;
    long frames = n >= MHV_AST_FRAME ? 1 + (long)(n - MHV_AST_FRAME) / MHV_AST_HOP : 0;
    int kept = frames < c->max_length ? (int)frames : c->max_length;
    double *win = malloc(MHV_AST_FRAME * sizeof *win), *fr = malloc(MHV_AST_FRAME * sizeof *fr);
    double *filt = malloc((size_t)bins * (size_t)mels * sizeof *filt);
    double *mf = malloc(((size_t)mels + 2) * sizeof *mf), *power = malloc((size_t)bins * sizeof *power);
    double complex *buf = malloc(AST_FFT * sizeof *buf), *spec = malloc(AST_FFT * sizeof *spec);
    mhv_dft_plan pl = {0};
    mhv_status st = MHV_OK;
    if (!win || !fr || !filt || !mf || !power || !buf || !spec || mhv_dft_plan_init(&pl, AST_FFT)) {
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory for the filter bank features");
        goto done;
    }
    /* np.hanning(M): 0.5 + 0.5 cos(pi k / (M - 1)), k = 1 - M, 3 - M, ... M - 1 */
    for (int i = 0; i < MHV_AST_FRAME; i++)
        win[i] = 0.5 + 0.5 * cos(M_PI * (double)(2 * i + 1 - MHV_AST_FRAME) /
                                 (double)(MHV_AST_FRAME - 1));
    mel_filters(bins, mels, c->sampling_rate, filt, mf);
    memset(out, 0, (size_t)c->max_length * (size_t)mels * sizeof *out);
    for (int t = 0; t < kept; t++) {
        const float *x = samples + (size_t)t * MHV_AST_HOP;
        for (int i = 0; i < MHV_AST_FRAME; i++)
            fr[i] = (double)x[i];
        double mean = mhv_np_sum_f64(fr, MHV_AST_FRAME) / MHV_AST_FRAME;
        for (int i = 0; i < MHV_AST_FRAME; i++)
            fr[i] -= mean;
        /* pre-emphasis from the frame before it (numpy copies the overlapping operand) */
        for (int i = MHV_AST_FRAME - 1; i >= 1; i--)
            fr[i] -= AST_PREEMPHASIS * fr[i - 1];
        fr[0] *= 1.0 - AST_PREEMPHASIS;
        for (int i = 0; i < AST_FFT; i++)
            buf[i] = i < MHV_AST_FRAME ? fr[i] * win[i] : 0.0;
        mhv_dft(&pl, buf, spec);
        for (int b = 0; b < bins; b++) { /* kept as complex64, |z| in float64, squared */
            double a = hypot((double)(float)creal(spec[b]), (double)(float)cimag(spec[b]));
            power[b] = a * a;
        }
        for (int j = 0; j < mels; j++) {
            double s = 0.0;
            for (int b = 0; b < bins; b++)
                s += filt[(size_t)b * (size_t)mels + (size_t)j] * power[b];
            s = s > AST_MEL_FLOOR ? s : AST_MEL_FLOOR;
            out[(size_t)t * (size_t)mels + (size_t)j] = (float)log(s);
        }
    }
    if (c->do_normalize) { /* numpy float32 with the Python floats as float32 */
        float mean = (float)c->mean, den = (float)(c->std * 2);
        for (size_t i = 0; i < (size_t)c->max_length * (size_t)mels; i++)
            out[i] = (out[i] - mean) / den;
    }
    *frames_out = (int)(frames < 0x7fffffff ? frames : 0x7fffffff);
done:
    free(win), free(fr), free(filt), free(mf), free(power), free(buf), free(spec);
    mhv_dft_plan_free(&pl);
    return st;
}
