/* fuzz_wav.c - an audio file given to `run` on Whisper: bytes to mhv_wav_decode (RIFF chunks,
 * fmt, data), then, when decoded, its first second through the log-mel features of a 1-s
 * window (80 bins). A file either fails with one line naming it and no samples, or gives
 * finite samples within [-1, 1] for integer PCM, and finite features. */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "media/logmel.h"
#include "media/wav.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mhv_wav w;
    mhv_error err = {0};
    if (mhv_wav_decode(data, size, "fuzz.wav", 0, &w, &err) != MHV_OK) {
        FUZZ_CHECK(w.samples == NULL && err.msg[0] && !strchr(err.msg, '\n'));
        FUZZ_CHECK(strcmp(err.file, "fuzz.wav") == 0);
        return 0;
    }
    FUZZ_CHECK(w.sample_rate > 0 && w.frames <= size);
    for (size_t i = 0; i < w.frames; i++) {
        FUZZ_CHECK(isfinite(w.samples[i]));
        if (!w.is_float)
            FUZZ_CHECK(w.samples[i] >= -1.0f && w.samples[i] < 1.0f);
    }
    mhv_logmel_cfg c = mhv_logmel_defaults();
    c.chunk_length = 1;
    c.n_samples = c.sampling_rate;
    c.frames = c.n_samples / c.hop_length;
    static float out[80 * 100];
    FUZZ_CHECK(mhv_logmel_run(&c, w.samples, w.frames, out, &err) == MHV_OK);
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++)
        FUZZ_CHECK(isfinite(out[i]));
    mhv_wav_free(&w);
    return 0;
}
