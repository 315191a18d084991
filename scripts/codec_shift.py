#!/usr/bin/env python3
"""The codec between training and watching: each scored variant's video errors against the
reference's (the same clips' JPEG frames), frame by frame, and what the model's calibrated
γ flags in each. Pure Python.

usage: scripts/codec_shift.py REFERENCE_SCORES VARIANT_SCORES...   (`avad score` --out folders)
"""
import csv, json, statistics, sys

def load(d):
    rows = list(csv.DictReader(open(f"{d}/scores.csv")))
    m = json.load(open(f"{d}/metrics.json"))
    cal = [r for r in m["frame_level"] if r["normalisation"] == "calibrated"][0]
    return rows, cal

def pearson(a, b):
    ma, mb = statistics.fmean(a), statistics.fmean(b)
    num = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    den = (sum((x - ma) ** 2 for x in a) * sum((y - mb) ** 2 for y in b)) ** 0.5
    return num / den

ref_rows, _ = load(sys.argv[1])
ref = {(r["clip"], r["frame"]): float(r["video_error"]) for r in ref_rows}
print("| variant | median error / reference's | correlation | calibrated AUC | normal frames below γ | anomalous frames below γ |")
print("|---|---:|---:|---:|---:|---:|")
for d in sys.argv[1:]:
    rows, cal = load(d)
    g = cal["threshold_gamma"]
    err = [float(r["video_error"]) for r in rows]
    base = [ref[(r["clip"], r["frame"])] for r in rows]
    ratio = statistics.median(err) / statistics.median(base)
    normal = [r for r in rows if r["label"] == "0"]
    anom = [r for r in rows if r["label"] == "1"]
    fp = sum(float(r["video_regularity_calibrated"]) < g for r in normal) / len(normal)
    tp = sum(float(r["video_regularity_calibrated"]) < g for r in anom) / len(anom)
    print(f"| {d} | {ratio:.2f} | {pearson(err, base):.3f} | {100*cal['auc']:.1f} | {100*fp:.1f} % | {100*tp:.1f} % |")
