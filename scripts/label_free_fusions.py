#!/usr/bin/env python3
"""Label-free fusions of the calibrated video and audio regularities of `avad eval`'s
scores.csv: the pooled frame-level AUC and EER of each modality alone, of their mean (what
`avad watch` decides on), of their minimum and of two weighted means. None has a
parameter fitted to labels; the labels only score them.

usage: scripts/label_free_fusions.py SCORES_CSV...
needs: numpy, scikit-learn
"""
import csv, sys
import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

def eer(y, s):
    fpr, tpr, _ = roc_curve(y, s)
    fnr = 1 - tpr
    k = np.nanargmin(np.abs(fnr - fpr))
    return 100 * (fpr[k] + fnr[k]) / 2

for path in sys.argv[1:]:
    rows = list(csv.DictReader(open(path)))
    y = np.array([r["label"] == "1" for r in rows])
    v = np.array([float(r["video_regularity_calibrated"]) for r in rows])
    a = np.array([float(r["audio_regularity_calibrated"]) for r in rows])
    cands = {
        "video": v, "audio": a, "mean": (v + a) / 2, "min": np.minimum(v, a),
        "0.75 v + 0.25 a": 0.75 * v + 0.25 * a, "0.25 v + 0.75 a": 0.25 * v + 0.75 * a,
    }
    print(path)
    for k, s in cands.items():
        print(f"  {k:>16}: AUC {100 * roc_auc_score(y, -s):5.1f}  EER {eer(y, -s):5.1f}")
