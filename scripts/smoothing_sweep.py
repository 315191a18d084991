#!/usr/bin/env python3
"""How frame-level AUC moves with the temporal smoothing of `avad score/eval --smooth`:
reads a scores.csv written with `--smooth 0` and prints, for each standard deviation σ (in
frames), the pooled AUC of every regularity column smoothed per clip by scipy's
gaussian_filter1d (mode "nearest", as avad), and of each modality's per-video min-max with
the smoothing put before the normalisation instead of after it.

This is how avad's default (σ = 2, after the normalisation) was chosen: on the synthetic
scene's test clips (`avad eval DEMO/scene … --smooth 0`), never on a benchmark's.

usage: scripts/smoothing_sweep.py SCORES_CSV
needs: numpy, scipy, scikit-learn
"""
import csv, sys
import numpy as np
from scipy.ndimage import gaussian_filter1d
from sklearn.metrics import roc_auc_score

rows = list(csv.DictReader(open(sys.argv[1])))
clips = {}
for r in rows:
    clips.setdefault(r["clip"], []).append(r)
# The fusion net is trained on its inputs: smoothing its output afterwards is another thing.
columns = [c for c in rows[0] if "regularity" in c and not c.startswith("joint_net")]
modalities = [c[: -len("_error")] for c in rows[0] if c.endswith("_error")]


def smooth(x, s):
    return gaussian_filter1d(x, s, mode="nearest") if s > 0 else x


def min_max(x):
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def pooled_auc(per_clip_anomaly):
    labels = np.concatenate([[int(r["label"]) for r in v] for v in clips.values()])
    return 100 * roc_auc_score(labels, np.concatenate(per_clip_anomaly))


def column(v, name):
    return np.array([float(r[name]) for r in v])


header = ["sigma"] + columns + [f"{m}_minmax_smoothed_before" for m in modalities]
print(" ".join(header))
for s in [0, 1, 2, 3, 5, 8, 12]:
    out = [pooled_auc([-smooth(column(v, c), s) for v in clips.values()]) for c in columns]
    out += [pooled_auc([min_max(smooth(column(v, f"{m}_error"), s)) for v in clips.values()]) for m in modalities]
    print(s, " ".join(f"{o:.1f}" for o in out))
