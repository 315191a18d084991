#!/usr/bin/env python3
"""Per group of test clips (the clips in order, split into as many equal groups as names
are given), each calibrated regularity column's frame-level AUC and the share of frames
below that column's calibrated γ from `avad eval`'s results.json: of the normal frames
(false alarms) and of the anomalous ones (recall); then the median raw video error of
each group's normal frames. Made for scripts/crowd_mix.sh, whose
groups are crowds of 10, 20 and 40 people.

usage: scripts/crowd_rates.py EVAL_DIR NAME…
needs: numpy, scikit-learn
"""
import csv, json, os, sys
import numpy as np
from sklearn.metrics import roc_auc_score

root, names = sys.argv[1], sys.argv[2:]
rows = list(csv.DictReader(open(os.path.join(root, "scores.csv"))))
results = json.load(open(os.path.join(root, "results.json")))
gamma = {r["modality"]: r["threshold_gamma"] for r in results["rows"] if r["normalisation"] == "calibrated"}
clips = sorted({r["clip"] for r in rows})
if not names or len(clips) % len(names):
    sys.exit(f"{root}: {len(clips)} clips do not split into {len(names)} equal groups")
size = len(clips) // len(names)
columns = {
    "video": "video_regularity_calibrated",
    "audio": "audio_regularity_calibrated",
    "joint (mean)": "joint_mean_regularity_calibrated",
    "joint (Table 4 net)": "joint_net_regularity_calibrated",
}
print("| score (calibrated) | " + " | ".join(f"{n}: AUC / false alarms / recall (%)" for n in names) + " |")
print("|---|" + "---:|" * len(names))
for modality, col in columns.items():
    if modality not in gamma or col not in rows[0]:
        continue
    cells = []
    for g in range(len(names)):
        group = set(clips[g * size:(g + 1) * size])
        part = [r for r in rows if r["clip"] in group]
        s = np.array([float(r[col]) for r in part])
        y = np.array([r["label"] == "1" for r in part])
        below = s < gamma[modality]
        cells.append(f"{100 * roc_auc_score(y, -s):.1f} / {100 * below[~y].mean():.1f} / {100 * below[y].mean():.1f}")
    print(f"| {modality} (γ {gamma[modality]:.3f}) | " + " | ".join(cells) + " |")
if "video_error" in rows[0]:
    medians = []
    for g in range(len(names)):
        group = set(clips[g * size:(g + 1) * size])
        medians.append(np.median([float(r["video_error"]) for r in rows if r["clip"] in group and r["label"] != "1"]))
    print("median video error of the normal frames: " + ", ".join(f"{n}: {m:.3g}" for n, m in zip(names, medians)))
