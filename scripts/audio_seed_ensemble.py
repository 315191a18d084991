#!/usr/bin/env python3
"""An ensemble of audio models over training seeds, label-free: `avad eval`'s scores.csv of
one dataset, one visual model and several audio models (one per seed). Prints the pooled
frame-level AUC and EER of the calibrated audio and of the calibrated joint mean (what
`avad watch` decides on) for each audio model, and for their ensemble: the mean of the
models' calibrated audio regularities, then its mean with the video's. Nothing is fitted
to labels; the labels only score the rows.

usage: scripts/audio_seed_ensemble.py SCORES_CSV SCORES_CSV...
needs: numpy, scikit-learn
"""
import sys

import numpy as np

from label_free_fusions import line, scores

if len(sys.argv) < 3:
    sys.exit(__doc__)
tables = [scores(path) for path in sys.argv[1:]]
frames = lambda rows: [(r["clip"], r["frame"]) for r in rows]
for path, (rows, *_) in zip(sys.argv[1:], tables):
    if frames(rows) != frames(tables[0][0]):
        sys.exit(f"{path}: not the frames of {sys.argv[1]}")
_, y, video, _ = tables[0]
audios = [audio for *_, audio in tables]
print(line("video", y, video))
for path, audio in zip(sys.argv[1:], audios):
    print(path)
    print(line("audio", y, audio))
    print(line("joint mean", y, (video + audio) / 2))
ensemble = np.mean(audios, axis=0)
print(f"ensemble of {len(audios)}")
print(line("audio", y, ensemble))
print(line("joint mean", y, (video + ensemble) / 2))
