#!/usr/bin/env python3
"""WAV files of every sample format mhaviz reads, what soundfile.read(path, dtype="float32")
makes of them, and WhisperFeatureExtractor's log-mel features of them (its numpy path,
_np_extract_fbank_features; the torch path it takes when torch is installed is compared and
its largest difference written to the manifest).

Writes tests/fixtures/audio/: the .wav files, <name>.samples.f32 (soundfile's float32
samples, little-endian), <name>.<case>.f32 (features, (feature_size, frames) row-major, or
the frames listed by the case for 30-s windows) and manifest.json. Also seeds the fuzz corpus
tests/fuzz/corpus/wav/ with small valid and hostile files.

Run: HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/gen_audio_goldens.py
(libsndfile writes a PEAK chunk with the time of writing into float WAVs: those files change
on every run, their samples and goldens do not.)
"""
import json
import os
import struct

import numpy as np
import soundfile as sf
import torch
from transformers import WhisperFeatureExtractor

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "audio")
FUZZ = os.path.join(ROOT, "tests", "fuzz", "corpus", "wav")
SR = 16000
rng = np.random.default_rng(20261207)


def sweep(seconds, f0=100.0, f1=7000.0, amp=0.6):
    t = np.arange(int(seconds * SR)) / SR
    k = (f1 - f0) / seconds
    return amp * np.sin(2 * np.pi * (f0 * t + 0.5 * k * t * t))


def noise(seconds, amp=0.3):
    return amp * rng.standard_normal(int(seconds * SR))


def speechy(seconds):
    """A few harmonics under a syllable-rate envelope, with some noise."""
    t = np.arange(int(seconds * SR)) / SR
    f = 140 + 40 * np.sin(2 * np.pi * 0.7 * t)
    ph = 2 * np.pi * np.cumsum(f) / SR
    x = sum(np.sin(h * ph) / h for h in range(1, 8))
    env = 0.5 * (1 + np.sin(2 * np.pi * 3.1 * t)) ** 2 / 4
    return 0.4 * x * env + 0.01 * rng.standard_normal(t.size)


# name, signal, soundfile format, subtype
WAVS = [
    ("sweep16", sweep(0.6), "WAV", "PCM_16"),
    ("noise_f32", noise(1.5), "WAV", "FLOAT"),
    ("silence16", np.zeros(8000), "WAV", "PCM_16"),
    ("clip32", np.clip(3.0 * np.sign(np.sin(2 * np.pi * 440 * np.arange(12800) / SR)), -1, 1),
     "WAV", "PCM_32"),
    ("mix24", sweep(1.0, 300, 5000, 0.5) + noise(1.0, 0.05), "WAV", "PCM_24"),
    ("tone_u8", 0.7 * np.sin(2 * np.pi * 1000 * np.arange(4000) / SR), "WAV", "PCM_U8"),
    ("sweep_f64", sweep(0.3, 2000, 200), "WAV", "DOUBLE"),
    ("ext16", sweep(0.4, 500, 3000), "WAVEX", "PCM_16"),
    ("extf32", noise(0.4, 0.2), "WAVEX", "FLOAT"),
    ("speech16", speechy(2.0), "WAV", "PCM_16"),
]

# case name, wav, feature_size, chunk_length, frames kept in the golden (None: all)
HEAD, TAIL = 40, 20


def frames_30s(audio_seconds):
    """Frames of a 30-s window to keep: the first ones, those around the end of the audio, the
    last ones (the whole window is computed: its maximum is global)."""
    end = int(audio_seconds * SR) // 160
    keep = list(range(HEAD)) + list(range(end - 10, end + 10)) + list(range(3000 - TAIL, 3000))
    return sorted(set(keep))


CASES = [
    ("c1m80", "sweep16", 80, 1, None),
    ("c1m128", "noise_f32", 128, 1, None),  # 1.5 s cut to 1 s
    ("c1m80", "silence16", 80, 1, None),
    ("c1m80", "clip32", 80, 1, None),
    ("c1m80", "mix24", 80, 1, None),  # exactly 1 s
    ("c1m80", "tone_u8", 80, 1, None),
    ("c1m128", "sweep_f64", 128, 1, None),
    ("c1m80", "ext16", 80, 1, None),
    ("c1m80", "extf32", 80, 1, None),
    ("c2m80", "speech16", 80, 2, None),
    ("c30m80", "speech16", 80, 30, frames_30s(2.0)),
    ("c30m128", "speech16", 128, 30, frames_30s(2.0)),
]


