#!/usr/bin/env bash
# Every UCSD Ped2 test clip watched as a stream (its frames and its sound, each with its
# own leave-one-clip-out audio fold) against `avad score --causal`: prints the largest
# difference of the regularity scores and whether every live decision matches.
# Run from the repository root after `cargo build -p avad` and training out/ped2-visual-cpu
# and out/ped2-audio (README). AVAD: the binary; OUT: where to write.
set -euo pipefail
D=../shared/datasets/ucsd-ped2
A=${AVAD:-target/debug/avad}
out=${OUT:-/tmp/allclips}; mkdir -p "$out"
$A score $D --model out/ped2-visual-cpu --model out/ped2-audio --causal --out $out/score > /dev/null 2>&1
for n in $(seq 1 12); do
  c=$(printf "Test%03d" $n)
  $A watch $D/UCSDped2/Test/$c --model out/ped2-visual-cpu --model out/ped2-audio --audio-fold test/$c --audio $D/audio/P2Te$n.wav --every-frame > $out/$c.ndjson 2>/dev/null
done
OUT="$out" python3 - <<'PY'
import csv, json, os
rows = list(csv.DictReader(open(os.environ['OUT'] + '/score/scores.csv')))
worst_v = worst_a = 0.0; n = 0; ev_match = True
for k in range(1, 13):
    c = f"Test{k:03d}"
    off = [r for r in rows if r['clip'] == c]
    live = [json.loads(l) for l in open(os.environ['OUT'] + f'/{c}.ndjson')]
    fr = [e for e in live if e['event'] == 'frame']
    assert len(fr) == len(off), (c, len(fr), len(off))
    g = live[-1]['gamma']
    for e, r in zip(fr, off):
        worst_v = max(worst_v, abs(e['video_regularity'] - float(r['video_regularity_calibrated'])))
        worst_a = max(worst_a, abs(e['audio_regularity'] - float(r['audio_regularity_calibrated'])))
        joint = 0.5 * (float(r['video_regularity_calibrated']) + float(r['audio_regularity_calibrated']))
        ev_match &= (e['anomalous'] == (joint < g))
        n += 1
print(f"{n} frames of 12 clips: max |video s_r diff| {worst_v}, max |audio s_r diff| {worst_a}, every live decision = offline joint < gamma: {ev_match}")
PY
