#!/usr/bin/env bash
# Memory of one worker watching 4 cameras at once for MINUTES minutes (default 10): its
# resident set (VmRSS) every 10 s, to OUT.csv, then the first and last samples.
#   scripts/worker_memory.sh MODEL OUT.csv CLIP...     (and the plot, OUT.svg)
# Each camera is the clips' frames, one after another, REPEAT times (default 6), as links
# in a folder of its own, so that the four outlast the run. e.g.
#   scripts/worker_memory.sh /models/ped2-visual mem.csv ../shared/datasets/ucsd-ped2/UCSDped2/Test/Test0{01..12}
# Needs nats-server and a release build (AVAD, default target/release/avad).
set -euo pipefail
avad="${AVAD:-target/release/avad}"
minutes="${MINUTES:-10}"; repeat="${REPEAT:-6}"; streams=4
model="$1"; out="$2"; shift 2
dir="$(mktemp -d)"; trap 'rm -rf "$dir"' EXIT
python3 - "$dir" "$streams" "$repeat" "$@" <<'PY'
import os, sys
dir, streams, repeat, clips = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
frames = [os.path.realpath(os.path.join(c, f)) for c in clips for f in sorted(os.listdir(c))
          if f.rsplit(".", 1)[-1] in ("jpg", "png", "tif")]
for c in range(1, streams + 1):
    os.mkdir(f"{dir}/camera{c}")
    for n, f in enumerate(frames * repeat, 1):
        os.symlink(f, f"{dir}/camera{c}/{n:06d}.{f.rsplit('.', 1)[-1]}")
PY
source "$(dirname "$0")/nats_lib.sh"
start_nats "$dir/nats"; url="$NATS_URL"
"$avad" worker --nats "$url" --max-streams "$streams" 2>"$dir/worker.log" & worker=$!
sleep 1
"$avad" submit --camera --nats "$url" --model "$model" "$dir"/camera* >/dev/null
echo "seconds,rss_mib,cameras_watched" > "$out"
start=$(date +%s)
while [ $(( $(date +%s) - start )) -lt $((minutes * 60)) ]; do
    sleep 10
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$worker/status")
    watched=$("$avad" jobs --json --nats "$url" | grep -c '"state":"running"' || true)
    echo "$(( $(date +%s) - start )),$(python3 -c "print(round($rss / 1024, 1))"),$watched" >> "$out"
done
kill -TERM "$worker"; wait "$worker" || true
echo "frames published: $("$avad" events --nats "$url" | grep -c '"event":"frame"')"
stop_nats
echo "first: $(sed -n 2p "$out")"; echo "last: $(tail -1 "$out")"
python3 "$(dirname "$0")/svg_line.py" "$out" seconds rss_mib "${out%.csv}.svg" \
    "One worker watching $streams cameras: resident memory" "seconds" "MiB"
echo "plot: ${out%.csv}.svg"
