#!/usr/bin/env bash
# Times a model of the paper (visual by default, audio or fusion) in burn/flex and in the PyTorch reference
# (/work/shared/bench/torch_reference.py) in the same run, on the same threads, and
# prints both and their ratio. Absolute times on a shared machine drift from run to run;
# the ratio of two runs made side by side is the number to compare.
#
# PyTorch is not a dependency of this project. Install it once, outside the repository:
#     python3 -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install torch numpy
# The script uses $TORCH_PYTHON, else /tmp/torch-venv/bin/python, else python3 if it
# can import torch.
#
# Usage: crates/avad-model/benches/compare_torch.sh [steps=4] [threads=2] [size=240] [model=visual]
# PROFILE=dev runs the bench in the dev profile (dependencies are at opt-level 3 there
# too) to reuse the test build instead of compiling burn again for release.
set -euo pipefail

steps="${1:-4}"
threads="${2:-2}"
size="${3:-240}"
model="${4:-visual}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
reference="${TORCH_REFERENCE:-$root/../shared/bench/torch_reference.py}"
profile_args=()
if [[ -n "${PROFILE:-}" ]]; then profile_args=(--profile "$PROFILE"); fi

torch_python=""
for candidate in "${TORCH_PYTHON:-}" /tmp/torch-venv/bin/python python3; do
    if [[ -n "$candidate" ]] && "$candidate" -c "import torch" 2>/dev/null; then
        torch_python="$candidate"
        break
    fi
done

cd "$root"
# Build first, so that compiling does not overlap either measurement.
cargo bench -p avad-model --bench model_step "${profile_args[@]}" --no-run

torch_line=""
if [[ -n "$torch_python" ]]; then
    if [[ ! -f "$reference" ]]; then
        echo "compare_torch: $reference not found (set TORCH_REFERENCE)" >&2
        exit 1
    fi
    echo "== pytorch ($torch_python, $threads threads)" >&2
    torch_line="$("$torch_python" "$reference" --model "$model" --threads "$threads" \
        --steps "$steps" --size "$size" | tail -n 1)"
    echo "$torch_line"
fi

echo "== burn flex (RAYON_NUM_THREADS=$threads)" >&2
burn_line="$(RAYON_NUM_THREADS="$threads" cargo bench -q -p avad-model --bench model_step \
    "${profile_args[@]}" -- --model "$model" --steps "$steps" --size "$size" | tail -n 1)"
echo "$burn_line"

if [[ -z "$torch_line" ]]; then
    cat >&2 <<'MSG'
compare_torch: no Python with torch found, so no ratio. Install it outside the repository:
    python3 -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install torch numpy
or point TORCH_PYTHON at an interpreter that has torch.
MSG
    exit 2
fi

python3 - "$torch_line" "$burn_line" <<'PY'
import json, sys
torch, burn = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for key, label in (("train_step_median_s", "train step"), ("infer_median_s", "inference")):
    t, b = torch[key], burn[key]
    print(f"{label:>10}: pytorch {t:.3f} s, burn flex {b:.3f} s, burn/pytorch = {b / t:.2f}x")
PY
