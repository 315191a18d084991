#!/usr/bin/env python3
"""An ensemble of audio models over training seeds, label-free: `avad eval`'s scores.csv of
one dataset, one visual model and several audio models (one per seed). Prints the pooled
frame-level AUC and EER of the calibrated audio and of the calibrated joint mean (what
`avad watch` decides on) for each audio model, and for their ensemble: the mean of the
models' calibrated audio regularities, then its mean with the video's. Nothing is fitted
to labels; the labels only score the rows.

usage: scripts/audio_seed_ensemble.py SCORES_CSV SCORES_CSV...
needs: numpy, scikit-learn
"""
import csv
import sys

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve


def eer(y, s):
    fpr, tpr, _ = roc_curve(y, s)
    fnr = 1 - tpr
    k = np.nanargmin(np.abs(fnr - fpr))
    return 100 * (fpr[k] + fnr[k]) / 2


def row(name, y, regularity):
    # Anomalous frames have a low regularity: score with its negation.
    s = -regularity
    print(f"{name:>28}: AUC {100 * roc_auc_score(y, s):5.1f}  EER {eer(y, s):5.1f}")


if len(sys.argv) < 3:
    sys.exit(__doc__)
tables = []
for path in sys.argv[1:]:
    rows = list(csv.DictReader(open(path)))
    tables.append(rows)
    if [(r["clip"], r["frame"]) for r in rows] != [(r["clip"], r["frame"]) for r in tables[0]]:
        sys.exit(f"{path}: not the frames of {sys.argv[1]}")
y = np.array([r["label"] == "1" for r in tables[0]])
video = np.array([float(r["video_regularity_calibrated"]) for r in tables[0]])
audios = [np.array([float(r["audio_regularity_calibrated"]) for r in t]) for t in tables]
row("video", y, video)
for path, a in zip(sys.argv[1:], audios):
    print(path)
    row("audio", y, a)
    row("joint mean", y, (video + a) / 2)
ensemble = np.mean(audios, axis=0)
print(f"ensemble of {len(audios)}")
row("audio", y, ensemble)
row("joint mean", y, (video + ensemble) / 2)
