#!/usr/bin/env python3
"""A baseline for the video half that learns almost nothing: each frame scored by the
largest excess, over any patch, of its squared change from the frame before, over the
mean change that normal training frames show in each block. The same geometry as avad's
patch score (frames resized to SIDE x SIDE, blocks of a 24-block grid, patches of a sixth
of the side), no network. Scores smoothed per clip (Gaussian, σ = 5 frames, as avad's
default); prints the frame-level AUC pooled over the test clips, on the raw score (which
any calibration from normal data maps monotonically, so it is also the calibrated AUC)
and after per-video min-max, with scikit-learn.

usage: scripts/motion_energy_baseline.py DATASET [SIDE]
       DATASET: UCSD Ped2 (UCSDped2/Train, UCSDped2/Test, UCSDped2.m) or an `avad synth`
       scene (train/clipNN, test/clipNN/labels.csv); SIDE default 96 (the cpu preset's)
needs: numpy, scipy, pillow, scikit-learn
"""
import csv, glob, os, re, sys
import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter1d
from sklearn.metrics import roc_auc_score

root = sys.argv[1]
side = int(sys.argv[2]) if len(sys.argv) > 2 else 96
block = max(b for b in range(1, max(side // 24, 1) + 1) if side % b == 0)
grid = side // block
patch = max(1, round(grid / 6))


def frames(d):
    names = sorted(f for f in os.listdir(d) if f.lower().endswith((".png", ".jpg", ".tif")))
    return np.stack([np.asarray(Image.open(os.path.join(d, f)).convert("L").resize((side, side), Image.BILINEAR),
                                np.float32) / 255 for f in names])


def change_maps(x):
    d = np.zeros_like(x)
    d[1:] = (x[1:] - x[:-1]) ** 2
    return d.reshape(len(x), grid, block, grid, block).mean((2, 4))


def patch_max(maps, baseline):
    e = maps - baseline
    c = np.zeros((len(e), grid + 1, grid + 1))
    c[:, 1:, 1:] = e.cumsum(1).cumsum(2)
    s = c[:, patch:, patch:] - c[:, :-patch, patch:] - c[:, patch:, :-patch] + c[:, :-patch, :-patch]
    return s.reshape(len(e), -1).max(1) / (patch * patch)


if os.path.isdir(os.path.join(root, "UCSDped2")):
    base = os.path.join(root, "UCSDped2")
    train = sorted(d for d in glob.glob(os.path.join(base, "Train", "Train*")) if os.path.isdir(d))
    ranges = [tuple(map(int, r)) for r in re.findall(r"\[(\d+):(\d+)\]", open(os.path.join(base, "Test", "UCSDped2.m")).read())]
    test = []
    for k, (a, b) in enumerate(ranges, start=1):
        d = os.path.join(base, "Test", f"Test{k:03d}")
        n = len([f for f in os.listdir(d) if f.lower().endswith((".jpg", ".tif"))])
        label = np.zeros(n)
        label[a - 1:b] = 1
        test.append((d, label))
else:
    train = sorted(glob.glob(os.path.join(root, "train", "clip*")))
    test = [(d, np.array([int(r["label"]) for r in csv.DictReader(open(os.path.join(d, "labels.csv")))]))
            for d in sorted(glob.glob(os.path.join(root, "test", "clip*")))]

baseline = np.concatenate([change_maps(frames(d)) for d in train]).mean(0)
labels, raw, minmax = [], [], []
for d, label in test:
    s = gaussian_filter1d(patch_max(change_maps(frames(d)), baseline), 5, mode="nearest")
    labels.append(label)
    raw.append(s)
    minmax.append((s - s.min()) / (s.max() - s.min()))
y = np.concatenate(labels)
print(f"{len(y)} frames of {len(test)} clips, {int(y.sum())} anomalous; {side}x{side}, {grid}-block grid, {patch}-block patches")
print(f"frame-change energy, raw (= calibrated): AUC {100 * roc_auc_score(y, np.concatenate(raw)):.1f}")
print(f"frame-change energy, per-video min-max: AUC {100 * roc_auc_score(y, np.concatenate(minmax)):.1f}")
