#!/usr/bin/env bash
# Runs the Rust bench and the librosa bench back to back on the 13 UCSD Ped2 clips,
# single-threaded, and prints librosa's time over ours (the throughput ratio).
#
#   crates/avad-features/benches/compare_librosa.sh [PYTHON]
# PYTHON: an interpreter with librosa 0.11.0 (default: python3; `pip install librosa==0.11.0`).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
python="${1:-python3}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

(cd "$root" && RAYON_NUM_THREADS=1 taskset -c 0 cargo bench -q -p avad-features --bench ped2_extract) | tee "$out/rust.txt"
taskset -c 0 "$python" "$here/librosa_bench.py" | tee "$out/librosa.txt"

echo
echo "speed-up (librosa time / avad time), one thread:"
for name in features_from_y load_audio wav_to_features; do
    r=$(awk -v n="$name" '$2 == n {print $3}' "$out/rust.txt")
    l=$(awk -v n="$name" '$2 == n {print $3}' "$out/librosa.txt")
    if [[ -n "$r" && -n "$l" ]]; then
        awk -v n="$name" -v r="$r" -v l="$l" 'BEGIN {printf "  %-16s librosa %8.4f s  avad %8.4f s  ratio %6.1fx\n", n, l, r, l / r}'
    fi
done
