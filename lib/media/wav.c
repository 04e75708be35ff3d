/* wav.c - RIFF/WAVE reader (see wav.h). */
#include "media/wav.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"

#define CONVERT_HINT "ffmpeg -i IN -ac 1 -ar 16000 -c:a pcm_s16le OUT.wav"

enum { FMT_PCM = 1, FMT_FLOAT = 3, FMT_EXTENSIBLE = 0xFFFE };

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static unsigned le16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* The codecs people meet, for the refusal. */
static const char *codec_name(unsigned tag)
{
    switch (tag) {
    case 2: return "MS ADPCM";
    case 6: return "A-law";
    case 7: return "mu-law";
    case 0x11: return "IMA ADPCM";
    case 0x31: return "GSM 6.10";
    case 0x50: return "MPEG";
    case 0x55: return "MP3";
    default: return "compressed";
    }
}

/* The format of a fmt chunk's body(len): *tag FMT_PCM or FMT_FLOAT (an extensible one's
 * subformat), channels, rate and bits. */
typedef struct {
    unsigned tag, channels, block_align, bits;
    uint32_t rate;
} wav_fmt;

static mhv_status read_fmt(const unsigned char *p, uint32_t len, const char *name, wav_fmt *f,
                           mhv_error *err)
{
    /* the KSDATAFORMAT_SUBTYPE_* GUID after its first two bytes */
    static const unsigned char guid_tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                                0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};
    if (len < 16)
        return mhv_fail(err, MHV_EFORMAT, name, "fmt chunk of %u bytes is shorter than 16",
                        (unsigned)len);
    f->tag = le16(p);
    f->channels = le16(p + 2);
    f->rate = le32(p + 4);
    f->block_align = le16(p + 12);
    f->bits = le16(p + 14);
    if (f->tag == FMT_EXTENSIBLE) {
        if (len < 40 || le16(p + 16) < 22)
            return mhv_fail(err, MHV_EFORMAT, name, "WAVE_FORMAT_EXTENSIBLE fmt chunk of %u "
                            "bytes is shorter than 40", (unsigned)len);
        if (memcmp(p + 26, guid_tail, sizeof guid_tail) != 0)
            return mhv_fail(err, MHV_EUNSUPPORTED, name, "WAVE_FORMAT_EXTENSIBLE with a "
                            "subformat that is not PCM or IEEE float: convert it, e.g. "
                            CONVERT_HINT);
        f->tag = le16(p + 24);
    }
    if (f->tag != FMT_PCM && f->tag != FMT_FLOAT)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "%s audio (WAVE format 0x%04x) is not "
                        "supported, only PCM and IEEE float: convert it, e.g. " CONVERT_HINT,
                        codec_name(f->tag), f->tag);
    if (f->channels == 0)
        return mhv_fail(err, MHV_EFORMAT, name, "fmt chunk says 0 channels");
    int ok = f->tag == FMT_PCM ? f->bits == 8 || f->bits == 16 || f->bits == 24 || f->bits == 32
                               : f->bits == 32 || f->bits == 64;
    if (!ok)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "%u-bit %s samples are not supported (PCM "
                        "8, 16, 24 or 32 bits, float 32 or 64): convert it, e.g. " CONVERT_HINT,
                        f->bits, f->tag == FMT_PCM ? "PCM" : "float");
    if (f->block_align != f->channels * (f->bits / 8))
        return mhv_fail(err, MHV_EFORMAT, name, "fmt chunk's block align %u is not %u channels "
                        "x %u bytes", f->block_align, f->channels, f->bits / 8);
    if (f->rate == 0)
        return mhv_fail(err, MHV_EFORMAT, name, "fmt chunk says a sample rate of 0 Hz");
    return MHV_OK;
}

/* Sample i of data in format f, scaled as libsndfile's float reading scales it. */
static float sample(const unsigned char *d, const wav_fmt *f)
{
    if (f->tag == FMT_FLOAT) {
        if (f->bits == 32) {
            uint32_t u = le32(d);
            float x;
            memcpy(&x, &u, sizeof x);
            return x;
        }
        uint64_t u = (uint64_t)le32(d) | (uint64_t)le32(d + 4) << 32;
        double x;
        memcpy(&x, &u, sizeof x);
        return (float)x;
    }
    switch (f->bits) {
    case 8: return (float)((int)d[0] - 128) * (1.0f / 128.0f);
    case 16: return (float)(int16_t)le16(d) * (1.0f / 32768.0f);
    case 24: { /* libsndfile: the 24 bits in the top of an int32, then as 32-bit */
        int32_t v = (int32_t)((uint32_t)d[0] << 8 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 24);
        return (float)v * (1.0f / 2147483648.0f);
    }
    default: return (float)(int32_t)le32(d) * (1.0f / 2147483648.0f);
    }
}

