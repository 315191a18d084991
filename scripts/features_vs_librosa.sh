#!/usr/bin/env bash
# WAV to the eight features over a folder, as a user runs each tool, in alternating rounds:
#   - librosa 0.11.0 in one Python process: librosa.load(sr=22050) and the eight features
#     of each file, timed inside the process after a warm-up pass over the folder (its
#     import and numba's compilation are not counted);
#   - `avad features FOLDER`, one run on the default threads: the whole process's wall time;
#   - `avad features FILE`, one process per file: the loop's wall time.
# Prints each round's three times, their medians, and librosa's median over avad's.
# usage: scripts/features_vs_librosa.sh PYTHON [FOLDER [ROUNDS]]
#   PYTHON: an interpreter with librosa==0.11.0; FOLDER: default Ped2's 13 WAVs; ROUNDS: 5.
# AVAD: the binary (default target/release/avad).
set -euo pipefail
PY=${1:?usage: scripts/features_vs_librosa.sh PYTHON [FOLDER [ROUNDS]]}
A=${AVAD:-target/release/avad}
W=${2:-../shared/datasets/ucsd-ped2/audio}
R=${3:-5}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
source "$(dirname "$0")/timing_lib.sh"
librosa_run() {
    "$PY" - "$W" <<'PY'
import sys, time
from pathlib import Path
import librosa
f = librosa.feature
def features(y, sr=22050):
    return (f.spectral_flatness(y=y), f.zero_crossing_rate(y), f.spectral_centroid(y=y, sr=sr),
            f.spectral_bandwidth(y=y, sr=sr), f.mfcc(y=y, sr=sr), f.melspectrogram(y=y, sr=sr),
            f.spectral_rolloff(y=y, sr=sr), f.spectral_contrast(y=y, sr=sr))
paths = sorted(str(p) for p in Path(sys.argv[1]).iterdir() if p.suffix.lower() == ".wav")
def run():
    for p in paths:
        features(librosa.load(p, sr=22050, mono=True)[0])
run()  # warm-up
t0 = time.perf_counter()
run()
print(f"{time.perf_counter() - t0:.3f}")
PY
}
echo "round  librosa-warm  avad-one-run  avad-per-file  (s)"
for r in $(seq "$R"); do
    echo "$r $(librosa_run) $(secs "$A" features "$W" --out "$T/f") $(secs per_file "$A" "$W" "$T/one.npy")"
done | tee "$T/times"
l=$(median "$T/times" 2) o=$(median "$T/times" 3) p=$(median "$T/times" 4)
echo "median $l $o $p"
awk -v l="$l" -v o="$o" -v p="$p" 'BEGIN { printf "librosa / avad: one run %.2fx, one process per file %.2fx\n", l / o, l / p }'
