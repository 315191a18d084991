#!/usr/bin/env python3
"""A baseline for the audio half that learns nothing: each Ped2 test frame scored by the
loudness of its own 40 ms of sound (RMS in dB of the mono mix, frames at 25 fps as the
dataset's README says), higher = more anomalous. Prints the frame-level AUC pooled over
the 12 test clips, on the raw dB and after per-video min-max, with scikit-learn.

usage: scripts/loudness_baseline_ped2.py [DATASET]   (default ../shared/datasets/ucsd-ped2)
needs: numpy, soundfile, scikit-learn
"""
import os, re, sys
import numpy as np, soundfile
from sklearn.metrics import roc_auc_score

root = sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets/ucsd-ped2"
m = open(os.path.join(root, "UCSDped2", "Test", "UCSDped2.m")).read()
ranges = [tuple(map(int, r)) for r in re.findall(r"\[(\d+):(\d+)\]", m)]
labels, raw, minmax = [], [], []
for k, (a, b) in enumerate(ranges, start=1):
    frames = len([f for f in os.listdir(os.path.join(root, "UCSDped2", "Test", f"Test{k:03d}")) if f.endswith(".jpg")])
    y, sr = soundfile.read(os.path.join(root, "audio", f"P2Te{k}.wav"))
    y = y.mean(axis=1) if y.ndim > 1 else y
    per = sr / 25.0
    db = np.array([10 * np.log10(np.mean(y[int(f * per):int((f + 1) * per)] ** 2) + 1e-10) for f in range(frames)])
    lab = np.zeros(frames)
    lab[a - 1:b] = 1
    labels.append(lab)
    raw.append(db)
    minmax.append((db - db.min()) / (db.max() - db.min()))
y = np.concatenate(labels)
print(f"{len(y)} frames, {int(y.sum())} anomalous")
print(f"loudness, raw dB: AUC {100 * roc_auc_score(y, np.concatenate(raw)):.1f}")
print(f"loudness, per-video min-max: AUC {100 * roc_auc_score(y, np.concatenate(minmax)):.1f}")
