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
source "$(dirname "$0")/timing_lib.sh"
echo "round  per-file-processes  one-run-1-thread  one-run-2-threads  (s)"
for r in $(seq "$R"); do
    echo "$r $(secs per_file "$A" "$W" "$T/one.npy") $(secs "$A" features "$W" --out "$T/f1" --threads 1) $(secs "$A" features "$W" --out "$T/f2" --threads 2)"
done | tee "$T/times"
echo "median $(median "$T/times" 2) $(median "$T/times" 3) $(median "$T/times" 4)"
