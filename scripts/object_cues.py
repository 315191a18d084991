#!/usr/bin/env python3
"""Two object-level cues against Ped2's calibrated video score, as diagnostics (not
methods, not kept): does the number of people in view explain the score's drift over
normal frames better than the share of moving pixels (scripts/activity_conditioning.py),
and does an object too big for where it stands (a cyclist, a cart) find the anomalies
that the video score misses?

Objects are the connected blobs (at least 20 pixels after an opening and a closing) of
each frame's difference from the scene's background, the median of every 10th training
frame (gray, native 360x240). The script prints:
- per clip, the median number of blobs and calibrated regularity of its normal and
  anomalous frames; the correlation of the score with the blob count and with the
  foreground's share over the normal frames; the pooled AUC / EER (%) of the score and of
  its residual from a line or a parabola in the blob count, fitted on the test clips' own
  normal frames (an upper bound: a live system would not have them); Test010 against all
  normal frames beside each;
- the AUC / EER of an object-size score alone: each frame's largest log-ratio of a blob's
  area (height, width) to the 99th percentile of the training blobs whose feet stand in
  the same twelfth of the frame's height.

usage: scripts/object_cues.py PED2_DIR EVAL_DIR
needs: numpy, pillow, scipy, scikit-learn
"""
import collections, csv, os, sys
import numpy as np
from PIL import Image
from scipy import ndimage
from sklearn.metrics import roc_auc_score, roc_curve

if len(sys.argv) != 3:
    sys.exit("usage: scripts/object_cues.py PED2_DIR EVAL_DIR")
ped2, eval_dir = f"{sys.argv[1]}/UCSDped2", sys.argv[2]
scores = f"{eval_dir}/scores.csv"
for path in (f"{ped2}/Train", f"{ped2}/Test", scores):
    if not os.path.exists(path):
        sys.exit(f"{path}: not found")


def load(folder):
    names = sorted(f for f in os.listdir(folder) if f.endswith((".jpg", ".tif", ".png")))
    return np.stack([np.asarray(Image.open(f"{folder}/{n}").convert("L"), dtype=np.float32) / 255
                     for n in names])


def clip_dirs(split):
    return sorted(d for d in os.listdir(f"{ped2}/{split}")
                  if d.startswith(split) and not d.endswith("_gt")
                  and os.path.isdir(f"{ped2}/{split}/{d}"))


train = [load(f"{ped2}/Train/{c}") for c in clip_dirs("Train")]
background = np.median(np.concatenate([t[::10] for t in train]), axis=0)
height = background.shape[0]


def blobs(frame):
    mask = ndimage.binary_opening(abs(frame - background) > 0.08, iterations=1)
    mask = ndimage.binary_closing(mask, iterations=2)
    labels, n = ndimage.label(mask)
    found = []
    for i, box in enumerate(ndimage.find_objects(labels)):
        area = int((labels[box] == i + 1).sum())
        if area >= 20:
            found.append((box[0].stop, area, box[0].stop - box[0].start, box[1].stop - box[1].start))
    return found, float(mask.mean())


BANDS = 12
band = lambda feet: min(BANDS - 1, feet * BANDS // height)
seen = [o for t in train for f in t[::2] for o in blobs(f)[0]]
limits = {k: np.array([np.quantile([o[i] for o in seen if band(o[0]) == b] or [1], 0.99)
                       for b in range(BANDS)], dtype=float)
          for k, i in (("area", 1), ("height", 2), ("width", 3))}

clips = collections.defaultdict(list)
for row in csv.DictReader(open(scores)):
    clips[row["clip"]].append((int(row["label"]), float(row["video_regularity_calibrated"])))
rows = []  # clip, label, regularity, blob count, foreground share, size scores
for name, frames in sorted(clips.items()):
    video = load(f"{ped2}/Test/{name}")
    if len(video) != len(frames):
        sys.exit(f"{ped2}/Test/{name}: {len(video)} frames, {scores} has {len(frames)}")
    for (label, reg), frame in zip(frames, video):
        found, share = blobs(frame)
        size = {k: max([np.log(o[i] / limits[k][band(o[0])]) for o in found] or [0.0])
                for k, i in (("area", 1), ("height", 2), ("width", 3))}
        rows.append((name, label, reg, len(found), share, size["area"], size["height"], size["width"]))
clip = np.array([r[0] for r in rows])
label, reg, count, share, area, tall, wide = (np.array([r[i] for r in rows], dtype=float)
                                             for i in range(1, 8))
normal = label == 0


def auc_eer(labels, regularity):
    f, t, _ = roc_curve(labels, -regularity)
    i = np.argmin(abs(f - (1 - t)))
    return 100 * roc_auc_score(labels, -regularity), 100 * (f[i] + 1 - t[i]) / 2


def report(what, r):
    test010 = normal | (clip == "Test010")
    auc, eer = auc_eer(label, r)
    print("%-46s AUC %.1f / EER %.1f   Test010 against normal: AUC %.1f"
          % (what, auc, eer, auc_eer(label[test010], r[test010])[0]))


print("clip     normal: blobs / regularity   anomalous: blobs / regularity (medians)")
for c in sorted(clips):
    cell = lambda m: "%5.1f / %6.3f" % (np.median(count[m]), np.median(reg[m])) if m.any() else "     -"
    print(f"{c}  {cell((clip == c) & normal):26}  {cell((clip == c) & ~normal)}")
print("correlation over the normal frames: regularity and blob count %.2f, and foreground share %.2f"
      % (np.corrcoef(reg[normal], count[normal])[0, 1], np.corrcoef(reg[normal], share[normal])[0, 1]))
report("calibrated video regularity", reg)
for degree in (1, 2):
    fit = np.polyfit(count[normal], reg[normal], degree)
    report(f"residual from the blob count, degree {degree}", reg - np.polyval(fit, count))
for what, s in (("area", area), ("height", tall), ("width", wide)):
    report(f"largest blob {what} for its place, alone", -s)
