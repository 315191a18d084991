#!/usr/bin/env python3
"""Pooled frame-level AUC of every regularity column of a synthetic scene's `avad eval`
scores.csv, against all labels, and for the video columns also against the frames where
an anomaly can be seen (its mask is not empty), the sound-only anomalous frames left out:
what the video model can be asked to find.

usage: scripts/visible_auc.py SCENE_DIR SCORES_CSV
needs: numpy, pillow, scikit-learn
"""
import csv, os, sys
import numpy as np
from PIL import Image
from sklearn.metrics import roc_auc_score

scene, path = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(path)))
visible = []
for r in rows:
    mask = os.path.join(scene, "test", r["clip"], "masks", f"{int(r['frame']):06d}.png")
    visible.append(os.path.exists(mask) and np.array(Image.open(mask)).max() > 0)
visible = np.array(visible)
label = np.array([r["label"] == "1" for r in rows])
keep = ~(label & ~visible)
print(f"{len(rows)} frames, {label.sum()} anomalous, {visible.sum()} of them visible")
for col in [c for c in rows[0] if c.endswith(("_minmax", "_calibrated"))]:
    s = -np.array([float(r[col]) for r in rows])
    line = f"{col}: {100 * roc_auc_score(label, s):.1f}"
    if col.startswith("video"):
        line += f" (visible anomalies only: {100 * roc_auc_score(visible[keep], s[keep]):.1f})"
    print(line)
