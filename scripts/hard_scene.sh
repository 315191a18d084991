#!/usr/bin/env bash
# The harder synthetic scene (README, "A harder synthetic scene"): four times the crowd of
# `avad demo`'s, eight times its sensor noise, fifteen times its ambient sound. Writes the
# scene, trains both models as `avad demo` does, evaluates, then prints every column's
# pooled AUC and the video's against the frames where an anomaly can be seen
# (scripts/visible_auc.py). Run from the repository root after `cargo build --release -p avad`.
# usage: scripts/hard_scene.sh OUT [SCENE_SEED [SYNTH_ARGS…]]   (default seed 7, the demo's;
#        SYNTH_ARGS go to `avad synth` after the look above, e.g. --anomaly-speed 0.4)
# needs: a python with numpy, pillow and scikit-learn (PYTHON, default python3)
set -euo pipefail
out=$1; seed=${2:-7}; shift $(( $# < 2 ? $# : 2 ))
A=${AVAD:-target/release/avad}
$A synth "$out/scene" --seed "$seed" --people 20 --sensor-noise 16 --ambient-rms 0.15 "$@"
$A train visual "$out/scene" --out "$out/visual-model" --preset demo --seed 7
$A train audio "$out/scene" --out "$out/audio-model" --seed 7 --epochs 15
$A eval "$out/scene" --model "$out/visual-model" --model "$out/audio-model" --out "$out/eval"
${PYTHON:-python3} scripts/visible_auc.py "$out/scene" "$out/eval/scores.csv"