mhv_status mhv_wav_decode(const unsigned char *data, size_t len, const char *name,
                          int want_rate, mhv_wav *out, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    if (len >= 4 && (memcmp(data, "RF64", 4) == 0 || memcmp(data, "BW64", 4) == 0))
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "RF64 WAV files (over 4 GiB) are not "
                        "supported: cut or convert it, e.g. " CONVERT_HINT);
    if (len < 12 || memcmp(data, "RIFF", 4) != 0 || memcmp(data + 8, "WAVE", 4) != 0)
        return mhv_fail(err, MHV_EFORMAT, name, "not a WAV file (no RIFF/WAVE header): "
                        "convert it, e.g. " CONVERT_HINT);
    /* the chunks to the end of the file (the RIFF size is often wrong: not relied on) */
    wav_fmt f = {0};
    int have_fmt = 0;
    const unsigned char *pcm = NULL;
    size_t pcm_len = 0;
    for (size_t at = 12; at < len;) {
        if (len - at < 8)
            return mhv_fail(err, MHV_EFORMAT, name, "truncated chunk header at byte %zu", at);
        uint32_t size = le32(data + at + 4);
        const unsigned char *id = data + at, *body = data + at + 8;
        size_t room = len - at - 8;
        if (memcmp(id, "data", 4) == 0) {
            if (!have_fmt)
                return mhv_fail(err, MHV_EFORMAT, name, "data chunk before the fmt chunk");
            if (size > room)
                return mhv_fail(err, MHV_EFORMAT, name, "data chunk of %u bytes runs past the "
                                "end of the file (%zu bytes left): a truncated file, or one "
                                "written to a pipe; rewrite it, e.g. " CONVERT_HINT,
                                (unsigned)size, room);
            pcm = body, pcm_len = size;
            break;
        }
        if (size > room)
            return mhv_fail(err, MHV_EFORMAT, name, "'%c%c%c%c' chunk of %u bytes runs past the "
                            "end of the file", id[0] >= 32 && id[0] < 127 ? id[0] : '?',
                            id[1] >= 32 && id[1] < 127 ? id[1] : '?',
                            id[2] >= 32 && id[2] < 127 ? id[2] : '?',
                            id[3] >= 32 && id[3] < 127 ? id[3] : '?', (unsigned)size);
        if (memcmp(id, "fmt ", 4) == 0) {
            if (have_fmt)
                return mhv_fail(err, MHV_EFORMAT, name, "two fmt chunks");
            mhv_status st = read_fmt(body, size, name, &f, err);
            if (st)
                return st;
            have_fmt = 1;
        }
        at += 8 + (size_t)size + (size & 1); /* chunks are padded to even sizes */
    }
    if (!have_fmt)
        return mhv_fail(err, MHV_EFORMAT, name, "no fmt chunk");
    if (!pcm)
        return mhv_fail(err, MHV_EFORMAT, name, "no data chunk");
    if (f.channels != 1)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "%u channels: the model takes mono audio; "
                        "mix it down first, e.g. " CONVERT_HINT, f.channels);
    if (want_rate > 0 && f.rate != (uint32_t)want_rate)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "%u Hz audio: the model's feature "
                        "extractor takes %d Hz; resample it first, e.g. ffmpeg -i IN -ac 1 "
                        "-ar %d OUT.wav", (unsigned)f.rate, want_rate, want_rate);
    if (f.rate > 1000000000u)
        return mhv_fail(err, MHV_EFORMAT, name, "sample rate %u Hz is out of range",
                        (unsigned)f.rate);
    /* a last partial frame is dropped, as libsndfile drops it */
    size_t frames = pcm_len / f.block_align;
    out->samples = malloc((frames ? frames : 1) * sizeof *out->samples);
    if (!out->samples)
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory for %zu samples", frames);
    for (size_t i = 0; i < frames; i++) {
        float x = sample(pcm + i * f.block_align, &f);
        if (!isfinite(x)) {
            mhv_wav_free(out);
            return mhv_fail(err, MHV_EFORMAT, name, "sample %zu is NaN or infinite", i);
        }
        out->samples[i] = x;
    }
    out->frames = frames;
    out->sample_rate = (int)f.rate;
    out->bits = (int)f.bits;
    out->is_float = f.tag == FMT_FLOAT;
    return MHV_OK;
}

mhv_status mhv_wav_read(const char *path, int want_rate, mhv_wav *out, mhv_error *err)
{
    char *buf;
    size_t len;
    memset(out, 0, sizeof *out);
    mhv_status st = mhv_read_file(path, MHV_WAV_MAX_BYTES, &buf, &len, err);
    if (st)
        return st;
    st = mhv_wav_decode((const unsigned char *)buf, len, path, want_rate, out, err);
    free(buf);
    return st;
}

void mhv_wav_free(mhv_wav *w)
{
    if (!w)
        return;
    free(w->samples);
    memset(w, 0, sizeof *w);
}
