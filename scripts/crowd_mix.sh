#!/usr/bin/env bash
# Does a model trained on one crowd keep its calibration when the crowd changes? Takes a
# harder scene made by `scripts/hard_scene.sh OUT SEED` (20 people; models trained on its
# normal clips), writes the same scene's test clips with 10 and with 40 people (same seed:
# the same anomalies at the same frames), puts the three crowds' test clips beside the
# 20-person training clips as one dataset (OUT/crowd-mix: test clips 01-04 with 10
# people, 05-08 with 20, 09-12 with 40; links, nothing copied), evaluates the trained
# models on it, and prints, per crowd, each calibrated score's AUC and the share of
# frames below its γ (normal: false alarms; anomalous: recall) (scripts/crowd_rates.py).
# Run from the repository root after `cargo build --release -p avad`.
# usage: scripts/crowd_mix.sh OUT [SEED]   (SEED: the one given to hard_scene.sh, default 7)
# needs: a python with numpy and scikit-learn (PYTHON, default python3)
set -euo pipefail
out=$1; seed=${2:-7}
A=${AVAD:-target/release/avad}
for p in 10 40; do
  [ -d "$out/scene-p$p" ] || $A synth "$out/scene-p$p" --seed "$seed" --people "$p" --sensor-noise 16 --ambient-rms 0.15
done
mix="$out/crowd-mix"
rm -rf "$mix"
mkdir -p "$mix/test"
ln -s "$(realpath "$out/scene/train")" "$mix/train"
k=1
for src in "$out/scene-p10" "$out/scene" "$out/scene-p40"; do
  for c in "$src"/test/clip*; do
    ln -s "$(realpath "$c")" "$mix/test/clip$(printf %02d $k)"
    k=$((k + 1))
  done
done
$A eval "$mix" --model "$out/visual-model" --model "$out/audio-model" --out "$out/crowd-mix-eval"
${PYTHON:-python3} scripts/crowd_rates.py "$out/crowd-mix-eval" 10 20 40
