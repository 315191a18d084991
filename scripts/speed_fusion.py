#!/usr/bin/env python3
"""The speed score (avad-objects' SpeedModel: block motion against each row's normal
speeds) beside avad's calibrated regularities, and label-free fusions of the three: the
pooled frame-level AUC and EER of each. The speed score is calibrated as avad calibrates its errors (min-max of the
held-out normal clips' raw scores, regularity = 1 - normalised score), then smoothed per
clip by a centred Gaussian (sigma 5 frames, scipy's mode "nearest"), as `avad eval` smooths.
No fusion has a parameter fitted to labels; the labels only score them.

usage: scripts/speed_fusion.py SCORES_CSV SPEED_CSV
  SCORES_CSV: `avad eval`'s scores.csv (with `--speed off`); SPEED_CSV: written by
  `SCORES_OUT=SPEED_CSV cargo run --release -p avad-objects --example ped2 -- DATASET SIZE speed`
needs: numpy, scipy, scikit-learn
"""
import csv, sys
from collections import defaultdict
import numpy as np
from scipy.ndimage import gaussian_filter1d
from sklearn.metrics import roc_auc_score, roc_curve


def eer(y, s):
    fpr, tpr, _ = roc_curve(y, s)
    fnr = 1 - tpr
    k = np.nanargmin(np.abs(fnr - fpr))
    return 100 * (fpr[k] + fnr[k]) / 2


def line(name, y, regularity):
    """AUC and EER in %; a low regularity is anomalous, so it scores with its negation."""
    s = -regularity
    return f"  {name:>22}: AUC {100 * roc_auc_score(y, s):5.1f}  EER {eer(y, s):5.1f}"


if __name__ == "__main__":
    scores_csv, speed_csv = sys.argv[1:3]
    held, test = [], defaultdict(dict)
    for r in csv.DictReader(open(speed_csv)):
        if r["split"] == "held-out":
            held.append(float(r["score"]))
        else:
            test[r["clip"]][int(r["frame"])] = float(r["score"])
    low, high = min(held), max(held)
    high = high if high > low else low + 1  # no held-out frame moved: any motion is unusual
    speed = {}
    for clip, frames in test.items():
        raw = np.array([frames[t] for t in sorted(frames)])
        reg = 1 - (raw - low) / (high - low)
        speed[clip] = gaussian_filter1d(reg, 5, mode="nearest")
    rows = list(csv.DictReader(open(scores_csv)))
    y = np.array([r["label"] == "1" for r in rows])
    v = np.array([float(r["video_regularity_calibrated"]) for r in rows])
    a = np.array([float(r["audio_regularity_calibrated"]) for r in rows])
    m = np.array([speed[r["clip"]][int(r["frame"]) - 1] for r in rows])
    print(f"{scores_csv}: {len(y)} frames, {y.sum()} anomalous")
    for name, s in {
        "video": v,
        "audio": a,
        "speed": m,
        "mean(video, audio)": (v + a) / 2,
        "mean(video, speed)": (v + m) / 2,
        "min(video, speed)": np.minimum(v, m),
        "mean of the three": (v + a + m) / 3,
        "min of the three": np.minimum(np.minimum(v, a), m),
        "mean(mean(v, s), audio)": ((v + m) / 2 + a) / 2,
        "mean(min(v, s), audio)": (np.minimum(v, m) + a) / 2,
    }.items():
        print(line(name, y, s))
