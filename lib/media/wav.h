/* wav.h - mono RIFF/WAVE audio read as float samples, as soundfile.read(path,
 * dtype="float32") reads them (libsndfile's normalised float reading).
 *
 * Accepted: PCM integers of 8 (unsigned), 16, 24 and 32 bits and IEEE floats of 32 and 64
 * bits, plain or WAVE_FORMAT_EXTENSIBLE, one channel. Integers are scaled as libsndfile
 * scales them: x / 2^(bits-1) (8-bit: (x - 128) / 128), so an int16 of -32768 is -1.0 and
 * 32767 is 0.999969; floats are taken as stored (64-bit rounded to float32). Another codec,
 * more than one channel or (when asked) another sample rate is refused with one line that
 * says how to convert the file; damaged files (truncated or oversized chunks, no fmt or data
 * chunk) are MHV_EFORMAT, never read past. */
#ifndef MHV_WAV_H
#define MHV_WAV_H

#include <stddef.h>

#include "base/status.h"

typedef struct {
    float *samples;     /* (frames,) */
    size_t frames;
    int sample_rate;
    int bits;           /* per sample: 8, 16, 24, 32 or 64 */
    int is_float;       /* IEEE float samples (else PCM integers) */
} mhv_wav;

/* Largest WAV file read: an hour of 16 kHz float32 mono is 230 MB. */
#define MHV_WAV_MAX_BYTES ((size_t)1 << 30)

/* Reads path. want_rate > 0: a file of another sample rate is MHV_EUNSUPPORTED (the
 * message names both rates and an ffmpeg command); 0 takes any rate. */
mhv_status mhv_wav_read(const char *path, int want_rate, mhv_wav *out, mhv_error *err);
/* The same from memory; name names the file in messages. */
mhv_status mhv_wav_decode(const unsigned char *data, size_t len, const char *name,
                          int want_rate, mhv_wav *out, mhv_error *err);
void mhv_wav_free(mhv_wav *w);

#endif
