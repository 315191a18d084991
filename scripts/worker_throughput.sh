#!/usr/bin/env bash
# Frames per second of 1 worker against 2 on the same batch of jobs, each in a fresh
# nats-server, alternating, ROUNDS times (default 3):
#   scripts/worker_throughput.sh MODEL SOURCE...
# e.g. the Ped2 test clips with a visual model:
#   scripts/worker_throughput.sh /models/ped2-visual ../shared/datasets/ucsd-ped2/UCSDped2/Test/Test0{01..12}
# Needs nats-server and a release build (AVAD, default target/release/avad). HOP=N scores
# a window every N frames (default: the model's preset).
set -euo pipefail
avad="${AVAD:-target/release/avad}"
rounds="${ROUNDS:-3}"
model="$1"; shift
source "$(dirname "$0")/nats_lib.sh"
run() { # run N: prints "N frames seconds"
    local n="$1" dir pids=() start end frames
    shift
    dir="$(mktemp -d)"; start_nats "$dir"; local url="$NATS_URL"
    for i in $(seq "$n"); do
        "$avad" worker --nats "$url" --name "w$i" 2>/dev/null & pids+=($!)
    done
    sleep 1
    start=$(date +%s.%N)
    "$avad" submit --nats "$url" --model "$model" ${HOP:+--hop "$HOP"} "$@" >/dev/null || exit 1
    wait_done "$avad" $#
    end=$(date +%s.%N)
    frames=$(frames_done "$avad")
    kill -TERM "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
    stop_nats
    rm -rf "$dir"
    echo "$n $frames $(python3 -c "print(round($end - $start, 2))")"
}
for r in $(seq "$rounds"); do
    for n in 1 2; do
        result="$(run "$n" "$@")"
        read -r workers frames seconds <<< "$result"
        echo "round $r: $workers worker(s): $frames frames in $seconds s, $(python3 -c "print(round($frames / $seconds, 1))") frames/s"
    done
done
