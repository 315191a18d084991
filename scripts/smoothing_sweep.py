#!/usr/bin/env python3
"""How frame-level AUC moves with the temporal smoothing of `avad score/eval --smooth`:
reads scores.csv files written with `--smooth 0` and prints, for each of them and each
standard deviation σ (in frames), the pooled AUC of every regularity column smoothed per
clip by scipy's gaussian_filter1d (mode "nearest", as avad), and of each modality's
per-video min-max with the smoothing put before the normalisation instead of after it.
Given more than one file, it then prints each column's mean over the files per σ.

This is how avad's default was chosen: σ = 5, the best mean of the joint (mean) AUC under
both normalisations over three harder synthetic scenes (`scripts/hard_scene.sh OUT 7`,
`… OUT 11`, `… OUT 7 --anomaly-speed 0.7`, each then `avad eval OUT/scene … --smooth 0`),
never on a benchmark's clips.

usage: scripts/smoothing_sweep.py SCORES_CSV [SCORES_CSV …]
needs: numpy, scipy, scikit-learn
"""
import csv, sys
import numpy as np
from scipy.ndimage import gaussian_filter1d
from sklearn.metrics import roc_auc_score

SIGMAS = [0, 1, 2, 3, 5, 8, 12]


def smooth(x, s):
    return gaussian_filter1d(x, s, mode="nearest") if s > 0 else x


def min_max(x):
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def sweep(path):
    """The header and one row of AUCs per σ for one scores.csv."""
    rows = list(csv.DictReader(open(path)))
    clips = {}
    for r in rows:
        clips.setdefault(r["clip"], []).append(r)
    # The fusion net is trained on its inputs: smoothing its output afterwards is another thing.
    columns = [c for c in rows[0] if "regularity" in c and not c.startswith("joint_net")]
    modalities = [c[: -len("_error")] for c in rows[0] if c.endswith("_error")]
    labels = np.concatenate([[int(r["label"]) for r in v] for v in clips.values()])

    def pooled_auc(per_clip_anomaly):
        return 100 * roc_auc_score(labels, np.concatenate(per_clip_anomaly))

    def column(v, name):
        return np.array([float(r[name]) for r in v])

    header = columns + [f"{m}_minmax_smoothed_before" for m in modalities]
    table = []
    for s in SIGMAS:
        out = [pooled_auc([-smooth(column(v, c), s) for v in clips.values()]) for c in columns]
        out += [pooled_auc([min_max(smooth(column(v, f"{m}_error"), s)) for v in clips.values()]) for m in modalities]
        table.append(out)
    return header, np.array(table)


def show(title, header, table):
    print(f"== {title}")
    print(" ".join(["sigma"] + header))
    for s, out in zip(SIGMAS, table):
        print(s, " ".join(f"{o:.1f}" for o in out))


results = [(path, *sweep(path)) for path in sys.argv[1:]]
for path, header, table in results:
    show(path, header, table)
if len(results) > 1:
    header = results[0][1]
    if any(h != header for _, h, _ in results):
        sys.exit("the files have different columns: no mean")
    show(f"mean over the {len(results)} files", header, np.mean([t for _, _, t in results], axis=0))
