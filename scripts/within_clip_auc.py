#!/usr/bin/env python3
"""Where a pooled AUC loses: for every regularity column of an `avad eval` (or `avad
score`) scores.csv, the frame-level AUC pooled over all frames (what avad reports) beside
the AUC pooled over the clips that hold both classes only and the mean of those clips'
own AUCs (diagnostics, not results: they leave out the clips that are anomalous, or
normal, from first to last frame, and the mean says nothing about how scores compare
across clips), then each clip's mean regularity over its normal and its anomalous frames.

usage: scripts/within_clip_auc.py SCORES_CSV
needs: numpy, scikit-learn
"""
import csv, sys
import numpy as np
from sklearn.metrics import roc_auc_score

rows = list(csv.DictReader(open(sys.argv[1])))
clips = {}
for r in rows:
    clips.setdefault(r["clip"], []).append(r)
columns = [c for c in rows[0] if "regularity" in c]


def labels(v):
    return np.array([int(r["label"]) for r in v])


def regularity(v, c):
    return np.array([float(r[c]) for r in v])


def anomaly(v, c):
    return -regularity(v, c)


both = [v for v in clips.values() if 0 < labels(v).sum() < len(v)]
print(f"{len(rows)} frames, {len(clips)} clips, {len(both)} with both classes")
print(f"{'column':40s} {'pooled':>7s} {'pooled over both-class clips':>29s} {'within':>7s}")
both_rows = [r for v in both for r in v]
for c in columns:
    pooled = 100 * roc_auc_score(labels(rows), anomaly(rows, c))
    pooled_both = 100 * roc_auc_score(labels(both_rows), anomaly(both_rows, c))
    within = 100 * np.mean([roc_auc_score(labels(v), anomaly(v, c)) for v in both])
    print(f"{c:40s} {pooled:7.1f} {pooled_both:29.1f} {within:7.1f}")
print("\nmean regularity per clip, normal / anomalous frames (– where a clip has none):")
for name, v in clips.items():
    y = labels(v)
    cells = []
    for c in columns:
        s = regularity(v, c)
        part = [f"{s[y == k].mean():.2f}" if (y == k).any() else "–" for k in (0, 1)]
        cells.append(f"{c.replace('_regularity', '')} {part[0]} / {part[1]}")
    print(f"{name}: " + "; ".join(cells))
