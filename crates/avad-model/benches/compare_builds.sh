#!/usr/bin/env bash
# Two builds of the model_step bench beside the PyTorch reference, in the same rounds: each
# round runs PyTorch, then build A, then build B, and prints both builds' times over
# PyTorch's of that round; the last line gives each column's median. Use it to tell a
# change's share of a ratio from the machine's: PyTorch's own time moves between machines.
#
# Build each bench binary with `cargo bench -p avad-model --bench model_step --no-run`
# (it prints the binary's path) at each commit, and copy it aside.
#
# Usage: crates/avad-model/benches/compare_builds.sh BENCH_A BENCH_B [model=visual] [steps=3] [rounds=5] [size=96] [threads=2]
# TORCH_PYTHON: the interpreter with torch (default /tmp/torch-venv/bin/python).
set -euo pipefail
a="$1"; b="$2"; model="${3:-visual}"; steps="${4:-3}"; rounds="${5:-5}"; size="${6:-96}"; threads="${7:-2}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
reference="${TORCH_REFERENCE:-$here/../../../../shared/bench/torch_reference.py}"
python="${TORCH_PYTHON:-/tmp/torch-venv/bin/python}"
lines=()
for _ in $(seq 1 "$rounds"); do
    t="$("$python" "$reference" --model "$model" --threads "$threads" --steps "$steps" --size "$size" | tail -n 1)"
    x="$(RAYON_NUM_THREADS="$threads" "$a" --bench --model "$model" --steps "$steps" --size "$size" | tail -n 1)"
    y="$(RAYON_NUM_THREADS="$threads" "$b" --bench --model "$model" --steps "$steps" --size "$size" | tail -n 1)"
    lines+=("$t" "$x" "$y")
done
python3 - "$model" "${lines[@]}" <<'PY'
import json, statistics, sys
model, runs = sys.argv[1], [json.loads(s) for s in sys.argv[2:]]
cols = {k: [] for k in ("train A", "train B", "infer A", "infer B")}
for t, a, b in zip(runs[0::3], runs[1::3], runs[2::3]):
    row = []
    for key, name in (("train_step_median_s", "train"), ("infer_median_s", "infer")):
        ra, rb = a[key] / t[key], b[key] / t[key]
        cols[f"{name} A"].append(ra)
        cols[f"{name} B"].append(rb)
        row.append(f"{name}: pytorch {t[key]:.4f} s, A {a[key]:.4f} s ({ra:.2f}x), B {b[key]:.4f} s ({rb:.2f}x)")
    print(f"{model}  " + "  |  ".join(row))
print(f"{model}  medians: " + ", ".join(f"{k} {statistics.median(v):.2f}x" for k, v in cols.items()))
PY
