#!/usr/bin/env python3
"""Does the calibrated video score of a Ped2 frame depend on how busy the frame is, and
would reading it against what normal frames *of the same busyness* score find Test010 (the
cyclist at walking pace)? A diagnostic on an `avad eval` output, not a method: the fit
below uses the test clips' own normal frames, so it is an upper bound on what a fit on
training footage could do.

A frame's activity is the share of its pixels (gray, 240x240, bilinear) whose value moved
by more than 0.05 from the frame before (the clip's first frame: 0). The script prints,
per clip, the median calibrated video regularity and activity of its normal and its
anomalous frames, their correlation over the normal frames, and the pooled AUC / EER (%)
of the score as it is and of its residual from a polynomial in activity fitted on the
normal frames (degree 1 and 2); beside each, Test010's frames against all normal ones.

usage: scripts/activity_conditioning.py PED2_DIR EVAL_DIR
needs: numpy, pillow, scikit-learn
"""
import collections, csv, os, sys
import numpy as np
from PIL import Image
from sklearn.metrics import roc_auc_score, roc_curve


def activity(folder):
    names = sorted(f for f in os.listdir(folder) if f.endswith((".jpg", ".tif", ".png")))
    frames = [
        np.asarray(Image.open(f"{folder}/{n}").convert("L").resize((240, 240), Image.BILINEAR),
                   dtype=np.float32) / 255
        for n in names
    ]
    return [0.0] + [float((abs(b - a) > 0.05).mean()) for a, b in zip(frames, frames[1:])]


def auc_eer(labels, regularity):
    f, t, _ = roc_curve(labels, -regularity)
    i = np.argmin(abs(f - (1 - t)))
    return 100 * roc_auc_score(labels, -regularity), 100 * (f[i] + 1 - t[i]) / 2


if len(sys.argv) != 3:
    sys.exit("usage: scripts/activity_conditioning.py PED2_DIR EVAL_DIR")
ped2, eval_dir = sys.argv[1:]
test_dir = f"{ped2}/UCSDped2/Test"
scores = f"{eval_dir}/scores.csv"
for path in (test_dir, scores):
    if not os.path.exists(path):
        sys.exit(f"{path}: not found")
clips = collections.defaultdict(list)
for row in csv.DictReader(open(scores)):
    clips[row["clip"]].append((int(row["label"]), float(row["video_regularity_calibrated"])))
rows = []  # clip, label, calibrated video regularity, activity
for clip, frames in sorted(clips.items()):
    act = activity(f"{test_dir}/{clip}")
    if len(act) != len(frames):
        sys.exit(f"{test_dir}/{clip}: {len(act)} frames, {scores} has {len(frames)}")
    rows += [(clip, label, s, a) for (label, s), a in zip(frames, act)]
clip = np.array([r[0] for r in rows])
label, reg, act = (np.array([r[i] for r in rows]) for i in (1, 2, 3))
normal = label == 0

print("clip     normal: regularity / activity   anomalous: regularity / activity (medians)")
for c in sorted(clips):
    cell = lambda m: "%6.3f / %.4f" % (np.median(reg[m]), np.median(act[m])) if m.any() else "     -"
    print(f"{c}  {cell((clip == c) & normal):28}  {cell((clip == c) & ~normal)}")
print("correlation of regularity and activity over the normal frames: %.2f"
      % np.corrcoef(reg[normal], act[normal])[0, 1])


def report(name, r):
    test010 = normal | (clip == "Test010")
    auc, eer = auc_eer(label, r)
    print("%-44s AUC %.1f / EER %.1f   Test010 against normal: AUC %.1f"
          % (name, auc, eer, auc_eer(label[test010], r[test010])[0]))


report("calibrated video regularity", reg)
for degree in (1, 2):
    fit = np.polyfit(act[normal], reg[normal], degree)
    report(f"residual from activity, degree {degree}", reg - np.polyval(fit, act))
