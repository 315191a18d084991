#!/usr/bin/env python3
"""Times librosa 0.11.0 on the 13 UCSD Ped2 clips, single-threaded, the way
make_reference.py computes the eight features (each feature called with its defaults,
as the paper's code would): features alone from y.npy, and librosa.load + features.
Prints lines in the same format as the Rust bench (`benches/ped2_extract.rs`)."""
import os

# One thread for BLAS/FFT, like the Rust bench (set before numpy is imported).
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = "1"

import sys
import time
from pathlib import Path

import numpy as np
import librosa

SR = 22050
ROUNDS = int(os.environ.get("ROUNDS", "3"))


def features(y, sr=SR):
    f = librosa.feature
    return (f.spectral_flatness(y=y), f.zero_crossing_rate(y), f.spectral_centroid(y=y, sr=sr),
            f.spectral_bandwidth(y=y, sr=sr), f.mfcc(y=y, sr=sr), f.melspectrogram(y=y, sr=sr),
            f.spectral_rolloff(y=y, sr=sr), f.spectral_contrast(y=y, sr=sr))


def best_of(fn):
    fn()  # warm-up: numba compiles zero_crossings on first use
    best = float("inf")
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else \
        Path(__file__).resolve().parents[4] / "shared"
    refs = shared / "reference/librosa/ucsd-ped2"
    wavs = shared / "datasets/ucsd-ped2/audio"
    if not refs.is_dir() or not wavs.is_dir():
        print("SKIPPED: librosa_bench: ../shared not found")
        return
    stems = sorted(p.name for p in refs.iterdir() if (p / "y.npy").is_file())
    ys = [np.load(refs / s / "y.npy") for s in stems]
    paths = [str(wavs / f"{s}.wav") for s in stems]
    audio_s = sum(len(y) for y in ys) / SR
    frames = sum(1 + len(y) // 512 for y in ys)

    t_feat = best_of(lambda: [features(y) for y in ys])
    t_load = best_of(lambda: [librosa.load(p, sr=SR, mono=True) for p in paths])
    t_full = best_of(lambda: [features(librosa.load(p, sr=SR, mono=True)[0]) for p in paths])
    print(f"{len(stems)} clips, {frames} frames, {audio_s:.1f} s of audio, best of {ROUNDS}, "
          f"one thread, librosa {librosa.__version__}")
    for name, t in (("features_from_y", t_feat), ("load_audio", t_load), ("wav_to_features", t_full)):
        print(f"librosa {name:<16} {t:>9.4f} s  {audio_s / t:>8.0f}x real time")


if __name__ == "__main__":
    main()
