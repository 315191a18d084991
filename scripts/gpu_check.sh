#!/usr/bin/env bash
# The GPU path on a machine with an accelerator: trains the `paper` preset's visual model
# on UCSD Ped2 for as many epochs as fit in about 8 minutes, prints the time and the losses
# of each epoch, then scores the test clips on the GPU.
#   scripts/gpu_check.sh [cuda|wgpu] [PED2] [OUT]
# Takes the binary from $AVAD, or builds target/release/avad with the device's feature.
# Defaults: cuda, ../shared/datasets/ucsd-ped2, a temporary folder. PRESET=NAME trains
# another preset and BUDGET_S=SECONDS changes the 8 minutes (a quick trial of the script:
# PRESET=demo BUDGET_S=20 scripts/gpu_check.sh cpu SYNTHETIC_SCENE).
set -euo pipefail
device="${1:-cuda}"; ped2="${2:-../shared/datasets/ucsd-ped2}"; out="${3:-$(mktemp -d)}"
budget="${BUDGET_S:-480}"; preset="${PRESET:-paper}"
avad="${AVAD:-target/release/avad}"
if [[ ! -x $avad ]]; then
    echo "== building avad with --features $device"
    cargo build --release -p avad-cli --features "$device"
    avad=target/release/avad
fi
"$avad" --version
model="$out/visual-$preset"
rm -rf "$model"
echo "== one epoch of the $preset preset on $device (the first also compiles the kernels)"
start=$(date +%s.%N)
"$avad" train visual "$ped2" --preset "$preset" --epochs 1 --device "$device" --out "$model"
first=$(python3 -c "import time; print(round(time.time() - $start, 1))")
epochs=$(python3 -c "print(max(1, int($budget // $first)))")
echo "first epoch, with compilation and calibration: ${first} s; training to $epochs epochs"
if (( epochs > 1 )); then
    "$avad" train visual "$ped2" --preset "$preset" --epochs "$epochs" --device "$device" --out "$model" --resume
fi
python3 - "$model/model.json" <<'PY'
import json, sys
card = json.load(open(sys.argv[1]))
for e in card["history"]:
    v = e.get("validation_loss")
    print(f"epoch {e['epoch']:>3}: {e['seconds']:7.1f} s  train loss {e['train_loss']:.5f}"
          + (f"  validation loss {v:.5f}" if v is not None else ""))
PY
echo "== scoring the test clips on $device"
start=$(date +%s.%N)
"$avad" score "$ped2" --model "$model" --device "$device" --out "$out/scores"
echo "scored in $(python3 -c "import time; print(round(time.time() - $start, 1))") s; outputs in $out"
