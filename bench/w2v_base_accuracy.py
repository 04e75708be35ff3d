#!/usr/bin/env python3
"""How far mhaviz's fp32 attentions of a base-size wav2vec2 are from a float64 run, next to
how far transformers' own fp32 run is (the house rule: within 1e-5, or within 1.25x PyTorch
fp32's error against float64). Not run by `make test` (a 95M-parameter model, ~1 min).

The model: Wav2Vec2Config() as is (the base models' geometry: conv_dim 512 x 7, hidden 768,
12 layers, positional conv kernel 128 in 16 groups), Wav2Vec2Model from_config with
torch.manual_seed(SEED), every parameter then drawn anew by tests/gen/famgen.py's randomize
(seeded as the fixtures are: matrices N(0, 0.8/sqrt(fan_in)), conv kernels' fan_in being
their width, so activations grow ~10x a convolution; q/k N(0, 1/sqrt(768))), then attention
sharpened 8x at the weight level: every layer's q_proj weight and bias times 8 (every score
q.k is 8x). --init hf keeps transformers' own init instead (near-uniform attention: errors
far below 1e-5). The audio: 3 s of a synthetic vowel-like harmonic series with noise
(seeded), 16-bit PCM at 16 kHz, normalised by Wav2Vec2FeatureExtractor (do_normalize) as the
released base models' preprocessor says.

Per layer it prints max |mhaviz - f64| over every head and cell, max |torch fp32 - f64| and
their ratio (error / max(torch's, 1e-5 / 1.25): the rule per layer), for the default
kernels and the scalar ones (MHAVIZ_KERNEL=scalar); then the goldens' form of the rule (one
tolerance for the whole model: max(1e-5, 1.25 x torch's worst layer)).

    HF_HUB_OFFLINE=1 /work/venv/bin/python bench/w2v_base_accuracy.py [--mhaviz build/mhaviz]
        [--dir /tmp/w2v-base] [--seconds 3] [--seed 0] [--sharpen 8]

--stages also sets transformers' intermediate results (each convolution's output after its
norm and activation, the feature encoder's output, the projection's layer norm and output,
the positional convolution's output) against mhaviz's, dumped by MHAVIZ_DEBUG_SPEECH=DIR
from a build made with `CFLAGS=-DMHV_DEBUG_SPEECH make` (lib/model/wav2vec2.c debug_dump:
conv0.f32 .. conv6.f32, features, normed, projected,
pos_conv, each (frames, channels) row-major float32).
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import soundfile as sf
import torch
from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

RATE = 16000
QK_STD = 1 / 768 ** 0.5


def make_model(path, seed, sharpen, init):
    torch.manual_seed(seed)
    model = Wav2Vec2Model(Wav2Vec2Config(layerdrop=0.0)).eval()
    if init == "famgen":
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                        "tests", "gen"))
        import famgen
        famgen.randomize(model, seed, qk_std=QK_STD, gain=0.8)
    with torch.no_grad():
        for layer in model.encoder.layers:
            layer.attention.q_proj.weight.mul_(sharpen)
            layer.attention.q_proj.bias.mul_(sharpen)
    model.save_pretrained(path)
    Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=RATE, padding_value=0.0,
                             do_normalize=True, return_attention_mask=False).save_pretrained(path)


def make_wav(path, seconds, seed):
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 16))
    env = np.clip(np.sin(2 * np.pi * 2.0 * t), 0, None) ** 0.6
    y = 0.3 * env * voiced + 0.02 * rng.standard_normal(n)
    sf.write(path, y, RATE, subtype="PCM_16")


def stages(model, x):
    """transformers' intermediates: the feature encoder's output (frames, 512), the
    projection (frames, 768) and the positional convolution (frames, 768)"""
    convs = {}
    with torch.no_grad():
        h = x[:, None]
        for i, layer in enumerate(model.feature_extractor.conv_layers):
            h = layer(h)
            convs["conv%d" % i] = h[0].transpose(0, 1)
        f = model.feature_extractor(x).transpose(1, 2)[0]
        fp = model.feature_projection
        nf = fp.layer_norm(f[None])
        h = fp.projection(nf)
        p = model.encoder.pos_conv_embed(h)
    return {**convs, "features": f, "normed": nf[0], "projected": h[0], "pos_conv": p[0]}


def attentions(model, x):
    with torch.no_grad():
        out = model(input_values=x, output_attentions=True)
    return torch.stack([a[0] for a in out.attentions]).double().numpy()


def run_mhaviz(exe, path, wav, out, kernel, debug=None):
    env = dict(os.environ)
    if kernel:
        env["MHAVIZ_KERNEL"] = kernel
    if debug:
        env["MHAVIZ_DEBUG_SPEECH"] = debug
        os.makedirs(debug, exist_ok=True)
    subprocess.run([exe, "run", "--model", path, "--format", "json", "--threads", "2",
                    "--out", out, wav], check=True, env=env)
    stem = os.path.splitext(os.path.basename(wav))[0]
    with open(os.path.join(out, stem + ".json"), encoding="utf-8") as f:
        doc = json.load(f)
    sent = doc["sentences"][0] if "sentences" in doc else doc
    return sent


def heads_array(sent, layers, heads, n):
    a = np.zeros((layers, heads, n, n))
    for h in sent["attentions"]:
        a[h["layer"], h["head"]] = np.array(h["weights"], dtype=np.float64).reshape(n, n)
    return a


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mhaviz", default="build/mhaviz")
    ap.add_argument("--dir", default="/tmp/w2v-base")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sharpen", type=float, default=8.0)
    ap.add_argument("--init", choices=("hf", "famgen"), default="famgen")
    ap.add_argument("--stages", action="store_true")
    ap.add_argument("--no-scalar", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(2)
    path = os.path.join(a.dir, "model")
    wav = os.path.join(a.dir, "base.wav")
    os.makedirs(path, exist_ok=True)
    make_model(path, a.seed, a.sharpen, a.init)
    make_wav(wav, a.seconds, a.seed)
    fe = Wav2Vec2FeatureExtractor.from_pretrained(path)
    y, sr = sf.read(wav, dtype="float32")
    x = torch.from_numpy(fe(y, sampling_rate=sr, return_tensors="np").input_values[0]
                         .astype(np.float32))[None]
    m32 = Wav2Vec2Model.from_pretrained(path, dtype=torch.float32,
                                        attn_implementation="eager").eval()
    m64 = Wav2Vec2Model.from_pretrained(path, dtype=torch.float64,
                                        attn_implementation="eager").eval()
    a32, a64 = attentions(m32, x), attentions(m64, x.double())
    L, NH, n = a64.shape[0], a64.shape[1], a64.shape[2]
    runs = [("default", None)] + ([] if a.no_scalar else [("scalar", "scalar")])
    got = {}
    for name, kernel in runs:
        debug = os.path.join(a.dir, "debug-" + name) if a.stages else None
        sent = run_mhaviz(a.mhaviz, path, wav, os.path.join(a.dir, "out-" + name), kernel, debug)
        got[name] = heads_array(sent, L, NH, n)
    print("base wav2vec2, seed %d, %.1f s (%d frames), q x %g; rows: max |x - f64| over heads"
          % (a.seed, a.seconds, n, a.sharpen))
    print("layer  torch32    " + "  ".join("%-9s ratio" % k for k, _ in runs))
    worst = {k: 0.0 for k, _ in runs}
    for l in range(L):
        t = np.abs(a32[l] - a64[l]).max()
        line = "%5d  %.3e" % (l, t)
        for k, _ in runs:
            e = np.abs(got[k][l] - a64[l]).max()
            r = e / max(t, 1e-5 / 1.25)
            worst[k] = max(worst[k], r)
            line += "  %.3e %5.2f" % (e, r)
        print(line)
    print("worst ratio (1.25 allowed): " + ", ".join("%s %.2f" % kv for kv in worst.items()))
    tol = max(1e-5, 1.25 * np.abs(a32 - a64).max())
    print("goldens' rule: tolerance %.3g; " % tol + ", ".join(
        "%s worst %.3g (%s)" % (k, np.abs(got[k] - a64).max(),
                                "pass" if np.abs(got[k] - a64).max() <= tol else "FAIL")
        for k, _ in runs))
    if a.stages:
        s32, s64 = stages(m32, x), stages(m64, x.double())
        for name, _ in runs:
            for st, ref in s64.items():
                f = os.path.join(a.dir, "debug-" + name, st + ".f32")
                if not os.path.exists(f):
                    continue
                mine = np.fromfile(f, dtype=np.float32).reshape(ref.shape).astype(np.float64)
                r = ref.numpy()
                scale = np.abs(r).max()
                print("%-8s %-10s max |mhaviz - f64| %.3e  torch32 %.3e  (max |f64| %.3g)" %
                      (name, st, np.abs(mine - r).max(),
                       np.abs(s32[st].double().numpy() - r).max(), scale))
    return 0


if __name__ == "__main__":
    sys.exit(main())