def lcg_audio(n):
    """31 s of noise whose level steps every second, from a 31-bit LCG: integer arithmetic
    that tests/test_audio.c repeats exactly (longer than the 30-s window, without a 1 MB
    WAV file in the repository)."""
    out = np.empty(n, dtype=np.float32)
    state = 12345
    for i in range(n):
        state = (state * 1103515245 + 12345) % (1 << 31)
        s = ((state >> 15) & 0xFFFF) - 32768
        out[i] = np.float32(s * (1 + (i // 16000) % 4)) / np.float32(131072)
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(FUZZ, exist_ok=True)
    samples = {}
    for name, x, fmt, subtype in WAVS:
        path = os.path.join(OUT, name + ".wav")
        sf.write(path, x, SR, format=fmt, subtype=subtype)
        y, sr = sf.read(path, dtype="float32")
        assert sr == SR and y.ndim == 1
        samples[name] = y
        y.astype("<f4").tofile(os.path.join(OUT, name + ".samples.f32"))
    cases = []
    for case, wav, mels, chunk, frames in CASES:
        fe = WhisperFeatureExtractor(feature_size=mels, chunk_length=chunk)
        y = samples[wav]
        # the class's own padding, then its numpy path
        padded = fe.pad({"input_features": [np.asarray([y]).T]}, padding="max_length",
                        max_length=fe.n_samples, truncation=True)
        wave = padded["input_features"].transpose(2, 0, 1)[0]
        ref = fe._np_extract_fbank_features(wave, "cpu")[0].astype(np.float32)
        got = fe(y, sampling_rate=SR, return_tensors="np")["input_features"][0]  # torch path
        torch_diff = float(np.abs(got - ref).max())
        assert ref.shape == (mels, fe.nb_max_frames), ref.shape
        kept = ref if frames is None else ref[:, frames]
        out = f"{wav}.{case}.f32"
        np.ascontiguousarray(kept).astype("<f4").tofile(os.path.join(OUT, out))
        cases.append({"wav": wav + ".wav", "feature_size": mels, "chunk_length": chunk,
                      "frames": fe.nb_max_frames, "kept": frames, "golden": out,
                      "torch_max_abs_diff": torch_diff})
        print(f"{wav} {case}: numpy vs torch path max |diff| {torch_diff:.3g}")
    # longer than the window: the LCG signal (no WAV), 30-s window, 80 bins
    y = lcg_audio(31 * SR)
    fe = WhisperFeatureExtractor(feature_size=80)
    padded = fe.pad({"input_features": [np.asarray([y]).T]}, padding="max_length",
                    max_length=fe.n_samples, truncation=True)
    ref = fe._np_extract_fbank_features(padded["input_features"].transpose(2, 0, 1)[0],
                                        "cpu")[0].astype(np.float32)
    keep = sorted(set(list(range(HEAD)) + list(range(1490, 1510)) + list(range(3000 - TAIL, 3000))))
    np.ascontiguousarray(ref[:, keep]).astype("<f4").tofile(os.path.join(OUT, "lcg31.c30m80.f32"))
    got = fe(y, sampling_rate=SR, return_tensors="np")["input_features"][0]
    lcg = {"samples": int(y.size), "feature_size": 80, "chunk_length": 30, "frames": 3000,
           "kept": keep, "golden": "lcg31.c30m80.f32",
           "torch_max_abs_diff": float(np.abs(got - ref).max()), "first": float(y[0]),
           "last": float(y[-1])}
    print("lcg31 c30m80: numpy vs torch path max |diff| %.3g" % lcg["torch_max_abs_diff"])
    manifest = {"sampling_rate": SR, "lcg31": lcg,
                "wavs": [{"name": n + ".wav", "samples": n + ".samples.f32", "subtype": s,
                          "container": f, "frames": int(samples[n].size)}
                         for n, _, f, s in WAVS],
                "cases": cases}
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    # a preprocessor_config.json as save_pretrained writes it, for the loader
    WhisperFeatureExtractor(feature_size=128, chunk_length=2).save_pretrained(
        os.path.join(OUT, "proc-m128-c2"))
    fuzz_seeds()


def riff(chunks):
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def chunk(cid, data, pad=True):
    c = cid + struct.pack("<I", len(data)) + data
    return c + (b"\0" if pad and len(data) % 2 else b"")


def fmt(tag=1, ch=1, rate=SR, bits=16):
    ba = ch * bits // 8
    return chunk(b"fmt ", struct.pack("<HHIIHH", tag, ch, rate, rate * ba, ba, bits))


def fuzz_seeds():
    pcm = (np.sin(np.arange(64) / 3) * 20000).astype("<i2").tobytes()
    seeds = {
        "ok16": riff([fmt(), chunk(b"data", pcm)]),
        "list_odd": riff([fmt(), chunk(b"LIST", b"INFOabc"), chunk(b"data", pcm)]),
        "odd_data": riff([fmt(bits=8), chunk(b"data", bytes(range(1, 36)))]),
        "float": riff([fmt(3, bits=32), chunk(b"data", np.linspace(-1, 1, 16).astype("<f4").tobytes())]),
        "stereo": riff([fmt(ch=2), chunk(b"data", pcm)]),
        "rate44k": riff([fmt(rate=44100), chunk(b"data", pcm)]),
        "alaw": riff([fmt(6, bits=8), chunk(b"data", pcm)]),
        "no_data": riff([fmt()]),
        "no_fmt": riff([chunk(b"data", pcm)]),
        "truncated": riff([fmt(), chunk(b"data", pcm)])[:-17],
        "huge": riff([fmt(), b"data" + struct.pack("<I", 0xFFFFFFF0) + pcm]),
        "short_fmt": riff([chunk(b"fmt ", b"\x01\x00\x01\x00"), chunk(b"data", pcm)]),
    }
    for name, data in seeds.items():
        with open(os.path.join(FUZZ, name), "wb") as f:
            f.write(data)
    with open(os.path.join(OUT, "ext16.wav"), "rb") as f:
        ext = f.read()
    with open(os.path.join(FUZZ, "extensible"), "wb") as f:
        f.write(ext[:200])


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
