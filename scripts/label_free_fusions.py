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


def scores(path):
    """A scores.csv's rows, its labels and its calibrated video and audio regularities."""
    rows = list(csv.DictReader(open(path)))
    column = lambda name: np.array([float(r[name]) for r in rows])
    y = np.array([r["label"] == "1" for r in rows])
    return rows, y, column("video_regularity_calibrated"), column("audio_regularity_calibrated")


def line(name, y, regularity):
    """AUC and EER in %; a low regularity is anomalous, so it scores with its negation."""
    s = -regularity
    return f"  {name:>16}: AUC {100 * roc_auc_score(y, s):5.1f}  EER {eer(y, s):5.1f}"


if __name__ == "__main__":
    for path in sys.argv[1:]:
        _, y, v, a = scores(path)
        cands = {
            "video": v, "audio": a, "mean": (v + a) / 2, "min": np.minimum(v, a),
            "0.75 v + 0.25 a": 0.75 * v + 0.25 * a, "0.25 v + 0.75 a": 0.25 * v + 0.75 * a,
        }
        print(path)
        for k, s in cands.items():
            print(line(k, y, s))
