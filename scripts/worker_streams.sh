#!/usr/bin/env bash
# Frames per second of one worker watching K = 1, 2, 4 cameras at once (--max-streams K),
# over the same cameras each time, each run in a fresh nats-server, alternating, ROUNDS
# times (default 3):
#   scripts/worker_streams.sh MODEL SOURCE...
# e.g. four Ped2 test clips standing in for four cameras:
#   scripts/worker_streams.sh /models/ped2-visual ../shared/datasets/ucsd-ped2/UCSDped2/Test/Test00{1..4}
# Needs nats-server and a release build (AVAD, default target/release/avad). HOP=N scores
# a window every N frames (default: the model's preset).
set -euo pipefail
avad="${AVAD:-target/release/avad}"
rounds="${ROUNDS:-3}"
model="$1"; shift
source "$(dirname "$0")/nats_lib.sh"
run() { # run K SOURCE...: prints "K frames seconds"
    local k="$1" dir start end frames
    shift
    dir="$(mktemp -d)"; start_nats "$dir"; local url="$NATS_URL"
    "$avad" worker --nats "$url" --max-streams "$k" 2>/dev/null & local worker=$!
    sleep 1
    start=$(date +%s.%N)
    "$avad" submit --camera --nats "$url" --model "$model" ${HOP:+--hop "$HOP"} "$@" >/dev/null || exit 1
    wait_done "$avad" $#
    end=$(date +%s.%N)
    frames=$(frames_done "$avad")
    kill -TERM "$worker"; wait "$worker" 2>/dev/null || true
    stop_nats
    rm -rf "$dir"
    echo "$k $frames $(python3 -c "print(round($end - $start, 2))")"
}
for r in $(seq "$rounds"); do
    for k in 1 2 4; do
        result="$(run "$k" "$@")"
        read -r streams frames seconds <<< "$result"
        echo "round $r: K=$streams: $frames frames in $seconds s, $(python3 -c "print(round($frames / $seconds, 1))") frames/s"
    done
done
