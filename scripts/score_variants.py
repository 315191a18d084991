#!/usr/bin/env python3
"""Other ways to read a frame score from a visual model's maps, beside the one avad uses,
on the maps `dump_maps` writes (crates/avad-model/examples/dump_maps.rs). Prints, per
variant and per maps folder, the pooled AUC / EER (%) of the test frames, scored as
avad's calibrated scores are (a linear map of the raw score, so the raw score's AUC), each
clip smoothed over time by a Gaussian of σ = 5 frames as `--smooth 5` does. The EER is
read at the ROC point where the two error rates are nearest (avad interpolates between
points, so it can differ by a few tenths).

The variants (each one's excess map is then read as avad reads it: the largest mean
over any patch a sixth of the grid wide):
  avad       the map minus the mean map of the held-out normal frames (the motion or patch
             score as built)
  tube σ=k   the same excess smoothed over time at each block (σ = k frames) before the
             patch maximum: a spatio-temporal patch
  z          the excess divided by the normal frames' standard deviation at that block
  z+floor    the same, the deviation floored by adding its median over the blocks
  ratio      the map over the normal mean map, minus 1
  sqrt, log  the excess of the map's square root or logarithm over the normal mean of it

usage: scripts/score_variants.py motion|patch MAPS_DIR...
needs: numpy, scipy, scikit-learn
"""
import json, sys
import numpy as np
from scipy.ndimage import gaussian_filter1d
from sklearn.metrics import roc_auc_score, roc_curve


def load(folder, kind):
    clips = []
    for x in json.load(open(f"{folder}/index.json")):
        g = x["grid"]
        maps = np.fromfile(f"{folder}/{x['role']}-{x['clip']}.{kind}.f32", dtype="<f4")
        clips.append((x["role"], maps.reshape(x["frames"], g, g).astype(np.float64), np.array(x["labels"])))
    return clips


def patch_max(excess, p):
    """The largest mean over p x p squares of each frame's map (frames x g x g)."""
    c = np.cumsum(np.cumsum(np.pad(excess, ((0, 0), (1, 0), (1, 0))), 1), 2)
    s = c[:, p:, p:] - c[:, :-p, p:] - c[:, p:, :-p] + c[:, :-p, :-p]
    return s.reshape(len(excess), -1).max(1) / (p * p)


def eer(y, s):
    f, t, _ = roc_curve(y, s)
    i = np.argmin(abs(f - (1 - t)))
    return (f[i] + 1 - t[i]) / 2


def variant(name, normal):
    mean, sd = normal.mean(0), normal.std(0) + 1e-12
    if name == "avad" or name.startswith("tube"):
        return lambda m: m - mean
    if name == "z":
        return lambda m: (m - mean) / sd
    if name == "z+floor":
        return lambda m: (m - mean) / (sd + np.median(sd))
    if name == "ratio":
        return lambda m: m / (mean + 1e-12) - 1
    if name == "sqrt":
        root = np.sqrt(normal).mean(0)
        return lambda m: np.sqrt(m) - root
    if name == "log":
        logs = np.log(normal + 1e-9).mean(0)
        return lambda m: np.log(m + 1e-9) - logs
    raise ValueError(name)


def score(clips, name):
    normal = np.concatenate([m for role, m, _ in clips if role == "normal"])
    excess_of = variant(name, normal)
    p = max(1, round(normal.shape[1] / 6))
    tube = float(name.split("=")[1]) if name.startswith("tube") else 0
    labels, scores = [], []
    for role, maps, lab in clips:
        if role != "test":
            continue
        excess = excess_of(maps)
        if tube:
            excess = gaussian_filter1d(excess, tube, axis=0, mode="nearest")
        scores.append(gaussian_filter1d(patch_max(excess, p), 5, mode="nearest"))
        labels.append(lab)
    y, s = np.concatenate(labels), np.concatenate(scores)
    return 100 * roc_auc_score(y, s), 100 * eer(y, s)


if len(sys.argv) < 3 or sys.argv[1] not in ("motion", "patch"):
    sys.exit("usage: scripts/score_variants.py motion|patch MAPS_DIR...")
kind, folders = sys.argv[1], sys.argv[2:]
data = [load(f, kind) for f in folders]
for folder, clips in zip(folders, data):
    roles = {role for role, _, _ in clips}
    if roles != {"normal", "test"}:
        sys.exit(f"{folder}: needs held-out normal clips and test clips, has {sorted(roles)}")
print("variant     " + " | ".join(f.rstrip("/").split("/")[-1] for f in folders))
for name in ["avad", "tube σ=1", "tube σ=2", "tube σ=3", "tube σ=5", "z", "z+floor", "ratio", "sqrt", "log"]:
    print(f"{name:10}  " + " | ".join("%.1f / %.1f" % score(d, name) for d in data))
