#!/usr/bin/env bash
# `avad features` over a folder of recordings, as a user runs it: one process per file,
# one run on one thread, one run on two. Prints the three wall times of each round
# (alternating, ROUNDS rounds) and their medians.
# usage: scripts/features_runs.sh [FOLDER [ROUNDS]]   (default: Ped2's 13 WAVs, 5 rounds)
# AVAD: the binary (default target/release/avad).
set -euo pipefail
A=${AVAD:-target/release/avad}
W=${1:-../shared/datasets/ucsd-ped2/audio}
R=${2:-5}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
secs() {
    local s e
    s=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    e=$(date +%s.%N)
    awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }'
}
per_file() { for f in "$W"/*.wav; do "$A" features "$f" --out "$T/one.npy"; done; }
echo "round  per-file-processes  one-run-1-thread  one-run-2-threads  (s)"
for r in $(seq "$R"); do
    echo "$r $(secs per_file) $(secs "$A" features "$W" --out "$T/f1" --threads 1) $(secs "$A" features "$W" --out "$T/f2" --threads 2)"
done | tee "$T/times"
median() { cut -d' ' -f"$1" "$T/times" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "median $(median 2) $(median 3) $(median 4)"
